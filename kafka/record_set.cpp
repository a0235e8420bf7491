#include "kafka/record_set.hpp"

namespace sluice::kafka {

std::uint64_t piece_size(const piece& p) {
    if (const auto* b = std::get_if<byte_buffer>(&p)) return b->size();
    return std::get<store::file_range>(p).length;
}

std::uint64_t record_set::size() const {
    std::uint64_t n = 0;
    for (const auto& p : parts) n += piece_size(p);
    return n;
}

bool record_set::operator==(const record_set& o) const {
    if (null != o.null) return false;
    // Compared by content, which is only known for in-memory parts (tests and decoded sets).
    byte_buffer a, b;
    for (const auto& p : parts) {
        if (!std::holds_alternative<byte_buffer>(p)) return false;
        const auto& x = std::get<byte_buffer>(p);
        a.insert(a.end(), x.begin(), x.end());
    }
    for (const auto& p : o.parts) {
        if (!std::holds_alternative<byte_buffer>(p)) return false;
        const auto& x = std::get<byte_buffer>(p);
        b.insert(b.end(), x.begin(), x.end());
    }
    return a == b;
}

std::uint64_t response_frame::size() const {
    std::uint64_t n = 0;
    for (const auto& p : pieces) n += piece_size(p);
    return n;
}

bool response_frame::has_file_ranges() const {
    for (const auto& p : pieces)
        if (std::holds_alternative<store::file_range>(p)) return true;
    return false;
}

byte_buffer response_frame::flatten() const {
    byte_buffer out;
    if (has_file_ranges()) return out;
    for (const auto& p : pieces) {
        const auto& b = std::get<byte_buffer>(p);
        out.insert(out.end(), b.begin(), b.end());
    }
    return out;
}

}  // namespace sluice::kafka
