#pragma once
// The record header keys an MQTT publish travels with (docs/ingest.md, "Record headers").
// Every key Sluice itself writes starts with "mqtt."; a user property `name` becomes the
// header "mqtt.user.name". No fixed key below starts with "mqtt.user.", and none ever may,
// so a user property can never be read back as one of them.

#include <string_view>

namespace sluice::ingest::header {

constexpr std::string_view topic = "mqtt.topic";
constexpr std::string_view qos = "mqtt.qos";
constexpr std::string_view retain = "mqtt.retain";
constexpr std::string_view client_id = "mqtt.client_id";
constexpr std::string_view delivery_id = "mqtt.delivery_id";
constexpr std::string_view content_type = "mqtt.content_type";
constexpr std::string_view payload_format = "mqtt.payload_format";
constexpr std::string_view response_topic = "mqtt.response_topic";
constexpr std::string_view correlation_data = "mqtt.correlation_data";
constexpr std::string_view message_expiry = "mqtt.message_expiry";
constexpr std::string_view user_prefix = "mqtt.user.";
constexpr std::string_view reserved_prefix = "mqtt.";

}  // namespace sluice::ingest::header
