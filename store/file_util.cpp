#include "store/file_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace sluice::store {

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
    if (this != &o) {
        reset();
        fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
}

unique_fd::~unique_fd() {
    reset();
}

void unique_fd::reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool pwrite_all(int fd, const void* data, std::size_t size, off_t position) {
    auto* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::pwrite(fd, p, size, position);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += n;
        size -= static_cast<std::size_t>(n);
        position += n;
    }
    return true;
}

ssize_t pread_full(int fd, void* data, std::size_t size, off_t position) {
    auto* p = static_cast<char*>(data);
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = ::pread(fd, p + done, size - done, position + static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    return static_cast<ssize_t>(done);
}

bool fsync_dir(const std::string& dir) {
    unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return false;
    return ::fsync(fd.get()) == 0;
}

bool write_file_atomic(const std::string& path, const std::string& content) {
    std::string tmp = path + ".tmp";
    {
        unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd) return false;
        if (!pwrite_all(fd.get(), content.data(), content.size(), 0)) return false;
        if (::fdatasync(fd.get()) != 0) return false;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) return false;
    auto slash = path.find_last_of('/');
    return fsync_dir(slash == std::string::npos ? "." : path.substr(0, slash));
}

std::optional<std::string> read_small_file(const std::string& path, std::size_t max_size) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    auto size = file_size(fd.get());
    if (!size || static_cast<std::size_t>(*size) > max_size) return std::nullopt;
    std::string s(static_cast<std::size_t>(*size), '\0');
    if (pread_full(fd.get(), s.data(), s.size(), 0) != static_cast<ssize_t>(s.size()))
        return std::nullopt;
    return s;
}

std::optional<off_t> file_size(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return std::nullopt;
    return st.st_size;
}

}  // namespace sluice::store
