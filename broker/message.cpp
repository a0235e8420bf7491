#include "broker/message.hpp"

namespace sluice::broker {

message::message(mqtt::publish pkt, const void* origin, steady_clock::time_point now)
    : pkt_(std::move(pkt)), origin_(origin), received_at_(now) {
    pkt_.dup = false;
    pkt_.packet_id = 0;
    pkt_.props.topic_alias.reset();
    pkt_.props.subscription_identifiers.clear();
    if (pkt_.props.message_expiry_interval)
        expires_at_ = now + std::chrono::seconds(*pkt_.props.message_expiry_interval);
}

std::optional<std::uint32_t> message::remaining_expiry(steady_clock::time_point now) const {
    if (!pkt_.props.message_expiry_interval) return std::nullopt;
    auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - received_at_).count();
    std::int64_t left = static_cast<std::int64_t>(*pkt_.props.message_expiry_interval) - waited;
    return static_cast<std::uint32_t>(left > 0 ? left : 0);
}

bool message::encoder_is_current(steady_clock::time_point now) const {
    return !pkt_.props.message_expiry_interval ||
           remaining_expiry(now) == pkt_.props.message_expiry_interval;
}

const mqtt::publish_encoder& message::encoder(mqtt::protocol_version version) const {
    if (version == mqtt::protocol_version::v5) {
        std::call_once(once_v5_, [&] {
            enc_v5_ = std::make_unique<mqtt::publish_encoder>(pkt_, mqtt::protocol_version::v5);
        });
        return *enc_v5_;
    }
    std::call_once(once_v4_, [&] {
        enc_v4_ = std::make_unique<mqtt::publish_encoder>(pkt_, mqtt::protocol_version::v3_1_1);
    });
    return *enc_v4_;
}

std::unique_ptr<mqtt::publish_encoder> message::encode_fresh(mqtt::protocol_version version,
                                                             steady_clock::time_point now) const {
    mqtt::publish copy = pkt_;
    copy.props.message_expiry_interval = remaining_expiry(now);
    return std::make_unique<mqtt::publish_encoder>(copy, version);
}

}  // namespace sluice::broker
