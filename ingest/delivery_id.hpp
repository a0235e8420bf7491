#pragma once
// Delivery ids: each MQTT session is an idempotent producer in Kafka's sense, so a
// retransmitted PUBLISH maps to the record already written instead of a second one.
//
//   producer id (int64, >= 0)  one per session, allocated by the broker;
//   epoch (int16, >= 0)        bumped on clean start and on takeover (fences the old owner);
//   sequence (int32, >= 0)     one per record, counted per log partition (the store checks
//                              that a producer's batches are contiguous in each partition),
//                              wrapping from INT32_MAX to 0 as Kafka does.
//
// Text form (header "mqtt.delivery_id"): "<producer id>:<epoch>:<sequence>" in decimal, e.g.
// "42:0:17". Unique within the partition that holds the record; (log topic, partition,
// delivery id) is unique everywhere. See docs/ingest.md.
// Thread: delivery_id is a value and the free functions are pure; session_producer says below.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/record.hpp"
#include "store/record_batch.hpp"

namespace sluice::ingest {

struct delivery_id {
    std::int64_t producer_id = 0;
    std::int16_t epoch = 0;
    std::int32_t sequence = 0;

    std::string to_string() const;
    // Strict: three non-negative decimals without sign or leading zeros, in range.
    static std::optional<delivery_id> parse(std::string_view text);
    // The id of the record n places later in the same partition (sequence wraps as Kafka's).
    delivery_id plus(std::int32_t n) const;

    bool operator==(const delivery_id&) const = default;
};

// Kafka's DefaultRecordBatch.incrementSequence: (sequence + n) wrapping past INT32_MAX to 0.
std::int32_t increment_sequence(std::int32_t sequence, std::int32_t n);

// One session's producer state: its identity and the next sequence per log partition it has
// written to (a session writes to few partitions, so a small vector).
// Thread: a value; owned by the session's thread.
class session_producer {
  public:
    explicit session_producer(std::int64_t producer_id, std::int16_t epoch = 0)
        : producer_id_(producer_id), epoch_(epoch) {}

    std::int64_t producer_id() const { return producer_id_; }
    std::int16_t epoch() const { return epoch_; }

    // Takes n (>= 1) consecutive sequences in (log_topic, partition); returns the first id.
    // Call once per PUBLISH on arrival; a retransmission (DUP, repeated QoS 2 packet id) must
    // reuse the id it got the first time, not take a new one.
    delivery_id assign(std::string_view log_topic, int partition, std::int32_t n = 1);
    // The sequence assign() would give next (0 for a partition not written yet).
    std::int32_t next_sequence(std::string_view log_topic, int partition) const;

    // Clean start, takeover, or an append that failed (its sequences are lost, as Kafka's
    // producer bumps its epoch after an unresolved sequence): epoch + 1 and every sequence
    // back to 0. Returns false, changing nothing, when the epoch is INT16_MAX: the session
    // then needs a new producer id (renew).
    bool bump_epoch();
    // A new producer id: epoch 0, sequences from 0.
    void renew(std::int64_t producer_id);

  private:
    struct cursor {
        std::string log_topic;
        int partition;
        std::int32_t next;
    };
    std::int64_t producer_id_;
    std::int16_t epoch_;
    std::vector<cursor> cursors_;
};

// One batch of `records` (in order, offset deltas 0..n-1, timestamps from the records)
// carrying first's producer id, epoch and base sequence, so the store's producer dedup drops
// a repeat of it. Record i must carry first.plus(i) (to_record does, given that id).
// nullopt when records is empty or compression failed.
std::optional<store::record_batch> build_producer_batch(
    std::span<const store::record> records, const delivery_id& first,
    store::compression codec = store::compression::none);

// Whether `r`, decoded from a batch with header `batch`, is a record the broker's MQTT ingest
// wrote (build_producer_batch for a session): the batch has a producer id and the record's
// mqtt.delivery_id header names exactly that producer, its epoch and the record's own
// sequence in the batch. Producer ids come from one allocator for MQTT sessions and Kafka
// producers alike and are never reused, so a Kafka producer's batch carries an id of its own
// (or none: kcat -P, any non-idempotent producer), and a delivery id header copied from
// another record names a producer that did not write this batch. Only a client that forges
// the header to match its own producer id and sequences passes (docs/ingest.md, "Egress").
bool written_by_mqtt_ingest(const store::batch_header& batch, const store::record& r);

}  // namespace sluice::ingest
