#include "loadtest/mqtt/layout.hpp"

#include <algorithm>

#include <boost/asio/ip/address_v4.hpp>

namespace sluice::bench {

unsigned traffic_workers(const options& o) {
    if (o.subscribers > o.per_worker) return 0;
    if (o.workers) return o.workers;
    const unsigned pub_workers = (o.publishers + o.per_worker - 1) / o.per_worker;
    if (o.subscribers == 0) return std::max(1u, pub_workers);
    return 1 + pub_workers;
}

worker_share traffic_share(const options& o, unsigned workers, unsigned worker) {
    worker_share s;
    if (worker == 0)
        for (unsigned i = 0; i < o.subscribers; ++i) s.subscribers.push_back(i);
    // With subscribers, publishers get workers of their own (1..workers-1) so that a
    // subscriber's reads never wait behind publishers' timers in the same event loop.
    const bool separate = o.subscribers > 0 && workers > 1;
    const unsigned first = separate ? 1 : 0;
    const unsigned count = workers - first;
    if (worker < first) return s;
    for (unsigned p = worker - first; p < o.publishers; p += count) s.publishers.push_back(p);
    return s;
}

unsigned idle_workers(const options& o) {
    if (o.workers) return o.workers;
    const unsigned total = o.steps.empty() ? 0 : o.steps.back();
    return std::max(1u, (total + o.per_worker - 1) / o.per_worker);
}

unsigned idle_share(unsigned total, unsigned workers, unsigned worker) {
    return total / workers + (worker < total % workers ? 1 : 0);
}

boost::asio::ip::address source_address(const options& o, unsigned connection) {
    const unsigned k = connection % o.source_ips;
    const boost::asio::ip::address_v4::bytes_type b{
        {127, 100, static_cast<unsigned char>(k / 250), static_cast<unsigned char>(k % 250 + 1)}};
    return boost::asio::ip::address_v4(b);
}

std::string client_id(const options& o, char kind, unsigned index) {
    return o.client_prefix + kind + std::to_string(index);
}

}  // namespace sluice::bench
