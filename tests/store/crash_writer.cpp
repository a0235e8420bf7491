// The crash test's child: opens the store in argv[1], appends batches to topic "crash"
// partition 0 with policy `always` as fast as it can (up to 64 in flight), and writes
// "<base> <last>\n" to stdout for every acknowledged append. The parent SIGKILLs it.
// Record contents are a function of the record's offset (crash_record.hpp), so the parent
// can check every acknowledged record bit for bit.

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>

#include "store/batch_builder.hpp"
#include "store/store.hpp"
#include "tests/store/crash_record.hpp"

using namespace sluice::store;

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    store_options opts;
    opts.data_dir = argv[1];
    opts.writer_threads = 1;
    opts.maintenance_interval_ms = 0;
    opts.log = [](const std::string&) {};
    errc e = errc::ok;
    auto s = store::open(opts, e);
    if (!s) return 3;
    log_config cfg;
    cfg.flush = durability::always;
    cfg.segment_bytes = 256 * 1024;  // several rolls per run
    cfg.retention_ms = -1;
    if (s->partition_count("crash") == 0 && s->create_topic("crash", 1, cfg) != errc::ok) return 4;
    auto p = s->get("crash", 0);
    std::mt19937 rng(static_cast<unsigned>(std::stoul(argv[2])));

    std::mutex mu;
    std::condition_variable cv;
    int in_flight = 0;
    std::int64_t next = p->log_end_offset().value;
    for (;;) {
        int n = 1 + static_cast<int>(rng() % 16);
        batch_builder b(rng() % 2 ? compression::lz4 : compression::none);
        for (int i = 0; i < n; ++i) {
            auto r = sluice::store::test::crash_record(next + i);
            b.add(r.timestamp, *r.key, *r.value);
        }
        std::int64_t expected = next;
        next += n;
        {
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return in_flight < 64; });
            ++in_flight;
        }
        p->append(*b.build(), [&, expected](const append_result& r) {
            if (r.error != errc::ok || r.base_offset.value != expected) {
                std::fprintf(stderr, "append failed: %s at %lld\n", to_string(r.error),
                             static_cast<long long>(expected));
                std::_Exit(5);
            }
            char line[64];
            int len = std::snprintf(line, sizeof line, "%lld %lld\n",
                                    static_cast<long long>(r.base_offset.value),
                                    static_cast<long long>(r.last_offset.value));
            if (::write(STDOUT_FILENO, line, static_cast<std::size_t>(len)) != len) std::_Exit(6);
            std::lock_guard lock(mu);
            --in_flight;
            cv.notify_one();
        });
    }
}
