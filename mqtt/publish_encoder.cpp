#include "mqtt/publish_encoder.hpp"

#include "mqtt/properties_codec.hpp"
#include "mqtt/wire.hpp"

namespace sluice::mqtt {

publish_encoder::publish_encoder(const publish& message, protocol_version version)
    : version_(version), payload_(message.payload) {
    if (message.topic.size() > wire::max_string_length) {
        valid_ = false;
        return;
    }
    wire::put_string(topic_, message.topic);
    if (version_ == protocol_version::v5) {
        valid_ = detail::append_property_fields(
            message.props, properties_,
            detail::property_subset::without_alias_and_subscription_ids);
    }
}

std::size_t publish_encoder::remaining_length(const publish_delivery& d) const {
    std::size_t n = d.send_topic ? topic_.size() : 2;
    if (d.qos_level != qos::at_most_once) n += 2;
    if (version_ == protocol_version::v5) {
        std::size_t props = properties_.size();
        if (d.topic_alias) props += 3;
        for (std::uint32_t id : d.subscription_identifiers) props += 1 + wire::varint_size(id);
        n += wire::varint_size(static_cast<std::uint32_t>(props)) + props;
    }
    return n + payload_.size();
}

std::size_t publish_encoder::packet_size(const publish_delivery& d) const {
    const std::size_t n = remaining_length(d);
    return 1 + wire::varint_size(static_cast<std::uint32_t>(n)) + n;
}

std::size_t publish_encoder::header_size(const publish_delivery& d) const {
    return packet_size(d) - payload_.size();
}

bool publish_encoder::encode_header(const publish_delivery& d,
                                    std::vector<std::uint8_t>& out) const {
    if (!valid_) return false;
    for (std::uint32_t id : d.subscription_identifiers) {
        if (id == 0 || id > wire::max_remaining_length) return false;
    }
    const std::size_t remaining = remaining_length(d);
    if (remaining > wire::max_remaining_length) return false;

    auto first = static_cast<std::uint8_t>(0x30 | (static_cast<unsigned>(d.qos_level) << 1));
    if (d.dup) first |= 0x08;
    if (d.retain) first |= 0x01;
    // No exact reserve here: headers are appended one after another to one buffer, and an
    // exact reserve per call would reallocate on every call once the buffer is full.
    wire::put_u8(out, first);
    wire::put_varint(out, static_cast<std::uint32_t>(remaining));
    if (d.send_topic) {
        out.insert(out.end(), topic_.begin(), topic_.end());
    } else {
        wire::put_u16(out, 0);
    }
    if (d.qos_level != qos::at_most_once) wire::put_u16(out, d.packet_id);
    if (version_ == protocol_version::v5) {
        std::size_t props = properties_.size();
        if (d.topic_alias) props += 3;
        for (std::uint32_t id : d.subscription_identifiers) props += 1 + wire::varint_size(id);
        wire::put_varint(out, static_cast<std::uint32_t>(props));
        out.insert(out.end(), properties_.begin(), properties_.end());
        if (d.topic_alias) {
            wire::put_u8(out, static_cast<std::uint8_t>(property_id::topic_alias));
            wire::put_u16(out, *d.topic_alias);
        }
        for (std::uint32_t id : d.subscription_identifiers) {
            wire::put_u8(out, static_cast<std::uint8_t>(property_id::subscription_identifier));
            wire::put_varint(out, id);
        }
    }
    return true;
}

bool publish_encoder::encode(const publish_delivery& d, std::vector<std::uint8_t>& out) const {
    if (!encode_header(d, out)) return false;
    wire::put_bytes(out, payload_.view());
    return true;
}

}  // namespace sluice::mqtt
