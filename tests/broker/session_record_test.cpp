#include <catch2/catch.hpp>

#include "broker/session_record.hpp"

using namespace sluice;
using namespace sluice::broker;

namespace {

persisted_session full_session() {
    persisted_session s;
    s.expiry = 3600;
    s.offline_since_ms = 1'700'000'000'123;
    s.producer_id = 42;
    s.producer_epoch = 3;
    subscription_record a;
    a.options.max_qos = mqtt::qos::exactly_once;
    a.options.no_local = true;
    a.options.retain_as_published = true;
    a.options.handling = mqtt::retain_handling::do_not_send;
    a.subscription_id = 268'435'455;
    subscription_record b;
    b.options.max_qos = mqtt::qos::at_least_once;
    s.subscriptions = {{"home/+/temp", a}, {"$share/g/alerts/#", b}};
    s.incoming_qos2 = {7, 65535, 1};
    mqtt::will_message w;
    w.topic = "clients/x/status";
    w.payload = mqtt::shared_bytes(std::string_view("offline"));
    w.qos_level = mqtt::qos::at_least_once;
    w.retain = true;
    w.props.will_delay_interval = 30;
    w.props.message_expiry_interval = 600;
    w.props.content_type = "text/plain";
    w.props.user_properties = {{"k", "v"}};
    s.will = w;
    s.will_at_ms = 1'700'000'030'123;
    return s;
}

}  // namespace

TEST_CASE("session record: every field survives the round trip") {
    const persisted_session s = full_session();
    auto back = decode_session(encode_session(s));
    REQUIRE(back);
    CHECK(*back == s);
}

TEST_CASE("session record: an empty session (no producer, no will, no subscriptions)") {
    persisted_session s;
    s.expiry = 0xFFFFFFFF;
    auto back = decode_session(encode_session(s));
    REQUIRE(back);
    CHECK(*back == s);
    CHECK(back->producer_id == -1);
    CHECK(!back->will);
}

TEST_CASE("session record: truncated, extended or unknown versions are refused") {
    const std::string bytes = encode_session(full_session());
    for (std::size_t n = 0; n < bytes.size(); ++n) CHECK(!decode_session(bytes.substr(0, n)));
    CHECK(!decode_session(bytes + "x"));
    std::string other = bytes;
    other[0] = 4;
    CHECK(!decode_session(other));
    other[0] = 3;  // format 3 without its cursor and start blocks
    CHECK(!decode_session(other));
    other[0] = 2;  // format 2 without its cursors
    CHECK(!decode_session(other));
    CHECK(!decode_session(""));
}

TEST_CASE("session record: backlog cursors survive the round trip as format 2") {
    persisted_session s = full_session();
    CHECK(encode_session(s)[0] == 1);  // no cursors: still format 1
    s.cursors = {{"mqtt", 0, 1234}, {"mqtt", 3, 0}, {"sensors", 11, 0x7FFFFFFFFFFF}};
    const std::string bytes = encode_session(s);
    CHECK(bytes[0] == 2);
    auto back = decode_session(bytes);
    REQUIRE(back);
    CHECK(*back == s);
    for (std::size_t n = 0; n < bytes.size(); ++n) CHECK(!decode_session(bytes.substr(0, n)));
    CHECK(!decode_session(bytes + "x"));
}

TEST_CASE("session record: subscription starts survive the round trip as format 3") {
    persisted_session s = full_session();
    s.subscriptions[0].rec.since_ms = 1'700'000'000'456;
    std::string bytes = encode_session(s);
    CHECK(bytes[0] == 3);  // a start, no cursors
    auto back = decode_session(bytes);
    REQUIRE(back);
    CHECK(*back == s);
    CHECK(back->subscriptions[0].rec.since_ms == 1'700'000'000'456);
    CHECK(back->subscriptions[1].rec.since_ms == 0);
    s.cursors = {{"mqtt", 1, 99}};
    bytes = encode_session(s);
    CHECK(bytes[0] == 3);
    back = decode_session(bytes);
    REQUIRE(back);
    CHECK(*back == s);
    for (std::size_t n = 0; n < bytes.size(); ++n) CHECK(!decode_session(bytes.substr(0, n)));
    CHECK(!decode_session(bytes + "x"));
}

TEST_CASE("session queue key: client id and sequence, in sequence order") {
    const std::string k = queue_key("client/1", 0x0102030405060708ull);
    auto back = parse_queue_key(k);
    REQUIRE(back);
    CHECK(back->first == "client/1");
    CHECK(back->second == 0x0102030405060708ull);
    CHECK(queue_key("c", 9) < queue_key("c", 10));
    CHECK(queue_key("c", 255) < queue_key("c", 256));
    CHECK(!parse_queue_key("no-separator"));
    CHECK(!parse_queue_key(std::string("\0", 1) + "12345678"));
}

TEST_CASE("session queue record: a waiting message comes back with what the subscriber gets") {
    const auto t0 = steady_clock::now();
    mqtt::publish p;
    p.topic = "a/b";
    p.qos_level = mqtt::qos::exactly_once;
    p.payload = mqtt::shared_bytes(std::string_view("payload"));
    p.props.message_expiry_interval = 100;
    p.props.correlation_data = "corr";
    delivery d;
    d.msg = make_message(mqtt::publish(p), nullptr, t0);
    d.qos_level = mqtt::qos::at_least_once;
    d.retain = true;
    d.subscription_ids = {3, 9};
    d.share = "$share/g/a/#";
    // Written 10 s after it arrived: 90 s of expiry left, counted from the record's time.
    const store::record r =
        delivery_to_record("sub", 77, d, t0 + std::chrono::seconds(10), 1'000'000);
    CHECK(parse_queue_key(*r.key)->second == 77);
    CHECK(r.timestamp == 1'000'000);

    auto e = queued_from_record(r, t0, 1'000'000 + 30'000);
    REQUIRE(e.what == queued_entry::kind::message);
    CHECK(e.d.qos_level == mqtt::qos::at_least_once);
    CHECK(e.d.retain);
    CHECK(e.d.subscription_ids == std::vector<std::uint32_t>{3, 9});
    CHECK(e.d.share == "$share/g/a/#");
    CHECK(e.d.msg->topic() == "a/b");
    CHECK(e.d.msg->qos_level() == mqtt::qos::exactly_once);
    CHECK(e.d.msg->packet().payload.view() == "payload");
    CHECK(e.d.msg->packet().props.correlation_data == "corr");
    CHECK(e.d.msg->packet().props.message_expiry_interval == 60u);

    // Past its expiry by the time of the restart: not restored.
    CHECK(queued_from_record(r, t0, 1'000'000 + 91'000).what == queued_entry::kind::expired);
}

TEST_CASE("session queue record: released QoS 2 messages keep only their packet id") {
    const store::record r = released_to_record("sub", 5, 4242);
    auto e = queued_from_record(r, steady_clock::now(), 0);
    REQUIRE(e.what == queued_entry::kind::released);
    CHECK(e.packet_id == 4242);
    store::record tombstone;
    tombstone.key = r.key;
    CHECK(queued_from_record(tombstone, steady_clock::now(), 0).what ==
          queued_entry::kind::invalid);
}

TEST_CASE("session queue record: backlog cursors have keys of their own") {
    const log_cursor c{"mqtt", 7, 12345};
    const auto r = cursor_record("client/1", c);
    auto back = parse_cursor_record(r);
    REQUIRE(back);
    CHECK(back->first == "client/1");
    CHECK(back->second == c);
    CHECK(!parse_queue_key(*r.key));  // never taken for a queued message
    store::record tomb;
    tomb.key = cursor_key("client/1", c);
    auto gone = parse_cursor_record(tomb);
    REQUIRE(gone);
    CHECK(gone->second.next == -1);
    store::record queued;
    queued.key = queue_key("client/1", 5);
    queued.value = "x";
    CHECK(!parse_cursor_record(queued));
}

TEST_CASE("session queue record: shared groups' cursors have keys of their own") {
    const log_cursor c{"mqtt", 3, 777};
    const auto r = share_cursor_record("$share/g/t/#", c);
    auto back = parse_share_cursor_record(r);
    REQUIRE(back);
    CHECK(back->first == "$share/g/t/#");
    CHECK(back->second == c);
    // Never taken for a session's cursor or a queued message, even of a client named so.
    CHECK(!parse_cursor_record(r));
    CHECK(!parse_queue_key(*r.key));
    CHECK(!parse_share_cursor_record(cursor_record("$share/g/t/#", c)));
    store::record queued;
    queued.key = queue_key("$share/g/t/#", 5);
    queued.value = "x";
    CHECK(!parse_share_cursor_record(queued));
    store::record tomb;
    tomb.key = share_cursor_key("$share/g/t/#", c);
    auto gone = parse_share_cursor_record(tomb);
    REQUIRE(gone);
    CHECK(gone->second.next == -1);
}
