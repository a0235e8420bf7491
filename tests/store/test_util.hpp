#pragma once
// Shared helpers of the store tests: a temporary folder and batch builders.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "store/batch_builder.hpp"
#include "store/batch_reader.hpp"
#include "store/partition_log.hpp"

namespace sluice::store::test {

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it.
class temp_dir {
  public:
    temp_dir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/sluice-store-XXXXXX";
        std::vector<char> buf(pattern.begin(), pattern.end());
        buf.push_back('\0');
        path_ = ::mkdtemp(buf.data());
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

// A batch of n records whose values say which record they are ("v<tag>-<i>").
inline record_batch make_batch(int n, const std::string& tag, std::int64_t timestamp = 1000,
                               compression codec = compression::none) {
    batch_builder b(codec);
    for (int i = 0; i < n; ++i) {
        // Built with += : GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.
        std::string key = "k";
        key += std::to_string(i);
        std::string value = "v";
        value += tag;
        value += "-";
        value += std::to_string(i);
        b.add(timestamp + i, key, value);
    }
    return *b.build();
}

inline record_batch make_keyed(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& kvs,
    std::int64_t timestamp) {
    batch_builder b;
    for (const auto& [k, v] : kvs)
        b.add(timestamp, k, v ? std::optional<std::string_view>(*v) : std::nullopt);
    return *b.build();
}

inline clock_fn fixed_clock(std::int64_t* now) {
    return [now] { return *now; };
}

// Every record from `from` up to the high watermark, CRC-checked.
inline std::vector<record> read_all(const partition_log& log, offset from = offset{0}) {
    std::vector<record> out;
    offset at = from;
    while (at < log.high_watermark()) {
        byte_buffer bytes;
        offset next;
        if (log.read_copy(at, 1 << 20, bytes, next) != errc::ok || bytes.empty()) break;
        std::vector<decoded_batch> batches;
        if (decode_batches(bytes, batches) != errc::ok) break;
        for (auto& b : batches)
            for (auto& r : b.records)
                if (r.offset >= at.value) out.push_back(r);
        at = next;
    }
    return out;
}

// Appends on the calling thread as the writer would (write, sync, commit).
inline append_result append_now(partition_log& log, record_batch b,
                                leader_epoch e = leader_epoch{0}) {
    auto r = log.append(b, e);
    if (r.error == errc::ok) {
        if (auto err = log.flush_writes(); err != errc::ok) return {err};
        log.commit();
    }
    return r;
}

}  // namespace sluice::store::test
