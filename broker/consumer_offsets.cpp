#include "broker/consumer_offsets.hpp"
#include "broker/internal_topic.hpp"

#include "broker/log.hpp"

namespace sluice::broker::consumer_offsets {

namespace {

constexpr std::int16_t key_version = 1;
constexpr std::int16_t value_version = 3;

void put16(std::string& out, std::int16_t v) {
    const auto u = static_cast<std::uint16_t>(v);
    out.push_back(static_cast<char>(u >> 8));
    out.push_back(static_cast<char>(u & 0xff));
}
void put32(std::string& out, std::int32_t v) {
    const auto u = static_cast<std::uint32_t>(v);
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((u >> shift) & 0xff));
}
void put64(std::string& out, std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((u >> shift) & 0xff));
}
// Kafka strings carry an int16 length; the codec never decodes a longer one, so a longer
// string here is a programming error and is cut rather than written with a wrapped length.
void put_string(std::string& out, std::string_view s) {
    if (s.size() > 32767) s = s.substr(0, 32767);
    put16(out, static_cast<std::int16_t>(s.size()));
    out.append(s);
}

// Reads big-endian fields; the first short read sticks (ok() turns false).
class reader {
  public:
    explicit reader(std::string_view b) : b_(b) {}
    bool ok() const { return ok_; }
    bool done() const { return ok_ && pos_ == b_.size(); }
    std::uint64_t take(std::size_t n) {
        if (!ok_ || b_.size() - pos_ < n) {
            ok_ = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b_[pos_++]);
        return v;
    }
    std::int16_t i16() { return static_cast<std::int16_t>(static_cast<std::uint16_t>(take(2))); }
    std::int32_t i32() { return static_cast<std::int32_t>(static_cast<std::uint32_t>(take(4))); }
    std::int64_t i64() { return static_cast<std::int64_t>(take(8)); }
    std::string str() {
        const std::int16_t n = i16();
        if (!ok_ || n < 0 || b_.size() - pos_ < static_cast<std::size_t>(n)) {
            ok_ = false;
            return {};
        }
        std::string s(b_.substr(pos_, static_cast<std::size_t>(n)));
        pos_ += static_cast<std::size_t>(n);
        return s;
    }

  private:
    std::string_view b_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace

std::string encode_key(const offset_key& k) {
    std::string out;
    out.reserve(2 + 2 + k.group.size() + 2 + k.topic.size() + 4);
    put16(out, key_version);
    put_string(out, k.group);
    put_string(out, k.topic);
    put32(out, k.partition);
    return out;
}

std::optional<offset_key> decode_key(std::string_view bytes) {
    reader r(bytes);
    if (r.i16() != key_version) return std::nullopt;
    offset_key k;
    k.group = r.str();
    k.topic = r.str();
    k.partition = r.i32();
    if (!r.done()) return std::nullopt;
    return k;
}

std::string encode_value(const committed_offset& v) {
    std::string out;
    out.reserve(2 + 8 + 4 + 2 + v.metadata.size() + 8);
    put16(out, value_version);
    put64(out, v.offset);
    put32(out, v.leader_epoch);
    put_string(out, v.metadata);
    put64(out, v.commit_timestamp);
    return out;
}

std::optional<committed_offset> decode_value(std::string_view bytes) {
    reader r(bytes);
    if (r.i16() != value_version) return std::nullopt;
    committed_offset v;
    v.offset = r.i64();
    v.leader_epoch = r.i32();
    v.metadata = r.str();
    v.commit_timestamp = r.i64();
    if (!r.done()) return std::nullopt;
    return v;
}

int partition_for(const std::string& group, int partitions) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : group) {
        h ^= c;
        h *= 16777619u;
    }
    return partitions <= 0 ? 0 : static_cast<int>(h % static_cast<std::uint32_t>(partitions));
}

int ensure_topic(store::store& s, std::string& error) {
    if (int have = s.partition_count(topic); have > 0) {
        if (auto cfg = s.topic_config(topic); cfg && cfg->flush != store::durability::always)
            log_warn(topic, " keeps its durability ", store::to_string(cfg->flush),
                     ": commits are acknowledged before they are on disk");
        return have;
    }
    store::log_config cfg;
    cfg.cleanup = store::cleanup_policy::compact;
    cfg.retention_ms = -1;
    cfg.flush = store::durability::always;
    // Small segments so that compaction (closed segments only) keeps up with frequent commits.
    cfg.segment_bytes = 64ull * 1024 * 1024;
    return ensure_internal_topic(s, topic, default_partitions, cfg, error);
}

bool replay(store::store& s, offset_table& table, std::size_t& skipped, std::string& error) {
    const int n = s.partition_count(topic);
    for (int i = 0; i < n; ++i) {
        auto p = s.get(topic, i);
        if (!p) {
            error = std::string("cannot open ") + topic + " partition " + std::to_string(i);
            return false;
        }
        auto e = p->for_each_record(p->log_start_offset(), [&](const store::record& rec) {
            std::optional<offset_key> k;
            if (rec.key) k = decode_key(*rec.key);
            if (!k) {
                ++skipped;
                return true;
            }
            if (!rec.value) {
                auto g = table.find(k->group);
                if (g != table.end()) {
                    g->second.erase({k->topic, k->partition});
                    if (g->second.empty()) table.erase(g);
                }
                return true;
            }
            auto v = decode_value(*rec.value);
            if (!v) {
                ++skipped;
                return true;
            }
            table[k->group][{k->topic, k->partition}] = std::move(*v);
            return true;
        });
        if (e != store::errc::ok) {
            error = std::string("cannot read ") + topic + " partition " + std::to_string(i) + ": " +
                    store::to_string(e);
            return false;
        }
    }
    return true;
}

}  // namespace sluice::broker::consumer_offsets
