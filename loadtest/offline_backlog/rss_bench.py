"""Broker RSS with N offline persistent sessions and M QoS 1 messages waiting for them, against
the same traffic with nobody waiting (issue 9; docs/benchmarks.md, "Offline backlogs as
cursors"). For sluice (cursors into the log) or Mosquitto (a queue per session), same traffic.

One run, per broker:
 1. start the broker on free loopback ports (sluice: its own data directory, one log topic
    with durability `interval`, so a PUBACK follows the write to the page cache);
 2. create N persistent sessions (MQTT 5, Session Expiry 3600 s, one QoS 1 subscription,
    DISCONNECT once the SUBACK is in), at most --concurrency sockets open at once, each from its own source address
    in 127.100.0.0/16 (no ephemeral port or TIME_WAIT runs out). Session i subscribes to
    `dev/<i>` (its own topic: M/N messages each) or, with --wildcards W, to `grp/<i mod W>/+`
    (M/W messages each). One wildcard shared by all N sessions would be N x M deliveries for
    any broker that copies (10^12 at 100k x 10M);
 3. read VmRSS, publish M QoS 1 messages of --payload bytes (precomputed packets, pipelined
    within the broker's Receive Maximum) over --connections connections, one process each;
    every topic is published by one connection, so per-topic order is the publisher's; read
    VmRSS again once every PUBACK is in;
 4. reconnect --sample sessions (spread over the N) and check that each receives every one of
    its messages, in order per topic, exactly once (QoS 1, acknowledged as they come);
 5. the same broker configuration, fresh, with no sessions: the same publishes, RSS before and
    after (the baseline: what the traffic itself costs).
Prints one table and a JSON line. Exit status 1 when a sampled session missed, duplicated or
reordered a message, or a publish was refused.

    /usr/bin/python3 loadtest/offline_backlog/rss_bench.py --broker sluice \
        --sluice build/rel/bin/sluice --sessions 100000 --messages 10000000
    /usr/bin/python3 loadtest/offline_backlog/rss_bench.py --broker mosquitto \
        --sessions 100000 --messages 10000000
"""
import argparse
import json
import multiprocessing
import os
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "system"))
import mqtt_raw as raw  # noqa: E402

SESSION_EXPIRY = 0x11
RECEIVE_MAXIMUM = 0x21
IP_BIND_ADDRESS_NO_PORT = 24


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def source_address(i):
    # 127.100.0.1 .. 127.100.255.254, then around again (TIME_WAIT is long gone by then).
    i = i % 65000 + 1
    return "127.100.%d.%d" % (i >> 8, i & 255)


def client_socket(port, i, timeout=60.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
    s.bind((source_address(i), 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


# --- brokers ---------------------------------------------------------------------------------

class Sluice:
    name = "sluice"

    def __init__(self, binary, flush_ms):
        self.binary = binary
        self.flush_ms = flush_ms
        self.dir = tempfile.mkdtemp(prefix="sluice-rss-bench-")
        self.proc = None

    def start(self):
        config = {"ingest_rules": [{"filter": "#", "log_topic": "mqtt", "partitions": 4,
                                    "durability": "interval",
                                    "flush_interval_ms": self.flush_ms}]}
        path = os.path.join(self.dir, "bench-config.json")
        with open(path, "w") as f:
            json.dump(config, f)
        args = [self.binary, "--data-dir", os.path.join(self.dir, "data"), "--config", path,
                "--mqtt", "127.0.0.1:0", "--kafka", "127.0.0.1:0", "--http", "127.0.0.1:0"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        deadline = time.monotonic() + 60
        for line in self.proc.stdout:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "listening" and parts[1] == "mqtt":
                self.port = int(parts[2].rsplit(":", 1)[1])
                break
            if time.monotonic() > deadline:
                raise RuntimeError("sluice did not start")
        else:
            raise RuntimeError("sluice exited at start")
        # Keep reading its output so it never blocks on a full pipe.
        self.output = []
        threading.Thread(target=lambda: [self.output.append(l) for l in self.proc.stdout], daemon=True).start()
        return self

    def restart(self):
        """SIGTERM, then a new process on the same data directory; returns the seconds from its
        start to its MQTT listener (sessions and cursors restored before the listeners open)."""
        self.proc.terminate()
        self.proc.wait(300)
        t0 = time.monotonic()
        self.start()
        return time.monotonic() - t0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Mosquitto:
    name = "mosquitto"

    def __init__(self, binary):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="mosquitto-rss-bench-")
        self.proc = None

    def start(self):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        path = os.path.join(self.dir, "mosquitto.conf")
        with open(path, "w") as f:
            # In memory only; no limit on what waits per session (0: no maximum), so every
            # message is kept for every offline session as the MQTT spec asks.
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 0\n"
                    "log_type error\n" % self.port)
        self.proc = subprocess.Popen([self.binary, "-c", path], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("mosquitto did not start")
                time.sleep(0.05)  # polling for the listener, not synchronising a test

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the traffic -----------------------------------------------------------------------------

class Layout:
    """Which topics exist, who subscribes to what, which messages each session must get."""

    def __init__(self, sessions, messages, wildcards):
        self.sessions, self.messages, self.wildcards = sessions, messages, wildcards

    def filter_of(self, i):
        if self.wildcards:
            return "grp/%d/+" % (i % self.wildcards)
        return "dev/%d" % i

    def topic_of(self, n):
        # Own topics: message n to session n mod N. Wildcards: group n mod W, one of 100
        # topics in it (so order is checked per topic, as MQTT promises it).
        if self.wildcards:
            return "grp/%d/%d" % (n % self.wildcards, (n // self.wildcards) % 100)
        return "dev/%d" % (n % self.sessions)

    def key_of(self, n):
        # The unit that one connection publishes in order: a session's topic, or a group.
        return n % self.wildcards if self.wildcards else n % self.sessions

    def expected(self, i):
        step = self.wildcards or self.sessions
        first = i % step
        return list(range(first, self.messages, step))


def payload_of(n, size):
    head = b"%012d" % n
    return head + b"." * (size - len(head))


def session_packets(layout, i):
    return (raw.connect("rss-%d" % i, clean=True, plist=[(SESSION_EXPIRY, 3600)]) +
            raw.subscribe(1, [(layout.filter_of(i), 1)]))


def acks_complete(data):
    """CONNACK and SUBACK both in `data`: (connack rc, SUBACK reasons) or None."""
    if len(data) < 2:
        return None
    ln, pos = raw.read_varint(data, 1)
    if len(data) < pos + ln:
        return None
    rest = data[pos + ln:]
    if len(rest) < 2:
        return None
    ln2, pos2 = raw.read_varint(rest, 1)
    if len(rest) < pos2 + ln2:
        return None
    return data[3], rest[0] >> 4, rest[pos2 + ln2 - 1]


def create_sessions(port, layout, concurrency):
    """CONNECT + SUBSCRIBE pipelined, then DISCONNECT once the SUBACK is in (a broker may drop
    an acknowledgement still pending when a DISCONNECT closes the connection), for every
    session; at most `concurrency` sockets open at once. Waits for the broker to close (so the
    broker's side holds TIME_WAIT, and the session is offline when this returns)."""
    sel = selectors.DefaultSelector()
    next_i, done, open_now = 0, 0, 0
    bufs, acked = {}, set()
    while done < layout.sessions:
        while open_now < concurrency and next_i < layout.sessions:
            s = client_socket(port, next_i)
            s.sendall(session_packets(layout, next_i))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, next_i)
            bufs[s] = bytearray()
            next_i += 1
            open_now += 1
        for key, _ in sel.select(timeout=60):
            s = key.fileobj
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                bufs[s] += chunk
                if s not in acked:
                    got = acks_complete(bufs[s])
                    if got:
                        rc, ptype, granted = got
                        if rc != 0 or ptype != raw.SUBACK or granted != 1:
                            raise RuntimeError("session %d: CONNACK rc %d, SUBACK %r"
                                               % (key.data, rc, bytes(bufs[s])))
                        acked.add(s)
                        s.setblocking(True)
                        s.sendall(raw.disconnect())
                        s.setblocking(False)
                continue
            sel.unregister(s)
            s.close()
            bufs.pop(s)
            if s not in acked:
                raise RuntimeError("session %d: closed before its SUBACK" % key.data)
            acked.discard(s)
            open_now -= 1
            done += 1
    sel.close()


def publisher(port, layout, payload, k, connections, result):
    """Publishes, in order of n, the messages whose key belongs to connection k."""
    s = client_socket(port, 60000 + k, timeout=300)
    s.sendall(raw.connect("rss-pub-%d" % k, clean=True))
    buf = bytearray()
    while True:
        buf += s.recv(65536)
        ln, pos = raw.read_varint(buf, 1)
        if len(buf) >= pos + ln:
            break
    ack = raw.Packet(buf[0] >> 4, buf[0] & 15, bytes(buf[pos:pos + ln]), 5)
    del buf[:pos + ln]
    window = min(ack.props.get(RECEIVE_MAXIMUM, 65535), 1000)
    heads = {}

    def head(topic):
        h = heads.get(topic)
        if h is None:
            t = topic.encode()
            rl = 2 + len(t) + 2 + 1 + payload
            h = bytes([0x32]) + raw.varint(rl) + struct.pack(">H", len(t)) + t
            heads[topic] = h
        return h

    mine = [n for n in range(min(layout.messages, layout.wildcards or layout.sessions))
            if layout.key_of(n) % connections == k]
    step = layout.wildcards or layout.sessions
    sent = acked = refused = 0
    outstanding = 0
    batch = bytearray()
    filler = b"." * (payload - 12)
    pack_pid = struct.Struct(">H").pack
    pid = 0

    def drain(block):
        nonlocal buf, acked, refused, outstanding
        s.setblocking(block)
        try:
            chunk = s.recv(1 << 20)
        except BlockingIOError:
            return
        finally:
            s.setblocking(True)
        if not chunk:
            raise RuntimeError("publisher %d: connection closed" % k)
        buf += chunk
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            rl = buf[pos + 1]  # acks are short: one length byte
            if end - pos < 2 + rl:
                break
            if buf[pos] >> 4 == raw.PUBACK:
                acked += 1
                outstanding -= 1
                if rl > 2 and buf[pos + 4] >= 0x80:
                    refused += 1
            pos += 2 + rl
        del buf[:pos]

    for base in range(0, layout.messages, step):
        for first in mine:
            n = base + first
            if n >= layout.messages:
                break
            pid = pid % 65535 + 1
            batch += head(layout.topic_of(n))
            batch += pack_pid(pid)
            batch += b"\x00%012d" % n
            batch += filler
            outstanding += 1
            sent += 1
            if len(batch) >= 32768 or outstanding >= window:
                s.sendall(batch)
                batch.clear()
                while outstanding >= window:
                    drain(True)
                drain(False)
    if batch:
        s.sendall(batch)
    while outstanding > 0:
        drain(True)
    s.sendall(raw.disconnect())
    s.close()
    result.put((k, sent, acked, refused))


def publish_all(port, layout, payload, connections):
    result = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=publisher,
                                     args=(port, layout, payload, k, connections, result))
             for k in range(connections)]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    totals = [result.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - t0
    sent = sum(t[1] for t in totals)
    acked = sum(t[2] for t in totals)
    refused = sum(t[3] for t in totals)
    if sent != layout.messages or acked != sent:
        raise RuntimeError("published %d of %d, %d acknowledged" % (sent, layout.messages, acked))
    return elapsed, refused


def replay_one(port, layout, i, timeout):
    """Resumes session i; returns (seconds to its last message, problems found)."""
    want = layout.expected(i)
    c = raw.RawClient(port, timeout=timeout)
    t0 = time.monotonic()
    ack = c.connect("rss-%d" % i, clean=False, plist=[(SESSION_EXPIRY, 3600)])
    problems = []
    if ack.rc != 0 or not ack.session_present:
        return 0.0, ["session %d: not resumed (rc %r, present %r)" % (i, ack.rc, ack.session_present)]
    got = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < len(want):
            p = c.read(max(deadline - time.monotonic(), 0.001))
            if p.type != raw.PUBLISH:
                continue
            if p.qos:
                c.send(raw.ack(raw.PUBACK, p.pid))
            got.append((p.topic, int(p.payload[:12])))
    except (TimeoutError, EOFError) as e:
        problems.append("session %d: %d of %d messages (%s)" % (i, len(got), len(want), e))
    elapsed = time.monotonic() - t0
    c.send(raw.disconnect())
    c.close()
    numbers = [n for _, n in got]
    if sorted(numbers) != want[:len(numbers)] or len(set(numbers)) != len(numbers):
        problems.append("session %d: missing or duplicated messages" % i)
    last = {}
    for topic, n in got:
        if topic != layout.topic_of(n):
            problems.append("session %d: message %d on %s" % (i, n, topic))
            break
        if last.get(topic, -1) > n:
            problems.append("session %d: out of order on %s" % (i, topic))
            break
        last[topic] = n
    return elapsed, problems


def run_broker(make, layout, args, with_sessions):
    broker = make().start()
    try:
        pid = broker.proc.pid
        out = {"rss_start_kib": rss_kib(pid)}
        if with_sessions:
            t0 = time.monotonic()
            create_sessions(broker.port, layout, args.concurrency)
            out["create_s"] = round(time.monotonic() - t0, 1)
        out["rss_before_kib"] = rss_kib(pid)
        elapsed, refused = publish_all(broker.port, layout, args.payload, args.connections)
        out["publish_s"] = round(elapsed, 1)
        out["publish_rate"] = round(layout.messages / elapsed)
        out["refused"] = refused
        out["rss_after_kib"] = rss_kib(pid)
        out["problems"] = []
        if with_sessions and args.restart:
            out["restart_s"] = round(broker.restart(), 1)
            pid = broker.proc.pid
            out["rss_restarted_kib"] = rss_kib(pid)
        if with_sessions and args.sample:
            sample = sorted({(k * layout.sessions) // args.sample for k in range(args.sample)})
            times = []
            t0 = time.monotonic()
            for i in sample:
                took, problems = replay_one(broker.port, layout, i, args.replay_timeout)
                times.append(took)
                out["problems"] += problems
            out["replay_sessions"] = len(sample)
            out["replay_total_s"] = round(time.monotonic() - t0, 1)
            out["replay_median_s"] = round(sorted(times)[len(times) // 2], 3)
            out["replay_max_s"] = round(max(times), 3)
            out["rss_after_replay_kib"] = rss_kib(pid)
        return out
    finally:
        broker.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--broker", choices=["sluice", "mosquitto"], default="sluice")
    ap.add_argument("--sluice", default="build/rel/bin/sluice")
    ap.add_argument("--mosquitto", default="/usr/sbin/mosquitto")
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--wildcards", type=int, default=0,
                    help="0: session i on its own topic dev/<i>; W: on grp/<i mod W>/+")
    ap.add_argument("--payload", type=int, default=64)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--replay-timeout", type=float, default=300.0)
    ap.add_argument("--flush-ms", type=int, default=1000,
                    help="sluice: flush_interval_ms of the log topic (durability interval)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--restart", action="store_true",
                    help="sluice: restart the broker after publishing (time to restore the "
                         "sessions), then replay from the restarted one")
    args = ap.parse_args()
    if args.payload < 13:
        ap.error("--payload must be at least 13 bytes")
    if args.restart and args.broker != "sluice":
        ap.error("--restart: sluice only (Mosquitto runs with persistence false)")
    layout = Layout(args.sessions, args.messages, args.wildcards)
    if args.broker == "sluice":
        make = lambda: Sluice(args.sluice, args.flush_ms)  # noqa: E731
    else:
        make = lambda: Mosquitto(args.mosquitto)  # noqa: E731

    backlog = run_broker(make, layout, args, with_sessions=True)
    base = None if args.no_baseline else run_broker(make, layout, args, with_sessions=False)
    grew = backlog["rss_after_kib"] - backlog["rss_before_kib"]
    print("%s: %d sessions (%s), %d x %d-byte QoS 1 messages"
          % (args.broker, args.sessions,
             "own topics" if not args.wildcards else "%d wildcards" % args.wildcards,
             args.messages, args.payload))
    print("  sessions created in %s s; RSS %d -> %d KiB (%.0f bytes per session)"
          % (backlog.get("create_s"), backlog["rss_start_kib"], backlog["rss_before_kib"],
             (backlog["rss_before_kib"] - backlog["rss_start_kib"]) * 1024.0 / max(args.sessions, 1)))
    print("  with backlog: publish %s s (%s msg/s), RSS %d -> %d KiB (+%d)"
          % (backlog["publish_s"], backlog["publish_rate"], backlog["rss_before_kib"],
             backlog["rss_after_kib"], grew))
    if base:
        print("  no sessions:  publish %s s (%s msg/s), RSS %d -> %d KiB (+%d)"
              % (base["publish_s"], base["publish_rate"], base["rss_before_kib"],
                 base["rss_after_kib"], base["rss_after_kib"] - base["rss_before_kib"]))
        print("  difference: %+d KiB" % (grew - (base["rss_after_kib"] - base["rss_before_kib"])))
    if "restart_s" in backlog:
        print("  restarted: MQTT listener after %s s, RSS %d KiB"
              % (backlog["restart_s"], backlog["rss_restarted_kib"]))
    if "replay_sessions" in backlog:
        print("  replay: %d sessions in %s s (median %s s, max %s s each); problems: %d"
              % (backlog["replay_sessions"], backlog["replay_total_s"],
                 backlog["replay_median_s"], backlog["replay_max_s"], len(backlog["problems"])))
    for p in backlog["problems"][:10]:
        print("  PROBLEM: " + p)
    print(json.dumps({"broker": args.broker, "sessions": args.sessions,
                      "messages": args.messages, "wildcards": args.wildcards,
                      "payload": args.payload, "backlog": backlog, "baseline": base}))
    return 1 if backlog["problems"] or backlog["refused"] else 0


if __name__ == "__main__":
    sys.exit(main())
