#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/egress_offsets.hpp"
#include "broker/metrics.hpp"
#include "ingest/egress_rules.hpp"
#include "ingest/ingest_rules.hpp"
#include "store/store.hpp"

// Egress (docs/ingest.md, "Egress"): records that Kafka producers append to a log topic with
// an egress rule are published to MQTT subscribers, routed like any publish (live sessions,
// shared groups, retained messages, persistent sessions' queues) but never logged again by the
// ingest rules, so no set of rules can make a loop.
//
// Each partition of each rule's log topic has a cursor: the next offset to publish. A cursor
// starts at the partition's end the first time a rule is seen (records already there are not
// replayed) and is recorded in `__egress_offsets` (egress_offsets.hpp) after the records
// before it are routed and every append their delivery needs (persistent sessions' queues,
// retained messages) is durable. A restart continues from the recorded position: at least
// once, never skipping a record; records published after the last recorded position are
// published again.
//
// Threads: one thread of its own (an io_context) reads the partitions (which may wait on the
// disk), maps records and publishes them; cursors are touched there only. The store's commit
// hook (writer threads) posts a wake-up there for a followed partition (`watch_mu_`, a leaf
// lock, guards the map of followed partitions). Counters are atomics read by /metrics and the
// admin API from the HTTP thread.
namespace sluice::broker {

class broker_core;
class durable_log;

class egress_service {
  public:
    egress_service(durable_log& log, broker_core& core,
                   std::shared_ptr<const ingest::egress_rules> rules,
                   std::shared_ptr<const ingest::ingest_rules> ingest);
    ~egress_service();
    egress_service(const egress_service&) = delete;
    egress_service& operator=(const egress_service&) = delete;

    // Main thread, at start-up before the listeners open: creates each rule's log topic when
    // missing, opens `__egress_offsets` and places every cursor (a new one at its partition's
    // end, recorded before this returns). False with `error`; `config_problem` when the
    // configuration is at fault (a topic that exists with other partitions than the rule's).
    bool prepare(std::string& error, bool& config_problem);
    // Starts the thread (after the io pool: publishing wakes connections on it).
    void start();
    // Main thread, at shutdown before the io pool stops: records the position of every
    // cursor that is not waiting for an append, then stops the thread. Idempotent.
    void stop();

    struct partition_status {
        int partition = 0;
        std::int64_t next_offset = 0;     // the next record to publish
        std::int64_t high_watermark = 0;  // -1 when the partition cannot be read now
    };
    struct rule_status {
        const ingest::egress_rule* rule = nullptr;
        std::uint64_t published = 0;
        // Skipped records by reason: a mapping_error name, or "undecodable_batch".
        std::vector<std::pair<std::string, std::uint64_t>> skipped;
        std::vector<partition_status> partitions;
    };
    // Any thread (the admin API and /metrics).
    std::vector<rule_status> status() const;
    void collect_metrics(metrics::family_list& out) const;

  private:
    // Reasons a record is skipped: every ingest::mapping_error but ok, and a batch that
    // cannot be decoded (a compression codec the store cannot read).
    static constexpr std::size_t undecodable = 0;  // index; mapping errors use their value
    static constexpr std::size_t reasons = 8;

    struct rule_counters {
        std::atomic<std::uint64_t> published{0};
        std::array<std::atomic<std::uint64_t>, reasons> skipped{};
    };
    struct cursor {
        std::size_t rule_index = 0;
        int index = 0;
        std::string key;  // in __egress_offsets
        // Egress thread only:
        std::shared_ptr<store::partition> part;
        std::int64_t next = 0;
        std::int64_t recorded = -1;   // the last position appended to __egress_offsets
        bool busy = false;            // a pass or a durability wait in progress
        bool recording = false;       // a position append in flight
        bool abandoned = false;       // its last position append failed during stop()
        std::chrono::milliseconds backoff{0};  // while receivers are congested
        std::unique_ptr<boost::asio::steady_timer> timer;
        // Any thread:
        std::atomic<bool> wake_pending{false};
        std::atomic<std::int64_t> next_seen{0};
    };

    const ingest::egress_rule& rule_of(const cursor& c) const {
        return rules_->rules()[c.rule_index];
    }
    bool rewire();                          // egress thread: follow the store now open
    void wake(cursor& c);                   // any thread
    void pass(cursor& c);                   // egress thread: publish what is readable
    void after(cursor& c, std::chrono::milliseconds delay);
    void record_position(cursor& c);        // egress thread
    void settle_for_stop();                 // egress thread, after stop(): record, then done
    void skip(cursor& c, std::size_t reason, std::uint64_t records, std::int64_t offset,
              const std::string& why);

    durable_log& log_;
    broker_core& core_;
    std::shared_ptr<const ingest::egress_rules> rules_;
    std::shared_ptr<const ingest::ingest_rules> ingest_;
    std::vector<std::unique_ptr<rule_counters>> counters_;  // per rule
    std::vector<std::unique_ptr<cursor>> cursors_;

    boost::asio::io_context ctx_{1};
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
    std::thread thread_;
    bool stopping_ = false;  // egress thread
    std::shared_ptr<std::promise<void>> stop_settled_;  // egress thread, while stopping
    bool started_ = false;   // main thread

    // Egress thread (and the main thread before start()):
    std::shared_ptr<store::store> store_;  // the store followed now
    std::shared_ptr<store::partition> offsets_;
    std::unique_ptr<boost::asio::steady_timer> retry_;  // when the log is failed

    mutable std::mutex watch_mu_;  // guards watched_ (leaf: taken in the commit hook)
    std::unordered_map<const store::partition*, cursor*> watched_;
};

// Start-up warnings for rule sets where a publish reaches subscribers twice: an ingest rule
// that logs into a log topic an egress rule publishes from (egress output itself is never
// logged, so this cannot loop). One line per such pair; empty when there are none.
std::vector<std::string> egress_overlaps(const ingest::ingest_rules& ingest,
                                         const ingest::egress_rules& egress);

}  // namespace sluice::broker
