#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/kafka_sasl.hpp"
#include "broker/kafka_service.hpp"
#include "broker/listener_state.hpp"
#include "broker/tcp_listener.hpp"
#include "broker/tls_context.hpp"
#include "kafka/dispatch.hpp"
#include "kafka/frame.hpp"

// One Kafka client connection (docs/kafka-protocol.md, "The listener"): reads frames
// (frame_splitter with kafka_service::max_frame_bytes; a malformed or oversize frame is logged
// and the connection closed), decodes each request and hands it to the kafka_service, and
// sends the responses in request order even when later requests complete first (long-poll
// Fetch, group requests). Owned bytes go out with send(2), Fetch record file ranges with
// sendfile(2) straight from the segment file; on EAGAIN it waits for writability. With
// max_pending_requests unanswered or max_pending_bytes unsent it stops reading.
//
// Over TLS (a `kafka-tls` listener) the handshake comes first, bounded by
// tls_handshake_limit; then reads go through the stream into a buffer of the connection's own,
// and writes gather up to 64 KiB of responses at a time into another, copying record file
// ranges with pread(2): sendfile cannot go through TLS.
//
// Authentication (kafka_connection_auth.cpp, docs/security.md "The Kafka listener"):
// SaslHandshake and SaslAuthenticate (or raw tokens after a v0 handshake) are answered here
// through a kafka_sasl; a PLAIN password is checked on auth_service's verifier threads while
// reading pauses. Until it is authenticated, a connection on a listener that does not allow
// anonymous clients may send only ApiVersions and the SASL requests; anything else closes it.
//
// Threads: created on, and only touched by, the io thread of its socket (`home`); responses
// completed on other threads are posted there. close_from_any_thread() posts too.
namespace sluice::broker {

class kafka_connection : public std::enable_shared_from_this<kafka_connection> {
  public:
    // `tls` null: plain TCP; otherwise the listener's current TLS context.
    kafka_connection(kafka_service& svc, listener_state& listener, tcp_socket socket,
                     std::shared_ptr<ssl_context> tls = nullptr);
    ~kafka_connection();
    kafka_connection(const kafka_connection&) = delete;
    kafka_connection& operator=(const kafka_connection&) = delete;

    void start();
    void close_from_any_thread();

    // How long a TLS client has to complete its handshake.
    static constexpr std::chrono::seconds tls_handshake_limit{10};

  private:
    // One request's place in the response order.
    struct slot {
        bool ready = false;
        kafka::response_frame frame;
    };

    tcp_socket& sock() { return tls_ ? tls_->next_layer() : socket_; }
    void do_read();
    void on_readable(const boost::system::error_code& ec);
    void on_tls_handshake(const boost::system::error_code& ec);
    void on_tls_read(const boost::system::error_code& ec, std::size_t n);
    void do_tls_write();
    void consume_sent(std::uint64_t n);
    // Decodes and dispatches buffered frames while the limits allow; false once closed.
    bool handle_frames();
    bool may_read() const;
    void dispatch(kafka::request req);
    std::uint64_t open_slot();
    void complete(std::uint64_t seq, kafka::response_frame frame);
    void do_write();
    void maybe_resume();
    void close(const std::string& why);
    // Stops reading and closes once every response before now has been sent.
    void close_when_sent();

    // Authentication (kafka_connection_auth.cpp). Each returns false once the connection is
    // closed (or closing).
    bool on_sasl_handshake(const kafka::request& req);
    bool on_sasl_token(std::optional<kafka::request_header> header, std::string token);
    void run_sasl_step(std::uint64_t seq, std::optional<kafka::request_header> header,
                       std::string token);
    void finish_sasl_step(std::uint64_t seq, const std::optional<kafka::request_header>& header,
                          kafka_sasl::outcome o);
    void on_password_checked(std::uint64_t seq, std::optional<kafka::request_header> header,
                             bool ok);
    // Authenticated, or anonymous clients are allowed on this listener.
    bool may_proceed() const;
    void refuse_unauthenticated(const kafka::request& req);
    // The user name the ACL sees; nullopt: anonymous.
    std::optional<std::string> acl_user() const;
    kafka_sasl& sasl();
    boost::asio::steady_timer& timer();

    kafka_service& svc_;
    listener_state& listener_;
    tcp_socket socket_;  // plain TCP; moved into tls_ on a TLS listener
    // TLS only. The context is declared first: it must outlive the stream made from it.
    std::shared_ptr<ssl_context> tls_ctx_;
    std::unique_ptr<boost::asio::ssl::stream<tcp_socket>> tls_;
    std::unique_ptr<std::uint8_t[]> tls_rbuf_;  // decrypted bytes in
    std::vector<std::uint8_t> tls_wbuf_;        // one write of gathered response bytes
    bool tls_ready_ = false;                    // handshake done
    kafka::frame_splitter frames_{kafka_service::max_frame_bytes};
    std::string peer_;
    kafka_node_address self_;

    std::deque<slot> slots_;    // unanswered requests, oldest first
    std::uint64_t first_seq_ = 0;  // sequence number of slots_.front()
    std::deque<kafka::piece> out_;  // in order, ready to send
    std::uint64_t out_offset_ = 0;  // bytes of out_.front() already sent
    std::uint64_t out_bytes_ = 0;   // bytes in out_ not yet sent
    bool reading_ = false;          // an async_wait for readability is pending
    bool write_waiting_ = false;    // an async_wait for writability is pending
    bool closed_ = false;
    bool in_frames_ = false;  // handle_frames() is running

    std::unique_ptr<kafka_sasl> sasl_;  // made by the first SASL request (or a TLS identity)
    std::unique_ptr<boost::asio::steady_timer> timer_;  // limiter delays (made on first use)
    bool allow_anonymous_ = false;  // the listener's allow_anonymous (listener_allows_anonymous)
    bool auth_wait_ = false;        // a password check or a limiter delay holds the connection
    bool closing_ = false;          // close_when_sent(): no more reading
    // Set while reading is paused (do_read): the connection's own reference, since nothing
    // else holds one then (completions hold weak references). Cleared on resume and close.
    std::shared_ptr<kafka_connection> paused_self_;
};

}  // namespace sluice::broker
