#pragma once
// Small POSIX helpers that report failure with a bool instead of throwing, so disk trouble
// becomes errc::io_error at the store's boundary.

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

namespace sluice::store {

// Owns a file descriptor; closes it on destruction. Thread: any, not shared mutably.
class unique_fd {
  public:
    unique_fd() = default;
    explicit unique_fd(int fd) : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept;
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd();
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset();

  private:
    int fd_ = -1;
};

bool pwrite_all(int fd, const void* data, std::size_t size, off_t position);
// Reads up to size bytes; fewer only at end of file. Returns -1 on error.
ssize_t pread_full(int fd, void* data, std::size_t size, off_t position);
bool fsync_dir(const std::string& dir);
// Writes content to path.tmp, syncs it and renames it over path (then syncs the folder).
bool write_file_atomic(const std::string& path, const std::string& content);
// Whole content of a small file; nullopt if missing, unreadable or larger than max_size.
std::optional<std::string> read_small_file(const std::string& path, std::size_t max_size = 1 << 20);
std::optional<off_t> file_size(int fd);

}  // namespace sluice::store
