#pragma once
// Shared helpers of the auth tests: a temporary folder, hex, cheap hash parameters.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "auth/credentials.hpp"

namespace sluice::auth::test {

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it.
class temp_dir {
  public:
    temp_dir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/sluice-auth-XXXXXX";
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
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

inline std::string hex(const bytes& b) {
    std::string out;
    for (const std::uint8_t c : b) {
        out += "0123456789abcdef"[c >> 4];
        out += "0123456789abcdef"[c & 15];
    }
    return out;
}

// The file format's minimum work factors: the tests hash many passwords.
inline hash_parameters cheap() {
    hash_parameters p;
    p.pbkdf2_iterations = min_pbkdf2_iterations;
    p.scram_iterations = min_scram_iterations;
    return p;
}

}  // namespace sluice::auth::test
