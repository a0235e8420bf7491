"""Offline persistent sessions' backlogs as cursors into the log
(docs/offline-backlog-design.md).

- persistent sessions offline on a wildcard while QoS 1 messages are published to logged
  topics hold no copies (the admin API shows nothing queued), and after a reconnect (with or
  without a SIGKILL restart in between) each receives every message, in order per topic;
- raced disconnects: publishers run while subscribers disconnect and reconnect in a loop;
  afterwards every acknowledged QoS 1 message reached each subscriber at least once and
  every acknowledged QoS 2 message exactly once;
- memory: the broker's RSS does not grow per message waiting for offline sessions;
- covered groups (docs/routing.md): the router skips offline sessions whose cursors cover a
  message (sluice_backlog_covered_skips_total), and they still get every message once, in
  order, with a QoS 0 subscription beside the QoS 1 one adding no copy;
- topic summaries: a session on a narrow filter passes over the rest of the log unread
  (sluice_backlog_skipped_unread_total) and still gets exactly its messages;
- loadtest/offline_backlog/rss_bench.py at a small size (its own checks of the sampled
  sessions; no figure is checked).

No sleeps as synchronisation: every wait is for an event with a deadline.
SLUICE_BACKLOG_SESSIONS / SLUICE_BACKLOG_MESSAGES scale the memory check (defaults 300 and
4000, so the file stays well under a minute on a sanitized build; the larger runs are
documented in docs/offline-backlog-design.md).
"""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from harness import Broker
import mqtt_raw as raw

WAIT = 60.0
SESSION_EXPIRY = 0x11


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Publisher:
    """One raw connection publishing with a window of unacknowledged packets."""

    def __init__(self, port, cid, window=50):
        self.c = raw.connected(port, cid, clean=True)
        self.window = window
        self.next_pid = 1
        self.outstanding = {}  # pid -> (qos, payload)
        self.acked = []        # payloads acknowledged with success, in order

    def _drain_one(self):
        p = self.c.read(WAIT)
        if p.type == raw.PUBACK:
            qos, payload = self.outstanding.pop(p.pid)
            if p.rc < 0x80:
                self.acked.append(payload)
        elif p.type == raw.PUBREC:
            self.c.send(raw.ack(raw.PUBREL, p.pid))
        elif p.type == raw.PUBCOMP:
            qos, payload = self.outstanding.pop(p.pid)
            self.acked.append(payload)

    def publish(self, topic, payload, qos=1):
        while len(self.outstanding) >= self.window:
            self._drain_one()
        pid = self.next_pid
        self.next_pid = pid % 65535 + 1
        self.outstanding[pid] = (qos, payload)
        self.c.send(raw.publish(topic, payload, qos=qos, pid=pid))

    def finish(self):
        while self.outstanding:
            self._drain_one()
        self.c.send(raw.disconnect())
        self.c.close()


def receive(c, count, deadline, qos2_ids=None):
    """`count` PUBLISH packets (acknowledged as they come), or fewer at the deadline.
    `qos2_ids`: the client session's QoS 2 packet ids answered with PUBREC and not yet
    released (kept across connections, as a QoS 2 receiver must: a PUBLISH resent with one of
    them is the same message and is not counted again)."""
    qos2_ids = set() if qos2_ids is None else qos2_ids
    got = []
    while len(got) < count:
        try:
            p = c.read(max(deadline - time.monotonic(), 0.001))
        except TimeoutError:
            break
        if p.type == raw.PUBREL:
            qos2_ids.discard(p.pid)
            c.send(raw.ack(raw.PUBCOMP, p.pid))
            continue
        if p.type != raw.PUBLISH:
            continue
        if p.qos == 1:
            c.send(raw.ack(raw.PUBACK, p.pid))
        elif p.qos == 2:
            c.send(raw.ack(raw.PUBREC, p.pid))
            if p.pid in qos2_ids:
                continue  # the same message again (its PUBREC was lost with the connection)
            qos2_ids.add(p.pid)
        got.append(p)
    return got


class OfflineBacklog(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="sluice-backlog-")
        self.broker = self.start()

    def tearDown(self):
        try:
            self.broker.stop()
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def start(self):
        return Broker(data_dir=self.data_dir, listeners=("mqtt", "http")).start()

    def session_info(self, cid):
        url = "http://127.0.0.1:%d/api/v1/sessions/%s" % (self.broker.ports["http"], cid)
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())

    def subscriber(self, cid, filt="bk/#", qos=1, clean=False):
        c = raw.RawClient(self.broker.mqtt_port)
        ack = c.connect(cid, clean=clean, plist=[(SESSION_EXPIRY, 600)])
        self.assertEqual(ack.rc, 0)
        if clean:
            self.assertEqual(c.subscribe(1, [(filt, qos)]).reasons, [qos])
        return c, ack

    def check_in_order(self, got, topics, per_topic):
        by_topic = {}
        for p in got:
            by_topic.setdefault(p.topic, []).append(p.payload)
        for t in topics:
            want = [("%s-%d" % (t, i)).encode() for i in range(per_topic)]
            self.assertEqual(by_topic.get(t), want, "topic %s: in order, each once" % t)

    def wildcard_backlog(self, kill):
        sessions, topics, per_topic = 10, ["bk/a", "bk/b/c", "bk/d", "bk/e/f", "bk/g"], 60
        for i in range(sessions):
            c, _ = self.subscriber("off-%d" % i, clean=True)
            c.send(raw.disconnect())
            self.assertTrue(c.closed())
        pub = Publisher(self.broker.mqtt_port, "backlog-pub")
        for n in range(per_topic):
            for t in topics:
                pub.publish(t, "%s-%d" % (t, n))
        pub.finish()
        self.assertEqual(len(pub.acked), len(topics) * per_topic)
        # Cursors, not copies: nothing waits in the offline sessions' queues.
        for i in range(sessions):
            self.assertEqual(self.session_info("off-%d" % i)["queued_messages"], 0)
        if kill:
            self.broker.kill()
            self.broker = self.start()
        deadline = time.monotonic() + WAIT
        for i in range(sessions):
            c, ack = self.subscriber("off-%d" % i)
            self.assertTrue(ack.session_present)
            got = receive(c, len(topics) * per_topic, deadline)
            self.check_in_order(got, topics, per_topic)
            c.send(raw.disconnect())
            c.close()

    def test_wildcard_backlog_delivered_in_order_after_reconnect(self):
        self.wildcard_backlog(kill=False)

    def test_wildcard_backlog_delivered_in_order_after_sigkill(self):
        self.wildcard_backlog(kill=True)

    def test_raced_disconnects_lose_nothing_and_qos2_stays_exactly_once(self):
        subscribers = ["race-%d" % i for i in range(3)]
        for cid in subscribers:
            c, _ = self.subscriber(cid, filt="race/#", qos=2, clean=True)
            c.send(raw.disconnect())
            self.assertTrue(c.closed())
        acked = {1: [], 2: []}
        stop = threading.Event()

        def publish(qos):
            pub = Publisher(self.broker.mqtt_port, "race-pub-%d" % qos, window=20)
            n = 0
            while not stop.is_set():
                pub.publish("race/q%d" % qos, "q%d-%d" % (qos, n), qos=qos)
                n += 1
            pub.finish()
            acked[qos] = pub.acked

        threads = [threading.Thread(target=publish, args=(q,)) for q in (1, 2)]
        for t in threads:
            t.start()
        received = {cid: [] for cid in subscribers}
        qos2_ids = {cid: set() for cid in subscribers}
        for _ in range(6):  # each subscriber reconnects, reads a little, drops off
            for cid in subscribers:
                c, _ = self.subscriber(cid)
                received[cid] += receive(c, 50, time.monotonic() + 5, qos2_ids[cid])
                c.close()  # no DISCONNECT: a lost connection
        stop.set()
        for t in threads:
            t.join(WAIT)
        for cid in subscribers:
            c, _ = self.subscriber(cid)
            want = len(acked[1]) + len(acked[2])
            deadline = time.monotonic() + WAIT
            # Read until every acknowledged message arrived (or the deadline).
            while True:
                have = {p.payload for p in received[cid]}
                if all(m.encode() in have for q in (1, 2) for m in acked[q]):
                    break
                more = receive(c, 1, deadline, qos2_ids[cid])
                if not more:
                    break
                received[cid] += more
            payloads = [p.payload for p in received[cid]]
            for m in acked[1]:
                self.assertIn(m.encode(), payloads, "%s lost QoS 1 %s" % (cid, m))
            for m in acked[2]:
                self.assertEqual(payloads.count(m.encode()), 1,
                                 "%s: QoS 2 %s exactly once" % (cid, m))
            self.assertGreater(want, 0)
            c.send(raw.disconnect())
            c.close()

    def test_rss_does_not_grow_per_waiting_message(self):
        sessions = int(os.environ.get("SLUICE_BACKLOG_SESSIONS", "300"))
        messages = int(os.environ.get("SLUICE_BACKLOG_MESSAGES", "4000"))
        # A sanitized build keeps freed memory in quarantine: keep it small, so RSS is what
        # the broker holds.
        self.broker.stop()
        saved = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = ((saved + ":") if saved else "") + \
            "quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
        try:
            self.broker = self.start()
        finally:
            if saved is None:
                del os.environ["ASAN_OPTIONS"]
            else:
                os.environ["ASAN_OPTIONS"] = saved
        payload = "x" * 64

        def publish_all(tag):
            pub = Publisher(self.broker.mqtt_port, "mem-pub-" + tag, window=200)
            for n in range(messages):
                pub.publish("mem/%d" % (n % 10), payload)
            pub.finish()
            self.assertEqual(len(pub.acked), messages)

        # The same traffic with nobody waiting, then with every session offline on mem/#:
        # the difference is what the backlog costs. A copy per session and message would be
        # sessions x messages x (64 bytes of payload and a queue entry).
        start = rss_kib(self.broker.proc.pid)
        publish_all("alone")
        alone = rss_kib(self.broker.proc.pid) - start
        for i in range(sessions):
            c, _ = self.subscriber("mem-%d" % i, filt="mem/#", clean=True)
            c.send(raw.disconnect())
            self.assertTrue(c.closed())
        before = rss_kib(self.broker.proc.pid)
        publish_all("backlog")
        waiting = rss_kib(self.broker.proc.pid) - before
        # Copies would cost at least sessions x min(messages, max_queued_messages) x 64 bytes
        # (19 MB at the defaults); cursors cost nothing per message.
        self.assertLess(waiting - alone, 8 * 1024,
                        "RSS grew %d KiB for %d x %d waiting messages, %d KiB without them"
                        % (waiting, sessions, messages, alone))
        for i in (0, sessions - 1):
            self.assertEqual(self.session_info("mem-%d" % i)["queued_messages"], 0)


class SubscribeWhileCatchingUp(unittest.TestCase):
    """A SUBSCRIBE made while a session still catches up from its cursor gets only messages
    received after it, not the new filter's older records between the cursor and the log end."""

    def test_a_new_filter_gets_nothing_published_before_it(self):
        data_dir = tempfile.mkdtemp(prefix="sluice-backlog-subscribe-")
        # One partition: the new filter's older records lie behind the old filter's, in log order.
        rules = '{"ingest_rules": [{"filter": "#", "log_topic": "mqtt", "partitions": 1}]}'
        broker = Broker(data_dir=data_dir, config=rules).start()
        try:
            port = broker.mqtt_port
            c = raw.RawClient(port)
            self.assertEqual(c.connect("late", clean=True, plist=[(SESSION_EXPIRY, 600)]).rc, 0)
            self.assertEqual(c.subscribe(1, [("old/#", 1)]).reasons, [1])
            c.send(raw.disconnect())
            self.assertTrue(c.closed())
            old = 1500  # more than the queue (1,000) the replay may fill before the SUBSCRIBE
            pub = Publisher(port, "late-pub")
            for n in range(old):
                pub.publish("old/x", "old-%d" % n)
            for n in range(50):
                pub.publish("new/x", "before-%d" % n)
            pub.finish()
            self.assertEqual(len(pub.acked), old + 50)

            # CONNECT and SUBSCRIBE in one write, one message in flight at a time: the SUBSCRIBE
            # is handled while the replay is still among the old/x records.
            c = raw.RawClient(port)
            c.send(raw.connect("late", clean=False,
                               plist=[(SESSION_EXPIRY, 600), (raw.P_RECEIVE_MAXIMUM, 1)]) +
                   raw.subscribe(2, [("new/#", 1)]))
            ack = c.read(WAIT)
            self.assertEqual(ack.type, raw.CONNACK)
            self.assertTrue(ack.session_present)
            got, suback = [], None
            deadline = time.monotonic() + WAIT
            while (suback is None or len(got) < old) and time.monotonic() < deadline:
                p = c.read(max(deadline - time.monotonic(), 0.001))
                if p.type == raw.SUBACK:
                    suback = p
                elif p.type == raw.PUBLISH:
                    c.send(raw.ack(raw.PUBACK, p.pid))
                    got.append(p.payload)
            self.assertIsNotNone(suback)
            self.assertEqual(suback.reasons, [1])
            # Published after the SUBSCRIBE: these match it. They follow the older new/x
            # records in the log, so any of those delivered would have come first.
            pub = Publisher(port, "late-pub-2")
            for n in range(5):
                pub.publish("new/x", "after-%d" % n)
            pub.finish()
            got += [p.payload for p in receive(c, 5, time.monotonic() + WAIT)]
            self.assertEqual(got, [b"old-%d" % n for n in range(old)] +
                             [b"after-%d" % n for n in range(5)])
            c.send(raw.disconnect())
            c.close()
        finally:
            broker.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


class CoveredGroups(unittest.TestCase):
    """The router skips offline sessions whose cursors cover a message as a group (docs/routing.md,
    "Covered groups"): the skips show in sluice_backlog_covered_skips_total, and every session
    still gets every message, in order, once; a QoS 0 subscription beside the QoS 1 one adds
    no copy."""

    def test_skipped_sessions_still_get_every_message_once(self):
        data_dir = tempfile.mkdtemp(prefix="sluice-covered-")
        broker = Broker(data_dir=data_dir, listeners=("mqtt", "http")).start()
        url = "http://127.0.0.1:%d/metrics" % broker.ports["http"]

        def skips():
            with urllib.request.urlopen(url, timeout=10) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("sluice_backlog_covered_skips_total "):
                        return int(float(line.split()[1]))
            return 0
        try:
            sessions = 20
            for i in range(sessions):
                c = raw.RawClient(broker.mqtt_port)
                self.assertEqual(c.connect("cov-%d" % i, clean=True,
                                           plist=[(SESSION_EXPIRY, 600)]).rc, 0)
                subs = [("cov/#", 1)] + ([("cov/a", 0)] if i % 2 else [])
                self.assertEqual(c.subscribe(1, subs).reasons, [q for _, q in subs])
                c.send(raw.disconnect())
                self.assertTrue(c.closed())
            self.assertEqual(skips(), 0)
            # The sessions join their groups once their cursor snapshots are durable: publish
            # until every one of them was skipped (an event with a deadline, no sleep).
            pub = Publisher(broker.mqtt_port, "cov-pub", window=1)
            sent = []
            deadline = time.monotonic() + WAIT
            while skips() < sessions and time.monotonic() < deadline:
                for topic in ("cov/a", "cov/b"):
                    sent.append((topic, "%s-%d" % (topic, len(sent))))
                    pub.publish(*sent[-1])
                pub.finish()
                pub = Publisher(broker.mqtt_port, "cov-pub", window=1)
            pub.finish()
            self.assertGreaterEqual(skips(), sessions, "no covered group was skipped")
            deadline = time.monotonic() + WAIT
            online = []

            def check(got, want):
                # Everything, with the merged QoS 1: a QoS 0 copy beside the log's would come
                # first (the memory queue goes before the cursors) and show here.
                self.assertEqual(sorted((p.topic, p.payload.decode()) for p in got), sorted(want))
                self.assertTrue(all(p.qos == 1 for p in got), [p.qos for p in got])
                for topic in ("cov/a", "cov/b"):
                    self.assertEqual([p.payload.decode() for p in got if p.topic == topic],
                                     [m for t, m in want if t == topic], "in order on " + topic)
            for i in range(sessions):
                c = raw.RawClient(broker.mqtt_port)
                self.assertTrue(c.connect("cov-%d" % i, clean=False,
                                          plist=[(SESSION_EXPIRY, 600)]).session_present)
                check(receive(c, len(sent), deadline), sent)
                online.append(c)
            # Online again (still pulling from the log): the odd sessions' QoS 0 subscription
            # to cov/a is offered each message while their QoS 1 one is skipped.
            more = [("cov/a", "live-%d" % n) for n in range(5)]
            pub = Publisher(broker.mqtt_port, "cov-pub")
            for m in more:
                pub.publish(*m)
            pub.finish()
            for c in online:
                check(receive(c, len(more), deadline), more)
                c.send(raw.disconnect())
                c.close()
        finally:
            broker.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


class TopicSummaries(unittest.TestCase):
    """A session resuming on a narrow filter passes over the stretches of the log that hold none
    of its topics without reading them (docs/offline-backlog-design.md, "Topic summaries"):
    sluice_backlog_skipped_unread_total moves, and it still gets exactly its messages, in
    order, while a session on `#` gets everything."""

    def test_a_narrow_session_skips_the_rest_and_loses_nothing(self):
        data_dir = tempfile.mkdtemp(prefix="sluice-summary-")
        broker = Broker(data_dir=data_dir, listeners=("mqtt", "http")).start()

        def metric(name):
            url = "http://127.0.0.1:%d/metrics" % broker.ports["http"]
            with urllib.request.urlopen(url, timeout=10) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith(name + " "):
                        return int(float(line.split()[1]))
            return 0
        try:
            for cid, filt in (("narrow", "rare/+"), ("wide", "#")):
                c = raw.RawClient(broker.mqtt_port)
                self.assertEqual(c.connect(cid, clean=True, plist=[(SESSION_EXPIRY, 600)]).rc, 0)
                self.assertEqual(c.subscribe(1, [(filt, 1)]).reasons, [1])
                c.send(raw.disconnect())
                self.assertTrue(c.closed())
            pub = Publisher(broker.mqtt_port, "summary-pub")
            sent = []
            for n in range(3000):
                sent.append(("noise/%d" % (n % 10), "n-%d" % n))
                if n % 300 == 150:
                    sent.append(("rare/x", "r-%d" % n))
            for m in sent:
                pub.publish(*m)
            pub.finish()
            self.assertEqual(len(pub.acked), len(sent))
            rare = [m for m in sent if m[0].startswith("rare/")]
            deadline = time.monotonic() + WAIT
            c = raw.RawClient(broker.mqtt_port)
            self.assertTrue(c.connect("narrow", clean=False,
                                      plist=[(SESSION_EXPIRY, 600)]).session_present)
            got = receive(c, len(rare), deadline)
            self.assertEqual([(p.topic, p.payload.decode()) for p in got], rare)
            # Nothing else is coming: the next message it gets is one published now.
            end = Publisher(broker.mqtt_port, "summary-end")
            end.publish("rare/end", "end")
            end.finish()
            self.assertEqual([p.payload for p in receive(c, 1, deadline)], [b"end"])
            self.assertGreater(metric("sluice_backlog_skipped_unread_total"), 0)
            c.send(raw.disconnect())
            c.close()
            w = raw.RawClient(broker.mqtt_port)
            self.assertTrue(w.connect("wide", clean=False,
                                      plist=[(SESSION_EXPIRY, 600)]).session_present)
            got = receive(w, len(sent) + 1, deadline)
            by_topic = {}
            for p in got:
                by_topic.setdefault(p.topic, []).append(p.payload.decode())
            want = {}
            for t, m in sent + [("rare/end", "end")]:
                want.setdefault(t, []).append(m)
            self.assertEqual(by_topic, want)  # everything, once, in order per topic
            w.send(raw.disconnect())
            w.close()
        finally:
            broker.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


class KafkaRecordsInTheIngestTopic(unittest.TestCase):
    """Records a Kafka producer writes into an ingest rule's log topic with an `mqtt.topic`
    header are never routed live (only egress rules publish them, docs/ingest.md "Egress"),
    so the replay of an offline session's backlog skips them too: the session gets the MQTT
    publishes only, and with an egress rule on the log topic the Kafka record exactly once."""

    def start(self, config=None):
        self.data_dir = tempfile.mkdtemp(prefix="sluice-backlog-kafka-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)
        self.broker = Broker(data_dir=self.data_dir, config=config,
                             listeners=("mqtt", "kafka", "http")).start()
        self.addCleanup(self.broker.stop)
        self.bootstrap = "127.0.0.1:%d" % self.broker.ports["kafka"]

    def offline_session(self, cid, filt):
        c = raw.RawClient(self.broker.mqtt_port)
        self.assertEqual(c.connect(cid, clean=True, plist=[(SESSION_EXPIRY, 600)]).rc, 0)
        self.assertEqual(c.subscribe(1, [(filt, 1)]).reasons, [1])
        c.send(raw.disconnect())
        self.assertTrue(c.closed())
        c.close()

    def produce(self, topic, payload, idempotent):
        from confluent_kafka import Producer
        # Keyed by the MQTT topic with murmur2, as the default rule keys and partitions its
        # records: the Kafka records share the MQTT publishes' partition (one order).
        p = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": idempotent,
                      "partitioner": "murmur2_random"})
        errors = []
        p.produce("mqtt", value=payload, key=topic.encode(),
                  headers=[("mqtt.topic", topic.encode()), ("mqtt.qos", b"1")],
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
        self.assertEqual(p.flush(WAIT), 0)
        self.assertEqual(errors, [])

    def metric(self, name):
        url = "http://127.0.0.1:%d/metrics" % self.broker.ports["http"]
        with urllib.request.urlopen(url, timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
        return None

    def write_backlog(self, topic):
        self.produce(topic, b"kafka-1", idempotent=True)
        pub = Publisher(self.broker.mqtt_port, "kafka-mix-pub")
        pub.publish(topic, "mqtt-1")
        pub.finish()
        self.produce(topic, b"kafka-2", idempotent=False)  # as kcat -P writes: no producer id
        pub = Publisher(self.broker.mqtt_port, "kafka-mix-pub")
        pub.publish(topic, "end")
        pub.finish()
        self.assertEqual(pub.acked, ["end"])

    def reconnect(self, cid, until, times):
        """Everything the session gets up to the `times`-th message `until`."""
        c = raw.RawClient(self.broker.mqtt_port)
        self.assertTrue(c.connect(cid, clean=False, plist=[(SESSION_EXPIRY, 600)]).session_present)
        deadline = time.monotonic() + WAIT
        got = []
        while [p.payload for p in got].count(until) < times:
            more = receive(c, 1, deadline)
            self.assertTrue(more, "no more messages after %r" % got)
            got += more
        c.send(raw.disconnect())
        c.close()
        return [p.payload for p in got]

    def test_replay_delivers_only_what_mqtt_published(self):
        self.start()
        self.offline_session("kx", "kx/#")
        self.write_backlog("kx/a")
        # Only the end sentinel's position tells: had the Kafka records been replayed, they
        # would come in log order before it.
        self.assertEqual(self.reconnect("kx", b"end", 1), [b"mqtt-1", b"end"])
        self.assertEqual(self.metric("sluice_backlog_not_ingested_total"), 2)

    def test_with_an_egress_rule_the_kafka_record_arrives_once(self):
        # The default ingest rule logs into `mqtt` and the egress rule publishes `mqtt` to
        # MQTT: an MQTT publish reaches its subscribers twice (live or replayed, and through
        # egress; the broker warns at start), a Kafka record once (through egress only).
        self.start(json.dumps({"egress_rules": [
            {"log_topic": "mqtt", "topic_from_header": True, "mqtt_topic": "kafka/{key}",
             "partitions": 4}]}))
        self.offline_session("ke", "ke/#")
        self.write_backlog("ke/a")
        # Egress has published every record (queued for the offline session) before it comes
        # back: its lag is 0 on every partition.
        url = "http://127.0.0.1:%d/api/v1/rules" % self.broker.ports["http"]
        deadline = time.monotonic() + WAIT
        while True:
            with urllib.request.urlopen(url, timeout=10) as r:
                rule = json.loads(r.read())["egress"][0]
            if all(p["lag"] == 0 for p in rule["positions"]):
                break
            self.assertLess(time.monotonic(), deadline, rule)
        got = self.reconnect("ke", b"end", 2)
        self.assertEqual(sorted(got), sorted([b"kafka-1", b"kafka-2", b"mqtt-1", b"mqtt-1",
                                              b"end", b"end"]), got)


class OfflineBacklogBench(unittest.TestCase):
    """loadtest/offline_backlog/rss_bench.py at a small size: the script works and the sampled
    sessions get all their messages in order (its exit status); no figure is checked."""

    def run_bench(self, *extra):
        script = os.path.join(os.path.dirname(__file__), "..", "..", "loadtest",
                              "offline_backlog", "rss_bench.py")
        binary = os.environ.get("SLUICE_BIN", os.path.join(os.path.dirname(__file__),
                                                              "../../build/bin/sluice"))
        out = subprocess.run(["/usr/bin/python3", script, "--broker", "sluice", "--sluice", binary,
                              "--no-baseline", "--connections", "2", "--concurrency", "50"]
                             + list(extra), capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        self.assertEqual(result["backlog"]["problems"], [])
        return result

    def test_own_topics(self):
        r = self.run_bench("--sessions", "200", "--messages", "4000", "--sample", "10")
        self.assertEqual(r["backlog"]["replay_sessions"], 10)

    def test_shared_wildcards(self):
        r = self.run_bench("--sessions", "200", "--messages", "3000", "--wildcards", "3",
                           "--sample", "4")
        self.assertEqual(r["backlog"]["replay_sessions"], 4)


class BacklogLimits(unittest.TestCase):
    """backlog_max_messages: a resume replays the oldest N, the rest is skipped and counted."""

    def test_a_resume_replays_at_most_the_limit_oldest_first(self):
        data_dir = tempfile.mkdtemp(prefix="sluice-backlog-limits-")
        broker = Broker(data_dir=data_dir, listeners=("mqtt", "http"),
                        config='{"mqtt": {"backlog_max_messages": 5}}').start()
        try:
            c = raw.RawClient(broker.mqtt_port)
            self.assertEqual(c.connect("limited", clean=True, plist=[(SESSION_EXPIRY, 600)]).rc, 0)
            self.assertEqual(c.subscribe(1, [("lim/#", 1)]).reasons, [1])
            c.send(raw.disconnect())
            self.assertTrue(c.closed())
            pub = Publisher(broker.mqtt_port, "limits-pub")
            for n in range(20):
                pub.publish("lim/t", "m%d" % n)
            pub.finish()
            c = raw.RawClient(broker.mqtt_port)
            self.assertTrue(c.connect("limited", clean=False,
                                      plist=[(SESSION_EXPIRY, 600)]).session_present)
            got = receive(c, 20, time.monotonic() + 2)  # only 5 come: the deadline ends it
            self.assertEqual([p.payload for p in got], [b"m%d" % n for n in range(5)])
            url = "http://127.0.0.1:%d/metrics" % broker.ports["http"]
            with urllib.request.urlopen(url, timeout=10) as r:
                text = r.read().decode()
            over = [l for l in text.splitlines() if l.startswith("sluice_backlog_over_limits_total")]
            self.assertEqual(over, ["sluice_backlog_over_limits_total 15"], over)
            c.send(raw.disconnect())
            c.close()
        finally:
            broker.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
