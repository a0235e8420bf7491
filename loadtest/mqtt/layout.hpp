#pragma once

#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "loadtest/mqtt/options.hpp"

namespace sluice::bench {

// How connections are split over worker processes, so that none exceeds its open-file limit.
// All subscribers live in worker 0: a `$share` group's members must be in one process for
// duplicates within the group to be seen. Publishers are dealt round robin over the other
// workers (over all of them when there are no subscribers, or when --workers 1 is forced).
struct worker_share {
    std::vector<unsigned> subscribers;
    std::vector<unsigned> publishers;
};

// The number of worker processes a traffic run needs (or options.workers when given); 0 when
// the subscribers alone exceed one worker's capacity.
unsigned traffic_workers(const options& o);
worker_share traffic_share(const options& o, unsigned workers, unsigned worker);

// Idle runs: worker w's share of `total` connections; its k-th connection is number
// k * workers + w of the run.
unsigned idle_workers(const options& o);
unsigned idle_share(unsigned total, unsigned workers, unsigned worker);

// The source address of connection number `connection`: 127.100.x.y, cycling over
// options.source_ips addresses, so that no (source, broker) pair runs out of ephemeral ports.
boost::asio::ip::address source_address(const options& o, unsigned connection);

// "sb1234-p17": unique per run so that runs never resume each other's sessions.
std::string client_id(const options& o, char kind, unsigned index);

}  // namespace sluice::bench
