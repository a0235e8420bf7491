// A minimal Kafka broker for check_librdkafka.py: answers ApiVersions and Metadata (one
// broker, itself; one topic "t" with one partition) through Sluice's codec and closes the
// connection on anything else. It lets a real librdkafka check the handshake, including the
// flexible ApiVersions v3 exchange kafka-python cannot make. Prints its port on stdout, then
// one line per request ("conn 1 api 18 v3") on stderr. Test code only: blocking sockets, one
// thread.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>

#include "kafka/api_versions.hpp"
#include "kafka/dispatch.hpp"
#include "kafka/frame.hpp"

using namespace sluice::kafka;

namespace {

struct connection {
    int id = 0;
    frame_splitter frames;
};

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
        if (name == "t")
            t.partitions = {{error_code::none, 0, 1, 0, {1}, {1}, {}}};
        else
            t.error = error_code::unknown_topic_or_partition;
        r.topics.push_back(std::move(t));
    }
    return r;
}

// Returns false when the connection must close.
bool serve(int fd, connection& c, int port) {
    byte_span frame;
    for (;;) {
        auto s = c.frames.next(frame);
        if (s == frame_splitter::status::need_more) return true;
        if (s == frame_splitter::status::error) return false;
        dispatch_result d = decode_request(frame);
        std::fprintf(stderr, "conn %d api %d v%d %s\n", c.id, static_cast<int>(d.req.header.key),
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
        } else {
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
        if (::poll(fds.data(), fds.size(), -1) < 0) return 1;
        if (fds[0].revents & POLLIN) {
            int cfd = ::accept(lfd, nullptr, nullptr);
            if (cfd >= 0) {
                auto c = std::make_unique<connection>();
                c->id = next_id++;
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
                conns.erase(fd);
            }
        }
    }
}
