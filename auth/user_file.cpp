#include "auth/user_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace sluice::auth {

const user_record* user_file::find(std::string_view name) const {
    const auto it = users_.find(name);
    return it == users_.end() ? nullptr : &it->second;
}

bool user_file::set_password(std::string_view name, std::string_view password,
                             const hash_parameters& params) {
    if (!valid_username(name) || !valid_password(password)) return false;
    return put(make_user_record(std::string(name), password, params));
}

bool user_file::put(user_record record) {
    if (!valid_username(record.name)) return false;
    std::string key = record.name;
    users_.insert_or_assign(std::move(key), std::move(record));
    return true;
}

bool user_file::remove(std::string_view name) {
    const auto it = users_.find(name);
    if (it == users_.end()) return false;
    users_.erase(it);
    return true;
}

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            parts.push_back(s.substr(start));
            return parts;
        }
        parts.push_back(s.substr(start, pos - start));
        start = pos + 1;
    }
}

std::optional<std::uint32_t> parse_u32(std::string_view s) {
    std::uint32_t v = 0;
    if (s.empty() || s.size() > 10) return std::nullopt;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

bool is_blank_or_comment(std::string_view line) {
    const std::size_t first = line.find_first_not_of(" \t");
    return first == std::string_view::npos || line[first] == '#';
}

// One user line: NAME:pbkdf2-sha512:ITER:SALT:HASH:scram-sha-256:ITER:SALT:STOREDKEY:SERVERKEY
std::optional<user_record> parse_user_line(std::string_view line, std::string& what) {
    const auto f = split(line, ':');
    if (f.size() != 10) {
        what = "expected 10 ':'-separated fields, found " + std::to_string(f.size());
        return std::nullopt;
    }
    user_record r;
    r.name = std::string(f[0]);
    if (!valid_username(r.name)) {
        what = "invalid user name";
        return std::nullopt;
    }
    if (f[1] != "pbkdf2-sha512") {
        what = "unknown password scheme '" + std::string(f[1]) + "' (expected pbkdf2-sha512)";
        return std::nullopt;
    }
    if (f[5] != "scram-sha-256") {
        what = "unknown SCRAM scheme '" + std::string(f[5]) + "' (expected scram-sha-256)";
        return std::nullopt;
    }
    const auto p_iter = parse_u32(f[2]);
    const auto s_iter = parse_u32(f[6]);
    if (!p_iter || *p_iter < min_pbkdf2_iterations || *p_iter > max_pbkdf2_iterations) {
        what = "pbkdf2-sha512 iteration count out of range";
        return std::nullopt;
    }
    if (!s_iter || *s_iter < min_scram_iterations || *s_iter > max_scram_iterations) {
        what = "scram-sha-256 iteration count out of range";
        return std::nullopt;
    }
    const auto p_salt = base64_decode(f[3]);
    const auto p_hash = base64_decode(f[4]);
    const auto s_salt = base64_decode(f[7]);
    const auto stored = base64_decode(f[8]);
    const auto server = base64_decode(f[9]);
    if (!p_salt || !p_hash || !s_salt || !stored || !server) {
        what = "invalid base64";
        return std::nullopt;
    }
    const auto salt_ok = [](const bytes& s) {
        return s.size() >= min_salt_size && s.size() <= max_salt_size;
    };
    if (!salt_ok(*p_salt) || !salt_ok(*s_salt)) {
        what = "salt must be 16 to 64 bytes";
        return std::nullopt;
    }
    if (p_hash->size() != 64 || stored->size() != 32 || server->size() != 32) {
        what = "hash or key of the wrong length";
        return std::nullopt;
    }
    r.password = {*p_iter, *p_salt, *p_hash};
    r.scram = {*s_iter, *s_salt, *stored, *server};
    return r;
}

}  // namespace

user_file_result parse_user_file(std::string_view text, std::string_view source) {
    user_file_result result;
    user_file file;
    bool header_seen = false;
    std::size_t line_no = 0;
    std::size_t pos = 0;
    const auto fail = [&](const std::string& what) {
        result.error = std::string(source) + ":" + std::to_string(line_no) + ": " + what;
        return result;
    };
    while (pos < text.size()) {
        ++line_no;
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (is_blank_or_comment(line)) continue;
        if (!header_seen) {
            if (line != user_file_header)
                return fail("expected the header line '" + std::string(user_file_header) + "'");
            header_seen = true;
            continue;
        }
        std::string what;
        auto record = parse_user_line(line, what);
        if (!record) return fail(what);
        if (file.find(record->name) != nullptr)
            return fail("user '" + record->name + "' appears twice");
        file.put(std::move(*record));
    }
    if (!header_seen) {
        line_no = 1;
        return fail("missing the header line '" + std::string(user_file_header) + "'");
    }
    result.file = std::move(file);
    return result;
}

std::string serialize_user_file(const user_file& file) {
    std::string out;
    out += "# Sluice password file (docs/security.md). Edit with `sluice passwd`.\n";
    out += user_file_header;
    out += '\n';
    for (const auto& [name, r] : file.users()) {
        out += name;
        out += ":pbkdf2-sha512:" + std::to_string(r.password.iterations) + ':' +
               base64_encode(r.password.salt) + ':' + base64_encode(r.password.hash);
        out += ":scram-sha-256:" + std::to_string(r.scram.iterations) + ':' +
               base64_encode(r.scram.salt) + ':' + base64_encode(r.scram.stored_key) + ':' +
               base64_encode(r.scram.server_key);
        out += '\n';
    }
    return out;
}

user_file_result load_user_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        user_file_result r;
        r.error = path + ": cannot open: " + std::strerror(errno);
        return r;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        user_file_result r;
        r.error = path + ": read error";
        return r;
    }
    return parse_user_file(text.str(), path);
}

namespace {

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::string directory_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

}  // namespace

bool save_user_file(const std::string& path, const user_file& file, std::string& error) {
    const std::string text = serialize_user_file(file);
    // A random suffix so that two concurrent savers never share a temporary file.
    std::string tmp = path + ".tmp-";
    for (const std::uint8_t b : random_bytes(6)) {
        tmp += "0123456789abcdef"[b >> 4];
        tmp += "0123456789abcdef"[b & 15];
    }

    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = tmp + ": cannot create: " + std::strerror(errno);
        return false;
    }
    const auto fail = [&](const std::string& what) {
        error = what + ": " + std::strerror(errno);
        ::close(fd);
        ::unlink(tmp.c_str());
        return false;
    };
    // The umask may have cleared bits but never adds any; fchmod makes 0600 exact.
    if (::fchmod(fd, 0600) != 0) return fail(tmp + ": chmod");
    if (!write_all(fd, text)) return fail(tmp + ": write");
    if (::fsync(fd) != 0) return fail(tmp + ": fsync");
    if (::close(fd) != 0) {
        error = tmp + ": close: " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return false;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        error = path + ": rename: " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return false;
    }
    // Make the rename itself durable.
    const int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    return true;
}

}  // namespace sluice::auth
