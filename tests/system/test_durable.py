"""Durable ingest end to end (docs/mqtt.md, "Durable ingest"): QoS 1/2 publishes are
acknowledged only once their record is in the log.

- kill rounds: paho publishes QoS 1 and 2 (5.0 and 3.1.1) to the default rule; the broker is
  SIGKILLed once a random number of acknowledgements arrived, restarted on the same data
  directory, and at the end every message the client saw acknowledged is in the log exactly
  once (read back with `sluice log-dump`);
- a QoS 1 PUBLISH retransmitted with DUP after a reconnect, and a QoS 2 packet id repeated
  before PUBREL, write no second record (raw socket);
- a full data directory (a 2 MB tmpfs; needs root) gets 0x80 (5.0) or a closed connection
  (3.1.1), never a false success; non-logged topics keep working; freeing space recovers.

No sleeps: every wait is for an event with a deadline. SLUICE_DURABLE_ROUNDS (default 20)
and SLUICE_DURABLE_SEED choose the number of kill rounds and the kill schedule.
"""
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import paho.mqtt.client as mqtt

from harness import Broker, SLUICE_BIN
import mqtt_raw as raw

WAIT = 20.0


def log_dump(data_dir, topic="mqtt"):
    """Every record of `topic` as dicts (sluice log-dump)."""
    out = subprocess.run([SLUICE_BIN, "log-dump", "--data-dir", data_dir, "--topic", topic],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("log-dump failed (%d): %s" % (out.returncode, out.stderr))
    return [json.loads(line) for line in out.stdout.splitlines() if line]


def values(records):
    counts = {}
    for r in records:
        counts[r["value"]] = counts.get(r["value"], 0) + 1
    return counts


def header(record, name):
    for k, v in record["headers"]:
        if k == name:
            return v
    return None


class KillRounds(unittest.TestCase):
    def test_acknowledged_messages_survive_sigkill_exactly_once(self):
        rounds = int(os.environ.get("SLUICE_DURABLE_ROUNDS", "20"))
        seed = int(os.environ.get("SLUICE_DURABLE_SEED", str(random.randrange(1 << 30))))
        rng = random.Random(seed)
        data_dir = tempfile.mkdtemp(prefix="sluice-durable-")
        acknowledged = set()
        try:
            for rnd in range(rounds):
                version = 5 if rnd % 2 == 0 else 4
                qos = 1 if rnd % 4 < 2 else 2
                kill_after = rng.randint(1, 80)
                broker = Broker(data_dir=data_dir).start()
                try:
                    acked = self._publish_until_killed(broker, rnd, version, qos, kill_after)
                finally:
                    broker.kill()
                self.assertGreaterEqual(len(acked), kill_after, "seed %d round %d" % (seed, rnd))
                acknowledged |= acked
            # One clean start and stop on the same directory (recovery after the last kill).
            broker = Broker(data_dir=data_dir).start()
            broker.stop_checked()
            counts = values(log_dump(data_dir))
            missing = [v for v in acknowledged if counts.get(v, 0) == 0]
            twice = [v for v in acknowledged if counts.get(v, 0) > 1]
            self.assertEqual(missing, [], "seed %d: acknowledged but not in the log" % seed)
            self.assertEqual(twice, [], "seed %d: acknowledged and logged twice" % seed)
            # Nothing in the log was written twice either (no retransmissions in this test).
            self.assertEqual([v for v, n in counts.items() if n > 1], [], "seed %d" % seed)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)

    def _publish_until_killed(self, broker, rnd, version, qos, kill_after):
        """Publishes as fast as the window allows; SIGKILLs the broker at the kill_after-th
        acknowledgement. Returns the payloads acknowledged before the kill."""
        proto = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        c = mqtt.Client(client_id="killer-%d" % rnd, protocol=proto)
        c.max_inflight_messages_set(20)
        lock = threading.Lock()
        acked_mids = []
        enough = threading.Event()
        connected = threading.Event()

        def on_publish(client, userdata, mid):
            with lock:
                acked_mids.append(mid)
                if len(acked_mids) >= kill_after:
                    enough.set()

        c.on_publish = on_publish
        c.on_connect = lambda *a, **k: connected.set()
        c.connect("127.0.0.1", broker.mqtt_port)
        c.loop_start()
        try:
            self.assertTrue(connected.wait(WAIT), "no CONNACK")
            payload_of = {}
            i = 0
            deadline = time.monotonic() + WAIT
            while not enough.is_set() and time.monotonic() < deadline:
                payload = "r%d-m%d" % (rnd, i)
                info = c.publish("durable/%d/%d" % (rnd, i % 7), payload, qos=qos)
                with lock:
                    payload_of[info.mid] = payload
                i += 1
                if i % 40 == 0:
                    enough.wait(0.05)  # let acknowledgements catch up with the queue
            self.assertTrue(enough.is_set(), "fewer than %d acknowledgements" % kill_after)
            broker.kill()  # the moment: acknowledgements beyond kill_after may be in flight
            with lock:
                return {payload_of[m] for m in acked_mids}
        finally:
            c.loop_stop()
            try:
                c.disconnect()
            except Exception:
                pass


class Retransmissions(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="sluice-durable-dup-")
        self.broker = Broker(data_dir=self.data_dir).start()

    def tearDown(self):
        try:
            self.broker.stop()
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def session(self, cid):
        c = raw.RawClient(self.broker.mqtt_port, 5)
        ack = c.connect(cid, clean=False, plist=[(0x11, 300)])  # session expiry 300 s
        self.assertEqual(ack.rc, 0)
        return c, ack

    def test_dup_and_repeated_qos2_id_write_one_record(self):
        c, _ = self.session("dup-client")
        # QoS 1 acknowledged, then the connection drops and the PUBLISH comes again with DUP.
        c.send(raw.publish("dup/a", b"qos1-acked", qos=1, pid=7))
        self.assertEqual(c.expect(raw.PUBACK).rc, 0x10)  # stored, no subscriber
        # QoS 1 whose PUBACK the client never reads before the connection drops.
        c.send(raw.publish("dup/b", b"qos1-unread", qos=1, pid=8))
        # QoS 2: PUBREC, then the same id again before PUBREL.
        c.send(raw.publish("dup/c", b"qos2-repeated", qos=2, pid=9))
        c.close()

        c, ack = self.session("dup-client")
        self.assertTrue(ack.session_present)
        c.send(raw.publish("dup/a", b"qos1-acked", qos=1, pid=7, dup=True))
        c.send(raw.publish("dup/b", b"qos1-unread", qos=1, pid=8, dup=True))
        c.send(raw.publish("dup/c", b"qos2-repeated", qos=2, pid=9, dup=True))
        self.assertEqual(c.expect(raw.PUBACK).pid, 7)
        self.assertEqual(c.expect(raw.PUBACK).pid, 8)
        rec = c.expect(raw.PUBREC)
        self.assertEqual(rec.pid, 9)
        self.assertLess(rec.rc, 0x80)
        c.send(raw.publish("dup/c", b"qos2-repeated", qos=2, pid=9, dup=True))
        self.assertEqual(c.expect(raw.PUBREC).pid, 9)
        c.send(raw.ack(raw.PUBREL, 9))
        self.assertEqual(c.expect(raw.PUBCOMP).pid, 9)
        # The packet id reused for a new message (no DUP) is a new record.
        c.send(raw.publish("dup/a", b"qos1-new", qos=1, pid=7))
        self.assertEqual(c.expect(raw.PUBACK).pid, 7)
        c.close()
        self.broker.stop_checked()

        records = log_dump(self.data_dir)
        counts = values(records)
        for v in ("qos1-acked", "qos1-unread", "qos2-repeated", "qos1-new"):
            self.assertEqual(counts.get(v), 1, "%s: %r" % (v, counts))
        ids = [(r["partition"], header(r, "mqtt.delivery_id")) for r in records]
        self.assertEqual(len(ids), len(set(ids)), ids)


def tmpfs_available():
    return os.geteuid() == 0 and shutil.which("mount") is not None


@unittest.skipUnless(tmpfs_available(), "needs root to mount a tmpfs")
class DiskFull(unittest.TestCase):
    CONFIG = json.dumps({
        "ingest_rules": [
            {"filter": "nolog/#", "log": False},
            {"filter": "#", "log_topic": "mqtt", "partitions": 1},
        ],
        "store": {"reopen_interval_ms": 0},
    })

    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="sluice-full-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", self.mnt],
                           capture_output=True, text=True)
        if r.returncode != 0:
            os.rmdir(self.mnt)
            self.skipTest("cannot mount a tmpfs: " + r.stderr.strip())
        self.data_dir = os.path.join(self.mnt, "data")
        self.filler = os.path.join(self.mnt, "filler")
        # The config file lives outside the tmpfs, so filling the disk cannot hide it.
        self.cfg_dir = tempfile.mkdtemp(prefix="sluice-full-cfg-")
        path = os.path.join(self.cfg_dir, "config.json")
        with open(path, "w") as f:
            f.write(self.CONFIG)
        self.broker = Broker("--config", path, data_dir=self.data_dir).start()

    def tearDown(self):
        try:
            self.broker.stop()
        finally:
            subprocess.run(["umount", self.mnt])
            shutil.rmtree(self.mnt, ignore_errors=True)
            shutil.rmtree(getattr(self, "cfg_dir", ""), ignore_errors=True)

    def fill(self):
        st = os.statvfs(self.mnt)
        free = st.f_bavail * st.f_frsize
        with open(self.filler, "wb") as f:
            try:
                f.write(b"\0" * max(free - 48 * 1024, 0))
            except OSError:
                pass

    def test_full_disk_fails_publishes_and_recovers(self):
        port = self.broker.mqtt_port
        sub = raw.connected(port, "full-sub")
        sub.subscribe(1, [("nolog/#", 1)])
        pub = raw.connected(port, "full-pub5")
        self.fill()
        payload = b"x" * 8192
        ok, failed_rc, pid = [], None, 1
        for i in range(64):  # 48 KiB left: full within a few publishes
            pid = i + 1
            body = b"full-%d-" % i + payload
            pub.send(raw.publish("logged/t", body, qos=1, pid=pid))
            ack = pub.expect(raw.PUBACK)
            self.assertEqual(ack.pid, pid)
            if ack.rc >= 0x80:
                failed_rc = ack.rc
                break
            ok.append("full-%d" % i)
        self.assertEqual(failed_rc, 0x80, "the disk never filled")
        # Still full: QoS 2 is refused as well, never a false success.
        pub.send(raw.publish("logged/t", b"full-qos2", qos=2, pid=500))
        self.assertEqual(pub.expect(raw.PUBREC).rc, 0x80)
        # 3.1.1 has no failure code: the connection is closed without an acknowledgement.
        old = raw.RawClient(port, 4)
        self.assertEqual(old.connect("full-pub4").rc, 0)
        old.send(raw.publish("logged/t", b"full-311", qos=1, pid=3, version=4))
        self.assertTrue(old.closed())
        # Topics no rule logs keep working.
        pub.send(raw.publish("nolog/x", b"not logged", qos=1, pid=600))
        self.assertEqual(pub.expect(raw.PUBACK).rc, 0)
        got = sub.read_until(raw.PUBLISH)
        self.assertEqual(got.payload, b"not logged")
        # Space returns: the next logged publish reopens the log and succeeds.
        os.unlink(self.filler)
        pub.send(raw.publish("logged/t", b"after-recovery", qos=1, pid=700))
        self.assertEqual(pub.expect(raw.PUBACK).rc, 0x10)  # stored; nobody subscribed
        pub.close()
        sub.close()
        self.broker.stop_checked()
        counts = {}
        for r in log_dump(self.data_dir):
            key = r["value"].split("-x")[0] if r["value"].startswith("full-") else r["value"]
            counts[key] = counts.get(key, 0) + 1
        for body in ok:
            self.assertEqual(counts.get(body), 1, "acknowledged %s: %r" % (body, counts))
        self.assertEqual(counts.get("after-recovery"), 1)
        self.assertNotIn("full-311", counts)
        self.assertNotIn("not logged", counts)


if __name__ == "__main__":
    unittest.main()
