#pragma once

namespace sluice::bench {

// `sluice-bench mqtt`: the coordinator of a publish/subscribe run. It forks the worker
// processes, steps them through connect -> publish -> drain -> finish, samples the broker's CPU
// around the measured part, merges the workers' results and prints the table and JSON line.
// Exit status: 0 clean, 1 setup or connection failure, 3 messages lost (or unacknowledged) at
// QoS 1/2 or duplicated at QoS 2.
int run_traffic_command(int argc, char** argv);

// `sluice-bench mqtt-idle`: opens idle connections in steps and reports the broker's RSS and
// CPU at each step, and RSS per connection as the slope between steps.
int run_idle_command(int argc, char** argv);

}  // namespace sluice::bench
