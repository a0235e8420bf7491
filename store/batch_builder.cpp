#include "store/batch_builder.hpp"

#include <algorithm>

#include "store/byte_order.hpp"
#include "store/lz4_frame.hpp"
#include "store/varint.hpp"

namespace sluice::store {
namespace {

void put_bytes(byte_buffer& out, std::optional<std::string_view> s) {
    if (!s) {
        put_varint(out, -1);
        return;
    }
    put_varint(out, static_cast<std::int32_t>(s->size()));
    out.insert(out.end(), s->begin(), s->end());
}

}  // namespace

void batch_builder::set_producer(std::int64_t producer_id, std::int16_t producer_epoch,
                                 std::int32_t base_sequence) {
    producer_id_ = producer_id;
    producer_epoch_ = producer_epoch;
    base_sequence_ = base_sequence;
}

void batch_builder::add(std::int64_t timestamp, std::optional<std::string_view> key,
                        std::optional<std::string_view> value,
                        const std::vector<record_header>& headers) {
    add_with_delta(static_cast<std::int32_t>(count_), timestamp, key, value, headers);
}

void batch_builder::add_with_delta(std::int32_t offset_delta, std::int64_t timestamp,
                                   std::optional<std::string_view> key,
                                   std::optional<std::string_view> value,
                                   const std::vector<record_header>& headers) {
    if (count_ == 0) {
        base_timestamp_ = timestamp;
        max_timestamp_ = timestamp;
    }
    max_timestamp_ = std::max(max_timestamp_, timestamp);
    last_delta_ = offset_delta;

    // The body is built first because the record starts with its own length.
    byte_buffer body;
    body.reserve(16 + (key ? key->size() : 0) + (value ? value->size() : 0));
    body.push_back(0);  // record attributes: unused in v2
    put_varlong(body, timestamp - base_timestamp_);
    put_varint(body, offset_delta);
    put_bytes(body, key);
    put_bytes(body, value);
    put_varint(body, static_cast<std::int32_t>(headers.size()));
    for (const auto& h : headers) {
        put_bytes(body, std::string_view(h.key));
        put_bytes(body, h.value ? std::optional<std::string_view>(*h.value) : std::nullopt);
    }
    put_varint(records_, static_cast<std::int32_t>(body.size()));
    records_.insert(records_.end(), body.begin(), body.end());
    ++count_;
}

std::optional<record_batch> batch_builder::build() const {
    using namespace batch_layout;
    if (count_ == 0) return std::nullopt;
    byte_buffer out;
    out.reserve(header_size + records_.size() + 64);
    out.resize(header_size);
    if (codec_ == compression::lz4) {
        if (!lz4_compress_frame(records_, out)) return std::nullopt;
    } else {
        out.insert(out.end(), records_.begin(), records_.end());
    }
    std::uint8_t* p = out.data();
    auto attributes =
        static_cast<std::int16_t>(static_cast<std::int16_t>(codec_) | extra_attributes_);
    store_be<std::int64_t>(p + base_offset, base_offset_);
    store_be<std::int32_t>(p + batch_length, static_cast<std::int32_t>(out.size() - log_overhead));
    store_be<std::int32_t>(p + partition_leader_epoch, leader_epoch_);
    p[magic] = static_cast<std::uint8_t>(current_magic);
    store_be<std::int16_t>(p + batch_layout::attributes, attributes);
    store_be<std::int32_t>(p + last_offset_delta,
                           last_offset_delta_override_.value_or(last_delta_));
    store_be<std::int64_t>(p + base_timestamp, base_timestamp_);
    store_be<std::int64_t>(p + max_timestamp, max_timestamp_);
    store_be<std::int64_t>(p + producer_id, producer_id_);
    store_be<std::int16_t>(p + producer_epoch, producer_epoch_);
    store_be<std::int32_t>(p + base_sequence, base_sequence_);
    store_be<std::int32_t>(p + batch_layout::record_count, static_cast<std::int32_t>(count_));
    store_be<std::uint32_t>(p + crc, compute_batch_crc(out));
    return record_batch(std::move(out));
}

}  // namespace sluice::store
