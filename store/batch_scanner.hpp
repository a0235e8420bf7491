#pragma once
// Walks the batches of a segment file between two positions through a read buffer, so
// recovery, index rebuilds and reads need one pread per buffer, not one per batch.
// Thread: one scanner per thread; the file may be read by many scanners at once.

#include <cstdint>

#include "store/record_batch.hpp"
#include "store/types.hpp"

namespace sluice::store {

class batch_scanner {
  public:
    enum class status { batch, end, torn, corrupt, io_error };

    // with_bodies: load each whole batch (for CRC checks), not just its header.
    batch_scanner(int fd, std::uint64_t start, std::uint64_t end, bool with_bodies);

    status next();
    const batch_header& header() const { return header_; }
    std::uint64_t position() const { return batch_pos_; }  // where the last batch starts
    std::uint64_t end_position() const { return pos_; }    // where the next one would start
    byte_span bytes() const;                               // the last batch, with_bodies only

  private:
    bool fill(std::uint64_t at, std::size_t need);

    int fd_;
    std::uint64_t pos_;
    std::uint64_t end_;
    bool bodies_;
    byte_buffer buf_;
    std::uint64_t buf_start_ = 0;
    std::size_t buf_len_ = 0;
    std::uint64_t batch_pos_ = 0;
    batch_header header_;
};

}  // namespace sluice::store
