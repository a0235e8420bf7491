#include "store/batch_reader.hpp"

#include "store/lz4_frame.hpp"
#include "store/varint.hpp"

namespace sluice::store {
namespace {

bool read_nullable(byte_reader& r, std::optional<std::string>& out) {
    auto len = r.varint();
    if (!len || *len < -1) return false;
    if (*len == -1) {
        out.reset();
        return true;
    }
    const std::uint8_t* p = r.take(static_cast<std::size_t>(*len));
    if (!p) return false;
    out.emplace(reinterpret_cast<const char*>(p), static_cast<std::size_t>(*len));
    return true;
}

errc decode_records(const batch_header& h, const std::uint8_t* p, std::size_t n,
                    std::vector<record>& out) {
    byte_reader r(p, n);
    const bool append_time = (h.attributes & batch_attr::log_append_time) != 0;
    for (std::int32_t i = 0; i < h.record_count; ++i) {
        auto len = r.varint();
        if (!len || *len < 0 || static_cast<std::size_t>(*len) > r.remaining())
            return errc::corrupt_message;
        byte_reader body(r.take(static_cast<std::size_t>(*len)), static_cast<std::size_t>(*len));
        record rec;
        auto attrs = body.int8();
        auto ts_delta = body.varlong();
        auto off_delta = body.varint();
        if (!attrs || !ts_delta || !off_delta) return errc::corrupt_message;
        if (*off_delta < 0 || *off_delta > h.last_offset_delta) return errc::corrupt_message;
        // Both sums come from untrusted bytes: one that does not fit an int64 is a corrupt
        // record, not undefined behaviour.
        if (__builtin_add_overflow(h.base_offset, std::int64_t{*off_delta}, &rec.offset))
            return errc::corrupt_message;
        if (append_time)
            rec.timestamp = h.max_timestamp;
        else if (__builtin_add_overflow(h.base_timestamp, *ts_delta, &rec.timestamp))
            return errc::corrupt_message;
        if (!read_nullable(body, rec.key) || !read_nullable(body, rec.value))
            return errc::corrupt_message;
        auto header_count = body.varint();
        if (!header_count || *header_count < 0 ||
            static_cast<std::size_t>(*header_count) > body.remaining())
            return errc::corrupt_message;
        rec.headers.reserve(static_cast<std::size_t>(*header_count));
        for (std::int32_t k = 0; k < *header_count; ++k) {
            std::optional<std::string> hk;
            record_header hdr;
            if (!read_nullable(body, hk) || !hk || !read_nullable(body, hdr.value))
                return errc::corrupt_message;
            hdr.key = std::move(*hk);
            rec.headers.push_back(std::move(hdr));
        }
        if (body.remaining() != 0) return errc::corrupt_message;
        out.push_back(std::move(rec));
    }
    if (r.remaining() != 0) return errc::corrupt_message;
    return errc::ok;
}

}  // namespace

errc decode_batch(byte_span bytes, decoded_batch& out) {
    if (auto e = validate_batch(bytes); e != errc::ok) return e;
    out.header = *parse_batch_header(bytes.data(), bytes.size());
    out.records.clear();
    const std::uint8_t* body = bytes.data() + batch_layout::header_size;
    std::size_t body_size = bytes.size() - batch_layout::header_size;
    // Each record takes at least 7 bytes, which bounds an absurd record count up front.
    if (out.header.codec() == compression::none &&
        static_cast<std::size_t>(out.header.record_count) > body_size)
        return errc::corrupt_message;
    if (out.header.codec() == compression::lz4) {
        byte_buffer plain;
        if (!lz4_decompress_frame(byte_span(body, body_size), plain, max_decompressed_batch))
            return errc::corrupt_message;
        if (static_cast<std::size_t>(out.header.record_count) > plain.size())
            return errc::corrupt_message;
        out.records.reserve(static_cast<std::size_t>(out.header.record_count));
        return decode_records(out.header, plain.data(), plain.size(), out.records);
    }
    out.records.reserve(static_cast<std::size_t>(out.header.record_count));
    return decode_records(out.header, body, body_size, out.records);
}

errc decode_batches(byte_span bytes, std::vector<decoded_batch>& out) {
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        auto h = parse_batch_header(bytes.data() + pos, bytes.size() - pos);
        if (!h || h->size_bytes() > bytes.size() - pos) return errc::corrupt_message;
        decoded_batch d;
        if (auto e = decode_batch(bytes.subspan(pos, h->size_bytes()), d); e != errc::ok) return e;
        out.push_back(std::move(d));
        pos += h->size_bytes();
    }
    return errc::ok;
}

}  // namespace sluice::store
