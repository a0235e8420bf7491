#pragma once

// The raw Fetch reader's input: bytes from a file descriptor (a socket or a segment file)
// through one reused buffer, so the reader parses Fetch responses and record batch headers in
// place and copies each byte once (kernel to this buffer), whether it comes from the broker or
// from the file: the two readings differ only in where the bytes come from.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "store/record_batch.hpp"

namespace sluice::bench::kafka_fetch {

class byte_stream {
  public:
    // `discard`: skip() drops bytes of a socket with recv(MSG_TRUNC), which TCP discards in
    // the kernel without copying them to user space (record bodies are never looked at).
    explicit byte_stream(int fd, std::size_t capacity = 4u << 20, bool discard = false);

    // At least n (<= capacity) bytes at data(); false at end of input or on an error.
    bool fill(std::size_t n);
    const std::uint8_t* data() const { return buf_.data() + head_; }
    std::size_t available() const { return tail_ - head_; }
    void consume(std::size_t n) { head_ += n; }
    // Discards n bytes; false when the input ends first.
    bool skip(std::uint64_t n);

    // Big-endian fields, each after a fill() that covers it.
    std::int16_t i16();
    std::int32_t i32();
    std::int64_t i64();

  private:
    int fd_;
    bool discard_;
    std::vector<std::uint8_t> buf_;
    std::size_t head_ = 0, tail_ = 0;
};

// Walks `len` bytes of RecordBatches: calls on_batch(header) for each whole batch and skips
// its body; a partial batch at the end (Kafka allows one) is skipped, and so are zeros where a
// header should start: an active segment file ends in the zeros its writer keeps ahead of the
// last record (docs/store.md), and no batch has a zero length. False when the input ends
// early or a header is malformed.
template <class F>
bool walk_batches(byte_stream& in, std::uint64_t len, F&& on_batch) {
    namespace L = store::batch_layout;
    while (len >= L::header_size) {
        if (!in.fill(L::header_size)) return false;
        const auto* first = in.data();
        if (std::all_of(first, first + L::header_size, [](auto b) { return b == 0; })) break;
        auto h = store::parse_batch_header(in.data(), L::header_size);
        if (!h) return false;
        if (h->size_bytes() > len) break;  // the partial tail
        on_batch(*h);
        if (!in.skip(h->size_bytes())) return false;
        len -= h->size_bytes();
    }
    return in.skip(len);
}

}  // namespace sluice::bench::kafka_fetch
