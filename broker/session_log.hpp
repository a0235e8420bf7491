#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string_view>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/append_outcome.hpp"
#include "broker/session.hpp"
#include "broker/session_record.hpp"
#include "store/batch_builder.hpp"
#include "store/store.hpp"

// Persistent sessions in the log (docs/mqtt.md, "What survives a restart"): each persistent
// session's state in the compacted internal topic `__sessions`, and the QoS 1/2 messages
// waiting for it (queued or inflight) in `__session_queue`, one record per message and
// session, tombstoned when acknowledged (session_record.hpp has the layout).
//
// State is written per change that matters (connect, subscribe/unsubscribe, disconnect, a will
// published, inbound QoS 2 accepted/released), as a whole snapshot of the session; the CONNACK,
// SUBACK, PUBREC and PUBCOMP announcing a change wait for its append (the returned outcome).
// A message is recorded as it is queued for a persistent session (session::offer, under the
// session's lock, so its tombstone always follows it); the publisher's acknowledgement waits
// for those appends too (take_pending()). Sessions that are not persistent cost nothing.
//
// Threads: any. `write_mu_` makes taking a snapshot and queueing its append one step, so the
// appends of one session's snapshots are in the order they were taken (the last one is the
// latest state). Lock order: registry -> write_mu_ -> session mu. Append callbacks run on the
// store's writer thread and only finish outcomes.
namespace sluice::broker {

class session_log final : public session_journal {
  public:
    // Creates the two topics when missing. Null with `error` when the store refuses.
    static std::unique_ptr<session_log> open(store::store& s, std::string& error);

    // Records the state of `s` now: its snapshot while persistent, else a tombstone. The
    // outcome finishes (success or a failure reason code) once the record is durable.
    std::shared_ptr<append_outcome> save(session& s, const mqtt::will_message* connection_will);
    // The session ended: erases its state (when `with_state`) and the messages it held.
    void erase(const std::string& client_id, const std::vector<std::uint64_t>& seqs,
               bool with_state, const std::vector<log_cursor>& cursors = {});

    // session_journal
    std::uint64_t queued(const std::string& client_id, const delivery& d) override;
    void done(const std::string& client_id, std::uint64_t seq) override;
    void released(const std::string& client_id, std::uint64_t seq,
                  std::uint16_t packet_id) override;
    void wait_for(std::shared_ptr<append_outcome> outcome) override;
    std::shared_ptr<append_outcome> refilled(const std::string& client_id,
                                             std::vector<delivery>& ds,
                                             const log_cursor& cursor) override;
    std::shared_ptr<append_outcome> share_refilled(const std::string& client_id,
                                                   std::vector<delivery>& ds,
                                                   std::string_view share,
                                                   const log_cursor& cursor) override;

    // A shared group's backlog (broker/share_backlog.hpp): its cursors as its markers gave
    // them (the outcome finishes once durable), and their tombstones once the group is gone.
    std::shared_ptr<append_outcome> save_share(std::string_view share,
                                               const std::vector<log_cursor>& cursors);
    void erase_share(std::string_view share, const std::vector<log_cursor>& cursors);
    // The shared groups' cursors replay() read back, by "$share/<group>/<filter>" (taken once).
    std::map<std::string, std::vector<log_cursor>> take_restored_shares();

    // The appends queued() made on this thread since the last call (the caller waits for them).
    static std::vector<std::shared_ptr<append_outcome>> take_pending();
    static bool has_pending();

    // At start: every recorded session with the messages waiting for it, in order. Messages
    // whose expiry passed, and messages of sessions not recorded, are erased here.
    struct replayed {
        std::string client_id;
        persisted_session state;
        std::vector<session::restored_message> messages;
    };
    std::vector<replayed> replay(std::string& error);

  private:
    session_log(std::shared_ptr<store::partition> sessions,
                std::shared_ptr<store::partition> queue)
        : sessions_(std::move(sessions)), queue_(std::move(queue)) {}
    // Appends one record; `outcome` (may be null) is finished by the append's result.
    static void append(store::partition& p, const store::record& r,
                       std::shared_ptr<append_outcome> outcome);
    // Refilled deliveries for `client_id` and the cursor record past them, in one batch.
    std::shared_ptr<append_outcome> append_refill(const std::string& client_id,
                                                  std::vector<delivery>& ds,
                                                  const store::record& cursor);
    // Appends a built batch to __session_queue; the outcome finishes when it is durable.
    std::shared_ptr<append_outcome> append_batch(store::batch_builder& b);

    std::shared_ptr<store::partition> sessions_;
    std::shared_ptr<store::partition> queue_;
    std::mutex write_mu_;  // see the class comment
    std::atomic<std::uint64_t> next_seq_{1};
    std::map<std::string, std::vector<log_cursor>> restored_shares_;  // replay() to restore
};

// The publisher's side: an outcome that finishes once all of `parts` finished, with the first
// failure among them or success. Null parts are skipped; no parts: finished at once.
std::shared_ptr<append_outcome> join_outcomes(std::vector<std::shared_ptr<append_outcome>> parts);

}  // namespace sluice::broker
