#pragma once
// Kafka RecordBatch v2 (magic 2), byte for byte as Kafka's DefaultRecordBatch lays it out:
//
//   0 baseOffset int64        8 batchLength int32 (bytes after this field)
//  12 partitionLeaderEpoch    16 magic int8 = 2      17 crc uint32 (CRC-32C of 21..end)
//  21 attributes int16        23 lastOffsetDelta     27 baseTimestamp int64
//  35 maxTimestamp int64      43 producerId int64    51 producerEpoch int16
//  53 baseSequence int32      57 recordCount int32   61 records...
//
// The CRC starts at attributes, so the log can stamp baseOffset and partitionLeaderEpoch
// without touching the (possibly compressed) records or recomputing the CRC.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "store/error.hpp"
#include "store/types.hpp"

namespace sluice::store {

namespace batch_layout {
constexpr std::size_t base_offset = 0;
constexpr std::size_t batch_length = 8;
constexpr std::size_t partition_leader_epoch = 12;
constexpr std::size_t magic = 16;
constexpr std::size_t crc = 17;
constexpr std::size_t attributes = 21;
constexpr std::size_t last_offset_delta = 23;
constexpr std::size_t base_timestamp = 27;
constexpr std::size_t max_timestamp = 35;
constexpr std::size_t producer_id = 43;
constexpr std::size_t producer_epoch = 51;
constexpr std::size_t base_sequence = 53;
constexpr std::size_t record_count = 57;
constexpr std::size_t header_size = 61;
constexpr std::size_t log_overhead = 12;  // baseOffset + batchLength: not counted in batchLength
constexpr std::int8_t current_magic = 2;
}  // namespace batch_layout

enum class compression : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

namespace batch_attr {
constexpr std::int16_t compression_mask = 0x07;
constexpr std::int16_t log_append_time = 0x08;
constexpr std::int16_t transactional = 0x10;
constexpr std::int16_t control = 0x20;
}  // namespace batch_attr

constexpr std::int64_t no_producer_id = -1;
constexpr std::int16_t no_producer_epoch = -1;
constexpr std::int32_t no_sequence = -1;

struct batch_header {
    std::int64_t base_offset = 0;
    std::int32_t batch_length = 0;
    std::int32_t partition_leader_epoch = -1;
    std::int8_t magic = batch_layout::current_magic;
    std::uint32_t crc = 0;
    std::int16_t attributes = 0;
    std::int32_t last_offset_delta = 0;
    std::int64_t base_timestamp = 0;
    std::int64_t max_timestamp = 0;
    std::int64_t producer_id = no_producer_id;
    std::int16_t producer_epoch = no_producer_epoch;
    std::int32_t base_sequence = no_sequence;
    std::int32_t record_count = 0;

    compression codec() const {
        return static_cast<compression>(attributes & batch_attr::compression_mask);
    }
    bool is_control() const { return (attributes & batch_attr::control) != 0; }
    bool is_transactional() const { return (attributes & batch_attr::transactional) != 0; }
    bool has_producer() const { return producer_id >= 0; }
    std::size_t size_bytes() const {
        return static_cast<std::size_t>(batch_length) + batch_layout::log_overhead;
    }
    offset first_offset() const { return offset{base_offset}; }
    offset last_offset() const { return offset{base_offset + last_offset_delta}; }
    // Sequence of the last record; Kafka wraps sequences at INT32_MAX.
    std::int32_t last_sequence() const;
};

// Reads the 61 header bytes; checks only that the length field is plausible. Does not
// verify the CRC (see validate_batch).
std::optional<batch_header> parse_batch_header(const std::uint8_t* p, std::size_t n);

// Full check of one batch of untrusted bytes (exactly one batch, nothing after it):
// lengths, magic, CRC, counts. Does not decompress.
errc validate_batch(byte_span bytes);

// CRC-32C over attributes..end, i.e. the value the crc field must hold.
std::uint32_t compute_batch_crc(byte_span bytes);

// One batch's bytes, owned. The log stamps offsets and epochs into it in place.
// Thread: a value; whoever holds it (appends move it to the partition's writer).
class record_batch {
  public:
    record_batch() = default;
    explicit record_batch(byte_buffer bytes) : bytes_(std::move(bytes)) {}

    byte_span bytes() const { return bytes_; }
    byte_buffer& buffer() { return bytes_; }
    std::size_t size() const { return bytes_.size(); }
    // Only valid on bytes that passed validate_batch (or came from batch_builder).
    batch_header header() const;

    void set_base_offset(offset o);
    void set_partition_leader_epoch(leader_epoch e);

  private:
    byte_buffer bytes_;
};

}  // namespace sluice::store
