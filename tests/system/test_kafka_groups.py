"""Kafka consumer groups and committed offsets (docs/kafka-protocol.md, "Consumer groups and
offsets") with real clients against the real broker:

- three confluent-kafka consumers in one group share a 6-partition topic fed by MQTT
  publishers and together consume every message;
- a member joining triggers a rebalance: the first member's assignment shrinks;
- a consumer SIGKILLed after processing messages it did not commit: another member of the
  group gets exactly those messages (and not the committed ones);
- committed offsets survive a restart of sluice on the same data dir: a new consumer in the
  group resumes at the committed offsets;
- kafka-python consumes and commits in a group; the commit is visible to librdkafka.

Short session timeouts (kafka_groups config) keep it quick; every wait is a poll loop with a
deadline, never a sleep.
"""
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import paho.mqtt.client as mqtt
from confluent_kafka import Consumer, TopicPartition
from kafka import KafkaConsumer, TopicPartition as KpTopicPartition

from harness import Broker

WAIT = 30
TOPIC = "work"
PARTITIONS = 6
KILL_TOPIC = "kill"
CONFIG = json.dumps({
    "ingest_rules": [
        {"filter": "work/#", "log_topic": TOPIC, "partitions": PARTITIONS, "key": "topic"},
        # the kill test's own topic: its consumer reads from the start
        {"filter": "kill/#", "log_topic": KILL_TOPIC, "partitions": 3, "key": "topic"},
        {"filter": "#", "log_topic": "mqtt", "partitions": 4},
    ],
    "kafka_groups": {"min_session_timeout_ms": 500, "initial_rebalance_delay_ms": 200},
})
# librdkafka settings that make a dead member leave the group within about two seconds.
GROUP_TIMING = {"session.timeout.ms": 2000, "heartbeat.interval.ms": 200,
                "max.poll.interval.ms": 10000}


def publish_mqtt(port, prefix, count, root="work"):
    """QoS 1 publishes to <root>/<prefix>/<i>: acknowledged once they are in the log."""
    c = mqtt.Client(client_id="pub-" + prefix, protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port)
    c.loop_start()
    infos = [c.publish("%s/%s/%d" % (root, prefix, i), "%s-%d" % (prefix, i), qos=1)
             for i in range(count)]
    for info in infos:
        info.wait_for_publish(WAIT)
    c.disconnect()
    c.loop_stop()
    return {"%s-%d" % (prefix, i) for i in range(count)}


class Member:
    """A confluent-kafka consumer in a group that records its assignments and messages."""

    def __init__(self, bootstrap, group, name, topic=TOPIC, **extra):
        conf = {"bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
                "auto.offset.reset": "earliest", "enable.auto.commit": False,
                "enable.partition.eof": False}
        conf.update(GROUP_TIMING)
        conf.update(extra)
        self.name = name
        self.assigned = set()
        self.assignments = []  # every assignment in order
        self.values = []
        self.c = Consumer(conf)
        self.c.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, consumer, parts):
        self.assigned = {p.partition for p in parts}
        self.assignments.append(set(self.assigned))

    def _on_revoke(self, consumer, parts):
        self.assigned = set()

    def poll(self, timeout=0.1):
        m = self.c.poll(timeout)
        if m is None:
            return None
        if m.error():
            raise AssertionError("%s: consumer error %s" % (self.name, m.error()))
        self.values.append(m.value().decode())
        return m

    def close(self):
        self.c.close()


def poll_until(members, cond, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what + ": " +
                                 "; ".join("%s assigned %s, %d values" %
                                           (m.name, sorted(m.assigned), len(m.values))
                                           for m in members))
        for m in members:
            m.poll(0.05)


# Runs in a child process: consumes, commits once after the first `commit_after` messages,
# prints every value (and "committed") and never commits again; the test SIGKILLs it.
CHILD = r"""
import sys
from confluent_kafka import Consumer
conf = dict(eval(sys.argv[1]))
commit_after = int(sys.argv[2])
c = Consumer(conf)
c.subscribe([sys.argv[3]])
n = 0
while True:
    m = c.poll(0.1)
    if m is None:
        continue
    if m.error():
        print("error", m.error(), flush=True)
        continue
    print("got", m.value().decode(), flush=True)
    n += 1
    if n == commit_after:
        c.commit(asynchronous=False)
        print("committed", flush=True)
"""


class KafkaGroups(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(config=CONFIG, listeners=("mqtt", "kafka")).start()
        cls.bootstrap = "127.0.0.1:%d" % cls.broker.ports["kafka"]

    @classmethod
    def tearDownClass(cls):
        try:
            cls.broker.stop_checked()
        finally:
            cls.broker.cleanup()

    def test_three_members_share_the_topic_and_consume_everything(self):
        first = publish_mqtt(self.broker.mqtt_port, "three", 60)
        members = [Member(self.bootstrap, "g-three", "m%d" % i) for i in range(3)]
        try:
            def settled():
                parts = [m.assigned for m in members]
                return (all(parts) and sum(len(p) for p in parts) == PARTITIONS and
                        set().union(*parts) == set(range(PARTITIONS)))
            got = lambda: set().union(*(set(m.values) for m in members))
            poll_until(members, lambda: settled() and first <= got(),
                       "three members sharing 6 partitions and the first 60 messages")
            # Now that they share the partitions, new messages reach each member's share.
            for m in members:
                m.values.clear()
            second = publish_mqtt(self.broker.mqtt_port, "three-more", 60)
            poll_until(members, lambda: second <= got(), "the next 60 messages")
            self.assertTrue(settled())
            for m in members:
                self.assertTrue(m.values, "%s got nothing of its share" % m.name)
            total = sum(len(m.values) for m in members)
            self.assertEqual(total, len(set().union(*(set(m.values) for m in members))),
                             "a message went to two members of one generation")
        finally:
            for m in members:
                m.close()

    def test_a_joining_member_triggers_a_rebalance(self):
        a = Member(self.bootstrap, "g-join", "a")
        b = None
        try:
            poll_until([a], lambda: a.assigned == set(range(PARTITIONS)), "a alone assigned all")
            b = Member(self.bootstrap, "g-join", "b")
            poll_until([a, b], lambda: a.assigned and b.assigned and
                       len(a.assigned) + len(b.assigned) == PARTITIONS and
                       a.assigned | b.assigned == set(range(PARTITIONS)),
                       "a and b sharing the partitions")
            self.assertGreaterEqual(len(a.assignments), 2)
            self.assertLess(len(a.assigned), PARTITIONS)
        finally:
            a.close()
            if b:
                b.close()
        # Both left: the group is still known to the coordinator (DescribeGroups/ListGroups).

    def test_uncommitted_messages_of_a_killed_member_go_to_another(self):
        values = publish_mqtt(self.broker.mqtt_port, "kill", 40, root="kill")
        conf = {"bootstrap.servers": self.bootstrap, "group.id": "g-kill", "client.id": "victim",
                "auto.offset.reset": "earliest", "enable.auto.commit": False}
        conf.update(GROUP_TIMING)
        child = subprocess.Popen([sys.executable, "-c", CHILD, repr(conf), "15", KILL_TOPIC],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 bufsize=1)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l.rstrip("\n")) for l in child.stdout],
                         daemon=True).start()
        before, after, committed, seen = [], [], False, []
        deadline = time.monotonic() + WAIT
        try:
            while not committed or set(before) | set(after) != values:
                try:
                    line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    line = None
                if line is None or time.monotonic() > deadline:
                    raise AssertionError("the child consumer did not get every message and "
                                         "commit: missing %s, committed %s, lines %s"
                                         % (sorted(values - set(before) - set(after)),
                                            committed, seen))
                seen.append(line)
                if line == "committed":
                    committed = True
                elif line.startswith("got "):
                    (after if committed else before).append(line[4:])
                else:
                    raise AssertionError("child: " + line)
        finally:
            child.send_signal(signal.SIGKILL)  # processed, not committed: no LeaveGroup either
            child.wait()
        self.assertTrue(committed)
        self.assertEqual(len(before), 15)
        uncommitted = set(after) - set(before)
        # Another member gets exactly the uncommitted ones once the dead member's session ends.
        other = Member(self.bootstrap, "g-kill", "survivor", topic=KILL_TOPIC)
        try:
            poll_until([other], lambda: uncommitted <= set(other.values),
                       "the killed member's uncommitted messages")
            self.assertFalse(set(before) & set(other.values),
                             "committed messages were delivered again")
        finally:
            other.close()

    def test_kafka_python_consumes_and_commits_in_a_group(self):
        values = publish_mqtt(self.broker.mqtt_port, "kp", 20)
        c = KafkaConsumer(TOPIC, bootstrap_servers=self.bootstrap, group_id="g-kp",
                          client_id="kafka-python", auto_offset_reset="earliest",
                          enable_auto_commit=False, session_timeout_ms=2000,
                          heartbeat_interval_ms=200, api_version_auto_timeout_ms=10000)
        got = set()
        try:
            deadline = time.monotonic() + WAIT
            while not values <= got and time.monotonic() < deadline:
                for records in c.poll(timeout_ms=200).values():
                    got.update(r.value.decode() for r in records)
            self.assertTrue(values <= got, sorted(values - got))
            self.assertEqual(len(c.assignment()), PARTITIONS)
            c.commit()
            positions = {tp.partition: c.position(tp) for tp in c.assignment()}
            committed = {tp.partition: c.committed(tp) for tp in c.assignment()}
            self.assertEqual(committed, positions)
        finally:
            c.close()
        # librdkafka reads the same commits (OffsetFetch of another client).
        check = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "g-kp"})
        try:
            offsets = check.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)],
                                      timeout=WAIT)
            self.assertEqual({tp.partition: tp.offset for tp in offsets}, positions)
        finally:
            check.close()


class KafkaGroupsRestart(unittest.TestCase):
    def test_committed_offsets_survive_a_restart(self):
        data_dir = tempfile.mkdtemp(prefix="sluice-groups-")
        try:
            with Broker(config=CONFIG, listeners=("mqtt", "kafka"), data_dir=data_dir) as b:
                bootstrap = "127.0.0.1:%d" % b.ports["kafka"]
                values = publish_mqtt(b.mqtt_port, "restart", 30)
                m = Member(bootstrap, "g-restart", "before")
                try:
                    poll_until([m], lambda: len(m.values) >= 12, "12 messages")
                    m.c.commit(asynchronous=False)
                    done = set(m.values)
                    committed = {tp.partition: tp.offset for tp in m.c.committed(
                        [TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=WAIT)}
                finally:
                    m.close()
            with Broker(config=CONFIG, listeners=("mqtt", "kafka"), data_dir=data_dir) as b:
                bootstrap = "127.0.0.1:%d" % b.ports["kafka"]
                m = Member(bootstrap, "g-restart", "after")
                try:
                    offsets = m.c.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)],
                                            timeout=WAIT)
                    self.assertEqual({tp.partition: tp.offset for tp in offsets}, committed)
                    poll_until([m], lambda: values - done <= set(m.values),
                               "the messages after the committed offsets")
                    self.assertFalse(done & set(m.values),
                                     "a message before the committed offset came again")
                finally:
                    m.close()
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
