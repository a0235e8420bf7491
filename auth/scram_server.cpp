#include "auth/scram_server.hpp"

#include "auth/scram_message.hpp"

namespace sluice::auth {

const char* to_string(scram_error e) {
    switch (e) {
        case scram_error::none:
            return "none";
        case scram_error::malformed:
            return "invalid-encoding";
        case scram_error::invalid_username:
            return "invalid-username-encoding";
        case scram_error::channel_binding_not_supported:
            return "channel-binding-not-supported";
        case scram_error::channel_binding_mismatch:
            return "channel-bindings-dont-match";
        case scram_error::extensions_not_supported:
            return "extensions-not-supported";
        case scram_error::invalid_proof:
            return "invalid-proof";
        case scram_error::nonce_mismatch:
        case scram_error::identity_changed:
        case scram_error::authzid_not_supported:
        case scram_error::wrong_state:
            return "other-error";
    }
    return "other-error";
}

namespace {

std::string random_nonce() {
    return base64_encode(random_bytes(18));
}

}  // namespace

scram_server::scram_server(user_store_ptr store, scram_server_options options)
    : store_(std::move(store)), options_(std::move(options)) {
    if (!options_.nonce) options_.nonce = random_nonce;
}

scram_step scram_server::fail(scram_error e) {
    state_ = state::failed;
    // The exchange's secrets are not needed any more.
    credentials_ = {};
    exchange_store_.reset();
    return {scram_status::failure, std::string("e=") + to_string(e), e};
}

scram_step scram_server::client_first(std::string_view message) {
    if (state_ != state::initial && state_ != state::done) return fail(scram_error::wrong_state);
    if (message.size() > options_.max_message_size || store_ == nullptr)
        return fail(scram_error::malformed);

    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    std::string_view rest = message;
    if (rest.starts_with("p=")) return fail(scram_error::channel_binding_not_supported);
    if (!rest.starts_with("n,") && !rest.starts_with("y,")) return fail(scram_error::malformed);
    rest.remove_prefix(2);
    const std::size_t comma = rest.find(',');
    if (comma == std::string_view::npos) return fail(scram_error::malformed);
    const std::string_view authzid_field = rest.substr(0, comma);
    rest.remove_prefix(comma + 1);
    gs2_header_ = std::string(message.substr(0, message.size() - rest.size()));

    // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    const auto attrs = scram::split_attributes(rest);
    if (!attrs || attrs->size() < 2) return fail(scram_error::malformed);
    if ((*attrs)[0].name == "m") return fail(scram_error::extensions_not_supported);
    if ((*attrs)[0].name != "n" || (*attrs)[1].name != "r") return fail(scram_error::malformed);
    const auto user = scram::decode_saslname((*attrs)[0].value);
    if (!user) return fail(scram_error::invalid_username);
    if (!valid_username(*user)) return fail(scram_error::invalid_username);
    if (!authzid_field.empty()) {
        if (!authzid_field.starts_with("a=")) return fail(scram_error::malformed);
        const auto authzid = scram::decode_saslname(authzid_field.substr(2));
        if (!authzid) return fail(scram_error::invalid_username);
        // Acting as another user is not supported.
        if (*authzid != *user) return fail(scram_error::authzid_not_supported);
    }
    const std::string_view client_nonce = (*attrs)[1].value;
    if (!scram::valid_nonce(client_nonce)) return fail(scram_error::malformed);
    if (state_ == state::done && *user != username_) return fail(scram_error::identity_changed);

    user_ = *user;
    client_first_bare_ = std::string(rest);
    exchange_store_ = store_;
    const user_record* record = exchange_store_->find(user_);
    fake_user_ = record == nullptr;
    if (record != nullptr) {
        credentials_ = record->scram;
    } else {
        // Same shape as a real user's; the keys are random so no proof can match.
        const bytes mac = hmac_sha256(exchange_store_->fake_salt_secret(), as_bytes(user_));
        credentials_.iterations = exchange_store_->typical_scram_iterations();
        credentials_.salt.assign(mac.begin(), mac.begin() + 16);
        credentials_.stored_key = random_bytes(32);
        credentials_.server_key = random_bytes(32);
    }
    nonce_ = std::string(client_nonce) + options_.nonce();
    server_first_ = "r=" + nonce_ + ",s=" + base64_encode(credentials_.salt) +
                    ",i=" + std::to_string(credentials_.iterations);
    state_ = state::awaiting_final;
    return {scram_status::challenge, server_first_, scram_error::none};
}

scram_step scram_server::client_final(std::string_view message) {
    if (state_ != state::awaiting_final) return fail(scram_error::wrong_state);
    if (message.size() > options_.max_message_size) return fail(scram_error::malformed);

    // client-final-message = channel-binding "," nonce ["," extensions] "," proof
    const auto attrs = scram::split_attributes(message);
    if (!attrs || attrs->size() < 3) return fail(scram_error::malformed);
    const auto& a = *attrs;
    if (a[0].name != "c" || a[1].name != "r" || a.back().name != "p")
        return fail(scram_error::malformed);
    const auto binding = base64_decode(a[0].value);
    if (!binding) return fail(scram_error::malformed);
    // Without channel binding the c= attribute is exactly the gs2 header.
    if (!constant_time_equal(*binding, as_bytes(gs2_header_)))
        return fail(scram_error::channel_binding_mismatch);
    const std::string_view sent = a[1].value;
    const bool nonce_ok = sent == nonce_ || (options_.nonce_suffix_match && sent.size() > nonce_.size() &&
                                              sent.substr(sent.size() - nonce_.size()) == nonce_);
    if (!nonce_ok) return fail(scram_error::nonce_mismatch);
    const auto proof = base64_decode(a.back().value);
    if (!proof || proof->size() != 32) return fail(scram_error::malformed);

    // "c=...,r=...[,ext]" is everything before ",p=".
    const std::size_t proof_at = static_cast<std::size_t>(a.back().value.data() - message.data());
    const std::string_view without_proof = message.substr(0, proof_at - 3);
    const std::string auth_message =
        client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);

    // ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); valid when H(ClientKey) is
    // StoredKey.
    bytes client_key = hmac_sha256(credentials_.stored_key, as_bytes(auth_message));
    for (std::size_t i = 0; i < client_key.size(); ++i) client_key[i] ^= (*proof)[i];
    const bool proof_ok = constant_time_equal(sha256(client_key), credentials_.stored_key);
    if (!proof_ok || fake_user_) return fail(scram_error::invalid_proof);

    const bytes server_signature = hmac_sha256(credentials_.server_key, as_bytes(auth_message));
    username_ = user_;
    state_ = state::done;
    credentials_ = {};
    exchange_store_.reset();
    return {scram_status::success, "v=" + base64_encode(server_signature), scram_error::none};
}

}  // namespace sluice::auth
