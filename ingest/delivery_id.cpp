#include "ingest/delivery_id.hpp"

#include <charconv>
#include <limits>

#include "ingest/headers.hpp"
#include "store/batch_builder.hpp"

namespace sluice::ingest {
namespace {

// A non-negative decimal without sign or leading zeros that fits T.
template <typename T>
std::optional<T> parse_decimal(std::string_view s) {
    if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    for (char c : s)
        if (c < '0' || c > '9') return std::nullopt;
    T value{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return value;
}

}  // namespace

std::string delivery_id::to_string() const {
    std::string out = std::to_string(producer_id);
    out += ':';
    out += std::to_string(epoch);
    out += ':';
    out += std::to_string(sequence);
    return out;
}

std::optional<delivery_id> delivery_id::parse(std::string_view text) {
    const auto first = text.find(':');
    if (first == std::string_view::npos) return std::nullopt;
    const auto second = text.find(':', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    auto pid = parse_decimal<std::int64_t>(text.substr(0, first));
    auto epoch = parse_decimal<std::int16_t>(text.substr(first + 1, second - first - 1));
    auto seq = parse_decimal<std::int32_t>(text.substr(second + 1));
    if (!pid || !epoch || !seq) return std::nullopt;
    return delivery_id{*pid, *epoch, *seq};
}

std::int32_t increment_sequence(std::int32_t sequence, std::int32_t n) {
    constexpr std::int32_t max = std::numeric_limits<std::int32_t>::max();
    if (sequence > max - n) return n - (max - sequence) - 1;
    return sequence + n;
}

delivery_id delivery_id::plus(std::int32_t n) const {
    return {producer_id, epoch, increment_sequence(sequence, n)};
}

delivery_id session_producer::assign(std::string_view log_topic, int partition, std::int32_t n) {
    if (n < 1) n = 1;
    for (auto& c : cursors_) {
        if (c.partition == partition && c.log_topic == log_topic) {
            delivery_id id{producer_id_, epoch_, c.next};
            c.next = increment_sequence(c.next, n);
            return id;
        }
    }
    cursors_.push_back({std::string(log_topic), partition, increment_sequence(0, n)});
    return {producer_id_, epoch_, 0};
}

std::int32_t session_producer::next_sequence(std::string_view log_topic, int partition) const {
    for (const auto& c : cursors_)
        if (c.partition == partition && c.log_topic == log_topic) return c.next;
    return 0;
}

bool session_producer::bump_epoch() {
    if (epoch_ == std::numeric_limits<std::int16_t>::max()) return false;
    ++epoch_;
    cursors_.clear();
    return true;
}

void session_producer::renew(std::int64_t producer_id) {
    producer_id_ = producer_id;
    epoch_ = 0;
    cursors_.clear();
}

std::optional<store::record_batch> build_producer_batch(std::span<const store::record> records,
                                                        const delivery_id& first,
                                                        store::compression codec) {
    if (records.empty()) return std::nullopt;
    store::batch_builder builder(codec);
    builder.set_producer(first.producer_id, first.epoch, first.sequence);
    for (const auto& r : records) {
        auto view = [](const std::optional<std::string>& s) {
            return s ? std::optional<std::string_view>(*s) : std::nullopt;
        };
        builder.add(r.timestamp, view(r.key), view(r.value), r.headers);
    }
    return builder.build();
}

bool written_by_mqtt_ingest(const store::batch_header& batch, const store::record& r) {
    if (!batch.has_producer() || batch.base_sequence < 0) return false;
    const std::int64_t delta = r.offset - batch.base_offset;
    if (delta < 0 || delta > batch.last_offset_delta) return false;
    for (const auto& h : r.headers) {
        if (h.key != header::delivery_id) continue;
        if (!h.value) return false;
        const auto id = delivery_id::parse(*h.value);
        return id && id->producer_id == batch.producer_id && id->epoch == batch.producer_epoch &&
               id->sequence ==
                   increment_sequence(batch.base_sequence, static_cast<std::int32_t>(delta));
    }
    return false;
}

}  // namespace sluice::ingest
