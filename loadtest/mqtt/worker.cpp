#include "loadtest/mqtt/worker.hpp"

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <istream>
#include <memory>
#include <sstream>
#include <nlohmann/json.hpp>

#include "loadtest/mqtt/client.hpp"
#include "loadtest/mqtt/clock.hpp"
#include "loadtest/mqtt/control_channel.hpp"
#include "loadtest/mqtt/histogram.hpp"
#include "loadtest/mqtt/layout.hpp"
#include "loadtest/mqtt/payload.hpp"
#include "loadtest/mqtt/sequence_tracker.hpp"

namespace sluice::bench {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

asio::steady_timer::time_point at(std::uint64_t ns) {
    return asio::steady_timer::time_point(std::chrono::nanoseconds(ns));
}

// This process's CPU time, to show whether the generator itself was the bottleneck.
double own_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// What both kinds of worker share: the io_context, the command pipe, the rate-limited start
// of connections and the bookkeeping of connection failures.
//
// Threads: the worker process's one thread.
class worker_base : public client_events {
public:
    worker_base(const options& o, int in_fd, int out_fd)
        : opt_(o), streams_(o), commands_(io_, in_fd), out_fd_(out_fd), connect_timer_(io_), tick_timer_(io_) {
        error_code ec;
        const auto addr = asio::ip::make_address(o.host, ec);
        broker_ = asio::ip::tcp::endpoint(ec ? asio::ip::make_address("127.0.0.1") : addr, o.port);
    }

    void on_failed(client& c, const std::string& why) override {
        if (c.ready()) ++dropped_;
        else {
            ++failed_;
            if (pending_connects_ > 0) --pending_connects_;
        }
        if (errors_.size() < 5) errors_.push_back(c.id().client_id + ": " + why);
        after_failure(c);
        start_more();
    }

protected:
    virtual void on_command(const std::string& verb, std::istringstream& args) = 0;
    virtual void after_failure(client&) {}

    void read_commands() {
        asio::async_read_until(commands_, command_buf_, '\n', [this](const error_code& ec, std::size_t) {
            if (ec) {  // the coordinator is gone: stop at once
                io_.stop();
                return;
            }
            std::istream in(&command_buf_);
            std::string line;
            std::getline(in, line);
            std::istringstream args(line);
            std::string verb;
            args >> verb;
            on_command(verb, args);
            if (!finished_) read_commands();
        });
    }

    void reply(const std::string& line) {
        if (!write_line(out_fd_, line)) io_.stop();
    }

    // Starts queued connections no faster than this worker's share of --connect-rate and with
    // at most --max-pending handshakes in flight.
    void start_more() {
        const std::uint64_t now = monotonic_ns();
        const double per_worker_rate = opt_.connect_rate / workers_;
        if (last_refill_ns_ == 0) last_refill_ns_ = now;
        tokens_ = std::min(tokens_ + per_worker_rate * static_cast<double>(now - last_refill_ns_) / 1e9,
                           std::max(1.0, per_worker_rate / 100));
        last_refill_ns_ = now;
        while (!to_start_.empty() && pending_connects_ < opt_.max_pending_connects && tokens_ >= 1) {
            client* c = to_start_.front();
            to_start_.pop_front();
            tokens_ -= 1;
            ++pending_connects_;
            c->start(broker_);
        }
        if (!to_start_.empty() && !connect_timer_armed_) {
            connect_timer_armed_ = true;
            connect_timer_.expires_after(std::chrono::milliseconds(5));
            connect_timer_.async_wait([this](const error_code& ec) {
                connect_timer_armed_ = false;
                if (!ec) start_more();
            });
        }
    }

    void connected_one() {
        if (pending_connects_ > 0) --pending_connects_;
        ++ready_;
        start_more();
    }

    // Every second: a hook for watchdogs.
    void tick() {
        tick_timer_.expires_after(std::chrono::milliseconds(100));
        tick_timer_.async_wait([this](const error_code& ec) {
            if (ec || finished_) return;
            on_tick();
            tick();
        });
    }
    virtual void on_tick() {}

    // Disconnects everything, waits (bounded) for the DISCONNECTs to go out, then stops.
    void finish(std::vector<std::unique_ptr<client>>& clients) {
        finished_ = true;
        for (auto& c : clients) c->disconnect();
        error_code ignored;
        commands_.cancel(ignored);
        connect_timer_.cancel();
        tick_timer_.cancel();
        closing_deadline_ns_ = monotonic_ns() + 2'000'000'000;
        wait_closed(clients);
    }

    void wait_closed(std::vector<std::unique_ptr<client>>& clients) {
        bool all = true;
        for (auto& c : clients) all = all && c->closed();
        if (all || monotonic_ns() >= closing_deadline_ns_) {
            io_.stop();
            return;
        }
        tick_timer_.expires_after(std::chrono::milliseconds(5));
        tick_timer_.async_wait([this, &clients](const error_code&) { wait_closed(clients); });
    }

    nlohmann::json connection_summary(std::size_t total) const {
        return {{"connections", total}, {"ready", ready_}, {"failed", failed_},
                {"dropped", dropped_},  {"errors", errors_}};
    }

    const options& opt_;
    stream_factory streams_;  // the transport of every client of this worker
    asio::io_context io_;
    asio::posix::stream_descriptor commands_;
    asio::streambuf command_buf_;
    int out_fd_;
    asio::ip::tcp::endpoint broker_;
    asio::steady_timer connect_timer_;
    asio::steady_timer tick_timer_;
    bool connect_timer_armed_ = false;
    std::deque<client*> to_start_;
    unsigned pending_connects_ = 0;
    double tokens_ = 1;
    std::uint64_t last_refill_ns_ = 0;
    unsigned workers_ = 1;
    std::uint64_t ready_ = 0;
    std::uint64_t failed_ = 0;
    std::uint64_t dropped_ = 0;
    std::vector<std::string> errors_;
    bool finished_ = false;
    std::uint64_t closing_deadline_ns_ = 0;
};

// --- traffic ------------------------------------------------------------------------------

class traffic_worker final : public worker_base {
public:
    traffic_worker(const options& o, const topic_plan& plan, unsigned workers, unsigned index,
                   int in_fd, int out_fd)
        : worker_base(o, in_fd, out_fd), plan_(plan), deadline_timer_(io_), churn_timer_(io_) {
        workers_ = workers;
        const worker_share share = traffic_share(o, workers, index);
        // Subscribers first: they must all be subscribed before anyone publishes, and the
        // coordinator only says "go" once every worker is ready.
        for (unsigned s : share.subscribers) {
            client::identity id;
            id.kind = client::role::subscriber;
            id.index = s;
            id.unit = plan.subscriber_unit(s);
            id.client_id = client_id(o, 's', s);
            id.topic = plan.subscriber_filter(s);
            id.source = source_address(o, s);
            clients_.push_back(std::make_unique<client>(io_, o, *this, std::move(id), streams_));
        }
        for (unsigned p : share.publishers) {
            client::identity id;
            id.kind = client::role::publisher;
            id.index = p;
            id.client_id = client_id(o, 'p', p);
            id.topic = plan.publisher_topic(p);
            id.source = source_address(o, o.subscribers + p);
            clients_.push_back(std::make_unique<client>(io_, o, *this, std::move(id), streams_));
            ++publishers_;
        }
        subscribers_ = share.subscribers.size();
        // Churn clients live in the last worker, away from the subscribers when there is more
        // than one worker.
        if (o.churn_rate > 0 && index + 1 == workers)
            for (unsigned k = 0; k < o.churn_clients; ++k) {
                client::identity id;
                id.kind = client::role::churner;
                id.index = k;
                id.client_id = client_id(o, 'c', k);
                id.topic = expand_template(o.churn_topic, k);
                id.source = source_address(o, o.subscribers + o.publishers + k);
                clients_.push_back(std::make_unique<client>(io_, o, *this, std::move(id), streams_));
                churners_.push_back(clients_.back().get());
            }
    }

    int run() {
        read_commands();
        for (auto& c : clients_) to_start_.push_back(c.get());
        if (clients_.empty()) reply("ready 0 0");
        start_more();
        tick();
        io_.run();
        return result_written_ ? 0 : 1;
    }

    void on_ready(client&) override {
        connected_one();
        check_connected();
    }

    void after_failure(client& c) override {
        if (!connected_reported_) {
            check_connected();
            return;
        }
        // Publishers that failed before "go" are counted there.
        if (publishing_ && c.id().kind == client::role::publisher && !c.publishing_done())
            on_publisher_done(c);
    }

    void on_publisher_done(client&) override {
        ++publishers_done_;
        check_published();
    }

    void on_message(client& c, const mqtt::publish& p, std::uint64_t now_ns) override {
        ++received_;
        const auto h = payload_header::read(p.payload.data(), p.payload.size());
        if (!h) {
            ++foreign_;
            return;
        }
        if (first_recv_ns_ == 0) first_recv_ns_ = now_ns;
        last_recv_ns_ = now_ns;
        latency_.record(now_ns > h->sent_ns ? (now_ns - h->sent_ns) / 1000 : 0);
        tracker_.on_message(c.id().unit, c.id().index, h->publisher, h->sequence);
        if (draining_ && tracker_.total_unique() >= expected_) drained();
    }

    void on_churned(client&, std::uint64_t ns) override { churn_latency_.record(ns / 1000); }
    void on_acked(client&, std::uint64_t ns) override { ack_latency_.record(ns / 1000); }

private:
    void check_connected() {
        if (connected_reported_ || ready_ + failed_ < clients_.size()) return;
        connected_reported_ = true;
        std::string line = "ready " + std::to_string(ready_) + " " + std::to_string(failed_);
        if (!errors_.empty()) line += " " + errors_.front();
        reply(line);
    }

    void on_command(const std::string& verb, std::istringstream& args) override {
        if (verb == "go") {
            std::uint64_t t0 = 0, deadline = 0;
            args >> t0 >> deadline;
            t0_ns_ = t0;
            deadline_ns_ = deadline;
            cpu_at_go_ = own_cpu_seconds();
            for (auto& c : clients_)
                if (c->id().kind == client::role::publisher) {
                    if (c->ready() && !c->failed()) c->start_publishing(t0, deadline);
                    else ++publishers_done_;
                }
            if (deadline) {
                // A publisher waiting on a stalled socket would not notice the deadline itself.
                deadline_timer_.expires_at(at(deadline));
                deadline_timer_.async_wait([this](const error_code& ec) {
                    if (ec) return;
                    for (auto& c : clients_)
                        if (c->id().kind == client::role::publisher) c->stop_publishing();
                });
            }
            last_progress_ns_ = monotonic_ns();
            publishing_ = true;
            if (!churners_.empty()) churn_step();
            check_published();
        } else if (verb == "drain") {
            stop_churn();
            args >> expected_;
            draining_ = true;
            drain_start_ns_ = monotonic_ns();
            if (subscribers_ == 0 || tracker_.total_unique() >= expected_) drained();
        } else if (verb == "finish") {
            stop_churn();
            finish(clients_);
            write_result();
        }
    }

    // Issues the SUBSCRIBE+UNSUBSCRIBE pairs due by now at --churn-rate since "go", round robin
    // over the churn clients (at most 64 unacknowledged pairs each), until the publishing
    // deadline or "drain"; then again in 5 ms.
    void churn_step() {
        if (churn_stopped_) return;
        const std::uint64_t now = monotonic_ns();
        if (deadline_ns_ && now >= deadline_ns_) return stop_churn();
        const auto due = now > t0_ns_ ? static_cast<std::uint64_t>(
                                            static_cast<double>(now - t0_ns_) / 1e9 * opt_.churn_rate)
                                      : 0;
        while (churn_issued_ < due) {
            client* c = nullptr;
            for (std::size_t tries = 0; tries < churners_.size() && !c; ++tries) {
                client* candidate = churners_[churn_next_++ % churners_.size()];
                if (candidate->ready() && !candidate->failed() && candidate->churn_outstanding() < 64)
                    c = candidate;
            }
            if (!c) break;  // every churner is saturated: the broker is behind
            c->churn();
            ++churn_issued_;
        }
        churn_timer_.expires_after(std::chrono::milliseconds(5));
        churn_timer_.async_wait([this](const error_code& ec) {
            if (!ec) churn_step();
        });
    }

    void stop_churn() {
        churn_stopped_ = true;
        churn_timer_.cancel();
    }

    // Watchdogs: publishers whose acknowledgements stopped coming are given up on after
    // --drain-timeout without progress; draining ends at its timeout or after a quiet spell.
    void on_tick() override {
        const std::uint64_t now = monotonic_ns();
        if (publishing_ && !published_reported_) {
            std::uint64_t progress = 0;
            for (auto& c : clients_) progress += c->sent() + c->acked();
            if (progress != last_progress_) {
                last_progress_ = progress;
                last_progress_ns_ = now;
            } else if (now - last_progress_ns_ > static_cast<std::uint64_t>(opt_.drain_timeout * 1e9)) {
                for (auto& c : clients_) {
                    c->stop_publishing();
                    c->abandon_outstanding();
                }
            }
        }
        if (draining_ && !drained_) {
            const std::uint64_t last = std::max(drain_start_ns_, last_recv_ns_);
            if (now - drain_start_ns_ > static_cast<std::uint64_t>(opt_.drain_timeout * 1e9) ||
                now - last > static_cast<std::uint64_t>(opt_.quiet_timeout * 1e9))
                drained();
        }
    }

    void check_published() {
        if (!publishing_ || published_reported_ || publishers_done_ < publishers_) return;
        published_reported_ = true;
        publish_end_ns_ = monotonic_ns();
        std::uint64_t sent = 0, acked = 0, unacked = 0, expected = 0;
        for (auto& c : clients_) {
            if (c->id().kind != client::role::publisher) continue;
            sent += c->sent();
            acked += c->acked();
            unacked += c->unacked();
            expected += c->sent() * plan_.receivers_of(c->id().index);
        }
        reply("published " + nlohmann::json({{"sent", sent}, {"acked", acked}, {"unacked", unacked},
                                              {"expected", expected}}).dump());
    }

    void drained() {
        if (drained_) return;
        drained_ = true;
        cpu_measured_ = own_cpu_seconds() - cpu_at_go_;
        reply("drained " + std::to_string(tracker_.total_unique()));
    }

    void write_result() {
        nlohmann::json r = connection_summary(clients_.size());
        std::uint64_t sent = 0, acked = 0, unacked = 0, anomalies = 0;
        nlohmann::json by_pub_sent = nlohmann::json::array();
        for (auto& c : clients_) {
            anomalies += c->protocol_anomalies();
            if (c->id().kind != client::role::publisher) continue;
            sent += c->sent();
            acked += c->acked();
            unacked += c->unacked();
            by_pub_sent.push_back({c->id().index, c->sent()});
        }
        nlohmann::json by_pub_recv = nlohmann::json::array();
        for (const auto& [p, counts] : tracker_.per_publisher())
            by_pub_recv.push_back({p, counts.unique, counts.duplicates, counts.reordered});
        r["sent"] = sent;
        r["acked"] = acked;
        r["unacked"] = unacked;
        r["anomalies"] = anomalies;
        r["sent_by_publisher"] = std::move(by_pub_sent);
        r["received"] = received_;
        r["unique"] = tracker_.total_unique();
        r["foreign"] = foreign_;
        r["received_by_publisher"] = std::move(by_pub_recv);
        r["latency_us"] = latency_.to_json();
        r["ack_latency_us"] = ack_latency_.to_json();
        r["publish_end_ns"] = publish_end_ns_;
        r["first_recv_ns"] = first_recv_ns_;
        r["last_recv_ns"] = last_recv_ns_;
        r["cpu_s"] = cpu_measured_;
        if (!churners_.empty()) {
            std::uint64_t sent = 0, done = 0, refused = 0;
            for (client* c : churners_) {
                sent += c->churn_sent();
                done += c->churn_done();
                refused += c->churn_refused();
            }
            r["churn"] = {{"sent", sent}, {"done", done}, {"refused", refused},
                          {"latency_us", churn_latency_.to_json()}};
        }
        reply("result " + r.dump());
        result_written_ = true;
    }

    const topic_plan& plan_;
    std::vector<std::unique_ptr<client>> clients_;
    asio::steady_timer deadline_timer_;
    asio::steady_timer churn_timer_;
    std::vector<client*> churners_;  // within clients_
    std::uint64_t churn_issued_ = 0;
    std::size_t churn_next_ = 0;
    bool churn_stopped_ = false;
    histogram churn_latency_;  // microseconds per pair
    std::size_t publishers_ = 0;
    std::size_t subscribers_ = 0;
    std::size_t publishers_done_ = 0;
    bool connected_reported_ = false;
    bool publishing_ = false;
    bool published_reported_ = false;
    bool draining_ = false;
    bool drained_ = false;
    bool result_written_ = false;
    std::uint64_t t0_ns_ = 0;
    std::uint64_t deadline_ns_ = 0;
    std::uint64_t expected_ = 0;
    std::uint64_t drain_start_ns_ = 0;
    std::uint64_t last_progress_ = 0;
    std::uint64_t last_progress_ns_ = 0;
    std::uint64_t publish_end_ns_ = 0;
    std::uint64_t first_recv_ns_ = 0;
    std::uint64_t last_recv_ns_ = 0;
    std::uint64_t received_ = 0;
    std::uint64_t foreign_ = 0;
    double cpu_at_go_ = 0;
    double cpu_measured_ = 0;
    histogram latency_;
    histogram ack_latency_;  // microseconds from a QoS 1/2 message's due time to its PUBACK/PUBREC
    sequence_tracker tracker_;
};

// --- idle ---------------------------------------------------------------------------------

class idle_worker final : public worker_base {
public:
    idle_worker(const options& o, unsigned workers, unsigned index, int in_fd, int out_fd)
        : worker_base(o, in_fd, out_fd), index_(index) {
        workers_ = workers;
    }

    int run() {
        read_commands();
        tick();
        io_.run();
        return result_written_ ? 0 : 1;
    }

    void on_ready(client&) override {
        connected_one();
        check_opened();
    }
    void after_failure(client&) override { check_opened(); }
    void on_publisher_done(client&) override {}
    void on_message(client&, const mqtt::publish&, std::uint64_t) override {}

private:
    void on_command(const std::string& verb, std::istringstream& args) override {
        if (verb == "open") {
            unsigned total = 0;
            args >> total;
            const unsigned mine = idle_share(total, workers_, index_);
            while (clients_.size() < mine) {
                const unsigned k = static_cast<unsigned>(clients_.size());
                const unsigned global = k * workers_ + index_;
                client::identity id;
                id.kind = client::role::idle;
                id.index = global;
                id.client_id = client_id(opt_, 'i', global);
                id.source = source_address(opt_, global);
                clients_.push_back(std::make_unique<client>(io_, opt_, *this, std::move(id), streams_));
                to_start_.push_back(clients_.back().get());
            }
            opening_ = true;
            start_more();
            check_opened();
        } else if (verb == "finish") {
            finish(clients_);
            reply("result " + connection_summary(clients_.size()).dump());
            result_written_ = true;
        }
    }

    void check_opened() {
        if (!opening_ || ready_ + failed_ < clients_.size()) return;
        opening_ = false;
        reply("opened " + connection_summary(clients_.size()).dump());
    }

    unsigned index_;
    std::vector<std::unique_ptr<client>> clients_;
    bool opening_ = false;
    bool result_written_ = false;
};

}  // namespace

int run_traffic_worker(const options& o, const topic_plan& plan, unsigned workers, unsigned index,
                       int in_fd, int out_fd) {
    traffic_worker w(o, plan, workers, index, in_fd, out_fd);
    return w.run();
}

int run_idle_worker(const options& o, unsigned workers, unsigned index, int in_fd, int out_fd) {
    idle_worker w(o, workers, index, in_fd, out_fd);
    return w.run();
}

}  // namespace sluice::bench
