#include "broker/config_reload.hpp"

#include <algorithm>

#include "broker/admin_auth.hpp"
#include "broker/durable_log.hpp"
#include "broker/log.hpp"

namespace sluice::broker {

namespace {

// A listener's settings without the keys a reload applies.
listener_settings restart_part(listener_settings l) {
    l.admin_users.clear();
    l.admin_token_file.clear();
    return l;
}

template <class T>
void compare(std::vector<std::string>& out, const std::string& key, const T& a, const T& b) {
    if (!(a == b)) out.push_back(key);
}

}  // namespace

std::vector<std::string> keys_needing_restart(const config& running, const config& fresh) {
    std::vector<std::string> out;
    compare(out, "data_dir", running.data_dir, fresh.data_dir);
    compare(out, "threads", running.threads, fresh.threads);
    for (const auto& l : running.listeners) {
        const auto* f = fresh.listener(l.name);
        if (!f || !(restart_part(l) == restart_part(*f))) out.push_back("listeners." + l.name);
    }
    for (const auto& f : fresh.listeners)
        if (!running.listener(f.name)) out.push_back("listeners." + f.name);
    const auto& m = running.mqtt_opts;
    const auto& n = fresh.mqtt_opts;
    compare(out, "mqtt.max_packet_size", m.max_packet_size, n.max_packet_size);
    compare(out, "mqtt.receive_maximum", m.receive_maximum, n.receive_maximum);
    compare(out, "mqtt.max_inflight", m.max_inflight, n.max_inflight);
    compare(out, "mqtt.topic_alias_maximum", m.topic_alias_maximum, n.topic_alias_maximum);
    compare(out, "mqtt.max_keep_alive", m.max_keep_alive, n.max_keep_alive);
    compare(out, "mqtt.connect_timeout_ms", m.connect_timeout_ms, n.connect_timeout_ms);
    compare(out, "mqtt.maximum_qos", m.maximum_qos, n.maximum_qos);
    compare(out, "mqtt.retain_available", m.retain_available, n.retain_available);
    compare(out, "mqtt.send_queue_bytes", m.send_queue_bytes, n.send_queue_bytes);
    compare(out, "mqtt.max_queued_messages", m.max_queued_messages, n.max_queued_messages);
    compare(out, "mqtt.backlog_max_messages", m.backlog_max_messages, n.backlog_max_messages);
    compare(out, "mqtt.backlog_max_bytes", m.backlog_max_bytes, n.backlog_max_bytes);
    compare(out, "mqtt.backlog_max_age_ms", m.backlog_max_age_ms, n.backlog_max_age_ms);
    compare(out, "mqtt.max_queued_bytes", m.max_queued_bytes, n.max_queued_bytes);
    compare(out, "mqtt.queued_bytes_budget", m.queued_bytes_budget, n.queued_bytes_budget);
    compare(out, "mqtt.max_session_expiry", m.max_session_expiry, n.max_session_expiry);
    compare(out, "mqtt.sys_interval_s", m.sys_interval_s, n.sys_interval_s);
    compare(out, "mqtt.unauthenticated_bytes", m.unauthenticated_bytes, n.unauthenticated_bytes);
    const auto& s = running.store_opts;
    const auto& t = fresh.store_opts;
    compare(out, "store.writer_threads", s.writer_threads, t.writer_threads);
    compare(out, "store.parallel_syncs", s.parallel_syncs, t.parallel_syncs);
    compare(out, "store.sync_round_gap_us", s.sync_round_gap_us, t.sync_round_gap_us);
    compare(out, "store.pending_bytes_budget", s.pending_bytes_budget, t.pending_bytes_budget);
    compare(out, "store.reopen_interval_ms", s.reopen_interval_ms, t.reopen_interval_ms);
    compare(out, "egress_rules", running.egress->rules(), fresh.egress->rules());
    compare(out, "auth.password_file", running.auth_opts.password_file,
            fresh.auth_opts.password_file);
    compare(out, "auth.acl_file", running.auth_opts.acl_file, fresh.auth_opts.acl_file);
    const auto& g = running.kafka_groups;
    const auto& h = fresh.kafka_groups;
    compare(out, "kafka_groups.min_session_timeout_ms", g.min_session_timeout_ms,
            h.min_session_timeout_ms);
    compare(out, "kafka_groups.max_session_timeout_ms", g.max_session_timeout_ms,
            h.max_session_timeout_ms);
    compare(out, "kafka_groups.initial_rebalance_delay_ms", g.initial_rebalance_delay_ms,
            h.initial_rebalance_delay_ms);
    return out;
}

config_reloader::config_reloader(std::function<config()> parse, config running)
    : parse_(std::move(parse)), running_(std::move(running)) {}

void config_reloader::reload(reload_targets& targets, std::vector<std::string>& reloaded,
                             std::vector<std::string>& needs_restart) {
    config fresh;
    try {
        fresh = parse_();
    } catch (const config_error& e) {
        log_error("SIGHUP: config file ", running_.config_file, " not reloaded, nothing in it "
                  "changed: ", e.message);
        return;
    }
    if (fresh.log_level != running_.log_level) {
        set_log_level(*parse_log_level(fresh.log_level));  // checked by the parser
        running_.log_level = fresh.log_level;
        reloaded.push_back("log_level");
    }
    if (fresh.log_format != running_.log_format) {
        set_log_format(*parse_log_format(fresh.log_format));
        running_.log_format = fresh.log_format;
        reloaded.push_back("log_format");
    }
    if (fresh.ingest->rules() != running_.ingest->rules()) {
        std::string error;
        if (!targets.log) {
            log_warn("SIGHUP: ingest_rules not reloaded: the log is not open yet");
        } else if (!targets.log->replace_rules(fresh.ingest, error)) {
            log_warn("SIGHUP: ingest_rules not reloaded (the previous rules stay): ", error);
        } else {
            running_.ingest = fresh.ingest;
            reloaded.push_back("ingest_rules");
            log_info("ingest rules reloaded: ", fresh.ingest->rules().size(), " rule(s)");
        }
    }
    for (auto& [name, admin] : targets.admins) {
        auto* now = running_.listener(name);
        const auto* next = fresh.listener(name);
        if (!now || !next || next->kind != listener_kind::http) continue;
        try {
            admin->set_credentials(admin_credentials_of(*next));
        } catch (const config_error& e) {
            log_warn("SIGHUP: admin credentials of listener ", name,
                     " not reloaded (the previous ones stay): ", e.message);
            continue;
        }
        const std::string key = "listeners." + name;
        if (next->admin_users != now->admin_users) reloaded.push_back(key + ".admin_users");
        if (!next->admin_token_file.empty() || !now->admin_token_file.empty())
            reloaded.push_back(key + ".admin_token_file");
        now->admin_users = next->admin_users;
        now->admin_token_file = next->admin_token_file;
    }
    for (auto& key : keys_needing_restart(running_, fresh)) {
        log_warn("SIGHUP: ", key, " changed in the config file; it takes effect at the next "
                 "restart");
        needs_restart.push_back(std::move(key));
    }
}

std::string reload_summary(const std::vector<std::string>& reloaded,
                           const std::vector<std::string>& needs_restart) {
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& k : v) s += (s.empty() ? "" : ", ") + k;
        return s;
    };
    std::string line = "SIGHUP: ";
    if (reloaded.empty() && needs_restart.empty()) return line + "nothing to reload";
    if (!reloaded.empty()) line += "reloaded " + join(reloaded);
    if (!needs_restart.empty())
        line += std::string(reloaded.empty() ? "" : "; ") + "needs restart: " + join(needs_restart);
    return line;
}

}  // namespace sluice::broker
