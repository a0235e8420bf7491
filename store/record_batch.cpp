#include "store/record_batch.hpp"

#include "store/byte_order.hpp"
#include "store/crc32c.hpp"

namespace sluice::store {

std::int32_t batch_header::last_sequence() const {
    if (base_sequence < 0) return no_sequence;
    std::int64_t s = static_cast<std::int64_t>(base_sequence) + last_offset_delta;
    if (s > INT32_MAX) s -= static_cast<std::int64_t>(INT32_MAX) + 1;
    return static_cast<std::int32_t>(s);
}

std::optional<batch_header> parse_batch_header(const std::uint8_t* p, std::size_t n) {
    using namespace batch_layout;
    if (n < header_size) return std::nullopt;
    batch_header h;
    h.base_offset = load_be<std::int64_t>(p + base_offset);
    h.batch_length = load_be<std::int32_t>(p + batch_length);
    h.partition_leader_epoch = load_be<std::int32_t>(p + partition_leader_epoch);
    h.magic = static_cast<std::int8_t>(p[magic]);
    h.crc = load_be<std::uint32_t>(p + crc);
    h.attributes = load_be<std::int16_t>(p + attributes);
    h.last_offset_delta = load_be<std::int32_t>(p + last_offset_delta);
    h.base_timestamp = load_be<std::int64_t>(p + base_timestamp);
    h.max_timestamp = load_be<std::int64_t>(p + max_timestamp);
    h.producer_id = load_be<std::int64_t>(p + producer_id);
    h.producer_epoch = load_be<std::int16_t>(p + producer_epoch);
    h.base_sequence = load_be<std::int32_t>(p + base_sequence);
    h.record_count = load_be<std::int32_t>(p + record_count);
    if (h.batch_length < static_cast<std::int32_t>(header_size - log_overhead)) return std::nullopt;
    return h;
}

std::uint32_t compute_batch_crc(byte_span bytes) {
    return crc32c(bytes.data() + batch_layout::attributes, bytes.size() - batch_layout::attributes);
}

errc validate_batch(byte_span bytes) {
    auto h = parse_batch_header(bytes.data(), bytes.size());
    if (!h) return errc::corrupt_message;
    if (h->size_bytes() != bytes.size()) return errc::corrupt_message;
    if (h->magic != batch_layout::current_magic) return errc::corrupt_message;
    if (compute_batch_crc(bytes) != h->crc) return errc::corrupt_message;
    if (h->record_count < 0 || h->last_offset_delta < 0) return errc::corrupt_message;
    // A compacted batch may hold fewer records than its offset span, never more.
    if (h->record_count > static_cast<std::int64_t>(h->last_offset_delta) + 1)
        return errc::corrupt_message;
    auto codec = h->codec();
    if (codec != compression::none && codec != compression::lz4)
        return errc::unsupported_compression;
    return errc::ok;
}

batch_header record_batch::header() const {
    return *parse_batch_header(bytes_.data(), bytes_.size());
}

void record_batch::set_base_offset(offset o) {
    store_be<std::int64_t>(bytes_.data() + batch_layout::base_offset, o.value);
}

void record_batch::set_partition_leader_epoch(leader_epoch e) {
    store_be<std::int32_t>(bytes_.data() + batch_layout::partition_leader_epoch, e.value);
}

}  // namespace sluice::store
