#include "mqtt/decoder.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "mqtt/packet_decoder.hpp"

namespace sluice::mqtt {

namespace {

// Bodies of PUBLISH packets get their own allocation so the payload can outlive the decoder's
// buffer; other packets are decoded in place and copy only their (small) fields.
std::shared_ptr<const void> copy_body(const std::uint8_t* data, std::size_t size) {
    auto body = std::make_shared<std::uint8_t[]>(size == 0 ? 1 : size);
    if (size != 0) std::memcpy(body.get(), data, size);
    return body;
}

}  // namespace

stream_decoder::stream_decoder(decoder_options options) : options_(options) {}

void stream_decoder::make_room(std::size_t n) {
    if (read_pos_ == end_) {
        read_pos_ = end_ = 0;
        // A connection that once received a large packet should not keep its buffer forever.
        if (buffer_.size() > 65'536 && n <= 65'536) {
            buffer_.clear();
            buffer_.shrink_to_fit();
        }
    } else if (read_pos_ > 0 && (buffer_.size() - end_ < n || read_pos_ * 2 > end_)) {
        // Drop consumed bytes when room is short or they are the larger part: each byte moves
        // at most a few times, so compaction stays amortised O(1) per byte.
        std::memmove(buffer_.data(), buffer_.data() + read_pos_, end_ - read_pos_);
        end_ -= read_pos_;
        read_pos_ = 0;
    }
    if (buffer_.size() - end_ < n) buffer_.resize(std::max(end_ + n, buffer_.size() * 2));
}

void stream_decoder::feed(std::span<const std::uint8_t> bytes) {
    if (failed_ || bytes.empty()) return;
    make_room(bytes.size());
    std::memcpy(buffer_.data() + end_, bytes.data(), bytes.size());
    end_ += bytes.size();
}

std::span<std::uint8_t> stream_decoder::prepare(std::size_t n) {
    make_room(n);
    return std::span<std::uint8_t>(buffer_.data() + end_, n);
}

void stream_decoder::commit(std::size_t n) {
    if (failed_) return;
    end_ += std::min(n, buffer_.size() - end_);
}

decode_status stream_decoder::fail(const decode_error& e, std::uint8_t first,
                                   std::optional<protocol_version> before) {
    failed_ = true;
    error_ = e;
    error_.response = detail::response_to(first, e.code, before, options_.version);
    buffer_.clear();
    buffer_.shrink_to_fit();
    read_pos_ = end_ = 0;
    return decode_status::error;
}

decode_status stream_decoder::next(packet& out) {
    if (failed_) return decode_status::error;
    const std::uint8_t* data = buffer_.data() + read_pos_;
    const std::size_t available = end_ - read_pos_;

    if (available == 0) return decode_status::need_more;
    const std::uint8_t first = data[0];
    const std::optional<protocol_version> before = options_.version;
    // The first byte alone can already be wrong (e.g. a non-CONNECT first packet). Checking it
    // before the remaining length keeps the verdict independent of how the bytes were chunked.
    if (auto e = detail::check_first_byte(first, before, options_.role)) {
        return fail(*e, first, before);
    }
    detail::fixed_header h;
    decode_error header_error;
    switch (detail::parse_fixed_header(data, available, h, header_error)) {
        case detail::header_status::need_more:
            return decode_status::need_more;
        case detail::header_status::error:
            return fail(header_error, first, before);
        case detail::header_status::complete:
            break;
    }
    if (auto e = detail::check_fixed_header(h, before, options_.role)) {
        return fail(*e, first, before);
    }
    const std::size_t total = h.header_size + h.remaining_length;
    if (total > options_.maximum_packet_size) {
        return fail({reason_code::packet_too_large, "packet larger than the maximum packet size"},
                    first, before);
    }
    if (available < total) return decode_status::need_more;

    const std::uint8_t* body = data + h.header_size;
    std::shared_ptr<const void> owner;
    if (h.type() == packet_type::publish) {
        owner = copy_body(body, h.remaining_length);
        body = static_cast<const std::uint8_t*>(owner.get());
    }
    if (auto e =
            detail::decode_body(h, body, std::move(owner), options_.version, options_.role, out)) {
        return fail(*e, first, before);
    }
    read_pos_ += total;
    return decode_status::packet;
}

namespace {

decode_one_result decode_whole(std::span<const std::uint8_t> bytes,
                               std::optional<protocol_version>& version, decoder_role role) {
    decode_one_result result;
    if (!bytes.empty()) {
        if (auto e = detail::check_first_byte(bytes[0], version, role)) {
            result.error = *e;
            return result;
        }
    }
    detail::fixed_header h;
    switch (detail::parse_fixed_header(bytes.data(), bytes.size(), h, result.error)) {
        case detail::header_status::need_more:
            result.error = {reason_code::malformed_packet, "truncated fixed header"};
            return result;
        case detail::header_status::error:
            return result;
        case detail::header_status::complete:
            break;
    }
    if (auto e = detail::check_fixed_header(h, version, role)) {
        result.error = *e;
        return result;
    }
    const std::size_t total = h.header_size + h.remaining_length;
    if (bytes.size() < total) {
        result.error = {reason_code::malformed_packet, "truncated packet"};
        return result;
    }
    if (bytes.size() > total) {
        result.error = {reason_code::malformed_packet, "bytes after the packet"};
        return result;
    }
    const std::uint8_t* body = bytes.data() + h.header_size;
    std::shared_ptr<const void> owner = copy_body(body, h.remaining_length);
    body = static_cast<const std::uint8_t*>(owner.get());
    packet p;
    if (auto e = detail::decode_body(h, body, std::move(owner), version, role, p)) {
        result.error = *e;
        return result;
    }
    result.pkt = std::move(p);
    return result;
}

}  // namespace

decode_one_result decode_packet(std::span<const std::uint8_t> bytes,
                                std::optional<protocol_version> version, decoder_role role) {
    const std::optional<protocol_version> before = version;
    decode_one_result result = decode_whole(bytes, version, role);
    if (!result.pkt && !bytes.empty()) {
        result.error.response = detail::response_to(bytes[0], result.error.code, before, version);
    }
    return result;
}

}  // namespace sluice::mqtt
