#include "broker/backlog_chunks.hpp"

#include <algorithm>
#include <limits>

namespace sluice::broker {

namespace {
// What a decoded record holds beyond its log bytes (the message, its topic, the publisher),
// about; only for the budget.
constexpr std::uint64_t per_record = 256;
}  // namespace

backlog_chunks::backlog_chunks(std::uint64_t chunk_bytes, std::uint64_t budget_bytes)
    : chunk_bytes_(std::max<std::uint64_t>(chunk_bytes, 1)), budget_bytes_(budget_bytes) {}

void backlog_chunks::expect(const std::shared_ptr<store::partition>& p, std::int64_t cursor) {
    auto& part = parts_[p.get()];
    if (!part.p) part.p = p;
    part.expected.push_back(cursor);
}

std::shared_ptr<const backlog_chunk> backlog_chunks::find(
    const std::shared_ptr<store::partition>& p, std::int64_t at, std::int64_t until,
    std::int64_t now_ms, store::errc& error) {
    error = store::errc::ok;
    auto& part = parts_[p.get()];
    if (!part.p) part.p = p;
    ++tick_;
    // The gap `at` lies in: from where the last kept chunk below it ends to where the next one
    // above it starts (a read stops there, so no record is decoded twice).
    std::int64_t gap_start = std::numeric_limits<std::int64_t>::min();
    std::int64_t gap_end = until;
    for (auto& k : part.chunks) {
        if (k.chunk->covers(at)) {
            k.used_at = tick_;
            return k.chunk;
        }
        if (k.chunk->next <= at) gap_start = std::max(gap_start, k.chunk->next);
        if (k.chunk->from > at) gap_end = std::min(gap_end, k.chunk->from);
    }
    auto read = [&](std::int64_t start) -> std::shared_ptr<const backlog_chunk> {
        auto c = std::make_shared<backlog_chunk>(
            read_backlog_chunk(*p, start, gap_end, chunk_bytes_, now_ms, &scratch_));
        ++reads_;
        bytes_read_ += c->bytes_read;
        records_decoded_ += c->records.size();
        records_not_ingested_ += c->not_ingested;
        if (c->error != store::errc::ok) {
            error = c->error;
            return nullptr;
        }
        if (keep_ && c->next > c->from) {
            held_ += c->bytes_read + c->records.size() * per_record;
            part.chunks.push_back({c, c->bytes_read + c->records.size() * per_record, tick_});
        }
        return c;
    };
    // Read from the lowest cursor of this pass in that gap: one read for all of them.
    std::int64_t from = at;
    for (std::int64_t c : part.expected)
        if (c >= gap_start && c < from) from = c;
    from = std::max(from, p->log_start_offset().value);
    auto found = read(from);
    // That cursor was too far behind to cover `at` as well: a read of `at`'s own (fairness).
    if (found && !found->covers(at) && from < at) found = read(at);
    evict(found.get());
    return found;
}

std::shared_ptr<const backlog_chunk> backlog_chunks::kept_at(const store::partition* p,
                                                              std::int64_t at) {
    auto it = parts_.find(p);
    if (it == parts_.end()) return nullptr;
    for (auto& k : it->second.chunks)
        if (k.chunk->covers(at)) {
            k.used_at = ++tick_;
            return k.chunk;
        }
    return nullptr;
}

void backlog_chunks::evict(const backlog_chunk* keep) {
    while (held_ > budget_bytes_) {
        of_partition* in = nullptr;
        std::size_t idx = 0;
        std::uint64_t oldest = std::numeric_limits<std::uint64_t>::max();
        for (auto& [key, part] : parts_)
            for (std::size_t i = 0; i < part.chunks.size(); ++i)
                if (part.chunks[i].chunk.get() != keep && part.chunks[i].used_at < oldest) {
                    oldest = part.chunks[i].used_at;
                    in = &part;
                    idx = i;
                }
        if (!in) return;  // only the one in use is left
        held_ -= in->chunks[idx].cost;
        in->chunks.erase(in->chunks.begin() + static_cast<std::ptrdiff_t>(idx));
    }
}

void backlog_chunks::keep(bool on) {
    if (!on && keep_) clear();
    keep_ = on;
}

void backlog_chunks::end_pass() {
    for (auto it = parts_.begin(); it != parts_.end();) {
        it->second.expected.clear();
        if (it->second.chunks.empty())
            it = parts_.erase(it);
        else
            ++it;
    }
}

void backlog_chunks::clear() {
    parts_.clear();
    held_ = 0;
}

std::size_t backlog_chunks::chunks_kept() const {
    std::size_t n = 0;
    for (const auto& [key, part] : parts_) n += part.chunks.size();
    return n;
}

}  // namespace sluice::broker
