// `sluice-bench store`: the store's throughput and recovery figures (docs/benchmarks.md).
//   sluice-bench store [--dir DIR] [--seconds S] [--raw-mb N] [--recovery-mb N] [--quick]
// Prints Markdown tables. Everything it writes goes under DIR (default: a new folder in
// /tmp), which is removed at the end.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "loadtest/command.hpp"
#include "loadtest/store/store_bench.hpp"
#include "store/crc32c.hpp"

namespace sluice::bench::store_bench {
namespace {

void usage(FILE* out) {
    std::fprintf(
        out,
        "usage: sluice-bench store [--dir DIR] [--seconds S] [--raw-mb N] [--recovery-mb N] "
        "[--quick]\n"
        "  --dir DIR         scratch folder (default: a new folder under /tmp; removed at the "
        "end)\n"
        "  --seconds S       duration of each append case (default 2)\n"
        "  --raw-mb N        size of the raw disk write test and of the same-volume append test (default "
                 "4096)\n"
        "  --recovery-mb N   size of the log for the recovery and read tests (default 1024)\n"
        "  --quick           short run: 0.3 s cases, 256 MiB raw test, 128 MiB log\n");
}

const char* policy_name(store::durability d) {
    return store::to_string(d);
}

int run(int argc, char** argv) {
    std::string dir;
    double seconds = 2;
    std::uint64_t raw_mb = 4096;
    std::uint64_t recovery_mb = 1024;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        if (a == "--help" || a == "-h") {
            usage(stdout);
            return 0;
        } else if (a == "--quick") {
            seconds = 0.3;
            raw_mb = 256;
            recovery_mb = 128;
        } else if (a == "--dir" && i + 1 < argc) {
            dir = value();
        } else if (a == "--seconds" && i + 1 < argc) {
            seconds = std::atof(value());
        } else if (a == "--raw-mb" && i + 1 < argc) {
            raw_mb = std::strtoull(value(), nullptr, 10);
        } else if (a == "--recovery-mb" && i + 1 < argc) {
            recovery_mb = std::strtoull(value(), nullptr, 10);
        } else {
            usage(stderr);
            return 2;
        }
    }
    bool own_dir = dir.empty();
    if (own_dir) {
        char pattern[] = "/tmp/sluice-bench-store-XXXXXX";
        if (!::mkdtemp(pattern)) {
            std::perror("mkdtemp");
            return 1;
        }
        dir = pattern;
    } else {
        dir += "/sluice-bench-store";
        std::filesystem::create_directories(dir);
    }

    std::printf(
        "# sluice-bench store\n\nCRC-32C: %s. Scratch folder on the same disk as the log.\n\n",
        store::crc32c_hardware_available() ? "SSE4.2 instruction" : "table");

    auto raw = raw_disk_write(dir, raw_mb);
    std::printf(
        "## Raw disk\n\nSequential write, 1 MiB blocks, one fdatasync (like dd conv=fdatasync): "
        "%llu MiB in %.2f s = **%.0f MB/s**\n\n",
        static_cast<unsigned long long>(raw_mb), raw.seconds, raw.mb_per_s());
    std::fflush(stdout);

    std::printf("## Append (one writer thread, one producer thread; %.1f s per case)\n\n", seconds);
    std::printf("| record | batch | LZ4 | policy | records/s | MB/s on disk | vs raw disk |\n");
    std::printf("| ---: | ---: | --- | --- | ---: | ---: | ---: |\n");
    for (std::size_t record_bytes : {std::size_t{100}, std::size_t{1024}})
        for (std::size_t batch : {std::size_t{1}, std::size_t{64}, std::size_t{1024}})
            for (auto codec : {store::compression::none, store::compression::lz4})
                for (auto policy : {store::durability::always, store::durability::interval,
                                    store::durability::never}) {
                    append_case c{record_bytes, batch, codec, policy};
                    auto t = append_throughput(dir, c, seconds, 8ull << 30);
                    std::printf("| %zu B | %zu | %s | %s | %.0f | %.1f | %.0f%% |\n", record_bytes,
                                batch, codec == store::compression::lz4 ? "on" : "off",
                                policy_name(policy), t.records_per_s(), t.mb_per_s(),
                                raw.mb_per_s() > 0 ? 100 * t.mb_per_s() / raw.mb_per_s() : 0);
                    std::fflush(stdout);
                }

    // The same volume as the raw test, so neither gets more help from caches than the other:
    // the target case (1 KiB records, large batches, policy interval).
    append_case sustained{1024, 1024, store::compression::none, store::durability::interval};
    auto same = append_throughput(dir, sustained, 1e9, raw_mb << 20);
    std::printf("\n## Same volume as the raw disk test\n\n1 KiB records, batches of 1024, no LZ4, policy interval: "
                "%.0f MB in %.2f s = **%.0f MB/s**, %.0f%% of the raw disk figure (%.0f MB/s).\n",
                static_cast<double>(same.bytes) / 1e6, same.seconds, same.mb_per_s(),
                raw.mb_per_s() > 0 ? 100 * same.mb_per_s() / raw.mb_per_s() : 0, raw.mb_per_s());
    std::fflush(stdout);

    auto rec = recovery_and_read(dir, recovery_mb << 20);
    std::printf(
        "\n## Read and recovery (%.0f MB log of 1 KiB records in batches of 1024, page cache "
        "warm)\n\n",
        static_cast<double>(rec.log_bytes) / 1e6);
    std::printf("| measurement | result |\n| --- | ---: |\n");
    std::printf("| read, copied and CRC-checked (read_copy) | %.0f records/s, %.0f MB/s |\n",
                rec.read_copy.records_per_s(), rec.read_copy.mb_per_s());
    std::printf("| read as file ranges + sendfile to /dev/null | %.0f records/s, %.0f MB/s |\n",
                rec.read_ranges.records_per_s(), rec.read_ranges.mb_per_s());
    std::printf("| open after a clean stop | %.3f s |\n", rec.clean_open_s);
    std::printf(
        "| open after SIGKILL (CRC check from the recovery point) | %.3f s (%.0f MB CRC-checked, "
        "%llu bytes "
        "truncated) |\n",
        rec.crash_open_s, static_cast<double>(rec.crash_checked) / 1e6,
        static_cast<unsigned long long>(rec.crash_truncated));

    // The disk is shared and its speed drifts: measure it again and compare with the faster.
    auto raw_end = raw_disk_write(dir, raw_mb);
    std::printf("\nRaw disk again at the end: %.0f MB/s (start: %.0f MB/s).\n", raw_end.mb_per_s(),
                raw.mb_per_s());

    std::filesystem::remove_all(dir);
    return 0;
}

}  // namespace

const bool registered = sluice::bench::register_command(
    {"store", "store append/read throughput and recovery time", &run});

}  // namespace sluice::bench::store_bench
