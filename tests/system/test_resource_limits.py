"""Resources a client cannot take from the broker: file descriptors (accept backs off and keeps
serving when the process runs out), and memory through retained messages queued on SUBSCRIBE
(queue limits apply, and a filter repeated in one SUBSCRIBE is served once)."""
import os
import socket
import stat
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Broker, BrokerTestCase  # noqa: E402
import mqtt_raw as raw  # noqa: E402


class DescriptorExhaustionTest(unittest.TestCase):
    def test_accept_backs_off_logs_once_and_keeps_serving(self):
        # The broker gets 64 descriptors; 100 sockets are opened against it, so accept fails
        # with EMFILE while the rest wait in the backlog.
        wrapper_dir = tempfile.mkdtemp(prefix="sluice-nofile-")
        wrapper = os.path.join(wrapper_dir, "sluice-64-files")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\nulimit -n 64\nexec "%s" "$@"\n' % os.path.abspath(harness.SLUICE_BIN))
        os.chmod(wrapper, stat.S_IRWXU)
        real, harness.SLUICE_BIN = harness.SLUICE_BIN, wrapper
        try:
            b = Broker("--log-level", "warn", "--threads", "1").start()
        finally:
            harness.SLUICE_BIN = real
        try:
            # One ordinary connection and close first. The sanitizers' runtime needs a file
            # descriptor the first time it checks a type at a call site (UBSan's vptr check reads
            # /proc/self/maps), so a first end-of-stream met only while the broker is out of
            # descriptors would be reported as a false "invalid vptr" in the ASan/UBSan build.
            # One io thread, so the end of stream below is handled before the PINGRESP comes.
            warm = raw.connected(b.mqtt_port, "warm-up")
            warm.close()  # no DISCONNECT: the broker reads end-of-stream
            probe = raw.connected(b.mqtt_port, "warm-up-probe")
            probe.send(raw.PINGREQ_BYTES)
            probe.expect(raw.PINGRESP)
            probe.close()
            held = []
            for _ in range(100):
                s = socket.create_connection(("127.0.0.1", b.mqtt_port))
                held.append(s)
            # The broker says so, once per interval rather than once per failed accept.
            line = b.wait_line(lambda l: "accept failed" in l, 10)
            self.assertIsNotNone(line, b.output())
            for s in held:
                s.close()
            # Once descriptors are free again it accepts and serves as usual.
            c = raw.connected(b.mqtt_port, "after-emfile")
            c.send(raw.PINGREQ_BYTES)
            c.expect(raw.PINGRESP)
            c.close()
            failures = [l for l in b.output().splitlines() if "accept failed" in l]
            self.assertLessEqual(len(failures), 2, "\n".join(failures[:5]))
        finally:
            self.assertEqual(b.stop(), 0, b.output())
            b.cleanup()


class RetainedFloodTest(BrokerTestCase):
    broker_config = """{"mqtt": {"max_queued_messages": 1000, "max_inflight": 65535}}"""

    def test_a_filter_repeated_in_one_subscribe_is_served_once(self):
        p = raw.connected(self.port, "flood-pub")
        for i in range(50):
            p.send(raw.publish("flood/%d" % i, b"r", qos=1, retain=True, pid=i + 1))
            p.expect(raw.PUBACK)
        c = raw.connected(self.port, "flood-sub")
        c.send(raw.subscribe(1, [("flood/#", 0)] * 200))
        ack = c.read_until(raw.SUBACK)
        self.assertEqual(len(ack.reasons), 200)
        got = 0
        try:
            while True:
                pkt = c.read(timeout=1.0)
                if pkt.type == raw.PUBLISH:
                    got += 1
        except TimeoutError:
            pass
        self.assertEqual(got, 50)  # not 200 x 50
        c.close()
        p.close()


class RetainedQueueLimitTest(BrokerTestCase):
    broker_config = """{"mqtt": {"max_queued_messages": 20, "max_inflight": 10}}"""

    def test_retained_on_subscribe_obey_the_queue_limit(self):
        p = raw.connected(self.port, "limit-pub")
        for i in range(100):
            p.send(raw.publish("lim/%d" % i, b"r", qos=1, retain=True, pid=i + 1))
            p.expect(raw.PUBACK)
        # Retained messages queued on SUBSCRIBE obey the session's queue limit (20).
        c = raw.connected(self.port, "limit-sub")
        c.send(raw.subscribe(1, [("lim/#", 1)]))
        c.read_until(raw.SUBACK)
        got = []
        try:
            while True:
                pkt = c.read(timeout=1.0)
                if pkt.type == raw.PUBLISH:
                    got.append(pkt.pid)
        except TimeoutError:
            pass
        self.assertEqual(len(got), 10)  # the window; nothing acknowledged
        for pid in got:
            c.send(raw.ack(raw.PUBACK, pid))
        more = 0
        try:
            while True:
                pkt = c.read(timeout=1.0)
                if pkt.type == raw.PUBLISH:
                    more += 1
                    c.send(raw.ack(raw.PUBACK, pkt.pid))
        except TimeoutError:
            pass
        # The session's queue took 20 of the 100 (the other 80 were dropped and counted); the
        # window sent 10 of those at once and the rest after the acknowledgements.
        self.assertEqual(len(got) + more, 20)
        c.close()
        p.close()


if __name__ == "__main__":
    unittest.main()
