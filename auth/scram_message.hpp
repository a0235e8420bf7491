#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The syntax shared by the SCRAM server and client (RFC 5802 section 7): attribute lists
// ("n=user,r=nonce") and the saslname escaping of ',' and '='. Internal to auth/.
//
// Threads: stateless functions, any thread.
namespace sluice::auth::scram {

struct attribute {
    std::string_view name;   // ASCII letters: one in RFC 5802, more in Kafka's extensions
    std::string_view value;  // everything after "x=" up to the next ','
};

// Splits "a=1,b=2" into attributes; nullopt when a part is not letters, '=', value. RFC 5802
// names are one letter; longer ones (Kafka's "tokenauth=true") can only be extensions, which
// the callers skip.
std::optional<std::vector<attribute>> split_attributes(std::string_view s);

// saslname: "=2C" is ',' and "=3D" is '=' (hex digits in either case, as the RFC's ABNF
// allows and Perl's Authen::SCRAM sends); any other '=' or a raw ',' makes it invalid.
std::optional<std::string> decode_saslname(std::string_view s);
std::string encode_saslname(std::string_view s);

// A nonce: one or more printable ASCII characters (0x21..0x7E) except ','.
bool valid_nonce(std::string_view s);

}  // namespace sluice::auth::scram
