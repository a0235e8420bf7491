#include "loadtest/mqtt/traffic_run.hpp"

#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <array>
#include <optional>
#include <sstream>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loadtest/mqtt/broker_stats.hpp"
#include "loadtest/mqtt/client_stream.hpp"
#include "loadtest/mqtt/clock.hpp"
#include "loadtest/mqtt/control_channel.hpp"
#include "loadtest/mqtt/fd_limit.hpp"
#include "loadtest/mqtt/histogram.hpp"
#include "loadtest/mqtt/layout.hpp"
#include "loadtest/mqtt/options.hpp"
#include "loadtest/mqtt/report.hpp"
#include "loadtest/mqtt/topic_plan.hpp"
#include "loadtest/mqtt/worker.hpp"

namespace sluice::bench {
namespace {

constexpr std::uint64_t second = 1'000'000'000;

// Every command sent and every reply expected, with the run's deadlines.
class traffic_coordinator {
public:
    traffic_coordinator(const options& o, const topic_plan& plan, unsigned workers)
        : opt_(o), plan_(plan), workers_(workers) {}

    int run() {
        for (unsigned w = 0; w < workers_; ++w)
            procs_.push_back(spawn_worker([this, w](int in, int out) {
                return run_traffic_worker(opt_, plan_, workers_, w, in, out);
            }));

        // Connect: every worker reports "ready <ok> <failed> [first error]".
        const double connections =
            opt_.publishers + opt_.subscribers + (opt_.churn_rate > 0 ? opt_.churn_clients : 0);
        const std::uint64_t connect_deadline =
            monotonic_ns() + static_cast<std::uint64_t>((connections / opt_.connect_rate + 30) * 1e9);
        const std::uint64_t connect_start = monotonic_ns();
        for (auto& p : procs_) {
            auto line = expect(p, "ready", connect_deadline);
            if (!line) return abort("workers did not finish connecting in time");
            std::istringstream in(*line);
            std::string verb, first_error;
            std::uint64_t ok = 0, failed = 0;
            in >> verb >> ok >> failed;
            std::getline(in, first_error);
            if (failed) return abort(std::to_string(failed) + " connections failed:" + first_error);
        }
        result_.connect_seconds = static_cast<double>(monotonic_ns() - connect_start) / 1e9;

        // Publish.
        result_.load_before = load_average();
        broker_before_ = sample();
        const std::uint64_t t0 = monotonic_ns() + 20'000'000;  // every worker starts together
        const std::uint64_t deadline = opt_.duration > 0 ? t0 + static_cast<std::uint64_t>(opt_.duration * 1e9) : 0;
        for (auto& p : procs_) write_line(p.to_worker, "go " + std::to_string(t0) + " " + std::to_string(deadline));
        // Publishers stop at the deadline or count; the workers' watchdogs bound the wait for
        // acknowledgements, so this deadline only catches a hung worker.
        const std::uint64_t publish_deadline =
            (deadline ? deadline : t0 + 3600 * second) +
            static_cast<std::uint64_t>((opt_.drain_timeout * 2 + 30) * 1e9);
        std::uint64_t expected = 0;
        for (auto& p : procs_) {
            auto line = expect(p, "published", publish_deadline);
            if (!line) return abort("publishers did not finish in time");
            const auto j = nlohmann::json::parse(line->substr(10), nullptr, false);
            if (j.is_discarded()) return abort("bad reply from a worker: " + *line);
            expected += j.value("expected", std::uint64_t{0});
        }

        // Drain: worker 0 holds every subscriber.
        for (std::size_t i = 0; i < procs_.size(); ++i)
            write_line(procs_[i].to_worker, "drain " + std::to_string(i == 0 ? expected : 0));
        const std::uint64_t drain_deadline =
            monotonic_ns() + static_cast<std::uint64_t>((opt_.drain_timeout + 30) * 1e9);
        for (auto& p : procs_)
            if (!expect(p, "drained", drain_deadline)) return abort("subscribers did not drain in time");
        broker_after_ = sample();
        result_.load_after = load_average();

        // Collect.
        for (auto& p : procs_) write_line(p.to_worker, "finish");
        const std::uint64_t finish_deadline = monotonic_ns() + 30 * second;
        std::vector<nlohmann::json> results;
        for (auto& p : procs_) {
            auto line = expect(p, "result", finish_deadline);
            if (!line) return abort("a worker did not report its result");
            auto j = nlohmann::json::parse(line->substr(7), nullptr, false);
            if (j.is_discarded()) return abort("bad result from a worker");
            results.push_back(std::move(j));
        }
        for (auto& p : procs_) reap_worker(p, monotonic_ns() + 10 * second);
        merge(results, t0, expected);
        return print();
    }

private:
    std::optional<std::string> expect(worker_process& p, const std::string& verb, std::uint64_t deadline) {
        for (;;) {
            auto line = p.read_line(deadline);
            if (!line) return std::nullopt;
            if (line->compare(0, verb.size(), verb) == 0) return line;
            std::fprintf(stderr, "sluice-bench: unexpected worker reply: %s\n", line->c_str());
        }
    }

    std::optional<process_sample> sample() const {
        if (!opt_.broker_pid) return std::nullopt;
        return sample_process(opt_.broker_pid);
    }

    int abort(const std::string& why) {
        std::fprintf(stderr, "sluice-bench mqtt: %s\n", why.c_str());
        for (auto& p : procs_) write_line(p.to_worker, "finish");
        for (auto& p : procs_) reap_worker(p, monotonic_ns() + 5 * second);
        nlohmann::json j = {{"tool", "sluice-bench"}, {"mode", "mqtt"}, {"label", opt_.label},
                            {"ok", false}, {"error", why}};
        std::printf("%s\n", j.dump().c_str());
        return 1;
    }

    void merge(const std::vector<nlohmann::json>& results, std::uint64_t t0, std::uint64_t expected) {
        traffic_result& r = result_;
        r.workers = workers_;
        r.expected = expected;
        std::map<std::uint32_t, std::uint64_t> sent_by;
        std::map<std::uint32_t, std::array<std::uint64_t, 3>> recv_by;
        std::uint64_t publish_end = t0, last_recv = t0;
        for (const auto& j : results) {
            r.connections += j.value("ready", std::uint64_t{0});
            r.dropped += j.value("dropped", std::uint64_t{0});
            for (const auto& e : j.value("errors", nlohmann::json::array())) r.errors.push_back(e.get<std::string>());
            r.sent += j.value("sent", std::uint64_t{0});
            r.acked += j.value("acked", std::uint64_t{0});
            r.unacked += j.value("unacked", std::uint64_t{0});
            r.anomalies += j.value("anomalies", std::uint64_t{0});
            r.received += j.value("received", std::uint64_t{0});
            r.unique += j.value("unique", std::uint64_t{0});
            r.foreign += j.value("foreign", std::uint64_t{0});
            r.generator_cpu_seconds += j.value("cpu_s", 0.0);
            histogram h;
            if (h.from_json(j.value("latency_us", nlohmann::json::object()))) r.latency.merge(h);
            histogram ack;
            if (ack.from_json(j.value("ack_latency_us", nlohmann::json::object()))) r.ack_latency.merge(ack);
            for (const auto& e : j.value("sent_by_publisher", nlohmann::json::array()))
                sent_by[e[0].get<std::uint32_t>()] += e[1].get<std::uint64_t>();
            for (const auto& e : j.value("received_by_publisher", nlohmann::json::array())) {
                auto& c = recv_by[e[0].get<std::uint32_t>()];
                for (int k = 0; k < 3; ++k) c[k] += e[k + 1].get<std::uint64_t>();
            }
            if (const auto c = j.find("churn"); c != j.end() && c->is_object()) {
                r.churn_sent += c->value("sent", std::uint64_t{0});
                r.churn_done += c->value("done", std::uint64_t{0});
                r.churn_refused += c->value("refused", std::uint64_t{0});
                histogram ch;
                if (ch.from_json(c->value("latency_us", nlohmann::json::object()))) r.churn_latency.merge(ch);
            }
            publish_end = std::max(publish_end, j.value("publish_end_ns", std::uint64_t{0}));
            last_recv = std::max(last_recv, j.value("last_recv_ns", std::uint64_t{0}));
        }
        r.publish_seconds = static_cast<double>(publish_end - t0) / 1e9;
        r.receive_seconds = static_cast<double>(last_recv - t0) / 1e9;
        for (const auto& [p, sent] : sent_by) {
            const auto it = recv_by.find(p);
            const std::uint64_t want = sent * plan_.receivers_of(p);
            const std::uint64_t got = it == recv_by.end() ? 0 : it->second[0];
            publisher_anomaly a{p, want > got ? want - got : 0, it == recv_by.end() ? 0 : it->second[1],
                                it == recv_by.end() ? 0 : it->second[2]};
            r.lost += a.lost;
            r.duplicates += a.duplicates;
            r.reordered += a.reordered;
            if (a.lost || a.duplicates || a.reordered) {
                ++r.publishers_with_anomalies;
                r.worst.push_back(a);
            }
        }
        std::sort(r.worst.begin(), r.worst.end(), [](const auto& a, const auto& b) {
            return a.lost + a.duplicates + a.reordered > b.lost + b.duplicates + b.reordered;
        });
        if (r.worst.size() > 10) r.worst.resize(10);
        if (broker_before_ && broker_after_) {
            r.broker_measured = true;
            r.broker_cpu_seconds = broker_after_->cpu_seconds - broker_before_->cpu_seconds;
            r.broker_rss_bytes = broker_after_->rss_bytes;
            r.broker_threads = broker_after_->threads;
        }
    }

    int print() {
        const traffic_result& r = result_;
        if (!opt_.json_only) print_traffic_table(opt_, r, stdout);
        std::printf("%s\n", traffic_json(opt_, r).dump().c_str());
        std::fflush(stdout);
        if (r.lost || r.unacked)
            std::fprintf(stderr, "\n*** sluice-bench: %llu of %llu expected deliveries LOST, %llu publishes unacknowledged ***\n\n",
                         static_cast<unsigned long long>(r.lost), static_cast<unsigned long long>(r.expected),
                         static_cast<unsigned long long>(r.unacked));
        return traffic_exit_status(opt_, r);
    }

    const options& opt_;
    const topic_plan& plan_;
    unsigned workers_;
    std::vector<worker_process> procs_;
    std::optional<process_sample> broker_before_, broker_after_;
    traffic_result result_;
};

}  // namespace

int run_traffic_command(int argc, char** argv) {
    // A worker that died must show up as an error in the report, not kill us on write().
    std::signal(SIGPIPE, SIG_IGN);
    bool help = false;
    auto o = parse_traffic_options(argc, argv, &help);
    if (!o) return help ? 0 : 2;
    if (const std::string why = check_transport(*o); !why.empty()) {
        std::fprintf(stderr, "sluice-bench: %s\n", why.c_str());
        return 2;
    }
    raise_fd_limit();
    if (o->client_prefix.empty()) o->client_prefix = "sb" + std::to_string(::getpid()) + "-";
    const unsigned workers = traffic_workers(*o);
    if (workers == 0) {
        std::fprintf(stderr, "sluice-bench mqtt: %u subscribers exceed --per-worker %u (they share one worker)\n",
                     o->subscribers, o->per_worker);
        return 2;
    }
    const topic_plan plan(*o);
    traffic_coordinator c(*o, plan, workers);
    return c.run();
}

}  // namespace sluice::bench
