#include "broker/topic_summary.hpp"

#include <algorithm>
#include <functional>

namespace sluice::broker {

namespace {

constexpr int probes = 4;  // bits per token: about 2% false positives at 1,024 distinct tokens

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

std::uint64_t level_token(std::size_t index, std::string_view level) {
    // The summary lives in this process only, so the standard library's hash will do.
    return mix(std::hash<std::string_view>{}(level) + 0x9e3779b97f4a7c15ULL * (index + 1));
}

// The bloom bits of a token: double hashing over the two halves of one 64-bit hash.
template <typename Fn>
void for_each_bit(std::uint64_t token, Fn fn) {
    const std::uint64_t a = token;
    const std::uint64_t b = (token >> 32) | 1;
    for (int i = 0; i < probes; ++i) fn((a + static_cast<std::uint64_t>(i) * b) % topic_summary::bloom_bits);
}

// Calls fn(index, level) for each level of `s` while fn returns true.
template <typename Fn>
void for_each_level(std::string_view s, Fn fn) {
    std::size_t index = 0;
    std::size_t start = 0;
    while (true) {
        const auto slash = s.find('/', start);
        const auto level = s.substr(start, slash == std::string_view::npos ? s.npos : slash - start);
        if (!fn(index, level) || slash == std::string_view::npos) return;
        start = slash + 1;
        ++index;
    }
}

}  // namespace

topic_summary::tokens topic_summary::of_topic(std::string_view topic) {
    tokens t;
    for_each_level(topic, [&](std::size_t index, std::string_view level) {
        if (index >= max_levels) return false;
        t.h[t.n++] = level_token(index, level);
        return true;
    });
    return t;
}

topic_summary::tokens topic_summary::of_filter(std::string_view filter) {
    tokens t;
    for_each_level(filter, [&](std::size_t index, std::string_view level) {
        if (index >= max_levels || level == "#") return false;
        if (level != "+") t.h[t.n++] = level_token(index, level);
        return true;
    });
    return t;
}

topic_summary::topic_summary(std::size_t records_per_chunk, std::size_t max_chunks)
    : records_per_chunk_(std::max<std::size_t>(records_per_chunk, 1)),
      max_chunks_(std::max<std::size_t>(max_chunks, 1)) {}

void topic_summary::add(std::int64_t offset, const tokens& t) {
    std::lock_guard lock(mu_);
    auto set = [&](chunk& c) {
        for (std::uint8_t i = 0; i < t.n; ++i)
            for_each_bit(t.h[i], [&](std::uint64_t bit) { c.bloom[bit / 64] |= 1ULL << (bit % 64); });
    };
    if (!chunks_.empty() && offset < chunks_.back().end) {
        // Not expected (completions come in offset order), and safe if it happens: the chunk
        // that covers the offset learns its topic; outside every chunk nothing is skipped.
        for (auto& c : chunks_)
            if (c.from <= offset && offset < c.end) set(c);
        return;
    }
    if (chunks_.empty() || chunks_.back().records >= records_per_chunk_) {
        if (chunks_.size() >= max_chunks_) chunks_.pop_front();
        chunks_.emplace_back().from = offset;
    }
    chunk& c = chunks_.back();
    set(c);
    c.end = offset + 1;
    ++c.records;
}

bool topic_summary::chunk::may_hold(const tokens& filter) const {
    for (std::uint8_t i = 0; i < filter.n; ++i) {
        bool all = true;
        for_each_bit(filter.h[i], [&](std::uint64_t bit) {
            all = all && (bloom[bit / 64] >> (bit % 64) & 1);
        });
        if (!all) return false;
    }
    return true;
}

topic_summary::skip_result topic_summary::skip(std::int64_t from, std::int64_t until,
                                               const std::vector<tokens>& filters) const {
    std::lock_guard lock(mu_);
    skip_result out{from, until};
    // The chunk that covers `from`: the last one starting at or before it.
    auto it = std::upper_bound(chunks_.begin(), chunks_.end(), from,
                               [](std::int64_t at, const chunk& c) { return at < c.from; });
    if (it == chunks_.begin()) return out;
    --it;
    auto may_match = [&](const chunk& c) {
        return std::any_of(filters.begin(), filters.end(), [&](const tokens& f) { return c.may_hold(f); });
    };
    // Chunk by chunk while each starts where the last one ended (no offset in between that the
    // summary did not see) and none of the filters may match in it.
    std::int64_t at = from;
    for (; it != chunks_.end() && at < until && it->from <= at && at < it->end; ++it) {
        if (may_match(*it)) break;
        at = it->end;
    }
    out.next = std::min(at, until);
    if (out.next >= until || it == chunks_.end() || !(it->from <= at && at < it->end)) return out;
    // `it` may match: the run of such chunks from it, up to one that cannot.
    for (std::int64_t end = it->end; ++it != chunks_.end() && it->from == end; end = it->end)
        if (!may_match(*it)) {
            out.read_until = std::min(end, until);
            break;
        }
    return out;
}

std::size_t topic_summary::chunks() const {
    std::lock_guard lock(mu_);
    return chunks_.size();
}

}  // namespace sluice::broker
