#pragma once
// Every failure the store reports to its callers. Untrusted bytes and disk trouble become one
// of these codes; nothing throws across the store's boundary. The Kafka and MQTT layers map
// them to their own codes (the names follow Kafka's where one exists).

namespace sluice::store {

enum class errc {
    ok = 0,
    corrupt_message,          // bad length, magic, CRC or record framing
    unsupported_compression,  // codec other than none or LZ4
    record_too_large,         // batch larger than the topic's max_batch_bytes
    out_of_order_sequence,    // idempotent producer skipped or reordered a sequence
    invalid_producer_epoch,   // producer epoch older than the one we know (fenced)
    offset_out_of_range,      // read below the log start or above the high watermark
    invalid_offset,           // follower append whose base offset is not the log end
    io_error,                 // a read/write/fsync failed; the partition stops accepting writes
    closed,                   // the partition or store is shutting down
    unknown_topic,
    topic_exists,
    invalid_argument,
};

const char* to_string(errc e);

}  // namespace sluice::store
