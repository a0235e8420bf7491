#include "store/segment.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "store/batch_scanner.hpp"

namespace sluice::store {
namespace {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool fits_relative(offset base, std::int64_t o) {
    return o >= base.value && o - base.value <= UINT32_MAX;
}

// True when every byte of [from, to) in fd is zero (a read error counts as not zero).
bool all_zero(int fd, std::uint64_t from, std::uint64_t to) {
    std::vector<std::uint8_t> buf(64 * 1024);
    while (from < to) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), to - from));
        if (pread_full(fd, buf.data(), n, static_cast<off_t>(from)) != static_cast<ssize_t>(n))
            return false;
        for (std::size_t i = 0; i < n; ++i)
            if (buf[i] != 0) return false;
        from += n;
    }
    return true;
}

// Zeros for zero_ahead(), shared by every segment (read-only).
constexpr std::size_t zero_block_bytes = 64 * 1024;
const std::uint8_t zero_block[zero_block_bytes] = {};

}  // namespace

std::string segment_file_name(offset base, const char* suffix) {
    char name[64];
    std::snprintf(name, sizeof name, "%020lld%s", static_cast<long long>(base.value), suffix);
    return name;
}

std::string segment::log_path() const {
    return dir_ + "/" + segment_file_name(base_, ".log");
}

std::shared_ptr<segment> segment::create(const std::string& dir, offset base) {
    auto s = std::make_shared<segment>(dir, base);
    s->log_ =
        unique_fd(::open(s->log_path().c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!s->log_) return nullptr;
    if (!s->index_.create(dir + "/" + segment_file_name(base, ".index"), base)) return nullptr;
    if (!s->time_index_.create(dir + "/" + segment_file_name(base, ".timeindex"), base))
        return nullptr;
    s->next_offset_ = base.value;
    s->created_ms_ = wall_ms();
    return s;
}

std::shared_ptr<segment> segment::open_clean(const std::string& dir, offset base) {
    auto s = std::make_shared<segment>(dir, base);
    s->log_ = unique_fd(::open(s->log_path().c_str(), O_RDWR | O_CLOEXEC));
    if (!s->log_) return nullptr;
    auto size = file_size(s->log_.get());
    if (!size) return nullptr;
    auto file_bytes = static_cast<std::uint64_t>(*size);
    if (!s->index_.load(dir + "/" + segment_file_name(base, ".index"), base)) return nullptr;
    if (!s->time_index_.load(dir + "/" + segment_file_name(base, ".timeindex"), base))
        return nullptr;
    s->next_offset_ = base.value;
    s->created_ms_ = wall_ms();

    // The last index entry must point at a batch that starts with the offset it claims.
    std::uint64_t from = 0;
    if (auto last = s->index_.last()) {
        if (last->position >= file_bytes) return nullptr;
        batch_scanner probe(s->log_.get(), last->position, file_bytes, false);
        if (probe.next() != batch_scanner::status::batch) return nullptr;
        if (probe.header().base_offset != base.value + last->relative_offset) return nullptr;
        from = last->position;
    }
    if (auto last = s->time_index_.last()) {
        s->max_timestamp_ = last->timestamp;
    }
    // Headers only after the last index entry: enough to find the end and the max timestamp.
    batch_scanner scan(s->log_.get(), from, file_bytes, false);
    std::int64_t prev_end = from == 0 ? base.value : -1;
    for (;;) {
        auto st = scan.next();
        if (st == batch_scanner::status::end) break;
        if (st != batch_scanner::status::batch) return nullptr;
        const auto& h = scan.header();
        if (!fits_relative(base, h.last_offset().value) ||
            (prev_end >= 0 && h.base_offset < prev_end))
            return nullptr;
        prev_end = h.last_offset().value + 1;
        s->next_offset_ = prev_end;
        if (h.max_timestamp > s->max_timestamp_) s->max_timestamp_ = h.max_timestamp;
    }
    s->size_ = file_bytes;
    s->readable_ = file_bytes;
    // Keep indexing where the previous run stopped.
    s->bytes_since_index_ = file_bytes - from;
    s->indexed_once_ = true;
    return s;
}

std::shared_ptr<segment> segment::recover(const std::string& dir, offset base,
                                          std::size_t index_interval, segment_recovery& report) {
    auto s = std::make_shared<segment>(dir, base);
    s->log_ = unique_fd(::open(s->log_path().c_str(), O_RDWR | O_CLOEXEC));
    if (!s->log_) return nullptr;
    auto size = file_size(s->log_.get());
    if (!size) return nullptr;
    if (!s->index_.create(dir + "/" + segment_file_name(base, ".index"), base)) return nullptr;
    if (!s->time_index_.create(dir + "/" + segment_file_name(base, ".timeindex"), base))
        return nullptr;
    s->next_offset_ = base.value;
    s->created_ms_ = wall_ms();
    if (!s->rebuild_indexes_from(0, static_cast<std::uint64_t>(*size), index_interval, true,
                                 &report))
        return nullptr;
    return s;
}

bool segment::rebuild_indexes_from(std::uint64_t from, std::uint64_t to, std::size_t index_interval,
                                   bool check_crc, segment_recovery* report) {
    batch_scanner scan(log_.get(), from, to, check_crc);
    std::uint64_t good = from;
    std::size_t batches = 0;
    for (;;) {
        auto st = scan.next();
        if (st == batch_scanner::status::end) break;
        if (st == batch_scanner::status::io_error) return false;
        if (st != batch_scanner::status::batch) break;
        const auto& h = scan.header();
        if (check_crc && validate_batch(scan.bytes()) != errc::ok) break;
        if (h.base_offset < next_offset_.load() || !fits_relative(base_, h.last_offset().value))
            break;
        on_batch(h, scan.position(), index_interval);
        good = scan.end_position();
        ++batches;
    }
    if (good < to) {
        // Zeros to the end are the tail written ahead of the appends (zero_ahead), not damage.
        const bool zeros = all_zero(log_.get(), good, to);
        if (::ftruncate(log_.get(), static_cast<off_t>(good)) != 0) return false;
        if (report && zeros) {
            report->zeroed_bytes += to - good;
        } else if (report) {
            report->truncated = true;
            report->dropped_bytes += to - good;
        }
    }
    if (report) {
        report->valid_bytes = good;
        report->batches += batches;
    }
    size_ = good;
    readable_ = good;
    return true;
}

void segment::maybe_index(const batch_header& h, std::uint64_t position,
                          std::size_t index_interval) {
    if (indexed_once_ && bytes_since_index_ < index_interval) return;
    indexed_once_ = true;
    bytes_since_index_ = 0;
    auto rel = static_cast<std::uint32_t>(h.base_offset - base_.value);
    index_.append(offset_index_entry{rel, static_cast<std::uint32_t>(position)});
    auto ts = max_timestamp_.load();
    auto last = time_index_.last();
    if (!last || ts > last->timestamp) time_index_.append(time_index_entry{ts, rel});
}

void segment::on_batch(const batch_header& h, std::uint64_t position, std::size_t index_interval) {
    if (h.max_timestamp > max_timestamp_.load())
        max_timestamp_.store(h.max_timestamp, std::memory_order_release);
    maybe_index(h, position, index_interval);
    bytes_since_index_ += h.size_bytes();
    next_offset_.store(h.last_offset().value + 1, std::memory_order_release);
    std::uint64_t end = position + h.size_bytes();
    if (end > size_.load()) size_.store(end, std::memory_order_release);
}

bool segment::write(const struct iovec* iov, int count, std::uint64_t total,
                    std::uint64_t position) {
    auto at = static_cast<off_t>(position);
    std::uint64_t done = 0;
    while (done < total) {
        // Skip the iovecs already written by a short pwritev.
        std::uint64_t skip = done;
        int i = 0;
        while (i < count && skip >= iov[i].iov_len) skip -= iov[i++].iov_len;
        if (i == count) break;
        struct iovec first = iov[i];
        first.iov_base = static_cast<char*>(first.iov_base) + skip;
        first.iov_len -= skip;
        struct iovec local[64];
        int n = 0;
        local[n++] = first;
        for (int k = i + 1; k < count && n < 64; ++k) local[n++] = iov[k];
        ssize_t w = ::pwritev(log_.get(), local, n, at + static_cast<off_t>(done));
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += static_cast<std::uint64_t>(w);
    }
    return true;
}

bool segment::zero_ahead(std::uint64_t end, std::uint64_t chunk, std::uint64_t limit) {
    if (zeroed_end_ < end) zeroed_end_ = end;
    if (zeroed_end_ >= limit || zeroed_end_ - end >= chunk / 2) return true;
    const std::uint64_t stop = std::min(limit, end + chunk);
    struct iovec iov[16];
    std::uint64_t at = zeroed_end_;
    while (at < stop) {
        int n = 0;
        std::uint64_t total = 0;
        while (n < 16 && at + total < stop) {
            const auto len = std::min<std::uint64_t>(zero_block_bytes, stop - at - total);
            iov[n++] = {const_cast<std::uint8_t*>(zero_block), static_cast<std::size_t>(len)};
            total += len;
        }
        if (!write(iov, n, total, at)) return false;
        at += total;
        zeroed_end_ = at;
    }
    return true;
}

bool segment::trim_zeroed_tail() {
    const std::uint64_t end = size();
    if (zeroed_end_ <= end) return true;
    if (::ftruncate(log_.get(), static_cast<off_t>(end)) != 0) return false;
    zeroed_end_ = end;
    return true;
}

bool segment::sync_data() {
    return log_ && ::fdatasync(log_.get()) == 0;
}

bool segment::sync_all() {
    return sync_data() && index_.sync() && time_index_.sync();
}

bool segment::truncate_to(offset o) {
    std::uint64_t cut = size();
    std::int64_t next = base_.value;
    std::int64_t max_ts = -1;
    // Recompute the max timestamp over what remains (header scan from the start).
    batch_scanner all(log_.get(), 0, size(), false);
    while (all.next() == batch_scanner::status::batch) {
        if (all.header().last_offset() >= o) {
            cut = all.position();
            break;
        }
        next = all.header().last_offset().value + 1;
        if (all.header().max_timestamp > max_ts) max_ts = all.header().max_timestamp;
    }
    if (::ftruncate(log_.get(), static_cast<off_t>(cut)) != 0) return false;
    zeroed_end_ = cut;
    auto rel = o.value - base_.value;
    index_.truncate_while(
        [&](const offset_index_entry& e) { return e.position < cut && e.relative_offset < rel; });
    time_index_.truncate_while([&](const time_index_entry& e) {
        return e.timestamp <= max_ts && e.relative_offset < rel;
    });
    size_ = cut;
    if (readable_.load() > cut) readable_ = cut;
    next_offset_ = next;
    max_timestamp_ = max_ts;
    bytes_since_index_ = UINT64_MAX / 2;  // index the next batch
    return true;
}

void segment::close() {
    log_.reset();
    index_.close();
    time_index_.close();
}

void segment::remove_files() {
    ::unlink(log_path().c_str());
    ::unlink((dir_ + "/" + segment_file_name(base_, ".index")).c_str());
    ::unlink((dir_ + "/" + segment_file_name(base_, ".timeindex")).c_str());
}

std::uint64_t segment::position_floor(offset o) const {
    if (o.value <= base_.value) return 0;
    auto rel = o.value - base_.value;
    auto e = index_.floor([&](const offset_index_entry& x) {
        return static_cast<std::int64_t>(x.relative_offset) <= rel;
    });
    return e ? e->position : 0;
}

std::uint64_t segment::position_for_timestamp(std::int64_t ts) const {
    auto e = time_index_.floor([&](const time_index_entry& x) { return x.timestamp < ts; });
    if (!e) return 0;
    return position_floor(offset{base_.value + e->relative_offset});
}

}  // namespace sluice::store
