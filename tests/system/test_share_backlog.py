"""A `$share` group whose members are all offline keeps its position as cursors into the
log (docs/offline-backlog-design.md, "Shared groups"), with paho-mqtt against the real
broker:

- two persistent members of `$share/g/sb/#` go away; QoS 1 messages published meanwhile are
  held by nobody's queue (the admin API shows nothing queued; the group shows in
  sluice_backlog_share_groups);
- after a SIGKILL and a restart on the same data directory, one member coming back receives
  every message exactly once, in order per topic;
- both members away again, more messages, both back: each message reaches exactly one of
  them, none is lost;
- raced: a publisher runs while both members go away and come back in a loop (the group's
  backlog opens while messages are in flight); every acknowledged message reaches a member.

No sleeps as synchronisation: every wait is for an event with a deadline.
"""
import json
import queue
import shutil
import tempfile
import threading
import time
import unittest
import urllib.request

from clients import Paho, props
from harness import Broker

WAIT = 60.0
SHARE = "$share/g/sb/#"
TOPICS = ["sb/a", "sb/b/c", "sb/d"]


class ShareBacklog(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="sluice-share-")
        self.broker = self.start()
        self.clients = []

    def tearDown(self):
        try:
            for c in self.clients:
                try:
                    c.stop()
                except Exception:
                    pass
            self.broker.stop()
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def start(self):
        return Broker(data_dir=self.data_dir, listeners=("mqtt", "http")).start()

    def http(self, path):
        url = "http://127.0.0.1:%d%s" % (self.broker.ports["http"], path)
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()

    def session(self, cid):
        return json.loads(self.http("/api/v1/sessions/" + cid))

    def metric(self, name):
        for line in self.http("/metrics").splitlines():
            if line.startswith(name + " "):
                return int(float(line.split()[1]))
        return None

    def wait_for(self, what, pred):
        deadline = time.monotonic() + WAIT
        while not pred():
            if time.monotonic() > deadline:
                self.fail("timed out waiting for " + what)
            time.sleep(0.02)  # polling an HTTP condition, not synchronisation by time

    def member(self, cid, clean):
        c = Paho(self.broker.mqtt_port, cid, clean=clean,
                 properties=props("CONNECT", SessionExpiryInterval=600))
        self.clients.append(c)
        return c

    def go_away(self, c):
        c.stop()
        self.clients.remove(c)
        self.wait_for(c.c._client_id.decode() + " offline",
                      lambda: not self.session(c.c._client_id.decode())["online"])

    def publish_round(self, tag, per_topic):
        pub = Paho(self.broker.mqtt_port, "sb-pub-" + tag)
        sent = []
        for n in range(per_topic):
            for t in TOPICS:
                payload = "%s-%s-%d" % (tag, t, n)
                pub.publish(t, payload, qos=1)  # waits for the PUBACK
                sent.append((t, payload))
        pub.stop()
        return sent

    def collect(self, members, want):
        """Messages from `members` until `want` distinct payloads arrived (or the deadline),
        then until a sentinel per topic published after them came back: what was still on
        its way (a duplicate) arrives before the sentinels, in the log's order."""
        got = {id(m): [] for m in members}
        seen = set()
        deadline = time.monotonic() + WAIT

        def drain_until(done):
            while not done():
                if time.monotonic() > deadline:
                    self.fail("timed out: %d of %d" % (len(seen), want))
                for m in members:
                    try:
                        msg = m.messages.get(timeout=0.05)
                    except queue.Empty:
                        continue
                    got[id(m)].append((msg.topic, msg.payload.decode()))
                    seen.add(msg.payload.decode())

        drain_until(lambda: len(seen) >= want)
        pub = Paho(self.broker.mqtt_port, "sb-sentinel")
        for t in TOPICS:
            pub.publish(t, "end-" + t, qos=1)
        pub.stop()
        drain_until(lambda: all("end-" + t in seen for t in TOPICS))
        return [[x for x in got[id(m)] if not x[1].startswith("end-")] for m in members]

    def test_one_member_gets_the_group_backlog_after_sigkill_then_both_share_it(self):
        m1 = self.member("sb-m1", clean=True)
        m2 = self.member("sb-m2", clean=True)
        for m in (m1, m2):
            self.assertEqual(m.subscribe(SHARE, qos=1)[0].value, 1)
        self.assertEqual(self.metric("sluice_backlog_share_groups"), 0)
        self.go_away(m1)
        self.go_away(m2)
        # The group's markers are placed as its last member leaves.
        self.wait_for("the group's backlog", lambda: self.metric("sluice_backlog_share_groups") == 1)

        per_topic = 100
        sent = self.publish_round("r1", per_topic)
        # Cursors, not copies: neither member's queue holds them.
        for cid in ("sb-m1", "sb-m2"):
            self.assertEqual(self.session(cid)["queued_messages"], 0, cid)

        self.broker.kill()
        self.broker = self.start()
        self.assertEqual(self.metric("sluice_backlog_share_groups"), 1)

        m1 = self.member("sb-m1", clean=False)
        self.assertTrue(m1.connack[0]["session present"])
        [got] = self.collect([m1], len(sent))
        for t in TOPICS:
            self.assertEqual([p for topic, p in got if topic == t],
                             [p for topic, p in sent if topic == t],
                             "%s: every message once, in order" % t)
        self.assertEqual(len(got), len(sent))

        # Both away again (the group keeps its backlog), more messages, both back.
        self.go_away(m1)
        sent = self.publish_round("r2", per_topic)
        for cid in ("sb-m1", "sb-m2"):
            self.assertEqual(self.session(cid)["queued_messages"], 0, cid)
        m1 = self.member("sb-m1", clean=False)
        m2 = self.member("sb-m2", clean=False)
        got1, got2 = self.collect([m1, m2], len(sent))
        payloads = [p for _, p in got1 + got2]
        self.assertEqual(len(payloads), len(set(payloads)), "no message reached both")
        self.assertEqual(sorted(payloads), sorted(p for _, p in sent), "none lost")
        for got in (got1, got2):
            for t in TOPICS:
                mine = [p for topic, p in got if topic == t]
                self.assertEqual(mine, [p for topic, p in sent if topic == t and p in mine],
                                 "in order per topic")

    def test_members_leaving_and_coming_back_under_a_publisher_lose_nothing(self):
        share = "$share/race/sr/#"
        members = [self.member("sr-%d" % i, clean=True) for i in range(2)]
        for m in members:
            self.assertEqual(m.subscribe(share, qos=1)[0].value, 1)
        received = []  # every Paho object the members were, to drain at the end
        received.extend(members)
        acked = []
        stop = threading.Event()

        def publish():
            pub = Paho(self.broker.mqtt_port, "sr-pub")
            n = 0
            while not stop.is_set():
                payload = "sr-%d" % n
                pub.publish("sr/%d" % (n % 3), payload, qos=1)  # waits for the PUBACK
                acked.append(payload)
                n += 1
            pub.stop()

        publisher = threading.Thread(target=publish)
        publisher.start()
        try:
            for _ in range(8):
                for m in members:
                    self.go_away(m)
                # Wait for messages published while both were away (none of them queued).
                seen = len(acked)
                self.wait_for("messages while away", lambda: len(acked) >= seen + 20)
                members = [self.member("sr-%d" % i, clean=False) for i in range(2)]
                received.extend(members)
        finally:
            stop.set()
            publisher.join()
        want = set(acked)
        seen = set()
        deadline = time.monotonic() + WAIT
        while not want <= seen:
            if time.monotonic() > deadline:
                self.fail("lost: %d of %d, e.g. %s" % (len(want - seen), len(want),
                                                      sorted(want - seen)[:5]))
            for m in received:
                try:
                    while True:
                        seen.add(m.messages.get_nowait().payload.decode())
                except queue.Empty:
                    pass
            time.sleep(0.02)  # polling the clients' queues, not synchronisation by time


if __name__ == "__main__":
    unittest.main()
