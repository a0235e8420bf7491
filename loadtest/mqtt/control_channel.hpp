#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace sluice::bench {

// The line protocol between the coordinator and its worker processes: one pipe each way,
// one command or reply per line ("ready", "go <t0> <deadline>", "result {json}", ...).
//
// Threads: each end is used by one thread of one process.

// Writes a whole line (a '\n' is appended). False when the other end has gone.
bool write_line(int fd, const std::string& line);

// The coordinator's view of one worker process.
struct worker_process {
    pid_t pid = -1;
    int to_worker = -1;    // the worker's stdin-like command pipe
    int from_worker = -1;  // the worker's reply pipe
    std::string buffered;  // read but not yet returned

    // The next line, waiting until `deadline_ns` (CLOCK_MONOTONIC); nothing on timeout or EOF.
    std::optional<std::string> read_line(std::uint64_t deadline_ns);
};

// Forks a worker running body(in_fd, out_fd) and exiting with its return value. The caller
// must not have started threads or an io_context yet.
template <class Body>
worker_process spawn_worker(Body body);

// Closes the pipes and reaps the process (killing it if it has not exited by `deadline_ns`).
// Returns its exit status, or -1 when it had to be killed.
int reap_worker(worker_process& w, std::uint64_t deadline_ns);

}  // namespace sluice::bench

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace sluice::bench {

template <class Body>
worker_process spawn_worker(Body body) {
    int down[2], up[2];
    if (::pipe(down) != 0 || ::pipe(up) != 0) {
        std::perror("sluice-bench: pipe");
        std::exit(1);
    }
    std::fflush(nullptr);  // or buffered output would be written twice
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("sluice-bench: fork");
        std::exit(1);
    }
    if (pid == 0) {
        ::close(down[1]);
        ::close(up[0]);
        const int rc = body(down[0], up[1]);
        std::fflush(nullptr);
        ::_exit(rc);
    }
    ::close(down[0]);
    ::close(up[1]);
    worker_process w;
    w.pid = pid;
    w.to_worker = down[1];
    w.from_worker = up[0];
    return w;
}

}  // namespace sluice::bench
