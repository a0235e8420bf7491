#include "broker/auth_service.hpp"

#include "broker/log.hpp"

namespace sluice::broker {

namespace {

auth::user_store_ptr load_users(const std::string& path, std::string& error) {
    return auth::load_user_store(path, error);
}

auth_service::acl_ptr load_acl(const std::string& path, std::string& error) {
    auto parsed = auth::acl::load(path);
    if (!parsed.rules) {
        error = parsed.error;
        return nullptr;
    }
    return std::make_shared<const auth::acl>(std::move(*parsed.rules));
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

auth_service::auth_service(const auth_settings& settings, unsigned verify_threads)
    : settings_(settings) {
    std::string error;
    if (has_users()) {
        users_ = load_users(settings_.password_file, error);
        if (!users_)
            throw config_error{"config key auth.password_file (--password-file): " + error};
    }
    if (has_acl()) {
        acl_ = load_acl(settings_.acl_file, error);
        if (!acl_) throw config_error{"config key auth.acl_file (--acl-file): " + error};
    }
    if (has_users())
        for (unsigned i = 0; i < verify_threads; ++i) workers_.emplace_back([this] { worker(); });
}

auth_service::~auth_service() {
    stop();
}

void auth_service::stop() {
    {
        std::lock_guard lock(queue_mu_);
        stopping_ = true;
        queue_.clear();
    }
    queue_cv_.notify_all();
    for (auto& t : workers_)
        if (t.joinable()) t.join();
    workers_.clear();
}

auth::user_store_ptr auth_service::users() const {
    std::lock_guard lock(mu_);
    return users_;
}

auth_service::acl_ptr auth_service::acl() const {
    std::lock_guard lock(mu_);
    return acl_;
}

std::vector<std::string> auth_service::reload() {
    std::vector<std::string> reloaded;
    std::string error;
    if (has_users()) {
        if (auto fresh = load_users(settings_.password_file, error)) {
            const auto n = fresh->size();
            {
                std::lock_guard lock(mu_);
                users_.swap(fresh);
            }  // the old snapshot goes outside the lock (or with its last login)
            log_info("reloaded password file ", settings_.password_file, " (", n, " user(s))");
            reloaded.push_back("password file");
        } else {
            log_warn("password file not reloaded (", error, "); keeping the previous users");
        }
    }
    if (has_acl()) {
        if (auto fresh = load_acl(settings_.acl_file, error)) {
            const auto n = fresh->rules().size();
            {
                std::lock_guard lock(mu_);
                acl_.swap(fresh);
                acl_generation_.fetch_add(1, std::memory_order_acq_rel);
            }
            log_info("reloaded ACL file ", settings_.acl_file, " (", n, " rule(s))");
            reloaded.push_back("ACL file");
        } else {
            log_warn("ACL file not reloaded (", error, "); keeping the previous rules");
        }
    }
    return reloaded;
}

bool auth_service::verify(auth::user_store_ptr store, std::string user, std::string password,
                          std::function<void(bool)> done) {
    if (workers_.empty()) {
        done(store && store->verify(user, password));
        return true;
    }
    {
        std::lock_guard lock(queue_mu_);
        if (stopping_ || queue_.size() >= max_queued_checks) return false;
        queue_.push_back({std::move(store), std::move(user), std::move(password), std::move(done)});
    }
    queue_cv_.notify_one();
    return true;
}

void auth_service::worker() {
    for (;;) {
        check c;
        {
            std::unique_lock lock(queue_mu_);
            queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            c = std::move(queue_.front());
            queue_.pop_front();
        }
        const bool ok = c.store && c.store->verify(c.user, c.password);
        c.done(ok);
    }
}

std::chrono::steady_clock::duration auth_service::login_delay(std::string_view address) {
    std::lock_guard lock(limiter_mu_);
    return limiter_.delay(address, std::chrono::steady_clock::now());
}

void auth_service::login_failed(std::string_view address) {
    std::lock_guard lock(limiter_mu_);
    limiter_.record_failure(address, std::chrono::steady_clock::now());
}

void auth_service::login_succeeded(std::string_view address) {
    std::lock_guard lock(limiter_mu_);
    limiter_.record_success(address);
}

bool auth_service::should_log_denied_publish(std::uint64_t& suppressed) {
    const std::int64_t now = now_ms();
    std::int64_t last = last_denied_log_ms_.load(std::memory_order_relaxed);
    if (now - last < 1000 ||
        !last_denied_log_ms_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
        denied_unlogged_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    suppressed = denied_unlogged_.exchange(0, std::memory_order_relaxed);
    return true;
}

std::string_view peer_address(std::string_view peer) {
    auto colon = peer.rfind(':');
    if (colon == std::string_view::npos) return peer;
    auto host = peer.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return host;
}

}  // namespace sluice::broker
