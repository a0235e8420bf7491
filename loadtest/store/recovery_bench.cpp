#include <fcntl.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "loadtest/store/store_bench.hpp"
#include "store/store.hpp"

namespace sluice::bench::store_bench {
namespace {

using clock_type = std::chrono::steady_clock;

double since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::unique_ptr<store::store> open_store(const std::string& data) {
    store::store_options opts;
    opts.data_dir = data;
    opts.writer_threads = 1;
    opts.maintenance_interval_ms = 0;
    opts.log = [](const std::string&) {};
    store::errc e = store::errc::ok;
    return store::store::open(opts, e);
}

// Appends ~bytes of 1 KiB records in batches of 1024 (policy never: the kill test wants a
// page-cache tail, like a crash between fsyncs).
bool fill(store::store& s, std::uint64_t bytes) {
    store::log_config cfg;
    cfg.flush = store::durability::never;
    cfg.retention_ms = -1;
    cfg.max_batch_bytes = 64u << 20;
    // One segment holds it all, so a crash leaves all of it after the recovery point: the
    // worst case, where every byte is CRC-checked.
    cfg.segment_bytes = 4000ull << 20;
    if (s.partition_count("recovery") == 0 && s.create_topic("recovery", 1, cfg) != store::errc::ok)
        return false;
    auto p = s.get("recovery", 0);
    auto batch = make_batch(1024, 1024, store::compression::none);
    std::uint64_t written = 0;
    std::vector<std::future<store::append_result>> pending;
    while (written < bytes) {
        pending.push_back(p->append(batch));
        written += batch.size();
        if (pending.size() >= 32) {
            for (auto& f : pending)
                if (f.get().error != store::errc::ok) return false;
            pending.clear();
        }
    }
    for (auto& f : pending)
        if (f.get().error != store::errc::ok) return false;
    return true;
}

}  // namespace

recovery_figures recovery_and_read(const std::string& dir, std::uint64_t bytes) {
    recovery_figures out;
    const std::string clean_dir = dir + "/clean";
    std::filesystem::remove_all(clean_dir);
    {
        auto s = open_store(clean_dir);
        if (!s || !fill(*s, bytes)) return out;
        out.log_bytes = 0;
        for (const auto& seg : s->get("recovery", 0)->segments()) out.log_bytes += seg->size();
        s->close();
    }
    {
        auto start = clock_type::now();
        auto s = open_store(clean_dir);
        auto p = s ? s->get("recovery", 0) : nullptr;
        out.clean_open_s = since(start);
        if (!p) return out;

        // Read it all back: copied and CRC-checked ...
        start = clock_type::now();
        store::offset at{0};
        store::byte_buffer buf;
        while (at < p->high_watermark()) {
            store::offset next;
            if (p->read_copy(at, 4u << 20, buf, next) != store::errc::ok) break;
            out.read_copy.bytes += buf.size();
            at = next;
        }
        out.read_copy.records = static_cast<std::uint64_t>(at.value);
        out.read_copy.seconds = since(start);
        // ... and as file ranges sent with sendfile, as a Kafka Fetch would.
        int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        start = clock_type::now();
        at = store::offset{0};
        while (null_fd >= 0 && at < p->high_watermark()) {
            auto r = p->read(at, 4u << 20);
            if (r.error != store::errc::ok || r.ranges.empty()) break;
            for (const auto& range : r.ranges) {
                off_t pos = static_cast<off_t>(range.position);
                std::uint64_t left = range.length;
                while (left > 0) {
                    ssize_t n = ::sendfile(null_fd, range.fd(), &pos, left);
                    if (n <= 0) break;
                    left -= static_cast<std::uint64_t>(n);
                }
            }
            out.read_ranges.bytes += r.bytes;
            at = r.next_offset;
        }
        out.read_ranges.records = static_cast<std::uint64_t>(at.value);
        out.read_ranges.seconds = since(start);
        if (null_fd >= 0) ::close(null_fd);
        s->close();
    }
    std::filesystem::remove_all(clean_dir);

    // After a kill: a child writes the log and is SIGKILLed once it has written it all.
    const std::string crash_dir = dir + "/crash";
    std::filesystem::remove_all(crash_dir);
    int fds[2];
    if (::pipe(fds) != 0) return out;
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        auto s = open_store(crash_dir);
        bool ok = s && fill(*s, bytes);
        char c = ok ? 'y' : 'n';
        if (::write(fds[1], &c, 1) != 1) ::_exit(1);
        for (;;) ::pause();  // wait for the kill
    }
    ::close(fds[1]);
    char c = 'n';
    bool ok = ::read(fds[0], &c, 1) == 1 && c == 'y';
    ::close(fds[0]);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    if (ok) {
        auto start = clock_type::now();
        auto s = open_store(crash_dir);
        auto p = s ? s->get("recovery", 0) : nullptr;
        out.crash_open_s = since(start);
        if (p) {
            out.crash_truncated = p->recovery().bytes_truncated;
            out.crash_checked = p->recovery().bytes_checked;
        }
        if (s) s->close();
    }
    std::filesystem::remove_all(crash_dir);
    return out;
}

}  // namespace sluice::bench::store_bench
