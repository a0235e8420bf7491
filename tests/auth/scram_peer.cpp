// A line-oriented SCRAM-SHA-256 peer around the auth library, for cross-checking it against
// an independent implementation (scram_cross_check.pl drives it with Perl's Authen::SCRAM).
//
//   scram_peer adduser FILE USER PASSWORD   add a user to FILE (default work factors)
//   scram_peer server FILE                  one exchange: read client-first, write
//                                           server-first, read client-final, write
//                                           server-final ("v=..." or "e=...")
//   scram_peer client USER PASSWORD         one exchange from the client side; prints "ok"
//                                           when the server's signature verifies
//   scram_peer credentials FILE USER        prints "salt stored-key server-key iterations"
//                                           (base64) for a server under test to use
//   scram_peer verify FILE USER PASSWORD    exit 0 when both the plain-password check and a
//                                           SCRAM exchange accept the password, 2 otherwise
//
// Messages are one per line on stdin/stdout.
#include <iostream>
#include <string>

#include "auth/scram_client.hpp"
#include "auth/scram_server.hpp"
#include "auth/user_file.hpp"

using namespace sluice::auth;

namespace {

std::string read_line() {
    std::string line;
    std::getline(std::cin, line);
    return line;
}

int fail(const std::string& why) {
    std::cerr << "scram_peer: " << why << "\n";
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "adduser" && argc == 5) {
        auto loaded = load_user_file(argv[2]);
        user_file f = loaded.file ? std::move(*loaded.file) : user_file{};
        if (!f.set_password(argv[3], argv[4])) return fail("invalid user or password");
        std::string error;
        if (!save_user_file(argv[2], f, error)) return fail(error);
        return 0;
    }
    if (mode == "server" && argc == 3) {
        std::string error;
        const user_store_ptr store = load_user_store(argv[2], error);
        if (!store) return fail(error);
        scram_server s(store);
        const scram_step first = s.client_first(read_line());
        std::cout << first.message << std::endl;
        if (first.status != scram_status::challenge) return 2;
        const scram_step last = s.client_final(read_line());
        std::cout << last.message << std::endl;
        return last.status == scram_status::success ? 0 : 2;
    }
    if (mode == "client" && argc == 4) {
        scram_client c(argv[2], argv[3]);
        std::cout << c.client_first() << std::endl;
        const auto final = c.client_final(read_line());
        if (!final) return fail("unacceptable server-first message");
        std::cout << *final << std::endl;
        const bool ok = c.verify_server_final(read_line());
        std::cout << (ok ? "ok" : "bad") << std::endl;
        return ok ? 0 : 2;
    }
    if (mode == "credentials" && argc == 4) {
        const auto loaded = load_user_file(argv[2]);
        if (!loaded.file) return fail(loaded.error);
        const user_record* r = loaded.file->find(argv[3]);
        if (r == nullptr) return fail("no such user");
        std::cout << base64_encode(r->scram.salt) << ' ' << base64_encode(r->scram.stored_key)
                  << ' ' << base64_encode(r->scram.server_key) << ' ' << r->scram.iterations
                  << std::endl;
        return 0;
    }
    if (mode == "verify" && argc == 5) {
        std::string error;
        const user_store_ptr store = load_user_store(argv[2], error);
        if (!store) return fail(error);
        const bool plain_ok = store->verify(argv[3], argv[4]);
        scram_server s(store);
        scram_client c(argv[3], argv[4]);
        const scram_step first = s.client_first(c.client_first());
        const auto final = c.client_final(first.message);
        const bool scram_ok = final && s.client_final(*final).status == scram_status::success;
        return plain_ok && scram_ok ? 0 : 2;
    }
    return fail("usage: scram_peer adduser|server|client|credentials|verify ...");
}
