#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "kafka/error_response.hpp"
#include "store/store.hpp"

// Kafka Fetch v4-11 (docs/kafka-protocol.md, "The listener"): whole batches as stored, sent
// as segment file ranges (sendfile), per-partition and per-response byte limits, high
// watermark / last stable offset / log start offset, OFFSET_OUT_OF_RANGE, and long polling:
// a Fetch with fewer than min_bytes waits until an append to one of its partitions (the
// store's commit hook) or its max_wait_ms deadline, never by polling.
//
// Threads: the store reads (index lookups and batch header scans, which may miss the page
// cache) run on the listener's reader pool; everything else of a fetch_op runs on its
// connection's io thread (`home`). fetch_waiters is called from io threads and from store
// writer threads (commit hook); its mutex is a leaf.
namespace sluice::broker {

class fetch_op;

// The Fetches waiting for appends, by partition. A wake-up takes every waiter of the partition
// (each is woken once; it re-registers if it still has to wait).
class fetch_waiters {
  public:
    void add(const store::partition* p, std::weak_ptr<fetch_op> op);
    void remove(const store::partition* p, const fetch_op* op);
    void notify(const store::partition* p);  // any thread (store writers)
    std::size_t size() const;

  private:
    mutable std::mutex mu_;  // guards map_
    std::unordered_map<const store::partition*, std::vector<std::weak_ptr<fetch_op>>> map_;
};

// One partition of a Fetch, resolved against the store.
struct fetch_target {
    std::size_t topic = 0;  // index into the response's topics
    std::int32_t index = 0;
    std::shared_ptr<store::partition> part;  // null: unknown topic or partition
    std::int64_t fetch_offset = 0;
    std::int32_t max_bytes = 0;
};

// One read over every target: the response (records as file ranges) and what it holds.
struct fetch_pass {
    kafka::fetch_response resp;
    std::uint64_t bytes = 0;
    bool errors = false;
    std::vector<std::int64_t> high_watermarks;  // per target, as read (-1: unknown)
};

// Blocking (reader pool): reads each target in order within the per-partition and the
// response's max_bytes; the first batch of the first partition with data is returned even
// when larger (KIP-74), so a consumer always makes progress.
fetch_pass read_fetch(const std::vector<fetch_target>& targets,
                      const std::vector<std::string>& topic_names, std::int32_t max_bytes);

// A Fetch in progress. start() on the home thread; `done` is called once, on the home thread.
class fetch_op : public std::enable_shared_from_this<fetch_op> {
  public:
    using done_fn = std::function<void(kafka::fetch_response)>;
    fetch_op(boost::asio::io_context& home, boost::asio::thread_pool& readers,
             fetch_waiters& waiters, std::shared_ptr<store::store> s,
             const kafka::fetch_request& req, done_fn done);
    void start();
    // Any thread: an append made one of its partitions readable further.
    void wake();

  private:
    enum class state { reading, waiting, finished };
    void read();
    void on_read(fetch_pass pass);
    void wait();
    void stop_waiting();
    void finish(fetch_pass pass);

    boost::asio::io_context& home_;
    boost::asio::thread_pool& readers_;
    fetch_waiters& waiters_;
    std::vector<std::string> topic_names_;
    std::vector<fetch_target> targets_;
    std::int32_t max_bytes_;
    std::int32_t min_bytes_;
    std::int32_t max_wait_ms_;
    done_fn done_;
    // home thread only
    state state_ = state::reading;
    bool expired_ = false;
    bool registered_ = false;
    std::chrono::steady_clock::time_point deadline_;
    std::vector<std::int64_t> seen_hw_;  // per target, from the last read  // arrival + max_wait_ms
    std::unique_ptr<boost::asio::steady_timer> timer_;  // made when it first waits
};

}  // namespace sluice::broker
