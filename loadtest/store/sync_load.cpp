// `sluice-bench sync-load`: another process's fdatasyncs, at a set rate, on the disk the
// broker writes to. It answers "what does a sync per round cost the machine", apart from the
// broker: run beside a broker that writes nothing (loadtest/compare --sync-load-us) it shows
// how much of a latency tail the disk's syncs cause on their own (docs/benchmarks.md).
//   sluice-bench sync-load [--dir DIR] [--interval-us N] [--duration S] [--bytes B]
// Appends B bytes and calls fdatasync, one sync every N us (0: back to back), until S seconds
// have passed or SIGTERM/SIGINT arrives; then prints the syncs made, their rate and latency,
// and one JSON line. The file lives in DIR (default: the working directory) and is removed.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "loadtest/command.hpp"

namespace sluice::bench::sync_load {
namespace {

std::atomic<bool> stop_requested{false};

void on_signal(int) {
    stop_requested.store(true);
}

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: sluice-bench sync-load [--dir DIR] [--interval-us N] [--duration S] "
                 "[--bytes B]\n"
                 "  --dir DIR         where the scratch file goes (default: .), the disk under test\n"
                 "  --interval-us N   one fdatasync every N microseconds (default 1000; 0: back "
                 "to back)\n"
                 "  --duration S      seconds to run (default 10; SIGTERM ends it sooner)\n"
                 "  --bytes B         bytes appended before each sync (default 300)\n");
}

double percentile(std::vector<double>& v, double q) {
    if (v.empty()) return 0;
    auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

int run(int argc, char** argv) {
    std::string dir = ".";
    long interval_us = 1000;
    double duration = 10;
    long bytes = 300;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--help" || a == "-h") {
            usage(stdout);
            return 0;
        } else if (a == "--dir" && has_value) {
            dir = argv[++i];
        } else if (a == "--interval-us" && has_value) {
            interval_us = std::atol(argv[++i]);
        } else if (a == "--duration" && has_value) {
            duration = std::atof(argv[++i]);
        } else if (a == "--bytes" && has_value) {
            bytes = std::atol(argv[++i]);
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (interval_us < 0 || duration <= 0 || bytes <= 0 || bytes > (1 << 20)) {
        std::fprintf(stderr, "sync-load: --interval-us must be >= 0, --duration > 0, --bytes 1..1048576\n");
        return 2;
    }
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);

    const std::string path = dir + "/sync-load-" + std::to_string(::getpid()) + ".dat";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::perror(("sync-load: " + path).c_str());
        return 1;
    }
    const std::vector<char> block(static_cast<std::size_t>(bytes), 'x');
    std::vector<double> latency_us;
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto end = start + std::chrono::duration_cast<clock::duration>(
                                 std::chrono::duration<double>(duration));
    const auto interval = std::chrono::microseconds(interval_us);
    auto next = start;
    int error = 0;
    // Like a log: the file grows, so every sync also commits a new size. Restart it at 64 MiB
    // so a long run does not fill the disk.
    std::size_t written = 0;
    while (!stop_requested.load() && clock::now() < end) {
        if (interval_us > 0) {
            // A fixed schedule: a slow sync is followed at once by the next, as a writer with
            // appends waiting would do.
            next += interval;
            std::this_thread::sleep_until(next);
        }
        if (written >= (64u << 20)) {
            if (::ftruncate(fd, 0) != 0) error = errno;
            written = 0;
        }
        if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) {
            error = errno;
            break;
        }
        written += block.size();
        const auto t0 = clock::now();
        if (::fdatasync(fd) != 0) {
            error = errno;
            break;
        }
        latency_us.push_back(std::chrono::duration<double, std::micro>(clock::now() - t0).count());
    }
    const double seconds = std::chrono::duration<double>(clock::now() - start).count();
    ::close(fd);
    ::unlink(path.c_str());
    if (error != 0) {
        std::fprintf(stderr, "sync-load: %s: %s\n", path.c_str(), std::strerror(error));
        return 1;
    }
    const std::size_t n = latency_us.size();
    double mean = 0;
    for (double v : latency_us) mean += v;
    mean = n ? mean / static_cast<double>(n) : 0;
    const double p50 = percentile(latency_us, 0.50);
    const double p99 = percentile(latency_us, 0.99);
    const double max = n ? *std::max_element(latency_us.begin(), latency_us.end()) : 0;
    std::printf("sync-load: %zu fdatasyncs of %ld-byte appends in %.2f s (%.0f/s); "
                "fdatasync us mean %.0f p50 %.0f p99 %.0f max %.0f\n",
                n, bytes, seconds, n / seconds, mean, p50, p99, max);
    std::printf("{\"tool\":\"sluice-bench sync-load\",\"interval_us\":%ld,\"bytes\":%ld,"
                "\"syncs\":%zu,\"seconds\":%.3f,\"syncs_per_s\":%.1f,\"fdatasync_us\":{\"mean\":%.1f,"
                "\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}}\n",
                interval_us, bytes, n, seconds, n / seconds, mean, p50, p99, max);
    return 0;
}

}  // namespace

const bool registered = sluice::bench::register_command(
    {"sync-load", "fdatasyncs at a set rate beside a broker (what the disk's syncs cost)", &run});

}  // namespace sluice::bench::sync_load
