"""sluice-bench kafka-fetch, the raw Fetch reader of the Kafka benchmarks (loadtest/kafka_fetch):
against the real sluice, every record of every partition is counted once, with one request in
flight per partition and with several pipelined over consecutive offset ranges, also when the
batches are of uneven sizes (so ranges end inside batches and answers stop short of a range's
end); `--file` counts the same batches from the segment files; bad arguments and an unknown
topic are refused with a message. Correctness only: no timing is asserted.

SLUICE_BENCH names the sluice-bench binary, SLUICE_BIN the sluice binary.
"""
import glob
import json
import os
import random
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
from harness import Broker, BrokerTestCase  # noqa: E402

from kafka import KafkaAdminClient, KafkaProducer  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402

BENCH = os.environ.get("SLUICE_BENCH", os.path.join(os.path.dirname(__file__), "../../build/bin/sluice-bench"))
RECORDS = 3000


def bench(*args):
    return subprocess.run([BENCH, "kafka-fetch"] + list(args), capture_output=True, text=True,
                          timeout=120)


def batch_bytes(path):
    """The bytes of a segment file's record batches: each is its 12-byte prefix (base offset,
    batch length) plus the length; the zeros an active segment keeps after its last batch
    (docs/store.md) are not batches."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos + 8:pos + 12], "big")
        if length == 0:
            break
        pos += 12 + length
    return pos


def result(out):
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


class KafkaFetchReaderTest(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(listeners=("mqtt", "kafka")).start()
        cls.port = str(cls.broker.ports["kafka"])
        bootstrap = "127.0.0.1:" + cls.port
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, api_version=(2, 0, 0))
        try:
            admin.create_topics([NewTopic("uneven", 2, 1)])
        finally:
            admin.close()
        # Small, uneven batches: values of 10 to 3,000 bytes, batches cut at 4 KiB or 2 ms.
        rnd = random.Random(7)
        p = KafkaProducer(bootstrap_servers=bootstrap, api_version=(2, 0, 0), batch_size=4096,
                          linger_ms=2)
        try:
            for i in range(RECORDS):
                p.send("uneven", value=b"v" * rnd.randint(10, 3000), partition=i % 2)
            p.flush(timeout=60)
        finally:
            p.close()

    def segment_files(self):
        files = sorted(glob.glob(os.path.join(self.broker.data_dir, "uneven", "*", "*.log")))
        self.assertEqual(len(files), 2)
        return files

    def from_files(self):
        args = []
        for f in self.segment_files():
            args += ["--file", f]
        return result(bench(*args))

    def test_files_hold_every_record(self):
        r = self.from_files()
        self.assertEqual(r["records"], RECORDS)
        self.assertEqual(r["bytes"], sum(batch_bytes(f) for f in self.segment_files()))

    def test_one_request_in_flight_per_partition(self):
        r = result(bench("--port", self.port, "--topic", "uneven", "--partitions", "2",
                         "--max-bytes", "50000"))
        want = self.from_files()
        for k in ("records", "bytes", "batches"):
            self.assertEqual(r[k], want[k], k)
        self.assertEqual(r["wasted_bytes"], 0)
        self.assertEqual(r["fill_requests"], 0)

    def test_pipelined_ranges_count_each_batch_once(self):
        want = self.from_files()
        for max_bytes in ("20000", "50000", "1000000"):
            r = result(bench("--port", self.port, "--topic", "uneven", "--partitions", "2",
                             "--pipeline", "4", "--max-bytes", max_bytes))
            for k in ("records", "bytes", "batches"):
                self.assertEqual(r[k], want[k], (max_bytes, k))
        # With answers much smaller than the partitions, the ranges after the first were
        # pipelined (more requests than partitions) and uneven batches made some answers stop
        # short of their range's end or cross into the next range.
        r = result(bench("--port", self.port, "--topic", "uneven", "--partitions", "2",
                         "--pipeline", "4", "--max-bytes", "20000"))
        self.assertGreater(r["requests"], 10)
        self.assertGreater(r["fill_requests"] + r["wasted_bytes"], 0)

    def test_bad_input(self):
        out = bench("--port", self.port, "--topic", "uneven", "--pipeline", "0")
        self.assertEqual(out.returncode, 2)
        self.assertIn("usage: sluice-bench kafka-fetch", out.stderr)
        out = bench("--port", self.port, "--topic", "no-such-topic")
        self.assertEqual(out.returncode, 1)
        self.assertIn("partition 0: UNKNOWN_TOPIC_OR_PARTITION", out.stderr)
        out = bench("--file", os.path.join(self.broker.data_dir, "no-such-file.log"))
        self.assertEqual(out.returncode, 1)
        self.assertIn("cannot read", out.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
