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

durable_log::durable_log(options opts) : opts_(std::move(opts)), rules_(opts_.rules.get()) {
    rule_sets_.push_back(opts_.rules);
}

std::string durable_log::ensure_log_topics(store::store& s, const ingest::ingest_rules& rules,
                                           bool& config_problem) {
    for (const auto& t : rules.log_topics()) {
        const int have = s.partition_count(t.name);
        if (have == 0) {
            if (auto c = s.create_topic(t.name, t.partitions, t.config); c != store::errc::ok)
                return "cannot create log topic " + t.name + ": " + store::to_string(c);
        } else if (have != t.partitions) {
            config_problem = true;
            return "config key ingest_rules: log topic \"" + t.name + "\" exists with " +
                   std::to_string(have) + " partitions, the rules say " +
                   std::to_string(t.partitions);
        } else if (auto existing = s.topic_config(t.name);
                   existing && existing->flush != t.config.flush) {
            log_warn("log topic ", t.name, " keeps its durability ",
                     store::to_string(existing->flush), " (the rules say ",
                     store::to_string(t.config.flush), ")");
        }
    }
    return {};
}

std::shared_ptr<topic_summary> durable_log::summary_registry::get_or_make(
    const std::shared_ptr<store::partition>& p) {
    if (!p) return nullptr;
    std::lock_guard lock(mu_);
    auto& e = by_partition_[p.get()];
    // A live weak pointer to this address is this object; an expired one was another.
    if (!e.summary || e.partition.expired()) e = {p, std::make_shared<topic_summary>()};
    return e.summary;
}

std::shared_ptr<topic_summary> durable_log::summary_registry::find(const store::partition* p) const {
    std::lock_guard lock(mu_);
    auto it = by_partition_.find(p);
    if (it == by_partition_.end() || it->second.partition.expired()) return nullptr;
    return it->second.summary;
}

std::vector<std::vector<durable_log::log_target>> durable_log::rule_table(
    open_store& st, const ingest::ingest_rules& rules) {
    std::vector<std::vector<log_target>> table;
    for (const auto& r : rules.rules()) {
        auto& parts = table.emplace_back();
        if (!r.logged) continue;
        for (int i = 0; i < r.partitions; ++i) {
            auto p = st.s->get(r.log_topic, i);
            parts.push_back({p, st.summaries->get_or_make(p)});
        }
    }
    return table;
}

std::shared_ptr<durable_log::open_store> durable_log::open_store_locked(std::string& error,
                                                                        bool& config_problem) {
    store::store_options so;
    so.data_dir = opts_.data_dir;
    so.writer_threads = opts_.settings.writer_threads;
    so.parallel_syncs = opts_.settings.parallel_syncs;
    so.sync_round_gap = std::chrono::microseconds(opts_.settings.sync_round_gap_us);
    so.log = [](const std::string& line) { log_warn("store: ", line); };
    store::errc e = store::errc::ok;
    auto st = std::make_shared<open_store>();
    st->s = store::store::open(so, e);
    if (!st->s) {
        error = "cannot open the log in " + opts_.data_dir + ": " + store::to_string(e);
        return nullptr;
    }
    const auto& rules = this->rules();
    error = ensure_log_topics(*st->s, rules, config_problem);
    if (!error.empty()) return nullptr;
    st->rules_of = &rules;
    st->summaries = std::make_shared<summary_registry>();
    st->by_rule = rule_table(*st, rules);
    st->ids = producer_ids::open(*st->s, error);
    if (!st->ids) return nullptr;
    return st;
}

bool durable_log::replace_rules(std::shared_ptr<const ingest::ingest_rules> fresh,
                                std::string& error) {
    std::lock_guard lock(mu_);
    if (closed_ || !current_ || failed_.load(std::memory_order_relaxed)) {
        error = "the log is not open (a failed write is being recovered)";
        return false;
    }
    bool config_problem = false;
    error = ensure_log_topics(*current_->s, *fresh, config_problem);
    if (!error.empty()) return false;
    auto next = std::make_shared<open_store>(*current_);
    next->rules_of = fresh.get();
    next->by_rule = rule_table(*next, *fresh);
    rule_sets_.push_back(fresh);
    rules_.store(fresh.get(), std::memory_order_release);
    current_ = std::move(next);
    return true;
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

durable_log::log_target durable_log::target(const ingest::ingest_rule& rule, int index,
                                            bool with_summary) {
    auto st = current();
    if (!st || index < 0) return {};
    const auto& all = st->rules_of->rules();
    const auto p = reinterpret_cast<std::uintptr_t>(&rule);
    const auto first = reinterpret_cast<std::uintptr_t>(all.data());
    if (p >= first && p < first + all.size() * sizeof(ingest::ingest_rule)) {
        const auto at = (p - first) / sizeof(ingest::ingest_rule);
        if (static_cast<std::size_t>(index) >= st->by_rule[at].size()) return {};
        const auto& t = st->by_rule[at][static_cast<std::size_t>(index)];
        return {t.partition, with_summary ? t.summary : nullptr};
    }
    // A rule of an earlier rule set: the publish matched it before a reload, and appends
    // where that rule said (lookups in the store's table and the summaries, rare).
    if (!rule.logged || index >= rule.partitions) return {};
    auto part = st->s->get(rule.log_topic, index);
    return {part, with_summary ? st->summaries->get_or_make(part) : nullptr};
}

std::shared_ptr<const topic_summary> durable_log::summary_of(const store::partition* p) {
    std::shared_ptr<open_store> st;
    {
        std::lock_guard lock(mu_);
        st = current_;
    }
    if (!st) return nullptr;
    return st->summaries->find(p);
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
