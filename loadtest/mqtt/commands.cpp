#include "loadtest/command.hpp"
#include "loadtest/mqtt/traffic_run.hpp"

namespace {
const bool traffic_registered = sluice::bench::register_command(
    {"mqtt", "MQTT publishers and subscribers: throughput, latency, loss", &sluice::bench::run_traffic_command});
const bool idle_registered = sluice::bench::register_command(
    {"mqtt-idle", "idle MQTT connections in steps: broker RSS and CPU per step", &sluice::bench::run_idle_command});
}  // namespace
