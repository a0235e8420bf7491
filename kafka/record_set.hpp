#pragma once
// Record bytes inside a response (Fetch's RecordSet) and the pieces a response is sent as.
// A piece is either bytes owned by the response or a range of a segment file that the
// transport sends with sendfile: the encoder only needs each range's length, so a Fetch
// response never copies record bytes into memory.
//
// Threads: plain values; a file range's shared_ptr keeps the segment's fd open on any thread.

#include <cstdint>
#include <variant>
#include <vector>

#include "store/partition_log.hpp"
#include "store/types.hpp"

namespace sluice::kafka {

using byte_buffer = store::byte_buffer;
using byte_span = store::byte_span;

// One piece of a frame or of a record set: owned bytes or a segment file range.
using piece = std::variant<byte_buffer, store::file_range>;

std::uint64_t piece_size(const piece& p);

// Fetch's nullable RecordSet: the concatenation of `parts` (RecordBatch v2 bytes), or null.
struct record_set {
    bool null = false;
    std::vector<piece> parts;

    std::uint64_t size() const;
    static record_set from_bytes(byte_buffer b) {
        record_set r;
        r.parts.emplace_back(std::move(b));
        return r;
    }
    bool operator==(const record_set& o) const;
};

// A whole response as sent: the 4-byte size prefix, header and body, split where file
// ranges sit. The transport writes the pieces in order.
struct response_frame {
    std::vector<piece> pieces;

    std::uint64_t size() const;
    bool has_file_ranges() const;
    // All bytes when there are no file ranges (tests, small responses); empty otherwise.
    byte_buffer flatten() const;
};

}  // namespace sluice::kafka
