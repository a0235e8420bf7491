#pragma once
// Pieces of `sluice-bench store`: each measurement is one function, run by store_command.cpp.
// Thread: the benchmark's main thread; the store runs its own writer threads.

#include <cstdint>
#include <string>

#include "store/log_config.hpp"
#include "store/record_batch.hpp"

namespace sluice::bench::store_bench {

struct timing {
    double seconds = 0;
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;  // bytes written to or read from the log (batch bytes on disk)
    double records_per_s() const {
        return seconds > 0 ? static_cast<double>(records) / seconds : 0;
    }
    double mb_per_s() const { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0; }
};

// Sequential write of `mb` MiB with write() and one fdatasync, like dd ... conv=fdatasync.
timing raw_disk_write(const std::string& dir, std::uint64_t mb);

// A batch of `records` records of `record_bytes` values (telemetry-like text, partly
// compressible), built once.
store::record_batch make_batch(std::size_t records, std::size_t record_bytes,
                               store::compression codec);

struct append_case {
    std::size_t record_bytes;
    std::size_t batch_records;
    store::compression codec;
    store::durability policy;
};

// One producer thread appending copies of one batch, up to `window` appends in flight, for
// about `seconds` or until `max_bytes`; includes the final flush under `interval`.
timing append_throughput(const std::string& dir, const append_case& c, double seconds,
                         std::uint64_t max_bytes);

struct recovery_figures {
    std::uint64_t log_bytes = 0;
    double clean_open_s = 0;
    double crash_open_s = 0;
    std::uint64_t crash_truncated = 0;
    std::uint64_t crash_checked = 0;  // bytes CRC-checked by the recovery after the kill
    timing read_copy;                 // read_copy: pread + CRC check of every batch
    timing read_ranges;               // read(): file ranges, sent with sendfile to /dev/null
};

// Writes about `bytes` of 1 KiB records, closes cleanly and reopens (clean start), reads it
// all back, then has a child process write the same amount, SIGKILLs it and reopens
// (crash recovery: every batch after the recovery point CRC-checked).
recovery_figures recovery_and_read(const std::string& dir, std::uint64_t bytes);

}  // namespace sluice::bench::store_bench
