#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "broker/backlog_replay.hpp"
#include "store/partition.hpp"

// The stretches of logged partitions the backlog reader has read and decoded lately, so that
// sessions catching up on the same partition share one read (docs/offline-backlog-design.md,
// "Shared reads"). A session whose cursor lies in a chunk is served from it; a cursor no chunk
// covers makes a read, which starts at the lowest cursor the pass expects in the same gap
// (so the sessions behind it are covered too). A cursor far behind the others gets a read of
// its own in the same pass: nobody waits for anybody.
//
// Chunks stay across passes (sessions waiting for their refill's durability come back a
// little later to the chunk the others used) within a memory budget, least recently used
// out first; clear() drops them all (the reader is idle).
//
// Thread: the backlog reader's only.
namespace sluice::broker {

class backlog_chunks {
  public:
    // `chunk_bytes`: log bytes per read; `budget_bytes`: about what the kept chunks may hold.
    backlog_chunks(std::uint64_t chunk_bytes, std::uint64_t budget_bytes);

    // A cursor a session of this pass will read from on `p` (a hint for where reads start).
    void expect(const std::shared_ptr<store::partition>& p, std::int64_t cursor);
    // The chunk that covers `at` on `p` (at or above its log start, below `until`), read now
    // if none does; null with `error` set when the read failed. `until`: the high watermark.
    std::shared_ptr<const backlog_chunk> find(const std::shared_ptr<store::partition>& p,
                                              std::int64_t at, std::int64_t until,
                                              std::int64_t now_ms, store::errc& error);
    // The kept chunk that covers `at` on `p`, without reading; null if none.
    std::shared_ptr<const backlog_chunk> kept_at(const store::partition* p, std::int64_t at);
    // Whether chunks are kept after their read (false: each serves the pass that read it and
    // goes; the kept ones go now). Keeping costs heap for nobody when one session reads.
    void keep(bool on);
    // The pass is over: its expected cursors are forgotten (the chunks stay).
    void end_pass();
    void clear();

    // Since construction: reads made, log bytes read, records decoded.
    std::uint64_t reads() const { return reads_; }
    std::uint64_t bytes_read() const { return bytes_read_; }
    std::uint64_t records_decoded() const { return records_decoded_; }
    // Records read and skipped: not written by the broker's MQTT ingest (a Kafka producer's).
    std::uint64_t records_not_ingested() const { return records_not_ingested_; }
    std::size_t chunks_kept() const;

  private:
    struct kept {
        std::shared_ptr<const backlog_chunk> chunk;
        std::uint64_t cost = 0;     // what it holds, about (log bytes plus per record)
        std::uint64_t used_at = 0;  // use tick, for least recently used
    };
    struct of_partition {
        std::shared_ptr<store::partition> p;  // kept alive: its address is the key
        std::vector<kept> chunks;
        std::vector<std::int64_t> expected;
    };
    void evict(const backlog_chunk* keep);

    const std::uint64_t chunk_bytes_;
    const std::uint64_t budget_bytes_;
    std::map<const store::partition*, of_partition> parts_;
    store::byte_buffer scratch_;  // every read's log bytes (one buffer, reused)
    std::uint64_t held_ = 0;      // sum of the kept chunks' cost
    bool keep_ = true;
    std::uint64_t tick_ = 0;
    std::uint64_t reads_ = 0;
    std::uint64_t bytes_read_ = 0;
    std::uint64_t records_decoded_ = 0;
    std::uint64_t records_not_ingested_ = 0;
};

}  // namespace sluice::broker
