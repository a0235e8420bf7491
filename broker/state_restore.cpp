#include "broker/state_restore.hpp"

#include <stdexcept>

#include "broker/broker_core.hpp"
#include "broker/durable_log.hpp"
#include "broker/log.hpp"

namespace sluice::broker {

void persistent_state::stop() {
    if (hooked) hooked->set_commit_observer(backlog.get(), nullptr);
    hooked.reset();
    if (backlog) backlog->stop();
}

persistent_state::~persistent_state() {
    stop();
    if (sessions) set_session_journal(nullptr);
}

void restore_persistent_state(durable_log& log, broker_core& core, persistent_state& into) {
    auto st = log.store_handle();
    if (!st) throw std::runtime_error("the log is not open");
    std::string error;
    into.retained = retained_log::open(*st, error);
    if (!into.retained) throw std::runtime_error(error);
    into.sessions = session_log::open(*st, error);
    if (!into.sessions) throw std::runtime_error(error);
    std::size_t retained = 0;
    if (!into.retained->replay(core.retained(), retained, error))
        throw std::runtime_error(error);
    auto sessions = into.sessions->replay(error);
    if (!error.empty()) throw std::runtime_error(error);
    core.set_persistence(into.retained.get(), into.sessions.get());
    // Offline persistent sessions keep cursors into the log (docs/offline-backlog-design.md).
    backlog_limits limits;
    limits.max_messages = core.settings().backlog_max_messages;
    limits.max_bytes = core.settings().backlog_max_bytes;
    limits.max_age_ms = static_cast<std::int64_t>(core.settings().backlog_max_age_ms);
    into.backlog = std::make_unique<backlog_reader>(core.limits().max_messages, limits);
    core.set_backlog_reader(into.backlog.get());
    st->set_commit_observer(into.backlog.get(),
                            [r = into.backlog.get()](const store::partition&) { r->wake(); });
    into.hooked = st;
    into.backlog->start();
    const std::size_t restored = core.restore_sessions(std::move(sessions));
    if (restored || retained)
        log_info("restored ", restored, " session(s) and ", retained,
                 " retained message(s) from the log");
}

}  // namespace sluice::broker
