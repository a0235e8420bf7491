#include "loadtest/mqtt/control_channel.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "loadtest/mqtt/clock.hpp"

namespace sluice::bench {

bool write_line(int fd, const std::string& line) {
    std::string data = line + "\n";
    std::size_t off = 0;
    while (off < data.size()) {
        const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<std::size_t>(n);
    }
    return true;
}

std::optional<std::string> worker_process::read_line(std::uint64_t deadline_ns) {
    for (;;) {
        if (const auto nl = buffered.find('\n'); nl != std::string::npos) {
            std::string line = buffered.substr(0, nl);
            buffered.erase(0, nl + 1);
            return line;
        }
        const std::uint64_t now = monotonic_ns();
        if (now >= deadline_ns || from_worker < 0) return std::nullopt;
        pollfd p{from_worker, POLLIN, 0};
        const auto wait_ms = static_cast<int>(std::min<std::uint64_t>((deadline_ns - now) / 1'000'000 + 1, 1000));
        const int r = ::poll(&p, 1, wait_ms);
        if (r < 0 && errno != EINTR) return std::nullopt;
        if (r <= 0) continue;
        char chunk[65536];
        const ssize_t n = ::read(from_worker, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::nullopt;
        buffered.append(chunk, static_cast<std::size_t>(n));
    }
}

int reap_worker(worker_process& w, std::uint64_t deadline_ns) {
    if (w.to_worker >= 0) ::close(w.to_worker);
    w.to_worker = -1;
    if (w.pid <= 0) return -1;
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(w.pid, &status, WNOHANG);
        if (r == w.pid) break;
        if (r < 0 && errno != EINTR) break;
        if (monotonic_ns() >= deadline_ns) {
            ::kill(w.pid, SIGKILL);
            ::waitpid(w.pid, &status, 0);
            status = -1;
            break;
        }
        // Drain replies so a worker blocked writing to us can finish.
        (void)w.read_line(monotonic_ns() + 20'000'000);
    }
    if (w.from_worker >= 0) ::close(w.from_worker);
    w.from_worker = -1;
    w.pid = -1;
    if (status == -1) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace sluice::bench
