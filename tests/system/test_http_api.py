"""The HTTP operations surface (docs/operations.md): /health, /ready, /metrics (checked with
promtool, Debian's `prometheus` package, and against MQTT traffic), every /api/v1 endpoint,
the live-stats stream, and the errors (404, 400, 405, 409, the loopback rule). Deleting
topics: test_topic_delete.py; authentication: test_admin_auth.py."""
import json
import os
import shutil
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
import socket
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker, SLUICE_BIN, run_cli  # noqa: E402
from clients import Paho  # noqa: E402
import mqtt_raw  # noqa: E402

DEADLINE = 15.0


class Http:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def request(self, method, path, body=None, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def json(self, method, path, body=None, raw=None, expect=200):
        status, headers, text = self.request(method, path, body, raw)
        if status != expect:
            raise AssertionError("%s %s: %d (expected %d): %s" % (method, path, status, expect, text))
        assert headers.get("Content-Type", "").startswith("application/json"), headers
        return json.loads(text)

    def metrics(self):
        status, headers, text = self.request("GET", "/metrics")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
        return text


def metric(text, name, **labels):
    """The value of one sample in /metrics text (None when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if "{" in head:
            n, _, rest = head.partition("{")
            got = dict(kv.split("=", 1) for kv in rest.rstrip("}").split(","))
            got = {k: v.strip('"') for k, v in got.items()}
        else:
            n, got = head, {}
        if n == name and all(got.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


def wait_for(pred, what, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class HttpApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(listeners=("mqtt", "http", "kafka")).start()
        cls.http = Http(cls.broker.ports["http"])
        cls.port = cls.broker.mqtt_port

    @classmethod
    def tearDownClass(cls):
        try:
            cls.broker.stop_checked()
        finally:
            cls.broker.cleanup()

    def test_health_and_ready(self):
        self.assertEqual(self.http.json("GET", "/health"), {"status": "ok"})
        self.assertEqual(self.http.json("GET", "/ready")["status"], "ready")

    def test_metrics_pass_promtool_and_move_with_traffic(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool (Debian package prometheus) is needed")
        before = self.http.metrics()
        check = subprocess.run([promtool, "check", "metrics"], input=before, text=True,
                               capture_output=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

        sub = Paho(self.port, "metrics-sub", version=4)
        sub.subscribe("metrics/#", qos=1)
        pub = Paho(self.port, "metrics-pub", version=5)
        for i in range(5):
            pub.publish("metrics/t", b"x" * 100, qos=1)
        for i in range(5):
            sub.get()
        try:
            def moved():
                m = self.http.metrics()
                pub_q1 = metric(m, "sluice_messages_published_total", qos="1") or 0
                del_q1 = metric(m, "sluice_messages_delivered_total", qos="1") or 0
                b_pub = metric(before, "sluice_messages_published_total", qos="1") or 0
                b_del = metric(before, "sluice_messages_delivered_total", qos="1") or 0
                return m if pub_q1 - b_pub >= 5 and del_q1 - b_del >= 5 else None
            m = wait_for(moved, "publish counters")
            self.assertEqual(metric(m, "sluice_connections", listener="mqtt", protocol="3.1.1"), 1)
            self.assertEqual(metric(m, "sluice_connections", listener="mqtt", protocol="5.0"), 1)
            self.assertGreaterEqual(metric(m, "sluice_connections_total", listener="mqtt", protocol="5.0"), 1)
            self.assertGreaterEqual(metric(m, "sluice_mqtt_packets_received_total", type="publish")
                                    - (metric(before, "sluice_mqtt_packets_received_total", type="publish") or 0), 5)
            self.assertGreaterEqual(metric(m, "sluice_mqtt_packet_received_bytes_total", type="publish")
                                    - (metric(before, "sluice_mqtt_packet_received_bytes_total", type="publish") or 0), 500)
            self.assertGreaterEqual(metric(m, "sluice_mqtt_packets_sent_total", type="puback"), 5)
            self.assertGreaterEqual(metric(m, "sluice_mqtt_packets_sent_total", type="connack"), 2)
            self.assertGreaterEqual(metric(m, "sluice_subscriptions"), 1)
            self.assertGreaterEqual(metric(m, "sluice_sessions", state="online"), 2)
            # Every publish goes to log topic "mqtt" (the default ingest rule), fsynced.
            self.assertGreaterEqual(metric(m, "sluice_store_appended_batches_total", topic="mqtt"), 5)
            self.assertGreaterEqual(metric(m, "sluice_store_fsyncs_total", topic="mqtt"), 1)
            self.assertGreaterEqual(metric(m, "sluice_store_fsync_duration_seconds_count", topic="mqtt"), 1)
            ends = [metric(m, "sluice_log_end_offset", topic="mqtt", partition=str(p)) for p in range(4)]
            self.assertGreaterEqual(sum(ends), 5)
            self.assertGreater(metric(m, "process_resident_memory_bytes"), 1 << 20)
            self.assertIsNotNone(metric(m, "process_cpu_seconds_total"))
            check = subprocess.run([promtool, "check", "metrics"], input=m, text=True,
                                   capture_output=True, timeout=30)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            # No client id in any label: the series stay bounded.
            self.assertNotIn("metrics-pub", m)
        finally:
            sub.stop()
            pub.stop()

    def test_clients_sessions_subscriptions(self):
        a = Paho(self.port, "api-a", version=5,
                 properties=_expiry(300))
        b = Paho(self.port, "api-b", version=4)
        a.subscribe("api/+/x", qos=1)
        try:
            page = self.http.json("GET", "/api/v1/clients?limit=1")
            self.assertEqual(len(page["clients"]), 1)
            self.assertIsNotNone(page["next"])
            ids = []
            after = ""
            while True:
                page = self.http.json("GET", "/api/v1/clients?limit=1&after=" + after)
                ids += [c["client_id"] for c in page["clients"]]
                if page["next"] is None:
                    break
                after = page["next"]
            self.assertIn("api-a", ids)
            self.assertIn("api-b", ids)
            self.assertEqual(ids, sorted(ids))

            c = self.http.json("GET", "/api/v1/clients/api-a")
            self.assertEqual(c["connection"]["protocol_version"], "5.0")
            self.assertEqual(c["connection"]["listener"], "mqtt")
            self.assertEqual([s["filter"] for s in c["subscription_list"]], ["api/+/x"])
            self.assertEqual(c["subscription_list"][0]["qos"], 1)

            subs = self.http.json("GET", "/api/v1/subscriptions")["subscriptions"]
            self.assertIn({"client_id": "api-a", "filter": "api/+/x"},
                          [{"client_id": s["client_id"], "filter": s["filter"]} for s in subs])

            # An online session cannot be deleted: 409; disconnecting it first works.
            err = self.http.json("DELETE", "/api/v1/sessions/api-a", expect=409)
            self.assertIn("online", err["error"])
            self.http.json("DELETE", "/api/v1/clients/api-a")
            self.assertTrue(a.disconnected.wait(10))

            def offline():
                s = self.http.json("GET", "/api/v1/sessions/api-a")
                return s if not s["online"] else None
            s = wait_for(offline, "api-a offline")
            self.assertEqual(s["subscriptions"], 1)
            self.assertEqual(s["expiry_interval"], 300)
            self.assertIn("api-a", [x["client_id"] for x in
                                    self.http.json("GET", "/api/v1/sessions?state=offline")["sessions"]])
            self.assertNotIn("api-a", [x["client_id"] for x in
                                       self.http.json("GET", "/api/v1/sessions?state=online")["sessions"]])
            self.http.json("GET", "/api/v1/clients/api-a", expect=404)
            self.http.json("DELETE", "/api/v1/clients/api-a", expect=404)
            self.http.json("DELETE", "/api/v1/sessions/api-a")
            self.http.json("GET", "/api/v1/sessions/api-a", expect=404)
            self.http.json("DELETE", "/api/v1/sessions/api-a", expect=404)
            self.http.json("GET", "/api/v1/sessions?state=sideways", expect=400)
            self.http.json("GET", "/api/v1/clients?limit=0", expect=400)
            self.http.json("GET", "/api/v1/clients?limit=abc", expect=400)
        finally:
            a.stop()
            b.stop()

    def test_disconnect_sends_0x98(self):
        raw = mqtt_raw.connected(self.port, "api-raw")
        try:
            self.http.json("DELETE", "/api/v1/clients/api-raw")
            d = raw.expect(mqtt_raw.DISCONNECT)
            self.assertEqual(d.rc, 0x98)  # administrative action
            self.assertTrue(raw.closed())
        finally:
            raw.close()

    def test_retained(self):
        p = Paho(self.port, "api-retain", version=5)
        try:
            p.publish("api/retained/one", b"hello", qos=1, retain=True)
            p.publish("api/retained/two", b"world", qos=0, retain=True)

            def listed():
                r = self.http.json("GET", "/api/v1/retained")["retained"]
                topics = [m["topic"] for m in r]
                return r if "api/retained/two" in topics and "api/retained/one" in topics else None
            r = wait_for(listed, "retained messages listed")
            one = next(m for m in r if m["topic"] == "api/retained/one")
            self.assertEqual(one["payload_preview"], "hello")
            self.assertEqual(one["payload_bytes"], 5)
            self.http.json("DELETE", "/api/v1/retained/api/retained/one")
            topics = [m["topic"] for m in self.http.json("GET", "/api/v1/retained")["retained"]]
            self.assertNotIn("api/retained/one", topics)
            self.assertIn("api/retained/two", topics)
            self.http.json("DELETE", "/api/v1/retained/api/retained/one", expect=404)
            self.http.json("DELETE", "/api/v1/retained/api/retained/two")
        finally:
            p.stop()

    def test_topics(self):
        topics = self.http.json("GET", "/api/v1/topics")["topics"]
        names = [t["name"] for t in topics]
        self.assertIn("mqtt", names)
        created = self.http.json("POST", "/api/v1/topics",
                                 {"name": "api-orders", "partitions": 3, "durability": "interval",
                                  "flush_interval_ms": 200, "retention_ms": 3600000}, expect=201)
        self.assertEqual(created["partitions"], 3)
        t = self.http.json("GET", "/api/v1/topics/api-orders")
        self.assertEqual([p["partition"] for p in t["partitions"]], [0, 1, 2])
        self.assertEqual(t["config"]["durability"], "interval")
        self.assertEqual(t["config"]["retention_ms"], 3600000)
        self.assertEqual(t["partitions"][0]["end_offset"], 0)
        p = self.http.json("GET", "/api/v1/topics/api-orders/partitions/2")
        self.assertEqual(p["end_offset"], 0)
        self.assertGreaterEqual(len(p["segments"]), 1)
        self.http.json("GET", "/api/v1/topics/api-orders/partitions/3", expect=404)
        self.http.json("GET", "/api/v1/topics/no-such-topic", expect=404)
        # Errors: exists, bad values, internal names, bad JSON, unknown keys.
        self.http.json("POST", "/api/v1/topics", {"name": "api-orders"}, expect=409)
        self.http.json("POST", "/api/v1/topics", {"name": "x", "partitions": 0}, expect=400)
        self.http.json("POST", "/api/v1/topics", {"name": "x", "durability": "sometimes"}, expect=400)
        self.http.json("POST", "/api/v1/topics", {"name": "__mine"}, expect=400)
        self.http.json("POST", "/api/v1/topics", {"name": "bad name!"}, expect=400)
        self.http.json("POST", "/api/v1/topics", {"name": "x", "colour": "red"}, expect=400)
        self.http.json("POST", "/api/v1/topics", raw=b"{not json", expect=400)
        self.http.json("POST", "/api/v1/topics", body=[1, 2], expect=400)
        # Internal topics and topics the ingest rules write to are protected.
        internal = [n for n in names if n.startswith("__")]
        self.assertTrue(internal, names)
        err = self.http.json("DELETE", "/api/v1/topics/" + internal[0], expect=409)
        self.assertIn("internal", err["error"])
        err = self.http.json("DELETE", "/api/v1/topics/mqtt", expect=409)
        self.assertIn("ingest rule", err["error"])
        # Its partitions show appends after traffic.
        pub = Paho(self.port, "api-topics", version=5)
        try:
            pub.publish("topics/x", b"abc", qos=1)
        finally:
            pub.stop()
        mqtt = self.http.json("GET", "/api/v1/topics/mqtt")
        self.assertGreaterEqual(sum(p["end_offset"] for p in mqtt["partitions"]), 1)

    def test_consumer_groups_and_lag(self):
        status, _, text = self.http.request("GET", "/api/v1/groups")
        if status == 503:
            self.skipTest("the Kafka group service is not wired to the listener: " + text)
        from confluent_kafka import Consumer, TopicPartition
        pub = Paho(self.port, "api-groups", version=5)
        try:
            for i in range(3):
                pub.publish("groups/same-partition", b"g%d" % i, qos=1)
        finally:
            pub.stop()
        topic = self.http.json("GET", "/api/v1/topics/mqtt")
        part = max(topic["partitions"], key=lambda p: p["end_offset"])
        consumer = Consumer({"bootstrap.servers": "127.0.0.1:%d" % self.broker.ports["kafka"],
                             "group.id": "api-group", "enable.auto.commit": False})
        try:
            consumer.commit(offsets=[TopicPartition("mqtt", part["partition"], 1)],
                            asynchronous=False)
        finally:
            consumer.close()
        groups = self.http.json("GET", "/api/v1/groups")["groups"]
        g = next(g for g in groups if g["group_id"] == "api-group")
        o = next(o for o in g["offsets"] if o["topic"] == "mqtt" and o["partition"] == part["partition"])
        self.assertEqual(o["committed_offset"], 1)
        self.assertEqual(o["lag"], o["high_watermark"] - 1)
        self.assertGreaterEqual(o["lag"], 2)
        m = self.http.metrics()
        self.assertEqual(metric(m, "sluice_kafka_consumer_group_lag", group="api-group", topic="mqtt",
                                partition=str(part["partition"])), o["lag"])

    def test_kafka_request_counts(self):
        from confluent_kafka.admin import AdminClient
        before = metric(self.http.metrics(), "sluice_kafka_requests_total", api="Metadata") or 0
        admin = AdminClient({"bootstrap.servers": "127.0.0.1:%d" % self.broker.ports["kafka"]})
        self.assertIn("mqtt", admin.list_topics(timeout=10).topics)
        m = self.http.metrics()
        self.assertGreater(metric(m, "sluice_kafka_requests_total", api="Metadata"), before)
        self.assertGreaterEqual(metric(m, "sluice_kafka_requests_total", api="ApiVersions"), 1)

    def test_rules_and_config(self):
        rules = self.http.json("GET", "/api/v1/rules")
        self.assertEqual(rules["ingest"][0]["filter"], "#")
        self.assertEqual(rules["ingest"][0]["log_topic"], "mqtt")
        self.assertEqual(rules["egress"], [])
        cfg = self.http.json("GET", "/api/v1/config")
        self.assertIn("http", cfg["listeners"])
        self.assertEqual(cfg["listeners"]["http"]["allow_anonymous_admin"], False)
        self.assertIn("max_packet_size", cfg["mqtt"])
        self.assertEqual(cfg["data_dir"], self.broker.data_dir)

    def test_overview_and_live_stream(self):
        o = self.http.json("GET", "/api/v1/overview")
        for k in ("connections", "sessions_online", "sessions_offline", "retained", "messages_in"):
            self.assertIn(k, o)
        s = socket.create_connection(("127.0.0.1", self.broker.ports["http"]), timeout=10)
        try:
            s.sendall(b"GET /api/v1/live HTTP/1.1\r\nHost: x\r\n\r\n")
            buf = b""
            # Two events: the first at once, the next a second later.
            while buf.count(b"\ndata: ") < 2 and not buf.startswith(b"x"):
                chunk = s.recv(4096)
                self.assertTrue(chunk, "stream closed early: %r" % buf)
                buf += chunk
            head, _, body = buf.partition(b"\r\n\r\n")
            self.assertIn(b"200 OK", head)
            self.assertIn(b"text/event-stream", head)
            events = [json.loads(l[6:]) for l in body.decode().split("\n") if l.startswith("data: ")]
            self.assertGreaterEqual(len(events), 2)
            self.assertIn("messages_in_per_second", events[1])
            self.assertIn("connections", events[1])
        finally:
            s.close()

    def test_dashboard_is_served(self):
        status, headers, text = self.http.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertIn("uPlot.iife.min.js", text)
        status, headers, text = self.http.request("GET", "/vendor/uplot/uPlot.iife.min.js")
        self.assertEqual(status, 200)
        self.assertIn("uPlot", text)
        status, _, _ = self.http.request("GET", "/app.js")
        self.assertEqual(status, 200)

    def test_errors(self):
        for path in ("/nope", "/api/v1/nope", "/api/v2/clients", "/api/v1/clients/no/such/client"):
            err = self.http.json("GET", path, expect=404)
            self.assertIn("error", err)
        status, headers, text = self.http.request("POST", "/health", raw=b"")
        self.assertEqual(status, 405)
        self.assertIn("GET", headers.get("Allow", ""))
        self.assertIn("error", json.loads(text))
        self.http.json("PUT", "/api/v1/topics", {"name": "x"}, expect=405)
        # A body over the limit is refused with 413 before it is read whole.
        data = self.raw_exchange(b"POST /api/v1/topics HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Length: 2097152\r\n\r\n{")
        self.assertIn(b"413 Payload Too Large", data)
        self.assertIn(b'"error"', data)
        # So are headers past 16 KiB (431).
        data = self.raw_exchange(b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        self.assertIn(b"431", data)
        # Garbage that is not HTTP gets a JSON 400.
        data = self.raw_exchange(b"NOT HTTP AT ALL\r\n\r\n")
        self.assertIn(b"400 Bad Request", data)
        self.assertIn(b'"error"', data)

    def raw_exchange(self, request):
        """Sends raw bytes and reads until the server closes the connection."""
        s = socket.create_connection(("127.0.0.1", self.broker.ports["http"]), timeout=10)
        try:
            s.sendall(request)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return data
                data += chunk
        finally:
            s.close()

    def test_keep_alive(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.broker.ports["http"], timeout=10)
        try:
            for _ in range(3):
                conn.request("GET", "/health")
                r = conn.getresponse()
                self.assertEqual(r.status, 200)
                r.read()
            # Still one connection: the server kept it open between requests.
            self.assertIsNotNone(conn.sock)
        finally:
            conn.close()


def _expiry(seconds):
    from paho.mqtt.properties import Properties
    from paho.mqtt.packettypes import PacketTypes
    p = Properties(PacketTypes.CONNECT)
    p.SessionExpiryInterval = seconds
    return p


class HttpListenerRulesTest(unittest.TestCase):
    def test_non_loopback_refused_without_allow_anonymous_admin(self):
        data = tempfile.mkdtemp(prefix="sluice-test-")
        try:
            r = run_cli([SLUICE_BIN, "--data-dir", data, "--mqtt", "127.0.0.1:0",
                         "--kafka", "127.0.0.1:0", "--http", "0.0.0.0:0"], timeout=30)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn("allow_anonymous_admin", r.stderr)
            self.assertNotIn("listening", r.stdout)
        finally:
            shutil.rmtree(data, ignore_errors=True)

    def test_allow_remote_still_opens_it(self):
        # allow_remote: the older name of allow_anonymous_admin.
        config = '{"listeners": {"http": {"allow_remote": true}}}'
        with Broker("--http", "0.0.0.0:0", config=config, listeners=("mqtt", "http")) as b:
            self.assertIn("listening http 0.0.0.0:", b.output())
            self.assertEqual(Http(b.ports["http"]).json("GET", "/health"), {"status": "ok"})

    def test_allow_remote_is_an_http_key(self):
        data = tempfile.mkdtemp(prefix="sluice-test-")
        try:
            path = os.path.join(data, "c.json")
            with open(path, "w") as f:
                f.write('{"listeners": {"mqtt": {"allow_remote": true}}}')
            r = run_cli([SLUICE_BIN, "--data-dir", data, "--config", path], timeout=30)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn("listeners.mqtt.allow_remote", r.stderr)
        finally:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
