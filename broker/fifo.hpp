#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

// A first-in first-out queue over one vector: no allocation while empty (std::deque allocates
// at construction, which costs every idle session over a kilobyte), O(1) push_back/pop_front
// amortised, contiguous iteration, and erase() from anywhere (acknowledgements usually remove
// the front). The vector and its head index live in a block made on the first push, so a
// queue that never held anything is one pointer (most idle sessions). Threads: as its owner
// (session fields are guarded by the session's mu).
namespace sluice::broker {

template <typename T>
class fifo {
  public:
    using iterator = T*;

    bool empty() const { return !s_ || s_->head == s_->items.size(); }
    std::size_t size() const { return s_ ? s_->items.size() - s_->head : 0; }
    T& front() { return s_->items[s_->head]; }
    iterator begin() { return s_ ? s_->items.data() + s_->head : nullptr; }
    iterator end() { return s_ ? s_->items.data() + s_->items.size() : nullptr; }

    void push_back(T value) {
        if (!s_) s_ = std::make_unique<storage>();
        s_->items.push_back(std::move(value));
    }

    void pop_front() {
        s_->items[s_->head] = T{};  // release what it holds now, not at the next compaction
        ++s_->head;
        compact();
    }

    void erase(iterator it) {
        if (it == begin()) return pop_front();
        s_->items.erase(s_->items.begin() + (it - s_->items.data()));
    }

    void clear() { s_.reset(); }

  private:
    struct storage {
        std::vector<T> items;
        std::size_t head = 0;
    };

    void compact() {
        auto& items = s_->items;
        auto& head = s_->head;
        if (head == items.size()) {
            // Drained: keep a small buffer for the next burst, give back a large one.
            if (items.capacity() > 64) return s_.reset();
            items.clear();
            head = 0;
        } else if (head >= 32 && head * 2 >= items.size()) {
            items.erase(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(head));
            head = 0;
        }
    }

    std::unique_ptr<storage> s_;
};

}  // namespace sluice::broker
