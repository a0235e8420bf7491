"""Kafka client libraries against the Kafka listener (docs/kafka-protocol.md, "The listener"):

- python3-confluent-kafka (librdkafka 2.0.2): a plain consumer with assign() reads records
  published over MQTT; an idempotent producer (enable.idempotence) writes each record once;
  the admin client creates a topic with configs, describes them, and is refused for an
  internal topic name and for deletion;
- kafka-python 2.0.2: a consumer with assign() reads the records (its older request
  versions: Metadata v1, Fetch v4, ListOffsets v1).

No sleeps: every wait is a poll loop with a deadline.
"""
import json
import subprocess
import time
import unittest

import paho.mqtt.client as mqtt
from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic, ConfigResource

from harness import Broker, SLUICE_BIN

WAIT = 30


def log_dump(data_dir, topic):
    out = subprocess.run([SLUICE_BIN, "log-dump", "--data-dir", data_dir, "--topic", topic],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line]


def consume(consumer, want, deadline):
    got = []
    while len(got) < want and time.monotonic() < deadline:
        m = consumer.poll(1.0)
        if m is None:
            continue
        if m.error():
            raise AssertionError("consumer error: %s" % m.error())
        got.append(m)
    return got


class KafkaClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(listeners=("mqtt", "kafka")).start()
        cls.bootstrap = "127.0.0.1:%d" % cls.broker.ports["kafka"]

    @classmethod
    def tearDownClass(cls):
        try:
            cls.broker.stop_checked()
        finally:
            cls.broker.cleanup()

    def publish_mqtt(self, count, prefix):
        c = mqtt.Client(client_id=prefix, protocol=mqtt.MQTTv5)
        c.connect("127.0.0.1", self.broker.mqtt_port)
        c.loop_start()
        infos = [c.publish("clients/%s/%d" % (prefix, i), "%s-%d" % (prefix, i), qos=1)
                 for i in range(count)]
        for info in infos:
            info.wait_for_publish(WAIT)
        c.disconnect()
        c.loop_stop()

    def test_confluent_consumer_with_assign_reads_mqtt_data(self):
        self.publish_mqtt(20, "cfk")
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "assign-only",
                             "enable.auto.commit": False, "enable.partition.eof": False})
        consumer.assign([TopicPartition("mqtt", p, OFFSET_BEGINNING) for p in range(4)])
        deadline = time.monotonic() + WAIT
        values = set()
        while time.monotonic() < deadline and not {"cfk-%d" % i for i in range(20)} <= values:
            for m in consume(consumer, 1, deadline):
                values.add(m.value().decode())
        consumer.close()
        self.assertTrue({"cfk-%d" % i for i in range(20)} <= values, sorted(values))

    def test_idempotent_producer_writes_each_record_once(self):
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic("idem", 3, 1)])["idem"].result(timeout=WAIT)
        p = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True,
                      "retries": 10, "linger.ms": 5})
        errors = []
        for i in range(300):
            p.produce("idem", value=b"idem-%d" % i, key=b"k%d" % (i % 7),
                      on_delivery=lambda err, msg: errors.append(err) if err else None)
        self.assertEqual(p.flush(WAIT), 0)
        self.assertEqual(errors, [])
        values = [r["value"] for r in log_dump(self.broker.data_dir, "idem")]
        self.assertEqual(sorted(values), sorted("idem-%d" % i for i in range(300)))

    def test_admin_create_describe_and_refusals(self):
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        fs = admin.create_topics([NewTopic("configured", 2, 1, config={
            "cleanup.policy": "compact", "retention.ms": "3600000"})])
        fs["configured"].result(timeout=WAIT)
        res = ConfigResource(ConfigResource.Type.TOPIC, "configured")
        configs = admin.describe_configs([res])[res].result(timeout=WAIT)
        self.assertEqual(configs["cleanup.policy"].value, "compact")
        self.assertEqual(configs["retention.ms"].value, "3600000")
        with self.assertRaises(Exception) as ctx:
            admin.create_topics([NewTopic("configured", 2, 1)])["configured"].result(timeout=WAIT)
        self.assertIn("TOPIC_ALREADY_EXISTS", str(ctx.exception))
        with self.assertRaises(Exception) as ctx:
            admin.create_topics([NewTopic("__mine", 1, 1)])["__mine"].result(timeout=WAIT)
        self.assertIn("TOPIC_EXCEPTION", str(ctx.exception))
        with self.assertRaises(Exception) as ctx:
            admin.create_topics([NewTopic("bad-config", 1, 1, config={"no.such": "1"})])[
                "bad-config"].result(timeout=WAIT)
        self.assertIn("INVALID_CONFIG", str(ctx.exception))
        with self.assertRaises(Exception):
            admin.delete_topics(["__producer_ids"])["__producer_ids"].result(timeout=WAIT)
        md = admin.list_topics(timeout=WAIT)
        self.assertEqual(len(md.topics["configured"].partitions), 2)

    def test_kafka_python_consumer_with_assign(self):
        from kafka import KafkaConsumer, TopicPartition as KTP
        self.publish_mqtt(10, "kpy")
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                 enable_auto_commit=False, consumer_timeout_ms=1000,
                                 request_timeout_ms=WAIT * 1000 + 1000)
        parts = [KTP("mqtt", p) for p in range(4)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        want = {"kpy-%d" % i for i in range(10)}
        seen = set()
        deadline = time.monotonic() + WAIT
        while not want <= seen and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=1000).values():
                for r in batch:
                    seen.add(r.value.decode())
        consumer.close()
        self.assertTrue(want <= seen, sorted(seen))


if __name__ == "__main__":
    unittest.main()
