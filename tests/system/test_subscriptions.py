"""Subscription options (No Local, Retain As Published, Retain Handling 0/1/2), subscription
identifiers, overlapping subscriptions, wildcards and the '$' rule, shared subscriptions."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BrokerTestCase  # noqa: E402
import mqtt_raw as raw  # noqa: E402
from mqtt_raw import P_SUBSCRIPTION_ID  # noqa: E402

NO_LOCAL, RAP = 0x04, 0x08


def rh(n):
    return n << 4


class SubscriptionTest(BrokerTestCase):

    counter = 0

    def publish(self, topic, payload, qos=1, retain=False, version=5):
        SubscriptionTest.counter += 1  # a fresh client id: no takeover of an unread PUBLISH
        p = raw.connected(self.port, "publisher-%d" % SubscriptionTest.counter, version=version)
        p.send(raw.publish(topic, payload, qos=qos, retain=retain, pid=1, version=version))
        if qos:
            p.expect(raw.PUBACK)
        p.close()

    def test_no_local(self):
        c = raw.connected(self.port, "nolocal")
        c.subscribe(1, [("nl/t", 1 | NO_LOCAL)])
        c.send(raw.publish("nl/t", b"own", qos=1, pid=2))
        self.publish("nl/t", b"other")
        got = c.read_until(raw.PUBLISH)
        self.assertEqual(got.payload, b"other")
        # Without No Local the client hears itself.
        c.subscribe(3, [("nl/u", 1)])
        c.send(raw.publish("nl/u", b"own", qos=1, pid=4))
        self.assertEqual(c.read_until(raw.PUBLISH).payload, b"own")
        c.close()

    def test_retain_as_published(self):
        c = raw.connected(self.port, "rap")
        c.subscribe(1, [("rap/keep", 1 | RAP), ("rap/clear", 1)])
        self.publish("rap/keep", b"k", retain=True)
        self.assertTrue(c.read_until(raw.PUBLISH).retain)
        self.publish("rap/clear", b"c", retain=True)
        self.assertFalse(c.read_until(raw.PUBLISH).retain)
        c.close()

    def test_retain_handling(self):
        self.publish("rh/t", b"stored", retain=True)
        c = raw.connected(self.port, "rh")
        # 0: sent at every subscribe.
        c.subscribe(1, [("rh/t", 1 | rh(0))])
        got = c.read_until(raw.PUBLISH)
        self.assertEqual((got.payload, got.retain), (b"stored", True))
        c.send(raw.ack(raw.PUBACK, got.pid))
        c.subscribe(2, [("rh/t", 1 | rh(0))])
        c.send(raw.ack(raw.PUBACK, c.read_until(raw.PUBLISH).pid))
        # 1: only when the subscription is new.
        c.subscribe(3, [("rh/+", 1 | rh(1))])
        c.send(raw.ack(raw.PUBACK, c.read_until(raw.PUBLISH).pid))
        c.subscribe(4, [("rh/+", 1 | rh(1))])
        # 2: never.
        c.subscribe(5, [("rh/#", 1 | rh(2))])
        c.send(raw.PINGREQ_BYTES)
        self.assertEqual(c.read().type, raw.PINGRESP)  # nothing retained came before it
        c.close()

    def test_subscription_identifiers_and_overlap(self):
        c = raw.connected(self.port, "subids")
        c.subscribe(1, [("ov/+", 0)], plist=[(P_SUBSCRIPTION_ID, 11)])
        c.subscribe(2, [("ov/#", 1)], plist=[(P_SUBSCRIPTION_ID, 22)])
        self.publish("ov/x", b"once", qos=1)
        got = c.read_until(raw.PUBLISH)
        # One copy at the highest granted QoS carrying both identifiers.
        self.assertEqual(got.qos, 1)
        self.assertEqual(sorted(got.props[P_SUBSCRIPTION_ID]), [11, 22])
        c.send(raw.ack(raw.PUBACK, got.pid))
        c.send(raw.PINGREQ_BYTES)
        self.assertEqual(c.read().type, raw.PINGRESP)  # no second copy
        c.close()

    def test_wildcards_and_dollar_topics(self):
        c = raw.connected(self.port, "wild")
        c.subscribe(1, [("#", rh(2)), ("w/+/c", rh(2))])
        self.publish("$app/x", b"hidden", qos=0)
        self.publish("w/b/c", b"seen", qos=0)
        got = c.read_until(raw.PUBLISH)
        self.assertEqual(got.topic, "w/b/c")
        c.close()

    def test_invalid_filter_is_a_malformed_packet(self):
        # MQTT-4.7.1-1: a SUBSCRIBE with a malformed filter is a malformed packet (0x81), not a
        # failure code for that filter.
        c = raw.connected(self.port, "badfilter")
        c.send(raw.subscribe(1, [("a/#/b", 0), ("ok/+", 1)]))
        self.assertEqual(c.read_until(raw.DISCONNECT).rc, 0x81)
        self.assertTrue(c.closed())

    def test_shared_subscription_spreads_messages(self):
        a = raw.connected(self.port, "member-a")
        b = raw.connected(self.port, "member-b")
        a.subscribe(1, [("$share/g1/sh/t", 1)])
        b.subscribe(1, [("$share/g1/sh/t", 1)])
        p = raw.connected(self.port, "sh-pub")
        for i in range(10):
            p.send(raw.publish("sh/t", b"%d" % i, qos=1, pid=i + 1))
            p.expect(raw.PUBACK)
        # Round robin among online members: five each, and nothing more.
        for c in (a, b):
            for _ in range(5):
                m = c.read_until(raw.PUBLISH)
                c.send(raw.ack(raw.PUBACK, m.pid))
            c.send(raw.PINGREQ_BYTES)
            self.assertEqual(c.read().type, raw.PINGRESP)
        for c in (a, b, p):
            c.close()

    def test_shared_redelivery_when_member_leaves(self):
        a = raw.connected(self.port, "leaver")
        a.subscribe(1, [("$share/g2/re/t", 1)])
        b = raw.connected(self.port, "stayer")
        b.subscribe(1, [("$share/g2/re/t", 1)])
        p = raw.connected(self.port, "re-pub")
        unacked = None
        pid = 1
        while unacked is None:
            p.send(raw.publish("re/t", b"m%d" % pid, qos=1, pid=pid))
            p.expect(raw.PUBACK)
            pid += 1
            try:
                m = a.read(timeout=0.5)
                if m.type == raw.PUBLISH:
                    unacked = m.payload  # the leaver never acknowledges it
            except TimeoutError:
                pass
        a.send(raw.disconnect())
        a.close()
        seen = []
        while unacked not in seen:
            m = b.read_until(raw.PUBLISH)
            seen.append(m.payload)
            b.send(raw.ack(raw.PUBACK, m.pid))
        b.close()
        p.close()

    def test_no_local_on_shared_is_protocol_error(self):
        c = raw.connected(self.port, "nlshared")
        c.send(raw.subscribe(1, [("$share/g/x", NO_LOCAL)]))
        self.assertEqual(c.read_until(raw.DISCONNECT).rc, 0x82)
        c.close()


if __name__ == "__main__":
    unittest.main()
