// sluice-bench kafka-fetch: a raw Kafka protocol reader for the broker's own Fetch ceiling.
//
//   sluice-bench kafka-fetch --port P --topic T [--host H] [--partitions N] [--max-bytes B]
//                            [--pipeline K] [--from OFFSET] [--discard] [--read-buffer B] [--json]
//   sluice-bench kafka-fetch --file SEGMENT.log [--file ...] [--read-buffer B] [--json]
//
// One connection; Fetch v11, one partition per request. With --pipeline 1 (the default) each
// partition has one request in flight, the next sent as soon as the previous answer gives the
// next offset, so N partitions pipeline N requests while transfer and round trip alternate
// for each. With --pipeline K each partition keeps K requests in flight over consecutive
// offset ranges (the broker answers in request order): the first answer gives the number of
// records a --max-bytes answer holds, the stride of the ranges that follow; a batch counts in
// the range its base offset falls in, bytes sent twice (a batch across a range boundary) are
// reported as `wasted_bytes`, and a range an answer did not cover to its end gets a further
// request for the rest (`fill_requests`). Each partition is read from --from up to the high
// watermark its first answer reports, then the run ends.
//
// Responses are parsed in place from one reused buffer (byte_stream.hpp, --read-buffer bytes);
// record batches are counted from their headers (bytes, batches, records), never decompressed
// or decoded. --discard leaves the record bodies in the kernel (recv with MSG_TRUNC drops them
// uncopied), so the reader's own copy leaves the measurement. With --file the same loop walks
// segment files instead: the same client reading the same data from a file. No librdkafka:
// what is left is the broker.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kafka/codec.hpp"
#include "kafka/error_code.hpp"
#include "loadtest/command.hpp"
#include "loadtest/kafka_fetch/byte_stream.hpp"

namespace sluice::bench::kafka_fetch {
namespace {

constexpr std::int64_t open_end = std::numeric_limits<std::int64_t>::max();

int usage() {
    std::fprintf(stderr,
                 "usage: sluice-bench kafka-fetch --port P --topic T [--host H] [--partitions N] "
                 "[--max-bytes B] [--pipeline K] [--from OFFSET] [--discard] [--read-buffer B] "
                 "[--json]\n"
                 "       sluice-bench kafka-fetch --file SEGMENT.log [--file ...] [--read-buffer B] "
                 "[--json]\n"
                 "  --partitions N  partitions 0..N-1 of the topic (default 1)\n"
                 "  --max-bytes B   per-partition and per-response max_bytes (default 33554432)\n"
                 "  --pipeline K    Fetch requests in flight per partition, over consecutive "
                 "offset ranges (default 1)\n"
                 "  --from OFFSET   first offset of every partition (default 0)\n"
                 "  --discard       drop record bodies in the kernel (recv MSG_TRUNC), uncopied: "
                 "the broker's side alone\n"
                 "  --read-buffer B bytes read into user space at a time (default 4194304)\n"
                 "  --file PATH     walk the record batches of a segment file instead (the same "
                 "parsing, no broker)\n");
    return 2;
}

struct options {
    std::string host = "127.0.0.1", topic;
    int port = 0, partitions = 1, pipeline = 1;
    std::int32_t max_bytes = 32 << 20;
    std::int64_t from = 0;
    std::vector<std::string> files;
    std::size_t read_buffer = 4u << 20;
    bool discard = false;
    bool json = false;
};

struct tally {
    std::uint64_t bytes = 0, records = 0, batches = 0, requests = 0, fill_requests = 0,
                  wasted_bytes = 0;
};

void report(const options& o, const std::string& what, const tally& t, double secs) {
    const double mb_s = static_cast<double>(t.bytes) / secs / 1e6;
    if (!o.json)
        std::printf("kafka-fetch %s: %llu bytes, %llu records, %llu batches, %llu requests "
                    "(%llu to fill a range, %llu bytes sent twice) in %.3f s: %.0f MB/s, "
                    "%.0f records/s\n",
                    what.c_str(), static_cast<unsigned long long>(t.bytes),
                    static_cast<unsigned long long>(t.records),
                    static_cast<unsigned long long>(t.batches),
                    static_cast<unsigned long long>(t.requests),
                    static_cast<unsigned long long>(t.fill_requests),
                    static_cast<unsigned long long>(t.wasted_bytes), secs, mb_s,
                    static_cast<double>(t.records) / secs);
    std::printf("{\"bytes\": %llu, \"records\": %llu, \"batches\": %llu, \"requests\": %llu, "
                "\"fill_requests\": %llu, \"wasted_bytes\": %llu, \"seconds\": %.3f, "
                "\"mb_per_s\": %.1f}\n",
                static_cast<unsigned long long>(t.bytes),
                static_cast<unsigned long long>(t.records),
                static_cast<unsigned long long>(t.batches),
                static_cast<unsigned long long>(t.requests),
                static_cast<unsigned long long>(t.fill_requests),
                static_cast<unsigned long long>(t.wasted_bytes), secs, mb_s);
}

// --file: the record batches of each segment file, through the same byte_stream and batch
// walk as a Fetch answer's records.
int read_files(const options& o) {
    tally t;
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& path : o.files) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st {};
        if (fd < 0 || ::fstat(fd, &st) != 0) {
            std::fprintf(stderr, "kafka-fetch: cannot read %s: %s\n", path.c_str(),
                         std::strerror(errno));
            return 1;
        }
        byte_stream in(fd, o.read_buffer);
        const bool ok = walk_batches(in, static_cast<std::uint64_t>(st.st_size),
                                     [&](const store::batch_header& h) {
                                         t.bytes += h.size_bytes();
                                         t.records += static_cast<std::uint64_t>(h.record_count);
                                         ++t.batches;
                                     });
        ::close(fd);
        if (!ok) {
            std::fprintf(stderr, "kafka-fetch: %s: malformed or short segment file\n", path.c_str());
            return 1;
        }
    }
    report(o, "files", t,
           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return 0;
}

bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
    while (n) {
        ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

// One connection's reading of partitions 0..N-1 of a topic.
class reader {
  public:
    reader(const options& o, int fd)
        : o_(o), fd_(fd), in_(fd, o.read_buffer, o.discard), parts_(o.partitions) {
        for (auto& p : parts_) p.next = o.from;
    }

    // False with a message on stderr.
    bool run() {
        for (int p = 0; p < o_.partitions; ++p)
            if (!send(p, o_.from, open_end, o_.max_bytes)) return false;
        while (!in_flight_.empty())
            if (!answer()) return false;
        return true;
    }
    const tally& counts() const { return t_; }

  private:
    struct range {
        int partition = 0;
        std::int64_t start = 0, end = open_end;  // the batches whose base offset is in [start, end)
    };
    struct partition_state {
        std::int64_t next = 0;          // where the next new range starts
        std::int64_t high_watermark = -1;  // from the first answer: where the reading ends
        std::int64_t stride = 0;        // records per range; 0 until the first answer
        double bytes_per_record = 0;    // for the size of a request filling a range's rest
        int in_flight = 0;
    };

    bool send(int p, std::int64_t start, std::int64_t end, std::int32_t max_bytes) {
        kafka::fetch_request r;
        r.max_wait_ms = 0;
        r.min_bytes = 0;
        r.max_bytes = max_bytes;
        kafka::fetch_request::partition part;
        part.index = p;
        part.fetch_offset = start;
        part.partition_max_bytes = max_bytes;
        r.topics.push_back({o_.topic, {part}});
        auto frame = kafka::encode_request(11, ++corr_, client_id_, r);
        in_flight_[corr_] = {p, start, end};
        ++parts_[p].in_flight;
        ++t_.requests;
        if (write_all(fd_, frame.data(), frame.size())) return true;
        std::fprintf(stderr, "kafka-fetch: write failed\n");
        return false;
    }

    // New ranges for partition p while it has room for them and data left.
    bool top_up(int p) {
        auto& s = parts_[p];
        if (o_.pipeline <= 1 || s.stride <= 0) return true;
        while (s.in_flight < o_.pipeline && s.next < s.high_watermark) {
            const std::int64_t end = std::min(s.next + s.stride, s.high_watermark);
            if (!send(p, s.next, end, o_.max_bytes)) return false;
            s.next = end;
        }
        return true;
    }

    bool closed() {
        std::fprintf(stderr, "kafka-fetch: connection closed\n");
        return false;
    }

    // Reads one Fetch answer (v11, non-flexible) and counts its batches.
    bool answer() {
        if (!in_.fill(14)) return closed();
        in_.i32();  // size: the fields below are read as they come
        const std::int32_t id = in_.i32();
        in_.i32();  // throttle_time_ms
        const auto top_error = static_cast<kafka::error_code>(in_.i16());
        auto it = in_flight_.find(id);
        if (it == in_flight_.end()) {
            std::fprintf(stderr, "kafka-fetch: stray answer %d\n", id);
            return false;
        }
        const range want = it->second;
        in_flight_.erase(it);
        auto& s = parts_[want.partition];
        --s.in_flight;
        if (top_error != kafka::error_code::none) {
            std::fprintf(stderr, "kafka-fetch: Fetch error: %s\n", kafka::to_string(top_error));
            return false;
        }
        if (!in_.fill(8)) return closed();
        in_.i32();  // session_id
        std::int64_t covered = want.start;  // the end of the answer's batches
        std::uint64_t counted_bytes = 0, counted_records = 0;
        for (std::int32_t topics = in_.i32(); topics > 0; --topics) {
            if (!in_.fill(2)) return closed();
            const auto name_len = static_cast<std::uint16_t>(in_.i16());
            if (!in_.fill(name_len + 4u)) return closed();
            in_.consume(name_len);
            for (std::int32_t n = in_.i32(); n > 0; --n) {
                if (!in_.fill(4 + 2 + 8 * 3 + 4)) return closed();
                const std::int32_t index = in_.i32();
                const auto error = static_cast<kafka::error_code>(in_.i16());
                const std::int64_t hw = in_.i64();
                in_.i64();  // last_stable_offset
                in_.i64();  // log_start_offset
                const std::int32_t aborted = in_.i32();
                if (aborted > 0 && !in_.skip(16ull * static_cast<std::uint32_t>(aborted)))
                    return closed();
                if (!in_.fill(8)) return closed();
                in_.i32();  // preferred_read_replica
                const std::int32_t records_len = in_.i32();
                if (error != kafka::error_code::none) {
                    std::fprintf(stderr, "kafka-fetch: partition %d: %s\n", index,
                                 kafka::to_string(error));
                    return false;
                }
                if (s.high_watermark < 0) s.high_watermark = hw;
                if (records_len <= 0) continue;
                const bool ok = walk_batches(
                    in_, static_cast<std::uint64_t>(records_len), [&](const store::batch_header& h) {
                        covered = std::max(covered, h.last_offset().value + 1);
                        if (h.base_offset < want.start || h.base_offset >= want.end) {
                            t_.wasted_bytes += h.size_bytes();  // another range's batch
                            return;
                        }
                        counted_bytes += h.size_bytes();
                        counted_records += static_cast<std::uint64_t>(h.record_count);
                        ++t_.batches;
                    });
                if (!ok) return closed();
            }
        }
        t_.bytes += counted_bytes;
        t_.records += counted_records;
        return advance(want, covered, counted_bytes, counted_records);
    }

    // What follows an answer to `want` whose batches reach `covered`.
    bool advance(const range& want, std::int64_t covered, std::uint64_t bytes,
                 std::uint64_t records) {
        auto& s = parts_[want.partition];
        const std::int64_t goal = std::min(want.end, s.high_watermark);
        if (covered >= goal) {
            if (want.end == open_end) s.next = covered;  // read to the end in one answer
            return top_up(want.partition);
        }
        if (covered == want.start) {
            std::fprintf(stderr, "kafka-fetch: partition %d made no progress at %lld\n",
                         want.partition, static_cast<long long>(want.start));
            return false;
        }
        if (want.end == open_end) {
            // --pipeline 1: the next request goes on from here. Pipelined: this was the first
            // answer, and the records it held are the stride of the ranges that follow.
            s.next = covered;
            if (o_.pipeline <= 1) return send(want.partition, covered, open_end, o_.max_bytes);
            s.stride = covered - want.start;
            if (records > 0) s.bytes_per_record = static_cast<double>(bytes) / records;
            return top_up(want.partition);
        }
        // The answer stopped short of its range's end: ask for the rest, sized for it.
        ++t_.fill_requests;
        const double want_bytes = static_cast<double>(goal - covered) * s.bytes_per_record + 1;
        const auto max_bytes = static_cast<std::int32_t>(
            std::min<double>(want_bytes, static_cast<double>(o_.max_bytes)));
        return send(want.partition, covered, want.end, max_bytes) && top_up(want.partition);
    }

    const options& o_;
    int fd_;
    byte_stream in_;
    std::vector<partition_state> parts_;
    std::map<std::int32_t, range> in_flight_;  // correlation id -> range
    std::int32_t corr_ = 0;
    tally t_;
    const std::optional<std::string> client_id_ = std::string("sluice-bench");
};

int run(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        const char* v = nullptr;
        if (a == "--json") o.json = true;
        else if (a == "--host" && (v = next())) o.host = v;
        else if (a == "--port" && (v = next())) o.port = std::atoi(v);
        else if (a == "--topic" && (v = next())) o.topic = v;
        else if (a == "--partitions" && (v = next())) o.partitions = std::atoi(v);
        else if (a == "--max-bytes" && (v = next())) o.max_bytes = std::atoi(v);
        else if (a == "--pipeline" && (v = next())) o.pipeline = std::atoi(v);
        else if (a == "--from" && (v = next())) o.from = std::atoll(v);
        else if (a == "--file" && (v = next())) o.files.emplace_back(v);
        else if (a == "--read-buffer" && (v = next())) o.read_buffer = std::strtoull(v, nullptr, 10);
        else if (a == "--discard") o.discard = true;
        else return usage();
    }
    if (o.read_buffer < 4096 || o.read_buffer > (1u << 30)) return usage();
    if (!o.files.empty()) return read_files(o);
    if (o.port <= 0 || o.topic.empty() || o.partitions < 1 || o.max_bytes < 1 || o.pipeline < 1)
        return usage();

    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(o.port));
    if (fd < 0 || inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::fprintf(stderr, "kafka-fetch: cannot connect to %s:%d: %s\n", o.host.c_str(), o.port,
                     std::strerror(errno));
        return 1;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    const auto t0 = std::chrono::steady_clock::now();
    reader r(o, fd);
    const bool ok = r.run();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ::close(fd);
    if (!ok) return 1;
    report(o, o.topic, r.counts(), secs);
    return 0;
}

}  // namespace

const bool registered = sluice::bench::register_command(
    {"kafka-fetch", "raw Kafka Fetch reader: the broker's Fetch throughput ceiling", &run});

}  // namespace sluice::bench::kafka_fetch
