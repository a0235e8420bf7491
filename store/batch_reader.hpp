#pragma once
// Decodes the records of one batch (decompressing LZ4) for the consumers that need records:
// tests, compaction, timestamp lookup, internal-topic replay. The append and fetch paths never
// call this. Untrusted input: every failure is a returned error, never an overrun or throw.

#include <vector>

#include "store/record.hpp"
#include "store/record_batch.hpp"

namespace sluice::store {

struct decoded_batch {
    batch_header header;
    std::vector<record> records;
};

// Upper bound on a decompressed records section (a guard against decompression bombs).
constexpr std::size_t max_decompressed_batch = 256u * 1024 * 1024;

// Validates the batch (CRC included) and decodes every record with absolute offsets.
errc decode_batch(byte_span bytes, decoded_batch& out);

// Splits a buffer of consecutive batches (as read() returns) and decodes each. Stops with an
// error at the first invalid batch; out keeps the batches decoded before it.
errc decode_batches(byte_span bytes, std::vector<decoded_batch>& out);

}  // namespace sluice::store
