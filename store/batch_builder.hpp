#pragma once
// Builds one RecordBatch v2 from records, compressing the records section once. The result
// has base offset 0 and leader epoch -1; the log stamps both when it appends.
// Thread: one builder per thread (no shared state).

#include <cstdint>
#include <optional>
#include <string_view>

#include "store/record.hpp"
#include "store/record_batch.hpp"

namespace sluice::store {

class batch_builder {
  public:
    explicit batch_builder(compression codec = compression::none) : codec_(codec) {}

    void set_producer(std::int64_t producer_id, std::int16_t producer_epoch,
                      std::int32_t base_sequence);
    void set_base_offset(std::int64_t base) { base_offset_ = base; }
    void set_partition_leader_epoch(std::int32_t e) { leader_epoch_ = e; }
    // Compaction keeps a batch's offset span even when it drops its last records.
    void set_last_offset_delta(std::int32_t d) { last_offset_delta_override_ = d; }
    void set_attributes_extra(std::int16_t bits) { extra_attributes_ = bits; }

    // Offset delta defaults to the record's position in the batch.
    void add(std::int64_t timestamp, std::optional<std::string_view> key,
             std::optional<std::string_view> value, const std::vector<record_header>& headers = {});
    void add_with_delta(std::int32_t offset_delta, std::int64_t timestamp,
                        std::optional<std::string_view> key, std::optional<std::string_view> value,
                        const std::vector<record_header>& headers = {});

    std::size_t record_count() const { return count_; }
    std::size_t uncompressed_size() const { return records_.size() + batch_layout::header_size; }
    bool empty() const { return count_ == 0; }

    // Returns nullopt only if there are no records or compression failed.
    std::optional<record_batch> build() const;

  private:
    compression codec_;
    byte_buffer records_;
    std::size_t count_ = 0;
    std::int64_t base_timestamp_ = 0;
    std::int64_t max_timestamp_ = 0;
    std::int32_t last_delta_ = 0;
    std::int64_t base_offset_ = 0;
    std::int32_t leader_epoch_ = -1;
    std::int64_t producer_id_ = no_producer_id;
    std::int16_t producer_epoch_ = no_producer_epoch;
    std::int32_t base_sequence_ = no_sequence;
    std::optional<std::int32_t> last_offset_delta_override_;
    std::int16_t extra_attributes_ = 0;
};

}  // namespace sluice::store
