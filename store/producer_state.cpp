#include "store/producer_state.hpp"

#include <sstream>

#include "store/crc32c.hpp"

namespace sluice::store {
namespace {

bool tracked(const batch_header& h) {
    return h.has_producer() && h.base_sequence >= 0 && !h.is_control();
}

std::int32_t next_sequence(std::int32_t s) {
    return s == INT32_MAX ? 0 : s + 1;
}

constexpr const char* snapshot_magic = "sluice-producer-snapshot";

}  // namespace

producer_check producer_state::check(const batch_header& h) const {
    if (!tracked(h)) return {};
    auto it = producers_.find(h.producer_id);
    if (it == producers_.end()) return {};  // first batch we see from it: any sequence starts it
    const producer_entry& p = it->second;
    if (h.producer_epoch < p.epoch) return {errc::invalid_producer_epoch, std::nullopt};
    if (h.producer_epoch > p.epoch) {
        if (h.base_sequence != 0) return {errc::out_of_order_sequence, std::nullopt};
        return {};
    }
    for (const auto& b : p.batches)
        if (b.first_sequence == h.base_sequence && b.last_sequence == h.last_sequence())
            return {errc::ok, b};
    if (!p.batches.empty() && h.base_sequence != next_sequence(p.batches.back().last_sequence))
        return {errc::out_of_order_sequence, std::nullopt};
    return {};
}

void producer_state::update(const batch_header& h) {
    if (!tracked(h)) return;
    producer_entry& p = producers_[h.producer_id];
    if (h.producer_epoch != p.epoch) {
        p.epoch = h.producer_epoch;
        p.batches.clear();
    }
    p.batches.push_back({h.base_sequence, h.last_sequence(), h.base_offset, h.last_offset().value});
    while (p.batches.size() > producer_batches_kept) p.batches.pop_front();
}

const producer_entry* producer_state::find(std::int64_t producer_id) const {
    auto it = producers_.find(producer_id);
    return it == producers_.end() ? nullptr : &it->second;
}

std::string producer_state::serialize(offset covered_up_to) const {
    std::ostringstream out;
    out << snapshot_magic << " 1\n" << covered_up_to.value << " " << producers_.size() << "\n";
    for (const auto& [id, p] : producers_) {
        out << id << " " << p.epoch << " " << p.batches.size() << "\n";
        for (const auto& b : p.batches)
            out << b.first_sequence << " " << b.last_sequence << " " << b.first_offset << " "
                << b.last_offset << "\n";
    }
    std::string body = out.str();
    auto crc = crc32c(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
    return body + "crc " + std::to_string(crc) + "\n";
}

std::optional<offset> producer_state::parse(const std::string& text) {
    producers_.clear();
    auto crc_at = text.rfind("crc ");
    if (crc_at == std::string::npos) return std::nullopt;
    auto expected = crc32c(reinterpret_cast<const std::uint8_t*>(text.data()), crc_at);
    std::istringstream tail(text.substr(crc_at + 4));
    unsigned long long crc = 0;
    if (!(tail >> crc) || crc != expected) return std::nullopt;

    std::istringstream in(text.substr(0, crc_at));
    std::string magic;
    int version = 0;
    long long covered = 0;
    long long count = 0;
    if (!(in >> magic >> version >> covered >> count) || magic != snapshot_magic || version != 1 ||
        count < 0)
        return std::nullopt;
    std::unordered_map<std::int64_t, producer_entry> parsed;
    for (long long i = 0; i < count; ++i) {
        long long id = 0;
        int epoch = 0;
        std::size_t n = 0;
        if (!(in >> id >> epoch >> n) || n > producer_batches_kept) return std::nullopt;
        producer_entry e;
        e.epoch = static_cast<std::int16_t>(epoch);
        for (std::size_t k = 0; k < n; ++k) {
            producer_batch b{};
            if (!(in >> b.first_sequence >> b.last_sequence >> b.first_offset >> b.last_offset))
                return std::nullopt;
            e.batches.push_back(b);
        }
        parsed[id] = std::move(e);
    }
    producers_ = std::move(parsed);
    return offset{covered};
}

}  // namespace sluice::store
