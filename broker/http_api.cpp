#include "broker/http_api.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <future>

#include <nlohmann/json.hpp>

#include "broker/broker_core.hpp"
#include "broker/dashboard_assets.hpp"
#include "broker/durable_log.hpp"
#include "broker/egress_service.hpp"
#include "broker/kafka_group_service.hpp"
#include "broker/listener_state.hpp"
#include "broker/log.hpp"
#include "broker/topic_deletion.hpp"
#include "broker/version.hpp"
#include "store/segment.hpp"

namespace sluice::broker {

using nlohmann::json;

namespace {

constexpr std::size_t default_page = 100;
constexpr std::size_t max_page = 1000;

http_response json_ok(const json& j, int status = 200) {
    http_response r;
    r.status = status;
    r.body = j.dump();
    return r;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) return false;
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return false;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return true;
}

// The page of `keys` (sorted) after `after`, at most `limit` long.
struct page_request {
    std::string after;
    std::size_t limit = default_page;
};

// Reads ?limit=N&after=KEY; an error message for a bad limit.
std::optional<std::string> read_page(const http_request& req, page_request& p) {
    if (auto it = req.query.find("after"); it != req.query.end()) p.after = it->second;
    if (auto it = req.query.find("limit"); it != req.query.end()) {
        const auto& v = it->second;
        std::size_t n = 0;
        auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc{} || ptr != v.data() + v.size() || n == 0 || n > max_page)
            return "limit: expected a number from 1 to " + std::to_string(max_page);
        p.limit = n;
    }
    return std::nullopt;
}

const char* durability_name(store::durability d) { return store::to_string(d); }

json subscription_json(const std::string& filter, const subscription_record& rec) {
    json j{{"filter", filter},
           {"qos", static_cast<int>(rec.options.max_qos)},
           {"no_local", rec.options.no_local},
           {"retain_as_published", rec.options.retain_as_published},
           {"retain_handling", static_cast<int>(rec.options.handling)}};
    if (rec.subscription_id) j["subscription_id"] = rec.subscription_id;
    return j;
}

json session_json(const session& s, const session::summary& sum) {
    json j{{"client_id", s.client_id},
           {"online", sum.online},
           {"expiry_interval", sum.expiry == never_expires ? json(nullptr) : json(sum.expiry)},
           {"queued_messages", sum.queued},
           {"queued_bytes", sum.queued_bytes},
           {"inflight", sum.inflight},
           {"subscriptions", sum.subscriptions},
           {"qos2_pending", sum.qos2_pending},
           {"dropped", sum.dropped}};
    if (sum.connection) {
        const auto& c = *sum.connection;
        j["connection"] = {{"listener", c.listener},
                           {"protocol_version", c.protocol_level == 5   ? "5.0"
                                                : c.protocol_level == 4 ? "3.1.1"
                                                                        : "3.1"},
                           {"keep_alive", c.keep_alive}};
    }
    return j;
}

// Printable text of a payload, cut to `max` bytes (a preview, not the payload).
std::string preview(const mqtt::shared_bytes& payload, std::size_t max) {
    std::string out;
    const std::size_t n = std::min(payload.size(), max);
    const auto* d = payload.data();
    for (std::size_t i = 0; i < n; ++i) {
        auto c = static_cast<unsigned char>(d[i]);
        out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '.';
    }
    return out;
}

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        auto j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        out.emplace_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

http_response method_not_allowed(const char* allow) {
    auto r = json_error(405, std::string("method not allowed; allowed: ") + allow);
    r.headers.emplace_back("Allow", allow);
    return r;
}

bool is_internal_topic(std::string_view name) { return name.starts_with("__"); }

std::uint64_t partition_size(const store::partition& p) {
    std::uint64_t total = 0;
    for (const auto& seg : p.segments()) total += seg->size();
    return total;
}

json topic_config_json(const store::log_config& c) {
    return {{"durability", durability_name(c.flush)},
            {"flush_interval_ms", c.flush_interval_ms},
            {"retention_ms", c.retention_ms},
            {"retention_bytes", c.retention_bytes},
            {"segment_bytes", c.segment_bytes},
            {"segment_ms", c.segment_ms},
            {"cleanup_policy", c.cleanup == store::cleanup_policy::compact ? "compact" : "delete"},
            {"max_batch_bytes", c.max_batch_bytes}};
}

json partition_json(int index, const store::partition& p, bool with_segments) {
    json j{{"partition", index},
           {"start_offset", p.log_start_offset().value},
           {"end_offset", p.log_end_offset().value},
           {"high_watermark", p.high_watermark().value},
           {"size_bytes", partition_size(p)}};
    auto segs = p.segments();
    j["segment_count"] = segs.size();
    if (with_segments) {
        json arr = json::array();
        for (const auto& s : segs)
            arr.push_back({{"base_offset", s->base_offset().value},
                           {"next_offset", s->next_offset().value},
                           {"size_bytes", s->size()}});
        j["segments"] = std::move(arr);
    }
    return j;
}

}  // namespace

http_response json_error(int status, std::string message) {
    http_response r;
    r.status = status;
    r.body = json{{"error", std::move(message)}}.dump();
    return r;
}

bool parse_target(std::string_view target, std::string& path,
                  std::map<std::string, std::string>& query) {
    auto q = target.find('?');
    if (!percent_decode(target.substr(0, q), path, false)) return false;
    if (path.empty() || path.front() != '/') return false;
    query.clear();
    if (q == std::string_view::npos) return true;
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        auto amp = rest.find('&');
        auto pair = rest.substr(0, amp);
        auto eq = pair.find('=');
        std::string k, v;
        if (!percent_decode(pair.substr(0, eq), k, true)) return false;
        if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), v, true))
            return false;
        if (!k.empty()) query[k] = v;
        if (amp == std::string_view::npos) break;
        rest = rest.substr(amp + 1);
    }
    return true;
}

bool is_loopback_host(std::string_view host) {
    if (host == "localhost" || host == "::1" || host == "[::1]") return true;
    return host.starts_with("127.");
}

std::optional<json> consumer_groups_json(ops_sources& src) {
    auto* service = src.groups.load(std::memory_order_acquire);
    if (!service) return std::nullopt;
    // The snapshot is taken on the group service's own thread; wait for it here (the HTTP
    // listener has its own thread), but not forever.
    auto promise = std::make_shared<std::promise<group_snapshot>>();
    auto ready = promise->get_future();
    service->snapshot([promise](group_snapshot s) { promise->set_value(std::move(s)); });
    if (ready.wait_for(std::chrono::seconds(2)) != std::future_status::ready) return std::nullopt;
    const auto snap = ready.get();
    auto* log = src.log.load(std::memory_order_acquire);
    auto st = log ? log->store_handle() : nullptr;
    json groups = json::array();
    for (const auto& g : snap.groups) {
        json members = json::array();
        for (const auto& m : g.members) {
            json assignment = json::object();
            for (const auto& [topic, parts] : m.assignment) assignment[topic] = parts;
            members.push_back({{"member_id", m.member_id},
                               {"client_id", m.client_id},
                               {"client_host", m.client_host},
                               {"assignment", std::move(assignment)}});
        }
        json offsets = json::array();
        std::int64_t total_lag = 0;
        for (const auto& [tp, committed] : g.offsets) {
            json o{{"topic", tp.first}, {"partition", tp.second}, {"committed_offset", committed.offset}};
            if (auto p = st ? st->get(tp.first, tp.second) : nullptr) {
                const auto hw = p->high_watermark().value;
                const auto lag = committed.offset < 0 ? hw - p->log_start_offset().value
                                                      : std::max<std::int64_t>(0, hw - committed.offset);
                o["high_watermark"] = hw;
                o["lag"] = lag;
                total_lag += lag;
            }
            offsets.push_back(std::move(o));
        }
        groups.push_back({{"group_id", g.group_id},
                          {"state", g.state},
                          {"protocol_type", g.protocol_type},
                          {"protocol", g.protocol},
                          {"generation", g.generation},
                          {"members", std::move(members)},
                          {"offsets", std::move(offsets)},
                          {"lag", total_lag}});
    }
    return json{{"groups", std::move(groups)}};
}

http_api::http_api(ops_sources& src) : src_(src) {}

bool http_api::needs_authentication(const http_request& req) const {
    if (!admin_ || !admin_->required()) return false;
    return req.path != "/health" && req.path != "/ready" && req.path != "/metrics";
}

http_response http_api::refusal(admin_verdict v) {
    switch (v) {
        case admin_verdict::allowed:
            break;
        case admin_verdict::unauthenticated: {
            auto r = json_error(401, "authentication required: HTTP Basic with a user of "
                                     "admin_users, or the admin bearer token");
            r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"sluice\"");
            return r;
        }
        case admin_verdict::forbidden:
            return json_error(403, "this user may not use the admin API (not in admin_users)");
        case admin_verdict::busy:
            break;
    }
    auto r = json_error(503, "cannot check credentials now (starting, or too many checks "
                             "queued); retry");
    r.headers.emplace_back("Retry-After", "1");
    return r;
}

http_response http_api::handle(const http_request& req) {
    try {
        return route(req);
    } catch (const std::exception& e) {
        log_error("http: ", req.method, " ", req.path, ": ", e.what());
        return json_error(500, std::string("internal error: ") + e.what());
    }
}

namespace {

// --- the endpoints --------------------------------------------------------------------------

struct ctx {
    ops_sources& src;
    const http_request& req;
    broker_core& core() const { return *src.core; }
    std::shared_ptr<store::store> store() const {
        auto* log = src.log.load(std::memory_order_acquire);
        return log ? log->store_handle() : nullptr;
    }
};

http_response ready(ctx& c) {
    if (!c.src.ready.load(std::memory_order_acquire))
        return json_error(503, "not ready: starting (log recovery or listeners not up yet)");
    auto* log = c.src.log.load(std::memory_order_acquire);
    if (!log || log->failed())
        return json_error(503, "not ready: the commit log failed a write and is being reopened");
    return json_ok({{"status", "ready"}});
}

json overview_json(ops_sources& src) {
    auto& core = *src.core;
    auto t = core.stats().totals();
    const auto online = core.stats().clients_connected.load(std::memory_order_relaxed);
    const auto sessions = static_cast<std::int64_t>(core.session_count());
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                            steady_clock::now() - core.started_at())
                            .count();
    json j{{"version", version},
           {"uptime_seconds", uptime},
           {"ready", src.ready.load(std::memory_order_acquire)},
           {"connections", online},
           {"sessions_online", online},
           {"sessions_offline", std::max<std::int64_t>(0, sessions - online)},
           {"subscriptions", core.subscription_count()},
           {"retained", core.retained().size()},
           {"messages_in", t.messages_in},
           {"messages_out", t.messages_out},
           {"bytes_in", t.bytes_in},
           {"bytes_out", t.bytes_out}};
    return j;
}

// Sessions sorted by client id, filtered, one page; `next` is the last id when more follow.
template <typename Filter, typename Render>
http_response session_page(ctx& c, const char* key, Filter keep, Render render) {
    page_request p;
    if (auto err = read_page(c.req, p)) return json_error(400, *err);
    auto all = c.core().sessions_snapshot();
    std::sort(all.begin(), all.end(),
              [](const auto& a, const auto& b) { return a->client_id < b->client_id; });
    auto it = std::upper_bound(all.begin(), all.end(), p.after,
                               [](const std::string& k, const auto& s) { return k < s->client_id; });
    if (p.after.empty()) it = all.begin();
    json items = json::array();
    std::string last;
    bool more = false;
    for (; it != all.end(); ++it) {
        auto sum = (*it)->inspect();
        if (!keep(sum)) continue;
        if (items.size() == p.limit) {
            more = true;
            break;
        }
        render(items, **it, sum);
        last = (*it)->client_id;
    }
    return json_ok({{key, std::move(items)}, {"next", more ? json(last) : json(nullptr)}});
}

// The rest of the path after "/api/v1/<what>/": a client id may hold slashes.
std::string path_rest(const http_request& req, std::string_view what) {
    const std::string prefix = "/api/v1/" + std::string(what) + "/";
    return req.path.size() > prefix.size() && req.path.starts_with(prefix)
               ? req.path.substr(prefix.size())
               : std::string();
}

http_response clients(ctx& c, const std::vector<std::string>& parts) {
    if (parts.size() == 3) {
        if (c.req.method != "GET") return method_not_allowed("GET");
        return session_page(
            c, "clients", [](const session::summary& s) { return s.online; },
            [](json& items, const session& s, const session::summary& sum) {
                items.push_back(session_json(s, sum));
            });
    }
    const std::string id = path_rest(c.req, parts[2]);
    if (id.empty()) return json_error(404, "no such endpoint");
    if (c.req.method == "GET") {
        auto s = c.core().find_session(id);
        auto sum = s ? s->inspect() : session::summary{};
        if (!s || !sum.online) return json_error(404, "client " + id + " is not connected");
        auto j = session_json(*s, sum);
        json subs = json::array();
        for (const auto& [f, rec] : s->subscriptions()) subs.push_back(subscription_json(f, rec));
        j["subscription_list"] = std::move(subs);
        return json_ok(j);
    }
    if (c.req.method == "DELETE") {
        switch (c.core().disconnect_client(id)) {
            case broker_core::admin_result::done:
                return json_ok({{"disconnected", id}});
            case broker_core::admin_result::offline:
            case broker_core::admin_result::not_found:
            case broker_core::admin_result::online:
                break;
        }
        return json_error(404, "client " + id + " is not connected");
    }
    return method_not_allowed("GET, DELETE");
}

http_response sessions(ctx& c, const std::vector<std::string>& parts) {
    if (parts.size() == 3) {
        if (c.req.method != "GET") return method_not_allowed("GET");
        std::string state;
        if (auto it = c.req.query.find("state"); it != c.req.query.end()) state = it->second;
        if (!state.empty() && state != "online" && state != "offline")
            return json_error(400, "state: expected online or offline");
        return session_page(
            c, "sessions",
            [state](const session::summary& s) {
                return state.empty() || s.online == (state == "online");
            },
            [](json& items, const session& s, const session::summary& sum) {
                items.push_back(session_json(s, sum));
            });
    }
    const std::string id = path_rest(c.req, parts[2]);
    if (id.empty()) return json_error(404, "no such endpoint");
    if (c.req.method == "GET") {
        auto s = c.core().find_session(id);
        if (!s) return json_error(404, "no session " + id);
        auto j = session_json(*s, s->inspect());
        json subs = json::array();
        for (const auto& [f, rec] : s->subscriptions()) subs.push_back(subscription_json(f, rec));
        j["subscription_list"] = std::move(subs);
        return json_ok(j);
    }
    if (c.req.method == "DELETE") {
        switch (c.core().delete_session(id)) {
            case broker_core::admin_result::done:
                return json_ok({{"deleted", id}});
            case broker_core::admin_result::online:
                return json_error(409, "session " + id +
                                           " is online; disconnect the client first "
                                           "(DELETE /api/v1/clients/" + id + ")");
            default:
                return json_error(404, "no session " + id);
        }
    }
    return method_not_allowed("GET, DELETE");
}

http_response subscriptions(ctx& c) {
    if (c.req.method != "GET") return method_not_allowed("GET");
    // Paged by session: a page holds the subscriptions of up to `limit` sessions.
    return session_page(
        c, "subscriptions", [](const session::summary& s) { return s.subscriptions > 0; },
        [](json& items, const session& s, const session::summary&) {
            for (const auto& [f, rec] : s.subscriptions()) {
                auto j = subscription_json(f, rec);
                j["client_id"] = s.client_id;
                items.push_back(std::move(j));
            }
        });
}

http_response retained(ctx& c, std::string_view topic_path) {
    if (topic_path.empty()) {
        if (c.req.method != "GET") return method_not_allowed("GET");
        page_request p;
        if (auto err = read_page(c.req, p)) return json_error(400, *err);
        auto all = c.core().retained().snapshot();
        const auto now = steady_clock::now();
        std::erase_if(all, [&](const message_ptr& m) { return m->expired(now); });
        std::sort(all.begin(), all.end(),
                  [](const message_ptr& a, const message_ptr& b) { return a->topic() < b->topic(); });
        json items = json::array();
        bool more = false;
        std::string last;
        for (const auto& m : all) {
            if (!p.after.empty() && m->topic() <= p.after) continue;
            if (items.size() == p.limit) {
                more = true;
                break;
            }
            items.push_back({{"topic", m->topic()},
                             {"qos", static_cast<int>(m->qos_level())},
                             {"payload_bytes", m->payload_size()},
                             {"payload_preview", preview(m->packet().payload, 64)}});
            last = m->topic();
        }
        return json_ok({{"retained", std::move(items)},
                        {"total", all.size()},
                        {"next", more ? json(last) : json(nullptr)}});
    }
    if (c.req.method != "DELETE") return method_not_allowed("DELETE");
    if (!c.core().retained().erase(topic_path))
        return json_error(404, "no retained message on " + std::string(topic_path));
    return json_ok({{"deleted", topic_path}});
}

std::optional<std::string> durability_from(const json& v, store::log_config& cfg) {
    if (!v.is_string()) return "durability: expected \"always\", \"interval\" or \"never\"";
    auto d = store::parse_durability(v.get<std::string>());
    if (!d) return "durability: expected \"always\", \"interval\" or \"never\"";
    cfg.flush = *d;
    return std::nullopt;
}

http_response create_topic(ctx& c, store::store& st) {
    json body;
    try {
        body = json::parse(c.req.body);
    } catch (const json::parse_error& e) {
        return json_error(400, std::string("body is not valid JSON: ") + e.what());
    }
    if (!body.is_object()) return json_error(400, "body: expected a JSON object");
    store::log_config cfg;
    std::string name;
    int partitions = 1;
    for (auto it = body.begin(); it != body.end(); ++it) {
        const auto& k = it.key();
        const auto& v = it.value();
        if (k == "name") {
            if (!v.is_string()) return json_error(400, "name: expected a string");
            name = v.get<std::string>();
        } else if (k == "partitions") {
            if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 1024)
                return json_error(400, "partitions: expected a number from 1 to 1024");
            partitions = v.get<int>();
        } else if (k == "durability") {
            if (auto err = durability_from(v, cfg)) return json_error(400, *err);
        } else if (k == "flush_interval_ms" || k == "retention_ms" || k == "retention_bytes" ||
                   k == "segment_bytes") {
            if (!v.is_number_integer()) return json_error(400, k + ": expected an integer");
            auto n = v.get<std::int64_t>();
            if (k == "flush_interval_ms") {
                if (n < 1) return json_error(400, k + ": must be >= 1");
                cfg.flush_interval_ms = n;
            } else if (k == "retention_ms") {
                if (n < -1) return json_error(400, k + ": must be >= -1 (-1: forever)");
                cfg.retention_ms = n;
            } else if (k == "retention_bytes") {
                if (n < -1) return json_error(400, k + ": must be >= -1 (-1: no limit)");
                cfg.retention_bytes = n;
            } else {
                if (n < 4096) return json_error(400, k + ": must be >= 4096");
                cfg.segment_bytes = static_cast<std::uint64_t>(n);
            }
        } else {
            return json_error(400, "unknown key " + k);
        }
    }
    if (name.empty()) return json_error(400, "name: required");
    if (is_internal_topic(name))
        return json_error(400, "name: names starting with __ are reserved for internal topics");
    if (!store::store::valid_topic_name(name))
        return json_error(400, "name: not a valid topic name (letters, digits, . _ -)");
    if (st.partition_count(name) > 0) return json_error(409, "topic " + name + " exists");
    if (auto e = st.create_topic(name, partitions, cfg); e != store::errc::ok)
        return json_error(500, std::string("topic not created: ") + store::to_string(e));
    log_info("log topic ", name, " created with ", partitions, " partition(s) by an operator");
    return json_ok({{"name", name}, {"partitions", partitions}, {"config", topic_config_json(cfg)}},
                   201);
}

http_response topics(ctx& c, const std::vector<std::string>& parts) {
    auto st = c.store();
    if (!st) return json_error(503, "the commit log is not open");
    if (parts.size() == 3) {
        if (c.req.method == "POST") return create_topic(c, *st);
        if (c.req.method != "GET") return method_not_allowed("GET, POST");
        json items = json::array();
        for (const auto& name : st->topics()) {
            const int n = st->partition_count(name);
            std::uint64_t size = 0;
            std::int64_t end = 0;
            for (int i = 0; i < n; ++i)
                if (auto p = st->get(name, i)) {
                    size += partition_size(*p);
                    end += p->log_end_offset().value;
                }
            json t{{"name", name},
                   {"partitions", n},
                   {"internal", is_internal_topic(name)},
                   {"size_bytes", size},
                   {"end_offsets_total", end}};
            if (auto cfg = st->topic_config(name)) t["config"] = topic_config_json(*cfg);
            items.push_back(std::move(t));
        }
        return json_ok({{"topics", std::move(items)}});
    }
    const std::string& name = parts[3];
    const int n = st->partition_count(name);
    if (n <= 0) return json_error(404, "no log topic " + name);
    if (parts.size() == 4) {
        if (c.req.method == "DELETE") {
            auto* log = c.src.log.load(std::memory_order_acquire);
            if (!log) return json_error(503, "the commit log is not open");
            auto r = delete_log_topic(*log, *c.src.cfg->egress, name, "an operator (admin API)");
            switch (r.outcome) {
                case topic_deletion::deleted:
                    return json_ok({{"deleted", name}});
                case topic_deletion::unknown:
                    return json_error(404, r.message);
                case topic_deletion::internal:
                case topic_deletion::ingest_rule:
                case topic_deletion::egress_rule:
                    return json_error(409, r.message);
                case topic_deletion::failed:
                    break;
            }
            return json_error(500, r.message);
        }
        if (c.req.method != "GET") return method_not_allowed("GET, DELETE");
        json parts_json = json::array();
        for (int i = 0; i < n; ++i)
            if (auto p = st->get(name, i)) parts_json.push_back(partition_json(i, *p, false));
        json t{{"name", name},
               {"internal", is_internal_topic(name)},
               {"partitions", std::move(parts_json)}};
        if (auto cfg = st->topic_config(name)) t["config"] = topic_config_json(*cfg);
        return json_ok(t);
    }
    if (parts.size() == 6 && parts[4] == "partitions") {
        if (c.req.method != "GET") return method_not_allowed("GET");
        int index = -1;
        auto [ptr, ec] = std::from_chars(parts[5].data(), parts[5].data() + parts[5].size(), index);
        if (ec != std::errc{} || ptr != parts[5].data() + parts[5].size() || index < 0 || index >= n)
            return json_error(404, "topic " + name + " has no partition " + parts[5]);
        auto p = st->get(name, index);
        if (!p) return json_error(404, "topic " + name + " has no partition " + parts[5]);
        auto j = partition_json(index, *p, true);
        j["topic"] = name;
        j["appended_batches"] = p->batches_appended();
        j["appended_bytes"] = p->bytes_appended();
        j["fsyncs"] = p->syncs();
        return json_ok(j);
    }
    return json_error(404, "no such endpoint");
}

json rule_json(const ingest::ingest_rule& r) {
    json j{{"filter", r.filter}, {"log", r.logged}};
    if (r.logged) {
        j["log_topic"] = r.log_topic;
        j["partitions"] = r.partitions;
        j["key"] = ingest::to_string(r.key);
        j["durability"] = durability_name(r.flush);
        if (r.flush == store::durability::interval) j["flush_interval_ms"] = r.flush_interval_ms;
    }
    return j;
}

// Egress rules as configured, with each partition's position and the records published and
// skipped since start (docs/ingest.md, "Egress").
json egress_rules_json(const ops_sources& src) {
    json out = json::array();
    const auto* svc = src.egress.load(std::memory_order_acquire);
    std::vector<egress_service::rule_status> live;
    if (svc) live = svc->status();
    const auto& rules = src.cfg->egress->rules();
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto& r = rules[i];
        json j{{"log_topic", r.log_topic},
               {"mqtt_topic", r.mqtt_topic ? json(r.mqtt_topic->text()) : json(nullptr)},
               {"topic_from_header", r.topic_from_header},
               {"qos", static_cast<int>(r.qos)},
               {"headers_as_user_properties", r.headers_as_user_properties}};
        if (r.partitions) j["partitions"] = *r.partitions;
        if (i < live.size()) {
            j["records_published"] = live[i].published;
            json skipped = json::object();
            for (const auto& [why, n] : live[i].skipped) skipped[why] = n;
            j["records_skipped"] = std::move(skipped);
            json parts = json::array();
            for (const auto& p : live[i].partitions) {
                json pj{{"partition", p.partition}, {"next_offset", p.next_offset}};
                if (p.high_watermark >= 0) {
                    pj["high_watermark"] = p.high_watermark;
                    pj["lag"] = std::max<std::int64_t>(0, p.high_watermark - p.next_offset);
                }
                parts.push_back(std::move(pj));
            }
            j["positions"] = std::move(parts);
        }
        out.push_back(std::move(j));
    }
    return out;
}

// The ingest rules in force: the log's (SIGHUP may have replaced them), else the start's.
const ingest::ingest_rules& live_rules(ops_sources& src) {
    auto* log = src.log.load(std::memory_order_acquire);
    return log ? log->rules() : *src.cfg->ingest;
}

json config_json(const config& cfg) {
    json listeners = json::object();
    for (const auto& l : cfg.listeners) {
        const char* kind = "tcp";
        switch (l.kind) {
            case listener_kind::mqtt_tcp: kind = "tcp"; break;
            case listener_kind::mqtt_tls: kind = "tls"; break;
            case listener_kind::kafka: kind = "kafka"; break;
            case listener_kind::kafka_tls: kind = "kafka-tls"; break;
            case listener_kind::http: kind = "http"; break;
            default: kind = "other"; break;  // kinds added since (ws, wss)
        }
        json e{{"type", kind},
               {"address", l.address.host + ":" + std::to_string(l.address.port)},
               {"max_connections", l.max_connections}};
        if (l.kind == listener_kind::http) {
            e["allow_anonymous_admin"] = l.allow_anonymous_admin;
            e["admin_users"] = l.admin_users;
            if (!l.admin_token_file.empty()) e["admin_token_file"] = l.admin_token_file;
        }
        if (!l.tls.cert.empty()) {
            // Paths are not secrets, but the private key's location is left out all the same.
            e["cert"] = l.tls.cert;
            e["key"] = l.tls.key.empty() ? "" : "<redacted>";
            e["ca"] = l.tls.ca;
            e["client_auth"] = l.tls.client_auth == tls_client_auth::required   ? "required"
                               : l.tls.client_auth == tls_client_auth::optional ? "optional"
                                                                                : "none";
            e["min_version"] = l.tls.min_tls13 ? "1.3" : "1.2";
        }
        listeners[l.name] = std::move(e);
    }
    const auto& m = cfg.mqtt_opts;
    json rules = json::array();
    for (const auto& r : cfg.ingest->rules()) rules.push_back(rule_json(r));
    return {{"data_dir", cfg.data_dir},
            {"log_level", cfg.log_level},
            {"threads", cfg.threads},
            {"listeners", std::move(listeners)},
            {"mqtt",
             {{"max_packet_size", m.max_packet_size},
              {"receive_maximum", m.receive_maximum},
              {"max_inflight", m.max_inflight},
              {"topic_alias_maximum", m.topic_alias_maximum},
              {"max_keep_alive", m.max_keep_alive},
              {"connect_timeout_ms", m.connect_timeout_ms},
              {"maximum_qos", m.maximum_qos},
              {"retain_available", m.retain_available},
              {"send_queue_bytes", m.send_queue_bytes},
              {"max_queued_messages", m.max_queued_messages},
              {"max_queued_bytes", m.max_queued_bytes},
              {"queued_bytes_budget", m.queued_bytes_budget},
              {"max_session_expiry", m.max_session_expiry},
              {"sys_interval_s", m.sys_interval_s},
              {"unauthenticated_bytes", m.unauthenticated_bytes}}},
            {"store",
             {{"writer_threads", cfg.store_opts.writer_threads},
              {"parallel_syncs", cfg.store_opts.parallel_syncs},
              {"sync_round_gap_us", cfg.store_opts.sync_round_gap_us},
              {"pending_bytes_budget", cfg.store_opts.pending_bytes_budget},
              {"reopen_interval_ms", cfg.store_opts.reopen_interval_ms}}},
            {"ingest_rules", std::move(rules)}};
}

http_response dashboard(ctx& c) {
    if (c.req.method != "GET" && c.req.method != "HEAD") return method_not_allowed("GET");
    const auto* f = find_dashboard_file(c.req.path);
    if (!f) return json_error(404, "no such endpoint");
    http_response r;
    r.content_type = std::string(f->content_type);
    r.body = std::string(f->data);
    return r;
}

}  // namespace

http_response http_api::route(const http_request& req) {
    ctx c{src_, req};
    const auto parts = split_path(req.path);
    auto get_only = [&](auto fn) -> http_response {
        if (req.method != "GET" && req.method != "HEAD") return method_not_allowed("GET");
        return fn();
    };
    if (req.path == "/health")
        return get_only([] { return json_ok({{"status", "ok"}}); });
    if (req.path == "/ready") return get_only([&] { return ready(c); });
    if (req.path == "/metrics")
        return get_only([&] {
            http_response r;
            r.content_type = "text/plain; version=0.0.4; charset=utf-8";
            r.body = src_.metrics.scrape();
            return r;
        });
    if (parts.size() < 2 || parts[0] != "api") return dashboard(c);
    if (parts[1] != "v1" || parts.size() < 3) return json_error(404, "no such endpoint");
    const std::string& what = parts[2];
    if (what == "overview" && parts.size() == 3)
        return get_only([&] { return json_ok(overview_json(src_)); });
    if (what == "live" && parts.size() == 3)
        return get_only([&] {
            http_response r;
            r.event_stream = true;
            r.content_type = "text/event-stream";
            return r;
        });
    if (what == "clients") return clients(c, parts);
    if (what == "sessions") return sessions(c, parts);
    if (what == "subscriptions" && parts.size() == 3) return subscriptions(c);
    if (what == "retained") {
        // The topic is the rest of the path (it may hold slashes, even empty levels).
        constexpr std::string_view prefix = "/api/v1/retained/";
        std::string_view topic;
        if (req.path.size() > prefix.size() && req.path.starts_with(prefix))
            topic = std::string_view(req.path).substr(prefix.size());
        return retained(c, topic);
    }
    if (what == "topics") return topics(c, parts);
    if (what == "rules" && parts.size() == 3)
        return get_only([&] {
            json ingest_rules = json::array();
            for (const auto& r : live_rules(src_).rules()) ingest_rules.push_back(rule_json(r));
            return json_ok({{"ingest", std::move(ingest_rules)},
                            {"egress", egress_rules_json(src_)}});
        });
    if (what == "config" && parts.size() == 3)
        return get_only([&] {
            // What SIGHUP changes (broker/config_reload.hpp) is shown as in force now.
            auto j = config_json(*src_.cfg);
            json rules = json::array();
            for (const auto& r : live_rules(src_).rules()) rules.push_back(rule_json(r));
            j["ingest_rules"] = std::move(rules);
            j["log_level"] = std::string(to_string(current_log_level()));
            return json_ok(j);
        });
    if (what == "groups" && parts.size() == 3)
        return get_only([&] {
            auto groups = consumer_groups_json(src_);
            if (!groups)
                return json_error(503, "consumer groups are not available (no Kafka listener, "
                                       "or its group service did not answer)");
            return json_ok(*groups);
        });
    return json_error(404, "no such endpoint");
}

std::string http_api::live_event(live_state& prev) {
    auto j = overview_json(src_);
    const auto in = j["messages_in"].get<std::uint64_t>();
    const auto out = j["messages_out"].get<std::uint64_t>();
    const auto bin = j["bytes_in"].get<std::uint64_t>();
    const auto bout = j["bytes_out"].get<std::uint64_t>();
    if (prev.primed) {
        j["messages_in_per_second"] = in - prev.messages_in;
        j["messages_out_per_second"] = out - prev.messages_out;
        j["bytes_in_per_second"] = bin - prev.bytes_in;
        j["bytes_out_per_second"] = bout - prev.bytes_out;
    } else {
        j["messages_in_per_second"] = 0;
        j["messages_out_per_second"] = 0;
        j["bytes_in_per_second"] = 0;
        j["bytes_out_per_second"] = 0;
    }
    prev = {in, out, bin, bout, true};
    j["time_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
    return j.dump();
}

}  // namespace sluice::broker
