// The crash test: a child process (store_crash_writer) appends with policy `always` and
// reports every acknowledged offset on a pipe; it is SIGKILLed at a random moment; the log is
// reopened and checked. Rounds: SLUICE_STORE_CRASH_ROUNDS (default 30); the soak run sets it
// high (see store/README.md).

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>

#include "store/file_util.hpp"
#include "store/store.hpp"
#include "tests/store/crash_record.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice::store;
using namespace sluice::store::test;
namespace fs = std::filesystem;

namespace {

struct child_run {
    std::vector<std::pair<std::int64_t, std::int64_t>> acks;
    bool killed = false;
    std::string failure;
};

child_run run_child(const std::string& data, unsigned seed,
                    std::chrono::milliseconds alive_after_first_ack) {
    child_run out;
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::close(fds[0]);
        ::close(fds[1]);
        std::string s = std::to_string(seed);
        ::execl(STORE_CRASH_WRITER, STORE_CRASH_WRITER, data.c_str(), s.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(fds[1]);
    std::string text;
    char buf[4096];
    using clock = std::chrono::steady_clock;
    auto deadline = clock::now() + std::chrono::seconds(60);  // first ack (slow under sanitizers)
    bool first = false;
    bool eof = false;
    while (!eof) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
        if (left <= 0 && !out.killed) {
            ::kill(pid, SIGKILL);  // the random moment (or the deadline when nothing came)
            out.killed = true;
        }
        pollfd pfd{fds[0], POLLIN, 0};
        int r =
            ::poll(&pfd, 1, out.killed ? 10000 : static_cast<int>(std::max<long long>(left, 1)));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
            if (out.killed) break;  // killed and silent: done
            continue;
        }
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) {
            eof = true;
            break;
        }
        text.append(buf, static_cast<std::size_t>(n));
        if (!first && text.find('\n') != std::string::npos) {
            first = true;
            deadline = clock::now() + alive_after_first_ack;
        }
    }
    ::close(fds[0]);
    if (!out.killed) ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
        out.failure = "child ended on its own, status " + std::to_string(status);
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (in.eof()) break;  // a line cut by the kill has no newline: not an ack we can trust
        std::istringstream l(line);
        std::int64_t a = 0;
        std::int64_t b = 0;
        if (l >> a >> b) out.acks.emplace_back(a, b);
    }
    return out;
}

std::string last_segment(const std::string& dir) {
    std::string best;
    for (const auto& e : fs::directory_iterator(dir)) {
        auto name = e.path().filename().string();
        if (name.size() == 24 && name.ends_with(".log") && name > best) best = name;
    }
    return best.empty() ? best : dir + "/" + best;
}

// Appends the first bytes of the file's last batch again: a write torn by the crash.
// Returns false when the file holds no batch to copy (a segment just rolled).
bool tear_tail(const std::string& path, std::mt19937& rng) {
    unique_fd fd(::open(path.c_str(), O_RDWR));
    REQUIRE(fd);
    auto size = static_cast<std::uint64_t>(*file_size(fd.get()));
    std::uint64_t pos = 0;
    std::uint64_t last = 0;
    std::uint64_t last_size = 0;
    byte_buffer head(61);
    while (pos + 61 <= size) {
        REQUIRE(pread_full(fd.get(), head.data(), 61, static_cast<off_t>(pos)) == 61);
        auto h = parse_batch_header(head.data(), 61);
        if (!h || pos + h->size_bytes() > size) break;
        last = pos;
        last_size = h->size_bytes();
        pos += h->size_bytes();
    }
    if (last_size < 2) return false;
    byte_buffer copy(last_size);
    REQUIRE(pread_full(fd.get(), copy.data(), copy.size(), static_cast<off_t>(last)) ==
            static_cast<ssize_t>(copy.size()));
    // A torn write that left only zeros (the batch starts with its base offset, whose high
    // bytes are zero) is the zeroed tail to recovery, rightly not damage: keep at least the
    // first non-zero byte, so that recovery has something to cut.
    std::uint64_t first_nonzero = 0;
    while (first_nonzero < last_size && copy[first_nonzero] == 0) ++first_nonzero;
    if (first_nonzero + 1 >= last_size) return false;
    copy.resize(first_nonzero + 1 + rng() % (last_size - 1 - first_nonzero));
    // Torn right after the last whole batch: where the next write would have gone, over the
    // zeros the writer keeps ahead of the end under `always` (segment::zero_ahead).
    REQUIRE(pwrite_all(fd.get(), copy.data(), copy.size(), static_cast<off_t>(pos)));
    return true;
}

}  // namespace

TEST_CASE("crash: acknowledged appends survive SIGKILL, bit-exact and contiguous") {
    temp_dir dir;
    int rounds = 30;
    if (const char* env = std::getenv("SLUICE_STORE_CRASH_ROUNDS"))
        rounds = std::max(1, std::atoi(env));
    unsigned seed = 20261122;
    if (const char* env = std::getenv("SLUICE_STORE_CRASH_SEED"))
        seed = static_cast<unsigned>(std::stoul(env));
    std::mt19937 rng(seed);
    INFO("seed " << seed);

    std::int64_t acked_end = 0;     // one past the last acknowledged offset so far
    std::int64_t verified_end = 0;  // records below this were compared bit for bit already
    std::size_t total_acks = 0;
    std::size_t torn = 0;
    for (int round = 0; round < rounds; ++round) {
        INFO("round " << round);
        auto run = run_child(dir.path(), rng(), std::chrono::milliseconds(rng() % 150));
        REQUIRE(run.failure.empty());
        for (const auto& [base, last] : run.acks) {
            REQUIRE(base == acked_end);  // acknowledged in offset order, no gaps
            REQUIRE(last >= base);
            acked_end = last + 1;
        }
        total_acks += run.acks.size();
        std::string partition_dir = dir / "crash/0";
        bool tore = false;
        if (round % 2 == 1) {
            auto seg = last_segment(partition_dir);
            if (!seg.empty() && tear_tail(seg, rng)) {
                tore = true;
                ++torn;
            }
        }

        store_options opts;
        opts.data_dir = dir.path();
        opts.writer_threads = 1;
        opts.maintenance_interval_ms = 0;
        opts.log = [](const std::string&) {};
        errc e = errc::ok;
        auto s = store::open(opts, e);
        REQUIRE(s);
        auto p = s->get("crash", 0);
        REQUIRE(p);
        CHECK_FALSE(p->recovery().clean_start);
        if (tore) CHECK(p->recovery().bytes_truncated > 0);
        const std::int64_t end = p->high_watermark().value;
        REQUIRE(end >= acked_end);  // nothing acknowledged is lost
        REQUIRE(p->log_end_offset().value == end);

        // Every batch CRC-checked (read_copy), offsets contiguous from 0; records appended
        // since the last round are rebuilt from their offset and compared.
        bool last_round = round + 1 == rounds;
        std::int64_t expect = 0;
        offset at{0};
        while (at.value < end) {
            byte_buffer bytes;
            offset next;
            REQUIRE(p->read_copy(at, 4 << 20, bytes, next) == errc::ok);
            REQUIRE_FALSE(bytes.empty());
            std::size_t pos = 0;
            while (pos < bytes.size()) {
                auto h = parse_batch_header(bytes.data() + pos, bytes.size() - pos);
                REQUIRE(h);
                REQUIRE(h->base_offset == expect);
                REQUIRE(h->record_count == h->last_offset_delta + 1);
                auto batch_bytes = byte_span(bytes).subspan(pos, h->size_bytes());
                if (h->last_offset().value >= verified_end || last_round) {
                    decoded_batch d;
                    REQUIRE(decode_batch(batch_bytes, d) == errc::ok);
                    for (const auto& r : d.records) REQUIRE(r == crash_record(r.offset));
                }
                expect = h->last_offset().value + 1;
                pos += h->size_bytes();
            }
            at = next;
        }
        REQUIRE(expect == end);
        verified_end = end;
        acked_end = end;  // unacknowledged but durable records are part of the log now
        REQUIRE(s->close() == errc::ok);
    }
    CHECK(total_acks > 0);
    CHECK(torn > 0);
    WARN("crash test: " << rounds << " rounds, " << total_acks << " acknowledged appends, log end "
                        << acked_end);
}
