// A minimal Kafka broker for check_librdkafka.py, answering through Sluice's codec and
// group coordinator: ApiVersions, Metadata (one broker, itself; topic "t" with 4 partitions),
// FindCoordinator (itself), JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetFetch (nothing
// committed), OffsetCommit (accepted, not kept), ListOffsets (always 0) and Fetch (always
// empty); it closes the connection on anything else. It lets a real librdkafka check the
// handshake, including the flexible ApiVersions v3 exchange kafka-python cannot make, and a
// consumer group rebalance. Prints its port on stdout, then one line per request except
// Fetch and Heartbeat ("conn 1 api 18 v3 handle") on stderr. Test code only: one thread.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <type_traits>

#include "kafka/api_versions.hpp"
#include "kafka/dispatch.hpp"
#include "kafka/frame.hpp"
#include "kafka/group_coordinator.hpp"

using namespace sluice::kafka;

namespace {

constexpr int partitions = 4;

struct connection {
    int id = 0;
    int fd = -1;
    frame_splitter frames;
};

// A JoinGroup or SyncGroup waiting for the coordinator.
struct waiting {
    int conn = 0;
    std::int32_t correlation_id = 0;
    std::int16_t version = 0;
};

std::map<int, connection*> by_id;
std::map<std::uint64_t, waiting> pending;
std::uint64_t next_token = 1;

time_ms now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

bool send_all(int fd, const response_frame& f) {
    for (const auto& p : f.pieces) {
        const auto& b = std::get<byte_buffer>(p);
        std::size_t done = 0;
        while (done < b.size()) {
            ssize_t n = ::send(fd, b.data() + done, b.size() - done, MSG_NOSIGNAL);
            if (n <= 0) return false;
            done += static_cast<std::size_t>(n);
        }
    }
    return true;
}

metadata_response metadata(const metadata_request& req, int port) {
    metadata_response r;
    r.brokers = {{1, "127.0.0.1", port, std::nullopt}};
    r.cluster_id = "sluice-test";
    r.controller_id = 1;
    std::vector<std::string> names = req.topics.value_or(std::vector<std::string>{"t"});
    for (const auto& name : names) {
        metadata_response::topic t;
        t.name = name;
        if (name == "t") {
            for (int p = 0; p < partitions; ++p)
                t.partitions.push_back({error_code::none, p, 1, 0, {1}, {1}, {}});
        } else
            t.error = error_code::unknown_topic_or_partition;
        r.topics.push_back(std::move(t));
    }
    return r;
}

template <class Response>
void deliver(std::uint64_t token, const Response& r) {
    auto it = pending.find(token);
    if (it == pending.end()) return;
    auto conn = by_id.find(it->second.conn);
    if (conn != by_id.end())
        send_all(conn->second->fd,
                 encode_response(it->second.correlation_id, it->second.version, r));
    pending.erase(it);
}

void deliver_all(const group_events& ev) {
    for (const auto& j : ev.joins) deliver(j.token, j.response);
    for (const auto& s : ev.syncs) deliver(s.token, s.response);
}

group_coordinator& coordinator() {
    static group_coordinator gc([] {
        group_config c;
        c.initial_rebalance_delay_ms = 1000;
        return c;
    }());
    return gc;
}

template <class T>
bool group_request(int conn, const request_header& h, const T& req) {
    std::uint64_t token = next_token++;
    pending[token] = {conn, h.correlation_id, h.api_version};
    group_events ev;
    if constexpr (std::is_same_v<T, join_group_request>)
        coordinator().join(token, req, {h.api_version, h.client_id.value_or(""), "/127.0.0.1"},
                           now_ms(), ev);
    else
        coordinator().sync(token, req, now_ms(), ev);
    deliver_all(ev);
    return true;
}

// Answers the requests the group and fetch paths need; false for anything else.
bool answer_other(int fd, const connection& c, const request& r, int port) {
    const auto& h = r.header;
    auto send = [&](const auto& resp) {
        return send_all(fd, encode_response(h.correlation_id, h.api_version, resp));
    };
    if (std::holds_alternative<find_coordinator_request>(r.body))
        return send(
            find_coordinator_response{0, error_code::none, std::nullopt, 1, "127.0.0.1", port});
    if (const auto* j = std::get_if<join_group_request>(&r.body)) return group_request(c.id, h, *j);
    if (const auto* s = std::get_if<sync_group_request>(&r.body)) return group_request(c.id, h, *s);
    if (const auto* hb = std::get_if<heartbeat_request>(&r.body)) {
        heartbeat_response resp;
        resp.error = coordinator().heartbeat(*hb, now_ms());
        return send(resp);
    }
    if (const auto* l = std::get_if<leave_group_request>(&r.body)) {
        group_events ev;
        leave_group_response resp;
        resp.error = coordinator().leave(*l, now_ms(), ev);
        bool ok = send(resp);
        deliver_all(ev);
        return ok;
    }
    if (const auto* of = std::get_if<offset_fetch_request>(&r.body)) {
        offset_fetch_response resp;
        for (const auto& t : of->topics.value_or(std::vector<offset_fetch_request::topic>{})) {
            auto& rt = resp.topics.emplace_back();
            rt.name = t.name;
            for (auto p : t.partition_indexes)
                rt.partitions.push_back({p, -1, -1, std::string(), error_code::none});
        }
        return send(resp);
    }
    if (const auto* oc = std::get_if<offset_commit_request>(&r.body)) {
        error_code e =
            coordinator().check_commit(oc->group_id, oc->generation_id, oc->member_id, now_ms());
        offset_commit_response resp;
        for (const auto& t : oc->topics) {
            auto& rt = resp.topics.emplace_back();
            rt.name = t.name;
            for (const auto& p : t.partitions) rt.partitions.push_back({p.index, e});
        }
        return send(resp);
    }
    if (const auto* lo = std::get_if<list_offsets_request>(&r.body)) {
        list_offsets_response resp;
        for (const auto& t : lo->topics) {
            auto& rt = resp.topics.emplace_back();
            rt.name = t.name;
            for (const auto& p : t.partitions) {
                list_offsets_response::partition rp;
                rp.index = p.index;
                rp.old_style_offsets = {0};
                rp.timestamp = -1;
                rp.offset = 0;
                rt.partitions.push_back(rp);
            }
        }
        return send(resp);
    }
    if (const auto* f = std::get_if<fetch_request>(&r.body)) {
        fetch_response resp;
        for (const auto& t : f->topics) {
            auto& rt = resp.topics.emplace_back();
            rt.name = t.name;
            for (const auto& p : t.partitions) {
                fetch_response::partition rp;
                rp.index = p.index;
                rp.high_watermark = 0;
                rp.last_stable_offset = 0;
                rp.log_start_offset = 0;
                rt.partitions.push_back(rp);
            }
        }
        return send(resp);
    }
    return false;
}

// Returns false when the connection must close.
bool serve(int fd, connection& c, int port) {
    byte_span frame;
    for (;;) {
        auto s = c.frames.next(frame);
        if (s == frame_splitter::status::need_more) return true;
        if (s == frame_splitter::status::error) return false;
        dispatch_result d = decode_request(frame);
        auto key = d.req.header.key;
        if (d.action != dispatch_action::handle ||
            (key != api_key::fetch && key != api_key::heartbeat))
            std::fprintf(stderr, "conn %d api %d v%d %s\n", c.id, static_cast<int>(key),
                         d.req.header.api_version,
                         d.action == dispatch_action::handle ? "handle" : d.describe().c_str());
        if (d.action == dispatch_action::respond) {
            if (!send_all(fd, d.reply)) return false;
            continue;
        }
        if (d.action == dispatch_action::close) return false;
        const auto& h = d.req.header;
        if (std::holds_alternative<api_versions_request>(d.req.body)) {
            if (!send_all(fd,
                          encode_response(h.correlation_id, h.api_version, api_versions_body())))
                return false;
        } else if (const auto* m = std::get_if<metadata_request>(&d.req.body)) {
            if (!send_all(fd, encode_response(h.correlation_id, h.api_version, metadata(*m, port))))
                return false;
        } else if (!answer_other(fd, c, d.req, port)) {
            return false;
        }
    }
}

}  // namespace

int main() {
    int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(lfd, 16) != 0 ||
        ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        std::perror("listen");
        return 1;
    }
    int port = ntohs(addr.sin_port);
    std::printf("%d\n", port);
    std::fflush(stdout);

    std::map<int, std::unique_ptr<connection>> conns;
    int next_id = 1;
    for (;;) {
        std::vector<pollfd> fds{{lfd, POLLIN, 0}};
        for (const auto& [fd, c] : conns) fds.push_back({fd, POLLIN, 0});
        int timeout = -1;
        if (auto d = coordinator().next_deadline())
            timeout = static_cast<int>(std::max<time_ms>(0, *d - now_ms()) + 1);
        if (::poll(fds.data(), fds.size(), timeout) < 0) return 1;
        group_events ev;
        coordinator().tick(now_ms(), ev);
        deliver_all(ev);
        if (fds[0].revents & POLLIN) {
            int cfd = ::accept(lfd, nullptr, nullptr);
            if (cfd >= 0) {
                auto c = std::make_unique<connection>();
                c->id = next_id++;
                c->fd = cfd;
                by_id[c->id] = c.get();
                conns.emplace(cfd, std::move(c));
            }
        }
        for (std::size_t i = 1; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int fd = fds[i].fd;
            std::uint8_t buf[65536];
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            auto& c = *conns.at(fd);
            bool keep = n > 0;
            if (keep) {
                c.frames.feed(byte_span(buf, static_cast<std::size_t>(n)));
                keep = serve(fd, c, port);
            }
            if (!keep) {
                ::close(fd);
                by_id.erase(c.id);
                conns.erase(fd);
            }
        }
    }
}
