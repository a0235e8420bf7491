// `sluice-bench router-churn`: the broker's router in process, without sockets. Router threads
// route messages at a fixed rate while one thread subscribes and unsubscribes at
// --churn-rate, as SUBSCRIBE/UNSUBSCRIBE do (under a registry mutex, like broker_core), and
// the time each route() and each subscribe() call takes is reported as percentiles. It shows
// what subscription changes cost routing apart from the network and the load generator,
// which dominate `sluice-bench mqtt` latencies on a busy machine.
//
// Threads: the router threads and the churn thread share one router; each records into its
// own vector, read after they are joined.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/router.hpp"
#include "loadtest/command.hpp"

namespace sluice::bench {
namespace {

using clock_type = std::chrono::steady_clock;
using broker::message_ptr;
using broker::router;
using broker::session;
using broker::subscription_record;

struct route_churn_options {
    double churn_rate = 1000;  // subscribe+unsubscribe pairs per second
    unsigned routers = 2;      // routing threads
    double rate = 500;         // routes per second per thread
    unsigned fanout = 1000;    // subscribers of the one routed topic; 0: 100 topics, one each
    double duration = 4;       // seconds
};

const char* const usage =
    "usage: sluice-bench router-churn [options]\n"
    "Routes messages in process while subscriptions change; prints route() and subscribe()\n"
    "latency percentiles (ns).\n"
    "  --churn-rate N   subscribe+unsubscribe pairs per second (1000; 0 = none)\n"
    "  --routers N      routing threads (2)\n"
    "  --rate N         routes per second per routing thread (500)\n"
    "  --fanout N       subscribers of the routed topic; 0 = 100 topics, one subscriber each "
    "(1000)\n"
    "  --duration S     seconds (4)\n";

bool parse(int argc, char** argv, route_churn_options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h" || i + 1 >= argc) {
            std::fputs(usage, arg == "--help" || arg == "-h" ? stdout : stderr);
            return false;
        }
        char* end = nullptr;
        const double v = std::strtod(argv[++i], &end);
        if (end == argv[i] || *end != '\0' || v < 0) {
            std::fprintf(stderr, "sluice-bench router-churn: bad value for %s\n", arg.c_str());
            return false;
        }
        if (arg == "--churn-rate")
            o.churn_rate = v;
        else if (arg == "--routers" && v >= 1 && v <= 64)
            o.routers = static_cast<unsigned>(v);
        else if (arg == "--rate" && v > 0)
            o.rate = v;
        else if (arg == "--fanout" && v <= 1e6)
            o.fanout = static_cast<unsigned>(v);
        else if (arg == "--duration" && v > 0)
            o.duration = v;
        else {
            std::fprintf(stderr, "sluice-bench router-churn: bad option %s (try --help)\n",
                         arg.c_str());
            return false;
        }
    }
    return true;
}

std::uint32_t since_ns(clock_type::time_point start) {
    return static_cast<std::uint32_t>(std::min<long long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - start).count(),
        0xFFFFFFFF));
}

void print_percentiles(const char* what, std::vector<std::uint32_t>& v) {
    if (v.empty()) return;
    std::sort(v.begin(), v.end());
    auto at = [&](double p) {
        return v[static_cast<std::size_t>(p / 100 * static_cast<double>(v.size() - 1))];
    };
    std::printf("  %-10s n=%zu  p50 %u  p99 %u  p99.9 %u  max %u (ns)\n", what, v.size(), at(50),
                at(99), at(99.9), v.back());
}

int run_route_churn(int argc, char** argv) {
    route_churn_options o;
    if (!parse(argc, argv, o)) return argc > 1 && !std::strcmp(argv[1], "--help") ? 0 : 2;
    router r;
    std::vector<std::shared_ptr<session>> sessions;
    auto add = [&](const std::string& id, const std::string& filter) {
        sessions.push_back(std::make_shared<session>(id));
        r.subscribe(*sessions.back(), filter, subscription_record{});
    };
    for (unsigned i = 0; i < o.fanout; ++i) add("f" + std::to_string(i), "fan");
    for (unsigned i = 0; i < 100; ++i) add("p" + std::to_string(i), "p2p/" + std::to_string(i));
    for (unsigned i = 0; i < 1000; ++i)
        add("w" + std::to_string(i), "dev/" + std::to_string(i) + "/+");
    std::vector<message_ptr> messages;
    for (unsigned i = 0; i < 100; ++i) {
        mqtt::publish p;
        p.topic = o.fanout ? std::string("fan") : "p2p/" + std::to_string(i);
        p.payload = mqtt::shared_bytes(std::string_view("payload!"));
        messages.push_back(broker::make_message(std::move(p), nullptr));  // QoS 0: offline drops
    }

    std::atomic<bool> stop{false};
    std::vector<std::vector<std::uint32_t>> route_ns(o.routers);
    std::vector<std::uint32_t> subscribe_ns;
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < o.routers; ++t)
        threads.emplace_back([&, t] {
            const auto interval = std::chrono::duration<double>(1.0 / o.rate);
            auto due = clock_type::now();
            for (std::size_t k = t; !stop.load(std::memory_order_relaxed); ++k) {
                const auto start = clock_type::now();
                r.route(messages[k % messages.size()], 1000);
                route_ns[t].push_back(since_ns(start));
                due += std::chrono::duration_cast<clock_type::duration>(interval);
                std::this_thread::sleep_until(due);
            }
        });
    if (o.churn_rate > 0)
        threads.emplace_back([&] {
            auto s = std::make_shared<session>("churn");
            std::mutex registry;  // broker_core holds its registry lock around these calls
            const auto interval = std::chrono::duration<double>(1.0 / o.churn_rate);
            auto due = clock_type::now();
            for (unsigned k = 0; !stop.load(std::memory_order_relaxed); ++k) {
                const std::string filter = "churn/" + std::to_string(k % 10);
                const auto start = clock_type::now();
                {
                    std::lock_guard lock(registry);
                    r.subscribe(*s, filter, subscription_record{});
                }
                subscribe_ns.push_back(since_ns(start));
                {
                    std::lock_guard lock(registry);
                    r.unsubscribe(*s, filter);
                }
                due += std::chrono::duration_cast<clock_type::duration>(interval);
                std::this_thread::sleep_until(due);
            }
            std::lock_guard lock(registry);
            r.remove_session(*s, {});
        });
    std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
    stop = true;
    for (auto& t : threads) t.join();

    std::vector<std::uint32_t> all;
    for (auto& v : route_ns) all.insert(all.end(), v.begin(), v.end());
    std::printf(
        "sluice-bench router-churn: %u routing threads at %.0f/s each, fanout %u, churn %.0f "
        "pairs/s, %.1f s\n",
        o.routers, o.rate, o.fanout, o.churn_rate, o.duration);
    print_percentiles("route", all);
    print_percentiles("subscribe", subscribe_ns);
    return 0;
}

const bool registered = register_command(
    {"router-churn",
     "the router in process: route() and subscribe() latency under subscription churn",
     &run_route_churn});

}  // namespace
}  // namespace sluice::bench
