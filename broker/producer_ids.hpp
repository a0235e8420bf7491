#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "store/store.hpp"

// Producer ids for MQTT sessions (each session is an idempotent producer, docs/mqtt.md,
// "Durable ingest"), never reused across restarts: ids are handed out from a block whose end
// is first recorded, durably, in the internal topic `__producer_ids` (1 partition, compacted,
// durability always; one record keyed "limit" whose value is the decimal end of the block).
// A restart, even after SIGKILL, starts after the last recorded end, so a producer id the log
// has seen is never handed out again; an unused rest of a block is skipped.
// Threads: any; `mu_` guards the counters (a new block is recorded, fsync included, by the
// caller that finds the block spent: once per `block_size` sessions).
namespace sluice::broker {

class producer_ids {
  public:
    static constexpr const char* topic = "__producer_ids";
    static constexpr std::int64_t block_size = 65536;

    // Creates the topic if needed, reads the last recorded limit and records a new block.
    // Null with `error` set when the store refuses.
    static std::unique_ptr<producer_ids> open(store::store& s, std::string& error);

    // The next unused id; nullopt when a new block could not be recorded (disk trouble).
    std::optional<std::int64_t> next();

  private:
    explicit producer_ids(std::shared_ptr<store::partition> p) : partition_(std::move(p)) {}
    bool reserve_locked(std::int64_t from);  // records from + block_size as the limit

    std::shared_ptr<store::partition> partition_;
    std::mutex mu_;
    std::int64_t next_ = 0;
    std::int64_t limit_ = 0;  // ids below it are recorded as used
};

}  // namespace sluice::broker
