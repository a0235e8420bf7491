#include "broker/http_server.hpp"

#include <chrono>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "broker/http_api.hpp"
#include "broker/log.hpp"

namespace sluice::broker {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t body_limit = 1024 * 1024;        // a request body (topic creation is tiny)
constexpr std::uint32_t header_limit = 16 * 1024;      // request line and headers
constexpr auto idle_timeout = std::chrono::seconds(60);  // a keep-alive connection with no request
constexpr std::size_t max_connections_default = 256;

class http_connection;

// Where answers computed on other threads (password checks) are posted back to: the
// listener's io_context until stop() closes the gate, then nowhere (the check's result is
// dropped with the connection).
struct post_gate {
    std::mutex mu;  // guards ctx
    asio::io_context* ctx = nullptr;
    template <class Fn>
    void post(Fn fn) {
        std::lock_guard lock(mu);
        if (ctx) asio::post(*ctx, std::move(fn));
    }
    void close() {
        std::lock_guard lock(mu);
        ctx = nullptr;
    }
};

// What every connection of the listener shares.
struct shared_state {
    http_api& api;
    std::size_t max_connections;
    std::list<std::weak_ptr<http_connection>> connections;  // listener thread only
    std::shared_ptr<post_gate> gate;
};

// One HTTP/1.1 connection: read a request, answer it, repeat while keep-alive; or turn into a
// live-stats event stream (one `data:` line per second until the client goes).
class http_connection : public std::enable_shared_from_this<http_connection> {
  public:
    http_connection(tcp::socket s, shared_state& shared)
        : stream_(std::move(s)), shared_(shared), timer_(stream_.get_executor()) {}

    void start() { do_read(); }
    void close() {
        beast::error_code ec;
        timer_.cancel();
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.close();
    }

  private:
    void do_read() {
        parser_.emplace();
        parser_->body_limit(body_limit);
        parser_->header_limit(header_limit);
        stream_.expires_after(idle_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_read(ec);
                         });
    }

    void on_read(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
            ec == asio::error::eof)
            return close();
        if (ec) {
            // A request we cannot parse: say why, in JSON, and close (the stream is unusable).
            const int status = ec == http::error::body_limit     ? 413
                               : ec == http::error::header_limit ? 431
                                                                 : 400;
            auto r = json_error(status, "bad request: " + ec.message());
            return send(std::move(r), /*keep_alive=*/false, 11);
        }
        auto& req = parser_->get();
        http_request in;
        in.method = std::string(req.method_string());
        in.body = std::move(req.body());
        if (auto it = req.find(http::field::authorization); it != req.end())
            in.authorization = std::string(it->value());
        if (!parse_target(req.target(), in.path, in.query))
            return send(json_error(400, "bad request target"), false, req.version());
        if (!shared_.api.needs_authentication(in)) return answer(in);
        // Held for the failed-login limiter's delay first (a guesser waits, not the CPU), then
        // checked, maybe on a verifier thread; nothing is read meanwhile.
        const auto delay = shared_.api.admin()->delay_for(peer());
        if (delay > std::chrono::steady_clock::duration::zero()) {
            log_debug("admin API: delaying the request of ", peer(), " for ",
                      std::chrono::duration_cast<std::chrono::milliseconds>(delay).count(),
                      " ms (failed logins)");
            timer_.expires_after(delay);
            timer_.async_wait([self = shared_from_this(), in = std::move(in)](beast::error_code ec) {
                if (!ec) self->authenticate(in);
            });
            return;
        }
        authenticate(in);
    }

    void authenticate(const http_request& in) {
        shared_.api.admin()->check(
            in.authorization, peer(),
            [self = shared_from_this(), gate = shared_.gate, in](admin_verdict v) mutable {
                gate->post([self, v, in = std::move(in)] {
                    if (v == admin_verdict::allowed) return self->answer(in);
                    self->send(http_api::refusal(v), self->parser_->get().keep_alive(),
                               self->parser_->get().version());
                });
            });
    }

    void answer(const http_request& in) {
        auto& req = parser_->get();
        auto out = shared_.api.handle(in);
        if (out.event_stream) return start_stream();
        const bool head = req.method() == http::verb::head;
        if (head) out.body.clear();
        send(std::move(out), req.keep_alive(), req.version());
    }

    std::string peer() {
        beast::error_code ec;
        auto ep = stream_.socket().remote_endpoint(ec);
        return ec ? std::string("unknown") : ep.address().to_string();
    }

    void send(http_response r, bool keep_alive, unsigned version) {
        auto res = std::make_shared<http::response<http::string_body>>(
            static_cast<http::status>(r.status), version);
        res->set(http::field::server, "sluice");
        res->set(http::field::content_type, r.content_type);
        res->set(http::field::cache_control, "no-store");
        for (auto& [k, v] : r.headers) res->set(k, v);
        res->body() = std::move(r.body);
        res->keep_alive(keep_alive);
        res->prepare_payload();
        http::async_write(stream_, *res,
                          [self = shared_from_this(), res, keep_alive](beast::error_code ec,
                                                                       std::size_t) {
                              if (ec || !keep_alive) return self->close();
                              self->do_read();
                          });
    }

    // --- the live-stats stream (Server-Sent Events) ------------------------------------------
    void start_stream() {
        stream_.expires_never();
        out_ =
            "HTTP/1.1 200 OK\r\nServer: sluice\r\nContent-Type: text/event-stream\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
            "retry: 2000\n\n";
        out_ += "data: " + shared_.api.live_event(live_) + "\n\n";
        write_stream();
    }
    void write_stream() {
        asio::async_write(stream_.socket(), asio::buffer(out_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->timer_.expires_after(std::chrono::seconds(1));
                              self->timer_.async_wait([self](beast::error_code ec) {
                                  if (ec) return;
                                  self->out_ = "data: " + self->shared_.api.live_event(self->live_) +
                                               "\n\n";
                                  self->write_stream();
                              });
                          });
    }

    beast::tcp_stream stream_;
    shared_state& shared_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    asio::steady_timer timer_;  // the event stream's one-second tick
    live_state live_;
    std::string out_;
};

}  // namespace

struct http_server::impl {
    listener_settings settings;
    asio::io_context ctx{1};
    tcp::acceptor acceptor{ctx};
    shared_state shared;
    std::thread thread;

    impl(const listener_settings& s, http_api& api)
        : settings(s),
          shared{api, s.max_connections ? s.max_connections : max_connections_default, {},
                 std::make_shared<post_gate>()} {
        shared.gate->ctx = &ctx;
    }

    void do_accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
            if (ec == asio::error::operation_aborted) return;
            if (!ec) {
                std::erase_if(shared.connections, [](const auto& w) { return w.expired(); });
                if (shared.connections.size() >= shared.max_connections) {
                    log_warn(settings.name, " listener: ", shared.max_connections,
                             " connections open; refusing one");
                    beast::error_code ignored;
                    s.close(ignored);
                } else {
                    auto c = std::make_shared<http_connection>(std::move(s), shared);
                    shared.connections.push_back(c);
                    c->start();
                }
            } else {
                log_warn(settings.name, " listener: accept failed: ", ec.message());
            }
            do_accept();
        });
    }
};

http_server::http_server(const listener_settings& settings, http_api& api)
    : impl_(std::make_unique<impl>(settings, api)) {
    auto& d = *impl_;
    beast::error_code ec;
    auto addr = asio::ip::make_address(settings.address.host == "localhost" ? "127.0.0.1"
                                                                            : settings.address.host,
                                       ec);
    if (ec)
        throw std::runtime_error(settings.name + " listener: bad address " +
                                 settings.address.host + ": " + ec.message());
    tcp::endpoint ep(addr, settings.address.port);
    d.acceptor.open(ep.protocol(), ec);
    if (!ec) d.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) d.acceptor.bind(ep, ec);
    if (!ec) d.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error(settings.name + " listener: cannot listen on " +
                                 settings.address.host + ":" +
                                 std::to_string(settings.address.port) + ": " + ec.message());
}

http_server::~http_server() { stop(); }

const std::string& http_server::name() const { return impl_->settings.name; }

tcp::endpoint http_server::local_endpoint() const { return impl_->acceptor.local_endpoint(); }

void http_server::start() {
    impl_->do_accept();
    impl_->thread = std::thread([this] { impl_->ctx.run(); });
}

void http_server::stop() {
    auto& d = *impl_;
    d.shared.gate->close();  // password checks finishing later post nowhere
    if (!d.thread.joinable()) return;
    asio::post(d.ctx, [&d] {
        beast::error_code ec;
        d.acceptor.close(ec);
        for (auto& w : d.shared.connections)
            if (auto c = w.lock()) c->close();
        d.shared.connections.clear();
    });
    // The connections' handlers finish with operation_aborted; then run() has no work left.
    // A stop() also ends it if some handler were still pending.
    asio::post(d.ctx, [&d] { d.ctx.stop(); });
    d.thread.join();
}

}  // namespace sluice::broker
