"""Deleting log topics (docs/operations.md, "Log topics"; docs/kafka-protocol.md, DeleteTopics):
through the admin API and through kafka-python's KafkaAdminClient; the topic disappears from
/api/v1/topics (what the dashboard shows), from /metrics and from Kafka Metadata; a topic
created again is empty; internal, ingest-rule and egress-rule topics are refused (the rules in
force: an ingest rule added by SIGHUP counts, an egress rule dropped from the file keeps its topic
until a restart); a consumer reading the topic while it is deleted does not bring the broker
down."""
import json
import os
import shutil
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker, BrokerTestCase  # noqa: E402
from test_http_api import Http, metric, wait_for  # noqa: E402

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
import kafka.errors as Errors  # noqa: E402


class TopicDeleteTest(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(listeners=("mqtt", "http", "kafka")).start()
        cls.http = Http(cls.broker.ports["http"])
        cls.bootstrap = "127.0.0.1:%d" % cls.broker.ports["kafka"]

    def produce(self, topic, partitions, count):
        p = KafkaProducer(bootstrap_servers=self.bootstrap, api_version=(2, 0, 0))
        try:
            for i in range(count):
                p.send(topic, value=b"v%d" % i, partition=i % partitions)
            p.flush(timeout=15)
        finally:
            p.close()

    def topic_names(self):
        return [t["name"] for t in self.http.json("GET", "/api/v1/topics")["topics"]]

    def test_delete_through_the_admin_api(self):
        self.http.json("POST", "/api/v1/topics", {"name": "del-http", "partitions": 2}, expect=201)
        self.produce("del-http", 2, 6)
        t = self.http.json("GET", "/api/v1/topics/del-http")
        self.assertEqual(sum(p["end_offset"] for p in t["partitions"]), 6)
        self.assertEqual(metric(self.http.metrics(), "sluice_log_end_offset",
                                topic="del-http", partition="0"), 3)

        self.assertEqual(self.http.json("DELETE", "/api/v1/topics/del-http"), {"deleted": "del-http"})
        self.http.json("GET", "/api/v1/topics/del-http", expect=404)
        self.assertNotIn("del-http", self.topic_names())
        self.assertNotIn('topic="del-http"', self.http.metrics())
        err = self.http.json("DELETE", "/api/v1/topics/del-http", expect=404)
        self.assertIn("del-http", err["error"])

        # Created again (with another partition count) it starts empty at offset 0.
        self.http.json("POST", "/api/v1/topics", {"name": "del-http", "partitions": 1}, expect=201)
        t = self.http.json("GET", "/api/v1/topics/del-http")
        self.assertEqual([p["end_offset"] for p in t["partitions"]], [0])
        self.produce("del-http", 1, 1)
        t = self.http.json("GET", "/api/v1/topics/del-http")
        self.assertEqual([p["end_offset"] for p in t["partitions"]], [1])

    def test_refused_topics_stay(self):
        internal = [n for n in self.topic_names() if n.startswith("__")]
        self.assertTrue(internal)
        err = self.http.json("DELETE", "/api/v1/topics/" + internal[0], expect=409)
        self.assertIn("internal", err["error"])
        err = self.http.json("DELETE", "/api/v1/topics/mqtt", expect=409)
        self.assertIn("ingest rule", err["error"])
        self.assertIn("mqtt", self.topic_names())
        self.assertIn(internal[0], self.topic_names())

    def test_delete_through_kafka_admin_client(self):
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, api_version=(2, 0, 0))
        try:
            admin.create_topics([NewTopic("del-kafka", 3, 1)])
            self.produce("del-kafka", 3, 9)
            self.assertIn("del-kafka", admin.list_topics())
            admin.delete_topics(["del-kafka"])
            self.assertNotIn("del-kafka", admin.list_topics())
            self.assertNotIn("del-kafka", self.topic_names())
            self.assertNotIn('topic="del-kafka"', self.http.metrics())
            with self.assertRaises(Errors.UnknownTopicOrPartitionError):
                admin.delete_topics(["del-kafka"])
            with self.assertRaises(Errors.PolicyViolationError):
                admin.delete_topics(["mqtt"])
            with self.assertRaises(Errors.InvalidTopicError):
                admin.delete_topics(["__consumer_offsets"])
            self.assertIn("mqtt", admin.list_topics())
            # Created again it is empty.
            admin.create_topics([NewTopic("del-kafka", 1, 1)])
            c = KafkaConsumer(bootstrap_servers=self.bootstrap, api_version=(2, 0, 0))
            try:
                tp = TopicPartition("del-kafka", 0)
                self.assertEqual(c.end_offsets([tp])[tp], 0)
            finally:
                c.close()
        finally:
            admin.close()

    def test_delete_while_a_consumer_reads(self):
        self.http.json("POST", "/api/v1/topics", {"name": "del-busy", "partitions": 1}, expect=201)
        self.produce("del-busy", 1, 50)
        got = []
        stop = threading.Event()
        errors = []

        def consume():
            try:
                c = KafkaConsumer(bootstrap_servers=self.bootstrap, api_version=(2, 0, 0),
                                  fetch_max_wait_ms=100, max_partition_fetch_bytes=1024)
                c.assign([TopicPartition("del-busy", 0)])
                c.seek_to_beginning()
                while not stop.is_set():
                    for records in c.poll(timeout_ms=100).values():
                        got.extend(records)
                c.close()
            except Exception as e:  # the client's own errors about a vanished topic are fine
                errors.append(e)

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        wait_for(lambda: len(got) > 0, "the consumer to read")
        self.http.json("DELETE", "/api/v1/topics/del-busy")
        # The broker keeps serving: the admin API and the Kafka listener answer.
        self.assertNotIn("del-busy", self.topic_names())
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, api_version=(2, 0, 0))
        try:
            self.assertNotIn("del-busy", admin.list_topics())
        finally:
            admin.close()
        stop.set()
        t.join(timeout=15)
        self.assertEqual(self.http.json("GET", "/health"), {"status": "ok"})


EGRESS = {"egress_rules": [{"log_topic": "commands", "mqtt_topic": "devices/{key}/commands"}]}
WAIT = 30


class EgressTopicDeleteTest(BrokerTestCase):
    """A topic an egress rule reads is refused through both doors, naming the rule."""

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(config=json.dumps(EGRESS), listeners=("mqtt", "http", "kafka")).start()
        cls.http = Http(cls.broker.ports["http"])
        cls.bootstrap = "127.0.0.1:%d" % cls.broker.ports["kafka"]

    def topic_names(self):
        return [t["name"] for t in self.http.json("GET", "/api/v1/topics")["topics"]]

    def reload(self, cfg):
        with open(os.path.join(self.broker.data_dir, "test-config.json"), "w") as f:
            f.write(json.dumps(cfg))
        return self.broker.sighup(WAIT)[-1]

    def test_refused_through_the_admin_api_and_kafka(self):
        self.assertIn("commands", self.topic_names())  # egress created it
        err = self.http.json("DELETE", "/api/v1/topics/commands", expect=409)
        self.assertIn("egress rule egress_rules[0]", err["error"])
        self.assertIn("devices/{key}/commands", err["error"])
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, api_version=(2, 0, 0))
        try:
            with self.assertRaises(Errors.PolicyViolationError):
                admin.delete_topics(["commands"])
            self.assertIn("commands", admin.list_topics())
        finally:
            admin.close()
        self.assertIsNotNone(self.broker.wait_line(
            lambda l: "DeleteTopics refused: topic commands is read by the egress rule" in l, WAIT),
            self.broker.output())
        self.assertIn("commands", self.topic_names())

    def test_rules_in_force_after_sighup(self):
        # An ingest rule added by SIGHUP protects its new topic at once; the egress rule taken
        # out of the file still protects its topic: egress rules change only at a restart, and
        # egress keeps following the topic until then.
        self.http.json("POST", "/api/v1/topics", {"name": "plain", "partitions": 1}, expect=201)
        line = self.reload({"ingest_rules": [{"filter": "sensors/#", "log_topic": "sensors"},
                                             {"filter": "#", "log_topic": "mqtt", "partitions": 4}]})
        self.assertIn("reloaded ingest_rules", line)
        self.assertIn("needs restart: egress_rules", line)
        err = self.http.json("DELETE", "/api/v1/topics/sensors", expect=409)
        self.assertIn("ingest rule sensors/#", err["error"])
        err = self.http.json("DELETE", "/api/v1/topics/commands", expect=409)
        self.assertIn("egress rule", err["error"])
        self.assertEqual(self.http.json("DELETE", "/api/v1/topics/plain"), {"deleted": "plain"})


class EgressTopicDeleteAfterRestartTest(unittest.TestCase):
    """Once a restart has dropped the rule, the topic may be deleted."""

    def test_deleted_once_the_rule_is_gone(self):
        with Broker(config=json.dumps(EGRESS), listeners=("mqtt", "http", "kafka")) as b:
            Http(b.ports["http"]).json("DELETE", "/api/v1/topics/commands", expect=409)
            data_dir = b.data_dir
            b.own_data_dir = False  # kept for the restart below
        try:
            with Broker(data_dir=data_dir, config="{}", listeners=("mqtt", "http", "kafka")) as b:
                self.assertEqual(Http(b.ports["http"]).json("DELETE", "/api/v1/topics/commands"),
                                 {"deleted": "commands"})
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)

if __name__ == "__main__":
    unittest.main(verbosity=2)
