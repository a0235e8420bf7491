#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/steady_timer.hpp>

#include "broker/config.hpp"
#include "broker/deadline_queue.hpp"
#include "broker/io_pool.hpp"
#include "broker/message.hpp"
#include "broker/retained_store.hpp"
#include "broker/router.hpp"
#include "broker/session.hpp"
#include "broker/session_log.hpp"
#include "broker/stats.hpp"

// What the MQTT connections share: the session registry, the router, the retained store,
// counters, timers and the $SYS publisher.
// Threads: any. `registry_mu_` guards `sessions_` and serialises attaching, detaching and
// ending sessions (lock order: registry -> router -> retained -> session, session.hpp).
// Timers run on io thread 0.
namespace sluice::broker {

class durable_log;
class backlog_reader;
class retained_log;

class broker_core {
  public:
    broker_core(const config& cfg, io_pool& pool);
    broker_core(const broker_core&) = delete;
    broker_core& operator=(const broker_core&) = delete;

    const mqtt_settings& settings() const { return cfg_.mqtt_opts; }
    // What may wait in one session, and in all of them together (docs/mqtt.md, Limits).
    const queue_limits& limits() const { return limits_; }
    io_pool& pool() { return pool_; }
    retained_store& retained() { return retained_; }
    broker_stats& stats() { return stats_; }
    // The commit log publishes are written to (docs/mqtt.md, "Durable ingest"); null: nothing
    // is logged (unit tests without a store). Set before any connection exists.
    durable_log* log() const { return log_; }
    void set_log(durable_log* log) { log_ = log; }
    // Where retained messages and persistent sessions are kept across restarts (docs/mqtt.md,
    // "What survives a restart"); null: in memory only. Set before any connection exists.
    void set_persistence(retained_log* retained, session_log* sessions);
    session_log* sessions_log() const { return session_log_; }
    // Who refills persistent sessions from their cursors in the log
    // (docs/offline-backlog-design.md); null: offline sessions keep copies in their queues.
    // Set before any connection exists, with the log and the persistence.
    void set_backlog_reader(backlog_reader* r);

    // Stores it if retained, then offers it to every matching session. Returns the number of
    // sessions matched; sets *congested as router::route does. `durable`, when given, gets the
    // appends the message's acknowledgement must wait for: its __retained record and its
    // records in persistent sessions' queues (session_log); without it nobody waits for them.
    // `refused`, when given, gets the QoS 1/2 offers that full, progressing receivers refused
    // (router::route): the publisher holds them and offers them again (offer_parked).
    std::size_t publish(const message_ptr& msg, bool* congested = nullptr,
                        std::vector<std::shared_ptr<append_outcome>>* durable = nullptr,
                        const std::string& client_id = {},
                        std::vector<refused_offer>* refused = nullptr);
    // Offers refused offers again (docs/mqtt.md, "Limits and flow control"): those accepted or
    // dropped leave `offers`, those refused again stay. A session that ended since (its id no
    // longer finds it) is skipped, but a shared subscription's delivery goes to another member
    // of its group, as it does when its member is offline by now. `last`: the publisher is
    // closing, so what is still refused is dropped (and counted). `durable` as in publish.
    void offer_parked(std::vector<refused_offer>& offers, bool last,
                      std::vector<std::shared_ptr<append_outcome>>* durable);
    void publish_will(mqtt::will_message will);

    struct opened {
        std::shared_ptr<session> s;
        bool present = false;  // an existing session was resumed
        // The session's record (persistent sessions): the CONNACK waits for it. Null: none.
        std::shared_ptr<append_outcome> durable;
    };
    // Attaches `owner` to the session of `client_id`: resumes it unless `clean_start`, and
    // kicks any connection attached to it with 0x8E.
    // `expiry` is the connection's Session Expiry Interval; `will` its will (recorded with a
    // persistent session, to be published if the broker dies with the connection open).
    opened open_session(const std::string& client_id, bool clean_start, session_owner* owner,
                        std::uint32_t expiry, const mqtt::will_message* will = nullptr);

    // Records the state of `s` after a change (persistent sessions, or one recorded before
    // that is no longer persistent). The outcome says when it is durable; null: nothing to
    // wait for. `will`: the attached connection's will.
    std::shared_ptr<append_outcome> save_session(const std::shared_ptr<session>& s,
                                                 const mqtt::will_message* will);

    // At start, before the listeners open: the sessions read back from the log become
    // offline sessions again (subscriptions in the trie, expiry and will delay re-armed from
    // the recorded deadlines). Sessions whose expiry passed while the broker was down are
    // erased (their will is published). Returns how many were restored.
    std::size_t restore_sessions(std::vector<session_log::replayed> all);

    // The connection `owner` closed. If it still owns `s`: detaches, publishes `will` (absent
    // on a normal DISCONNECT) or keeps it in the session for its delay, and ends or schedules
    // the end of the session after `expiry` seconds (0xFFFFFFFF: never). Returns false (and
    // does nothing, leaving `will` with the caller) when `owner` no longer owns `s`.
    bool close_session(const std::shared_ptr<session>& s, session_owner* owner,
                       std::unique_ptr<mqtt::will_message>& will, std::uint32_t expiry);

    // Adds or replaces a subscription of `s` while `owner` still owns it. Returns whether it
    // replaced one, or nullopt when the session is no longer `owner`'s.
    std::optional<bool> subscribe(const std::shared_ptr<session>& s, session_owner* owner,
                                  const std::string& filter, const subscription_record& rec);
    // Returns whether the subscription existed, or nullopt as above.
    std::optional<bool> unsubscribe(const std::shared_ptr<session>& s, session_owner* owner,
                                    const std::string& filter);

    // Runs `fn` on io thread 0 after `delay` (periodic work such as $SYS; session deadlines
    // use the cancellable deadline queue below).
    void after(std::chrono::milliseconds delay, std::function<void()> fn);

    // Call after the io threads stopped and before the pool goes: drops the deadline timer.
    void stop_timers();
    // Deadlines waiting (session expiries and will delays), for tests and $SYS.
    std::size_t pending_deadlines();

    // Starts the periodic $SYS/broker/... publisher (if enabled).
    void start();

    // Bytes held by connections that have not completed their CONNECT, all together, within
    // mqtt_settings::unauthenticated_bytes: reserve fails when the budget is spent.
    bool reserve_unauthenticated(std::size_t bytes);
    void release_unauthenticated(std::size_t bytes);

    // Connections count themselves in and out so shutdown can wait for them to close.
    void connection_opened();
    void connection_closed();
    // Waits until every connection has closed or `timeout` passed; true if all closed.
    bool wait_for_connections(std::chrono::milliseconds timeout);

    std::string assign_client_id();

    // --- read API for the operations endpoints (broker/broker_core_inspect.cpp) -----------
    // Every session, as pointers copied in one short registry section: callers inspect and
    // page them outside it, so the HTTP side never holds the registry for long.
    std::vector<std::shared_ptr<session>> sessions_snapshot();
    std::shared_ptr<session> find_session(std::string_view client_id);
    std::size_t session_count();
    enum class admin_result { done, not_found, online, offline };
    // Closes the client's connection with DISCONNECT 0x98 (its session stays, as after any
    // server-side close); offline when it has none.
    admin_result disconnect_client(std::string_view client_id);
    // Ends an offline session (its delayed will, if any, is published as at expiry); online
    // when a connection holds it.
    admin_result delete_session(std::string_view client_id);
    std::size_t subscription_count() const { return router_.subscription_count(); }
    std::uint64_t routed_drops() const { return router_.dropped(); }
    // Offers the router did not make: sessions in covered groups whose cursors covered the
    // message (router.hpp).
    std::uint64_t covered_skips() const { return router_.covered_skips(); }
    steady_clock::time_point started_at() const { return started_at_; }

  private:
    void end_session_locked(const std::shared_ptr<session>& s);
    // A delayed will's deadline (registry lock held): publishes it if the session is still
    // in `generation`, and records that it is gone.
    void will_due_locked(const std::weak_ptr<session>& s, std::uint32_t generation);
    // The cursors of `s`'s detach are durable: its subscriptions join the router's covered
    // groups, if it is still registered (any thread; takes the registry lock).
    void cover_session(const std::weak_ptr<session>& s);
    // `s` went offline: each shared group of its filters whose members are all offline
    // persistent sessions gets its backlog in the log (broker/share_backlog.hpp), unless it
    // has one. `logged`: the logged partitions. Takes the registry lock.
    void open_share_backlogs(const std::vector<std::string>& filters,
                             const std::vector<logged_partition>& logged);
    // Registry lock held: opens `share`'s backlog if its members are all offline.
    void open_share_backlog_locked(const std::string& share,
                                   const std::vector<logged_partition>& logged);
    // At start (registry lock held): the groups' backlogs read back, and a backlog for every
    // other group of `shares` whose members are all offline.
    void restore_share_backlogs(const std::vector<std::string>& shares,
                                const std::vector<logged_partition>& logged);

    // Session expiries and will delays: one deadline queue guarded by registry_mu_ (its
    // callbacks run with that lock held), one timer on io thread 0 armed at the earliest
    // deadline. A resume or the end of a session cancels its deadlines at once, so reconnect
    // churn with long expiries leaves nothing behind.
    enum class deadline_kind { expiry, will };
    void schedule_locked(const session* s, deadline_kind kind, steady_clock::time_point when,
                         deadline_queue::callback cb);
    void cancel_deadlines_locked(const session* s);
    void arm_deadline_timer();  // io thread 0
    void on_deadline_timer();   // io thread 0
    void publish_sys();

    config cfg_;
    io_pool& pool_;
    router router_;
    retained_store retained_;
    broker_stats stats_;
    steady_clock::time_point started_at_;
    queue_limits limits_;
    durable_log* log_ = nullptr;
    retained_log* retained_log_ = nullptr;
    session_log* session_log_ = nullptr;
    backlog_reader* backlog_ = nullptr;
    // The partitions of the log topics the ingest rules write (each topic once).
    std::vector<logged_partition> logged_partitions();

    // The registry is a set of the sessions themselves, found by their (immutable) client id:
    // the id is stored once, in the session, and a node is one pointer and the session's
    // shared_ptr (the hash is cheap to recompute, so the node does not cache it).
    struct session_id_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view id) const noexcept {
            return std::hash<std::string_view>{}(id);
        }
        std::size_t operator()(const std::shared_ptr<session>& s) const noexcept {
            return (*this)(std::string_view(s->client_id));
        }
    };
    struct session_id_equal {
        using is_transparent = void;
        static std::string_view id(std::string_view v) { return v; }
        static std::string_view id(const std::shared_ptr<session>& s) { return s->client_id; }
        template <typename A, typename B>
        bool operator()(const A& a, const B& b) const noexcept {
            return id(a) == id(b);
        }
    };

    std::mutex registry_mu_;  // guards sessions_ and the deadlines; lock order: class comment
    std::unordered_set<std::shared_ptr<session>, session_id_hash, session_id_equal> sessions_;

    struct session_deadlines {
        deadline_queue::handle expiry, will;
    };
    deadline_queue deadlines_;                                             // registry_mu_
    std::unordered_map<const session*, session_deadlines> deadline_of_;   // registry_mu_
    steady_clock::time_point armed_for_ = steady_clock::time_point::max();  // registry_mu_
    // On io thread 0; shared with its pending wait, which may outlive us at shutdown.
    std::shared_ptr<boost::asio::steady_timer> deadline_timer_;

    std::atomic<std::uint64_t> unauthenticated_{0};

    std::mutex live_mu_;  // guards live_ (and pairs with live_cv_)
    std::condition_variable live_cv_;
    std::int64_t live_ = 0;
};

}  // namespace sluice::broker
