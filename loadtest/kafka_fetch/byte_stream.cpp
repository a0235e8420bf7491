#include "loadtest/kafka_fetch/byte_stream.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "store/byte_order.hpp"

namespace sluice::bench::kafka_fetch {

byte_stream::byte_stream(int fd, std::size_t capacity, bool discard)
    : fd_(fd), discard_(discard), buf_(capacity) {}

bool byte_stream::fill(std::size_t n) {
    if (n > buf_.size()) return false;
    if (available() >= n) return true;
    if (buf_.size() - head_ < n) {  // not enough room behind what is left: move it to the front
        std::memmove(buf_.data(), buf_.data() + head_, available());
        tail_ -= head_;
        head_ = 0;
    }
    while (available() < n) {
        // Discarding, only what was asked for comes to user space: the rest is skipped uncopied.
        const std::size_t want = discard_ ? n - available() : buf_.size() - tail_;
        ssize_t r = ::read(fd_, buf_.data() + tail_, want);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        tail_ += static_cast<std::size_t>(r);
    }
    return true;
}

bool byte_stream::skip(std::uint64_t n) {
    while (n > 0) {
        if (available() == 0) {
            head_ = tail_ = 0;  // empty: read the next stretch from the buffer's start
            if (discard_) {
                ssize_t r = ::recv(fd_, nullptr, static_cast<std::size_t>(std::min<std::uint64_t>(
                                                     n, std::uint64_t{1} << 30)),
                                   MSG_TRUNC);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) return false;
                n -= static_cast<std::uint64_t>(r);
                continue;
            }
            if (!fill(1)) return false;
        }
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, available()));
        consume(take);
        n -= take;
    }
    return true;
}

std::int16_t byte_stream::i16() {
    auto v = static_cast<std::int16_t>(store::load_be<std::uint16_t>(data()));
    consume(2);
    return v;
}

std::int32_t byte_stream::i32() {
    auto v = static_cast<std::int32_t>(store::load_be<std::uint32_t>(data()));
    consume(4);
    return v;
}

std::int64_t byte_stream::i64() {
    auto v = static_cast<std::int64_t>(store::load_be<std::uint64_t>(data()));
    consume(8);
    return v;
}

}  // namespace sluice::bench::kafka_fetch
