"""Publish/subscribe with the real command-line clients and paho: QoS 0/1/2 in both directions,
protocol levels 3, 4 and 5 sharing topics, QoS downgrade, UNSUBSCRIBE, PINGREQ."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BrokerTestCase, run_cli  # noqa: E402
from clients import MosquittoSub, Paho  # noqa: E402
import mqtt_raw as raw  # noqa: E402


class PubSubTest(BrokerTestCase):
    def pub(self, topic, msg, version="5", qos=0, extra=()):
        r = run_cli(["mosquitto_pub", "-h", "127.0.0.1", "-V", version, "-p", str(self.port), "-t", topic, "-m", msg,
                     "-q", str(qos)] + list(extra))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_qos_0_1_2_both_directions(self):
        for version in ("5", "311"):
            for q in (0, 1, 2):
                with self.subTest(version=version, qos=q):
                    topic = "pubsub/v%s/%d" % (version, q)
                    sub = MosquittoSub(self.port, topic, version, qos=q)
                    self.pub(topic, "hello-%d" % q, version, qos=q)
                    self.assertEqual(sub.messages(), ["%s hello-%d" % (topic, q)])
                    self.assertEqual(sub.received_qos(), [q])

    def test_protocol_levels_share_topics(self):
        versions = ("31", "311", "5")
        subs = {v: MosquittoSub(self.port, "mixed/#", v, qos=1, count=3) for v in versions}
        for v in versions:
            self.pub("mixed/from-" + v, "m" + v, v, qos=1)
        for v, sub in subs.items():
            self.assertEqual(sorted(sub.messages()),
                             ["mixed/from-31 m31", "mixed/from-311 m311", "mixed/from-5 m5"], v)

    def test_qos_downgraded_to_subscription(self):
        sub = MosquittoSub(self.port, "down/grade", "5", qos=0)
        self.pub("down/grade", "x", "5", qos=2)
        self.assertEqual(sub.messages(), ["down/grade x"])
        self.assertEqual(sub.received_qos(), [0])

    def test_unsubscribe(self):
        c = raw.connected(self.port, "unsub-client")
        c.subscribe(1, [("unsub/a", 1), ("unsub/marker", 1)])
        c.send(raw.unsubscribe(2, ["unsub/a", "unsub/none"]))
        ack = c.read_until(raw.UNSUBACK)
        self.assertEqual(ack.pid, 2)
        self.assertEqual(ack.reasons, [0x00, 0x11])  # success, no subscription existed
        p = Paho(self.port)
        p.publish("unsub/a", b"gone", qos=1)
        p.publish("unsub/marker", b"marker", qos=1)
        got = c.read_until(raw.PUBLISH)
        self.assertEqual(got.topic, "unsub/marker")
        p.stop()
        c.close()

    def test_pingreq(self):
        for version in (4, 5):
            c = raw.connected(self.port, "pinger-%d" % version, version=version)
            c.send(raw.PINGREQ_BYTES)
            c.expect(raw.PINGRESP)
            c.close()

    def test_qos1_and_qos2_acks_from_broker(self):
        c = raw.connected(self.port, "acks")
        c.send(raw.publish("acks/one", b"1", qos=1, pid=7))
        ack = c.expect(raw.PUBACK)
        self.assertEqual(ack.pid, 7)
        self.assertEqual(ack.rc, 0x10)  # no matching subscribers
        c.send(raw.publish("acks/two", b"2", qos=2, pid=8))
        rec = c.expect(raw.PUBREC)
        self.assertEqual(rec.pid, 8)
        c.send(raw.ack(raw.PUBREL, 8))
        comp = c.expect(raw.PUBCOMP)
        self.assertEqual((comp.pid, comp.rc), (8, 0))
        c.close()


if __name__ == "__main__":
    unittest.main()
