"""The Kafka listener's security (docs/security.md, "The Kafka listener") with real clients:

- python3-confluent-kafka (librdkafka 2.0.2) with SASL SCRAM-SHA-256 and PLAIN (SaslHandshake
  v1, SaslAuthenticate): produce and consume; a wrong password reported as an authentication
  error; a user without the ACL's rights refused with TOPIC_AUTHORIZATION_FAILED on produce
  and on consume, and nothing denied in the log;
- kafka-python 2.0.2 with SASL PLAIN and SCRAM-SHA-256 (SaslHandshake v0 and raw tokens);
- a listener that does not allow anonymous clients answers ApiVersions but closes the
  connection of an unauthenticated Metadata request;
- a `kafka-tls` listener with the development PKI (certs/make-dev-pki.sh): kcat with
  SASL_SSL and PLAIN produces and consumes, confluent-kafka with SASL_SSL and SCRAM-SHA-256
  reads back records larger than one TLS write, a client certificate's name is the user
  (use_identity_as_username) for the ACL, and SIGHUP reloads its certificate.

No sleeps: every wait is a poll loop with a deadline.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker, BrokerTestCase, SLUICE_BIN  # noqa: E402
from auth_helpers import write_password_file  # noqa: E402
import kafka_wire as wire  # noqa: E402

WAIT = 30
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
USERS = {"alice": "alice-pw", "bob": "bob-pw"}
ACL = """default deny
allow readwrite user=alice kafka:sec-alice
allow readwrite user=alice kafka:sec-shared
allow subscribe user=bob   kafka:sec-shared
"""


def log_dump(data_dir, topic):
    out = subprocess.run([SLUICE_BIN, "log-dump", "--data-dir", data_dir, "--topic", topic],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line]


def sasl(bootstrap, user, mechanism="SCRAM-SHA-256", password=None, protocol="SASL_PLAINTEXT",
         **extra):
    conf = {"bootstrap.servers": bootstrap, "security.protocol": protocol,
            "sasl.mechanisms": mechanism, "sasl.username": user,
            "sasl.password": password if password is not None else USERS[user]}
    conf.update(extra)
    return conf


def produce_all(conf, topic, values):
    """Produces `values`; returns the delivery errors (None for each success)."""
    results = []
    p = Producer(conf)
    for v in values:
        p.produce(topic, value=v, on_delivery=lambda err, msg: results.append(err))
    assert p.flush(WAIT) == 0, "messages still in the producer's queue"
    return results


def read_partition(conf, topic, want, partition=0):
    """Reads the partition from the start until every value in `want` was seen (or the
    deadline); returns what was read, in order."""
    c = Consumer(dict(conf, **{"group.id": "sec-reader", "enable.auto.commit": False,
                               "enable.partition.eof": False}))
    c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
    got = []
    deadline = time.monotonic() + WAIT
    while not set(want) <= set(got) and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            c.close()
            raise AssertionError("consumer error: %s" % m.error())
        got.append(m.value())
    c.close()
    return got


class KafkaSecurity(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(
            "--password-file", "PLACEHOLDER", listeners=("mqtt", "kafka"),
            config='{"listeners": {"kafka": {"allow_anonymous": false}}}')
        d = cls.broker.data_dir
        write_password_file(os.path.join(d, "passwd"), USERS)
        with open(os.path.join(d, "acl"), "w") as f:
            f.write(ACL)
        cls.broker.extra_args = ["--password-file", os.path.join(d, "passwd"),
                                 "--acl-file", os.path.join(d, "acl")]
        cls.broker.start()
        cls.bootstrap = "127.0.0.1:%d" % cls.broker.ports["kafka"]
        admin = AdminClient(sasl(cls.bootstrap, "alice"))
        fs = admin.create_topics([NewTopic("sec-alice", 1, 1), NewTopic("sec-shared", 1, 1)])
        for f in fs.values():
            f.result(timeout=WAIT)

    def test_scram_sha_256_produce_and_consume(self):
        conf = sasl(self.bootstrap, "alice")
        values = [b"scram-%d" % i for i in range(5)]
        self.assertEqual(produce_all(conf, "sec-alice", values), [None] * 5)
        got = read_partition(conf, "sec-alice", values)
        self.assertTrue(set(values) <= set(got), got)

    def test_wrong_password_is_an_authentication_error(self):
        errors = []
        p = Producer(sasl(self.bootstrap, "alice", "PLAIN", password="not-it",
                          error_cb=lambda e: errors.append(e)))
        deadline = time.monotonic() + WAIT
        while not any(e.code() == KafkaError._AUTHENTICATION for e in errors) \
                and time.monotonic() < deadline:
            p.poll(0.2)
        self.assertTrue(any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors)
        self.assertIsNotNone(self.broker.wait_line(
            lambda l: "kafka login refused from 127.0.0.1" in l, WAIT), self.broker.output())

    def test_acl_refuses_produce_and_consume_and_writes_nothing(self):
        # bob may read sec-shared but not write it, and may not read sec-alice.
        errors = produce_all(sasl(self.bootstrap, "bob", "PLAIN"), "sec-shared", [b"bob-denied"])
        self.assertEqual(len(errors), 1)
        self.assertIsNotNone(errors[0])
        self.assertEqual(errors[0].code(), KafkaError.TOPIC_AUTHORIZATION_FAILED, errors)
        self.assertNotIn("bob-denied", [r["value"] for r in log_dump(self.broker.data_dir, "sec-shared")])

        c = Consumer(sasl(self.bootstrap, "bob", **{"group.id": "bob-group"}))
        c.subscribe(["sec-alice"])
        deadline = time.monotonic() + WAIT
        err = None
        while err is None and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error():
                err = m.error()
        c.close()
        self.assertIsNotNone(err)
        self.assertEqual(err.code(), KafkaError.TOPIC_AUTHORIZATION_FAILED, str(err))

        # What bob may do works: alice writes sec-shared, bob reads it.
        self.assertEqual(produce_all(sasl(self.bootstrap, "alice"), "sec-shared", [b"shared"]), [None])
        self.assertIn(b"shared", read_partition(sasl(self.bootstrap, "bob", "PLAIN"), "sec-shared", [b"shared"]))

    def test_kafka_python_plain_and_scram(self):
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition as KTP
        for mechanism in ("PLAIN", "SCRAM-SHA-256"):
            value = ("kpy-" + mechanism).encode()
            p = KafkaProducer(bootstrap_servers=self.bootstrap, security_protocol="SASL_PLAINTEXT",
                              sasl_mechanism=mechanism, sasl_plain_username="alice",
                              sasl_plain_password="alice-pw", request_timeout_ms=WAIT * 1000)
            p.send("sec-alice", value).get(timeout=WAIT)
            p.close()
            c = KafkaConsumer(bootstrap_servers=self.bootstrap, security_protocol="SASL_PLAINTEXT",
                              sasl_mechanism=mechanism, sasl_plain_username="alice",
                              sasl_plain_password="alice-pw", group_id=None,
                              enable_auto_commit=False, request_timeout_ms=WAIT * 1000 + 1000)
            tp = KTP("sec-alice", 0)
            c.assign([tp])
            c.seek_to_beginning(tp)
            seen = set()
            deadline = time.monotonic() + WAIT
            while value not in seen and time.monotonic() < deadline:
                for batch in c.poll(timeout_ms=500).values():
                    seen.update(r.value for r in batch)
            c.close()
            self.assertIn(value, seen)

    def test_anonymous_requests_are_refused_on_this_listener(self):
        s = wire.connect(self.broker.ports["kafka"])
        s.sendall(wire.frame(18, 0, 1, b""))  # ApiVersions v0: always answered
        got = wire.recv_frame(s)
        self.assertIsNotNone(got)
        self.assertEqual(struct.unpack(">h", got[1][:2])[0], 0)
        s.sendall(wire.frame(3, 1, 2, struct.pack(">i", -1)))  # Metadata v1, every topic
        self.assertIsNone(wire.recv_frame(s))  # closed, as Kafka does
        s.close()


class KafkaTls(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sluice-kafka-tls-")
        pki = os.path.join(cls.tmp, "pki")
        subprocess.run(["bash", os.path.join(ROOT, "certs", "make-dev-pki.sh"), pki, "device-7"],
                       check=True, capture_output=True, timeout=120)
        cls.ca = os.path.join(pki, "ca.crt")
        write_password_file(os.path.join(cls.tmp, "passwd"), USERS)
        with open(os.path.join(cls.tmp, "acl"), "w") as f:
            f.write("default deny\nallow readwrite user=alice kafka:#\n"
                    "allow readwrite user=device-7 kafka:tls-cert\n")
        cls.pki = staticmethod(lambda name: os.path.join(pki, name))
        cls.broker = Broker("--tls-cert", cls.pki("server.crt"), "--tls-key", cls.pki("server.key"),
                            "--tls-ca", cls.ca, "--tls-client-auth", "optional",
                            "--password-file", os.path.join(cls.tmp, "passwd"),
                            "--acl-file", os.path.join(cls.tmp, "acl"),
                            listeners=("mqtt", "kafka-tls"),
                            config='{"listeners": {"kafka-tls": {"type": "kafka-tls", '
                                   '"use_identity_as_username": true}}}').start()
        cls.bootstrap = "127.0.0.1:%d" % cls.broker.ports["kafka-tls"]
        admin = AdminClient(cls.scram())
        fs = admin.create_topics([NewTopic("tls-kcat", 1, 1), NewTopic("tls-big", 1, 1),
                                  NewTopic("tls-cert", 1, 1)])
        for f in fs.values():
            f.result(timeout=WAIT)

    @classmethod
    def scram(cls):
        return sasl(cls.bootstrap, "alice", protocol="SASL_SSL", **{"ssl.ca.location": cls.ca})

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def kcat(self, *args, stdin=None):
        return subprocess.run(
            ["kcat", "-b", self.bootstrap, "-X", "security.protocol=SASL_SSL",
             "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=alice",
             "-X", "sasl.password=alice-pw", "-X", "ssl.ca.location=" + self.ca] + list(args),
            input=stdin, capture_output=True, text=True, timeout=60)

    def test_kcat_sasl_ssl_plain_produce_and_consume(self):
        lines = ["kcat-%d" % i for i in range(10)]
        r = self.kcat("-P", "-t", "tls-kcat", "-p", "0", stdin="\n".join(lines) + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.kcat("-C", "-t", "tls-kcat", "-p", "0", "-o", "beginning", "-e", "-q")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), lines)

    def test_scram_over_tls_reads_more_than_one_tls_write(self):
        values = [(b"%04d" % i) * 1000 for i in range(100)]  # 400 KB: several 64 KiB writes
        self.assertEqual(produce_all(self.scram(), "tls-big", values), [None] * 100)
        got = read_partition(self.scram(), "tls-big", values)
        self.assertEqual(got, values)

    def test_client_certificate_name_is_the_user(self):
        # use_identity_as_username: no SASL; the certificate's CN (device-7) meets the ACL.
        cert = ["-X", "security.protocol=SSL", "-X", "ssl.ca.location=" + self.ca,
                "-X", "ssl.certificate.location=" + self.pki("client.crt"),
                "-X", "ssl.key.location=" + self.pki("client.key")]
        r = subprocess.run(["kcat", "-b", self.bootstrap] + cert + ["-P", "-t", "tls-cert", "-p", "0"],
                           input="from-device-7\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([x["value"] for x in log_dump(self.broker.data_dir, "tls-cert")],
                         ["from-device-7"])
        # The same certificate gives no rights on another topic.
        r = subprocess.run(["kcat", "-b", self.bootstrap] + cert + ["-P", "-t", "tls-kcat", "-p", "0"],
                           input="denied\n", capture_output=True, text=True, timeout=60)
        self.assertIn("authorization failed", r.stderr.lower())
        self.assertNotIn("denied", [x["value"] for x in log_dump(self.broker.data_dir, "tls-kcat")])

    def test_sighup_reloads_the_certificate(self):
        self.assertIsNotNone(
            self.broker.sighup_line("kafka-tls listener: reloaded TLS certificate", WAIT),
            self.broker.output())
        # New handshakes work with the reloaded context.
        r = self.kcat("-L", "-t", "tls-kcat")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("tls-kcat", r.stdout)


if __name__ == "__main__":
    unittest.main()
