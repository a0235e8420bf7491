#include "auth/user_store.hpp"

#include <map>

namespace sluice::auth {

user_store::user_store(user_file users)
    : users_(std::move(users)), fake_salt_secret_(random_bytes(32)) {
    // The dummy costs what a default new password costs.
    const hash_parameters defaults;
    dummy_.iterations = defaults.pbkdf2_iterations;
    dummy_.salt = random_bytes(defaults.salt_size);
    dummy_.hash = random_bytes(64);

    std::map<std::uint32_t, std::size_t> counts;
    for (const auto& [name, r] : users_.users()) ++counts[r.scram.iterations];
    typical_scram_iterations_ = defaults.scram_iterations;
    std::size_t best = 0;
    for (const auto& [iterations, n] : counts) {
        if (n > best) {
            best = n;
            typical_scram_iterations_ = iterations;
        }
    }
}

bool user_store::verify(std::string_view name, std::string_view password) const {
    const user_record* r = users_.find(name);
    if (r == nullptr) {
        (void)verify_password(dummy_, password);
        return false;
    }
    return verify_password(r->password, password);
}

user_store_ptr load_user_store(const std::string& path, std::string& error) {
    user_file_result r = load_user_file(path);
    if (!r.file) {
        error = std::move(r.error);
        return nullptr;
    }
    return std::make_shared<const user_store>(std::move(*r.file));
}

}  // namespace sluice::auth
