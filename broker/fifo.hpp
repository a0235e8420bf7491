#pragma once

#include <cstddef>
#include <utility>
#include <vector>

// A first-in first-out queue over one vector: no allocation while empty (std::deque allocates
// at construction, which costs every idle session over a kilobyte), O(1) push_back/pop_front
// amortised, contiguous iteration, and erase() from anywhere (acknowledgements usually remove
// the front). Threads: as its owner (session fields are guarded by the session's mu).
namespace sluice::broker {

template <typename T>
class fifo {
  public:
    using iterator = T*;

    bool empty() const { return head_ == items_.size(); }
    std::size_t size() const { return items_.size() - head_; }
    T& front() { return items_[head_]; }
    iterator begin() { return items_.data() + head_; }
    iterator end() { return items_.data() + items_.size(); }

    void push_back(T value) { items_.push_back(std::move(value)); }

    void pop_front() {
        items_[head_] = T{};  // release what it holds now, not at the next compaction
        ++head_;
        compact();
    }

    void erase(iterator it) {
        if (it == begin()) return pop_front();
        items_.erase(items_.begin() + (it - items_.data()));
    }

    void clear() {
        std::vector<T>().swap(items_);
        head_ = 0;
    }

  private:
    void compact() {
        if (head_ == items_.size()) {
            // Drained: keep a small buffer for the next burst, give back a large one.
            if (items_.capacity() > 64)
                std::vector<T>().swap(items_);
            else
                items_.clear();
            head_ = 0;
        } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
            items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
    }

    std::vector<T> items_;
    std::size_t head_ = 0;
};

}  // namespace sluice::broker
