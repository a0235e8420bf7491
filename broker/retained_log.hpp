#pragma once

#include <memory>
#include <string>

#include "broker/append_outcome.hpp"
#include "broker/message.hpp"
#include "broker/retained_store.hpp"
#include "store/store.hpp"

// Retained messages in the log (docs/mqtt.md, "What survives a restart"): every change of a
// retained message is a record of the compacted internal topic `__retained`
// (ingest/retained_record.hpp: key = MQTT topic, a tombstone clears it), replayed into the
// retained_store at start, before the listeners open. A retained QoS 1/2 PUBLISH is
// acknowledged once this record is durable too (the publisher joins its outcome).
//
// Threads: any. `mu_` makes "store in memory, queue the append" one step, so the log holds
// a topic's retained changes in the order memory saw them.
namespace sluice::broker {

class retained_log {
  public:
    // Creates the topic when missing; null with `error` when the store refuses.
    static std::unique_ptr<retained_log> open(store::store& s, std::string& error);

    // Stores (or clears) `msg` in `into` and appends its record; the outcome finishes once
    // the record is durable. `client_id`: the publisher, recorded as a header.
    std::shared_ptr<append_outcome> put(retained_store& into, const message_ptr& msg,
                                        const std::string& client_id);

    // Loads every recorded retained message whose expiry has not passed into `into`;
    // returns how many. False with `error` when the topic cannot be read.
    bool replay(retained_store& into, std::size_t& loaded, std::string& error);

  private:
    explicit retained_log(std::shared_ptr<store::partition> p) : partition_(std::move(p)) {}
    std::shared_ptr<store::partition> partition_;
    std::mutex mu_;
};

}  // namespace sluice::broker
