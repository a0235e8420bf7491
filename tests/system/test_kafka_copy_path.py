"""The Kafka listener's diagnostic copy path (listener key "sendfile": false,
docs/configuration.md): Fetch answers carry the same record bytes as with sendfile, including
records larger than the copy buffer (256 KiB), read by kcat -C. A kafka listener key the
broker does not know would exit 2, and "sendfile" on another listener type does.
"""
import json
import subprocess
import unittest

from clients import Paho
from harness import Broker, run_cli, SLUICE_BIN

WAIT = 30
CONFIG = json.dumps({
    "ingest_rules": [{"filter": "copy/#", "log_topic": "copy", "partitions": 1},
                     {"filter": "#", "log": False}],
    "listeners": {"kafka": {"address": "127.0.0.1:0", "sendfile": False}},
    "mqtt": {"max_packet_size": 2000000},
})


class CopyPath(unittest.TestCase):
    def test_kcat_reads_every_record_without_sendfile(self):
        with Broker(config=CONFIG, listeners=("mqtt", "kafka")) as b:
            pub = Paho(b.mqtt_port)
            sizes = [1, 1000, 70000, 300000, 600000, 5]
            payloads = [bytes([65 + i]) * n for i, n in enumerate(sizes)]
            for p in payloads:
                pub.publish("copy/x", p, qos=1)
            pub.stop()
            r = subprocess.run(["kcat", "-C", "-b", "127.0.0.1:%d" % b.ports["kafka"], "-t", "copy",
                                "-o", "beginning", "-e", "-q", "-f", "%S %s\n"],
                               capture_output=True, timeout=WAIT)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.splitlines()
            self.assertEqual(len(lines), len(payloads), r.stderr)
            for line, p in zip(lines, payloads):
                self.assertEqual(line, b"%d %s" % (len(p), p))

    def test_sendfile_key_only_on_kafka_listeners(self):
        r = run_cli([SLUICE_BIN, "--config", "/dev/stdin", "--data-dir", "/tmp/unused-sluice-dir"],
                    input=json.dumps({"listeners": {"mqtt": {"address": "127.0.0.1:0",
                                                             "sendfile": False}}}))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("listeners.mqtt.sendfile", r.stderr)


if __name__ == "__main__":
    unittest.main()
