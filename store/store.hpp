#pragma once
// The store: a data folder of topics, each with a fixed number of partitions.
//
//   <data>/store.format              "sluice-store-format 1"
//   <data>/<topic>/topic.conf        log_config + "partitions N" (log_config.hpp)
//   <data>/<topic>/<n>/              one partition (partition_log.hpp)
//   <data>/<topic>~<n>.deleted/      a topic being deleted (delete_topic); `~` is not allowed
//                                    in topic names, so the name never collides with a topic
//
// A background thread enforces retention and compacts keyed topics every
// maintenance_interval; run_maintenance() does the same on demand.
// Thread: every member may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/partition.hpp"

namespace sluice::store {

struct store_options {
    std::string data_dir = "data";
    std::size_t writer_threads = 2;
    // fdatasyncs a writer thread runs at once at the end of a round (writer_pool.hpp).
    std::size_t parallel_syncs = 1;
    // The shortest time between the starts of a writer thread's sync rounds (writer_pool.hpp).
    std::chrono::microseconds sync_round_gap{0};
    std::int64_t maintenance_interval_ms = 60'000;  // 0: no background thread
    clock_fn clock;                                 // default: the system clock
    std::function<void(const std::string&)> log;    // recovery reports; default: stderr
};

struct maintenance_stats {
    std::size_t segments_deleted = 0;
    std::size_t records_compacted = 0;
    std::size_t errors = 0;
};

class store {
  public:
    static std::unique_ptr<store> open(store_options options, errc& error);
    ~store();
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    errc create_topic(const std::string& name, int partitions, const log_config& config);
    // Deletes a topic and its data: the partitions are closed (queued appends finish, later
    // ones complete with errc::closed), the folder is renamed to a `*.deleted` name and the
    // data folder synced (from then on a crash never brings the topic back: open() finishes
    // the removal), then removed. Readers holding a partition or segment keep their open
    // files until they let go. A topic created again under the name starts empty at offset 0.
    // errc::unknown_topic when there is no such topic.
    errc delete_topic(const std::string& name);
    std::shared_ptr<partition> get(const std::string& topic, int index) const;
    int partition_count(const std::string& topic) const;  // 0 when unknown
    std::optional<log_config> topic_config(const std::string& topic) const;
    std::vector<std::string> topics() const;

    maintenance_stats run_maintenance(std::int64_t now_ms);
    std::int64_t now_ms() const { return options_.clock(); }
    // Clean shutdown of every partition; the store is unusable afterwards.
    errc close();

    static bool valid_topic_name(const std::string& name);
    // The folder name a deleted topic is renamed to before removal (see delete_topic).
    static std::string deleted_dir_name(const std::string& topic, std::uint64_t sequence);

    // Called on writer threads whenever appended records of any partition become readable
    // (commit_hook in partition.hpp); replaces the previous observer of `owner` (null fn:
    // removes it). The one-argument form is the observer of no particular owner. Any thread.
    void set_commit_observer(const void* owner, commit_hook::observer fn) {
        hook_->set(owner, std::move(fn));
    }
    void set_commit_observer(commit_hook::observer fn) { hook_->set(nullptr, std::move(fn)); }

  private:
    explicit store(store_options options);
    errc load();
    errc open_topic(const std::string& name);
    void maintenance_loop();
    void remove_deleted_dir(const std::string& name);

    store_options options_;
    std::unique_ptr<writer_pool> pool_;
    std::shared_ptr<commit_hook> hook_ = std::make_shared<commit_hook>();  // every partition's

    // Serialises create_topic and delete_topic (the folder of a name is created, renamed and
    // removed under it); taken before mu_.
    std::mutex admin_mu_;
    mutable std::mutex mu_;  // guards topics_, closed_ and deleted_sequence_
    struct topic {
        log_config config;
        std::vector<std::shared_ptr<partition>> partitions;
    };
    std::map<std::string, topic> topics_;
    bool closed_ = false;
    std::uint64_t deleted_sequence_ = 0;

    std::mutex maintenance_mu_;  // serialises maintenance runs; guards stop_
    std::condition_variable maintenance_cv_;
    bool stop_ = false;
    std::thread maintenance_;
};

}  // namespace sluice::store
