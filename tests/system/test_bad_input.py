"""Malformed and out-of-order input: DISCONNECT with the codec's reason code (5.0) or a closed
socket (3.1.1), PUBLISH before CONNECT, a second CONNECT, a packet id in use, an unsupported
protocol level, and other clients undisturbed throughout."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BrokerTestCase  # noqa: E402
import mqtt_raw as raw  # noqa: E402


class BadInputTest(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A bystander that must keep working while others misbehave.
        cls.sub = raw.connected(cls.port, "bystander-sub")
        cls.sub.subscribe(1, [("bystander/t", 1)])
        cls.pub = raw.connected(cls.port, "bystander-pub")
        cls.next_pid = 1

    @classmethod
    def tearDownClass(cls):
        cls.sub.close()
        cls.pub.close()
        super().tearDownClass()

    def tearDown(self):
        cls = type(self)
        pid = cls.next_pid
        cls.next_pid += 1
        cls.pub.send(raw.publish("bystander/t", b"still here %d" % pid, qos=1, pid=pid))
        self.assertEqual(cls.pub.expect(raw.PUBACK).pid, pid)
        got = cls.sub.read_until(raw.PUBLISH)
        self.assertEqual(got.payload, b"still here %d" % pid)
        cls.sub.send(raw.ack(raw.PUBACK, got.pid))

    def test_malformed_v5_gets_disconnect_with_reason(self):
        cases = [
            (raw.packet(raw.PUBLISH, 0x06, raw.string("t") + b"\x00\x01\x00"), 0x81),  # QoS 3
            (b"\x30\xff\xff\xff\xff\x01", 0x81),  # remaining length over 4 bytes
            (raw.packet(raw.SUBSCRIBE, 0x00, b"\x00\x01\x00" + raw.string("t") + b"\x00"), 0x81),  # bad flags
            (raw.packet(raw.PUBLISH, 0x00, raw.string(b"t\x00x") + b"\x00"), 0x81),  # U+0000 in topic
            (raw.packet(raw.PUBLISH, 0x02, raw.string("t") + b"\x00\x00\x00"), 0x82),  # packet id 0
            (raw.packet(raw.PUBLISH, 0x00, raw.string("a/+") + b"\x00"), 0x82),  # wildcard in topic
        ]
        for data, code in cases:
            c = raw.connected(self.port, "malformed")
            c.send(data)
            d = c.read_until(raw.DISCONNECT)
            self.assertIn(d.rc, (code, 0x81, 0x82, 0x90), data)
            self.assertGreaterEqual(d.rc, 0x80)
            self.assertTrue(c.closed(), data)

    def test_qos3_exact_reason_code(self):
        c = raw.connected(self.port, "qos3")
        c.send(raw.packet(raw.PUBLISH, 0x06, raw.string("t") + b"\x00\x01\x00"))
        self.assertEqual(c.read_until(raw.DISCONNECT).rc, 0x81)
        self.assertTrue(c.closed())

    def test_malformed_v311_closes_socket(self):
        c = raw.connected(self.port, "malformed-311", version=4)
        c.send(raw.packet(raw.PUBLISH, 0x06, raw.string("t") + b"\x00\x01"))
        with self.assertRaises(EOFError):
            c.read()  # closed without any packet

    def test_publish_before_connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.sendall(raw.publish("early", b"x", version=4))
        self.assertEqual(s.recv(10), b"")
        s.close()

    def test_garbage_first_byte(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.sendall(b"\xff\xff\xff\xff GET / HTTP/1.1\r\n\r\n")
        self.assertEqual(s.recv(10), b"")
        s.close()

    def test_second_connect(self):
        c = raw.connected(self.port, "twice")
        c.send(raw.connect("twice"))
        self.assertEqual(c.read_until(raw.DISCONNECT).rc, 0x82)
        self.assertTrue(c.closed())
        c = raw.connected(self.port, "twice-311", version=4)
        c.send(raw.connect("twice-311", version=4))
        self.assertTrue(c.closed())

    def test_packet_id_in_use(self):
        c = raw.connected(self.port, "reuse")
        c.send(raw.publish("reuse/t", b"q2", qos=2, pid=9))
        c.expect(raw.PUBREC)
        # The same id again for QoS 2 is acknowledged again (spec 4.3.3)...
        c.send(raw.publish("reuse/t", b"q2", qos=2, pid=9, dup=True))
        self.assertEqual(c.expect(raw.PUBREC).pid, 9)
        # ...but using it for a QoS 1 PUBLISH while the QoS 2 exchange holds it is an error.
        c.send(raw.publish("reuse/t", b"q1", qos=1, pid=9))
        self.assertEqual(c.read_until(raw.DISCONNECT).rc, 0x82)
        self.assertTrue(c.closed())

    def test_unsupported_protocol_level(self):
        c = raw.RawClient(self.port)
        data = bytearray(raw.connect("level6", version=5))
        data[8] = 6  # protocol level byte
        c.send(bytes(data))
        ack = c.read()
        self.assertEqual(ack.type, raw.CONNACK)
        self.assertEqual(ack.body[1], 0x01)  # unacceptable protocol version (3.1.1 form)
        self.assertTrue(c.closed())

    def test_receive_maximum_exceeded(self):
        c = raw.RawClient(self.port)
        rm = c.connect("flooder").props[raw.P_RECEIVE_MAXIMUM]
        for pid in range(1, rm + 2):
            c.send(raw.publish("rm/t", b"x", qos=2, pid=pid))
        self.assertEqual(c.read_until(raw.DISCONNECT).rc, 0x93)
        self.assertTrue(c.closed())

    def test_auth_without_method(self):
        c = raw.connected(self.port, "auth")
        c.send(raw.packet(raw.AUTH, 0, b"\x18\x00"))
        self.assertEqual(c.read_until(raw.DISCONNECT).rc, 0x82)


if __name__ == "__main__":
    unittest.main()
