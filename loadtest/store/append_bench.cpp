#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>

#include "loadtest/store/store_bench.hpp"
#include "store/batch_builder.hpp"
#include "store/store.hpp"

namespace sluice::bench::store_bench {

store::record_batch make_batch(std::size_t records, std::size_t record_bytes,
                               store::compression codec) {
    std::mt19937 rng(1);
    store::batch_builder b(codec);
    for (std::size_t i = 0; i < records; ++i) {
        // Device telemetry: repeated field names, varying numbers, random padding.
        std::string v = "{\"device\":\"dev-" + std::to_string(rng() % 10000) +
                        "\",\"seq\":" + std::to_string(i) +
                        ",\"temp\":" + std::to_string(rng() % 400) + ",\"data\":\"";
        while (v.size() + 2 < record_bytes) v.push_back(static_cast<char>('a' + rng() % 26));
        v += "\"}";
        v.resize(record_bytes);
        b.add(1'700'000'000'000 + static_cast<std::int64_t>(i), std::nullopt, v);
    }
    return *b.build();
}

timing append_throughput(const std::string& dir, const append_case& c, double seconds,
                         std::uint64_t max_bytes) {
    timing t;
    std::string data = dir + "/append";
    std::filesystem::remove_all(data);
    {
        store::store_options opts;
        opts.data_dir = data;
        opts.writer_threads = 1;
        opts.maintenance_interval_ms = 0;
        store::errc e = store::errc::ok;
        auto s = store::store::open(opts, e);
        if (!s) return t;
        store::log_config cfg;
        cfg.flush = c.policy;
        cfg.flush_interval_ms = 200;
        cfg.retention_ms = -1;
        cfg.max_batch_bytes = 64u << 20;
        if (s->create_topic("bench", 1, cfg) != store::errc::ok) return t;
        auto p = s->get("bench", 0);
        auto batch = make_batch(c.batch_records, c.record_bytes, c.codec);
        const std::size_t batch_bytes = batch.size();
        // Bound the bytes in flight (as a broker bounds its queues), and the count.
        const std::size_t window =
            std::max<std::size_t>(1, std::min<std::size_t>(1024, (64u << 20) / batch_bytes));

        std::mutex mu;
        std::condition_variable cv;
        std::size_t in_flight = 0;
        std::uint64_t completed = 0;
        bool failed = false;
        auto start = std::chrono::steady_clock::now();
        auto deadline = start + std::chrono::duration<double>(seconds);
        std::uint64_t sent = 0;
        while (std::chrono::steady_clock::now() < deadline && sent * batch_bytes < max_bytes) {
            for (int k = 0; k < 64; ++k) {  // check the clock once per 64 appends
                {
                    std::unique_lock lock(mu);
                    cv.wait(lock, [&] { return in_flight < window; });
                    ++in_flight;
                }
                ++sent;
                p->append(batch, [&](const store::append_result& r) {
                    std::lock_guard lock(mu);
                    if (r.error != store::errc::ok) failed = true;
                    --in_flight;
                    ++completed;
                    cv.notify_one();
                });
            }
        }
        {
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return in_flight == 0; });
        }
        if (c.policy == store::durability::interval) p->flush().get();
        t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (failed) t.seconds = 0;
        t.records = completed * c.batch_records;
        t.bytes = completed * batch_bytes;
        s->close();
    }
    std::filesystem::remove_all(data);
    return t;
}

}  // namespace sluice::bench::store_bench
