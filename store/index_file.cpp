#include "store/index_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "store/byte_order.hpp"

namespace sluice::store {
namespace {

template <typename Entry>
struct codec;

template <>
struct codec<offset_index_entry> {
    static constexpr std::uint32_t magic = 0x534C4F49;  // "SLOI"
    static constexpr std::size_t size = offset_index_entry::disk_size;
    static void encode(const offset_index_entry& e, std::uint8_t* p) {
        store_be<std::uint32_t>(p, e.relative_offset);
        store_be<std::uint32_t>(p + 4, e.position);
    }
    static offset_index_entry decode(const std::uint8_t* p) {
        return {load_be<std::uint32_t>(p), load_be<std::uint32_t>(p + 4)};
    }
    // Both fields must grow strictly.
    static bool ordered(const offset_index_entry& a, const offset_index_entry& b) {
        return a.relative_offset < b.relative_offset && a.position < b.position;
    }
};

template <>
struct codec<time_index_entry> {
    static constexpr std::uint32_t magic = 0x534C5449;  // "SLTI"
    static constexpr std::size_t size = time_index_entry::disk_size;
    static void encode(const time_index_entry& e, std::uint8_t* p) {
        store_be<std::int64_t>(p, e.timestamp);
        store_be<std::uint32_t>(p + 8, e.relative_offset);
    }
    static time_index_entry decode(const std::uint8_t* p) {
        return {load_be<std::int64_t>(p), load_be<std::uint32_t>(p + 8)};
    }
    static bool ordered(const time_index_entry& a, const time_index_entry& b) {
        return a.timestamp < b.timestamp && a.relative_offset <= b.relative_offset;
    }
};

}  // namespace

template <typename Entry>
bool index_file<Entry>::write_header(offset base) {
    std::uint8_t h[index_header_size];
    store_be<std::uint32_t>(h, codec<Entry>::magic);
    store_be<std::uint16_t>(h + 4, index_format_version);
    store_be<std::uint16_t>(h + 6, static_cast<std::uint16_t>(codec<Entry>::size));
    store_be<std::int64_t>(h + 8, base.value);
    return pwrite_all(fd_.get(), h, sizeof h, 0);
}

template <typename Entry>
bool index_file<Entry>::create(const std::string& path, offset base) {
    std::lock_guard lock(mu_);
    entries_.clear();
    fd_ = unique_fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    return fd_ && write_header(base);
}

template <typename Entry>
bool index_file<Entry>::load(const std::string& path, offset base) {
    std::lock_guard lock(mu_);
    entries_.clear();
    fd_ = unique_fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd_) return false;
    auto size = file_size(fd_.get());
    if (!size || *size < static_cast<off_t>(index_header_size)) return false;
    std::size_t body = static_cast<std::size_t>(*size) - index_header_size;
    if (body % codec<Entry>::size != 0) return false;
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(*size));
    if (pread_full(fd_.get(), buf.data(), buf.size(), 0) != static_cast<ssize_t>(buf.size()))
        return false;
    if (load_be<std::uint32_t>(buf.data()) != codec<Entry>::magic) return false;
    if (load_be<std::uint16_t>(buf.data() + 4) != index_format_version) return false;
    if (load_be<std::uint16_t>(buf.data() + 6) != codec<Entry>::size) return false;
    if (load_be<std::int64_t>(buf.data() + 8) != base.value) return false;
    entries_.reserve(body / codec<Entry>::size);
    for (std::size_t at = index_header_size; at < buf.size(); at += codec<Entry>::size) {
        Entry e = codec<Entry>::decode(buf.data() + at);
        if (!entries_.empty() && !codec<Entry>::ordered(entries_.back(), e)) {
            entries_.clear();
            return false;
        }
        entries_.push_back(e);
    }
    return true;
}

template <typename Entry>
bool index_file<Entry>::append(const Entry& e) {
    std::uint8_t buf[codec<Entry>::size];
    codec<Entry>::encode(e, buf);
    std::lock_guard lock(mu_);
    off_t at = static_cast<off_t>(index_header_size + entries_.size() * codec<Entry>::size);
    entries_.push_back(e);
    return fd_ && pwrite_all(fd_.get(), buf, sizeof buf, at);
}

template <typename Entry>
bool index_file<Entry>::sync() {
    return fd_ && ::fdatasync(fd_.get()) == 0;
}

template class index_file<offset_index_entry>;
template class index_file<time_index_entry>;

}  // namespace sluice::store
