#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/append_outcome.hpp"
#include "broker/log_cursor.hpp"
#include "store/partition.hpp"

// One offline period of a persistent session, as cursors into the logged partitions
// (docs/offline-backlog-design.md, "The boundary, exactly"). The session places one marker per
// logged partition in the lock section that takes it offline; each marker reports here (on the
// partition's writer, or at once on the caller's thread when the partition is closed), and the
// cursor of that partition is the marker's log end. Once every marker has reported and the
// owner armed it, `on_ready` runs once, outside every session lock: it saves the session's
// snapshot with the cursors and finishes `durable` with that append's result. Publishers whose
// messages the cursors cover wait for `durable` before their PUBACK.
//
// Threads: any. `mu_` is a leaf lock (taken under a session's lock by snapshot()).
namespace sluice::broker {

// A logged partition as the broker knows it: the rule's log topic and the partition's index.
struct logged_partition {
    std::string log_topic;
    int index = 0;
    std::shared_ptr<store::partition> partition;
};

class offline_cursors {
  public:
    // Before placing a marker (the session's lock held): one more to wait for.
    void expect_one() {
        std::lock_guard lock(mu_);
        ++waiting_;
    }

    // A marker of `where` reported (writer thread, or the caller's thread when closed).
    void reported(const logged_partition& where, const store::partition::mark_result& r) {
        std::function<void()> ready;
        {
            std::lock_guard lock(mu_);
            if (r.error == store::errc::ok)
                cursors_.push_back(
                    {where.partition.get(), {where.log_topic, where.index, r.log_end.value}});
            if (--waiting_ == 0 && armed_) ready = std::move(on_ready_);
        }
        if (ready) ready();
    }

    // Sets what runs once every marker has reported (at once, here, if they all have).
    // Called by the owner after the session's lock is released.
    void arm(std::function<void()> on_ready) {
        {
            std::lock_guard lock(mu_);
            armed_ = true;
            if (waiting_ > 0) {
                on_ready_ = std::move(on_ready);
                return;
            }
        }
        on_ready();
    }

    // The cursor the marker on `p` gave, if it has reported (leaf lock).
    std::optional<log_cursor> find(const store::partition* p) const {
        std::lock_guard lock(mu_);
        for (const auto& [at, c] : cursors_)
            if (at == p) return c;
        return std::nullopt;
    }
    // Every cursor known so far (leaf lock).
    std::vector<log_cursor> cursors() const {
        std::lock_guard lock(mu_);
        std::vector<log_cursor> out;
        for (const auto& e : cursors_) out.push_back(e.second);
        return out;
    }

    // Finished once a snapshot holding every cursor is durable.
    const std::shared_ptr<append_outcome> durable = std::make_shared<append_outcome>();

  private:
    mutable std::mutex mu_;  // guards everything below
    std::size_t waiting_ = 0;
    bool armed_ = false;
    std::vector<std::pair<const store::partition*, log_cursor>> cursors_;
    std::function<void()> on_ready_;
};

}  // namespace sluice::broker
