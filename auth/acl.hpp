#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Access control lists: which identities may publish to and subscribe to which MQTT topics,
// and produce to and consume from which Kafka topics. The file format and the matching rules
// are in docs/security.md ("Access control"); in short, one rule per line,
//
//   default deny
//   allow readwrite user=alice      devices/%u/#
//   deny  subscribe all             secret/#
//   allow publish   client=sensor-* sensors/%c/data
//   allow subscribe anonymous       public/#
//   allow readwrite user=*          kafka:telemetry
//
// and the first rule that applies decides; when none does, the default decides.
//
// Threads: an acl is immutable after parsing; share it as std::shared_ptr<const acl> and swap
// the pointer on reload like the user store. Every member is const and thread-safe.
namespace sluice::auth {

enum class acl_effect : std::uint8_t { allow, deny };

// A bit set: readwrite = publish | subscribe.
enum class acl_access : std::uint8_t { publish = 1, subscribe = 2, readwrite = 3 };

// MQTT topics, or Kafka topics (rules whose filter has the "kafka:" prefix).
enum class acl_domain : std::uint8_t { mqtt, kafka };

enum class acl_subject : std::uint8_t {
    all,        // everyone, anonymous included
    anonymous,  // connections without a user name
    user,       // user names matching `pattern`
    client,     // client ids matching `pattern`
};

struct acl_rule {
    acl_effect effect = acl_effect::deny;
    acl_access access = acl_access::readwrite;
    acl_domain domain = acl_domain::mqtt;
    acl_subject subject = acl_subject::all;
    std::string pattern;   // for user/client: '*' matches any run of characters
    std::string filter;    // an MQTT topic filter, possibly with %c and %u; "kafka:" removed
    std::size_t line = 0;  // in the source file, for logs
};

// Who is asking. `username` is nullopt for an anonymous connection.
struct acl_identity {
    std::string_view client_id;
    std::optional<std::string_view> username;
};

enum class kafka_operation : std::uint8_t { produce, consume };

struct acl_decision {
    bool allowed = false;
    // The rule that decided (for logs; points into the acl, valid while it lives); nullptr
    // when the default decided or the name or filter was invalid.
    const acl_rule* rule = nullptr;
};

struct acl_parse_result;

class acl {
  public:
    // `default_effect` applies when the text has no "default" line.
    static acl_parse_result parse(std::string_view text, std::string_view source,
                                  acl_effect default_effect = acl_effect::deny);
    // Reads and parses a file.
    static acl_parse_result load(const std::string& path,
                                 acl_effect default_effect = acl_effect::deny);

    acl(std::vector<acl_rule> rules, acl_effect default_effect)
        : rules_(std::move(rules)), default_(default_effect) {}

    // PUBLISH: a rule applies when its filter matches the topic name. An invalid topic name is
    // refused.
    acl_decision check_publish(const acl_identity& who, std::string_view topic) const;

    // SUBSCRIBE (also "$share/<group>/<filter>": the inner filter is checked): an allow rule
    // applies when its filter covers the subscription's filter (every topic the subscription
    // can match is matched by the rule); a deny rule applies when they overlap (some topic
    // matches both). An invalid filter is refused.
    acl_decision check_subscribe(const acl_identity& who, std::string_view filter) const;

    // Kafka: produce is publish, consume is subscribe, to the topic name as one MQTT level.
    // Only "kafka:" rules apply. An invalid Kafka topic name is refused.
    acl_decision check_kafka(const acl_identity& who, kafka_operation op,
                             std::string_view topic) const;

    const std::vector<acl_rule>& rules() const { return rules_; }
    acl_effect default_effect() const { return default_; }

  private:
    enum class target { topic_name, subscription };
    acl_decision decide(const acl_identity& who, acl_domain domain, acl_access access, target kind,
                        std::string_view name) const;

    std::vector<acl_rule> rules_;
    acl_effect default_ = acl_effect::deny;
};

struct acl_parse_result {
    std::optional<acl> rules;
    std::string error;  // "<source>:<line>: <what>"
};

// Replaces %c with the client id and %u with the user name. nullopt when the filter uses one
// that is missing (anonymous for %u, empty client id), that contains '+', '#' or '/' (it
// would widen or reshape the filter) or starts with '$' (it would reach '$' topics), or when
// the result is not a valid filter.
std::optional<std::string> substitute_acl_filter(std::string_view filter, const acl_identity& who);

// A Kafka topic name: 1..249 characters of [A-Za-z0-9._-], not "." or "..".
bool valid_kafka_topic_name(std::string_view name);

}  // namespace sluice::auth
