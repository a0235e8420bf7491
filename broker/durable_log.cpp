#include "broker/durable_log.hpp"

#include "broker/log.hpp"

namespace sluice::broker {

mqtt::reason_code failure_reason(store::errc e) {
    return e == store::errc::record_too_large ? mqtt::reason_code::quota_exceeded
                                              : mqtt::reason_code::unspecified_error;
}

std::unique_ptr<durable_log> durable_log::open(options opts, std::string& error,
                                               bool& config_problem) {
    config_problem = false;
    std::unique_ptr<durable_log> log(new durable_log(std::move(opts)));
    std::lock_guard lock(log->mu_);
    log->current_ = log->open_store_locked(error, config_problem);
    if (!log->current_) return nullptr;
    return log;
}

std::shared_ptr<durable_log::open_store> durable_log::open_store_locked(std::string& error,
                                                                        bool& config_problem) {
    store::store_options so;
    so.data_dir = opts_.data_dir;
    so.writer_threads = opts_.settings.writer_threads;
    so.log = [](const std::string& line) { log_warn("store: ", line); };
    store::errc e = store::errc::ok;
    auto st = std::make_shared<open_store>();
    st->s = store::store::open(so, e);
    if (!st->s) {
        error = "cannot open the log in " + opts_.data_dir + ": " + store::to_string(e);
        return nullptr;
    }
    for (const auto& t : rules().log_topics()) {
        const int have = st->s->partition_count(t.name);
        if (have == 0) {
            if (auto c = st->s->create_topic(t.name, t.partitions, t.config);
                c != store::errc::ok) {
                error = "cannot create log topic " + t.name + ": " + store::to_string(c);
                return nullptr;
            }
        } else if (have != t.partitions) {
            error = "config key ingest_rules: log topic \"" + t.name + "\" exists with " +
                    std::to_string(have) + " partitions, the rules say " +
                    std::to_string(t.partitions);
            config_problem = true;
            return nullptr;
        } else if (auto existing = st->s->topic_config(t.name);
                   existing && existing->flush != t.config.flush) {
            log_warn("log topic ", t.name, " keeps its durability ",
                     store::to_string(existing->flush), " (the rules say ",
                     store::to_string(t.config.flush), ")");
        }
    }
    for (const auto& r : rules().rules()) {
        auto& parts = st->by_rule.emplace_back();
        if (!r.logged) continue;
        for (int i = 0; i < r.partitions; ++i) parts.push_back(st->s->get(r.log_topic, i));
    }
    st->ids = producer_ids::open(*st->s, error);
    if (!st->ids) return nullptr;
    return st;
}

durable_log::~durable_log() {
    close();
}

void durable_log::close() {
    std::shared_ptr<open_store> st;
    {
        std::lock_guard lock(mu_);
        closed_ = true;
        st = std::move(current_);
    }
    if (st && st->s) st->s->close();
}

void durable_log::report_result(store::errc e) {
    if (e == store::errc::io_error && !failed_.exchange(true, std::memory_order_relaxed))
        log_error("the log failed a write: logged publishes are refused until it is reopened");
}

std::shared_ptr<durable_log::open_store> durable_log::current() {
    std::lock_guard lock(mu_);
    if (closed_) return nullptr;
    if (!failed_.load(std::memory_order_relaxed)) return current_;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_attempt_ < std::chrono::milliseconds(opts_.settings.reopen_interval_ms))
        return nullptr;
    last_attempt_ = now;
    // Closing finishes the queued appends (they fail on the failed partition) and leaves the
    // failed partition without its clean-shutdown marker, so the open below recovers it.
    if (current_ && current_->s) current_->s->close();
    current_.reset();
    std::string error;
    bool config_problem = false;
    failed_.store(false, std::memory_order_relaxed);
    current_ = open_store_locked(error, config_problem);
    if (!current_) {
        failed_.store(true, std::memory_order_relaxed);
        log_error("reopening the log failed: ", error);
        return nullptr;
    }
    log_info("the log was reopened");
    return current_;
}

std::shared_ptr<store::partition> durable_log::partition(const ingest::ingest_rule& rule,
                                                         int index) {
    auto st = current();
    if (!st) return nullptr;
    const auto& all = rules().rules();
    const auto at = static_cast<std::size_t>(&rule - all.data());
    if (at >= st->by_rule.size() || index < 0 ||
        static_cast<std::size_t>(index) >= st->by_rule[at].size())
        return nullptr;
    return st->by_rule[at][static_cast<std::size_t>(index)];
}

std::shared_ptr<store::store> durable_log::store_handle() {
    auto st = current();
    if (!st) return nullptr;
    return std::shared_ptr<store::store>(st, st->s.get());  // shares the open store's lifetime
}

std::optional<std::int64_t> durable_log::next_producer_id() {
    auto st = current();
    if (!st) return std::nullopt;
    return st->ids->next();
}

}  // namespace sluice::broker
