#pragma once

#include <functional>
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
    // How SIGHUP gets the configuration again (parsing the same command line); without it
    // (no config file) SIGHUP reloads only TLS certificates and the password and ACL files.
    void set_reload_source(std::function<config()> parse);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice::broker
