"""Conformance with the MQTT 3.1, 3.1.1 and 5.0 specifications where a review found Sluice
wrong: bad 3.1.1 CONNECTs closed without a CONNACK, a property not allowed in its packet and a
malformed topic filter answered as a malformed packet (0x81), DUP on re-sent 3.1 packets,
sessions ending with a clean-session connection, a CONNACK too large for the client, delayed
wills when the client comes back, PUBLISH to $SYS refused, and the connect and keep-alive
timeouts counting whole packets rather than bytes.

Nothing sleeps: each wait is for an event (a packet, or the broker closing the socket) with a
deadline, and the timeout tests pace their bytes by waiting for that close."""
import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BrokerTestCase  # noqa: E402
import mqtt_raw as raw  # noqa: E402
from mqtt_raw import (P_MAXIMUM_PACKET_SIZE, P_SESSION_EXPIRY, P_SUBSCRIPTION_ID,  # noqa: E402
                      P_WILL_DELAY)


def connect_v311(client_id, flags, extra=b""):
    """A 3.1.1 CONNECT with the connect flags byte as given and `extra` after the client id."""
    body = raw.string("MQTT") + bytes([4, flags]) + struct.pack(">H", 60)
    return raw.packet(raw.CONNECT, 0, body + raw.string(client_id) + extra)


def closed_without_packet(client):
    """True when the broker closes the connection before sending anything."""
    try:
        p = client.read()
    except EOFError:
        return True
    raise AssertionError("expected the connection closed without a packet, got %r" % p)


def expect_disconnect(test, client, rc):
    """The next packet is a DISCONNECT with `rc`, then the broker closes the connection."""
    p = client.read()
    test.assertEqual((p.type, p.rc), (raw.DISCONNECT, rc), p)
    test.assertTrue(client.closed())


class ConformanceTest(BrokerTestCase):

    # --- CONNECT (3.1.1) -----------------------------------------------------------------------
    def test_v311_bad_connect_is_closed_without_connack(self):
        # MQTT-3.1.4-1 and MQTT-3.1.2-3: these are protocol violations in 3.1.1, answered by
        # closing the network connection; no CONNACK return code stands for them.
        cases = {
            "reserved flag": connect_v311("bad-reserved", 0x03),
            "will QoS 3": connect_v311("bad-will-qos", 0x1E, raw.string("w") + raw.string("x")),
            "will QoS without will flag": connect_v311("bad-will-qos-flag", 0x0A),
            "will retain without will flag": connect_v311("bad-will-retain", 0x22),
            "password without user name": connect_v311("bad-password", 0x42, raw.string("p")),
        }
        for name, data in cases.items():
            with self.subTest(name):
                c = raw.RawClient(self.port, version=4)
                c.send(data)
                self.assertTrue(closed_without_packet(c))
                c.close()

    # --- properties not allowed in their packet (5.0) ------------------------------------------
    def test_property_not_allowed_is_malformed(self):
        # Spec 2.2.2.2: a property identifier not valid for its packet makes it a Malformed
        # Packet (0x81), in every packet type.
        cases = {
            "session expiry in PUBLISH": raw.publish("conf/p", b"x", plist=[(P_SESSION_EXPIRY, 5)]),
            "session expiry in SUBSCRIBE": raw.subscribe(1, [("conf/s", 0)],
                                                         plist=[(P_SESSION_EXPIRY, 5)]),
            "subscription identifier in UNSUBSCRIBE": raw.packet(
                raw.UNSUBSCRIBE, 2, struct.pack(">H", 1) + raw.props([(P_SUBSCRIPTION_ID, 1)]) +
                raw.string("conf/s")),
            "subscription identifier in PUBACK": raw.packet(
                raw.PUBACK, 0, struct.pack(">H", 1) + b"\x00" + raw.props([(P_SUBSCRIPTION_ID, 1)])),
        }
        for name, data in cases.items():
            with self.subTest(name):
                c = raw.connected(self.port, "bad-property")
                c.send(data)
                expect_disconnect(self, c, 0x81)

    # --- malformed topic filters ---------------------------------------------------------------
    def test_malformed_topic_filter_is_a_malformed_packet(self):
        # MQTT-4.7.1-1 (wildcard placement) and MQTT-4.7.3-1 (at least one character): a
        # malformed packet, not a failure code in the SUBACK.
        for f in ("#/x", "a/#/b", "a+", ""):
            with self.subTest(subscribe=f):
                c = raw.connected(self.port, "bad-filter")
                c.send(raw.subscribe(1, [("conf/ok", 0), (f, 0)]))
                expect_disconnect(self, c, 0x81)
        with self.subTest(unsubscribe="a/#/b"):
            c = raw.connected(self.port, "bad-unsub-filter")
            c.send(raw.unsubscribe(1, ["a/#/b"]))
            expect_disconnect(self, c, 0x81)
        with self.subTest("3.1.1 closes without a SUBACK"):
            c = raw.connected(self.port, "bad-filter-311", version=4)
            c.send(raw.subscribe(1, [("a+", 0)], version=4))
            self.assertTrue(closed_without_packet(c))

    # --- DUP on re-sent packets in MQTT 3.1 ----------------------------------------------------
    def test_mqtt31_accepts_dup_on_resent_pubrel_subscribe_unsubscribe(self):
        c = raw.connected(self.port, "mqtt31-dup", version=3)
        sub = raw.subscribe(1, [("conf/31", 1)], version=3)
        c.send(bytes([sub[0] | 0x08]) + sub[1:])
        self.assertEqual(c.expect(raw.SUBACK).pid, 1)
        unsub = raw.unsubscribe(2, ["conf/31"], version=3)
        c.send(bytes([unsub[0] | 0x08]) + unsub[1:])
        self.assertEqual(c.expect(raw.UNSUBACK).pid, 2)
        c.send(raw.publish("conf/31/q2", b"x", qos=2, pid=3, version=3))
        self.assertEqual(c.expect(raw.PUBREC).pid, 3)
        c.send(raw.packet(raw.PUBREL, 0x0A, struct.pack(">H", 3)))
        self.assertEqual(c.expect(raw.PUBCOMP).pid, 3)
        c.close()
        # 3.1.1 reserves those bits: the same SUBSCRIBE closes a 3.1.1 connection.
        c = raw.connected(self.port, "mqtt311-dup", version=4)
        sub = raw.subscribe(1, [("conf/311", 1)], version=4)
        c.send(bytes([sub[0] | 0x08]) + sub[1:])
        self.assertTrue(closed_without_packet(c))

    # --- sessions ------------------------------------------------------------------------------
    def test_clean_session_is_not_resumed(self):
        # MQTT-3.1.2-6: a CleanSession=1 session lasts as long as its network connection, so a
        # CleanSession=0 connection that takes over from it finds no session.
        first = raw.connected(self.port, "clean-then-keep", version=4, clean=True)
        first.subscribe(1, [("conf/clean", 1)])
        again = raw.RawClient(self.port, version=4)
        ack = again.connect("clean-then-keep", clean=False)
        self.assertEqual(ack.rc, 0)
        self.assertFalse(ack.session_present)
        self.assertTrue(first.closed())
        again.close()

    def test_connack_larger_than_client_maximum_is_not_sent(self):
        # MQTT-3.1.2-24: no packet larger than the client's Maximum Packet Size; no CONNACK is
        # as small as 4 bytes, so the connection is closed without one.
        c = raw.RawClient(self.port)
        c.send(raw.connect("tiny-max", plist=[(P_MAXIMUM_PACKET_SIZE, 4)]))
        self.assertTrue(closed_without_packet(c))

    # --- delayed wills -------------------------------------------------------------------------
    def watcher(self, name, topic):
        w = raw.connected(self.port, name)
        w.subscribe(1, [(topic, 1)])
        return w

    def test_delayed_will_not_sent_when_the_client_id_comes_back_with_clean_start(self):
        # MQTT-3.1.2-8: the will is not published when a new Network Connection with the
        # ClientID is opened before the Will Delay Interval has elapsed, even though a Clean
        # Start=1 connection ends the old session.
        w = self.watcher("conf-will-w1", "conf/will/clean/#")
        session = [(P_SESSION_EXPIRY, 300)]
        c = raw.connected(self.port, "conf-will-clean", plist=session, will={
            "topic": "conf/will/clean/cancelled", "payload": b"must not",
            "props": [(P_WILL_DELAY, 1)]})
        c.close()
        back = raw.RawClient(self.port)
        ack = back.connect("conf-will-clean", clean=True)
        self.assertEqual(ack.rc, 0)
        self.assertFalse(ack.session_present)
        # A control will with the same delay, closed later: the cancelled one would come first.
        control = raw.connected(self.port, "conf-will-clean-control", plist=session, will={
            "topic": "conf/will/clean/control", "payload": b"delayed",
            "props": [(P_WILL_DELAY, 1)]})
        control.close()
        self.assertEqual(w.read_until(raw.PUBLISH).topic, "conf/will/clean/control")
        back.close()
        w.close()

    def test_delayed_will_cancelled_by_resuming_the_session(self):
        w = self.watcher("conf-will-w2", "conf/will/resume/#")
        session = [(P_SESSION_EXPIRY, 300)]
        c = raw.connected(self.port, "conf-will-resume", plist=session, will={
            "topic": "conf/will/resume/cancelled", "payload": b"must not",
            "props": [(P_WILL_DELAY, 1)]})
        c.close()
        back = raw.RawClient(self.port)
        self.assertEqual(back.connect("conf-will-resume", clean=False, plist=session).rc, 0)
        # A control will with the same delay, closed later: the cancelled one would come first.
        control = raw.connected(self.port, "conf-will-control", plist=session, will={
            "topic": "conf/will/resume/control", "payload": b"delayed",
            "props": [(P_WILL_DELAY, 1)]})
        control.close()
        self.assertEqual(w.read_until(raw.PUBLISH).topic, "conf/will/resume/control")
        back.close()
        w.close()

    # --- $SYS belongs to the broker ------------------------------------------------------------
    def spoof_check(self, version, expect_rc):
        w = raw.connected(self.port, "sys-watch-%d" % version)
        w.subscribe(1, [("$SYS/#", 1), ("conf/sys/marker", 1)])
        p = raw.connected(self.port, "sys-spoof-%d" % version, version=version)
        p.send(raw.publish("$SYS/broker/spoofed", b"fake", qos=1, pid=1, version=version))
        ack = p.expect(raw.PUBACK)
        if expect_rc is not None:
            self.assertEqual(ack.rc, expect_rc)
        # The same connection then publishes a marker: a routed spoof would arrive before it.
        p.send(raw.publish("conf/sys/marker", b"m", qos=1, pid=2, version=version))
        p.expect(raw.PUBACK)
        while True:
            got = w.read_until(raw.PUBLISH)
            if got.pid:
                w.send(raw.ack(raw.PUBACK, got.pid))
            self.assertNotEqual(got.payload, b"fake", got.topic)
            if got.topic == "conf/sys/marker":
                break
        p.close()
        w.close()

    def test_publish_to_sys_refused_v5(self):
        self.spoof_check(5, 0x87)

    def test_publish_to_sys_dropped_v311(self):
        self.spoof_check(4, None)


class TimeoutTest(BrokerTestCase):
    """The connect timeout and keep alive count whole packets: bytes trickling in do not keep a
    connection alive."""
    connect_timeout_s = 3.0
    broker_config = '{"mqtt": {"connect_timeout_ms": %d}}' % int(connect_timeout_s * 1000)

    def trickle_until_closed(self, sock, data, interval, limit):
        """Sends `data` one byte per `interval` seconds, each wait being a wait for the broker to
        close the socket. Returns the seconds from the first byte to the close, or fails when
        the socket is still open after `limit` seconds."""
        start = time.monotonic()
        for b in data:
            try:
                sock.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - start
            sock.settimeout(interval)
            try:
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return time.monotonic() - start
                    # 5.0 gets a DISCONNECT before the close; anything else is wrong.
                    self.assertEqual(chunk[0] >> 4, raw.DISCONNECT, chunk)
            except socket.timeout:
                pass
            except ConnectionResetError:
                return time.monotonic() - start
            if time.monotonic() - start > limit:
                self.fail("still open after %.1f s of trickled bytes" % (time.monotonic() - start))
        self.fail("the whole packet was sent before the broker closed the connection")

    def test_trickled_connect_is_closed_by_the_connect_timeout(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        data = raw.connect("trickling-connect-" + "x" * 20, version=4)
        # A byte every 2 s is never 3 s of silence, but the CONNECT takes over a minute.
        took = self.trickle_until_closed(s, data, 2.0, self.connect_timeout_s + 5)
        self.assertLess(took, self.connect_timeout_s + 5)
        s.close()

    def test_trickled_publish_is_closed_by_keep_alive(self):
        c = raw.connected(self.port, "trickling-publish", keepalive=2)
        # A PUBLISH announcing 200 bytes, sent a byte a second: never 1.5 x 2 s of silence.
        data = bytes([0x30]) + raw.varint(200) + raw.string("conf/trickle") + b"\x00" + b"p" * 185
        took = self.trickle_until_closed(c.sock, data, 1.0, 3.0 + 5)
        self.assertLess(took, 3.0 + 5)
        c.close()


if __name__ == "__main__":
    unittest.main()
