#include "kafka/frame.hpp"

namespace sluice::kafka {

void frame_splitter::feed(byte_span bytes) {
    // Drop what earlier next() calls returned before growing the buffer.
    if (start_ > 0) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(start_));
        start_ = 0;
    }
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

frame_splitter::status frame_splitter::next(byte_span& frame) {
    if (failed_) return status::error;
    if (buffered() < 4) return status::need_more;
    const std::uint8_t* p = buf_.data() + start_;
    auto size = static_cast<std::int32_t>(static_cast<std::uint32_t>(p[0]) << 24 |
                                          static_cast<std::uint32_t>(p[1]) << 16 |
                                          static_cast<std::uint32_t>(p[2]) << 8 | p[3]);
    if (size < 0 || static_cast<std::size_t>(size) > max_) {
        failed_ = true;
        bad_size_ = size;
        return status::error;
    }
    if (buffered() - 4 < static_cast<std::size_t>(size)) return status::need_more;
    frame = byte_span(p + 4, static_cast<std::size_t>(size));
    start_ += 4 + static_cast<std::size_t>(size);
    return status::frame;
}

}  // namespace sluice::kafka
