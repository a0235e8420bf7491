"""The Kafka listener with kcat and raw requests (docs/kafka-protocol.md, "The listener"):

- `kcat -L` lists the topics (the default `mqtt` topic with 4 partitions, internal topics
  marked), an unknown topic is UNKNOWN_TOPIC_OR_PARTITION;
- MQTT publishes (mosquitto_pub) are consumed by `kcat -C` with their MQTT headers;
- `kcat -P` produces and `kcat -C` reads back; an LZ4 batch from `kcat -P -z lz4` is stored as
  it came (codec 3 in the segment file) and read back;
- a long-poll Fetch (max wait 10 s) waiting at the end of a partition returns the record that
  is produced while it waits;
- a Produce repeated with the same producer id and sequence is written once;
- a malformed frame, an oversize frame and an unknown API version close the connection, the
  broker keeps serving; ApiVersions of an unknown version gets a v0 answer with error 35.

No sleeps: every wait is a blocking call with a deadline.
"""
import json
import os
import struct
import subprocess
import threading
import time
import unittest

import kafka_wire as kw
from harness import Broker, SLUICE_BIN, run_cli

WAIT = 30


def kcat(*args, input=None, timeout=WAIT):
    out = subprocess.run(["kcat"] + list(args), input=input, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise AssertionError("kcat %s failed (%d): %s" % (" ".join(args), out.returncode,
                                                         out.stderr))
    return out.stdout


def batch_codecs(data_dir, topic, partition):
    """The compression codec of every batch in the partition's segment files."""
    codecs = []
    folder = os.path.join(data_dir, topic, str(partition))
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".log"):
            continue
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        pos = 0
        while pos + 61 <= len(data):
            length = struct.unpack(">i", data[pos + 8:pos + 12])[0]
            if length <= 0:
                break
            attributes = struct.unpack(">h", data[pos + 21:pos + 23])[0]
            codecs.append(attributes & 7)
            pos += 12 + length
    return codecs


class KafkaListener(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(listeners=("mqtt", "kafka")).start()
        cls.kport = cls.broker.ports["kafka"]
        cls.bootstrap = "127.0.0.1:%d" % cls.kport

    @classmethod
    def tearDownClass(cls):
        try:
            cls.broker.stop_checked()
        finally:
            cls.broker.cleanup()

    def create_topic(self, name, partitions=1):
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        futures = admin.create_topics([NewTopic(name, partitions, 1)], request_timeout=WAIT)
        futures[name].result(timeout=WAIT)

    def test_listening_line_and_metadata(self):
        meta = json.loads(kcat("-L", "-J", "-b", self.bootstrap))
        topics = {t["topic"]: t for t in meta["topics"]}
        self.assertIn("mqtt", topics)
        self.assertEqual(len(topics["mqtt"]["partitions"]), 4)
        for p in topics["mqtt"]["partitions"]:
            self.assertEqual(p["leader"], 0)
        self.assertEqual([b["id"] for b in meta["brokers"]], [0])
        self.assertTrue(meta["brokers"][0]["name"].endswith(":%d" % self.kport))
        # Internal topics are listed and marked (kcat prints no flag; confluent-kafka does not
        # expose it either), and an unknown topic is refused.
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        md = admin.list_topics(topic="no-such-topic", timeout=WAIT)
        self.assertIsNotNone(md.topics["no-such-topic"].error)
        self.assertEqual(md.topics["no-such-topic"].error.name(), "UNKNOWN_TOPIC_OR_PART")

    def test_mqtt_publishes_consumed_with_headers(self):
        for i in range(3):
            r = run_cli(["mosquitto_pub", "-p", str(self.broker.mqtt_port), "-i", "dev-%d" % i,
                         "-t", "sensors/kcat/%d" % i, "-m", "reading-%d" % i, "-q", "1",
                         "-V", "mqttv5"])
            self.assertEqual(r.returncode, 0, r.stderr)
        out = kcat("-C", "-b", self.bootstrap, "-t", "mqtt", "-e", "-f", "%k|%s|%h\n")
        lines = [l for l in out.splitlines() if "reading-" in l]
        self.assertEqual(len(lines), 3, out)
        for i in range(3):
            line = next(l for l in lines if "|reading-%d|" % i in l)
            self.assertIn("sensors/kcat/%d" % i, line.split("|", 2)[2])

    def test_kcat_produce_and_consume(self):
        self.create_topic("kcat-plain", 2)
        kcat("-P", "-b", self.bootstrap, "-t", "kcat-plain", "-p", "1", "-K", ":",
             input="k1:one\nk2:two\nk3:three\n")
        out = kcat("-C", "-b", self.bootstrap, "-t", "kcat-plain", "-p", "1", "-o", "beginning",
                   "-e", "-f", "%o %k %s\n")
        self.assertEqual(out.splitlines(), ["0 k1 one", "1 k2 two", "2 k3 three"])

    def test_lz4_batch_stored_as_sent(self):
        self.create_topic("kcat-lz4")
        values = ["compressible value %d %s" % (i, "x" * 200) for i in range(50)]
        kcat("-P", "-b", self.bootstrap, "-t", "kcat-lz4", "-p", "0", "-z", "lz4",
             input="\n".join(values) + "\n")
        out = kcat("-C", "-b", self.bootstrap, "-t", "kcat-lz4", "-p", "0", "-o", "beginning",
                   "-e", "-f", "%s\n")
        self.assertEqual(out.splitlines(), values)
        codecs = batch_codecs(self.broker.data_dir, "kcat-lz4", 0)
        self.assertTrue(codecs, "no batch in the segment")
        self.assertEqual(set(codecs), {3}, "batches not stored LZ4-compressed: %r" % codecs)

    def test_long_poll_fetch_returns_the_produced_record(self):
        self.create_topic("long-poll")
        waiting = kw.connect(self.kport)
        result = {}

        def long_poll():
            result["partition"] = kw.fetch(waiting, 1, "long-poll", 0, 0, max_wait_ms=10000)

        t = threading.Thread(target=long_poll)
        t.start()
        producer = kw.connect(self.kport)
        err, base = kw.produce(producer, 1, "long-poll", 0, kw.batch([b"wake-up-record"]))
        self.assertEqual((err, base), (0, 0))
        t.join(WAIT)
        self.assertFalse(t.is_alive())
        p = result["partition"]
        self.assertEqual(p[1], 0)  # error code
        self.assertEqual(p[2], 1)  # high watermark
        self.assertIn(b"wake-up-record", p[5])
        waiting.close()
        producer.close()

    def test_responses_leave_in_request_order(self):
        # A long-poll Fetch, then an ApiVersions answered at once, pipelined on one connection:
        # the Fetch's answer (completed later, by a produce) must come first.
        self.create_topic("ordered")
        s = kw.connect(self.kport)
        from kafka.protocol.fetch import FetchRequest
        req = FetchRequest[4](replica_id=-1, max_wait_time=10000, min_bytes=1, max_bytes=1 << 20,
                              isolation_level=0, topics=[("ordered", [(0, 0, 1 << 20)])])
        s.sendall(kw.frame(1, 4, 10, req.encode()) + kw.frame(18, 0, 11, b""))
        producer = kw.connect(self.kport)
        self.assertEqual(kw.produce(producer, 1, "ordered", 0, kw.batch([b"first"]))[0], 0)
        first, second = kw.recv_frame(s), kw.recv_frame(s)
        self.assertEqual((first[0], second[0]), (10, 11))
        self.assertIn(b"first", first[1])
        s.close()
        producer.close()

    def test_fetch_out_of_range_and_unknown_partition(self):
        self.create_topic("range")
        s = kw.connect(self.kport)
        p = kw.fetch(s, 1, "range", 0, 5, max_wait_ms=0)
        self.assertEqual(p[1], 1)  # OFFSET_OUT_OF_RANGE
        p = kw.fetch(s, 2, "range", 7, 0, max_wait_ms=0)
        self.assertEqual(p[1], 3)  # UNKNOWN_TOPIC_OR_PARTITION
        s.close()

    def test_repeated_idempotent_produce_written_once(self):
        self.create_topic("dedup")
        s = kw.connect(self.kport)
        records = kw.batch([b"once-a", b"once-b"], producer_id=4242, producer_epoch=0,
                           base_sequence=0)
        self.assertEqual(kw.produce(s, 1, "dedup", 0, records), (0, 0))
        self.assertEqual(kw.produce(s, 2, "dedup", 0, records), (0, 0))  # the original's offset
        out = kcat("-C", "-b", self.bootstrap, "-t", "dedup", "-o", "beginning", "-e", "-f",
                   "%s\n")
        self.assertEqual(out.splitlines(), ["once-a", "once-b"])
        # A gap in the sequence is refused.
        gap = kw.batch([b"gap"], producer_id=4242, producer_epoch=0, base_sequence=7)
        self.assertEqual(kw.produce(s, 3, "dedup", 0, gap)[0], 45)  # OUT_OF_ORDER_SEQUENCE_NUMBER
        s.close()

    def test_produce_to_unknown_and_internal_topics(self):
        s = kw.connect(self.kport)
        self.assertEqual(kw.produce(s, 1, "nope", 0, kw.batch([b"x"]))[0], 3)
        self.assertEqual(kw.produce(s, 2, "__producer_ids", 0, kw.batch([b"x"]))[0], 17)
        s.close()

    def assert_still_serving(self):
        meta = json.loads(kcat("-L", "-J", "-b", self.bootstrap))
        self.assertIn("mqtt", [t["topic"] for t in meta["topics"]])

    def test_bad_frames_close_the_connection(self):
        cases = {
            "oversize": struct.pack(">i", 200 << 20),
            "negative size": struct.pack(">i", -5),
            "malformed header": struct.pack(">i", 3) + b"\x00\x03\x00",
            "unknown api key": kw.frame(999, 0, 1, b""),
            "unsupported version": kw.frame(3, 50, 1, b""),
            "truncated body": kw.frame(3, 1, 1, b"\x00\x00\x00\x05"),
        }
        for name, data in cases.items():
            with self.subTest(name):
                s = kw.connect(self.kport)
                s.sendall(data)
                self.assertTrue(kw.closed_by_peer(s), name)
                s.close()
        self.assertIsNotNone(self.broker.wait_line(lambda l: "over the maximum" in l, WAIT))
        self.assertIsNotNone(self.broker.wait_line(lambda l: "closing" in l, WAIT))
        self.assert_still_serving()

    def test_api_versions_of_unknown_version_answered_in_v0(self):
        s = kw.connect(self.kport)
        s.sendall(kw.frame(18, 9, 77, b""))
        cid, body = kw.recv_frame(s)
        self.assertEqual(cid, 77)
        self.assertEqual(struct.unpack(">h", body[:2])[0], 35)  # UNSUPPORTED_VERSION
        self.assertGreater(struct.unpack(">i", body[2:6])[0], 10)  # the API list follows
        s.close()

    def test_sasl_is_refused(self):
        s = kw.connect(self.kport)
        mech = b"PLAIN"
        s.sendall(kw.frame(17, 1, 5, struct.pack(">h", len(mech)) + mech))
        cid, body = kw.recv_frame(s)
        self.assertEqual(struct.unpack(">h", body[:2])[0], 33)  # UNSUPPORTED_SASL_MECHANISM
        s.sendall(kw.frame(36, 0, 6, struct.pack(">i", 0)))
        cid, body = kw.recv_frame(s)
        self.assertEqual(struct.unpack(">h", body[:2])[0], 34)  # ILLEGAL_SASL_STATE
        s.close()


class KafkaShutdown(unittest.TestCase):
    def test_stop_with_a_waiting_fetch_and_open_connections(self):
        with Broker(listeners=("kafka",)) as b:
            port = b.ports["kafka"]
            idle = kw.connect(port)
            waiting = kw.connect(port)
            from kafka.protocol.fetch import FetchRequest
            req = FetchRequest[4](replica_id=-1, max_wait_time=60000, min_bytes=1,
                                  max_bytes=1 << 20, isolation_level=0,
                                  topics=[("mqtt", [(0, 0, 1 << 20)])])
            waiting.sendall(kw.frame(1, 4, 1, req.encode()))
            # Make sure the Fetch was read (a later request on the same connection is only
            # answered after it, so use another connection to see the broker is serving).
            self.assertIn("mqtt", kcat("-L", "-b", "127.0.0.1:%d" % port))
            # Leaving the block stops the broker (SIGTERM) and checks it exits 0 without a
            # sanitizer report, with both connections still open.
        self.assertTrue(kw.closed_by_peer(waiting))
        idle.close()
        waiting.close()


if __name__ == "__main__":
    unittest.main()
