#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "auth/credentials.hpp"

// The password file (format: docs/security.md, "Password file"): parse, serialise, load and
// save atomically. A user_file is the editable form (the passwd command, an admin API); the
// broker turns it into an immutable user_store (user_store.hpp) to serve logins.
//
// Threads: a user_file is a plain value owned by one thread at a time.
namespace sluice::auth {

inline constexpr std::string_view user_file_header = "sluice-passwd 1";

class user_file {
  public:
    using map = std::map<std::string, user_record, std::less<>>;

    const map& users() const { return users_; }
    const user_record* find(std::string_view name) const;

    // Adds the user or replaces its credentials. False (nothing changed) when the name is not
    // valid_username() or the password not valid_password().
    bool set_password(std::string_view name, std::string_view password,
                      const hash_parameters& params = {});
    // Adds or replaces a ready-made record (loading); false for an invalid name.
    bool put(user_record record);
    // True when the user existed.
    bool remove(std::string_view name);

  private:
    map users_;
};

// Parse result: a file, or an error message of the form "<source>:<line>: <what>".
struct user_file_result {
    std::optional<user_file> file;
    std::string error;
};

// `source` names the text in error messages (normally the path).
user_file_result parse_user_file(std::string_view text, std::string_view source);
std::string serialize_user_file(const user_file& file);

// Reads and parses `path`. A missing file is an error here; the passwd command treats it as
// empty itself.
user_file_result load_user_file(const std::string& path);

// Writes `path` atomically: a temporary file in the same directory, created with mode 0600,
// written and fsync'd, renamed over `path`, then the directory fsync'd. On failure `path` is
// unchanged, the temporary file removed, and the error says what failed.
bool save_user_file(const std::string& path, const user_file& file, std::string& error);

}  // namespace sluice::auth
