// broker_core's read API for the operations endpoints (docs/operations.md): short registry
// sections only; everything else happens on the caller's copies.
#include "broker/broker_core.hpp"

#include "broker/log.hpp"

namespace sluice::broker {

std::vector<std::shared_ptr<session>> broker_core::sessions_snapshot() {
    std::vector<std::shared_ptr<session>> out;
    std::lock_guard reg(registry_mu_);
    out.reserve(sessions_.size());
    out.assign(sessions_.begin(), sessions_.end());
    return out;
}

std::shared_ptr<session> broker_core::find_session(std::string_view client_id) {
    std::lock_guard reg(registry_mu_);
    auto it = sessions_.find(client_id);
    return it == sessions_.end() ? nullptr : *it;
}

std::size_t broker_core::session_count() {
    std::lock_guard reg(registry_mu_);
    return sessions_.size();
}

broker_core::admin_result broker_core::disconnect_client(std::string_view client_id) {
    auto s = find_session(client_id);
    if (!s) return admin_result::not_found;
    if (!s->request_disconnect()) return admin_result::offline;
    log_info("client ", client_id, ": disconnected by an operator");
    return admin_result::done;
}

broker_core::admin_result broker_core::delete_session(std::string_view client_id) {
    std::lock_guard reg(registry_mu_);
    auto it = sessions_.find(client_id);
    if (it == sessions_.end()) return admin_result::not_found;
    auto s = *it;
    // Attaching happens under this lock too, so an offline session cannot come online before
    // it has ended here.
    if (s->online()) return admin_result::online;
    end_session_locked(s);
    log_info("session ", client_id, ": deleted by an operator");
    return admin_result::done;
}

}  // namespace sluice::broker
