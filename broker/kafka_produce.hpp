#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "kafka/error_response.hpp"
#include "store/store.hpp"

// Kafka Produce v3-7 (docs/kafka-protocol.md, "The listener"): each partition's records are
// appended as the client sent them, one store append per RecordBatch, compressed or not (the
// store validates the CRC and keeps the bytes). Idempotent producers are deduplicated by the
// store (a retried batch gets the offsets of the original and NONE); errors are per partition.
//
// Threads: produce() may be called on any thread and never waits on the disk; `done` is called
// exactly once, on the calling thread or a store writer thread.
namespace sluice::broker {

class durable_log;

// The RecordBatches in a Produce partition's `records`, split by their length fields; nullopt
// when the bytes are not a whole number of batches (or empty).
std::optional<std::vector<store::record_batch>> split_batches(const store::byte_buffer& bytes);

void produce(durable_log& log, const kafka::produce_request& req,
             std::function<void(kafka::produce_response)> done);

}  // namespace sluice::broker
