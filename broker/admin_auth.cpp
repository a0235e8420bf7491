#include "broker/admin_auth.hpp"

#include <algorithm>

#include "auth/crypto.hpp"
#include "broker/auth_service.hpp"
#include "broker/config.hpp"
#include "broker/http_api.hpp"
#include "broker/log.hpp"
#include "store/file_util.hpp"

namespace sluice::broker {

namespace {

// "Basic xyz" -> "xyz" for scheme "basic" (case-insensitive scheme, RFC 9110 section 11.1).
std::optional<std::string_view> credentials_of(std::string_view header, std::string_view scheme) {
    if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return std::nullopt;
    auto rest = header.substr(scheme.size() + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
    return rest;
}

std::string_view trim(std::string_view s) {
    const auto ws = " \t\r\n";
    const auto b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace

std::string read_admin_token(const std::string& path, const std::string& key) {
    auto text = store::read_small_file(path, 64 * 1024);
    if (!text) throw config_error{"config key " + key + ": cannot read " + path};
    std::string_view first = *text;
    first = first.substr(0, first.find('\n'));
    auto token = std::string(trim(first));
    if (token.empty()) throw config_error{"config key " + key + ": " + path + " holds no token"};
    return token;
}

admin_credentials admin_credentials_of(const listener_settings& l) {
    admin_credentials c;
    c.users = l.admin_users;
    if (!l.admin_token_file.empty())
        c.token = read_admin_token(l.admin_token_file, "listeners." + l.name + ".admin_token_file");
    return c;
}

std::unique_ptr<admin_auth> admin_auth::for_listener(const listener_settings& l, bool has_users) {
    auto a = std::make_unique<admin_auth>(has_users, admin_credentials_of(l));
    if (!a->required() && !l.allow_anonymous_admin && !is_loopback_host(l.address.host))
        throw config_error{"config key listeners." + l.name +
                           ".allow_anonymous_admin: the admin API has no authentication (no "
                           "auth.password_file, no admin_token_file), so it listens on loopback "
                           "only unless the listener says \"allow_anonymous_admin\": true (not " +
                           l.address.host + ")"};
    return a;
}

admin_auth::admin_auth(bool has_users, admin_credentials credentials)
    : has_users_(has_users), credentials_(std::move(credentials)) {}

bool admin_auth::required() const {
    std::lock_guard lock(mu_);
    return has_users_ || !credentials_.token.empty();
}

void admin_auth::set_service(auth_service* service) {
    std::lock_guard lock(mu_);
    service_ = service;
}

void admin_auth::set_credentials(admin_credentials credentials) {
    std::lock_guard lock(mu_);
    credentials_ = std::move(credentials);
}

std::chrono::steady_clock::duration admin_auth::delay_for(std::string_view peer) const {
    auth_service* svc = nullptr;
    {
        std::lock_guard lock(mu_);
        svc = service_;
    }
    return svc ? svc->login_delay(peer) : std::chrono::steady_clock::duration::zero();
}

bool admin_auth::is_admin_locked(const std::string& user) const {
    return std::find(credentials_.users.begin(), credentials_.users.end(), user) !=
           credentials_.users.end();
}

void admin_auth::remember(std::vector<std::uint8_t> key, std::string user,
                          auth::user_store_ptr users) {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(cache_, [&](const cache_entry& e) { return e.expires <= now || e.key == key; });
    if (cache_.size() >= cache_capacity) cache_.erase(cache_.begin());  // the oldest
    cache_.push_back({std::move(key), std::move(user), std::move(users), now + cache_ttl});
}

void admin_auth::check(std::string_view authorization, std::string_view peer,
                       std::function<void(admin_verdict)> done) {
    if (auto token = credentials_of(authorization, "bearer")) {
        bool ok = false;
        {
            std::lock_guard lock(mu_);
            // Digests compared in constant time: a wrong token reveals nothing of the right
            // one, not even its length.
            ok = !credentials_.token.empty() &&
                 auth::constant_time_equal(auth::sha256(auth::as_bytes(*token)),
                                           auth::sha256(auth::as_bytes(credentials_.token)));
        }
        return done(ok ? admin_verdict::allowed : admin_verdict::unauthenticated);
    }
    auto basic = credentials_of(authorization, "basic");
    if (!basic || !has_users_) return done(admin_verdict::unauthenticated);
    auto decoded = auth::base64_decode(*basic);
    if (!decoded) return done(admin_verdict::unauthenticated);
    std::string pair(decoded->begin(), decoded->end());
    const auto colon = pair.find(':');
    if (colon == std::string::npos) return done(admin_verdict::unauthenticated);
    std::string user = pair.substr(0, colon);
    std::string password = pair.substr(colon + 1);

    auto key = auth::sha256(auth::as_bytes(authorization));
    auth_service* svc = nullptr;
    {
        std::lock_guard lock(mu_);
        svc = service_;
        if (!svc) return done(admin_verdict::busy);
        const auto now = std::chrono::steady_clock::now();
        const auto users = svc->users();
        for (const auto& e : cache_)
            if (e.key == key && e.expires > now && e.users == users)
                return done(is_admin_locked(e.user) ? admin_verdict::allowed
                                                    : admin_verdict::forbidden);
    }
    auto users = svc->users();
    const bool queued = svc->verify(
        users, user, std::move(password),
        [this, svc, users, user, key = std::move(key), address = std::string(peer),
         done](bool ok) mutable {
            if (!ok) {
                svc->login_failed(address);
                log_warn("admin API: bad user name or password from ", address);
                return done(admin_verdict::unauthenticated);
            }
            svc->login_succeeded(address);
            bool admin = false;
            {
                std::lock_guard lock(mu_);
                admin = is_admin_locked(user);
            }
            if (!admin) log_warn("admin API: user ", user, " from ", address, " is not in admin_users");
            remember(std::move(key), user, std::move(users));
            done(admin ? admin_verdict::allowed : admin_verdict::forbidden);
        });
    if (!queued) done(admin_verdict::busy);
}

}  // namespace sluice::broker
