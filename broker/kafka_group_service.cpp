#include "broker/kafka_group_service.hpp"
#include "broker/internal_topic.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <set>
#include <stdexcept>
#include <type_traits>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/consumer_assignment.hpp"
#include "broker/durable_log.hpp"
#include "broker/log.hpp"
#include "store/batch_builder.hpp"

namespace sluice::broker {

namespace asio = boost::asio;
using kafka::error_code;

namespace {

// Kafka's OFFSET_METADATA_TOO_LARGE; not among the codes kafka/error_code.hpp names.
constexpr auto offset_metadata_too_large = static_cast<error_code>(12);

kafka::time_ms steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}


// 48 random bits in hex: a run's member ids never match an earlier run's.
std::string random_tag() {
    std::random_device rd;
    const std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 16) ^ rd();
    static const char digits[] = "0123456789abcdef";
    std::string out(12, '0');
    for (int i = 11; i >= 0; --i)
        out[static_cast<std::size_t>(i)] = digits[(v >> (4 * (11 - i))) & 0xf];
    return out;
}

}  // namespace

struct kafka_group_service::impl : std::enable_shared_from_this<impl> {
    impl(asio::io_context& h, durable_log& l, kafka::group_config cfg)
        : home(h),
          log(l),
          tag(random_tag()),
          coordinator([&] {
              cfg.instance_tag = tag;
              return cfg;
          }()),
          timer(std::in_place, h) {}

    // A JoinGroup or SyncGroup the coordinator will answer through a completion.
    struct waiting {
        kafka::request req;  // for the refusal at stop()
        std::function<void(kafka::response_body)> done;
    };
    // One OffsetCommit whose accepted partitions are being appended.
    struct commit_job {
        std::string group;
        kafka::offset_commit_response resp;
        std::function<void(kafka::response_body)> done;
        struct entry {
            topic_partition tp;
            committed_offset value;
            std::size_t topic_at = 0, partition_at = 0;  // its place in resp
        };
        std::vector<entry> entries;
    };

    // ---- everything below runs on `home` ----
    void on_request(kafka::request req, const context& ctx,
                    std::function<void(kafka::response_body)> done);
    void join_or_sync(kafka::request req, const context& ctx,
                      std::function<void(kafka::response_body)> done);
    void commit(const kafka::offset_commit_request& r, std::int16_t version,
                std::function<void(kafka::response_body)> done);
    void committed(const std::shared_ptr<commit_job>& job, store::errc e);
    kafka::offset_fetch_response fetch(const kafka::offset_fetch_request& r,
                                       std::int16_t version) const;
    kafka::describe_groups_response describe(const kafka::describe_groups_request& r) const;
    kafka::list_groups_response list() const;
    group_snapshot snapshot() const;
    void deliver(kafka::group_events& ev);
    void rearm();
    void on_timer();
    void shut_down();

    asio::io_context& home;
    durable_log& log;
    const std::string tag;
    kafka::group_coordinator coordinator;
    // Destroyed by shut_down() on `home` (or once `home` has stopped), so the service may
    // outlive the io_context.
    std::optional<asio::steady_timer> timer;
    std::optional<kafka::time_ms> armed;  // the deadline the timer waits for
    offset_table offsets;
    int offsets_partitions = 0;
    bool loaded = false;   // start() has installed the replayed table
    bool stopped = false;  // shut_down() ran: every request is refused
    std::atomic<bool> stop_requested{false};  // stop() was called (any thread)
    std::uint64_t next_token = 1;
    std::map<std::uint64_t, waiting> waits;
};

kafka_group_service::kafka_group_service(asio::io_context& home, durable_log& log,
                                         kafka::group_config cfg)
    : impl_(std::make_shared<impl>(home, log, std::move(cfg))) {}

kafka_group_service::~kafka_group_service() {
    stop();
}

const std::string& kafka_group_service::instance_tag() const {
    return impl_->tag;
}

bool kafka_group_service::handles(const kafka::request_body& body) {
    return std::visit(
        [](const auto& r) {
            using T = std::decay_t<decltype(r)>;
            return std::is_same_v<T, kafka::find_coordinator_request> ||
                   std::is_same_v<T, kafka::join_group_request> ||
                   std::is_same_v<T, kafka::sync_group_request> ||
                   std::is_same_v<T, kafka::heartbeat_request> ||
                   std::is_same_v<T, kafka::leave_group_request> ||
                   std::is_same_v<T, kafka::offset_commit_request> ||
                   std::is_same_v<T, kafka::offset_fetch_request> ||
                   std::is_same_v<T, kafka::describe_groups_request> ||
                   std::is_same_v<T, kafka::list_groups_request>;
        },
        body);
}

void kafka_group_service::handle(kafka::request req, context ctx,
                                 std::function<void(kafka::response_body)> done) {
    if (const auto* f = std::get_if<kafka::find_coordinator_request>(&req.body)) {
        // A single node coordinates every group: no need to visit `home`.
        kafka::find_coordinator_response resp;
        if (f->key_type != 0) {
            resp.error = error_code::invalid_request;
            resp.error_message = "transaction coordinators are not supported";
        } else {
            resp.node_id = 0;
            resp.host = ctx.coordinator_host;
            resp.port = ctx.coordinator_port;
        }
        done(std::move(resp));
        return;
    }
    asio::post(impl_->home, [self = impl_, req = std::move(req), ctx = std::move(ctx),
                             done = std::move(done)]() mutable {
        self->on_request(std::move(req), ctx, std::move(done));
    });
}

void kafka_group_service::impl::on_request(kafka::request req, const context& ctx,
                                           std::function<void(kafka::response_body)> done) {
    if (stopped) return done(kafka::error_response(req, error_code::coordinator_not_available));
    const std::int16_t version = req.header.api_version;
    const kafka::time_ms now = steady_ms();
    std::visit(
        [&](const auto& r) {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, kafka::join_group_request> ||
                          std::is_same_v<T, kafka::sync_group_request>) {
                join_or_sync(std::move(req), ctx, std::move(done));
            } else if constexpr (std::is_same_v<T, kafka::heartbeat_request>) {
                kafka::heartbeat_response resp;
                resp.error = coordinator.heartbeat(r, now);
                done(std::move(resp));
            } else if constexpr (std::is_same_v<T, kafka::leave_group_request>) {
                kafka::group_events ev;
                kafka::leave_group_response resp;
                resp.error = coordinator.leave(r, now, ev);
                done(std::move(resp));
                deliver(ev);
            } else if constexpr (std::is_same_v<T, kafka::offset_commit_request>) {
                commit(r, version, std::move(done));
            } else if constexpr (std::is_same_v<T, kafka::offset_fetch_request>) {
                done(fetch(r, version));
            } else if constexpr (std::is_same_v<T, kafka::describe_groups_request>) {
                done(describe(r));
            } else if constexpr (std::is_same_v<T, kafka::list_groups_request>) {
                done(list());
            } else {
                // Not a group API (handles() says which are): refused, never dropped.
                done(kafka::error_response(req, error_code::invalid_request));
            }
        },
        req.body);
    rearm();
}

void kafka_group_service::impl::join_or_sync(kafka::request req, const context& ctx,
                                             std::function<void(kafka::response_body)> done) {
    const std::uint64_t token = next_token++;
    const kafka::time_ms now = steady_ms();
    kafka::group_events ev;
    const auto* join = std::get_if<kafka::join_group_request>(&req.body);
    const auto* sync = std::get_if<kafka::sync_group_request>(&req.body);
    const std::int16_t version = req.header.api_version;
    waits.emplace(token, waiting{req, std::move(done)});
    if (join)
        coordinator.join(token, *join, {version, ctx.client_id, ctx.client_host}, now, ev);
    else if (sync)
        coordinator.sync(token, *sync, now, ev);
    deliver(ev);
}

void kafka_group_service::impl::deliver(kafka::group_events& ev) {
    auto answer = [&](std::uint64_t token, auto&& resp) {
        auto it = waits.find(token);
        if (it == waits.end()) return;  // answered at stop()
        auto done = std::move(it->second.done);
        waits.erase(it);
        done(kafka::response_body(std::forward<decltype(resp)>(resp)));
    };
    for (auto& j : ev.joins) answer(j.token, std::move(j.response));
    for (auto& s : ev.syncs) answer(s.token, std::move(s.response));
}

void kafka_group_service::impl::commit(const kafka::offset_commit_request& r, std::int16_t version,
                                       std::function<void(kafka::response_body)> done) {
    auto job = std::make_shared<commit_job>();
    job->group = r.group_id;
    job->done = std::move(done);
    for (const auto& t : r.topics) {
        auto& rt = job->resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) rt.partitions.push_back({p.index, error_code::none});
    }
    auto refuse_all = [&](error_code e) {
        for (auto& t : job->resp.topics)
            for (auto& p : t.partitions) p.error = e;
        job->done(std::move(job->resp));
    };
    if (!loaded) return refuse_all(error_code::coordinator_load_in_progress);
    if (r.group_id.empty()) return refuse_all(error_code::invalid_group_id);
    if (auto e = coordinator.check_commit(r.group_id, r.generation_id, r.member_id, steady_ms());
        e != error_code::none)
        return refuse_all(e);
    auto st = log.store_handle();
    auto part = st ? st->get(consumer_offsets::topic,
                             consumer_offsets::partition_for(r.group_id, offsets_partitions))
                   : nullptr;
    if (!part) return refuse_all(error_code::coordinator_not_available);

    const std::int64_t now = wall_ms();
    store::batch_builder b(store::compression::none);
    for (std::size_t ti = 0; ti < r.topics.size(); ++ti) {
        const auto& t = r.topics[ti];
        const int partitions = st->partition_count(t.name);
        for (std::size_t pi = 0; pi < t.partitions.size(); ++pi) {
            const auto& p = t.partitions[pi];
            auto& out = job->resp.topics[ti].partitions[pi];
            if (p.committed_metadata &&
                p.committed_metadata->size() > consumer_offsets::max_metadata_bytes) {
                out.error = offset_metadata_too_large;
                continue;
            }
            if (p.index < 0 || p.index >= partitions) {
                out.error = error_code::unknown_topic_or_partition;
                continue;
            }
            commit_job::entry e;
            e.tp = {t.name, p.index};
            e.value.offset = p.committed_offset;
            e.value.leader_epoch = p.committed_leader_epoch;
            e.value.metadata = p.committed_metadata.value_or(std::string());
            // Only v1 carries a commit timestamp; the others are stamped with the broker's.
            e.value.commit_timestamp =
                version == 1 && p.commit_timestamp >= 0 ? p.commit_timestamp : now;
            e.topic_at = ti;
            e.partition_at = pi;
            b.add(now, consumer_offsets::encode_key({r.group_id, t.name, p.index}),
                  consumer_offsets::encode_value(e.value));
            job->entries.push_back(std::move(e));
        }
    }
    if (job->entries.empty()) return job->done(std::move(job->resp));
    auto batch = b.build();
    if (!batch) return committed(job, store::errc::invalid_argument);
    // The answer waits for the append to be durable (the topic's policy is always); the
    // writer thread only posts back here.
    part->append(std::move(*batch),
                 [self = shared_from_this(), job](const store::append_result& ar) {
                     self->log.report_result(ar.error);
                     asio::post(self->home, [self, job, e = ar.error] { self->committed(job, e); });
                 });
}

void kafka_group_service::impl::committed(const std::shared_ptr<commit_job>& job, store::errc e) {
    if (e == store::errc::ok) {
        auto& table = offsets[job->group];
        for (auto& x : job->entries) table[x.tp] = std::move(x.value);
    } else {
        // A commit too large for one batch is the client's (Kafka says the same); anything
        // else is the log's trouble, and a retry (after finding the coordinator) may succeed.
        const error_code code = e == store::errc::record_too_large
                                    ? error_code::invalid_commit_offset_size
                                    : error_code::coordinator_not_available;
        log_warn("OffsetCommit of group ", job->group, " not stored: ", store::to_string(e));
        for (const auto& x : job->entries)
            job->resp.topics[x.topic_at].partitions[x.partition_at].error = code;
    }
    job->done(std::move(job->resp));
}

kafka::offset_fetch_response kafka_group_service::impl::fetch(const kafka::offset_fetch_request& r,
                                                              std::int16_t version) const {
    kafka::offset_fetch_response resp;
    error_code error = error_code::none;
    if (!loaded)
        error = error_code::coordinator_load_in_progress;
    else if (r.group_id.empty())
        error = error_code::invalid_group_id;
    // v2+ carry a top-level error; v0-1 only the partitions' (set below as well).
    if (version >= 2) resp.error = error;
    const std::map<topic_partition, committed_offset>* commits = nullptr;
    if (error == error_code::none) {
        if (auto g = offsets.find(r.group_id); g != offsets.end()) commits = &g->second;
    }
    auto partition = [&](const std::string& topic, std::int32_t index) {
        kafka::offset_fetch_response::partition p;
        p.index = index;
        p.metadata = std::string();  // Kafka's "no metadata" is the empty string
        p.error = error;
        if (commits) {
            if (auto c = commits->find({topic, index}); c != commits->end()) {
                p.committed_offset = c->second.offset;
                p.committed_leader_epoch = c->second.leader_epoch;
                p.metadata = c->second.metadata;
            }
        }
        return p;
    };
    if (r.topics) {
        for (const auto& t : *r.topics) {
            auto& rt = resp.topics.emplace_back();
            rt.name = t.name;
            for (auto index : t.partition_indexes)
                rt.partitions.push_back(partition(t.name, index));
        }
    } else if (commits) {
        // v2+ with no topic list: every partition the group has committed.
        for (const auto& [tp, c] : *commits) {
            if (resp.topics.empty() || resp.topics.back().name != tp.first)
                resp.topics.emplace_back().name = tp.first;
            resp.topics.back().partitions.push_back(partition(tp.first, tp.second));
        }
    }
    return resp;
}

kafka::describe_groups_response kafka_group_service::impl::describe(
    const kafka::describe_groups_request& r) const {
    kafka::describe_groups_response resp;
    for (const auto& id : r.groups) {
        auto d = coordinator.describe(id);
        if (id.empty()) {
            d.error = error_code::invalid_group_id;
        } else if (!coordinator.state(id) && offsets.count(id)) {
            // Known only by its commits (a standalone consumer, or members of an earlier run).
            d.group_state = kafka::to_string(kafka::group_state::empty);
        }
        resp.groups.push_back(std::move(d));
    }
    return resp;
}

kafka::list_groups_response kafka_group_service::impl::list() const {
    kafka::list_groups_response resp;
    resp.groups = coordinator.list();
    std::set<std::string> seen;
    for (const auto& g : resp.groups) seen.insert(g.group_id);
    for (const auto& [id, commits] : offsets)
        if (!seen.count(id)) resp.groups.push_back({id, std::string()});
    return resp;
}

group_snapshot kafka_group_service::impl::snapshot() const {
    std::set<std::string> ids;
    for (const auto& g : coordinator.list()) ids.insert(g.group_id);
    for (const auto& [id, commits] : offsets) ids.insert(id);
    group_snapshot out;
    for (const auto& id : ids) {
        auto& g = out.groups.emplace_back();
        g.group_id = id;
        const auto d = coordinator.describe(id);
        g.state =
            coordinator.state(id) ? d.group_state : kafka::to_string(kafka::group_state::empty);
        g.protocol_type = d.protocol_type;
        g.protocol = d.protocol_data;
        g.generation = std::max(0, coordinator.generation(id));
        for (const auto& m : d.members) {
            auto& sm = g.members.emplace_back();
            sm.member_id = m.member_id;
            sm.client_id = m.client_id;
            sm.client_host = m.client_host;
            if (d.protocol_type == "consumer")
                if (auto a = decode_consumer_assignment(m.member_assignment))
                    sm.assignment = std::move(*a);
        }
        if (auto c = offsets.find(id); c != offsets.end()) g.offsets = c->second;
    }
    return out;
}

void kafka_group_service::impl::rearm() {
    if (stopped || !timer) return;
    const auto next = coordinator.next_deadline();
    if (next == armed) return;
    armed = next;
    if (!next) {
        timer->cancel();
        return;
    }
    timer->expires_at(std::chrono::steady_clock::time_point(std::chrono::milliseconds(*next)));
    timer->async_wait([self = shared_from_this(), at = *next](const boost::system::error_code& ec) {
        if (ec || self->stopped || self->armed != at) return;  // cancelled or re-armed
        self->armed.reset();
        self->on_timer();
    });
}

void kafka_group_service::impl::on_timer() {
    kafka::group_events ev;
    coordinator.tick(steady_ms(), ev);
    deliver(ev);
    rearm();
}

void kafka_group_service::impl::shut_down() {
    stopped = true;
    armed.reset();
    timer.reset();  // cancels its wait
    auto waiting_now = std::move(waits);
    waits.clear();
    for (auto& [token, w] : waiting_now)
        w.done(kafka::error_response(w.req, error_code::coordinator_not_available));
}

void kafka_group_service::start() {
    auto st = impl_->log.store_handle();
    if (!st) throw std::runtime_error("consumer groups: the log is not open");
    std::string error;
    const int partitions = consumer_offsets::ensure_topic(*st, error);
    if (partitions == 0) throw std::runtime_error(error);
    offset_table table;
    std::size_t skipped = 0;
    if (!consumer_offsets::replay(*st, table, skipped, error)) throw std::runtime_error(error);
    if (skipped > 0)
        log_warn(consumer_offsets::topic, ": ", skipped, " records of an unknown format skipped");
    std::size_t commits = 0;
    for (const auto& [g, c] : table) commits += c.size();
    log_info("consumer groups: ", commits, " committed offsets of ", table.size(),
             " groups read from ", consumer_offsets::topic);
    asio::post(impl_->home, [self = impl_, table = std::move(table), partitions]() mutable {
        self->offsets = std::move(table);
        self->offsets_partitions = partitions;
        self->loaded = true;
        self->rearm();
    });
}

void kafka_group_service::stop() {
    if (impl_->stop_requested.exchange(true)) return;
    // On `home` itself, or when no thread runs it any more: nothing can race with us.
    if (impl_->home.get_executor().running_in_this_thread() || impl_->home.stopped())
        return impl_->shut_down();
    auto finished = std::make_shared<std::promise<void>>();
    auto f = finished->get_future();
    asio::post(impl_->home, [self = impl_, finished] {
        self->shut_down();
        finished->set_value();
    });
    if (f.wait_for(std::chrono::seconds(3)) != std::future_status::ready)
        log_warn("consumer groups: the coordinator's thread did not stop in time");
}

void kafka_group_service::snapshot(std::function<void(group_snapshot)> done) {
    asio::post(impl_->home, [self = impl_, done = std::move(done)] { done(self->snapshot()); });
}

}  // namespace sluice::broker
