#include "auth/login_limiter.hpp"

namespace sluice::auth {

login_limiter::login_limiter(login_limiter_options options) : options_(options) {
    if (options_.max_addresses == 0) options_.max_addresses = 1;
}

login_limiter::duration login_limiter::delay_for(const entry& e, time_point now) const {
    if (now - e.window_start >= options_.window) return duration::zero();
    if (e.failures < options_.max_failures) return duration::zero();
    // base * 2^(failures - max_failures), capped; the shift is bounded to avoid overflow.
    const std::size_t doublings = e.failures - options_.max_failures;
    duration d = options_.base_delay;
    for (std::size_t i = 0; i < doublings && d < options_.max_delay; ++i) d *= 2;
    return d < options_.max_delay ? d : options_.max_delay;
}

login_limiter::duration login_limiter::delay(std::string_view address, time_point now) const {
    const auto it = entries_.find(address);
    if (it == entries_.end()) return duration::zero();
    return delay_for(*it->second, now);
}

void login_limiter::record_failure(std::string_view address, time_point now) {
    auto it = entries_.find(address);
    if (it == entries_.end()) {
        if (entries_.size() >= options_.max_addresses) {
            entries_.erase(order_.back().address);
            order_.pop_back();
        }
        order_.push_front(entry{std::string(address), now, 0});
        it = entries_.emplace(order_.front().address, order_.begin()).first;
    } else {
        order_.splice(order_.begin(), order_, it->second);  // iterators stay valid
    }
    entry& e = *it->second;
    if (now - e.window_start >= options_.window) {
        e.window_start = now;
        e.failures = 0;
    }
    ++e.failures;
}

void login_limiter::record_success(std::string_view address) {
    const auto it = entries_.find(address);
    if (it == entries_.end()) return;
    const list::iterator pos = it->second;
    entries_.erase(it);
    order_.erase(pos);
}

}  // namespace sluice::auth
