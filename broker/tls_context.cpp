#include "broker/tls_context.hpp"

#include <fstream>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace sluice::broker {

namespace {

// OpenSSL's reason for the last failure (and clears its error queue).
std::string openssl_reason() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out = buf;  // the last one is the most specific
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

[[noreturn]] void fail(const std::string& key, const std::string& message) {
    ERR_clear_error();
    throw config_error{"config key " + key + ": " + message};
}

void check_readable(const std::string& key, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(key, "cannot read " + path);
}

}  // namespace

std::shared_ptr<ssl_context> make_tls_context(const listener_settings& l) {
    const tls_settings& t = l.tls;
    const std::string key = "listeners." + l.name;
    if (t.cert.empty()) fail(key + ".cert", "a tls listener needs a certificate");
    if (t.key.empty()) fail(key + ".key", "a tls listener needs a private key");
    check_readable(key + ".cert", t.cert);
    check_readable(key + ".key", t.key);
    if (!t.ca.empty()) check_readable(key + ".ca", t.ca);

    auto ctx = std::make_shared<ssl_context>(ssl_context::tls_server);
    SSL_CTX* c = ctx->native_handle();
    ctx->set_options(ssl_context::default_workarounds | ssl_context::no_sslv2 |
                     ssl_context::no_sslv3 | ssl_context::no_tlsv1 | ssl_context::no_tlsv1_1 |
                     ssl_context::single_dh_use);
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (!SSL_CTX_set_min_proto_version(c, t.min_tls13 ? TLS1_3_VERSION : TLS1_2_VERSION))
        fail(key + ".min_version", openssl_reason());
    // Release the 34 KB of read/write buffers of an idle connection (OpenSSL's own ones).
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);

    if (SSL_CTX_use_certificate_chain_file(c, t.cert.c_str()) != 1)
        fail(key + ".cert", "not a usable PEM certificate in " + t.cert + ": " + openssl_reason());
    if (SSL_CTX_use_PrivateKey_file(c, t.key.c_str(), SSL_FILETYPE_PEM) != 1) {
        // OpenSSL compares the key with the certificate as it loads it.
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
            fail(key + ".key", t.key + " does not match the certificate " + t.cert);
        fail(key + ".key", "not a usable PEM private key in " + t.key + ": " + openssl_reason());
    }
    if (SSL_CTX_check_private_key(c) != 1)
        fail(key + ".key", t.key + " does not match the certificate " + t.cert);

    if (!t.ca.empty()) {
        if (SSL_CTX_load_verify_locations(c, t.ca.c_str(), nullptr) != 1)
            fail(key + ".ca", "not a usable PEM CA bundle in " + t.ca + ": " + openssl_reason());
        // The CA names sent in the CertificateRequest, so clients pick a matching certificate.
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(t.ca.c_str()))
            SSL_CTX_set_client_CA_list(c, names);
    }
    int mode = SSL_VERIFY_NONE;
    if (t.client_auth == tls_client_auth::optional) mode = SSL_VERIFY_PEER;
    if (t.client_auth == tls_client_auth::required)
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(c, mode, nullptr);
    // Needed for session resumption when client certificates are verified.
    static const unsigned char sid_ctx[] = "sluice";
    SSL_CTX_set_session_id_context(c, sid_ctx, sizeof sid_ctx - 1);

    if (!t.ciphers.empty() && SSL_CTX_set_cipher_list(c, t.ciphers.c_str()) != 1)
        fail(key + ".ciphers", "no usable cipher in \"" + t.ciphers + "\"");
    if (!t.ciphersuites.empty() && SSL_CTX_set_ciphersuites(c, t.ciphersuites.c_str()) != 1)
        fail(key + ".ciphersuites", "no usable TLS 1.3 suite in \"" + t.ciphersuites + "\"");
    if (!t.groups.empty() && SSL_CTX_set1_groups_list(c, t.groups.c_str()) != 1)
        fail(key + ".groups", "unknown group in \"" + t.groups + "\"");
    ERR_clear_error();
    return ctx;
}

std::string tls_peer_identity(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return {};
    std::string out;
    if (SSL_get_verify_result(ssl) == X509_V_OK) {
        X509_NAME* subject = X509_get_subject_name(cert);
        int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (i >= 0) {
            ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
            unsigned char* utf8 = nullptr;
            int n = ASN1_STRING_to_UTF8(&utf8, cn);
            if (n > 0) out.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
            OPENSSL_free(utf8);
        }
        if (out.empty()) {
            auto* sans = static_cast<GENERAL_NAMES*>(
                X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
            for (int k = 0; sans && k < sk_GENERAL_NAME_num(sans) && out.empty(); ++k) {
                const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, k);
                if (g->type == GEN_DNS || g->type == GEN_EMAIL) {
                    const ASN1_IA5STRING* s = g->d.ia5;
                    out.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                               static_cast<std::size_t>(ASN1_STRING_length(s)));
                }
            }
            GENERAL_NAMES_free(sans);
        }
    }
    X509_free(cert);
    return out;
}

}  // namespace sluice::broker
