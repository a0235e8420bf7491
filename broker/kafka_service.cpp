#include "broker/kafka_service.hpp"

#include <boost/asio/post.hpp>

#include "broker/auth_service.hpp"
#include "broker/durable_log.hpp"
#include "broker/kafka_acl.hpp"
#include "broker/kafka_connection.hpp"
#include "broker/kafka_produce.hpp"
#include "broker/log.hpp"
#include "kafka/api_versions.hpp"

namespace sluice::broker {

namespace asio = boost::asio;
using kafka::error_code;

namespace {
template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

// Kafka's KAFKA_STORAGE_ERROR: the log is failed and not reopened yet; clients retry.
constexpr auto storage_error = static_cast<error_code>(56);
}  // namespace

kafka_service::kafka_service(durable_log& log, std::size_t reader_threads)
    : log_(log), readers_(reader_threads ? reader_threads : 1) {}

kafka_service::~kafka_service() {
    readers_.join();
}

std::shared_ptr<store::store> kafka_service::store_for_fetch() {
    auto s = log_.store_handle();
    if (!s) return s;
    std::lock_guard lock(observed_mu_);
    if (observed_ != s.get()) {
        // The first Fetch, or the log was reopened after a failure: watch the current store.
        s->set_commit_observer([this](const store::partition& p) { waiters_.notify(&p); });
        observed_ = s.get();
    }
    return s;
}

bool kafka_service::handle(kafka::request req, const context& ctx, done_fn done) {
    requests_.count(static_cast<int>(req.header.key));
    if (ctx.auth && ctx.auth->has_acl()) {
        const kafka_topic_access access(ctx.auth->acl(), ctx.client_id, ctx.user);
        std::size_t denied = 0;
        if (auto fix = apply_topic_acl(req, access, denied)) {
            done = [fix = std::move(fix), done = std::move(done)](kafka::response_body b) {
                fix(b);
                done(std::move(b));
            };
        }
        std::uint64_t suppressed = 0;
        if (denied && ctx.auth->should_log_denied_publish(suppressed))
            log_warn("kafka client '", ctx.client_id, "'",
                     ctx.user ? " (user " + *ctx.user + ")" : std::string(" (anonymous)"), " from ",
                     ctx.client_host, ": ", kafka::to_string(req.header.key), " of ", denied,
                     " topic(s) denied by the ACL",
                     suppressed ? " (" + std::to_string(suppressed) + " more denials not logged)"
                                : std::string());
    }
    const auto version = req.header.api_version;
    if (groups_.handles && groups_.handles(req.body)) {
        kafka_group_context g{req.header.client_id.value_or(""), ctx.client_host, ctx.self.host,
                              ctx.self.port};
        groups_.handle(std::move(req), std::move(g), std::move(done));
        return true;
    }
    auto st = log_.store_handle();
    // Off the io thread, for work that may wait on the disk; answers through done.
    auto on_readers = [this, &done](auto fn) {
        asio::post(readers_, [fn = std::move(fn), done = std::move(done)]() mutable {
            done(fn());
        });
    };
    if (!st && !std::holds_alternative<kafka::api_versions_request>(req.body) &&
        !std::holds_alternative<kafka::sasl_handshake_request>(req.body) &&
        !std::holds_alternative<kafka::sasl_authenticate_request>(req.body)) {
        auto body = kafka::error_response(req, storage_error);
        done(std::move(body));
        return true;
    }
    return std::visit(
        overloaded{
            [&](const kafka::api_versions_request&) {
                done(kafka::api_versions_body());
                return true;
            },
            [&](const kafka::metadata_request& m) {
                done(metadata_answer(m, *st, ctx.self));
                return true;
            },
            [&](const kafka::produce_request& p) {
                if (p.acks == 0) {
                    produce(log_, p, [](kafka::produce_response) {});
                    return false;
                }
                produce(log_, p, [done = std::move(done)](kafka::produce_response r) {
                    done(std::move(r));
                });
                return true;
            },
            [&](const kafka::fetch_request& f) {
                auto op = std::make_shared<fetch_op>(
                    ctx.home, readers_, waiters_, store_for_fetch(), f,
                    [done = std::move(done)](kafka::fetch_response r) { done(std::move(r)); });
                op->start();
                return true;
            },
            [&](const kafka::list_offsets_request& l) {
                on_readers([l, version, st] { return kafka::response_body(list_offsets_answer(l, version, *st)); });
                return true;
            },
            [&](const kafka::init_producer_id_request& i) {
                on_readers([this, i] {
                    kafka::init_producer_id_response r;
                    if (i.transactional_id) {
                        r.error = error_code::invalid_request;  // no transactions yet
                    } else if (auto id = log_.next_producer_id()) {
                        r.producer_id = *id;
                        r.producer_epoch = 0;
                    } else {
                        r.error = storage_error;
                    }
                    return kafka::response_body(r);
                });
                return true;
            },
            [&](const kafka::create_topics_request& c) {
                on_readers([c, st] { return kafka::response_body(create_topics_answer(c, *st)); });
                return true;
            },
            [&](const kafka::delete_topics_request& d) {
                on_readers([this, d] {
                    return kafka::response_body(delete_topics_answer(d, log_, *egress_));
                });
                return true;
            },
            [&](const kafka::describe_configs_request& d) {
                done(describe_configs_answer(d, version, *st));
                return true;
            },
            // SaslHandshake and SaslAuthenticate never get here: kafka_connection answers them
            // itself, with the connection's kafka_sasl (kafka_connection_auth.cpp).
            [&](const kafka::sasl_handshake_request&) {
                done(kafka::error_response(req, error_code::illegal_sasl_state));
                return true;
            },
            [&](const kafka::sasl_authenticate_request&) {
                done(kafka::error_response(req, error_code::illegal_sasl_state));
                return true;
            },
            [&](const auto&) {
                // A group request with no group handler installed.
                done(kafka::error_response(req, error_code::coordinator_not_available));
                return true;
            },
        },
        req.body);
}

void kafka_service::add_connection(const std::shared_ptr<kafka_connection>& c) {
    std::lock_guard lock(conns_mu_);
    conns_[c.get()] = c;
}

void kafka_service::remove_connection(const kafka_connection* c) {
    std::lock_guard lock(conns_mu_);
    conns_.erase(c);
    if (conns_.empty()) conns_cv_.notify_all();
}

void kafka_service::shut_down(std::chrono::milliseconds limit) {
    std::vector<std::shared_ptr<kafka_connection>> live;
    {
        std::lock_guard lock(conns_mu_);
        for (auto& [p, w] : conns_)
            if (auto c = w.lock()) live.push_back(std::move(c));
    }
    for (auto& c : live) c->close_from_any_thread();
    live.clear();  // outside the lock: the last reference runs remove_connection()
    {
        std::unique_lock lock(conns_mu_);
        if (!conns_cv_.wait_for(lock, limit, [this] { return conns_.empty(); }))
            log_warn("kafka listener: some connections did not close in time");
    }
    if (auto s = log_.store_handle()) s->set_commit_observer(nullptr);
    readers_.join();
}

}  // namespace sluice::broker
