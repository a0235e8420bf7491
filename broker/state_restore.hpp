#pragma once

#include <memory>

#include "broker/backlog_reader.hpp"
#include "broker/retained_log.hpp"
#include "broker/session_log.hpp"
#include "store/store.hpp"

// Start-up: what survives a restart comes back before any listener opens (docs/mqtt.md,
// "What survives a restart"). Opens `__retained`, `__sessions` and `__session_queue` in the
// log's store, replays them into the core (retained messages, then sessions with their
// subscriptions, queues and deadlines) and tells the core to keep them from now on.
// Thread: the main thread, before the io pool runs. Throws std::runtime_error when the store
// refuses (the caller reports it and exits).
namespace sluice::broker {

class broker_core;
class durable_log;

struct persistent_state {
    std::unique_ptr<retained_log> retained;
    std::unique_ptr<session_log> sessions;
    // Refills persistent sessions from their cursors (started here, stopped by stop()).
    std::unique_ptr<backlog_reader> backlog;
    std::shared_ptr<store::store> hooked;  // where the reader's commit observer is set
    // Stops the backlog reader (before the io pool stops: it wakes connections).
    void stop();
    ~persistent_state();  // unhooks the session journal first
};

void restore_persistent_state(durable_log& log, broker_core& core, persistent_state& into);

}  // namespace sluice::broker
