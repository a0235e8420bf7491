#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "broker/config.hpp"

// What SIGHUP does with the config file (docs/operations.md, "Reloading the configuration").
// The command line is parsed again (so flags still override the file) and compared with the
// configuration the broker runs with. Applied at once: `log_level`, `log_format`,
// `ingest_rules` (new publishes use the new set; a publish already matched keeps its rule) and
// each http listener's `admin_users` and `admin_token_file` (the token file is read again even
// when its name did not change). Every other key whose value changed is named in one warning
// saying it needs a restart. A file that no longer parses changes nothing.
//
// Threads: the main thread (the SIGHUP handler) only.
namespace sluice::broker {

class admin_auth;
class durable_log;

// Keys whose value differs between `running` and `fresh` and that take effect only at start,
// in the order of docs/configuration.md: `data_dir`, `threads`, `listeners.<name>` (added,
// removed, or changed in anything but its admin keys), `mqtt.<key>`, `store.<key>`,
// `egress_rules`, `auth.<key>`, `kafka_groups.<key>`.
std::vector<std::string> keys_needing_restart(const config& running, const config& fresh);

struct reload_targets {
    durable_log* log = nullptr;                                // null before the log opened
    std::vector<std::pair<std::string, admin_auth*>> admins;  // http listener name -> its auth
};

class config_reloader {
  public:
    // `parse` builds a fresh configuration the way the broker's start did (it throws
    // config_error); `running` is the configuration the broker started with.
    config_reloader(std::function<config()> parse, config running);

    // Re-reads and applies; appends what it reloaded ("log_level", "ingest_rules",
    // "listeners.http.admin_users", ...) to `reloaded` and what needs a restart to
    // `needs_restart`, logging one line per key that needs a restart and per failure.
    void reload(reload_targets& targets, std::vector<std::string>& reloaded,
                std::vector<std::string>& needs_restart);

  private:
    std::function<config()> parse_;
    config running_;  // what is in force: the start configuration with the reloads applied
};

// "SIGHUP: reloaded a, b; needs restart: c" (either part left out when empty; "nothing to
// reload" when both are).
std::string reload_summary(const std::vector<std::string>& reloaded,
                           const std::vector<std::string>& needs_restart);

}  // namespace sluice::broker
