"""A Kafka connection whose reading is paused (docs/kafka-protocol.md, "The listener": at
max_pending_requests unanswered requests, or max_pending_bytes of responses unsent, it stops
reading) stays open and answers everything once its requests complete: more long-poll Fetches
pipelined on one connection than the limit, all waiting, then answered in request order, and
the connection serves a request after them. The broker used to destroy such a connection (the
requests in flight hold only weak references to it), which librdkafka reported as
"Disconnected" under kcat -P with acks=-1 and slow fsyncs, with nothing in the broker's log.
Also kcat -P of many records through one connection completes with every record stored."""
import io
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import kafka_wire as kw  # noqa: E402
from harness import Broker, BrokerTestCase  # noqa: E402

from kafka.protocol.fetch import FetchRequest, FetchResponse  # noqa: E402

WAIT = 60
PENDING_LIMIT = 64  # kafka_service::max_pending_requests


class PausedConnection(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(listeners=("mqtt", "kafka")).start()
        cls.kport = cls.broker.ports["kafka"]
        cls.bootstrap = "127.0.0.1:%d" % cls.kport

    def create_topic(self, name):
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(name, 1, 1)], request_timeout=WAIT)[name].result(timeout=WAIT)

    def test_more_waiting_fetches_than_the_limit_are_all_answered(self):
        self.create_topic("quiet")
        s = kw.connect(self.kport)
        s.settimeout(WAIT)
        n = PENDING_LIMIT + 16
        # Each waits its full max_wait (the topic stays empty): the connection stops reading at
        # the limit with no response to send.
        req = FetchRequest[4](replica_id=-1, max_wait_time=1000, min_bytes=1, max_bytes=1 << 20,
                              isolation_level=0, topics=[("quiet", [(0, 0, 1 << 20)])])
        s.sendall(b"".join(kw.frame(1, 4, 100 + i, req.encode()) for i in range(n)))
        for i in range(n):
            got = kw.recv_frame(s)
            self.assertIsNotNone(got, "connection closed after %d of %d answers" % (i, n))
            self.assertEqual(got[0], 100 + i)
            part = FetchResponse[4].decode(io.BytesIO(got[1])).topics[0][1][0]
            self.assertEqual(part[1], 0)  # no error, no records
        # The connection still serves.
        s.sendall(kw.frame(18, 0, 999, b""))
        got = kw.recv_frame(s)
        self.assertIsNotNone(got)
        self.assertEqual(got[0], 999)
        s.close()

    def test_kcat_produce_of_many_records_completes(self):
        self.create_topic("fill")
        lines = b"".join(b"%06d-" % i + b"x" * 2000 + b"\n" for i in range(20000))
        out = subprocess.run(["kcat", "-P", "-b", self.bootstrap, "-t", "fill", "-X",
                              "linger.ms=50"], input=lines, capture_output=True, timeout=WAIT)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        out = subprocess.run(["kcat", "-C", "-b", self.bootstrap, "-t", "fill", "-o", "beginning",
                              "-e", "-q", "-f", "%o\n"], capture_output=True, timeout=WAIT)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        self.assertEqual(len(out.stdout.split()), 20000)


if __name__ == "__main__":
    unittest.main(verbosity=2)
