"""Smoke test of sluice-bench: runs the real load generator with tiny message counts against
Mosquitto, against sluice (when built) and against a deliberately faulty broker, and checks
that the JSON line counts messages correctly. Correctness only: no timing is asserted.

SLUICE_BENCH names the sluice-bench binary; SLUICE_BIN the sluice binary (optional).
"""
import json
import os
import queue
import resource
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

BENCH = os.environ.get("SLUICE_BENCH", os.path.join(os.path.dirname(__file__), "../../build/bin/sluice-bench"))
SLUICE = os.environ.get("SLUICE_BIN")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
START_TIMEOUT = 30.0
RUN_TIMEOUT = 120


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_accepting(port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Mosquitto:
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="bench-smoke-")
        for _ in range(5):
            self.port = free_port()
            conf = os.path.join(self.dir, "mosquitto.conf")
            with open(conf, "w") as f:
                f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\nmax_connections -1\n")
            self.proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, preexec_fn=raise_fd_limit)
            if wait_accepting(self.port, START_TIMEOUT) and self.proc.poll() is None:
                return self
            self.proc.kill()
            self.proc.wait()
        raise RuntimeError("mosquitto did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)


class Sluice:
    """sluice on free loopback ports; waits for the `listening <name>` line of every listener in
    NAMES (its name -> the key in self.ports). Subclasses add listeners through extra_args."""
    NAMES = {"mqtt": "tcp"}

    def extra_args(self):
        return []

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="bench-smoke-")
        self.proc = subprocess.Popen([SLUICE, "--mqtt", "127.0.0.1:0", "--data-dir", self.dir,
                                      # The Kafka and HTTP listeners open by default on fixed
                                      # ports: free ones, so tests running side by side never
                                      # collide.
                                      "--kafka", "127.0.0.1:0", "--http", "127.0.0.1:0",
                                      *self.extra_args()],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     bufsize=1, preexec_fn=raise_fd_limit)
        lines = queue.Queue()

        def pump():
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        self.ports = {}
        deadline = time.monotonic() + START_TIMEOUT
        while len(self.ports) < len(self.NAMES):
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.proc.kill()
                raise RuntimeError("sluice did not report its listeners")
            parts = line.split()
            if len(parts) == 3 and parts[0] == "listening" and parts[1] in self.NAMES:
                self.ports[self.NAMES[parts[1]]] = int(parts[2].rsplit(":", 1)[1])
        self.port = self.ports["tcp"]
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=15)
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class FaultyBroker:
    """An MQTT 3.1.1 broker that forwards every PUBLISH to every subscriber at QoS 1, except
    that it silently drops messages 3, 13, 23, ... and sends messages 5, 15, 25, ... twice.
    It acknowledges every publish, so only the subscriber side can notice."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.subscribers = []
        self.lock = threading.Lock()
        self.count = 0
        self.next_id = 0
        threading.Thread(target=self.accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    @staticmethod
    def read_packet(f):
        head = f.read(1)
        if not head:
            return None, None
        length, shift = 0, 0
        while True:
            b = f.read(1)[0]
            length |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        return head[0], f.read(length)

    @staticmethod
    def packet(first, body):
        n, out = len(body), bytearray([first])
        while True:
            b = n & 0x7F
            n >>= 7
            out.append(b | (0x80 if n else 0))
            if not n:
                break
        return bytes(out) + body

    def serve(self, conn):
        f = conn.makefile("rb")
        try:
            while True:
                first, body = self.read_packet(f)
                if first is None:
                    return
                kind = first >> 4
                if kind == 1:  # CONNECT
                    conn.sendall(b"\x20\x02\x00\x00")
                elif kind == 8:  # SUBSCRIBE: grant QoS 1
                    with self.lock:
                        self.subscribers.append(conn)
                    conn.sendall(self.packet(0x90, body[:2] + b"\x01"))
                elif kind == 3:  # PUBLISH
                    qos = (first >> 1) & 3
                    tlen = struct.unpack(">H", body[:2])[0]
                    topic = body[2:2 + tlen]
                    pos = 2 + tlen
                    if qos:
                        pid = body[pos:pos + 2]
                        pos += 2
                        conn.sendall(self.packet(0x40, pid))  # PUBACK
                    payload = body[pos:]
                    with self.lock:
                        n = self.count
                        self.count += 1
                        copies = 0 if n % 10 == 3 else 2 if n % 10 == 5 else 1
                        for sub in self.subscribers:
                            for _ in range(copies):
                                self.next_id = self.next_id % 65535 + 1
                                out = struct.pack(">H", tlen) + topic + struct.pack(">H", self.next_id) + payload
                                sub.sendall(self.packet(0x32, out))
                elif kind == 12:  # PINGREQ
                    conn.sendall(b"\xd0\x00")
                elif kind == 14:  # DISCONNECT
                    return
        except (OSError, IndexError):
            return
        finally:
            conn.close()


def bench(port, *args, pid=None, mode="mqtt"):
    cmd = [BENCH, mode, "--port", str(port), "--json", "--quiet-timeout", "1"] if mode == "mqtt" else \
        [BENCH, mode, "--port", str(port), "--json"]
    cmd += list(args)
    if pid:
        cmd += ["--broker-pid", str(pid)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=RUN_TIMEOUT)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, f"no JSON line from {cmd}: rc={p.returncode} stderr={p.stderr}"
    return p.returncode, json.loads(lines[-1]), p.stderr


class TrafficChecks:
    """Run against whatever broker self.broker() returns."""

    def check_clean(self, rc, r, sent, expected):
        self.assertEqual(rc, 0, r)
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["sent"], sent)
        self.assertEqual(r["expected"], expected)
        self.assertEqual(r["unique"], expected)
        self.assertEqual(r["received"], expected)
        self.assertEqual(r["lost"], 0)
        self.assertEqual(r["duplicates"], 0)
        self.assertEqual(r["latency_us"]["count"], expected)
        for key in ("p50", "p90", "p99", "p99_9", "max"):
            self.assertIn(key, r["latency_us"])
        for key in ("in_rate", "out_rate", "connections", "reordered", "errors", "params"):
            self.assertIn(key, r)

    def test_qos1_fan_in_to_two_wildcard_subscribers(self):
        with self.broker() as b:
            rc, r, _ = bench(b.port, "--publishers", "3", "--subscribers", "2", "--qos", "1",
                             "--count", "200", "--pub-topic", "dev/{i}/t", "--sub-topic", "dev/+/t",
                             pid=b.proc.pid)
        self.check_clean(rc, r, sent=600, expected=1200)
        self.assertEqual(r["acked"], 600)
        self.assertEqual(r["unacked"], 0)
        self.assertEqual(r["connections"], 5)
        self.assertGreaterEqual(r["broker"]["cpu_s"], 0)
        self.assertGreater(r["broker"]["rss_bytes"], 0)
        self.assertIn("out_per_cpu_s", r["broker"])

    def test_qos2_pairs_over_mqtt_311_at_a_fixed_rate(self):
        with self.broker() as b:
            rc, r, _ = bench(b.port, "--mqtt-version", "3.1.1", "--publishers", "2", "--subscribers", "2",
                             "--qos", "2", "--rate", "400", "--count", "100", "--pub-topic", "p2p/{i}",
                             "--sub-topic", "p2p/{i}")
        self.check_clean(rc, r, sent=200, expected=200)
        self.assertEqual(r["params"]["mqtt_version"], "3.1.1")

    def test_qos0_fan_out(self):
        with self.broker() as b:
            rc, r, _ = bench(b.port, "--publishers", "1", "--subscribers", "5", "--qos", "0",
                             "--rate", "500", "--count", "50", "--pub-topic", "news", "--sub-topic", "news")
        self.check_clean(rc, r, sent=50, expected=250)

    def test_publishers_spread_over_worker_processes(self):
        with self.broker() as b:
            rc, r, _ = bench(b.port, "--publishers", "4", "--subscribers", "2", "--per-worker", "3",
                             "--qos", "1", "--count", "100", "--sub-topic", "bench/#")
        self.assertGreaterEqual(r["workers"], 2)
        self.check_clean(rc, r, sent=400, expected=800)

    def test_idle_connections_in_steps(self):
        with self.broker() as b:
            rc, r, _ = bench(b.port, "--steps", "20,60", "--settle", "0", "--hold", "0",
                             mode="mqtt-idle", pid=b.proc.pid)
        self.assertEqual(rc, 0, r)
        self.assertTrue(r["ok"], r)
        self.assertEqual([s["connections"] for s in r["steps"]], [20, 60])
        self.assertTrue(all(s["rss_bytes"] > 0 for s in r["steps"]))
        self.assertIn("rss_per_connection", r)


class MosquittoSmoke(TrafficChecks, unittest.TestCase):
    broker = Mosquitto

    def test_shared_group_gets_each_message_once(self):
        with self.broker() as b:
            rc, r, _ = bench(b.port, "--publishers", "2", "--subscribers", "4", "--share-groups", "2",
                             "--qos", "1", "--count", "150", "--pub-topic", "jobs/{i}", "--sub-topic", "jobs/#")
        self.check_clean(rc, r, sent=300, expected=600)  # one copy per group


@unittest.skipUnless(SLUICE and os.access(SLUICE, os.X_OK), "sluice is not built")
class SluiceSmoke(TrafficChecks, unittest.TestCase):
    broker = Sluice


class LossDetection(unittest.TestCase):
    def test_lost_and_duplicated_messages_are_reported_and_fail_the_run(self):
        with FaultyBroker() as b:
            rc, r, err = bench(b.port, "--mqtt-version", "3.1.1", "--publishers", "1", "--subscribers", "1",
                               "--qos", "1", "--count", "100", "--drain-timeout", "5")
        self.assertEqual(r["sent"], 100)
        self.assertEqual(r["expected"], 100)
        self.assertEqual(r["lost"], 10)          # messages 3, 13, ..., 93
        self.assertEqual(r["duplicates"], 10)    # messages 5, 15, ..., 95
        self.assertEqual(r["unique"], 90)
        self.assertEqual(r["received"], 100)
        self.assertFalse(r["ok"])
        self.assertEqual(rc, 3)
        self.assertIn("LOST", err)
        self.assertEqual(r["worst_publishers"][0]["lost"], 10)


class SyncLoad(unittest.TestCase):
    """`sluice-bench sync-load`: the side process of `loadtest/compare --sync-load-us`."""

    def test_syncs_at_the_asked_rate_and_cleans_up(self):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([BENCH, "sync-load", "--dir", d, "--interval-us", "2000",
                                "--duration", "0.5"], capture_output=True, text=True,
                               timeout=RUN_TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr)
            r = json.loads(p.stdout.strip().splitlines()[-1])
            # A fixed schedule: never more than one sync per interval (slower when the disk is).
            self.assertGreater(r["syncs"], 0)
            self.assertLessEqual(r["syncs"], 0.5 / 0.002 + 1)
            self.assertGreater(r["fdatasync_us"]["max"], 0)
            self.assertEqual(os.listdir(d), [])  # its file is removed

    def test_sigterm_ends_it_with_its_figures(self):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.Popen([BENCH, "sync-load", "--dir", d, "--interval-us", "0",
                                  "--duration", "3600"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            # Wait for its first append: the sync after it completes whatever comes then.
            def appended():
                files = os.listdir(d)
                try:
                    return bool(files) and os.path.getsize(os.path.join(d, files[0])) > 0
                except OSError:
                    return False
            deadline = time.monotonic() + 30
            while not appended() and time.monotonic() < deadline:
                time.sleep(0.01)
            p.terminate()
            out, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, err)
            self.assertGreater(json.loads(out.strip().splitlines()[-1])["syncs"], 0)
            self.assertEqual(os.listdir(d), [])

    def test_bad_arguments_and_a_missing_folder_are_errors(self):
        p = subprocess.run([BENCH, "sync-load", "--interval-us", "-5"], capture_output=True,
                           text=True, timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--interval-us", p.stderr)
        p = subprocess.run([BENCH, "sync-load", "--dir", "/nonexistent/folder", "--duration", "1"],
                           capture_output=True, text=True, timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 1)
        self.assertIn("/nonexistent/folder", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
