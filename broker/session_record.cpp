#include "broker/session_record.hpp"

#include <algorithm>
#include <charconv>

#include "ingest/record_mapping.hpp"
#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"

namespace sluice::broker {

namespace {

// Versions of the __sessions value. A new layout takes a new version byte; a reader that
// meets a version it does not know drops the record (the session is not restored) rather than
// misreading it. Format 2 is format 1 followed by the backlog cursors; a session without
// cursors is still written as format 1.
constexpr std::uint8_t session_format = 1;
constexpr std::uint8_t session_format_cursors = 2;
// Format 2 with the cursor block always present (it may be empty), then each subscription's
// start (`since_ms`, in the order of the subscriptions): written only when one has a start.
constexpr std::uint8_t session_format_since = 3;

constexpr std::string_view h_qos = "sluice.qos";          // the QoS this subscriber gets
constexpr std::string_view h_retain = "sluice.retain";    // the RETAIN flag to send
constexpr std::string_view h_sub_ids = "sluice.sub_ids";  // comma-separated
constexpr std::string_view h_share = "sluice.share";
constexpr std::string_view h_released = "sluice.released";

class writer {
  public:
    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u16(std::uint16_t v) { be(v, 2); }
    void u32(std::uint32_t v) { be(v, 4); }
    void u64(std::uint64_t v) { be(v, 8); }
    void str(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        out_.append(s);
    }
    std::string take() { return std::move(out_); }

  private:
    void be(std::uint64_t v, int n) {
        for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    }
    std::string out_;
};

class reader {
  public:
    explicit reader(std::string_view in) : in_(in) {}
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }
    std::uint8_t u8() { return static_cast<std::uint8_t>(be(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(be(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(be(4)); }
    std::uint64_t u64() { return be(8); }
    std::string str() {
        const std::uint32_t n = u32();
        if (!ok_ || in_.size() - pos_ < n) {
            ok_ = false;
            return {};
        }
        std::string s(in_.substr(pos_, n));
        pos_ += n;
        return s;
    }

  private:
    std::uint64_t be(std::size_t n) {
        if (!ok_ || in_.size() - pos_ < n) {
            ok_ = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i)
            v = (v << 8) | static_cast<std::uint8_t>(in_[pos_ + i]);
        pos_ += n;
        return v;
    }
    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

std::uint8_t options_byte(const mqtt::subscription_options& o) {
    return static_cast<std::uint8_t>(static_cast<std::uint8_t>(o.max_qos) | (o.no_local ? 4 : 0) |
                                     (o.retain_as_published ? 8 : 0) |
                                     (static_cast<std::uint8_t>(o.handling) << 4));
}

std::optional<mqtt::subscription_options> options_from(std::uint8_t b) {
    mqtt::subscription_options o;
    if ((b & 3) > 2 || ((b >> 4) & 3) > 2 || (b & 0xC0)) return std::nullopt;
    o.max_qos = static_cast<mqtt::qos>(b & 3);
    o.no_local = b & 4;
    o.retain_as_published = b & 8;
    o.handling = static_cast<mqtt::retain_handling>((b >> 4) & 3);
    return o;
}

// A will travels as the MQTT 5 PUBLISH it becomes (the codec knows every property), with its
// Will Delay Interval apart (not a PUBLISH property).
std::string encode_will(const mqtt::will_message& w) {
    mqtt::publish p;
    p.topic = w.topic;
    p.payload = w.payload;
    p.qos_level = w.qos_level;
    p.retain = w.retain;
    p.packet_id = w.qos_level == mqtt::qos::at_most_once ? 0 : 1;
    p.props = w.props;
    p.props.will_delay_interval.reset();
    std::vector<std::uint8_t> bytes;
    if (!mqtt::encode(p, mqtt::protocol_version::v5, bytes)) return {};
    return std::string(bytes.begin(), bytes.end());
}

std::optional<mqtt::will_message> decode_will(std::string_view bytes) {
    mqtt::stream_decoder dec(
        {mqtt::decoder_role::any, 268'435'460, mqtt::protocol_version::v5});
    dec.feed({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    mqtt::packet pkt;
    if (dec.next(pkt) != mqtt::decode_status::packet) return std::nullopt;
    auto* p = std::get_if<mqtt::publish>(&pkt);
    if (!p) return std::nullopt;
    mqtt::will_message w;
    w.topic = std::move(p->topic);
    w.payload = std::move(p->payload);
    w.qos_level = p->qos_level;
    w.retain = p->retain;
    w.props = std::move(p->props);
    return w;
}

const std::string* find_header(const store::record& r, std::string_view key) {
    for (const auto& h : r.headers)
        if (h.key == key && h.value) return &*h.value;
    return nullptr;
}

template <typename T>
std::optional<T> number(std::string_view s) {
    T v{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

std::string encode_session(const persisted_session& s) {
    writer w;
    const bool since = std::any_of(s.subscriptions.begin(), s.subscriptions.end(),
                                   [](const persisted_subscription& sub) { return sub.rec.since_ms != 0; });
    w.u8(since ? session_format_since
               : s.cursors.empty() ? session_format : session_format_cursors);
    w.u32(s.expiry);
    w.u64(static_cast<std::uint64_t>(s.offline_since_ms));
    w.u64(static_cast<std::uint64_t>(s.producer_id));
    w.u16(static_cast<std::uint16_t>(s.producer_epoch));
    w.u32(static_cast<std::uint32_t>(s.subscriptions.size()));
    for (const auto& sub : s.subscriptions) {
        w.str(sub.filter);
        w.u8(options_byte(sub.rec.options));
        w.u32(sub.rec.subscription_id);
    }
    w.u32(static_cast<std::uint32_t>(s.incoming_qos2.size()));
    for (auto id : s.incoming_qos2) w.u16(id);
    w.u8(s.will ? 1 : 0);
    if (s.will) {
        w.u32(s.will->props.will_delay_interval.value_or(0));
        w.u64(static_cast<std::uint64_t>(s.will_at_ms));
        w.str(encode_will(*s.will));
    }
    if (!s.cursors.empty() || since) {
        w.u32(static_cast<std::uint32_t>(s.cursors.size()));
        for (const auto& c : s.cursors) {
            w.str(c.log_topic);
            w.u32(static_cast<std::uint32_t>(c.partition));
            w.u64(static_cast<std::uint64_t>(c.next));
        }
    }
    if (since)
        for (const auto& sub : s.subscriptions) w.u64(static_cast<std::uint64_t>(sub.rec.since_ms));
    return w.take();
}

std::optional<persisted_session> decode_session(std::string_view bytes) {
    reader r(bytes);
    const std::uint8_t format = r.u8();
    if (format != session_format && format != session_format_cursors &&
        format != session_format_since)
        return std::nullopt;
    persisted_session s;
    s.expiry = r.u32();
    s.offline_since_ms = static_cast<std::int64_t>(r.u64());
    s.producer_id = static_cast<std::int64_t>(r.u64());
    s.producer_epoch = static_cast<std::int16_t>(r.u16());
    const std::uint32_t subs = r.u32();
    for (std::uint32_t i = 0; i < subs && r.ok(); ++i) {
        persisted_subscription sub;
        sub.filter = r.str();
        auto o = options_from(r.u8());
        if (!o) return std::nullopt;
        sub.rec.options = *o;
        sub.rec.subscription_id = r.u32();
        s.subscriptions.push_back(std::move(sub));
    }
    const std::uint32_t ids = r.u32();
    for (std::uint32_t i = 0; i < ids && r.ok(); ++i) s.incoming_qos2.push_back(r.u16());
    const std::uint8_t has_will = r.u8();
    if (has_will > 1) return std::nullopt;
    if (has_will) {
        const std::uint32_t delay = r.u32();
        s.will_at_ms = static_cast<std::int64_t>(r.u64());
        auto will = decode_will(r.str());
        if (!r.ok() || !will) return std::nullopt;
        if (delay) will->props.will_delay_interval = delay;
        s.will = std::move(will);
    }
    if (format == session_format_cursors || format == session_format_since) {
        const std::uint32_t n = r.u32();
        for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
            log_cursor c;
            c.log_topic = r.str();
            const std::uint32_t partition = r.u32();
            c.next = static_cast<std::int64_t>(r.u64());
            if (partition > 0x7FFFFFFF || c.next < 0) return std::nullopt;
            c.partition = static_cast<int>(partition);
            s.cursors.push_back(std::move(c));
        }
        if (n == 0 && format == session_format_cursors) return std::nullopt;  // only with cursors
    }
    if (format == session_format_since)
        for (auto& sub : s.subscriptions) {
            sub.rec.since_ms = static_cast<std::int64_t>(r.u64());
            if (sub.rec.since_ms < 0) return std::nullopt;
        }
    if (!r.ok() || !r.at_end()) return std::nullopt;
    return s;
}

std::string queue_key(std::string_view client_id, std::uint64_t seq) {
    std::string k(client_id);
    k.push_back('\0');
    for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((seq >> (8 * i)) & 0xFF));
    return k;
}

std::optional<std::pair<std::string, std::uint64_t>> parse_queue_key(std::string_view key) {
    // An MQTT client id never holds U+0000, so the 0 byte nine from the end separates.
    if (key.size() < 10 || key[key.size() - 9] != '\0') return std::nullopt;
    std::uint64_t seq = 0;
    for (std::size_t i = key.size() - 8; i < key.size(); ++i)
        seq = (seq << 8) | static_cast<std::uint8_t>(key[i]);
    return std::pair{std::string(key.substr(0, key.size() - 9)), seq};
}

namespace {
constexpr std::string_view session_cursor_tag = "cursor:";
constexpr std::string_view share_cursor_tag = "share-cursor:";

std::string tagged_cursor_key(std::string_view owner, std::string_view tag, const log_cursor& c) {
    std::string k(owner);
    k.push_back('\0');
    k += tag;
    k += std::to_string(c.partition);
    k.push_back(':');
    k += c.log_topic;
    return k;
}

std::optional<std::pair<std::string, log_cursor>> parse_tagged_cursor(const store::record& r,
                                                                      std::string_view tag) {
    if (!r.key) return std::nullopt;
    const std::string_view key = *r.key;
    const auto zero = key.find('\0');
    if (zero == std::string_view::npos) return std::nullopt;
    std::string_view rest = key.substr(zero + 1);
    if (!rest.starts_with(tag)) return std::nullopt;
    rest.remove_prefix(tag.size());
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto partition = number<int>(rest.substr(0, colon));
    if (!partition || *partition < 0 || colon + 1 >= rest.size()) return std::nullopt;
    log_cursor c{std::string(rest.substr(colon + 1)), *partition, -1};
    if (r.value) {
        auto next = number<std::int64_t>(*r.value);
        if (!next || *next < 0) return std::nullopt;
        c.next = *next;
    }
    return std::pair{std::string(key.substr(0, zero)), std::move(c)};
}

// A cursor's record under `key`: the next offset to read, as decimal text.
store::record cursor_value_record(std::string key, const log_cursor& c) {
    store::record r;
    r.key = std::move(key);
    r.value = std::to_string(c.next);
    return r;
}
}  // namespace

std::string cursor_key(std::string_view client_id, const log_cursor& c) {
    return tagged_cursor_key(client_id, session_cursor_tag, c);
}

store::record cursor_record(std::string_view client_id, const log_cursor& c) {
    return cursor_value_record(cursor_key(client_id, c), c);
}

std::optional<std::pair<std::string, log_cursor>> parse_cursor_record(const store::record& r) {
    return parse_tagged_cursor(r, session_cursor_tag);
}

std::string share_cursor_key(std::string_view share, const log_cursor& c) {
    return tagged_cursor_key(share, share_cursor_tag, c);
}

store::record share_cursor_record(std::string_view share, const log_cursor& c) {
    return cursor_value_record(share_cursor_key(share, c), c);
}

std::optional<std::pair<std::string, log_cursor>> parse_share_cursor_record(
    const store::record& r) {
    return parse_tagged_cursor(r, share_cursor_tag);
}

store::record delivery_to_record(std::string_view client_id, std::uint64_t seq,
                                 const delivery& d, steady_clock::time_point now,
                                 std::int64_t now_ms) {
    mqtt::publish p = d.msg->packet();
    if (p.props.message_expiry_interval) p.props.message_expiry_interval = d.msg->remaining_expiry(now);
    store::record r = ingest::to_record(p, {}, now_ms, ingest::delivery_id{},
                                        std::string_view(queue_key(client_id, seq)));
    std::erase_if(r.headers, [](const store::record_header& h) {
        return h.key == "mqtt.delivery_id" || h.key == "mqtt.client_id";
    });
    r.headers.push_back({std::string(h_qos), std::to_string(static_cast<int>(d.qos_level))});
    r.headers.push_back({std::string(h_retain), d.retain ? "1" : "0"});
    if (!d.subscription_ids.empty()) {
        std::string ids;
        for (auto id : d.subscription_ids) {
            if (!ids.empty()) ids.push_back(',');
            ids += std::to_string(id);
        }
        r.headers.push_back({std::string(h_sub_ids), std::move(ids)});
    }
    if (!d.share.empty()) r.headers.push_back({std::string(h_share), d.share});
    return r;
}

store::record released_to_record(std::string_view client_id, std::uint64_t seq,
                                 std::uint16_t packet_id) {
    store::record r;
    r.key = queue_key(client_id, seq);
    r.value = std::string();
    r.headers.push_back({std::string(h_released), std::to_string(packet_id)});
    return r;
}

queued_entry queued_from_record(const store::record& r, steady_clock::time_point now,
                                std::int64_t now_ms) {
    queued_entry e;
    if (!r.value) return e;
    if (const auto* rel = find_header(r, h_released)) {
        auto id = number<std::uint16_t>(*rel);
        if (!id || *id == 0) return e;
        e.what = queued_entry::kind::released;
        e.packet_id = *id;
        return e;
    }
    auto pub = ingest::from_record(r, now_ms);
    if (pub.error == ingest::mapping_error::expired) {
        e.what = queued_entry::kind::expired;
        return e;
    }
    if (!pub.ok()) return e;
    const auto* q = find_header(r, h_qos);
    auto qv = q ? number<int>(*q) : std::nullopt;
    if (!qv || *qv < 1 || *qv > 2) return e;
    e.d.qos_level = static_cast<mqtt::qos>(*qv);
    const auto* ret = find_header(r, h_retain);
    e.d.retain = ret && *ret == "1";
    if (const auto* ids = find_header(r, h_sub_ids)) {
        std::string_view rest = *ids;
        while (!rest.empty()) {
            auto comma = rest.find(',');
            auto id = number<std::uint32_t>(rest.substr(0, comma));
            if (!id) return e;
            e.d.subscription_ids.push_back(*id);
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    if (const auto* share = find_header(r, h_share)) e.d.share = *share;
    e.d.msg = make_message(std::move(pub.publish), nullptr, now);
    e.what = queued_entry::kind::message;
    return e;
}

}  // namespace sluice::broker
