#include "broker/deadline_queue.hpp"

#include <utility>

namespace sluice::broker {

deadline_queue::time_point deadline_queue::clamp(time_point when) const {
    if (running_now_ && when <= *running_now_) return *running_now_ + clock::duration(1);
    return when;
}

const deadline_queue::slot_state* deadline_queue::live_slot(handle h) const {
    if (h.slot >= slots_.size()) return nullptr;
    const slot_state& s = slots_[h.slot];
    if (s.generation != h.generation || s.heap_index == no_slot) return nullptr;
    return &s;
}

deadline_queue::handle deadline_queue::schedule(time_point when, callback cb) {
    std::uint32_t slot = free_head_;
    if (slot != no_slot) {
        free_head_ = slots_[slot].next_free;
    } else {
        slot = static_cast<std::uint32_t>(slots_.size());
        slots_.emplace_back();
    }
    slot_state& s = slots_[slot];
    s.cb = std::move(cb);
    s.next_free = no_slot;
    heap_.push_back(entry{clamp(when), next_sequence_++, slot});
    s.heap_index = static_cast<std::uint32_t>(heap_.size() - 1);
    sift_up(heap_.size() - 1);
    return handle{slot, s.generation};
}

bool deadline_queue::cancel(handle h) {
    const slot_state* s = live_slot(h);
    if (!s) return false;
    // Destroy the callback here, not when the slot is reused: what it captured goes now.
    callback cb = remove_at(s->heap_index);
    return true;
}

bool deadline_queue::reschedule(handle h, time_point when) {
    const slot_state* s = live_slot(h);
    if (!s) return false;
    const std::size_t index = s->heap_index;
    entry& e = heap_[index];
    const time_point old = e.when;
    e.when = clamp(when);
    if (e.when < old) {
        sift_up(index);
    } else {
        sift_down(index);
    }
    return true;
}

bool deadline_queue::pending(handle h) const {
    return live_slot(h) != nullptr;
}

std::optional<deadline_queue::time_point> deadline_queue::next_deadline() const {
    if (heap_.empty()) return std::nullopt;
    return heap_.front().when;
}

std::size_t deadline_queue::run_due(time_point now) {
    // Nested calls (a callback calling run_due) keep the outer bound.
    const auto outer = running_now_;
    if (!running_now_ || now < *running_now_) running_now_ = now;
    std::size_t ran = 0;
    while (!heap_.empty() && heap_.front().when <= *running_now_) {
        callback cb = remove_at(0);
        ++ran;
        if (cb) cb();
    }
    running_now_ = outer;
    return ran;
}

void deadline_queue::place(std::size_t index, entry e) {
    slots_[e.slot].heap_index = static_cast<std::uint32_t>(index);
    heap_[index] = e;
}

void deadline_queue::sift_up(std::size_t index) {
    const entry e = heap_[index];
    while (index > 0) {
        const std::size_t parent = (index - 1) / 2;
        if (!earlier(e, heap_[parent])) break;
        place(index, heap_[parent]);
        index = parent;
    }
    place(index, e);
}

void deadline_queue::sift_down(std::size_t index) {
    const entry e = heap_[index];
    const std::size_t n = heap_.size();
    for (;;) {
        std::size_t child = 2 * index + 1;
        if (child >= n) break;
        if (child + 1 < n && earlier(heap_[child + 1], heap_[child])) ++child;
        if (!earlier(heap_[child], e)) break;
        place(index, heap_[child]);
        index = child;
    }
    place(index, e);
}

deadline_queue::callback deadline_queue::remove_at(std::size_t index) {
    const std::uint32_t slot = heap_[index].slot;
    const std::size_t last = heap_.size() - 1;
    if (index != last) {
        const entry moved = heap_[last];
        heap_.pop_back();
        place(index, moved);
        // The moved entry may belong above or below its new place.
        if (index > 0 && earlier(moved, heap_[(index - 1) / 2])) {
            sift_up(index);
        } else {
            sift_down(index);
        }
    } else {
        heap_.pop_back();
    }
    slot_state& s = slots_[slot];
    callback cb = std::move(s.cb);
    s.cb = nullptr;
    s.heap_index = no_slot;
    ++s.generation;
    s.next_free = free_head_;
    free_head_ = slot;
    return cb;
}

}  // namespace sluice::broker
