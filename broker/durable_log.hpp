#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/config.hpp"
#include "broker/producer_ids.hpp"
#include "broker/topic_summary.hpp"
#include "ingest/ingest_rules.hpp"
#include "mqtt/reason_code.hpp"
#include "store/store.hpp"

// The commit log as the broker writes it (docs/mqtt.md, "Durable ingest"): the store opened on
// `data_dir`, every ingest rule's log topic created with its partitions and durability, the
// producer ids of sessions, and the broker-wide budget of bytes handed to the log and not yet
// written.
//
// A partition that failed a write (disk full, I/O error) refuses every later append
// (store/partition_log.hpp). The broker recovers by reopening the whole store: the first
// publish asking for a partition at least one second after a failure was reported closes the
// store and opens it again (recovery truncates the torn tail); until that succeeds, logged
// publishes are refused with a failure reason code.
//
// Threads: any. `mu_` guards the open store and its partition table; io threads take a
// reference to the table per publish. Append callbacks (store writer threads) only touch the
// atomics (report_failure, release_pending) and the partition's topic summary (its own lock).
namespace sluice::broker {

class durable_log {
  public:
    struct options {
        std::string data_dir;
        store_settings settings;
        std::shared_ptr<const ingest::ingest_rules> rules;
    };

    // Opens and recovers the store and creates missing log topics. Null with `error` set on
    // failure; `config_problem` is true when the configuration is at fault (a log topic that
    // exists with another partition count), so the caller exits 2 rather than 1.
    static std::unique_ptr<durable_log> open(options opts, std::string& error,
                                             bool& config_problem);
    ~durable_log();
    durable_log(const durable_log&) = delete;
    durable_log& operator=(const durable_log&) = delete;

    // The ingest rules in force. A reference stays valid for the log's life: replace_rules
    // keeps every rule set it ever installed (a few hundred bytes each, one per SIGHUP that
    // changed them), so a publish that matched a rule before a reload appends where that rule
    // said, and no io thread pays for reference counting per publish.
    const ingest::ingest_rules& rules() const { return *rules_.load(std::memory_order_acquire); }
    // SIGHUP (broker/config_reload.hpp): creates the log topics `fresh` writes that do not
    // exist yet, then swaps the rule set in for new publishes. False with `error` (nothing
    // swapped) when the log is not open or a log topic exists with another partition count.
    bool replace_rules(std::shared_ptr<const ingest::ingest_rules> fresh, std::string& error);

    // The partition `index` of the log topic of `rule` (one of rules().rules()) and its topic
    // summary, which the ingest adds every record it appends there to; nulls while the log is
    // failed and could not be reopened yet.
    struct log_target {
        std::shared_ptr<store::partition> partition;
        std::shared_ptr<topic_summary> summary;
    };
    // `with_summary` false: the summary is left null (no reference taken: a QoS 0 publish,
    // which the summaries leave out, pays nothing for them).
    log_target target(const ingest::ingest_rule& rule, int index, bool with_summary = true);
    std::shared_ptr<store::partition> partition(const ingest::ingest_rule& rule, int index) {
        return target(rule, index, false).partition;
    }
    // The topic summary of `p`, a partition of the open store that a rule logs to; null for
    // any other (an internal topic, a partition object of the store before a reopen).
    std::shared_ptr<const topic_summary> summary_of(const store::partition* p);
    // The open store, for everything beyond the ingest rules' partitions (the Kafka listener,
    // internal topics); null while the log is failed and could not be reopened yet. The
    // pointer keeps that store object alive; after a reopen a new call returns the new one.
    std::shared_ptr<store::store> store_handle();
    // A producer id never used before; nullopt while the log is failed.
    std::optional<std::int64_t> next_producer_id();

    // An append completed with `e`: an I/O error marks the log failed (reopened later).
    void report_result(store::errc e);
    bool failed() const { return failed_.load(std::memory_order_relaxed); }

    // Bytes handed to the log and not written yet, all connections together.
    void add_pending(std::uint64_t bytes) { pending_.fetch_add(bytes, std::memory_order_relaxed); }
    void release_pending(std::uint64_t bytes) {
        pending_.fetch_sub(bytes, std::memory_order_relaxed);
    }
    bool over_budget() const {
        return pending_.load(std::memory_order_relaxed) > opts_.settings.pending_bytes_budget;
    }
    std::uint64_t pending_bytes() const { return pending_.load(std::memory_order_relaxed); }

    // Finishes queued appends and closes the store cleanly (clean-shutdown markers). Later
    // appends complete with errc::closed.
    void close();

  private:
    // The topic summaries of one open store's partitions, one per partition object, made by
    // the first lookup of any path that appends ingest records there, so no such append
    // misses it. An entry knows its partition weakly: once that object is gone (its topic
    // deleted) the entry is stale, so a partition made later at the same address gets a
    // summary of its own, and a deleted topic's files are not held open.
    class summary_registry {
      public:
        std::shared_ptr<topic_summary> get_or_make(const std::shared_ptr<store::partition>& p);
        std::shared_ptr<topic_summary> find(const store::partition* p) const;

      private:
        struct entry {
            std::weak_ptr<store::partition> partition;
            std::shared_ptr<topic_summary> summary;
        };
        mutable std::mutex mu_;
        std::unordered_map<const store::partition*, entry> by_partition_;
    };
    // Immutable once published in current_; a rule reload publishes a copy with a new table
    // (sharing the store and the producer ids).
    struct open_store {
        std::shared_ptr<store::store> s;
        const ingest::ingest_rules* rules_of = nullptr;  // the rule set by_rule was made for
        std::vector<std::vector<log_target>> by_rule;  // per rule index
        std::shared_ptr<producer_ids> ids;
        std::shared_ptr<summary_registry> summaries;  // shared by the copies a reload makes
    };
    // The log topics of the current rules created (checked) in `s`; empty on success.
    std::string ensure_log_topics(store::store& s, const ingest::ingest_rules& rules,
                                  bool& config_problem);
    static std::vector<std::vector<log_target>> rule_table(open_store& st,
                                                           const ingest::ingest_rules& rules);
    explicit durable_log(options opts);
    // Opens the store and fills the table; null with `error` on failure.
    std::shared_ptr<open_store> open_store_locked(std::string& error, bool& config_problem);
    std::shared_ptr<open_store> current();  // reopens after a failure when it is time

    options opts_;
    std::atomic<const ingest::ingest_rules*> rules_;  // the last of rule_sets_
    std::mutex mu_;  // guards current_, last_attempt_, closed_, rule_sets_
    std::vector<std::shared_ptr<const ingest::ingest_rules>> rule_sets_;
    std::shared_ptr<open_store> current_;
    std::chrono::steady_clock::time_point last_attempt_{};
    bool closed_ = false;
    std::atomic<bool> failed_{false};
    std::atomic<std::uint64_t> pending_{0};
};

// The MQTT reason code for an append that failed with `e`: 0x97 (quota exceeded) for a
// record over the topic's batch limit, 0x80 (unspecified error) for everything else.
mqtt::reason_code failure_reason(store::errc e);

}  // namespace sluice::broker
