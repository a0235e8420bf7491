"""QoS 1 back-pressure that loses nothing (docs/mqtt.md, "Limits and flow control"): a
subscriber whose session queue is full stops reading for a moment while many publishers send
QoS 1 to it; the broker parks their messages instead of dropping them, and once the subscriber
reads again it gets every message whose PUBACK went out.

The subscriber's pause must stay within the one-second grace after which a receiver that makes
no progress is no longer waited for (its messages are then dropped): the steps between its last
progress and its resumption are a few round trips on loopback."""
import os
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import BrokerTestCase  # noqa: E402
from clients import Paho  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402

QUEUE = 10        # the subscriber session's max_queued_messages
PUBLISHERS = 20
EACH = 5          # messages per publisher once the queue is full
DEADLINE = 30.0


def metric(text, name, **labels):
    """The value of one sample in /metrics text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        n, _, rest = head.partition("{")
        got = dict(kv.split("=", 1) for kv in rest.rstrip("}").split(",")) if rest else {}
        if n == name and all(got.get(k) == '"%s"' % v for k, v in labels.items()):
            return float(value)
    return 0.0


class BackpressureTest(BrokerTestCase):
    broker_config = '{"mqtt": {"max_queued_messages": %d}}' % QUEUE
    broker_listeners = ("mqtt", "http")

    def metrics(self):
        url = "http://127.0.0.1:%d/metrics" % self.broker.ports["http"]
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()

    def test_a_paused_subscriber_loses_no_acknowledged_qos1_message(self):
        props = Properties(PacketTypes.CONNECT)
        props.ReceiveMaximum = 1  # one message in flight: the rest waits in its session
        sub = Paho(self.port, "bp-sub", properties=props)
        sub.subscribe("bp/#", qos=1)
        pubs = [Paho(self.port, "bp-pub-%d" % i) for i in range(PUBLISHERS)]
        sub.c.loop_stop()  # stops reading: no PUBACK, nothing leaves its queue

        # One message into its window, then exactly a full queue: all acknowledged.
        sent = []
        for k in range(1 + QUEUE):
            payload = b"fill-%d" % k
            pubs[0].publish("bp/fill", payload, qos=1)
            sent.append((pubs[0], None, payload))
        # Now the queue is full: every publisher sends more without waiting.
        for i, p in enumerate(pubs):
            for k in range(EACH):
                payload = b"%d-%d" % (i, k)
                sent.append((p, p.publish("bp/%d" % i, payload, qos=1, wait=False), payload))
        # The broker has met the full queue: it parked a message (or, without parking,
        # dropped one). Then the subscriber reads again.
        deadline = time.monotonic() + DEADLINE
        while True:
            text = self.metrics()
            if (metric(text, "sluice_messages_parked_total") > 0 or
                    metric(text, "sluice_messages_dropped_total", reason="offer_refused") > 0):
                break
            self.assertLess(time.monotonic(), deadline, "the full queue was never met")
        sub.c.loop_start()

        acked = set()
        for p, info, payload in sent:
            if info is None:
                acked.add(payload)
                continue
            p.wait_ack(info.mid, timeout=DEADLINE)
            acked.add(payload)
        got = set()
        deadline = time.monotonic() + 10.0  # every one of them is acknowledged by now
        while not acked <= got and time.monotonic() < deadline:
            try:
                got.add(sub.messages.get(timeout=max(deadline - time.monotonic(), 0.01)).payload)
            except Exception:
                break
        lost = acked - got
        self.assertEqual(len(lost), 0, "%d of %d acknowledged messages never arrived, e.g. %s"
                         % (len(lost), len(acked), sorted(lost)[:5]))
        text = self.metrics()
        self.assertGreater(metric(text, "sluice_messages_parked_total"), 0)
        self.assertEqual(metric(text, "sluice_messages_dropped_total", reason="offer_refused"), 0)
        for c in pubs + [sub]:
            c.stop()


if __name__ == "__main__":
    unittest.main()
