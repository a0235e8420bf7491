#include <time.h>
#include <unistd.h>

#include <csignal>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loadtest/mqtt/broker_stats.hpp"
#include "loadtest/mqtt/client_stream.hpp"
#include "loadtest/mqtt/clock.hpp"
#include "loadtest/mqtt/control_channel.hpp"
#include "loadtest/mqtt/fd_limit.hpp"
#include "loadtest/mqtt/layout.hpp"
#include "loadtest/mqtt/options.hpp"
#include "loadtest/mqtt/report.hpp"
#include "loadtest/mqtt/traffic_run.hpp"
#include "loadtest/mqtt/worker.hpp"

namespace sluice::bench {
namespace {

constexpr std::uint64_t second = 1'000'000'000;

// The settle and hold periods are measurement windows, not synchronisation: the broker is
// left alone for a fixed time and sampled before and after.
void pause_for(double seconds) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(seconds);
    ts.tv_nsec = static_cast<long>((seconds - static_cast<double>(ts.tv_sec)) * 1e9);
    while (nanosleep(&ts, &ts) != 0) {
    }
}

std::optional<std::string> expect(worker_process& p, const std::string& verb, std::uint64_t deadline) {
    for (;;) {
        auto line = p.read_line(deadline);
        if (!line) return std::nullopt;
        if (line->compare(0, verb.size(), verb) == 0) return line;
        std::fprintf(stderr, "sluice-bench: unexpected worker reply: %s\n", line->c_str());
    }
}

}  // namespace

int run_idle_command(int argc, char** argv) {
    // A worker that died must show up as an error in the report, not kill us on write().
    std::signal(SIGPIPE, SIG_IGN);
    bool help = false;
    auto parsed = parse_idle_options(argc, argv, &help);
    if (!parsed) return help ? 0 : 2;
    options& o = *parsed;
    if (const std::string why = check_transport(o); !why.empty()) {
        std::fprintf(stderr, "sluice-bench: %s\n", why.c_str());
        return 2;
    }
    raise_fd_limit();
    if (o.client_prefix.empty()) o.client_prefix = "sb" + std::to_string(::getpid()) + "-";
    const unsigned workers = idle_workers(o);

    idle_result r;
    r.workers = workers;
    std::vector<worker_process> procs;
    for (unsigned w = 0; w < workers; ++w)
        procs.push_back(spawn_worker([&o, workers, w](int in, int out) {
            return run_idle_worker(o, workers, w, in, out);
        }));

    auto sample = [&o]() -> std::optional<process_sample> {
        if (!o.broker_pid) return std::nullopt;
        return sample_process(o.broker_pid);
    };
    r.load_before = load_average();
    auto before = sample();
    if (before) r.baseline_rss_bytes = before->rss_bytes;
    std::uint64_t prev_connections = 0;
    std::uint64_t prev_rss = r.baseline_rss_bytes;
    bool broken = false;

    for (unsigned target : o.steps) {
        idle_step s;
        s.target = target;
        const std::uint64_t start = monotonic_ns();
        const std::uint64_t deadline =
            start + static_cast<std::uint64_t>((static_cast<double>(target) / o.connect_rate + 60) * 1e9);
        for (auto& p : procs) write_line(p.to_worker, "open " + std::to_string(target));
        std::uint64_t dropped = 0;
        for (auto& p : procs) {
            auto line = expect(p, "opened", deadline);
            if (!line) {
                r.errors.push_back("workers did not finish opening " + std::to_string(target) + " connections");
                broken = true;
                break;
            }
            const auto j = nlohmann::json::parse(line->substr(7), nullptr, false);
            if (j.is_discarded()) continue;
            s.connections += j.value("ready", std::uint64_t{0});
            s.failed += j.value("failed", std::uint64_t{0});
            dropped += j.value("dropped", std::uint64_t{0});
        }
        if (broken) break;
        s.connections -= std::min(s.connections, dropped);
        s.connect_seconds = static_cast<double>(monotonic_ns() - start) / 1e9;
        const auto opened = sample();
        pause_for(o.settle);
        const auto settled = sample();
        pause_for(o.hold);
        const auto held = sample();
        if (before && opened && settled && held) {
            s.broker_measured = true;
            s.connect_cpu_seconds = opened->cpu_seconds - before->cpu_seconds;
            s.idle_cpu_percent = o.hold > 0 ? 100.0 * (held->cpu_seconds - settled->cpu_seconds) / o.hold : 0;
            s.rss_bytes = held->rss_bytes;
            if (s.connections > prev_connections)
                s.rss_per_connection = (static_cast<double>(s.rss_bytes) - static_cast<double>(prev_rss)) /
                                       static_cast<double>(s.connections - prev_connections);
            prev_rss = s.rss_bytes;
            before = held;
        }
        prev_connections = s.connections;
        r.steps.push_back(s);
        if (!o.json_only) {
            std::fprintf(stderr, "  step %u: %llu open, %llu failed\n", target,
                         static_cast<unsigned long long>(s.connections), static_cast<unsigned long long>(s.failed));
        }
        if (s.failed) break;  // the broker refuses more: later steps would measure nothing new
    }

    for (auto& p : procs) write_line(p.to_worker, "finish");
    const std::uint64_t finish_deadline = monotonic_ns() + 30 * second;
    for (auto& p : procs) {
        auto line = expect(p, "result", finish_deadline);
        if (!line) continue;
        const auto j = nlohmann::json::parse(line->substr(7), nullptr, false);
        if (j.is_discarded()) continue;
        r.dropped += j.value("dropped", std::uint64_t{0});
        for (const auto& e : j.value("errors", nlohmann::json::array()))
            if (r.errors.size() < 10) r.errors.push_back(e.get<std::string>());
    }
    for (auto& p : procs) reap_worker(p, monotonic_ns() + 10 * second);

    if (!o.json_only) print_idle_table(o, r, stdout);
    const auto j = idle_json(o, r);
    std::printf("%s\n", j.dump().c_str());
    return j.value("ok", false) ? 0 : 1;
}

}  // namespace sluice::bench
