"""Persistent sessions and retained messages across a SIGKILL (docs/mqtt.md, "What survives
a restart").

Each test kills the broker with SIGKILL and starts it again on the same --data-dir:

- a persistent session (5.0 with a Session Expiry Interval, 3.1.1 with clean session 0) comes
  back with Session Present, its subscriptions deliver without a new SUBSCRIBE, and the QoS 1
  messages published for it while it was offline before the kill arrive after the reconnect,
  in order (read back from the log at its cursor: not DUP, they were never sent);
- retained messages survive, and so does the clearing of one;
- a QoS 2 PUBLISH answered with PUBREC before the kill completes with PUBREL/PUBCOMP after
  the restart and reaches the subscriber exactly once;
- a session whose expiry passed while the broker was down is gone;
- a delayed will is published after the restart once its delay passes;
- kill rounds: SIGKILL at random moments during QoS 1 traffic with a persistent subscriber;
  every message the publisher saw acknowledged is in the log exactly once and reached the
  subscriber (duplicates allowed, marked DUP).

No sleeps as synchronisation: every wait is for an event with a deadline (the expiry test
waits for the session's expiry interval itself to pass). SLUICE_PERSIST_ROUNDS (default 20)
and SLUICE_PERSIST_SEED choose the kill rounds.
"""
import os
import random
import shutil
import tempfile
import threading
import time
import unittest

import paho.mqtt.client as mqtt

from harness import Broker
import mqtt_raw as raw
from test_durable import log_dump, values

WAIT = 20.0
SESSION_EXPIRY = 0x11
SUBSCRIPTION_ID = 0x0B
WILL_DELAY = 0x18


class Restart(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="sluice-persist-")
        self.broker = Broker(data_dir=self.data_dir).start()

    def tearDown(self):
        try:
            self.broker.stop()
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def restart(self):
        self.broker.kill()
        self.broker = Broker(data_dir=self.data_dir).start()

    def client(self, cid, version=5, clean=False, expiry=300, **kw):
        c = raw.RawClient(self.broker.mqtt_port, version)
        plist = [(SESSION_EXPIRY, expiry)] if version == 5 and expiry else []
        ack = c.connect(cid, clean=clean, plist=plist, **kw)
        self.assertEqual(ack.rc, 0)
        return c, ack

    def publish(self, topic, payload, qos=1, retain=False, pid=1, c=None):
        own = c is None
        if own:
            c, _ = self.client("pub-%s" % topic.replace("/", "-"), clean=True, expiry=0)
        c.send(raw.publish(topic, payload, qos=qos, retain=retain, pid=pid))
        if qos == 1:
            self.assertLess(c.expect(raw.PUBACK).rc, 0x80)
        if own:
            c.send(raw.disconnect())
            c.close()

    def read_publishes_until(self, c, marker):
        """Every PUBLISH up to and including the one whose payload is `marker` (acknowledged)."""
        got = []
        deadline = time.monotonic() + WAIT
        while True:
            p = c.read(max(deadline - time.monotonic(), 0.001))
            if p.type != raw.PUBLISH:
                if p.type == raw.PUBREL:
                    c.send(raw.ack(raw.PUBCOMP, p.pid))
                continue
            if p.qos == 1:
                c.send(raw.ack(raw.PUBACK, p.pid))
            elif p.qos == 2:
                c.send(raw.ack(raw.PUBREC, p.pid))
            got.append(p)
            if p.payload == marker:
                return got

    def test_session_and_its_queue_survive_sigkill(self):
        sub, ack = self.client("keeper")
        self.assertFalse(ack.session_present)
        self.assertEqual(sub.subscribe(1, [("p/#", 1)], plist=[(SUBSCRIPTION_ID, 7)]).reasons, [1])
        sub.send(raw.disconnect())
        sub.close()
        old, _ = self.client("keeper-311", version=4, clean=False)
        self.assertEqual(old.subscribe(1, [("q/#", 1)]).reasons, [1])
        old.close()
        for i in range(5):
            self.publish("p/%d" % i, "m%d" % i, pid=i + 1)
            self.publish("q/%d" % i, "n%d" % i, pid=i + 1)

        self.restart()
        sub, ack = self.client("keeper")
        self.assertTrue(ack.session_present)
        self.publish("p/last", "marker")  # the subscription delivers without a SUBSCRIBE
        got = self.read_publishes_until(sub, b"marker")
        self.assertEqual([p.payload for p in got], [b"m0", b"m1", b"m2", b"m3", b"m4", b"marker"])
        # Published while it was offline: read back from the log at its cursor, never sent
        # before, so not DUP (docs/offline-backlog-design.md).
        self.assertFalse(any(p.dup for p in got[:5]), "never sent before: no DUP")
        self.assertFalse(got[5].dup)
        self.assertTrue(all(p.props.get(SUBSCRIPTION_ID) in (7, [7]) for p in got), got[0].props)
        old, ack = self.client("keeper-311", version=4, clean=False)
        self.assertTrue(ack.session_present)
        self.publish("q/last", "marker")
        got = self.read_publishes_until(old, b"marker")
        self.assertEqual([p.payload for p in got], [b"n0", b"n1", b"n2", b"n3", b"n4", b"marker"])
        sub.send(raw.disconnect())
        old.send(raw.disconnect(version=4))
        # Closed by the broker once it read the DISCONNECT, so after every PUBACK before it.
        self.assertTrue(sub.closed())
        self.assertTrue(old.closed())

        # Acknowledged messages are gone from the session for good (a clean stop this time).
        self.broker.stop_checked()
        self.broker = Broker(data_dir=self.data_dir).start()
        sub, ack = self.client("keeper")
        self.assertTrue(ack.session_present)
        self.publish("p/again", "marker2")
        got = self.read_publishes_until(sub, b"marker2")
        self.assertEqual([p.payload for p in got], [b"marker2"])
        sub.close()

    def test_retained_messages_survive_and_a_cleared_one_stays_cleared(self):
        self.publish("r/a", "A", retain=True)
        self.publish("r/b", "B", retain=True)
        self.publish("r/b", "", retain=True)  # clears r/b
        self.publish("r/c", "C1", retain=True)
        self.publish("r/c", "C2", retain=True)
        self.restart()
        sub, _ = self.client("watcher", clean=True, expiry=0)
        self.assertEqual(sub.subscribe(1, [("r/#", 1)]).reasons, [1])
        self.publish("r/zz", "marker")
        got = self.read_publishes_until(sub, b"marker")
        retained = sorted((p.topic, p.payload) for p in got if p.retain)
        self.assertEqual(retained, [("r/a", b"A"), ("r/c", b"C2")])
        sub.close()

    def test_qos2_acknowledged_before_the_kill_completes_after_it_exactly_once(self):
        sub, _ = self.client("q2-sub")
        self.assertEqual(sub.subscribe(1, [("x/#", 2)]).reasons, [2])
        pub, _ = self.client("q2-pub")
        pub.send(raw.publish("x/1", b"once", qos=2, pid=5))
        self.assertLess(pub.expect(raw.PUBREC).rc, 0x80)
        # The subscriber gets it (QoS 2) and completes its side before the kill.
        p = sub.expect(raw.PUBLISH)
        self.assertEqual((p.payload, p.qos), (b"once", 2))
        sub.send(raw.ack(raw.PUBREC, p.pid))
        self.assertEqual(sub.expect(raw.PUBREL).pid, p.pid)
        sub.send(raw.ack(raw.PUBCOMP, p.pid))

        self.restart()
        pub, ack = self.client("q2-pub")
        self.assertTrue(ack.session_present)
        # The publisher may send the PUBLISH again first (DUP): acknowledged, not delivered.
        pub.send(raw.publish("x/1", b"once", qos=2, pid=5, dup=True))
        self.assertLess(pub.expect(raw.PUBREC).rc, 0x80)
        pub.send(raw.ack(raw.PUBREL, 5))
        comp = pub.expect(raw.PUBCOMP)
        self.assertEqual((comp.pid, comp.rc), (5, 0), "the id was still waiting for PUBREL")
        sub, ack = self.client("q2-sub")
        self.assertTrue(ack.session_present)
        self.publish("x/end", "marker", c=pub, pid=6)
        got = self.read_publishes_until(sub, b"marker")
        self.assertEqual([p.payload for p in got], [b"marker"], "delivered exactly once")
        pub.close()
        sub.close()

    def test_session_whose_expiry_passed_while_down_is_gone(self):
        short, _ = self.client("short-lived", expiry=1)
        self.assertEqual(short.subscribe(1, [("e/#", 1)]).reasons, [1])
        long_, _ = self.client("long-lived", expiry=300)
        self.assertEqual(long_.subscribe(1, [("e/#", 1)]).reasons, [1])
        short.send(raw.disconnect())
        long_.send(raw.disconnect())
        self.assertTrue(short.closed())
        self.assertTrue(long_.closed())
        # A later persistent CONNECT is acknowledged once its record is durable, and so every
        # record of __sessions queued before it: the two offline sessions with their times.
        fence, _ = self.client("fence")
        fence.close()
        gone_at = time.monotonic()
        self.broker.kill()
        # The expiry is the thing under test: its second passes while the broker is down.
        while time.monotonic() < gone_at + 1.5:
            time.sleep(0.1)
        self.broker = Broker(data_dir=self.data_dir).start()
        _, ack = self.client("long-lived", expiry=300)
        self.assertTrue(ack.session_present)
        _, ack = self.client("short-lived", expiry=300)
        self.assertFalse(ack.session_present)

    def test_delayed_will_is_published_after_the_restart(self):
        watcher, _ = self.client("will-watcher")
        self.assertEqual(watcher.subscribe(1, [("will/#", 1)]).reasons, [1])
        will = {"topic": "will/dying", "payload": "gone", "qos": 1, "props": [(WILL_DELAY, 2)]}
        dying, _ = self.client("dying", expiry=60, will=will)
        dying.close()  # no DISCONNECT: the will waits for its delay
        self.restart()
        watcher, ack = self.client("will-watcher")
        self.assertTrue(ack.session_present)
        p = watcher.read_until(raw.PUBLISH, timeout=WAIT)
        self.assertEqual((p.topic, p.payload), ("will/dying", b"gone"))
        watcher.send(raw.ack(raw.PUBACK, p.pid))
        watcher.close()


class KillRounds(unittest.TestCase):
    def test_acknowledged_messages_reach_a_persistent_subscriber_across_kills(self):
        rounds = int(os.environ.get("SLUICE_PERSIST_ROUNDS", "20"))
        seed = int(os.environ.get("SLUICE_PERSIST_SEED", str(random.randrange(1 << 30))))
        rng = random.Random(seed)
        data_dir = tempfile.mkdtemp(prefix="sluice-persist-kill-")
        received = {}  # payload -> list of dup flags
        lock = threading.Lock()
        acknowledged = set()
        try:
            for rnd in range(rounds):
                broker = Broker(data_dir=data_dir).start()
                try:
                    sub = self._subscriber(broker, rnd, received, lock, first=rnd == 0)
                    try:
                        acknowledged |= self._publish_until_killed(broker, rnd, rng.randint(1, 40))
                    finally:
                        sub.loop_stop()
                finally:
                    broker.kill()
            # A last start: the subscriber collects what was still queued for it.
            broker = Broker(data_dir=data_dir).start()
            sub = self._subscriber(broker, rounds, received, lock, first=False)
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                with lock:
                    if acknowledged <= received.keys():
                        break
                time.sleep(0.05)
            sub.disconnect()
            sub.loop_stop()
            broker.stop_checked()
            with lock:
                missing = sorted(acknowledged - received.keys())
                redelivered_without_dup = [v for v, flags in received.items()
                                           if len(flags) > 1 and not any(flags[1:])]
            self.assertEqual(missing, [], "seed %d: acknowledged, never delivered" % seed)
            self.assertEqual(redelivered_without_dup, [], "seed %d" % seed)
            counts = values(log_dump(data_dir))
            self.assertEqual([v for v in acknowledged if counts.get(v, 0) != 1], [],
                             "seed %d: acknowledged but not in the log exactly once" % seed)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)

    def _subscriber(self, broker, rnd, received, lock, first):
        c = mqtt.Client(client_id="kill-sub", clean_session=False, protocol=mqtt.MQTTv311)
        c.reconnect_delay_set(0.02, 0.05)  # so loop_stop() after a kill returns at once
        connected = threading.Event()
        subscribed = threading.Event()
        present = []

        def on_connect(client, userdata, flags, rc):
            present.append(flags.get("session present"))
            connected.set()

        def on_message(client, userdata, msg):
            with lock:
                received.setdefault(msg.payload.decode(), []).append(bool(msg.dup))

        c.on_connect = on_connect
        c.on_message = on_message
        c.on_subscribe = lambda *a: subscribed.set()
        c.connect("127.0.0.1", broker.mqtt_port)
        c.loop_start()
        self.assertTrue(connected.wait(WAIT), "no CONNACK for the subscriber")
        if first:
            c.subscribe("kill/#", qos=1)
            self.assertTrue(subscribed.wait(WAIT), "no SUBACK")
        else:
            self.assertEqual(present, [1], "round %d: the session was not restored" % rnd)
        return c

    def _publish_until_killed(self, broker, rnd, kill_after):
        c = mqtt.Client(client_id="kill-pub-%d" % rnd, protocol=mqtt.MQTTv5)
        c.reconnect_delay_set(0.02, 0.05)
        c.max_inflight_messages_set(20)
        lock = threading.Lock()
        acked_mids = []
        enough = threading.Event()
        connected = threading.Event()

        def on_publish(client, userdata, mid):
            with lock:
                acked_mids.append(mid)
                if len(acked_mids) >= kill_after:
                    enough.set()

        c.on_publish = on_publish
        c.on_connect = lambda *a, **k: connected.set()
        c.connect("127.0.0.1", broker.mqtt_port)
        c.loop_start()
        try:
            self.assertTrue(connected.wait(WAIT), "no CONNACK")
            payload_of = {}
            i = 0
            deadline = time.monotonic() + WAIT
            while not enough.is_set() and time.monotonic() < deadline:
                payload = "k%d-%d" % (rnd, i)
                info = c.publish("kill/%d" % (i % 5), payload, qos=1)
                with lock:
                    payload_of[info.mid] = payload
                i += 1
                if i % 40 == 0:
                    enough.wait(0.05)  # let acknowledgements catch up with the queue
            self.assertTrue(enough.is_set(), "fewer than %d acknowledgements" % kill_after)
            broker.kill()  # the moment: more acknowledgements and deliveries may be in flight
            with lock:
                return {payload_of[m] for m in acked_mids}
        finally:
            c.loop_stop()


if __name__ == "__main__":
    unittest.main()
