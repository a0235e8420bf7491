#include "broker/egress_service.hpp"

#include <algorithm>
#include <future>

#include <boost/asio/post.hpp>

#include "broker/broker_core.hpp"
#include "broker/durable_log.hpp"
#include "broker/internal_topic.hpp"
#include "broker/log.hpp"
#include "broker/session_log.hpp"
#include "store/batch_builder.hpp"
#include "store/batch_reader.hpp"

namespace sluice::broker {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
// Bytes read from a partition per pass: other partitions, and stop(), get their turn between.
constexpr std::uint64_t pass_bytes = 256u << 10;
constexpr auto retry_delay = 1000ms;
constexpr auto max_backoff = 64ms;

log_rate_limit skipped_log;

store::log_config egress_topic_config() {
    return store::log_config{};  // durability always, 7 days retention
}

// Metric label values (bounded: one per mapping error, plus undecodable batches).
const char* reason_name(std::size_t i) {
    using ingest::mapping_error;
    switch (static_cast<mapping_error>(i)) {
        case mapping_error::ok: return "undecodable_batch";
        case mapping_error::missing_topic: return "missing_topic";
        case mapping_error::invalid_header: return "invalid_header";
        case mapping_error::expired: return "expired";
        case mapping_error::key_missing: return "key_missing";
        case mapping_error::invalid_topic: return "invalid_topic";
        case mapping_error::wildcard_in_topic: return "wildcard_in_topic";
        case mapping_error::reserved_topic: return "reserved_topic";
    }
    return "other";
}
}  // namespace

std::vector<std::string> egress_overlaps(const ingest::ingest_rules& ingest,
                                         const ingest::egress_rules& egress) {
    std::vector<std::string> out;
    const auto& in = ingest.rules();
    const auto& eg = egress.rules();
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (!in[i].logged) continue;
        for (std::size_t j = 0; j < eg.size(); ++j)
            if (eg[j].log_topic == in[i].log_topic)
                out.push_back("ingest_rules[" + std::to_string(i) + "] (" + in[i].filter +
                              ") logs into \"" + in[i].log_topic + "\", which egress_rules[" +
                              std::to_string(j) +
                              "] publishes to MQTT: a matching publish reaches subscribers "
                              "again through egress (egress publishes are never logged, so it "
                              "does not loop)");
    }
    return out;
}

egress_service::egress_service(durable_log& log, broker_core& core,
                               std::shared_ptr<const ingest::egress_rules> rules,
                               std::shared_ptr<const ingest::ingest_rules> ingest)
    : log_(log), core_(core), rules_(std::move(rules)), ingest_(std::move(ingest)) {
    for (std::size_t i = 0; i < rules_->rules().size(); ++i)
        counters_.push_back(std::make_unique<rule_counters>());
}

egress_service::~egress_service() {
    stop();
}

bool egress_service::prepare(std::string& error, bool& config_problem) {
    config_problem = false;
    for (const auto& line : egress_overlaps(*ingest_, *rules_)) log_warn("egress: ", line);
    store_ = log_.store_handle();
    if (!store_) {
        error = "egress: the log is not open";
        return false;
    }
    const auto& rules = rules_->rules();
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto& r = rules[i];
        const int have = store_->partition_count(r.log_topic);
        if (have == 0) {
            const int n = r.partitions.value_or(1);
            if (auto e = store_->create_topic(r.log_topic, n, egress_topic_config());
                e != store::errc::ok && e != store::errc::topic_exists) {
                error = "cannot create log topic " + r.log_topic + ": " + store::to_string(e);
                return false;
            }
            log_info("egress: created log topic ", r.log_topic, " with ", n, " partition(s)");
        } else if (r.partitions && *r.partitions != have) {
            error = "config key egress_rules[" + std::to_string(i) + "].partitions: log topic \"" +
                    r.log_topic + "\" exists with " + std::to_string(have) +
                    " partitions, the rule says " + std::to_string(*r.partitions);
            config_problem = true;
            return false;
        }
    }
    egress_offsets::table positions;
    offsets_ = egress_offsets::open(*store_, positions, error);
    if (!offsets_) return false;

    std::vector<std::future<store::append_result>> first;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const int n = store_->partition_count(rules[i].log_topic);
        for (int p = 0; p < n; ++p) {
            auto c = std::make_unique<cursor>();
            c->rule_index = i;
            c->index = p;
            c->key = egress_offsets::encode_key(rules[i].log_topic, p);
            c->part = store_->get(rules[i].log_topic, p);
            if (!c->part) {
                error = "cannot open log topic " + rules[i].log_topic;
                return false;
            }
            if (auto it = positions.find({rules[i].log_topic, p}); it != positions.end()) {
                c->next = it->second;
                c->recorded = it->second;
            } else {
                // A rule seen for the first time follows from the end: the position is
                // recorded now, so records appended from here on are never skipped.
                c->next = c->part->high_watermark().value;
                store::batch_builder b(store::compression::none);
                b.add(wall_ms(), c->key, egress_offsets::encode_value(c->next));
                first.push_back(offsets_->append(std::move(*b.build())));
                c->recorded = c->next;
                log_info("egress: ", c->key, " starts at its end, offset ", c->next);
            }
            c->next_seen.store(c->next, std::memory_order_relaxed);
            cursors_.push_back(std::move(c));
        }
    }
    for (auto& f : first) {
        if (auto r = f.get(); r.error != store::errc::ok) {
            error = std::string("cannot record egress positions in ") + egress_offsets::topic +
                    ": " + store::to_string(r.error);
            return false;
        }
    }
    return true;
}

void egress_service::start() {
    if (started_) return;
    started_ = true;
    guard_.emplace(ctx_.get_executor());
    thread_ = std::thread([this] { ctx_.run(); });
    asio::post(ctx_, [this] {
        if (!rewire()) return;
        for (auto& c : cursors_) wake(*c);
    });
}

void egress_service::stop() {
    if (!started_ || !thread_.joinable()) return;
    auto settled = std::make_shared<std::promise<void>>();
    auto done = settled->get_future();
    asio::post(ctx_, [this, settled] {
        stopping_ = true;
        stop_settled_ = settled;
        for (auto& c : cursors_)
            if (c->timer) c->timer->cancel();
        if (retry_) retry_->cancel();
        if (store_) store_->set_commit_observer(this, nullptr);
        settle_for_stop();
    });
    // Deliveries waiting for their appends finish and every position is recorded, unless the
    // log does not answer: then the records after the last recorded position are published
    // again after the restart (at least once).
    if (done.wait_for(3s) != std::future_status::ready)
        log_warn("egress: stopped before every position was recorded");
    guard_.reset();
    ctx_.stop();
    thread_.join();
}

void egress_service::settle_for_stop() {
    if (!stop_settled_) return;
    bool pending = false;
    for (auto& c : cursors_) {
        if (c->busy || c->recording) {
            pending = true;
        } else if (c->recorded != c->next && !c->abandoned) {
            record_position(*c);
            pending = pending || c->recording;
        }
    }
    if (!pending) {
        stop_settled_->set_value();
        stop_settled_.reset();
    }
}

bool egress_service::rewire() {
    auto st = log_.store_handle();
    if (!st) {
        // The log failed and is not reopened yet: look again later.
        if (!retry_) retry_ = std::make_unique<asio::steady_timer>(ctx_);
        retry_->expires_after(retry_delay);
        retry_->async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopping_) return;
            if (rewire())
                for (auto& c : cursors_) wake(*c);
        });
        return false;
    }
    if (st == store_ && !watched_.empty()) return true;
    if (store_ && store_ != st) store_->set_commit_observer(this, nullptr);
    store_ = std::move(st);
    offsets_ = store_->get(egress_offsets::topic, 0);
    {
        std::lock_guard lock(watch_mu_);
        watched_.clear();
        for (auto& c : cursors_) {
            c->part = store_->get(rule_of(*c).log_topic, c->index);
            if (c->part) watched_[c->part.get()] = c.get();
        }
    }
    store_->set_commit_observer(this, [this](const store::partition& p) {
        std::lock_guard lock(watch_mu_);
        if (auto it = watched_.find(&p); it != watched_.end()) wake(*it->second);
    });
    return true;
}

void egress_service::wake(cursor& c) {
    if (c.wake_pending.exchange(true, std::memory_order_acq_rel)) return;
    asio::post(ctx_, [this, &c] { pass(c); });
}

void egress_service::after(cursor& c, std::chrono::milliseconds delay) {
    if (!c.timer) c.timer = std::make_unique<asio::steady_timer>(ctx_);
    c.timer->expires_after(delay);
    c.timer->async_wait([this, &c](const boost::system::error_code& ec) {
        if (!ec) wake(c);
    });
}

void egress_service::skip(cursor& c, std::size_t reason, std::uint64_t records,
                          std::int64_t offset, const std::string& why) {
    counters_[c.rule_index]->skipped[reason].fetch_add(records, std::memory_order_relaxed);
    if (reason == static_cast<std::size_t>(ingest::mapping_error::expired)) return;  // routine
    log_limited(skipped_log, log_level::warn, log_subject{}, "egress: ", c.key, " offset ",
                offset, " not published: ", why);
}

void egress_service::pass(cursor& c) {
    c.wake_pending.store(false, std::memory_order_release);
    if (stopping_ || c.busy) return;
    if (!c.part || store_ != log_.store_handle()) {
        if (!rewire()) return;
        if (!c.part) return after(c, retry_delay);
    }
    auto& part = *c.part;
    const std::int64_t start = part.log_start_offset().value;
    const std::int64_t hw = part.high_watermark().value;
    if (c.next < start) {
        log_warn("egress: ", c.key, " records ", c.next, "..", start - 1,
                 " were removed by retention before they were published; continuing at ",
                 start);
        c.next = start;
    } else if (c.next > hw) {
        log_warn("egress: ", c.key, " recorded position ", c.next,
                 " is past the partition's end ", hw, "; continuing at its end");
        c.next = hw;
    }
    if (c.next >= hw) {
        c.next_seen.store(c.next, std::memory_order_relaxed);
        if (c.recorded != c.next && !c.recording) record_position(c);
        return;  // the commit hook wakes it
    }

    store::byte_buffer bytes;
    store::offset next_offset;
    if (auto e = part.read_copy(store::offset{c.next}, pass_bytes, bytes, next_offset);
        e != store::errc::ok || bytes.empty()) {
        log_limited(skipped_log, log_level::warn, log_subject{}, "egress: cannot read ", c.key,
                    " at offset ", c.next, ": ", store::to_string(e), "; retrying");
        return after(c, retry_delay);
    }
    const std::int64_t now_ms = wall_ms();
    auto& counts = *counters_[c.rule_index];
    const auto& rule = rule_of(c);
    std::vector<std::shared_ptr<append_outcome>> durable;
    bool congested = false;
    std::uint64_t published = 0;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        auto h = store::parse_batch_header(bytes.data() + pos, bytes.size() - pos);
        if (!h) break;  // read_copy returns whole, checked batches only
        const auto span = store::byte_span(bytes).subspan(pos, h->size_bytes());
        pos += h->size_bytes();
        if (h->is_control()) continue;
        store::decoded_batch batch;
        if (auto e = store::decode_batch(span, batch); e != store::errc::ok) {
            skip(c, undecodable, static_cast<std::uint64_t>(h->last_offset_delta) + 1,
                 h->base_offset, std::string("batch cannot be decoded: ") + store::to_string(e));
            continue;
        }
        for (const auto& rec : batch.records) {
            if (rec.offset < c.next) continue;
            auto res = ingest::to_publish(rule, rec, c.index, now_ms);
            if (!res.ok()) {
                skip(c, static_cast<std::size_t>(res.error), 1, rec.offset,
                     std::string(ingest::to_string(res.error)) +
                         (res.detail.empty() ? "" : " (" + res.detail + ")"));
                continue;
            }
            bool hot = false;
            core_.publish(make_message(std::move(res.publish), nullptr), &hot, &durable);
            congested = congested || hot;
            ++published;
        }
    }
    if (published) {
        counts.published.fetch_add(published, std::memory_order_relaxed);
        core_.stats().add_local(&counter_slot::messages_in, published);
    }
    c.next = next_offset.value;
    c.next_seen.store(c.next, std::memory_order_relaxed);
    if (congested)
        c.backoff = std::min(max_backoff, c.backoff.count() ? c.backoff * 2 : 1ms);
    else
        c.backoff = 0ms;

    // The position may be recorded once every append these deliveries need is durable.
    auto continue_after = [this, &c] {
        if (stopping_) return settle_for_stop();
        if (!c.recording) record_position(c);
        if (c.backoff.count())
            after(c, c.backoff);
        else
            wake(c);
    };
    std::erase(durable, nullptr);
    if (durable.empty()) return continue_after();
    c.busy = true;
    join_outcomes(std::move(durable))->wait([this, &c, continue_after](mqtt::reason_code rc) {
        asio::post(ctx_, [&c, rc, continue_after] {
            c.busy = false;
            if (mqtt::is_error(rc))
                log_limited(skipped_log, log_level::warn, log_subject{}, "egress: ", c.key,
                            ": a delivery to a persistent session or a retained message was "
                            "not logged (", static_cast<int>(rc), ")");
            continue_after();
        });
    });
}

void egress_service::record_position(cursor& c) {
    if (!offsets_ || c.recorded == c.next) return;
    const std::int64_t at = c.next;
    store::batch_builder b(store::compression::none);
    b.add(wall_ms(), c.key, egress_offsets::encode_value(at));
    auto batch = b.build();
    if (!batch) return;
    c.recording = true;
    offsets_->append(std::move(*batch), [this, &c, at](const store::append_result& r) {
        asio::post(ctx_, [this, &c, at, ok = r.error == store::errc::ok, e = r.error] {
            c.recording = false;
            if (ok) {
                c.recorded = at;
            } else {
                log_limited(skipped_log, log_level::warn, log_subject{}, "egress: position of ",
                            c.key, " not recorded: ", store::to_string(e));
                c.abandoned = stopping_;  // no retry loop at shutdown
            }
            if (stopping_) return settle_for_stop();
            // Positions that moved meanwhile are recorded next (one append in flight each).
            if (!stopping_ && !c.busy && c.recorded != c.next && ok) record_position(c);
        });
    });
}

std::vector<egress_service::rule_status> egress_service::status() const {
    std::vector<rule_status> out;
    const auto& rules = rules_->rules();
    for (std::size_t i = 0; i < rules.size(); ++i) {
        rule_status r;
        r.rule = &rules[i];
        r.published = counters_[i]->published.load(std::memory_order_relaxed);
        for (std::size_t k = 0; k < reasons; ++k)
            if (auto n = counters_[i]->skipped[k].load(std::memory_order_relaxed))
                r.skipped.emplace_back(reason_name(k), n);
        out.push_back(std::move(r));
    }
    // The partitions as the store has them now (the cursors' partition pointers belong to the
    // egress thread).
    auto st = log_.store_handle();
    for (const auto& c : cursors_) {
        partition_status p;
        p.partition = c->index;
        p.next_offset = c->next_seen.load(std::memory_order_relaxed);
        p.high_watermark = -1;
        if (st)
            if (auto part = st->get(rules[c->rule_index].log_topic, c->index))
                p.high_watermark = part->high_watermark().value;
        out[c->rule_index].partitions.push_back(p);
    }
    return out;
}

void egress_service::collect_metrics(metrics::family_list& out) const {
    auto& published = out.counter("sluice_egress_records_total",
                                  "Records of log topics published to MQTT by egress rules");
    auto& skipped = out.counter("sluice_egress_skipped_total",
                                "Records egress could not publish, by reason (logged, skipped)");
    auto& lag = out.gauge("sluice_egress_lag_records",
                          "Records of a log partition not yet published by egress");
    for (const auto& r : status()) {
        published.add(static_cast<double>(r.published), {{"log_topic", r.rule->log_topic}});
        for (const auto& [why, n] : r.skipped)
            skipped.add(static_cast<double>(n), {{"log_topic", r.rule->log_topic}, {"reason", why}});
        for (const auto& p : r.partitions)
            if (p.high_watermark >= 0)
                lag.add(static_cast<double>(std::max<std::int64_t>(0, p.high_watermark - p.next_offset)),
                        {{"log_topic", r.rule->log_topic}, {"partition", std::to_string(p.partition)}});
    }
}

}  // namespace sluice::broker
