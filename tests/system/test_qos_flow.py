"""QoS 1/2 delivery state: the client's receive maximum bounds inflight messages, packet ids,
QoS 2 outbound, offline queueing and retransmission with DUP (and PUBREL) on reconnect."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BrokerTestCase  # noqa: E402
import mqtt_raw as raw  # noqa: E402
from mqtt_raw import P_RECEIVE_MAXIMUM, P_SESSION_EXPIRY  # noqa: E402

SESSION = [(P_SESSION_EXPIRY, 300)]


class QosFlowTest(BrokerTestCase):

    def publish_many(self, topic, n, qos=1):
        p = raw.connected(self.port, "pub-" + topic.replace("/", "-"))
        for i in range(n):
            p.send(raw.publish(topic, b"%d" % i, qos=qos, pid=i + 1))
            p.expect(raw.PUBACK if qos == 1 else raw.PUBREC)
            if qos == 2:
                p.send(raw.ack(raw.PUBREL, i + 1))
                p.expect(raw.PUBCOMP)
        p.close()

    def test_receive_maximum_bounds_inflight(self):
        c = raw.connected(self.port, "narrow", plist=[(P_RECEIVE_MAXIMUM, 2)])
        c.subscribe(1, [("win/t", 1)])
        self.publish_many("win/t", 5)
        first = [c.read_until(raw.PUBLISH) for _ in range(2)]
        c.send(raw.PINGREQ_BYTES)
        self.assertEqual(c.read().type, raw.PINGRESP)  # a third would have come before this
        self.assertNotEqual(first[0].pid, first[1].pid)
        payloads = [m.payload for m in first]
        for m in first:
            c.send(raw.ack(raw.PUBACK, m.pid))
        for _ in range(3):
            m = c.read_until(raw.PUBLISH)
            payloads.append(m.payload)
            c.send(raw.ack(raw.PUBACK, m.pid))
        self.assertEqual(payloads, [b"0", b"1", b"2", b"3", b"4"])  # in order
        c.close()

    def test_qos2_outbound_exchange(self):
        c = raw.connected(self.port, "q2reader")
        c.subscribe(1, [("q2/t", 2)])
        self.publish_many("q2/t", 1, qos=2)
        m = c.read_until(raw.PUBLISH)
        self.assertEqual((m.qos, m.payload), (2, b"0"))
        c.send(raw.ack(raw.PUBREC, m.pid))
        rel = c.expect(raw.PUBREL)
        self.assertEqual(rel.pid, m.pid)
        c.send(raw.ack(raw.PUBCOMP, m.pid))
        c.send(raw.PINGREQ_BYTES)
        self.assertEqual(c.read().type, raw.PINGRESP)
        c.close()

    def test_offline_queue_and_retransmission_with_dup(self):
        c = raw.connected(self.port, "resumer", plist=SESSION)
        c.subscribe(1, [("rt/q1", 1), ("rt/q2", 2)])
        self.publish_many("rt/q1", 1, qos=1)
        self.publish_many("rt/q2", 1, qos=2)
        m1 = c.read_until(raw.PUBLISH)
        m2 = c.read_until(raw.PUBLISH)
        if m1.qos == 2:
            m1, m2 = m2, m1
        c.send(raw.ack(raw.PUBREC, m2.pid))  # QoS 2 half done; QoS 1 never acknowledged
        c.expect(raw.PUBREL)
        c.close()  # gone without DISCONNECT
        self.publish_many("rt/q1", 1, qos=1)  # queued while offline
        c = raw.RawClient(self.port)
        self.assertTrue(c.connect("resumer", clean=False, plist=SESSION).session_present)
        resent = c.read_until(raw.PUBLISH)
        self.assertTrue(resent.dup)
        self.assertEqual((resent.pid, resent.payload), (m1.pid, b"0"))
        rel = c.expect(raw.PUBREL)
        self.assertEqual(rel.pid, m2.pid)
        queued = c.read_until(raw.PUBLISH)
        self.assertFalse(queued.dup)
        self.assertNotIn(queued.pid, (m1.pid,))
        for p in (resent, queued):
            c.send(raw.ack(raw.PUBACK, p.pid))
        c.send(raw.ack(raw.PUBCOMP, rel.pid))
        c.send(raw.disconnect())
        c.close()

    def test_retransmission_honours_new_receive_maximum(self):
        c = raw.connected(self.port, "shrinker", plist=SESSION)
        c.subscribe(1, [("shrink/t", 1)])
        self.publish_many("shrink/t", 4)
        first = [c.read_until(raw.PUBLISH) for _ in range(4)]  # none acknowledged
        c.close()
        c = raw.RawClient(self.port)
        ack = c.connect("shrinker", clean=False, plist=SESSION + [(P_RECEIVE_MAXIMUM, 2)])
        self.assertTrue(ack.session_present)
        again = [c.read_until(raw.PUBLISH) for _ in range(2)]
        c.send(raw.PINGREQ_BYTES)
        self.assertEqual(c.read().type, raw.PINGRESP)  # only two: the new window
        self.assertEqual([m.pid for m in again], [m.pid for m in first[:2]])
        self.assertTrue(all(m.dup for m in again))
        c.send(raw.ack(raw.PUBACK, again[0].pid))
        third = c.read_until(raw.PUBLISH)
        self.assertEqual((third.pid, third.dup, third.payload), (first[2].pid, True, b"2"))
        for m in (again[1], third):
            c.send(raw.ack(raw.PUBACK, m.pid))
        fourth = c.read_until(raw.PUBLISH)
        self.assertEqual(fourth.payload, b"3")
        c.send(raw.ack(raw.PUBACK, fourth.pid))
        c.send(raw.disconnect())
        c.close()

    def test_qos2_inbound_not_delivered_twice(self):
        sub = raw.connected(self.port, "once-reader")
        sub.subscribe(1, [("once/#", 1)])
        p = raw.connected(self.port, "once-writer")
        p.send(raw.publish("once/t", b"exactly", qos=2, pid=3))
        p.expect(raw.PUBREC)
        p.send(raw.publish("once/t", b"exactly", qos=2, pid=3, dup=True))
        p.expect(raw.PUBREC)
        p.send(raw.ack(raw.PUBREL, 3))
        self.assertEqual(p.expect(raw.PUBCOMP).rc, 0)
        p.send(raw.publish("once/marker", b"marker", qos=1, pid=4))
        p.expect(raw.PUBACK)
        got = [sub.read_until(raw.PUBLISH).payload for _ in range(2)]
        self.assertEqual(got, [b"exactly", b"marker"])
        p.close()
        sub.close()

    def test_pubrel_unknown_id(self):
        c = raw.connected(self.port, "stray-rel")
        c.send(raw.ack(raw.PUBREL, 77))
        comp = c.expect(raw.PUBCOMP)
        self.assertEqual((comp.pid, comp.rc), (77, 0x92))
        c.close()


if __name__ == "__main__":
    unittest.main()
