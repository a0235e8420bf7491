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

namespace sluice::broker {

namespace asio = boost::asio;

namespace {
constexpr std::size_t read_chunk = 64 * 1024;
}  // namespace

kafka_connection::kafka_connection(kafka_service& svc, listener_state& listener,
                                   tcp_socket socket)
    : svc_(svc), listener_(listener), socket_(std::move(socket)) {
    listener_.open.fetch_add(1, std::memory_order_relaxed);
}

kafka_connection::~kafka_connection() {
    listener_.open.fetch_sub(1, std::memory_order_relaxed);
    svc_.remove_connection(this);
}

void kafka_connection::start() {
    boost::system::error_code ec;
    auto peer = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("unknown peer")
               : peer.address().to_string() + ":" + std::to_string(peer.port());
    auto local = socket_.local_endpoint(ec);
    if (!ec) self_ = {local.address().to_string(), local.port()};
    socket_.non_blocking(true, ec);
    if (ec) return close("non_blocking: " + ec.message());
    svc_.add_connection(shared_from_this());
    log_debug("kafka ", peer_, ": connected");
    do_read();
}

void kafka_connection::close_from_any_thread() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
        if (!self->closed_) self->close("");
    });
}

bool kafka_connection::may_read() const {
    return !closed_ && slots_.size() < kafka_service::max_pending_requests &&
           out_bytes_ < kafka_service::max_pending_bytes;
}

void kafka_connection::do_read() {
    if (reading_ || !may_read()) return;
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
                dispatch(std::move(d.req));
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
        done = [weak = weak_from_this(), ex = socket_.get_executor(), seq,
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
    kafka_service::context ctx{socket_.get_executor().context(), req.header.client_id.value_or(""),
                               peer_, self_};
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
    maybe_resume();
}

void kafka_connection::maybe_resume() {
    if (closed_ || in_frames_ || reading_ || !may_read()) return;
    // Frames buffered while reading was paused come first.
    if (!handle_frames()) return;
    do_read();
}

void kafka_connection::close(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    if (!why.empty()) log_info("kafka ", peer_, ": ", why, ": closing");
    boost::system::error_code ignored;
    socket_.close(ignored);
    slots_.clear();
    out_.clear();
    out_bytes_ = 0;
}

}  // namespace sluice::broker
