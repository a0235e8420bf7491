// libFuzzer target for everything in auth/ that reads untrusted or hand-written bytes: the
// SCRAM server's two client messages, SASL PLAIN, the password file and the ACL file (and the
// ACL checks on the parsed rules). The first byte picks the target; nothing may crash, leak
// or throw.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/acl.hpp"
#include "auth/sasl_plain.hpp"
#include "auth/scram_server.hpp"
#include "auth/user_file.hpp"

using namespace sluice::auth;

namespace {

const user_store_ptr& store() {
    static const user_store_ptr s = [] {
        user_file f;
        hash_parameters cheap;
        cheap.pbkdf2_iterations = min_pbkdf2_iterations;
        cheap.scram_iterations = min_scram_iterations;
        f.set_password("user", "pencil", cheap);
        return std::make_shared<const user_store>(std::move(f));
    }();
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
        case 0: {  // client-first, then client-final, split at the first newline
            const std::size_t nl = input.find('\n');
            scram_server s(store(), {.nonce = [] { return std::string("fixed"); }});
            const scram_step first = s.client_first(input.substr(0, nl));
            if (first.status == scram_status::challenge && nl != std::string_view::npos)
                (void)s.client_final(input.substr(nl + 1));
            break;
        }
        case 1: {  // the PLAIN parser only: verify() is deliberately slow
            (void)parse_sasl_plain(input);
            break;
        }
        case 2: {
            const auto r = parse_user_file(input, "fuzz");
            if (r.file) (void)serialize_user_file(*r.file);
            break;
        }
        case 3: {
            const auto r = acl::parse(input, "fuzz");
            if (r.rules) {
                const acl_identity who{"client/+#", std::string_view("u")};
                (void)r.rules->check_publish(who, "a/b/c");
                (void)r.rules->check_subscribe(who, "a/+/#");
                (void)r.rules->check_subscribe(who, "$share/g/#");
                (void)r.rules->check_kafka(who, kafka_operation::consume, "orders");
            }
            break;
        }
    }
    return 0;
}
