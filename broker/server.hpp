#pragma once

#include <memory>
#include <vector>

#include "broker/config.hpp"

// The whole single-node broker: the io pool, the listeners and the MQTT core. Threads: the
// main thread calls start() then run(); everything else runs on the pool's threads.
namespace sluice::broker {

class server {
  public:
    explicit server(config cfg);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds every listener (throws std::runtime_error naming the listener on failure), starts
    // the io threads and prints `listening <name> <host>:<port>` per listener on stdout.
    void start();
    // Blocks until SIGINT or SIGTERM, then shuts down cleanly.
    void run();

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice::broker
