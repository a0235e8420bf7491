"""Egress (docs/ingest.md, "Egress"): records Kafka producers write to a log topic with an
egress rule reach MQTT subscribers.

- an idempotent confluent-kafka producer (enable.idempotence, retries) writes to `commands`
  with key dev42; a paho subscriber on devices/dev42/commands receives each record exactly
  once, with the payload, QoS and MQTT 5 properties the headers say;
- an `mqtt.topic` header overrides the template; kcat -P produces too;
- a persistent session that is offline receives the record when it reconnects;
- records produced before a rule existed are not replayed; a clean restart between produce
  batches neither loses nor repeats, a SIGKILL loses nothing (at least once);
- an ingest rule that logs into the egress topic does not loop;
- the admin API and /metrics show the rule; bad rules exit 2 naming the key.

No sleeps: every wait is for an event with a deadline. "Exactly once" is checked with a
sentinel record produced last to the same partition: everything before it has arrived when
it does.
"""
import json
import subprocess
import tempfile
import shutil
import time
import unittest
import urllib.request

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from clients import Paho, props
from harness import Broker, BrokerTestCase, SLUICE_BIN, run_cli

WAIT = 30

RULES = json.dumps({"egress_rules": [
    {"log_topic": "commands", "mqtt_topic": "devices/{key}/commands", "qos": 1,
     "topic_from_header": True, "partitions": 2},
]})


def producer(bootstrap):
    # murmur2: the partitioner of Kafka's Java client and of Sluice's ingest rules, so a key
    # lands where an MQTT publish with that key does.
    return Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                     "retries": 10, "linger.ms": 5, "partitioner": "murmur2_random"})


def produce(bootstrap, records):
    """records: (key, value, headers) tuples; returns once every one is acknowledged."""
    p = producer(bootstrap)
    errors = []
    for key, value, headers in records:
        p.produce("commands", value=value, key=key, headers=headers or None,
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert p.flush(WAIT) == 0
    assert errors == [], errors


def receive_until(client, last_payload, timeout=WAIT):
    """Every message up to and including the one whose payload is last_payload."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        m = client.get(max(0.1, deadline - time.monotonic()))
        got.append(m)
        if m.payload == last_payload:
            return got


def fresh(messages):
    """Payloads of the messages that are not redeliveries (DUP): a persistent session resends
    what it had sent but not seen acknowledged before a restart (MQTT's own at least once,
    docs/mqtt.md); what egress publishes is always a new message."""
    return [m.payload for m in messages if not m.dup]


def log_dump(data_dir, topic):
    out = subprocess.run([SLUICE_BIN, "log-dump", "--data-dir", data_dir, "--topic", topic],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line]


def get_json(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return json.loads(r.read())


def get_text(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return r.read().decode()


class Egress(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(config=RULES, listeners=("mqtt", "kafka", "http")).start()
        cls.bootstrap = "127.0.0.1:%d" % cls.broker.ports["kafka"]

    def sub(self, topic, qos=2, **kw):
        c = Paho(self.broker.mqtt_port, **kw)
        c.subscribe(topic, qos)
        return c

    def test_idempotent_producer_reaches_subscriber_once_with_properties(self):
        sub = self.sub("devices/dev42/commands")
        try:
            records = []
            for i in range(30):
                headers = [("mqtt.qos", str(i % 3).encode()),
                           ("mqtt.content_type", b"text/plain"),
                           ("mqtt.response_topic", b"replies/dev42"),
                           ("mqtt.correlation_data", b"\x00corr-%d" % i),
                           ("mqtt.user.seq", str(i).encode())]
                records.append((b"dev42", b"cmd-%d" % i, headers))
            produce(self.bootstrap, records)
            got = []
            want = {b"cmd-%d" % i for i in range(30)}
            deadline = time.monotonic() + WAIT
            while not want <= {m.payload for m in got}:
                got.append(sub.get(max(0.1, deadline - time.monotonic())))
            # QoS 2 messages reach the application at PUBREL, so arrival order is not checked;
            # a sentinel produced after everything shows whether anything came twice.
            produce(self.bootstrap, [(b"dev42", b"end", [])])
            got += receive_until(sub, b"end")
            self.assertEqual(sorted(m.payload for m in got),
                             sorted([b"cmd-%d" % i for i in range(30)] + [b"end"]))
            for m in got:
                if m.payload == b"end":
                    self.assertEqual(m.qos, 1)  # the rule's QoS without an mqtt.qos header
                    continue
                i = int(m.payload.split(b"-")[1])
                self.assertEqual(m.topic, "devices/dev42/commands")
                self.assertEqual(m.qos, i % 3)
                p = m.properties
                self.assertEqual(p.ContentType, "text/plain")
                self.assertEqual(p.ResponseTopic, "replies/dev42")
                self.assertEqual(p.CorrelationData, b"\x00corr-%d" % i)
                self.assertEqual(p.UserProperty, [("seq", str(i))])
        finally:
            sub.stop()

    def test_mqtt_topic_header_overrides_the_template_and_kcat_produces(self):
        other = self.sub("elsewhere/#")
        templ = self.sub("devices/dev9/commands")
        try:
            produce(self.bootstrap, [(b"dev9", b"redirected", [("mqtt.topic", b"elsewhere/x")])])
            r = run_cli(["kcat", "-P", "-b", self.bootstrap, "-t", "commands", "-K", ":",
                         "-H", "mqtt.retain=0", "-H", "mqtt.user.via=kcat"],
                        input="dev9:from-kcat\n", timeout=WAIT)
            self.assertEqual(r.returncode, 0, r.stderr)
            m = other.get(WAIT)
            self.assertEqual((m.topic, m.payload), ("elsewhere/x", b"redirected"))
            m = templ.get(WAIT)
            # The redirected record did not also go to the template's topic: the next one here
            # is kcat's, produced after it to the same partition.
            self.assertEqual((m.topic, m.payload), ("devices/dev9/commands", b"from-kcat"))
            self.assertEqual(m.properties.UserProperty, [("via", "kcat")])
        finally:
            other.stop()
            templ.stop()

    def test_offline_persistent_session_receives_on_reconnect(self):
        expiry = props("CONNECT", SessionExpiryInterval=300)
        c = Paho(self.broker.mqtt_port, client_id="dev7", clean=False, properties=expiry)
        c.subscribe("devices/dev7/commands", 1)
        c.stop()
        r = run_cli(["kcat", "-P", "-b", self.bootstrap, "-t", "commands", "-K", ":"],
                    input="dev7:while-offline\n", timeout=WAIT)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Wait until egress has published it (the admin API's position passed the record).
        port = self.broker.ports["http"]
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            rule = get_json(port, "/api/v1/rules")["egress"][0]
            if all(p["lag"] == 0 for p in rule["positions"]):
                break
        c = Paho(self.broker.mqtt_port, client_id="dev7", clean=False, properties=expiry)
        try:
            self.assertEqual(c.connack[0]["session present"], 1)
            m = c.get(WAIT)
            self.assertEqual((m.topic, m.payload, m.qos), ("devices/dev7/commands", b"while-offline", 1))
        finally:
            c.stop()

    def test_admin_api_and_metrics_show_the_rule(self):
        sub = self.sub("devices/m1/commands")
        try:
            produce(self.bootstrap, [(b"m1", b"metric-me", []),
                                     (None, b"no-key", [])])  # {key} without a key: skipped
            self.assertEqual(sub.get(WAIT).payload, b"metric-me")
        finally:
            sub.stop()
        port = self.broker.ports["http"]
        deadline = time.monotonic() + WAIT
        while True:
            rules = get_json(port, "/api/v1/rules")["egress"]
            if rules[0].get("records_skipped", {}).get("key_missing", 0) >= 1:
                break
            self.assertLess(time.monotonic(), deadline, rules)
        r = rules[0]
        self.assertEqual(r["log_topic"], "commands")
        self.assertEqual(r["mqtt_topic"], "devices/{key}/commands")
        self.assertTrue(r["topic_from_header"])
        self.assertEqual(r["qos"], 1)
        self.assertGreaterEqual(r["records_published"], 1)
        self.assertEqual(sorted(p["partition"] for p in r["positions"]), [0, 1])
        text = get_text(port, "/metrics")
        self.assertIn('sluice_egress_records_total{log_topic="commands"}', text)
        self.assertIn('sluice_egress_skipped_total{log_topic="commands",reason="key_missing"}', text)
        self.assertIn('sluice_egress_lag_records{log_topic="commands",partition="0"}', text)


class EgressAcrossRestarts(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="sluice-egress-")
        self.broker = None

    def tearDown(self):
        if self.broker:
            self.broker.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def start(self, config=RULES):
        self.broker = Broker(config=config, data_dir=self.data_dir,
                             listeners=("mqtt", "kafka")).start()
        return "127.0.0.1:%d" % self.broker.ports["kafka"]

    def session(self):
        c = Paho(self.broker.mqtt_port, client_id="restart-sub", clean=False,
                 properties=props("CONNECT", SessionExpiryInterval=600))
        c.subscribe("devices/r1/commands", 1)
        return c

    def test_not_replayed_before_the_rule_then_restarts(self):
        # No egress rule yet: the topic exists and holds records egress must never publish.
        bootstrap = self.start(config="{}")
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("commands", 2, 1)])["commands"].result(timeout=WAIT)
        produce(bootstrap, [(b"r1", b"old-%d" % i, []) for i in range(5)])
        self.broker.stop_checked()

        bootstrap = self.start()
        sub = self.session()
        produce(bootstrap, [(b"r1", b"a-%d" % i, []) for i in range(10)])
        got = fresh(receive_until(sub, b"a-9"))
        self.assertEqual(got, [b"a-%d" % i for i in range(10)])
        sub.stop()
        # A clean stop records every position: nothing is published twice after it.
        self.broker.stop_checked()

        bootstrap = self.start()
        sub = self.session()
        produce(bootstrap, [(b"r1", b"b-%d" % i, []) for i in range(10)])
        got = fresh(receive_until(sub, b"b-9"))
        self.assertEqual(got, [b"b-%d" % i for i in range(10)])

        # SIGKILL after publishing: nothing is lost; records after the last recorded position
        # may come again (at least once).
        produce(bootstrap, [(b"r1", b"c-%d" % i, []) for i in range(10)])
        receive_until(sub, b"c-9")
        sub.stop()
        self.broker.kill()
        bootstrap = self.start()
        sub = self.session()
        produce(bootstrap, [(b"r1", b"d-%d" % i, []) for i in range(10)])
        got = fresh(receive_until(sub, b"d-9"))
        sub.stop()
        self.assertEqual(got[-10:], [b"d-%d" % i for i in range(10)])
        self.assertTrue(set(got[:-10]) <= {b"c-%d" % i for i in range(10)}, got)
        self.broker.stop_checked()

    def test_ingest_rule_into_the_egress_topic_does_not_loop(self):
        cfg = json.dumps({
            "ingest_rules": [{"filter": "loop/#", "log_topic": "commands", "partitions": 2},
                             {"filter": "#", "log": False}],
            "egress_rules": [{"log_topic": "commands", "topic_from_header": True,
                              "mqtt_topic": "devices/{key}/commands"}]})
        bootstrap = self.start(config=cfg)
        self.assertIn("does not loop", self.broker.output())
        sub = Paho(self.broker.mqtt_port)
        sub.subscribe("loop/#", 1)
        pub = Paho(self.broker.mqtt_port)
        pub.publish("loop/a", b"once", qos=1)
        pub.stop()
        # Keyed by MQTT topic (the ingest rule's default), so the sentinel shares the partition.
        produce(bootstrap, [(b"loop/a", b"end", [("mqtt.topic", b"loop/a")])])
        got = [m.payload for m in receive_until(sub, b"end")]
        sub.stop()
        # Live, then once through egress; never logged again.
        self.assertEqual(got, [b"once", b"once", b"end"])
        self.broker.stop_checked()
        self.assertEqual([r["value"] for r in log_dump(self.data_dir, "commands")],
                         ["once", "end"])


class BadEgressRules(unittest.TestCase):
    def check(self, rules, want):
        d = tempfile.mkdtemp(prefix="sluice-egress-bad-")
        try:
            path = d + "/c.json"
            with open(path, "w") as f:
                f.write(json.dumps({"egress_rules": rules}))
            r = run_cli([SLUICE_BIN, "--config", path, "--data-dir", d, "--mqtt", "127.0.0.1:0",
                         "--kafka", "127.0.0.1:0", "--http", "127.0.0.1:0"], timeout=WAIT)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn(want, r.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_bad_rules_exit_2_naming_the_key(self):
        self.check([{"log_topic": "c", "mqtt_topic": "a", "qos": 3}],
                   "config key egress_rules[0].qos: must be 0, 1 or 2")
        self.check([{"log_topic": "c", "mqtt_topic": "a"}, {"log_topic": "d", "mqtt_topic": "x/{id}"}],
                   "egress_rules[1].mqtt_topic: unknown placeholder {id}")
        self.check([{"log_topic": "c"}], "egress_rules[0].mqtt_topic: required")
        self.check({"log_topic": "c"}, "egress_rules: must be an array")


if __name__ == "__main__":
    unittest.main()
