#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>

#include "loadtest/mqtt/options.hpp"

namespace boost::asio::ssl {
class context;
}

namespace sluice::bench {

// One client's byte stream to the broker, whatever the transport (`--tls`, `--ws`, `--wss`,
// else plain TCP), so the same client runs every scenario over each. The client opens, binds
// and connects socket() itself, then calls async_handshake (TLS handshake and/or WebSocket
// upgrade on path --ws-path with subprotocol `mqtt`; nothing for plain TCP); after that, reads
// return MQTT bytes and each write goes out whole (over WebSocket as one binary frame).
//
// Threads: the worker's single io_context thread only. One read and one write at a time.
class client_stream {
public:
    using done_handler = std::function<void(const boost::system::error_code&)>;
    using io_handler = std::function<void(const boost::system::error_code&, std::size_t)>;

    virtual ~client_stream() = default;
    virtual boost::asio::ip::tcp::socket& socket() = 0;
    virtual void async_handshake(done_handler h) = 0;
    virtual void async_read_some(boost::asio::mutable_buffer b, io_handler h) = 0;
    virtual void async_write(boost::asio::const_buffer b, io_handler h) = 0;
};

// Makes the streams of one worker process; holds the TLS client context they share (built in
// the worker, after the fork).
class stream_factory {
public:
    // Throws std::runtime_error naming the file or setting that is unusable.
    explicit stream_factory(const options& o);
    ~stream_factory();
    std::unique_ptr<client_stream> make(boost::asio::io_context& io) const;

private:
    const options& opt_;
    std::unique_ptr<boost::asio::ssl::context> tls_;
};

// Checks the TLS files and settings of `o` by building a context once (the coordinator does,
// before it forks): empty when usable, else why not.
std::string check_transport(const options& o);

}  // namespace sluice::bench
