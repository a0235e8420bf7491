"""CONNECT/CONNACK fields, client identifiers, takeover, clean start, session expiry, keep alive
and the connect timeout."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BrokerTestCase  # noqa: E402
from clients import Paho  # noqa: E402
import mqtt_raw as raw  # noqa: E402
from mqtt_raw import (P_ASSIGNED_CLIENT_ID, P_RECEIVE_MAXIMUM, P_MAXIMUM_PACKET_SIZE,  # noqa: E402
                      P_TOPIC_ALIAS_MAXIMUM, P_WILDCARD_AVAILABLE, P_SUB_ID_AVAILABLE,
                      P_SHARED_AVAILABLE, P_RETAIN_AVAILABLE, P_SERVER_KEEP_ALIVE,
                      P_MAXIMUM_QOS, P_SESSION_EXPIRY, P_WILL_DELAY)

CONFIG = """{
  "mqtt": {"max_keep_alive": 30, "connect_timeout_ms": 300, "maximum_qos": 1,
           "receive_maximum": 77, "max_packet_size": 100000, "topic_alias_maximum": 9}
}"""


class SessionTest(BrokerTestCase):
    broker_config = CONFIG

    def test_connack_fields_v5(self):
        c = raw.RawClient(self.port)
        ack = c.connect("", keepalive=100)
        self.assertEqual(ack.rc, 0)
        self.assertFalse(ack.session_present)
        p = ack.props
        self.assertTrue(p[P_ASSIGNED_CLIENT_ID].startswith("sluice-"))
        self.assertEqual(p[P_SERVER_KEEP_ALIVE], 30)
        self.assertEqual(p[P_RECEIVE_MAXIMUM], 77)
        self.assertEqual(p[P_MAXIMUM_PACKET_SIZE], 100000)
        self.assertEqual(p[P_TOPIC_ALIAS_MAXIMUM], 9)
        self.assertEqual(p[P_MAXIMUM_QOS], 1)
        self.assertEqual(p[P_RETAIN_AVAILABLE], 1)
        self.assertEqual((p[P_WILDCARD_AVAILABLE], p[P_SUB_ID_AVAILABLE], p[P_SHARED_AVAILABLE]), (1, 1, 1))
        self.assertNotIn(0x1A, p)  # no Response Information unless asked for
        c.close()
        c = raw.RawClient(self.port)
        ack = c.connect("asks-response", plist=[(0x19, 1)])  # Request Response Information
        self.assertEqual(ack.props[0x1A], "sluice/response/asks-response")
        c.close()

    def test_qos_above_maximum_is_refused(self):
        c = raw.connected(self.port, "qos2-sender")
        c.send(raw.publish("t", b"x", qos=2, pid=1))
        self.assertEqual(c.read_until(raw.DISCONNECT).rc, 0x9B)
        self.assertTrue(c.closed())
        # Subscriptions are granted at most the maximum QoS.
        c = raw.connected(self.port, "qos2-sub")
        self.assertEqual(c.subscribe(1, [("t", 2)]).reasons, [1])
        c.close()

    def test_empty_client_id(self):
        c = raw.RawClient(self.port, version=4)
        self.assertEqual(c.connect("", clean=False).rc, 2)  # identifier rejected
        self.assertTrue(c.closed())
        c = raw.RawClient(self.port, version=4)
        self.assertEqual(c.connect("", clean=True).rc, 0)
        c.close()

    def test_takeover_v5_and_v311(self):
        for version in (5, 4):
            first = raw.connected(self.port, "twin-%d" % version, version=version)
            second = raw.connected(self.port, "twin-%d" % version, version=version)
            if version == 5:
                self.assertEqual(first.read_until(raw.DISCONNECT).rc, 0x8E)
            self.assertTrue(first.closed())
            second.send(raw.PINGREQ_BYTES)
            second.expect(raw.PINGRESP)
            second.close()

    def _sub_then_leave(self, client_id, expiry, topic):
        c = raw.connected(self.port, client_id, clean=True, plist=[(P_SESSION_EXPIRY, expiry)])
        c.subscribe(1, [(topic, 1)])
        c.send(raw.disconnect())
        self.assertTrue(c.closed())

    def test_clean_start_and_session_present(self):
        self._sub_then_leave("persist", 300, "persist/t")
        c = raw.RawClient(self.port)
        ack = c.connect("persist", clean=False, plist=[(P_SESSION_EXPIRY, 300)])
        self.assertTrue(ack.session_present)
        Paho(self.port).publish("persist/t", b"kept", qos=1)
        got = c.read_until(raw.PUBLISH)
        self.assertEqual(got.payload, b"kept")
        c.close()
        c = raw.RawClient(self.port)
        self.assertFalse(c.connect("persist", clean=True).session_present)
        c.close()

    def test_session_expiry_zero(self):
        self._sub_then_leave("short", 0, "short/t")
        c = raw.RawClient(self.port)
        self.assertFalse(c.connect("short", clean=False).session_present)
        c.close()

    def test_session_expiry_never_v311(self):
        c = raw.connected(self.port, "forever", version=4, clean=False)
        c.subscribe(1, [("forever/t", 1)])
        c.send(raw.disconnect(version=4))
        self.assertTrue(c.closed())
        c = raw.RawClient(self.port, version=4)
        self.assertTrue(c.connect("forever", clean=False).session_present)
        c.close()

    def test_session_expiry_interval_ends_session(self):
        # The will waits 100 s but the session ends after 1 s: the will goes out when it ends.
        watcher = raw.connected(self.port, "expiry-watcher")
        watcher.subscribe(1, [("expiry/will", 0)])
        c = raw.connected(self.port, "expiring", plist=[(P_SESSION_EXPIRY, 1)],
                          will={"topic": "expiry/will", "payload": b"ended",
                                "props": [(P_WILL_DELAY, 100)]})
        c.close()  # abnormal: no DISCONNECT
        self.assertEqual(watcher.read_until(raw.PUBLISH).payload, b"ended")
        c = raw.RawClient(self.port)
        self.assertFalse(c.connect("expiring", clean=False).session_present)
        c.close()
        watcher.close()

    def test_keep_alive_enforced(self):
        c = raw.connected(self.port, "sleepy", keepalive=1)
        self.assertEqual(c.read(timeout=10).rc, 0x8D)  # DISCONNECT keep alive timeout
        self.assertTrue(c.closed())
        c = raw.connected(self.port, "sleepy-311", version=4, keepalive=1)
        self.assertTrue(c.closed(timeout=10))

    def test_connect_timeout(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.assertEqual(s.recv(10), b"")  # closed by the broker without a word
        s.close()

    def test_paho_v5_and_v311_connect(self):
        for v in (5, 4, 3):
            p = Paho(self.port, client_id="paho-%d" % v, version=v)
            self.assertEqual(p.subscribe("paho/t", qos=1)[0] if v != 5 else p.subscribe("paho/t", qos=1)[0].getName(),
                             1 if v != 5 else "Granted QoS 1")
            p.stop()


if __name__ == "__main__":
    unittest.main()
