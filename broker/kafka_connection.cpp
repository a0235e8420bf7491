#include "broker/kafka_connection.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include <boost/asio/post.hpp>

#include "broker/log.hpp"
#include "broker/transport_helpers.hpp"

namespace sluice::broker {

namespace asio = boost::asio;

namespace {
constexpr std::size_t read_chunk = 64 * 1024;
// TLS: decrypted bytes per read (a record holds at most 16 KiB), and the most response bytes
// gathered into one write.
constexpr std::size_t tls_read_size = 16 * 1024;
constexpr std::size_t tls_write_chunk = 64 * 1024;
}  // namespace

kafka_connection::kafka_connection(kafka_service& svc, listener_state& listener,
                                   tcp_socket socket, std::shared_ptr<ssl_context> tls)
    : svc_(svc),
      listener_(listener),
      socket_(std::move(socket)),
      tls_ctx_(std::move(tls)),
      allow_anonymous_(listener_allows_anonymous(listener.settings)) {
    if (tls_ctx_)
        tls_ = std::make_unique<asio::ssl::stream<tcp_socket>>(std::move(socket_), *tls_ctx_);
    listener_.open.fetch_add(1, std::memory_order_relaxed);
}

kafka_connection::~kafka_connection() {
    listener_.open.fetch_sub(1, std::memory_order_relaxed);
    svc_.remove_connection(this);
}

void kafka_connection::start() {
    boost::system::error_code ec;
    auto peer = sock().remote_endpoint(ec);
    peer_ = ec ? std::string("unknown peer")
               : peer.address().to_string() + ":" + std::to_string(peer.port());
    auto local = sock().local_endpoint(ec);
    if (!ec) self_ = {local.address().to_string(), local.port()};
    svc_.add_connection(shared_from_this());
    log_debug("kafka ", peer_, ": connected");
    if (tls_) {
        // A client that stalls in the handshake is closed (it holds a connection slot).
        timer().expires_after(tls_handshake_limit);
        timer().async_wait([weak = weak_from_this()](const boost::system::error_code& e) {
            auto self = weak.lock();
            if (e || !self || self->tls_ready_ || self->closed_) return;
            self->close("TLS handshake not completed in time");
        });
        tls_->async_handshake(asio::ssl::stream_base::server,
                              [self = shared_from_this()](const boost::system::error_code& e) {
                                  self->on_tls_handshake(e);
                              });
        return;
    }
    socket_.non_blocking(true, ec);
    if (ec) return close("non_blocking: " + ec.message());
    do_read();
}

void kafka_connection::on_tls_handshake(const boost::system::error_code& ec) {
    if (closed_) return;
    if (ec) {
        log_info("kafka ", peer_, ": TLS handshake failed: ",
                 tls_handshake_failure(tls_->native_handle(), ec));
        return close("");
    }
    tls_ready_ = true;
    timer().cancel();
    const std::string identity = tls_peer_identity(tls_->native_handle());
    if (!identity.empty()) {
        log_debug("kafka ", peer_, ": TLS client certificate for ", identity);
        // The verified certificate is the credential: its name is the user (docs/security.md).
        if (listener_.settings.use_identity_as_username) sasl().set_identity(identity);
    }
    do_read();
}

void kafka_connection::close_from_any_thread() {
    asio::post(sock().get_executor(), [self = shared_from_this()] {
        if (!self->closed_) self->close("");
    });
}

bool kafka_connection::may_read() const {
    return !closed_ && !auth_wait_ && !closing_ && slots_.size() < kafka_service::max_pending_requests &&
           out_bytes_ < kafka_service::max_pending_bytes;
}

void kafka_connection::do_read() {
    if (reading_) return;
    if (!may_read()) {
        // Paused (requests or response bytes at their limit, a password check, closing):
        // nothing waits on the socket and the requests in flight hold only weak references,
        // so the connection holds itself until it reads again or closes. Without this it was
        // destroyed here, closing the socket silently under a client's pipelined requests.
        if (!closed_) paused_self_ = shared_from_this();
        return;
    }
    paused_self_.reset();  // the read wait below holds it from here
    if (tls_) {
        if (!tls_ready_) return;
        reading_ = true;
        if (!tls_rbuf_) tls_rbuf_ = std::make_unique<std::uint8_t[]>(tls_read_size);
        tls_->async_read_some(asio::buffer(tls_rbuf_.get(), tls_read_size),
                              [self = shared_from_this()](const boost::system::error_code& ec,
                                                          std::size_t n) {
                                  self->reading_ = false;
                                  self->on_tls_read(ec, n);
                              });
        return;
    }
    reading_ = true;
    // As the MQTT driver: wait for readability, then read into the thread's scratch buffer.
    socket_.async_wait(asio::ip::tcp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                           self->reading_ = false;
                           self->on_readable(ec);
                       });
}

void kafka_connection::on_readable(const boost::system::error_code& wait_ec) {
    if (closed_) return;
    if (wait_ec) return close(wait_ec == asio::error::operation_aborted ? "" : wait_ec.message());
    thread_local std::array<std::uint8_t, read_chunk> scratch;
    for (int round = 0; round < 4 && may_read(); ++round) {
        boost::system::error_code ec;
        std::size_t n = socket_.read_some(asio::buffer(scratch), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) break;
        if (ec == asio::error::eof) return close("");
        if (ec) return close("read: " + ec.message());
        frames_.feed(std::span<const std::uint8_t>(scratch.data(), n));
        if (!handle_frames()) return;
        if (n < scratch.size()) break;
    }
    do_read();
}

void kafka_connection::on_tls_read(const boost::system::error_code& ec, std::size_t n) {
    if (closed_) return;
    if (ec) return close(expected_stream_error(ec) ? "" : "read: " + ec.message());
    frames_.feed(std::span<const std::uint8_t>(tls_rbuf_.get(), n));
    if (!handle_frames()) return;
    do_read();
}

bool kafka_connection::handle_frames() {
    // Synchronous answers complete inside this loop and call maybe_resume(): the loop itself
    // goes on with the next frame, so that must not recurse.
    struct guard {
        bool& flag;
        ~guard() { flag = false; }
    };
    in_frames_ = true;
    guard g{in_frames_};
    while (may_read()) {
        kafka::byte_span frame;
        auto st = frames_.next(frame);
        if (st == kafka::frame_splitter::status::need_more) return true;
        if (st == kafka::frame_splitter::status::error) {
            log_warn("kafka ", peer_, ": request size ", frames_.bad_size(),
                     " is negative or over the maximum of ", kafka_service::max_frame_bytes,
                     " bytes: closing");
            close("");
            return false;
        }
        if (sasl_ && sasl_->raw_tokens()) {
            // After a SaslHandshake v0 the frames of the exchange are bare tokens.
            if (!on_sasl_token(std::nullopt, std::string(frame.begin(), frame.end()))) return false;
            continue;
        }
        auto d = kafka::decode_request(frame);
        switch (d.action) {
            case kafka::dispatch_action::close:
                log_warn("kafka ", peer_, ": ", d.describe(), ": closing");
                close("");
                return false;
            case kafka::dispatch_action::respond:
                log_debug("kafka ", peer_, ": ", d.describe(), ": answered");
                complete(open_slot(), std::move(d.reply));
                break;
            case kafka::dispatch_action::handle:
                if (std::holds_alternative<kafka::sasl_handshake_request>(d.req.body)) {
                    if (!on_sasl_handshake(d.req)) return false;
                } else if (auto* a = std::get_if<kafka::sasl_authenticate_request>(&d.req.body)) {
                    if (!on_sasl_token(d.req.header,
                                       std::string(a->auth_bytes.begin(), a->auth_bytes.end())))
                        return false;
                } else if (!may_proceed() &&
                           !std::holds_alternative<kafka::api_versions_request>(d.req.body)) {
                    refuse_unauthenticated(d.req);
                    return false;
                } else {
                    dispatch(std::move(d.req));
                }
                break;
        }
        if (closed_) return false;
    }
    return true;
}

std::uint64_t kafka_connection::open_slot() {
    slots_.emplace_back();
    return first_seq_ + slots_.size() - 1;
}

void kafka_connection::dispatch(kafka::request req) {
    const auto* produce = std::get_if<kafka::produce_request>(&req.body);
    const bool answered = !(produce && produce->acks == 0);
    kafka_service::done_fn done;
    if (answered) {
        const std::uint64_t seq = open_slot();
        done = [weak = weak_from_this(), ex = sock().get_executor(), seq,
                header = req.header](kafka::response_body body) {
            // Encoded where it completes (writer, reader or io thread); sent in order at home.
            auto frame = kafka::encode_response(header, body);
            asio::post(ex, [weak, seq, frame = std::move(frame)]() mutable {
                if (auto self = weak.lock()) self->complete(seq, std::move(frame));
            });
        };
    } else {
        done = [](kafka::response_body) {};
    }
    kafka_service::context ctx{sock().get_executor().context(), req.header.client_id.value_or(""),
                               peer_, self_, acl_user(), listener_.auth};
    svc_.handle(std::move(req), ctx, std::move(done));
}

void kafka_connection::complete(std::uint64_t seq, kafka::response_frame frame) {
    if (closed_ || seq < first_seq_ || seq - first_seq_ >= slots_.size()) return;
    auto& s = slots_[seq - first_seq_];
    s.frame = std::move(frame);
    s.ready = true;
    // Responses leave in request order: only a ready head moves to the send queue.
    while (!slots_.empty() && slots_.front().ready) {
        for (auto& p : slots_.front().frame.pieces) {
            out_bytes_ += kafka::piece_size(p);
            out_.push_back(std::move(p));
        }
        slots_.pop_front();
        ++first_seq_;
    }
    do_write();
}

void kafka_connection::do_write() {
    if (closed_ || write_waiting_) return;
    if (tls_) return do_tls_write();
    const int fd = socket_.native_handle();
    while (!out_.empty()) {
        auto& front = out_.front();
        const std::uint64_t size = kafka::piece_size(front);
        ssize_t n = 0;
        if (size == out_offset_) {
            n = 0;
        } else if (const auto* b = std::get_if<kafka::byte_buffer>(&front)) {
            const int more = out_.size() > 1 ? MSG_MORE : 0;
            n = ::send(fd, b->data() + out_offset_, size - out_offset_, MSG_NOSIGNAL | more);
        } else {
            const auto& r = std::get<store::file_range>(front);
            off_t pos = static_cast<off_t>(r.position + out_offset_);
            if (listener_.settings.sendfile) {
                n = ::sendfile(fd, r.fd(), &pos, size - out_offset_);
            } else {
                // The diagnostic copy path (listener key "sendfile": false): through a buffer.
                thread_local std::vector<std::uint8_t> copy(256u << 10);
                const auto want = std::min<std::uint64_t>(size - out_offset_, copy.size());
                n = ::pread(r.fd(), copy.data(), want, pos);
                if (n > 0) n = ::send(fd, copy.data(), static_cast<std::size_t>(n), MSG_NOSIGNAL);
            }
            if (n == 0) return close("sendfile: segment file shorter than its range");
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                write_waiting_ = true;
                socket_.async_wait(asio::ip::tcp::socket::wait_write,
                                   [self = shared_from_this()](const boost::system::error_code& ec) {
                                       self->write_waiting_ = false;
                                       if (self->closed_) return;
                                       if (ec) return self->close("wait for write: " + ec.message());
                                       self->do_write();
                                   });
                return;
            }
            const int err = errno;
            const bool quiet = err == EPIPE || err == ECONNRESET;
            return close(quiet ? "" : std::string("write: ") + std::strerror(err));
        }
        out_offset_ += static_cast<std::uint64_t>(n);
        out_bytes_ -= static_cast<std::uint64_t>(n);
        if (out_offset_ == size) {
            out_.pop_front();
            out_offset_ = 0;
        }
    }
    if (closing_ && slots_.empty()) return close("");
    maybe_resume();
}

void kafka_connection::do_tls_write() {
    if (!tls_ready_) return;
    // Gather what is queued, up to one chunk: owned bytes copied, file ranges read.
    tls_wbuf_.clear();
    std::uint64_t skip = out_offset_;
    for (const auto& p : out_) {
        if (tls_wbuf_.size() >= tls_write_chunk) break;
        const std::uint64_t size = kafka::piece_size(p);
        const std::size_t want = static_cast<std::size_t>(
            std::min<std::uint64_t>(size - skip, tls_write_chunk - tls_wbuf_.size()));
        const std::size_t at = tls_wbuf_.size();
        tls_wbuf_.resize(at + want);
        if (const auto* b = std::get_if<kafka::byte_buffer>(&p)) {
            std::memcpy(tls_wbuf_.data() + at, b->data() + skip, want);
        } else {
            const auto& r = std::get<store::file_range>(p);
            std::size_t got = 0;
            while (got < want) {
                ssize_t n = ::pread(r.fd(), tls_wbuf_.data() + at + got, want - got,
                                    static_cast<off_t>(r.position + skip + got));
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0)
                    return close(n == 0 ? "segment file shorter than its range"
                                        : std::string("read segment: ") + std::strerror(errno));
                got += static_cast<std::size_t>(n);
            }
        }
        skip = 0;
    }
    if (tls_wbuf_.empty()) {
        consume_sent(0);  // drops empty pieces
        if (closing_ && slots_.empty()) return close("");
        return maybe_resume();
    }
    write_waiting_ = true;
    asio::async_write(*tls_, asio::buffer(tls_wbuf_),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                          self->write_waiting_ = false;
                          if (self->closed_) return;
                          if (ec)
                              return self->close(expected_stream_error(ec) ? ""
                                                                           : "write: " + ec.message());
                          self->consume_sent(n);
                          self->do_write();
                      });
}

void kafka_connection::consume_sent(std::uint64_t n) {
    while (!out_.empty()) {
        const std::uint64_t left = kafka::piece_size(out_.front()) - out_offset_;
        const std::uint64_t take = std::min(left, n);
        out_offset_ += take;
        out_bytes_ -= take;
        n -= take;
        if (take < left) break;
        out_.pop_front();
        out_offset_ = 0;
    }
}

void kafka_connection::maybe_resume() {
    if (closed_ || in_frames_ || reading_ || !may_read()) return;
    // Frames buffered while reading was paused come first.
    if (!handle_frames()) return;
    do_read();
}

void kafka_connection::close_when_sent() {
    closing_ = true;
    if (slots_.empty() && out_.empty()) close("");
}

void kafka_connection::close(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    if (timer_) timer_->cancel();
    if (!why.empty()) log_info("kafka ", peer_, ": ", why, ": closing");
    boost::system::error_code ignored;
    sock().close(ignored);
    // Every caller runs from a handler that holds a reference of its own: this is never the last.
    paused_self_.reset();
    slots_.clear();
    out_.clear();
    out_bytes_ = 0;
}

}  // namespace sluice::broker
