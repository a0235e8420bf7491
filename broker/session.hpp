#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/append_outcome.hpp"
#include "broker/compact_mutex.hpp"
#include "broker/fifo.hpp"
#include "broker/message.hpp"
#include "broker/offline_cursors.hpp"
#include "ingest/delivery_id.hpp"
#include "mqtt/packet.hpp"
#include "mqtt/reason_code.hpp"

// A client's MQTT session: its subscriptions, the messages waiting for it, its inflight QoS 1/2
// state in both directions, its expiry and a will waiting for its delay. Sessions live in
// memory (broker_core's registry); they outlive connections and move between them on takeover.
//
// Every change of a session goes through the methods below (docs/architecture.md, "Sessions"),
// so persistence can observe them in one place. Calls from the attached connection name it
// (`me`): a connection that was taken over (its DISCONNECT 0x8E still on the way) gets
// `not_owner` and changes nothing.
//
// Threads: any. Every member is guarded by the private `mu_`, held briefly and never across I/O
// or another lock: the attached connection calls from its own thread, routers on other io
// threads offer(), the registry and timers (broker_core) attach, detach and end.
// Lock order: registry lock -> router lock -> retained lock -> session mu. Nothing that holds a
// session's mu takes any other lock; wake() and kick() only post to the owner's thread.
namespace sluice::broker {

// A Session Expiry Interval that never ends (MQTT 5 3.1.2.11.2).
inline constexpr std::uint32_t never_expires = 0xFFFFFFFF;

// What the operations endpoints show of a session's connection: fields fixed at CONNECT.
struct owner_details {
    std::string listener;
    std::uint8_t protocol_level = 0;  // 3, 4 or 5
    std::uint16_t keep_alive = 0;     // seconds, as enforced
};

// The connection a session is attached to, as the session sees it.
class session_owner {
  public:
    // Called with the session's mu held, from any thread: an operator asked to close this
    // connection (admin API). The owner posts a server DISCONNECT (0x98) to its own thread;
    // the session then goes offline as on any server-side close (will, expiry).
    virtual void disconnect_requested() {}
    // Called with the session's mu held, from any thread: reads only fields fixed at CONNECT.
    virtual owner_details details() const { return {}; }
    // Called with the session's mu held, from any thread: the owner must only post work to its
    // own thread (new messages are queued; pull them).
    virtual void wake() = 0;
    // Called with the session's mu held, from any thread: another connection took the session
    // over. `session_continues` is false when the new connection started a clean session.
    virtual void kick(mqtt::reason_code reason, bool session_continues) = 0;
    // Called with no session lock held, from any thread: a receiver that slowed this owner's
    // publishes down (congested, or refused a parked one) has taken from its queue since. The
    // owner posts to its own thread and tries again now rather than at the end of its pause.
    virtual void receiver_drained() {}
    // Any thread, while the owner publishes on its own (session::publishing_as): a weak
    // reference to it, for receiver_drained() later.
    virtual std::weak_ptr<session_owner> weak_owner() { return {}; }

  protected:
    ~session_owner() = default;
};

// One message waiting in a session, with what this subscriber's subscriptions made of it.
struct delivery {
    message_ptr msg;
    mqtt::qos qos_level = mqtt::qos::at_most_once;  // min(message QoS, granted QoS)
    bool retain = false;                            // the RETAIN flag to send
    std::vector<std::uint32_t> subscription_ids;    // 5.0: ids of the matching subscriptions
    std::string share;  // "$share/<group>/<filter>" when it came through a shared group
    // Its record in __session_queue (session_journal below); 0: not recorded.
    std::uint64_t persist_seq = 0;
    bool redelivered = false;  // restored after a restart: it may have been sent, so DUP
};

struct inflight_message {
    std::uint16_t packet_id = 0;
    delivery d;
    bool released = false;  // QoS 2: PUBREC received and PUBREL sent, waiting for PUBCOMP
    bool resend = false;    // resumed session: to be sent again when the window allows
};

struct subscription_record {
    mqtt::subscription_options options;
    std::uint32_t subscription_id = 0;  // 0: none
    // Wall-clock ms of the SUBSCRIBE that made it, when the session reads its messages from
    // the log (it has cursors): records received before it do not match it, so a session
    // still catching up does not get the new filter's older messages. 0: every record.
    std::int64_t since_ms = 0;
};

// What a replay of the backlog needs of a session (broker/backlog_replay.hpp), copied under
// its lock: its client id (for No Local) and its subscriptions with their options.
struct backlog_subscriber {
    std::string client_id;
    std::vector<std::pair<std::string, subscription_record>> subscriptions;
};

// What a connection may send now, taken from its session under one short lock and encoded
// after it (so publishers offering to this session never wait for the encoding).
struct outgoing {
    delivery d;                  // empty msg for a PUBREL
    std::uint16_t packet_id = 0;  // 0 for QoS 0
    bool dup = false;
    bool pubrel = false;  // a retransmitted PUBREL rather than a PUBLISH
};

// Limits of one take_deliveries() call.
struct take_limits {
    std::size_t window = 65535;     // the client's outbound window (Receive Maximum)
    std::size_t byte_room = 65536;  // about how many bytes the send queue may still take
    bool resend = false;            // resumed: everything inflight goes out again first
    bool drained = false;           // the caller's socket just took bytes (progress)
};

struct persisted_session;

// Where a persistent session's QoS 1/2 messages are recorded while they wait for it
// (session_log, docs/mqtt.md "What survives a restart"). Process-wide (one broker per process);
// null: nothing is recorded (unit tests, no log).
class session_journal {
  public:
    // Any thread, with the session's mu held (so the record is appended before the message can
    // be taken and acknowledged): records `d` for `client_id`; returns its sequence, 0 if none.
    virtual std::uint64_t queued(const std::string& client_id, const delivery& d) = 0;
    // No lock held: the delivery `seq` left the session (acknowledged, expired, dropped).
    virtual void done(const std::string& client_id, std::uint64_t seq) = 0;
    // No lock held: the subscriber sent PUBREC for `seq`; only `packet_id` is left of it. The
    // PUBREL waits for this record (so a restart never delivers the message again).
    virtual void released(const std::string& client_id, std::uint64_t seq,
                          std::uint16_t packet_id) = 0;
    // Any thread, with the session's mu held: the publisher's acknowledgement must wait for
    // `outcome` too (an offline session's cursor snapshot that covers the message).
    virtual void wait_for(std::shared_ptr<append_outcome> outcome) = 0;
    // Any thread, with the session's mu held: deliveries refilled from the log, read up to
    // `cursor`; records them and the cursor in one append (sets each persist_seq).
    // The outcome finishes once that append is durable (the deliveries wait for it).
    virtual std::shared_ptr<append_outcome> refilled(const std::string& client_id,
                                                     std::vector<delivery>& ds,
                                                     const log_cursor& cursor) = 0;
    // Any thread, with the session's mu held: deliveries of a shared group's backlog
    // (broker/share_backlog.hpp) refilled into `client_id`'s queue, read up to the group's
    // `cursor`; records them and the group's cursor in one append, as refilled() does.
    virtual std::shared_ptr<append_outcome> share_refilled(const std::string& client_id,
                                                           std::vector<delivery>& ds,
                                                           std::string_view share,
                                                           const log_cursor& cursor) = 0;

  protected:
    ~session_journal() = default;
};
void set_session_journal(session_journal* j);

// Who refills sessions from their backlogs in the log (broker/backlog_reader.hpp); told, with
// no lock held, when a session with a backlog took messages from its queue (so it has room).
// Process-wide; null: nobody.
class backlog_waker {
  public:
    virtual void backlog_room() = 0;

  protected:
    ~backlog_waker() = default;
};
void set_backlog_waker(backlog_waker* w);

// Limits on what may wait in sessions (docs/mqtt.md, Limits): per session, a message count
// and payload bytes; for all sessions of the process together, payload bytes (the broker-wide
// budget). Messages over a limit are dropped, QoS 0 and 1/2 alike, and counted.
struct queue_limits {
    queue_limits() = default;
    // A message count alone converts (tests, callers without byte limits).
    queue_limits(std::size_t messages, std::uint64_t bytes = 0, std::uint64_t budget = 0)
        : max_messages(messages), max_bytes(bytes), budget_bytes(budget) {}
    std::size_t max_messages = 1000;
    std::uint64_t max_bytes = 0;     // per session; 0 = no byte limit
    std::uint64_t budget_bytes = 0;  // all sessions together; 0 = no budget
};

class session {
  public:
    explicit session(std::string id) : client_id(std::move(id)) {}
    ~session();
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    const std::string client_id;

    // --- router side (any thread) ------------------------------------------------------------

    enum class offer_result { dropped, dropped_congested, queued, congested, refused };
    // Offers a message to this session. QoS 0 is dropped when the session is offline or its
    // connection's send queue is full; anything is dropped when the queue already holds
    // `limits.max_messages` messages, or a byte limit would be passed. `congested` / `dropped_congested`:
    // the session is online, its queue is past half of the limit (or, for QoS 0, its send queue
    // is full) and it made progress within the last second, so the publisher should slow down
    // (backpressure). A receiver that makes no progress stops slowing publishers down: its
    // messages are dropped instead.
    // `may_park`: a QoS 1/2 message that such an online, progressing session's full queue
    // (message count or bytes; not the broker-wide budget) cannot take is `refused` instead of
    // dropped: not counted, and `d` is left as it was, for the caller to offer again later
    // (the publisher parks it: docs/mqtt.md, "Limits and flow control"). Otherwise `d` is
    // moved from.
    offer_result offer(delivery&& d, const queue_limits& limits, bool may_park = false);
    // While one lives on a thread, QoS 1/2 offers made there that slow the publisher down
    // (congested, dropped_congested, refused) remember `publisher`, and the receiver calls its
    // receiver_drained() once its queue has drained to half of what it held then. (QoS 0
    // publishers wait for their pause timer: woken early, their burst is dropped.)
    class publishing_as {
      public:
        explicit publishing_as(session_owner* publisher);
        ~publishing_as();
        publishing_as(const publishing_as&) = delete;
        publishing_as& operator=(const publishing_as&) = delete;

      private:
        session_owner* previous_;
    };

    // Payload bytes waiting in every session's queue, and messages dropped by the budget.
    static std::uint64_t all_queued_bytes();
    static std::uint64_t budget_drops();

    // True while a connection is attached; read without the lock by shared-group selection.
    bool online() const { return online_.load(std::memory_order_relaxed); }

    // --- owner side (the attached connection's thread) ---------------------------------------

    enum class result { ok, not_owner };

    // Moves what may be sent now into `out`: first inflight messages to retransmit (PUBLISH
    // with DUP, or PUBREL) when resuming, then queued messages while the window and the byte
    // room allow, giving QoS 1/2 ones a packet id and an inflight entry. Expired messages are
    // discarded. `saturated` tells QoS 0 offers whether the owner's send queue is full.
    result take_deliveries(const session_owner* me, const take_limits& limits, bool saturated,
                           std::vector<outgoing>& out, steady_clock::time_point now);
    // The owner is idle: a drained queue gives its buffer back (it keeps it between bursts).
    void release_idle_memory(const session_owner* me);
    // A taken message could not be sent (too large for the client): forget its inflight entry.
    void drop_inflight(const session_owner* me, std::uint16_t packet_id);
    // Queues messages for the owner (retained messages on SUBSCRIBE), within the limits;
    // returns how many were queued, or nullopt when `me` no longer owns the session.
    std::optional<std::size_t> enqueue(const session_owner* me, std::vector<delivery>& ds,
                                       const queue_limits& limits);

    // PUBACK for an outbound QoS 1 message; true when it was inflight.
    bool ack(const session_owner* me, std::uint16_t packet_id);
    // PUBREC for an outbound QoS 2 message.
    enum class pubrec_result { not_owner, unknown_id, released, refused };
    pubrec_result release(const session_owner* me, std::uint16_t packet_id, bool refused);
    // PUBCOMP: the QoS 2 exchange ends; true when it was waiting.
    bool complete(const session_owner* me, std::uint16_t packet_id);

    // Inbound QoS 2: a PUBLISH with `packet_id` arrived. `fresh`: remember it until PUBREL
    // (unless `remember` is false: a refused message); `repeat`: the id still waits for its
    // PUBREL, acknowledge again without delivering; `over_window`: more than `limit` pending.
    enum class qos2_result { not_owner, fresh, repeat, over_window };
    qos2_result accept_qos2(const session_owner* me, std::uint16_t packet_id, std::size_t limit,
                            bool remember);
    // PUBREL: forgets the id; nullopt when not the owner, else whether it was pending.
    std::optional<bool> release_qos2(const session_owner* me, std::uint16_t packet_id);
    bool qos2_pending(std::uint16_t packet_id) const;
    std::size_t qos2_pending_count() const;

    // --- durable ingest (docs/mqtt.md, "Durable ingest") -----------------------------------------
    // The session is an idempotent producer of the log: a producer id (made on its first logged
    // publish), an epoch bumped at every attach (takeover, resume) and after a failed append,
    // and a sequence per log partition (ingest/delivery_id.hpp).

    bool has_producer() const;
    // The delivery id of a new logged publish to (log_topic, partition). A session without a
    // producer takes `fresh_producer_id` (allocated by the caller outside the lock; nullopt:
    // none could be had). nullopt when `me` no longer owns the session or it has no producer.
    std::optional<ingest::delivery_id> assign_delivery(const session_owner* me,
                                                       std::string_view log_topic, int partition,
                                                       std::optional<std::int64_t> fresh_producer_id);
    // The append of `failed` failed: its sequence is lost, so if it was of the current epoch the
    // producer moves to the next one (or drops its id when epochs ran out). Any thread.
    void producer_failed(const ingest::delivery_id& failed);

    // Logged inbound QoS 1/2 publishes by packet id, so that the same PUBLISH received again
    // (DUP, or a QoS 2 id repeated before PUBREL) waits for the first one's append instead of
    // writing a second record. The newest `keep` (the Receive Maximum: a client cannot have more
    // unacknowledged) finished entries are kept, and every unfinished one.
    std::shared_ptr<append_outcome> find_inbound(const session_owner* me,
                                                 std::uint16_t packet_id) const;
    void remember_inbound(const session_owner* me, std::uint16_t packet_id,
                          std::shared_ptr<append_outcome> outcome, std::size_t keep);
    std::size_t inbound_remembered() const;

    // --- registry side (broker_core, under its registry lock) ---------------------------------

    // Attaches `owner`. A resume (`cancel_will`) drops a will still waiting for its delay:
    // the client came back in time (MQTT-3.1.3-9 ... 3.1.3.2.2). Bumps the generation.
    // `expiry` is the new connection's Session Expiry Interval (0: the session lasts as long
    // as the connection, MQTT-3.1.2-6).
    void attach(session_owner* owner, bool cancel_will, std::uint32_t expiry);
    std::uint32_t expiry() const;
    // Kicks and detaches the current owner, if any.
    void kick_owner(mqtt::reason_code reason, bool session_continues);
    // The connection `owner` closed: detaches it and, in the same lock section, records the
    // expiry and the will to keep for its delay (so a resume racing with this close either
    // sees the will and cancels it, or comes after and cannot be undone by it). Returns the
    // new generation, or nullopt (leaving `delayed_will` with the caller) when `owner` no
    // longer owns the session.
    // A persistent session (expiry above 0) given `logged` partitions and `cursors` places a
    // marker on each of them in the same lock section (docs/offline-backlog-design.md): from
    // then on, a logged QoS 1/2 message whose ticket is at or above the marker of its
    // partition is covered by the cursors and not queued; the caller arms `cursors` after this
    // returns (its snapshot is saved once every marker has reported).
    std::optional<std::uint32_t> detach(const session_owner* owner, std::uint32_t expiry,
                                        std::unique_ptr<mqtt::will_message>& delayed_will,
                                        const std::vector<logged_partition>* logged = nullptr,
                                        std::shared_ptr<offline_cursors> cursors = nullptr);
    // The publisher's acknowledgement waits for `outcome` too (a cursor that covers its
    // message is not durable yet): added to the journal's list for this thread. Any thread.
    static void wait_for_durable(std::shared_ptr<append_outcome> outcome);
    // Logged messages not queued because the cursors of an offline period covered them, among
    // those offered to it: the router skips covered groups without offering (router.hpp), so
    // this counts only what reached the session one by one (raced a detach, routed before its
    // group formed); router::covered_skips() counts the rest, per group.
    std::uint64_t covered() const;
    // The marks the router may rely on to skip this session as part of a covered group
    // (router.hpp): those whose cursor snapshot is durable (finished) or that were restored at
    // start. A message on `partition` with a ticket at or above `from` is the log's.
    struct covering_mark {
        const store::partition* partition = nullptr;
        store::partition::ticket from = 0;
    };
    std::vector<covering_mark> covering_marks() const;
    // The detach's cursor snapshot is durable: the marks take their cursors and let go of
    // what their markers reported to (memory of an offline session). Any thread.
    void settle_backlog();

    // --- backlog reader (broker/backlog_reader.hpp) ------------------------------------------
    // What one replay pass needs, taken under the lock: nullopt when offline, without marks,
    // or without room in the queue (`max_queued` messages).
    struct backlog_cursor {
        logged_partition where;
        std::int64_t next = 0;
        // Where this step must stop for now: the start of a stretch the cursor jumps over
        // once it reaches it (the log was reopened: docs/offline-backlog-design.md, "After a
        // reopen of the log"); the largest offset when there is none.
        std::int64_t stop = std::numeric_limits<std::int64_t>::max();
    };
    struct backlog_job {
        std::uint32_t generation = 0;
        std::size_t room = 0;
        backlog_usage used;  // of the limits, since the resume
        backlog_subscriber subscriber;
        std::vector<backlog_cursor> cursors;  // known ones
    };
    std::optional<backlog_job> take_backlog_job(std::size_t max_queued);
    // A shared group's refill (broker/share_backlog.hpp): the room this member has for one,
    // taken under the lock; nullopt when offline, ended, full, or a refill is held.
    struct share_room {
        std::uint32_t generation = 0;
        std::size_t room = 0;
    };
    std::optional<share_room> take_share_room(std::size_t max_queued) const;
    // Deliveries of the group `share`'s backlog, read up to the group's `cursor`: journaled
    // with that cursor in one batch and held until it is durable, as refill() does. False
    // (nothing done) when the session moved on or holds a refill already.
    bool refill_shared(std::uint32_t generation, std::vector<delivery> ds, std::string_view share,
                       const log_cursor& cursor, std::shared_ptr<append_outcome>& durable);
    // Refilled deliveries of one partition read from `from` up to `next`: journaled (one
    // batch with the cursor, so a restart finds both or neither) and held until that batch is
    // durable (`durable`, null when nothing was written); then release_held() queues them.
    // False (nothing done) when the session moved on (other generation, cursor moved).
    // `used`: the limits' use after this step; `caught_up`: the replay reached the log end
    // (the use starts again from zero).
    bool refill(std::uint32_t generation, const store::partition* partition, std::int64_t from,
                std::int64_t next, std::vector<delivery> ds,
                std::shared_ptr<append_outcome>& durable, const backlog_usage& used = {},
                bool caught_up = false);
    // The held deliveries go to the queue (in order), the owner is woken. No lock held.
    void release_held();
    bool has_backlog() const;
    // At start: marks with ticket 0 (every append of this process is the log's) at `cursors`.
    void restore_backlog(std::vector<std::pair<logged_partition, std::int64_t>> cursors);
    // The cursors to erase when it ends (their records in __session_queue).
    std::vector<log_cursor> backlog_cursors() const;
    // Drops a will waiting for its delay (a new connection came in time).
    void drop_will();
    // The delayed will, if the session is still in `generation` and not ended.
    std::unique_ptr<mqtt::will_message> take_will_if(std::uint32_t generation);
    bool unchanged_since(std::uint32_t generation) const;

    // True while `owner` is attached and the session has not ended.
    bool owned_by(const session_owner* owner) const;
    void set_subscription(const std::string& filter, const subscription_record& rec);
    void erase_subscription(const std::string& filter);
    std::vector<std::string> subscription_filters() const;
    std::size_t subscription_count() const;

    // Ends the session: no offer is accepted after this. Returns the QoS 1/2 messages that came
    // through a shared group and were not completed (to go to another member) and the will
    // still waiting for its delay (published at the session's end, MQTT-3.1.3-9).
    struct ending {
        std::vector<delivery> orphans;
        std::unique_ptr<mqtt::will_message> will;
        std::vector<std::uint64_t> recorded;  // persist_seq of what it held (to erase)
        bool was_recorded = false;            // its state is in __sessions (to erase)
        std::vector<log_cursor> cursors;      // its backlog cursors (to erase)
    };
    ending end();
    bool ended() const;

    // --- persistence (session_log) -----------------------------------------------------------
    // True when its state is kept across restarts: a Session Expiry Interval above 0.
    bool persistent() const;
    // Its state to record now (and marks it recorded). `now_ms` is the wall clock; the
    // attached connection's will, if any, is `connection_will`.
    persisted_session snapshot(std::int64_t now_ms, const mqtt::will_message* connection_will);
    // Whether a snapshot of it was ever recorded (so its end must erase it).
    bool recorded() const;
    // At start, before any connection: the state read back and the messages that were waiting
    // (in order; released ones are QoS 2 messages waiting for PUBCOMP). Returns the generation
    // (for deadlines, as detach() does).
    struct restored_message {
        std::uint64_t seq = 0;
        delivery d;                   // empty msg: released, only packet_id is left
        std::uint16_t packet_id = 0;
    };
    std::uint32_t restore(const persisted_session& st, std::vector<restored_message> messages);

    // --- inspection (the operations endpoints; broker/session_inspect.cpp) -----------------
    struct summary {
        bool online = false;
        std::uint32_t expiry = 0;
        std::size_t queued = 0, inflight = 0, subscriptions = 0, qos2_pending = 0;
        std::uint64_t queued_bytes = 0, dropped = 0;
        std::optional<owner_details> connection;  // while online
    };
    summary inspect() const;  // one short lock section
    std::vector<std::pair<std::string, subscription_record>> subscriptions() const;
    // Asks the attached connection to close with DISCONNECT 0x98; false when offline.
    bool request_disconnect();

    std::size_t queued() const;
    // Everything queued, taken out (inspection of an offline session; tests).
    std::vector<delivery> take_queued();
    std::size_t inflight_count() const;
    std::uint64_t dropped() const;

  private:
    std::uint16_t allocate_packet_id();  // 0 when all 65535 are in use
    void forget_inflight(inflight_message* it);
    // queued_bytes_ and the process-wide total move together.
    void add_queued_bytes(std::uint64_t n);
    void sub_queued_bytes(std::uint64_t n);
    // Whether `bytes` more fit in this session and in the budget (nothing counted).
    enum class room { fits, full, over_budget };
    room room_for(std::uint64_t bytes, const queue_limits& limits) const;
    // A message that did not fit (room_for) is dropped: counts it.
    void count_drop(room why);
    // room_for, counting the drop if it does not fit.
    bool fits_limits(std::uint64_t bytes, const queue_limits& limits);
    // The offer being made slows its publisher down: remember the publisher (mu_ held).
    void note_waiting_publisher();
    bool progressing(steady_clock::time_point now) const;
    // mu_ held: whether a logged QoS 1/2 message at `at` is under this session's cursors (its
    // ticket at or above the mark of its partition); adds the publisher's wait for a cursor
    // snapshot not yet durable.
    bool covered_by_marks(const log_position& at);
    // mu_ held: a QoS 0 delivery `d` of a logged QoS 1/2 message is covered when another
    // subscription of this session matches it with QoS 1 or 2 (the router may have skipped
    // that one in a covered group, so `d` is not the merged delivery).
    bool merged_delivery_covered(const delivery& d) const;

    // Guards every field below. Held briefly: never across I/O or another lock. Four bytes
    // (compact_mutex.hpp): every idle client keeps a session.
    mutable compact_mutex mu_;

    // Laid out so that an idle client's session is 104 bytes (one 128-byte heap block with
    // its shared_ptr control block); broker/README.md, "Per connection memory".
    std::uint16_t last_packet_id_ = 0;
    std::uint16_t inflight_to_resend_ = 0;  // entries of inflight_ with resend set (<= 65535)
    session_owner* owner_ = nullptr;  // the attached connection, or null while offline

    fifo<delivery> queue_;             // waiting for the window or a connection
    fifo<inflight_message> inflight_;  // sent, not yet acknowledged (oldest first)

    // What most sessions never use, in one block made on first use (rare()): an idle client
    // carries one pointer for all of it.
    using subscription_map = std::map<std::string, subscription_record, std::less<>>;
    struct inbound_entry {
        std::uint16_t packet_id = 0;
        std::shared_ptr<append_outcome> outcome;
    };
    struct rare_fields {
        subscription_map subscriptions;  // by full filter
        fifo<std::uint16_t> incoming_qos2;  // packet ids received, waiting for PUBREL
        std::unique_ptr<mqtt::will_message> pending_will;  // waiting for its will delay
        std::unique_ptr<ingest::session_producer> producer;  // made by the first logged publish
        fifo<inbound_entry> inbound_logged;  // logged inbound QoS 1/2, oldest first
        std::int64_t offline_since_ms = 0;   // wall clock of the last detach (persistence)
        // The backlog in the log (docs/offline-backlog-design.md): made at the first detach
        // with logged partitions, or at start from recorded cursors (one pointer until then).
        struct backlog_state {
            // After a reopen of the log, the records [from, to) of a partition were offered
            // while the session's mark was on the old partition object: not covered, they
            // went to its memory queue, so the replay jumps over them (to: -1 until the new
            // marker has reported; its log end).
            struct skipped_stretch {
                std::int64_t from = 0;
                std::int64_t to = -1;
            };
            struct mark {
                logged_partition where;
                store::partition::ticket from = 0;  // offers at or above it: the log's
                std::int64_t cursor = -1;  // -1: its marker has not reported yet (`source`)
                // Where its marker reports; dropped once the cursor (and a stretch's end) is
                // known and the snapshot holding it durable (an offline session does not keep
                // its detach's block: mutex, cursors, callback, outcome).
                std::shared_ptr<offline_cursors> source;
                std::unique_ptr<skipped_stretch> skip;  // rare: only after a reopen
            };
            std::vector<mark> marks;  // one per (log topic, partition index)
            std::uint64_t covered = 0;  // messages not queued: the cursors cover them
            // Refilled, journaled, waiting for that append to be durable (so nothing is sent
            // that a crash could replay as new).
            std::vector<delivery> held;
            // What the replay since the last resume used of the backlog limits (reset at
            // attach and once it has caught up).
            backlog_usage used;
        };
        // Fills in the cursors whose markers have reported and lets go of the blocks no
        // longer needed (mu_ held; a leaf lock each).
        static void resolve(backlog_state& b);
        // `fresh`, a mark on the reopened log's partition object, takes over from `old`, the
        // mark on the object the log had before (same log topic and index): what `old`
        // covered and was not replayed yet stays to replay (mu_ held).
        static void carry_over(backlog_state::mark& old, backlog_state::mark& fresh);
        std::unique_ptr<backlog_state> backlog;
        // Publishers this session slowed down (publishing_as), woken once the queue is at or
        // below `wake_publishers_at` and the connection's send queue has room.
        std::vector<std::weak_ptr<session_owner>> waiting_publishers;
        std::size_t wake_publishers_at = 0;
    };
    std::unique_ptr<rare_fields> rare_;
    rare_fields& rare();  // made if needed (mu_ held)

    std::uint64_t queued_bytes_ = 0;            // payload bytes in queue_
    steady_clock::time_point last_progress_{};  // the owner last drained the queue or socket
    std::uint32_t generation_ = 0;  // bumped at every attach and detach (compared, may wrap)
    std::uint32_t expiry_interval_ = 0;  // seconds; 0xFFFFFFFF = never
    std::uint32_t dropped_ = 0;     // messages this session dropped (wraps; for inspection)
    bool wake_posted_ : 1 = false;      // a wake() is on its way to the owner
    bool owner_saturated_ : 1 = false;  // the owner's send queue is full: QoS 0 is dropped
    bool ended_ : 1 = false;            // removed from the registry; offers are refused
    bool recorded_ : 1 = false;         // a snapshot is in __sessions (session_log)
    std::atomic<bool> online_{false};
};

}  // namespace sluice::broker
