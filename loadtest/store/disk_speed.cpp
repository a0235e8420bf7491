#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "loadtest/store/store_bench.hpp"

namespace sluice::bench::store_bench {

timing raw_disk_write(const std::string& dir, std::uint64_t mb) {
    std::string path = dir + "/raw-disk-test";
    std::vector<char> block(1 << 20, 0);
    timing t;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return t;
    auto start = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < mb; ++i) {
        if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) break;
        t.bytes += block.size();
    }
    ::fdatasync(fd);
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ::close(fd);
    ::unlink(path.c_str());
    return t;
}

}  // namespace sluice::bench::store_bench
