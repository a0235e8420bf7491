"""Retained messages, message expiry, topic aliases both ways, request/response, user
properties, payload format indicator and content type pass-through, 0x99 on bad UTF-8."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BrokerTestCase  # noqa: E402
from clients import MosquittoSub  # noqa: E402
import mqtt_raw as raw  # noqa: E402
from mqtt_raw import (P_PAYLOAD_FORMAT, P_MESSAGE_EXPIRY, P_CONTENT_TYPE, P_RESPONSE_TOPIC,  # noqa: E402
                      P_CORRELATION_DATA, P_USER_PROPERTY, P_TOPIC_ALIAS, P_TOPIC_ALIAS_MAXIMUM,
                      P_SESSION_EXPIRY)


class MessageTest(BrokerTestCase):

    counter = 0

    def pub(self, topic, payload, qos=1, retain=False, plist=(), name="pub"):
        # A fresh client id each time: reusing one could take over a connection whose
        # QoS 0 PUBLISH the broker has not read yet.
        MessageTest.counter += 1
        p = raw.connected(self.port, "%s-%d" % (name, MessageTest.counter))
        p.send(raw.publish(topic, payload, qos=qos, retain=retain, pid=1, plist=plist))
        if qos:
            ack = p.expect(raw.PUBACK)
        p.close()
        return ack if qos else None

    def first_retained(self, topic, version=5):
        """The retained message a new subscriber gets, or None (checked with a PINGREQ)."""
        c = raw.connected(self.port, "retained-reader", version=version)
        c.subscribe(1, [(topic, 1)])
        c.send(raw.PINGREQ_BYTES)
        p = c.read()
        c.close()
        return p.payload if p.type == raw.PUBLISH else None

    def test_retained_store_replace_clear(self):
        self.pub("ret/a", b"one", retain=True)
        self.assertEqual(self.first_retained("ret/a"), b"one")
        self.pub("ret/a", b"two", retain=True)
        self.assertEqual(self.first_retained("ret/a"), b"two")
        self.assertEqual(self.first_retained("ret/+", version=4), b"two")
        self.pub("ret/a", b"", retain=True)
        self.assertIsNone(self.first_retained("ret/a"))

    def test_retained_with_mosquitto_sub(self):
        r = __import__("harness").run_cli(["mosquitto_pub", "-h", "127.0.0.1", "-V", "311", "-p", str(self.port),
                                           "-t", "ret/cli", "-m", "kept", "-r", "-q", "1"])
        self.assertEqual(r.returncode, 0)
        sub = MosquittoSub(self.port, "ret/cli", "5")
        self.assertEqual(sub.messages(), ["ret/cli kept"])

    def test_message_expiry(self):
        session = [(P_SESSION_EXPIRY, 300)]
        c = raw.connected(self.port, "offline-reader", plist=session)
        c.subscribe(1, [("exp/#", 1)])
        c.send(raw.disconnect())
        self.assertTrue(c.closed())
        self.pub("exp/short", b"short", plist=[(P_MESSAGE_EXPIRY, 1)])
        self.pub("exp/long", b"long", plist=[(P_MESSAGE_EXPIRY, 60)])
        self.pub("exp/retained", b"r", retain=True, plist=[(P_MESSAGE_EXPIRY, 1)])
        # Let the clock run past the short expiry (the feature under test is time itself).
        time.sleep(1.6)
        c = raw.RawClient(self.port)
        self.assertTrue(c.connect("offline-reader", clean=False, plist=session).session_present)
        got = c.read_until(raw.PUBLISH)
        self.assertEqual(got.payload, b"long")  # the expired one is never delivered
        self.assertLess(got.props[P_MESSAGE_EXPIRY], 60)  # counted down while waiting
        c.send(raw.ack(raw.PUBACK, got.pid))
        c.send(raw.PINGREQ_BYTES)
        self.assertEqual(c.read().type, raw.PINGRESP)
        c.close()
        self.assertIsNone(self.first_retained("exp/retained"))

    def test_properties_pass_through(self):
        c = raw.connected(self.port, "props-reader")
        c.subscribe(1, [("req/#", 1)])
        plist = [(P_PAYLOAD_FORMAT, 1), (P_CONTENT_TYPE, "application/json"),
                 (P_RESPONSE_TOPIC, "resp/here"), (P_CORRELATION_DATA, b"\x00\x01corr"),
                 (P_USER_PROPERTY, ("a", "1")), (P_USER_PROPERTY, ("a", "2")),
                 (P_MESSAGE_EXPIRY, 3600)]
        self.pub("req/x", b'{"q": 1}', plist=plist)
        got = c.read_until(raw.PUBLISH)
        p = got.props
        self.assertEqual(p[P_PAYLOAD_FORMAT], 1)
        self.assertEqual(p[P_CONTENT_TYPE], "application/json")
        self.assertEqual(p[P_RESPONSE_TOPIC], "resp/here")
        self.assertEqual(p[P_CORRELATION_DATA], b"\x00\x01corr")
        self.assertEqual(p[P_USER_PROPERTY], [("a", "1"), ("a", "2")])
        self.assertIn(p[P_MESSAGE_EXPIRY], (3599, 3600))
        c.close()

    def test_request_response(self):
        responder = raw.connected(self.port, "responder")
        responder.subscribe(1, [("svc/request", 1)])
        requester = raw.connected(self.port, "requester")
        requester.subscribe(1, [("svc/reply/requester", 1)])
        requester.send(raw.publish("svc/request", b"ping", qos=1, pid=2, plist=[
            (P_RESPONSE_TOPIC, "svc/reply/requester"), (P_CORRELATION_DATA, b"id-42")]))
        req = responder.read_until(raw.PUBLISH)
        responder.send(raw.ack(raw.PUBACK, req.pid))
        responder.send(raw.publish(req.props[P_RESPONSE_TOPIC], b"pong", qos=1, pid=3,
                                   plist=[(P_CORRELATION_DATA, req.props[P_CORRELATION_DATA])]))
        reply = requester.read_until(raw.PUBLISH)
        self.assertEqual((reply.payload, reply.props[P_CORRELATION_DATA]), (b"pong", b"id-42"))
        requester.close()
        responder.close()

    def test_payload_format_invalid(self):
        c = raw.connected(self.port, "bad-utf8")
        c.send(raw.publish("pfi/t", b"\xff\xfe", qos=1, pid=5, plist=[(P_PAYLOAD_FORMAT, 1)]))
        ack = c.expect(raw.PUBACK)
        self.assertEqual(ack.rc, 0x99)
        c.send(raw.publish("pfi/t", b"\xc3\x28", qos=0, plist=[(P_PAYLOAD_FORMAT, 1)]))
        self.assertEqual(c.read_until(raw.DISCONNECT).rc, 0x99)
        c.close()

    def test_topic_alias_inbound(self):
        c = raw.connected(self.port, "alias-reader")
        c.subscribe(1, [("alias/in", 0)])
        p = raw.connected(self.port, "alias-writer")
        p.send(raw.publish("alias/in", b"1", plist=[(P_TOPIC_ALIAS, 3)]))
        p.send(raw.publish("", b"2", plist=[(P_TOPIC_ALIAS, 3)]))
        self.assertEqual([c.read_until(raw.PUBLISH).topic for _ in range(2)], ["alias/in"] * 2)
        p.send(raw.publish("", b"3", plist=[(P_TOPIC_ALIAS, 1000)]))  # above our maximum (64)
        self.assertEqual(p.read_until(raw.DISCONNECT).rc, 0x94)
        p.close()
        c.close()

    def test_topic_alias_outbound(self):
        c = raw.connected(self.port, "alias-out", plist=[(P_TOPIC_ALIAS_MAXIMUM, 2)])
        c.subscribe(1, [("ao/#", 0)])
        for _ in range(2):
            self.pub("ao/long/topic/name", b"x", qos=0, name="ao-pub")
        first, second = c.read_until(raw.PUBLISH), c.read_until(raw.PUBLISH)
        self.assertEqual(first.topic, "ao/long/topic/name")
        alias = first.props[P_TOPIC_ALIAS]
        self.assertEqual(second.topic, "")
        self.assertEqual(second.props[P_TOPIC_ALIAS], alias)
        c.close()


if __name__ == "__main__":
    unittest.main()
