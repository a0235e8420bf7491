// libFuzzer target for what the ingest module reads from outside: records written by Kafka
// producers (egress, replay) and the rule config. The first byte picks the mode:
//   0: a record (built from the bytes) through from_record, retained_from_record and three
//      egress rules; every publish they accept must encode as MQTT 5, decode back equal, and
//      survive to_record -> from_record unchanged;
//   1: the rest as JSON through ingest_rules::parse (then a few matches);
//   2: the rest as JSON through egress_rules::parse.
// Nothing may throw, crash or trip a sanitizer.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingest/egress_rules.hpp"
#include "ingest/ingest_rules.hpp"
#include "ingest/record_mapping.hpp"
#include "ingest/retained_record.hpp"
#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"

using namespace sluice;
using namespace sluice::ingest;

namespace {

constexpr std::int64_t now_ms = 1'700'000'000'000;

class byte_reader {
  public:
    byte_reader(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
    bool empty() const { return p_ == end_; }
    std::uint8_t u8() { return empty() ? 0 : *p_++; }
    std::string bytes(std::size_t n) {
        n = std::min<std::size_t>(n, static_cast<std::size_t>(end_ - p_));
        std::string s(reinterpret_cast<const char*>(p_), n);
        p_ += n;
        return s;
    }
    std::int64_t i64() {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v = (v << 8) | u8();
        return static_cast<std::int64_t>(v);
    }
    // A length byte (0xff: null) and that many bytes.
    std::optional<std::string> nullable() {
        const std::uint8_t n = u8();
        if (n == 0xff) return std::nullopt;
        return bytes(n);
    }

  private:
    const std::uint8_t* p_;
    const std::uint8_t* end_;
};

const char* const known_keys[] = {
    "mqtt.topic",
    "mqtt.qos",
    "mqtt.retain",
    "mqtt.client_id",
    "mqtt.delivery_id",
    "mqtt.content_type",
    "mqtt.payload_format",
    "mqtt.response_topic",
    "mqtt.correlation_data",
    "mqtt.message_expiry",
    "mqtt.user.a",
    "mqtt.user.",
    "mqtt.",
    "plain",
};

void require(bool ok) {
    if (!ok) std::abort();
}

// A publish the module produced must be a valid MQTT 5 PUBLISH and map back to itself.
void check_publish(mqtt::publish p) {
    if (p.qos_level != mqtt::qos::at_most_once) p.packet_id = 1;
    std::vector<std::uint8_t> wire;
    require(mqtt::encode(p, mqtt::protocol_version::v5, wire));
    auto decoded = mqtt::decode_packet(wire, mqtt::protocol_version::v5);
    require(decoded.pkt.has_value());
    require(std::get<mqtt::publish>(*decoded.pkt) == p);

    const store::record r = to_record(p, "client", now_ms, delivery_id{1, 2, 3}, p.topic);
    auto back = from_record(r, now_ms);
    require(back.ok());
    back.publish.packet_id = p.packet_id;
    require(back.publish == p);
}

void fuzz_record(byte_reader& in) {
    store::record r;
    r.timestamp = in.i64();
    r.key = in.nullable();
    r.value = in.nullable();
    while (!in.empty()) {
        const std::uint8_t pick = in.u8();
        std::string key =
            pick < std::size(known_keys) ? std::string(known_keys[pick]) : in.bytes(pick % 32);
        r.headers.push_back({std::move(key), in.nullable()});
    }
    if (auto result = from_record(r, now_ms); result.ok()) check_publish(result.publish);
    if (auto result = retained_from_record(r, now_ms); result.ok() && result.entry.message)
        check_publish(*result.entry.message);

    std::string error;
    static const auto rules = egress_rules::parse(nlohmann::json::parse(R"([
        {"log_topic": "a", "mqtt_topic": "d/{key}/c"},
        {"log_topic": "b", "mqtt_topic": "{topic}/{partition}", "topic_from_header": true,
         "qos": 2},
        {"log_topic": "c", "topic_from_header": true, "headers_as_user_properties": true}
    ])"),
                                                  error);
    require(rules.has_value());
    for (const auto& rule : rules->rules())
        if (auto result = to_publish(rule, r, 7, now_ms); result.ok())
            check_publish(result.publish);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    byte_reader in(data + 1, size - 1);
    switch (data[0] % 3) {
        case 0:
            fuzz_record(in);
            break;
        case 1: {
            auto j = nlohmann::json::parse(data + 1, data + size, nullptr, false);
            if (j.is_discarded()) break;
            std::string error;
            auto rules = ingest_rules::parse(j, error);
            require(rules.has_value() || !error.empty());
            if (rules)
                for (const char* t : {"a", "a/b/c", "$SYS/x", "$x/y", "/", "sensors/1/temp"})
                    if (const ingest_rule* rule = rules->logging_rule(t))
                        require(partition_for(*rule, t, "c") < rule->partitions);
            break;
        }
        default: {
            auto j = nlohmann::json::parse(data + 1, data + size, nullptr, false);
            if (j.is_discarded()) break;
            std::string error;
            auto rules = egress_rules::parse(j, error);
            require(rules.has_value() || !error.empty());
            break;
        }
    }
    return 0;
}
