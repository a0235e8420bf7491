#include "broker/message.hpp"

namespace sluice::broker {

message::message(mqtt::publish&& pkt, const void* origin, steady_clock::time_point now,
                 log_position logged)
    : pkt_(std::move(pkt)), origin_(origin), logged_(std::move(logged)), received_at_(now) {
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

message::~message() {
    delete enc_v4_.load(std::memory_order_relaxed);
    delete enc_v5_.load(std::memory_order_relaxed);
}

const mqtt::publish_encoder& message::encoder(mqtt::protocol_version version) const {
    const bool v5 = version == mqtt::protocol_version::v5;
    auto& slot = v5 ? enc_v5_ : enc_v4_;
    if (const auto* e = slot.load(std::memory_order_acquire)) return *e;
    // Usually one thread (the publisher's or the first subscriber's) builds it; if two race,
    // the second frees its copy and uses the first.
    auto* built = new mqtt::publish_encoder(
        pkt_, v5 ? mqtt::protocol_version::v5 : mqtt::protocol_version::v3_1_1);
    const mqtt::publish_encoder* expected = nullptr;
    if (slot.compare_exchange_strong(expected, built, std::memory_order_acq_rel)) return *built;
    delete built;
    return *expected;
}

std::unique_ptr<mqtt::publish_encoder> message::encode_fresh(mqtt::protocol_version version,
                                                             steady_clock::time_point now) const {
    mqtt::publish copy = pkt_;
    copy.props.message_expiry_interval = remaining_expiry(now);
    return std::make_unique<mqtt::publish_encoder>(copy, version);
}

}  // namespace sluice::broker
