#include "store/batch_scanner.hpp"

#include <algorithm>

#include "store/file_util.hpp"

namespace sluice::store {
namespace {
constexpr std::size_t chunk_size = 256 * 1024;
}

batch_scanner::batch_scanner(int fd, std::uint64_t start, std::uint64_t end, bool with_bodies)
    : fd_(fd), pos_(start), end_(end), bodies_(with_bodies) {}

bool batch_scanner::fill(std::uint64_t at, std::size_t need) {
    if (at >= buf_start_ && at + need <= buf_start_ + buf_len_) return true;
    std::size_t want = std::max(need, chunk_size);
    want = static_cast<std::size_t>(std::min<std::uint64_t>(want, end_ - at));
    if (want < need) return false;
    if (buf_.size() < want) buf_.resize(want);
    ssize_t n = pread_full(fd_, buf_.data(), want, static_cast<off_t>(at));
    if (n < 0) return false;
    buf_start_ = at;
    buf_len_ = static_cast<std::size_t>(n);
    return buf_len_ >= need;
}

batch_scanner::status batch_scanner::next() {
    if (pos_ >= end_) return status::end;
    if (end_ - pos_ < batch_layout::header_size) return status::torn;
    if (!fill(pos_, batch_layout::header_size)) return status::torn;
    auto h = parse_batch_header(buf_.data() + (pos_ - buf_start_), batch_layout::header_size);
    if (!h || h->magic != batch_layout::current_magic) return status::corrupt;
    if (h->size_bytes() > end_ - pos_) return status::torn;
    if (bodies_ && !fill(pos_, h->size_bytes())) return status::io_error;
    header_ = *h;
    batch_pos_ = pos_;
    pos_ += h->size_bytes();
    return status::batch;
}

byte_span batch_scanner::bytes() const {
    return byte_span(buf_.data() + (batch_pos_ - buf_start_), header_.size_bytes());
}

}  // namespace sluice::store
