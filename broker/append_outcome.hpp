#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "mqtt/reason_code.hpp"

// The outcome of one logged inbound QoS 1/2 PUBLISH: whether its record is durable in the log
// (success) or not (a failure reason code). Shared by the connection that received it, the
// store's writer thread that completes the append, and a later connection of the same session
// that receives the same PUBLISH again (DUP after a reconnect, or a QoS 2 packet id repeated
// before PUBREL): that one waits for this outcome instead of writing a second record
// (session::find_inbound).
//
// Threads: any. `mu_` guards the result and the waiters; waiters run outside it, on the thread
// that finishes (or, when already finished, on the thread that waits): they must only post.
namespace sluice::broker {

class append_outcome {
  public:
    using waiter = std::function<void(mqtt::reason_code)>;

    // Runs `w` with the result once known (at once when it already is).
    void wait(waiter w) {
        std::unique_lock lock(mu_);
        if (!rc_) {
            waiters_.push_back(std::move(w));
            return;
        }
        const auto rc = *rc_;
        lock.unlock();
        w(rc);
    }

    // The append completed: success, or the failure reason code. Later calls are ignored.
    void finish(mqtt::reason_code rc) {
        std::vector<waiter> ws;
        {
            std::lock_guard lock(mu_);
            if (rc_) return;
            rc_ = rc;
            ws.swap(waiters_);
        }
        finished_.store(true, std::memory_order_release);
        for (auto& w : ws) w(rc);
    }

    // True once finished with a failure reason code (a retransmission is then appended anew).
    bool failed() const {
        std::lock_guard lock(mu_);
        return rc_ && mqtt::is_error(*rc_);
    }

    // Without a lock (the session checks it under its own lock, which may take no other).
    bool finished() const { return finished_.load(std::memory_order_acquire); }

  private:
    mutable std::mutex mu_;
    std::optional<mqtt::reason_code> rc_;
    std::vector<waiter> waiters_;
    std::atomic<bool> finished_{false};
};

}  // namespace sluice::broker
