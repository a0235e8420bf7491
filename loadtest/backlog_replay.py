"""Replay cost of offline persistent sessions' backlogs against the bytes appended since their
cursors (docs/benchmarks.md, "Backlog replay"; docs/offline-backlog-design.md).

Starts the given sluice binary on free loopback ports with a data directory of its own, then:
1. K persistent sessions (MQTT 5, Session Expiry Interval 1 day) subscribe to `bench/+/hot`
   at QoS 1 and disconnect;
2. one publisher sends B MB of QoS 1 messages, waiting for every PUBACK (so all of it is in
   the log): one in `--hot-every` goes to `bench/<n>/hot` with a small payload, the rest to
   `bench/<n>/cold` with `--payload` bytes, and the last message of each partition is hot
   (one each to 64 more topics). The sessions' cursors must pass over all B MB,
   while what they receive stays small, so the run times the reading of the log, not the
   delivery;
3. all K sessions reconnect at once (clean start off); the run times from the CONNECTs until
   every session has received (and acknowledged) every hot message, and samples the broker's
   CPU seconds (utime + stime, /proc/<pid>/stat) before the CONNECTs and at the end, and the
   sluice_backlog_* counters from /metrics (absent in builds before the shared reads).

Prints one JSON line per run.

    /usr/bin/python3 loadtest/backlog_replay.py --bin build/rel/bin/sluice --sessions 10 --mbytes 100
"""
import argparse
import json
import os
import re
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "system"))
import mqtt_raw as raw  # noqa: E402

SESSION_EXPIRY = (0x11, 86400)
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_broker(binary, data_dir):
    args = [binary, "--data-dir", data_dir, "--mqtt", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--kafka", "127.0.0.1:0"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            bufsize=1)
    ports = {}
    while not {"mqtt", "http"} <= ports.keys():
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("sluice exited before listening")
        parts = line.split()
        if len(parts) == 3 and parts[0] == "listening":
            ports[parts[1]] = int(parts[2].rsplit(":", 1)[1])
    return proc, ports


def metrics(http_port):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http_port, timeout=10).read().decode()
    out = {}
    for m in re.finditer(r"^(sluice_backlog_\w+) (\S+)$", text, re.M):
        out[m.group(1)] = float(m.group(2))
    return out


def make_sessions(port, k):
    for i in range(k):
        c = raw.connected(port, "replay-%d" % i, clean=True, plist=[SESSION_EXPIRY])
        ack = c.subscribe(1, [("bench/+/hot", 1)])
        assert ack.reasons == [1], ack.reasons
        c.send(raw.disconnect())
        c.close()


def publish_backlog(port, total_bytes, payload, hot_every, window=500):
    """Returns the number of hot messages; every message acknowledged."""
    c = raw.connected(port, "replay-publisher", clean=True)
    cold = b"x" * payload
    hot = b"h" * 64
    n = max(1, total_bytes // payload)
    sent = acked = hot_count = 0
    tail_sent = False
    sock = c.sock
    sock.settimeout(60)
    pending = bytes(c.buf)
    while acked < n:
        out = []
        while sent < n and sent - acked < window and len(out) < 100:
            pid = sent % 65535 + 1
            if sent % hot_every == 0:
                out.append(raw.publish("bench/%d/hot" % (sent % 16), hot, qos=1, pid=pid))
                hot_count += 1
            else:
                out.append(raw.publish("bench/%d/cold" % (sent % 16), cold, qos=1, pid=pid))
            sent += 1
        if sent == n and not tail_sent:
            # Each partition's last records are hot (64 topics over the default 4 partitions):
            # a session has everything only once the reader has passed every byte.
            for j in range(64):
                out.append(raw.publish("bench/end%d/hot" % j, hot, qos=1, pid=(n + j) % 65535 + 1))
            hot_count += 64
            n += 64
            sent = n
            tail_sent = True
        if out:
            sock.sendall(b"".join(out))
        if sent - acked >= window or sent == n or not out:
            data = sock.recv(65536)
            if not data:
                raise RuntimeError("publisher closed")
            pending += data
            # PUBACKs: 0x40, remaining length, pid[, rc[, props]]
            pos = 0
            while pos + 2 <= len(pending):
                rl, p2 = raw.read_varint(pending, pos + 1)
                if p2 + rl > len(pending):
                    break
                if pending[pos] >> 4 == raw.PUBACK:
                    if rl > 2 and pending[p2 + 2] >= 0x80:
                        raise RuntimeError("PUBACK with reason 0x%02x" % pending[p2 + 2])
                    acked += 1
                pos = p2 + rl
            pending = pending[pos:]
    c.send(raw.disconnect())
    c.close()
    return hot_count


class Resumer:
    """One session reconnecting: reads PUBLISH packets, acknowledges each, counts them."""

    def __init__(self, port, i):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setblocking(False)
        self.cid = "replay-%d" % i
        self.buf = b""
        self.got = 0
        self.done_at = None

    def connect(self):
        self.sock.setblocking(True)
        self.sock.sendall(raw.connect(self.cid, clean=False, plist=[SESSION_EXPIRY]))
        self.sock.setblocking(False)

    def on_readable(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise RuntimeError("%s closed by the broker" % self.cid)
        self.buf += data
        acks = []
        pos = 0
        buf = self.buf
        while pos + 2 <= len(buf):
            try:
                rl, p2 = raw.read_varint(buf, pos + 1)
            except IndexError:
                break
            if p2 + rl > len(buf):
                break
            if buf[pos] >> 4 == raw.PUBLISH:
                qos = (buf[pos] >> 1) & 3
                tlen = struct.unpack_from(">H", buf, p2)[0]
                if qos:
                    pid = struct.unpack_from(">H", buf, p2 + 2 + tlen)[0]
                    acks.append(bytes([raw.PUBACK << 4, 2]) + struct.pack(">H", pid))
                self.got += 1
            pos = p2 + rl
        self.buf = buf[pos:]
        if acks:
            self.sock.setblocking(True)
            self.sock.sendall(b"".join(acks))
            self.sock.setblocking(False)


def resume_all(port, k, expected, deadline_s=3600):
    rs = [Resumer(port, i) for i in range(k)]
    sel = selectors.DefaultSelector()
    for r in rs:
        sel.register(r.sock, selectors.EVENT_READ, r)
    t0 = time.monotonic()
    for r in rs:
        r.connect()
    left = k
    while left:
        if time.monotonic() - t0 > deadline_s:
            raise RuntimeError("not every session got its backlog: %s" % [r.got for r in rs])
        for key, _ in sel.select(timeout=1.0):
            r = key.data
            r.on_readable()
            if r.done_at is None and r.got >= expected:
                r.done_at = time.monotonic() - t0
                left -= 1
    for r in rs:
        r.sock.close()
    return [r.done_at for r in rs], [r.got for r in rs]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--mbytes", type=float, default=100)
    ap.add_argument("--payload", type=int, default=4000, help="bytes of a cold message")
    ap.add_argument("--hot-every", type=int, default=100)
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    a = ap.parse_args()

    data_dir = tempfile.mkdtemp(prefix="sluice-replay-")
    proc, ports = start_broker(a.bin, data_dir)
    try:
        make_sessions(ports["mqtt"], a.sessions)
        t_pub = time.monotonic()
        hot = publish_backlog(ports["mqtt"], int(a.mbytes * 1e6), a.payload, a.hot_every)
        pub_s = time.monotonic() - t_pub
        before_m = metrics(ports["http"])
        cpu0 = cpu_seconds(proc.pid)
        times, got = resume_all(ports["mqtt"], a.sessions, hot)
        cpu1 = cpu_seconds(proc.pid)
        after_m = metrics(ports["http"])
        log_bytes = 0
        for root, _, files in os.walk(data_dir):
            if os.path.basename(os.path.dirname(root)) == "mqtt":
                log_bytes += sum(os.path.getsize(os.path.join(root, f)) for f in files if f.endswith(".log"))
        res = {
            "sessions": a.sessions, "mbytes": a.mbytes, "payload": a.payload,
            "hot_every": a.hot_every, "hot_messages": hot, "log_bytes": log_bytes,
            "publish_s": round(pub_s, 2),
            "replay_s_max": round(max(times), 3),
            "replay_s_median": round(sorted(times)[len(times) // 2], 3),
            "broker_cpu_s": round(cpu1 - cpu0, 2),
            "rss_mib": round(rss_kib(proc.pid) / 1024, 1),
            "received": sum(got),
        }
        for k in ("sluice_backlog_read_bytes_total", "sluice_backlog_reads_total",
                  "sluice_backlog_decoded_records_total", "sluice_backlog_replayed_total"):
            if k in after_m:
                res[k.replace("sluice_backlog_", "")] = after_m[k] - before_m.get(k, 0)
        print(json.dumps(res), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        if not a.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
