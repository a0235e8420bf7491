#include "broker/server.hpp"

#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <boost/asio/post.hpp>

#include "broker/admin_auth.hpp"
#include "broker/auth_service.hpp"
#include "broker/config_reload.hpp"
#include "broker/broker_core.hpp"
#include "broker/io_pool.hpp"
#include "broker/kafka_connection.hpp"
#include "broker/kafka_group_service.hpp"
#include "broker/kafka_service.hpp"
#include "broker/log.hpp"
#include "broker/connection_list.hpp"
#include "broker/durable_log.hpp"
#include "broker/egress_service.hpp"
#include "broker/http_api.hpp"
#include "broker/http_server.hpp"
#include "broker/listener_state.hpp"
#include "broker/state_restore.hpp"
#include "broker/tcp_connection.hpp"
#include "broker/tcp_listener.hpp"
#include "broker/tls_connection.hpp"
#include "broker/tls_context.hpp"
#include "broker/version.hpp"
#include "broker/ws_connection.hpp"

namespace sluice::broker {

namespace asio = boost::asio;

namespace {
// An MQTT listener whose sockets become `Conn`s, each created on the io thread that owns its
// socket. A TLS driver (tls, wss) also gets the listener's current context, which SIGHUP
// replaces for new connections (reload_tls).
template <class Conn>
std::shared_ptr<tcp_listener> mqtt_listener(listener_state& state, io_pool& pool) {
    return std::make_shared<tcp_listener>(state, pool, [&state](tcp_socket s) {
        auto ex = s.get_executor();
        if constexpr (std::is_constructible_v<Conn, listener_state&, tcp_socket,
                                              std::shared_ptr<ssl_context>>) {
            asio::post(ex, [&state, s = std::move(s), ctx = state.tls->current()]() mutable {
                std::make_shared<Conn>(state, std::move(s), std::move(ctx))->start();
            });
        } else {
            asio::post(ex, [&state, s = std::move(s)]() mutable {
                std::make_shared<Conn>(state, std::move(s))->start();
            });
        }
    });
}
}  // namespace

struct server::impl {
    config cfg;
    // Declared before the pool so they outlive it: connections destroyed with the pool's
    // pending handlers still reach the core and their listener's state (one per registry
    // entry, stable in memory).
    std::vector<std::unique_ptr<listener_state>> states;
    // Egress (log topics -> MQTT): stopped before the pool, destroyed after the log is closed,
    // since append completions still post to its thread until then.
    std::unique_ptr<egress_service> egress;
    // Declared before the core and the pool: append callbacks reach connections and the core
    // until the log is closed, which run() does after the pool stopped.
    std::unique_ptr<durable_log> log;
    // Users and ACL (null when neither file is configured); its verifier threads are stopped
    // before the pool goes, since their results post to the pool's contexts.
    std::unique_ptr<auth_service> auth;
    // Retained messages and persistent sessions in the log: after it, before the core.
    persistent_state persisted;
    // The Kafka listener's shared part (reader pool, waiting Fetches): after the log, which it
    // uses, and before the pool, whose pending handlers may still hold Kafka connections.
    std::unique_ptr<kafka_service> kafka;
    std::unique_ptr<broker_core> core;
    io_pool pool;
    // Consumer groups and committed offsets, on the pool's last io thread: after the pool, so
    // it is destroyed first, with its io_context still there (after run() stopped it).
    std::unique_ptr<kafka_group_service> groups;
    std::vector<std::shared_ptr<tcp_listener>> listeners;
    // Installed before the listening lines are printed, so a test that signals as soon as it
    // has read them never meets the default (killing) disposition.
    asio::io_context signals_ctx{1};
    asio::signal_set signals{signals_ctx, SIGINT, SIGTERM};
    asio::signal_set reload_signal{signals_ctx, SIGHUP};  // reloads TLS certificates
    // The operations surface (docs/operations.md), on its own thread: opened before the log
    // so /health answers (and /ready says 503) while it recovers; stopped first at shutdown.
    ops_sources ops;
    // One API (and its admin authentication) per http listener, as each has its own admin
    // settings. The verifier threads that call into admin_auth stop before it goes.
    std::vector<std::unique_ptr<admin_auth>> admins;
    std::vector<std::unique_ptr<http_api>> apis;
    std::vector<std::unique_ptr<http_server>> http;

    void open_http() {
        ops.cfg = &cfg;
        ops.core = core.get();
        ops.listeners = &states;
        add_broker_metrics(ops);
        for (const auto& l : cfg.listeners) {
            if (l.kind != listener_kind::http) continue;
            auto& admin = *admins.emplace_back(
                admin_auth::for_listener(l, !cfg.auth_opts.password_file.empty()));
            auto& api = *apis.emplace_back(std::make_unique<http_api>(ops));
            api.set_admin_auth(&admin);
            auto& h = *http.emplace_back(std::make_unique<http_server>(l, api));
            h.start();
            auto ep = h.local_endpoint();
            std::string host = ep.address().to_string();
            if (ep.address().is_v6()) host = "[" + host + "]";
            std::printf("listening %s %s:%u\n", h.name().c_str(), host.c_str(),
                        static_cast<unsigned>(ep.port()));
            std::fflush(stdout);
        }
    }
    void stop_http() {
        ops.ready.store(false, std::memory_order_release);
        for (auto& h : http) h->stop();
    }

    // SIGHUP (docs/operations.md, "Reloading"): TLS certificates, the password and ACL files,
    // and what the config file may change at runtime (broker/config_reload.hpp); one summary
    // line says what was reloaded and what needs a restart.
    std::unique_ptr<config_reloader> reloader;  // null without a config file
    void wait_for_reload() {
        reload_signal.async_wait([this](const boost::system::error_code& ec, int) {
            if (ec) return;
            std::vector<std::string> reloaded, needs_restart;
            if (reload_tls()) reloaded.push_back("TLS certificates");
            if (auth)
                for (auto& what : auth->reload()) reloaded.push_back(std::move(what));
            if (reloader) {
                reload_targets targets{log.get(), {}};
                for (std::size_t i = 0; i < http.size(); ++i)
                    targets.admins.emplace_back(http[i]->name(), admins[i].get());
                reloader->reload(targets, reloaded, needs_restart);
            }
            log_info(reload_summary(reloaded, needs_restart));
            wait_for_reload();
        });
    }
    // Main thread: rebuilds every TLS listener's context from its files; new handshakes use
    // it, live connections keep theirs. A listener whose files do not load keeps the old one.
    // True when some TLS listener reloaded.
    bool reload_tls() {
        bool any = false;
        for (auto& s : states) {
            if (!s->tls) continue;
            try {
                s->tls->replace(make_tls_context(s->settings));
                log_info(s->settings.name, " listener: reloaded TLS certificate ",
                         s->settings.tls.cert, " and key ", s->settings.tls.key);
                any = true;
            } catch (const config_error& e) {
                log_warn(s->settings.name, " listener: TLS certificates not reloaded (", e.message,
                         "); keeping the previous ones");
            }
        }
        return any;
    }

    explicit impl(config c)
        : cfg(std::move(c)),
          pool(cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency())) {
        core = std::make_unique<broker_core>(cfg, pool);
    }
};

server::server(config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}

void server::set_reload_source(std::function<config()> parse) {
    if (impl_->cfg.config_file.empty()) return;
    impl_->reloader = std::make_unique<config_reloader>(std::move(parse), impl_->cfg);
}

server::~server() {
    impl_->persisted.stop();
    if (impl_->egress) impl_->egress->stop();
    if (impl_->auth) impl_->auth->stop();
    impl_->stop_http();
    impl_->pool.stop();
    impl_->pool.join();
    clear_wake_inboxes();
    impl_->core->stop_timers();
    if (impl_->log) impl_->log->close();
}

void server::start() {
    auto& d = *impl_;
    broker_core* core = d.core.get();
    d.open_http();
    {
        std::string error;
        bool config_problem = false;
        d.log = durable_log::open({d.cfg.data_dir, d.cfg.store_opts, d.cfg.ingest}, error,
                                  config_problem);
        if (!d.log) {
            if (config_problem) throw config_error{error};
            throw std::runtime_error(error);
        }
        core->set_log(d.log.get());
        restore_persistent_state(*d.log, *core, d.persisted);  // before any listener opens
        if (!d.cfg.egress->rules().empty()) {
            d.egress = std::make_unique<egress_service>(*d.log, *core, d.cfg.egress, d.cfg.ingest);
            if (!d.egress->prepare(error, config_problem)) {
                if (config_problem) throw config_error{error};
                throw std::runtime_error(error);
            }
        }
    }
    if (!d.cfg.auth_opts.password_file.empty() || !d.cfg.auth_opts.acl_file.empty()) {
        // Password checks (PBKDF2) get half the cores, at least one: logins never take an io
        // thread, and a login storm leaves the other half to the connections already in.
        const unsigned verifiers = std::max(1u, std::thread::hardware_concurrency() / 2);
        d.auth = std::make_unique<auth_service>(d.cfg.auth_opts, verifiers);
        for (auto& a : d.admins) a->set_service(d.auth.get());
    }
    for (const auto& l : d.cfg.listeners) {
        auto& state = *d.states.emplace_back(std::make_unique<listener_state>(l, *d.core));
        state.auth = d.auth.get();
        switch (l.kind) {
            case listener_kind::mqtt_tcp:
                d.listeners.push_back(mqtt_listener<tcp_connection>(state, d.pool));
                break;
            case listener_kind::mqtt_ws:
                d.listeners.push_back(mqtt_listener<ws_tcp_connection>(state, d.pool));
                break;
            case listener_kind::mqtt_tls:
            case listener_kind::mqtt_wss:
                // The context is built (and its files checked) before any socket is bound.
                state.tls = std::make_shared<tls_context_holder>(make_tls_context(l));
                if (l.kind == listener_kind::mqtt_tls)
                    d.listeners.push_back(mqtt_listener<tls_connection>(state, d.pool));
                else
                    d.listeners.push_back(mqtt_listener<wss_connection>(state, d.pool));
                break;
            case listener_kind::kafka:
            case listener_kind::kafka_tls:
                if (l.kind == listener_kind::kafka_tls)
                    state.tls = std::make_shared<tls_context_holder>(make_tls_context(l));
                if (!d.kafka) {
                    d.kafka = std::make_unique<kafka_service>(*d.log, 2);
                    d.kafka->set_egress_rules(d.cfg.egress);
                    d.ops.kafka_requests.store(&d.kafka->request_counts(), std::memory_order_release);
                    d.groups = std::make_unique<kafka_group_service>(
                        d.pool.context(d.pool.size() - 1), *d.log, d.cfg.kafka_groups);
                    d.groups->start();  // replays __consumer_offsets
                    d.ops.groups.store(d.groups.get(), std::memory_order_release);
                    d.kafka->set_groups(group_handler_of(*d.groups));
                }
                d.listeners.push_back(std::make_shared<tcp_listener>(
                    state, d.pool, [&state, svc = d.kafka.get()](tcp_socket s) {
                        auto ex = s.get_executor();
                        auto ctx = state.tls ? state.tls->current() : nullptr;  // kafka-tls
                        asio::post(ex, [&state, svc, s = std::move(s), ctx = std::move(ctx)]() mutable {
                            std::make_shared<kafka_connection>(*svc, state, std::move(s), std::move(ctx))
                                ->start();
                        });
                    }));
                break;
            case listener_kind::http:
                break;  // opened first (open_http), so /health answers while the log recovers
        }
    }
    for (auto& l : d.listeners) l->start();
    init_wake_inboxes(d.pool.size());
    d.pool.start();
    for (std::size_t i = 0; i < d.pool.size(); ++i)
        asio::post(d.pool.context(i), [core] { start_housekeeping(*core); });
    core->start();
    if (auto* b = d.persisted.backlog.get())
        d.ops.metrics.add("backlog", [b](metrics::family_list& out) { b->collect_metrics(out); });
    if (d.egress) {
        d.egress->start();
        d.ops.egress.store(d.egress.get(), std::memory_order_release);
        d.ops.metrics.add("egress", [e = d.egress.get()](metrics::family_list& out) {
            e->collect_metrics(out);
        });
    }
    for (auto& l : d.listeners) {
        auto ep = l->local_endpoint();
        std::string host = ep.address().to_string();
        if (ep.address().is_v6()) host = "[" + host + "]";
        std::printf("listening %s %s:%u\n", l->name().c_str(), host.c_str(),
                    static_cast<unsigned>(ep.port()));
    }
    std::fflush(stdout);
    d.ops.log.store(d.log.get(), std::memory_order_release);
    d.ops.ready.store(true, std::memory_order_release);  // listeners up, log recovered
    log_info("sluice ", version, " started with ", d.pool.size(), " io thread(s), data in ",
             d.cfg.data_dir);
}

void server::run() {
    impl_->signals.async_wait([this](const boost::system::error_code&, int sig) {
        log_info("signal ", sig, ": shutting down");
        impl_->reload_signal.cancel();
    });
    impl_->wait_for_reload();
    impl_->signals_ctx.run();
    impl_->stop_http();
    for (auto& l : impl_->listeners) l->stop();
    if (impl_->egress) impl_->egress->stop();
    for (std::size_t i = 0; i < impl_->pool.size(); ++i)
        asio::post(impl_->pool.context(i), [] { shut_down_connections(); });
    if (impl_->kafka) impl_->kafka->shut_down(std::chrono::seconds(3));
    if (impl_->groups) impl_->groups->stop();
    if (!impl_->core->wait_for_connections(std::chrono::seconds(3)))
        log_warn("some connections did not close in time");
    impl_->persisted.stop();  // the backlog reader wakes connections: before the pool stops
    if (impl_->auth) impl_->auth->stop();
    impl_->pool.stop();
    impl_->pool.join();
    clear_wake_inboxes();
    impl_->core->stop_timers();
    // After the connections: the queued appends finish, then every partition gets its
    // clean-shutdown marker.
    if (impl_->log) impl_->log->close();
    log_info("stopped");
}

}  // namespace sluice::broker
