#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "broker/kafka_service.hpp"
#include "broker/listener_state.hpp"
#include "broker/tcp_listener.hpp"
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
// Threads: created on, and only touched by, the io thread of its socket (`home`); responses
// completed on other threads are posted there. close_from_any_thread() posts too.
namespace sluice::broker {

class kafka_connection : public std::enable_shared_from_this<kafka_connection> {
  public:
    kafka_connection(kafka_service& svc, listener_state& listener, tcp_socket socket);
    ~kafka_connection();
    kafka_connection(const kafka_connection&) = delete;
    kafka_connection& operator=(const kafka_connection&) = delete;

    void start();
    void close_from_any_thread();

  private:
    // One request's place in the response order.
    struct slot {
        bool ready = false;
        kafka::response_frame frame;
    };

    void do_read();
    void on_readable(const boost::system::error_code& ec);
    // Decodes and dispatches buffered frames while the limits allow; false once closed.
    bool handle_frames();
    bool may_read() const;
    void dispatch(kafka::request req);
    std::uint64_t open_slot();
    void complete(std::uint64_t seq, kafka::response_frame frame);
    void do_write();
    void maybe_resume();
    void close(const std::string& why);

    kafka_service& svc_;
    listener_state& listener_;
    tcp_socket socket_;
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
};

}  // namespace sluice::broker
