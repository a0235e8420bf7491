// The session's inspection methods, for the operations endpoints (docs/operations.md). Each
// is one short section under the session's lock, like every other session method.
#include "broker/session.hpp"

namespace sluice::broker {

session::summary session::inspect() const {
    std::lock_guard lock(mu_);
    summary s;
    s.online = owner_ != nullptr;
    s.expiry = expiry_interval_;
    s.queued = queue_.size();
    s.inflight = inflight_.size();
    s.subscriptions = rare_ ? rare_->subscriptions.size() : 0;
    s.qos2_pending = rare_ ? rare_->incoming_qos2.size() : 0;
    s.queued_bytes = queued_bytes_;
    s.dropped = dropped_;
    if (owner_) s.connection = owner_->details();
    return s;
}

std::vector<std::pair<std::string, subscription_record>> session::subscriptions() const {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::string, subscription_record>> out;
    if (rare_) out.assign(rare_->subscriptions.begin(), rare_->subscriptions.end());
    return out;
}

bool session::request_disconnect() {
    std::lock_guard lock(mu_);
    if (!owner_ || ended_) return false;
    owner_->disconnect_requested();
    return true;
}

}  // namespace sluice::broker
