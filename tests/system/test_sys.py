"""$SYS/broker/... topics: published periodically, retained, not matched by '#'."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402
import mqtt_raw as raw  # noqa: E402

TOPICS = ["version", "uptime", "clients/connected", "messages/received", "messages/sent",
          "bytes/received", "bytes/sent", "subscriptions/count", "retained messages/count",
          "messages/dropped", "messages/dropped/budget", "messages/queued/bytes"]


class SysTest(unittest.TestCase):
    def test_sys_topics(self):
        with Broker("--sys-interval", "1") as b:
            c = raw.connected(b.mqtt_port, "sys-reader")
            c.subscribe(1, [("$SYS/broker/#", 0)])
            seen, retained = {}, set()
            # Retained values arrive at once; the periodic update follows (not retained).
            while not all(t in seen for t in TOPICS):
                m = c.read_until(raw.PUBLISH)
                name = m.topic[len("$SYS/broker/"):]
                if m.retain:
                    retained.add(name)
                else:
                    seen[name] = m.payload.decode()
            self.assertEqual(retained, set(TOPICS))
            self.assertTrue(seen["version"].startswith("sluice "))
            self.assertGreaterEqual(int(seen["clients/connected"]), 1)
            self.assertGreaterEqual(int(seen["subscriptions/count"]), 1)
            # Updated periodically: uptime changes.
            first = seen["uptime"]
            while True:
                m = c.read_until(raw.PUBLISH)
                if m.topic == "$SYS/broker/uptime" and m.payload.decode() != first:
                    break
            # '#' does not match $SYS topics.
            d = raw.connected(b.mqtt_port, "hash-reader")
            d.subscribe(1, [("#", 0)])
            d.send(raw.PINGREQ_BYTES)
            self.assertEqual(d.read().type, raw.PINGRESP)
            c.close()
            d.close()


if __name__ == "__main__":
    unittest.main()
