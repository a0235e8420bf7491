#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "auth/user_file.hpp"

// The users a running broker authenticates against: an immutable snapshot of a password file.
// The broker holds a std::shared_ptr<const user_store>; a reload (SIGHUP) loads a new one and
// swaps the pointer (std::atomic<std::shared_ptr<...>> or under a mutex), while logins already
// in progress keep the snapshot they started with.
//
// Threads: immutable after construction; every member is const and may be called from any
// number of threads at once.
namespace sluice::auth {

class user_store {
  public:
    explicit user_store(user_file users);

    const user_record* find(std::string_view name) const { return users_.find(name); }
    std::size_t size() const { return users_.users().size(); }

    // True when the user exists and the password is right. An unknown user costs the PBKDF2
    // work of a password set with the default parameters (against a dummy record), so timing
    // does not reveal which names exist. Expensive by design (hash_parameters): run it off the
    // io threads.
    bool verify(std::string_view name, std::string_view password) const;

    // A per-snapshot random secret from which the SCRAM server derives a stable fake salt for
    // unknown users (RFC 5802 section 5.1, "the server MAY ... fake").
    const bytes& fake_salt_secret() const { return fake_salt_secret_; }
    // The SCRAM iteration count most users have (the default for an empty store): what an
    // unknown user's fake challenge announces, so it looks like a real user's.
    std::uint32_t typical_scram_iterations() const { return typical_scram_iterations_; }

  private:
    user_file users_;
    password_hash dummy_;
    bytes fake_salt_secret_;
    std::uint32_t typical_scram_iterations_ = 0;
};

using user_store_ptr = std::shared_ptr<const user_store>;

// Loads `path` into a new snapshot; nullptr and `error` ("<path>:<line>: <what>") on failure.
user_store_ptr load_user_store(const std::string& path, std::string& error);

}  // namespace sluice::auth
