#include "loadtest/mqtt/layout.hpp"

#include <boost/asio/ip/address_v4.hpp>

namespace sluice::bench {

unsigned traffic_workers(const options& o) {
    if (o.subscribers > o.per_worker) return 0;
    if (o.workers) return o.workers;
    for (unsigned w = 1; w <= 64; ++w) {
        const unsigned pubs_on_first = (o.publishers + w - 1) / w;
        if (o.subscribers + pubs_on_first <= o.per_worker) return w;
    }
    return 0;
}

worker_share traffic_share(const options& o, unsigned workers, unsigned worker) {
    worker_share s;
    if (worker == 0)
        for (unsigned i = 0; i < o.subscribers; ++i) s.subscribers.push_back(i);
    for (unsigned p = worker; p < o.publishers; p += workers) s.publishers.push_back(p);
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
