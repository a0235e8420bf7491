"""The listener registry: several MQTT listeners from the config, each with its own
max_connections, each printing its `listening` line."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402
import mqtt_raw as raw  # noqa: E402

CONFIG = """{
  "listeners": {
    "lan": {"type": "tcp", "address": "127.0.0.1:0", "max_connections": 1}
  }
}"""


class ListenersTest(unittest.TestCase):
    def test_two_listeners_share_one_broker_and_a_cap_applies_per_listener(self):
        with Broker(config=CONFIG, listeners=("mqtt",)) as b:
            lan_port = b.ports.get("lan")
            if lan_port is None:
                line = b.wait_line(lambda l: l.startswith("listening lan "), 10)
                self.assertIsNotNone(line, b.output())
                lan_port = int(line.rsplit(":", 1)[1])
            first = raw.connected(lan_port, "on-lan")
            first.subscribe(1, [("x/#", 1)])
            # A second connection on the capped listener is closed without a CONNACK...
            second = raw.RawClient(lan_port)
            second.send(raw.connect("second-on-lan"))
            with self.assertRaises(EOFError):
                second.read(5)
            # ...while the other listener serves as usual, and both reach the same topics.
            other = raw.connected(b.mqtt_port, "on-mqtt")
            other.send(raw.publish("x/y", b"across", qos=1, pid=1))
            self.assertEqual(other.read_until(raw.PUBACK).rc, 0)
            self.assertEqual(first.read_until(raw.PUBLISH).payload, b"across")
            for c in (first, other):
                c.close()


if __name__ == "__main__":
    unittest.main()
