#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/crypto.hpp"

// A small SCRAM-SHA-256 client (RFC 5802) without channel binding (gs2 header "n,,"): the
// tests' counterpart of scram_server, and usable by a bridge or the load generator later.
//
//   scram_client c("user", "pencil");
//   send(c.client_first());
//   auto final = c.client_final(server_first);   // nullopt: malformed or unacceptable reply
//   bool ok = c.verify_server_final(server_final);  // the server knew the password too
//
// Threads: one object per exchange, one thread at a time.
namespace sluice::auth {

class scram_client {
  public:
    // `nonce` is the client nonce; empty means 18 random bytes in base64.
    scram_client(std::string username, std::string password, std::string nonce = {});

    std::string client_first() const;
    // nullopt when the server-first message is malformed, its nonce does not extend ours, or
    // its iteration count is below 4096 or above `max_iterations`.
    std::optional<std::string> client_final(std::string_view server_first,
                                            std::uint32_t max_iterations = 1'000'000);
    bool verify_server_final(std::string_view server_final) const;

  private:
    std::string username_;
    std::string password_;
    std::string nonce_;
    bytes expected_server_signature_;
};

}  // namespace sluice::auth
