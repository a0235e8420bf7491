#pragma once
// Splits a byte stream into Kafka frames: a 4-byte big-endian size, then that many bytes.
// A size above the configured maximum (or negative) is an error the caller answers by
// logging and closing the connection: nothing after it can be framed.
//
// Threads: one object per connection, used by the thread that reads that connection.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "kafka/record_set.hpp"
#include "kafka/wire.hpp"

namespace sluice::kafka {

class frame_splitter {
  public:
    enum class status { frame, need_more, error };

    // Kafka's socket.request.max.bytes default is 100 MiB.
    explicit frame_splitter(std::size_t max_frame_size = 100u << 20) : max_(max_frame_size) {}

    // Appends bytes as the socket delivered them.
    void feed(byte_span bytes);
    // The next complete frame (without its size prefix) in `frame`, valid until the next
    // feed(); need_more until one is complete; error for a bad size (sticky).
    status next(byte_span& frame);
    // The declared size that caused the error, for the log line.
    std::int64_t bad_size() const { return bad_size_; }
    // Bytes buffered and not yet returned as frames.
    std::size_t buffered() const { return buf_.size() - start_; }

  private:
    byte_buffer buf_;
    std::size_t start_ = 0;  // first byte not yet returned
    std::size_t max_;
    bool failed_ = false;
    std::int64_t bad_size_ = 0;
};

}  // namespace sluice::kafka
