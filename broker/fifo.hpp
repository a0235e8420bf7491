#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

// A first-in first-out queue over one vector: no allocation while empty (std::deque allocates
// at construction, which costs every idle session over a kilobyte), O(1) push_back/pop_front
// amortised, contiguous iteration, and erase() from anywhere (acknowledgements usually remove
// the front). The vector and its head index live in a block made on the first push, so a
// queue that never held anything is one pointer (most idle sessions). A drained queue keeps
// its buffer (up to `keep_when_drained` items) for the next burst: giving it back at every
// drain made a busy queue regrow from one slot each time (an allocation and a move of every
// item per doubling: about a fifth of the full-speed QoS 0 cost); release() gives it back when the
// owner is idle. Threads: as its owner (session fields are guarded by the session's mu).
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

    void push_back(T&& value) {
        if (!s_) s_ = std::make_unique<storage>();
        s_->items.push_back(std::move(value));
    }
    void push_back(const T& value) {
        if (!s_) s_ = std::make_unique<storage>();
        s_->items.push_back(value);
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
    // Gives the buffer back if nothing is queued (an idle owner); true when it did.
    bool holds_buffer() const { return s_ != nullptr; }
    bool release() {
        if (!s_ || !empty()) return false;
        s_.reset();
        return true;
    }

    // A larger drained buffer is given back at once (a burst that large is rare).
    static constexpr std::size_t keep_when_drained = 1024;

  private:
    struct storage {
        std::vector<T> items;
        std::size_t head = 0;
    };

    void compact() {
        auto& items = s_->items;
        auto& head = s_->head;
        if (head == items.size()) {
            // Drained: keep the buffer for the next burst unless it is very large.
            if (items.capacity() > keep_when_drained) return s_.reset();
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
