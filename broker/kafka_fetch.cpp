#include "broker/kafka_fetch.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "broker/kafka_admin_handlers.hpp"

namespace sluice::broker {

namespace asio = boost::asio;
using kafka::error_code;

void fetch_waiters::add(const store::partition* p, std::weak_ptr<fetch_op> op) {
    std::lock_guard lock(mu_);
    map_[p].push_back(std::move(op));
}

void fetch_waiters::remove(const store::partition* p, const fetch_op* op) {
    std::lock_guard lock(mu_);
    auto it = map_.find(p);
    if (it == map_.end()) return;
    auto& v = it->second;
    v.erase(std::remove_if(v.begin(), v.end(),
                           [op](const std::weak_ptr<fetch_op>& w) {
                               auto s = w.lock();
                               return !s || s.get() == op;
                           }),
            v.end());
    if (v.empty()) map_.erase(it);
}

void fetch_waiters::notify(const store::partition* p) {
    std::vector<std::weak_ptr<fetch_op>> woken;
    {
        std::lock_guard lock(mu_);
        auto it = map_.find(p);
        if (it == map_.end()) return;
        woken.swap(it->second);
        map_.erase(it);
    }
    for (auto& w : woken)
        if (auto op = w.lock()) op->wake();
}

std::size_t fetch_waiters::size() const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& [p, v] : map_) n += v.size();
    return n;
}

fetch_pass read_fetch(const std::vector<fetch_target>& targets,
                      const std::vector<std::string>& topic_names, std::int32_t max_bytes) {
    fetch_pass out;
    for (const auto& name : topic_names) out.resp.topics.emplace_back().name = name;
    std::uint64_t budget = max_bytes > 0 ? static_cast<std::uint64_t>(max_bytes) : 0;
    for (const auto& t : targets) {
        auto& rp = out.resp.topics[t.topic].partitions.emplace_back();
        rp.index = t.index;
        out.high_watermarks.push_back(-1);
        if (!t.part) {
            rp.error = error_code::unknown_topic_or_partition;
            out.errors = true;
            continue;
        }
        rp.aborted_transactions.emplace();  // none: Sluice has no transactions
        const std::uint64_t part_max = t.max_bytes > 0 ? static_cast<std::uint64_t>(t.max_bytes) : 0;
        const std::uint64_t limit = std::min(part_max, budget);
        store::read_result r;
        if (limit > 0 || out.bytes == 0) {
            // With nothing in the response yet, a first batch larger than the limits is
            // still returned whole (KIP-74): read at least one byte's worth.
            r = t.part->read(store::offset{t.fetch_offset}, std::max<std::uint64_t>(limit, 1));
        } else {
            r.high_watermark = t.part->high_watermark();
            r.log_start = t.part->log_start_offset();
        }
        rp.high_watermark = r.high_watermark.value;
        out.high_watermarks.back() = r.high_watermark.value;
        rp.last_stable_offset = r.high_watermark.value;  // no transactions: LSO == HW
        rp.log_start_offset = r.log_start.value;
        if (r.error != store::errc::ok) {
            rp.error = kafka_error(r.error);
            out.errors = true;
            continue;
        }
        // Only the response's first batch may exceed the limits; a later partition whose
        // next batch is too large is sent empty (the consumer fetches it on its own next).
        if (out.bytes > 0 && r.bytes > limit) continue;
        for (auto& range : r.ranges) rp.records.parts.emplace_back(std::move(range));
        out.bytes += r.bytes;
        budget = r.bytes >= budget ? 0 : budget - r.bytes;
    }
    return out;
}

fetch_op::fetch_op(asio::io_context& home, asio::thread_pool& readers, fetch_waiters& waiters,
                   std::shared_ptr<store::store> s, const kafka::fetch_request& req,
                   done_fn done)
    : home_(home),
      readers_(readers),
      waiters_(waiters),
      max_bytes_(req.max_bytes),
      min_bytes_(req.min_bytes),
      max_wait_ms_(req.max_wait_ms),
      done_(std::move(done)) {
    for (const auto& t : req.topics) {
        const std::size_t ti = topic_names_.size();
        topic_names_.push_back(t.name);
        for (const auto& p : t.partitions) {
            fetch_target ft;
            ft.topic = ti;
            ft.index = p.index;
            ft.part = s ? s->get(t.name, p.index) : nullptr;
            ft.fetch_offset = p.fetch_offset;
            ft.max_bytes = p.partition_max_bytes;
            targets_.push_back(std::move(ft));
        }
    }
}

void fetch_op::start() {
    deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, max_wait_ms_));
    read();
}

void fetch_op::read() {
    state_ = state::reading;
    asio::post(readers_, [self = shared_from_this()] {
        auto pass = read_fetch(self->targets_, self->topic_names_, self->max_bytes_);
        asio::post(self->home_, [self, pass = std::move(pass)]() mutable {
            self->on_read(std::move(pass));
        });
    });
}

void fetch_op::on_read(fetch_pass pass) {
    if (state_ == state::finished) return;
    seen_hw_ = pass.high_watermarks;
    const bool enough = pass.bytes >= static_cast<std::uint64_t>(std::max(min_bytes_, 1)) ||
                        (min_bytes_ <= 0 && pass.bytes > 0);
    if (enough || pass.errors || expired_ || max_wait_ms_ <= 0 || min_bytes_ <= 0 ||
        std::chrono::steady_clock::now() >= deadline_)
        return finish(std::move(pass));
    wait();
}

void fetch_op::wait() {
    state_ = state::waiting;
    auto self = shared_from_this();
    for (const auto& t : targets_)
        if (t.part) waiters_.add(t.part.get(), self);
    registered_ = true;
    if (!timer_) {
        timer_ = std::make_unique<asio::steady_timer>(home_);
        timer_->expires_at(deadline_);
        timer_->async_wait([self](const boost::system::error_code& ec) {
            if (ec || self->state_ == state::finished) return;
            self->expired_ = true;
            // A read in progress sees expired_ and answers; a waiting fetch reads once more.
            if (self->state_ == state::waiting) {
                self->stop_waiting();
                self->read();
            }
        });
    }
    // An append that landed between the read and the registration woke nobody: look again.
    for (std::size_t i = 0; i < targets_.size(); ++i) {
        const auto& t = targets_[i];
        if (t.part && i < seen_hw_.size() && t.part->high_watermark().value > seen_hw_[i]) {
            stop_waiting();
            read();
            return;
        }
    }
}

void fetch_op::wake() {
    asio::post(home_, [self = shared_from_this()] {
        if (self->state_ != state::waiting) return;
        self->stop_waiting();
        self->read();
    });
}

void fetch_op::stop_waiting() {
    if (!registered_) return;
    registered_ = false;
    for (const auto& t : targets_)
        if (t.part) waiters_.remove(t.part.get(), this);
}

void fetch_op::finish(fetch_pass pass) {
    state_ = state::finished;
    stop_waiting();
    if (timer_) timer_->cancel();
    auto done = std::move(done_);
    done(std::move(pass.resp));
}

}  // namespace sluice::broker
