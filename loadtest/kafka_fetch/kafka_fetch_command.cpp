// sluice-bench kafka-fetch: a raw Kafka protocol reader for the broker's own Fetch ceiling.
//
//   sluice-bench kafka-fetch --port P --topic T [--host H] [--partitions N] [--max-bytes B]
//                            [--from OFFSET] [--json]
//
// One connection; a Fetch v11 per partition kept in flight (the next is sent as soon as the
// previous answer gives the next offset, so N partitions pipeline N requests). Record batches
// are counted as they arrive (bytes, batches, records from each batch header), never
// decompressed or decoded. Each partition is read from --from up to the high watermark its
// first answer reports, then the run ends. No librdkafka: what is left is the broker.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "kafka/codec.hpp"
#include "kafka/error_code.hpp"
#include "loadtest/command.hpp"
#include "store/record_batch.hpp"

namespace sluice::bench::kafka_fetch {
namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: sluice-bench kafka-fetch --port P --topic T [--host H] [--partitions N] "
                 "[--max-bytes B] [--from OFFSET] [--json]\n"
                 "  --partitions N  partitions 0..N-1 of the topic, one Fetch in flight each "
                 "(default 1)\n"
                 "  --max-bytes B   per-partition and per-response max_bytes (default 33554432)\n"
                 "  --from OFFSET   first offset of every partition (default 0)\n");
    return 2;
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

bool read_all(int fd, std::uint8_t* p, std::size_t n) {
    while (n) {
        ssize_t r = ::recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           p[3];
}

int run(int argc, char** argv) {
    std::string host = "127.0.0.1", topic;
    int port = 0, partitions = 1;
    std::int32_t max_bytes = 32 << 20;
    std::int64_t from = 0;
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        const char* v = nullptr;
        if (a == "--json") json = true;
        else if (a == "--host" && (v = next())) host = v;
        else if (a == "--port" && (v = next())) port = std::atoi(v);
        else if (a == "--topic" && (v = next())) topic = v;
        else if (a == "--partitions" && (v = next())) partitions = std::atoi(v);
        else if (a == "--max-bytes" && (v = next())) max_bytes = std::atoi(v);
        else if (a == "--from" && (v = next())) from = std::atoll(v);
        else return usage();
    }
    if (port <= 0 || topic.empty() || partitions < 1 || max_bytes < 1) return usage();

    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (fd < 0 || inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::fprintf(stderr, "kafka-fetch: cannot connect to %s:%d: %s\n", host.c_str(), port,
                     std::strerror(errno));
        return 1;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    std::vector<std::int64_t> next(partitions, from), end(partitions, -1);
    std::map<std::int32_t, int> in_flight;  // correlation id -> partition
    std::int32_t corr = 0;
    std::uint64_t bytes = 0, records = 0, batches = 0, requests = 0;
    const std::optional<std::string> client_id = std::string("sluice-bench");

    auto send_fetch = [&](int p) {
        kafka::fetch_request r;
        r.max_wait_ms = 0;
        r.min_bytes = 0;
        r.max_bytes = max_bytes;
        kafka::fetch_request::partition part;
        part.index = p;
        part.fetch_offset = next[p];
        part.partition_max_bytes = max_bytes;
        r.topics.push_back({topic, {part}});
        auto frame = kafka::encode_request(11, ++corr, client_id, r);
        in_flight[corr] = p;
        ++requests;
        return write_all(fd, frame.data(), frame.size());
    };

    const auto t0 = std::chrono::steady_clock::now();
    for (int p = 0; p < partitions; ++p)
        if (!send_fetch(p)) return std::fprintf(stderr, "kafka-fetch: write failed\n"), 1;
    std::vector<std::uint8_t> buf;
    while (!in_flight.empty()) {
        std::uint8_t size_bytes[4];
        if (!read_all(fd, size_bytes, 4)) return std::fprintf(stderr, "kafka-fetch: closed\n"), 1;
        buf.resize(be32(size_bytes));
        if (!read_all(fd, buf.data(), buf.size()))
            return std::fprintf(stderr, "kafka-fetch: closed\n"), 1;
        const auto id = static_cast<std::int32_t>(be32(buf.data()));
        auto it = in_flight.find(id);
        if (it == in_flight.end()) return std::fprintf(stderr, "kafka-fetch: stray answer\n"), 1;
        const int p = it->second;
        in_flight.erase(it);
        kafka::fetch_response resp;
        if (auto err = kafka::decode(store::byte_span(buf).subspan(4), 11, resp)) {
            std::fprintf(stderr, "kafka-fetch: bad Fetch response\n");
            return 1;
        }
        bool progressed = false;
        for (const auto& t : resp.topics)
            for (const auto& part : t.partitions) {
                if (part.error != kafka::error_code::none) {
                    std::fprintf(stderr, "kafka-fetch: partition %d: %s\n", part.index,
                                 kafka::to_string(part.error));
                    return 1;
                }
                if (end[p] < 0) end[p] = part.high_watermark;
                for (const auto& piece : part.records.parts) {
                    const auto* b = std::get_if<kafka::byte_buffer>(&piece);
                    if (!b) continue;
                    std::size_t pos = 0;
                    while (pos + store::batch_layout::header_size <= b->size()) {
                        auto h = store::parse_batch_header(b->data() + pos, b->size() - pos);
                        if (!h || h->size_bytes() > b->size() - pos) break;  // a partial tail
                        bytes += h->size_bytes();
                        records += static_cast<std::uint64_t>(h->record_count);
                        ++batches;
                        next[p] = h->last_offset().value + 1;
                        progressed = true;
                        pos += h->size_bytes();
                    }
                }
            }
        if (next[p] < end[p]) {
            if (!progressed) {
                std::fprintf(stderr, "kafka-fetch: partition %d made no progress at %lld\n", p,
                             static_cast<long long>(next[p]));
                return 1;
            }
            if (!send_fetch(p)) return std::fprintf(stderr, "kafka-fetch: write failed\n"), 1;
        }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ::close(fd);
    const double mb_s = static_cast<double>(bytes) / secs / 1e6;
    if (!json)
        std::printf("kafka-fetch %s: %llu bytes, %llu records, %llu batches, %llu requests in "
                    "%.3f s: %.0f MB/s, %.0f records/s\n",
                    topic.c_str(), static_cast<unsigned long long>(bytes),
                    static_cast<unsigned long long>(records),
                    static_cast<unsigned long long>(batches),
                    static_cast<unsigned long long>(requests), secs, mb_s,
                    static_cast<double>(records) / secs);
    std::printf("{\"bytes\": %llu, \"records\": %llu, \"batches\": %llu, \"requests\": %llu, "
                "\"seconds\": %.3f, \"mb_per_s\": %.1f}\n",
                static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(records),
                static_cast<unsigned long long>(batches),
                static_cast<unsigned long long>(requests), secs, mb_s);
    return 0;
}

}  // namespace

const bool registered = sluice::bench::register_command(
    {"kafka-fetch", "raw Kafka Fetch reader: the broker's Fetch throughput ceiling", &run});

}  // namespace sluice::bench::kafka_fetch
