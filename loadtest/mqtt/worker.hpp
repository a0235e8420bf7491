#pragma once

#include "loadtest/mqtt/options.hpp"
#include "loadtest/mqtt/topic_plan.hpp"

namespace sluice::bench {

// The body of one worker process: runs its share of the connections on one io_context thread,
// following the coordinator's commands on `in_fd` and replying on `out_fd` (control_channel).
// Returns the process exit status.
int run_traffic_worker(const options& o, const topic_plan& plan, unsigned workers, unsigned index,
                       int in_fd, int out_fd);
int run_idle_worker(const options& o, unsigned workers, unsigned index, int in_fd, int out_fd);

}  // namespace sluice::bench
