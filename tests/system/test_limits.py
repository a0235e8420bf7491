"""Per-connection limits: maximum packet size in both directions and a bounded send queue for
a reader that does not read (QoS 0 dropped and counted, QoS 1 kept in the session)."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BrokerTestCase  # noqa: E402
import mqtt_raw as raw  # noqa: E402
from mqtt_raw import P_MAXIMUM_PACKET_SIZE  # noqa: E402

CONFIG = """{"mqtt": {"max_packet_size": 4096, "send_queue_bytes": 8192, "sys_interval_s": 1}}"""


class LimitsTest(BrokerTestCase):
    broker_config = CONFIG

    def test_inbound_packet_too_large(self):
        c = raw.connected(self.port, "big-v5")
        c.send(raw.publish("big", b"x" * 5000))
        self.assertEqual(c.read_until(raw.DISCONNECT).rc, 0x95)
        self.assertTrue(c.closed())
        c = raw.connected(self.port, "big-311", version=4)
        c.send(raw.publish("big", b"x" * 5000, version=4))
        with self.assertRaises(EOFError):
            c.read()

    def test_outbound_too_large_is_dropped_for_that_client(self):
        small = raw.connected(self.port, "small-reader", plist=[(P_MAXIMUM_PACKET_SIZE, 200)])
        small.subscribe(1, [("size/t", 0)])
        big = raw.connected(self.port, "big-reader")
        big.subscribe(1, [("size/t", 0)])
        p = raw.connected(self.port, "size-pub")
        p.send(raw.publish("size/t", b"L" * 1000))
        p.send(raw.publish("size/t", b"small"))
        self.assertEqual(big.read_until(raw.PUBLISH).payload, b"L" * 1000)
        self.assertEqual(small.read_until(raw.PUBLISH).payload, b"small")
        for c in (small, big, p):
            c.close()

    def test_slow_reader_drops_qos0_keeps_qos1(self):
        watcher = raw.connected(self.port, "drop-watcher")
        watcher.subscribe(1, [("$SYS/broker/messages/dropped", 0)])
        slow = raw.RawClient.__new__(raw.RawClient)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10)
        s.connect(("127.0.0.1", self.port))
        slow.sock, slow.buf, slow.version, slow.timeout = s, bytearray(), 5, 10.0
        self.assertEqual(slow.connect("slow", clean=True).rc, 0)
        slow.subscribe(1, [("flood/#", 1)])
        p = raw.connected(self.port, "flooder")
        chunk = b"".join(raw.publish("flood/q0", b"z" * 1000) for _ in range(100))
        dropped = 0
        rounds = 0
        # Flood at QoS 0 until the broker reports drops for the reader that does not read.
        while dropped == 0:
            rounds += 1
            self.assertLess(rounds, 2000, "no QoS 0 message was ever dropped")
            p.send(chunk)
            try:
                while True:
                    m = watcher.read(timeout=0.05)
                    if m.type == raw.PUBLISH and not m.retain:
                        dropped = int(m.payload)
            except TimeoutError:
                pass
        p.send(raw.publish("flood/q1", b"important", qos=1, pid=1))
        p.expect(raw.PUBACK)
        # Now read: the QoS 1 message waited in the session and arrives.
        while True:
            m = slow.read_until(raw.PUBLISH, timeout=30)
            if m.qos == 1:
                self.assertEqual(m.payload, b"important")
                break
        for c in (watcher, slow, p):
            c.close()


if __name__ == "__main__":
    unittest.main()
