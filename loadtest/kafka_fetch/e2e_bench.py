#!/usr/bin/python3
"""End to end: MQTT QoS 1 publishers into the default ingest rule (log topic `mqtt`, 4
partitions, durability always), consumed by a confluent-kafka consumer group (docs/benchmarks.md,
"Kafka API").

    /usr/bin/python3 loadtest/kafka_fetch/e2e_bench.py --sluice build/rel/bin/sluice \
        --bench build/rel/bin/sluice-bench [--consumers 3] [--publishers 20] [--rate 500] \
        [--seconds 10]

sluice-bench mqtt publishes (its payload starts with a CLOCK_MONOTONIC send timestamp); each
consumer process, a member of one group, reads the timestamp of every record and takes
now - sent as the latency (publish due time -> the consumer has the record). The consumers
join and get their assignment before publishing starts. Prints throughput (records consumed
per second between the first and last record) and latency percentiles.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

CONSUMER = r'''
import json, struct, sys, time
from confluent_kafka import Consumer
bootstrap, out_path, idle = sys.argv[1], sys.argv[2], float(sys.argv[3])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "e2e-bench",
              "auto.offset.reset": "earliest", "enable.auto.commit": True,
              "fetch.wait.max.ms": 10, "session.timeout.ms": 10000})
assigned = []
c.subscribe(["mqtt"], on_assign=lambda cons, parts: assigned.append(len(parts)))
lat, first, last = [], None, None
while not assigned:
    c.poll(0.1)
print("assigned", flush=True)
quiet_since = time.monotonic()
while time.monotonic() - quiet_since < idle:
    # consume(n, timeout) waits until n records are there or the timeout passed, which at a
    # few hundred records per second per consumer would add up to the whole timeout to every
    # latency: wait for one record only, then take what has already arrived without waiting.
    first_msg = c.poll(0.2)
    msgs = [first_msg] + c.consume(999, 0) if first_msg is not None else []
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    for m in msgs:
        v = m.value()
        if m.error() or v is None or len(v) < 24 or v[:4] != b"1BLS":
            continue
        lat.append((now - struct.unpack_from("<Q", v, 16)[0]) / 1e3)
    if msgs:
        quiet_since = time.monotonic()
        first = first or now
        last = now
c.close()
json.dump({"lat_us": lat, "first": first, "last": last}, open(out_path, "w"))
'''


def pct(v, p):
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--consumers", type=int, default=3)
    ap.add_argument("--publishers", type=int, default=20)
    ap.add_argument("--rate", type=int, default=500, help="messages/s per publisher; 0: max")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--payload", type=int, default=64)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="sluice-e2e-")
    broker = subprocess.Popen([a.sluice, "--data-dir", d, "--mqtt", "127.0.0.1:0", "--kafka",
                               "127.0.0.1:0", "--http", "127.0.0.1:0", "--log-level", "warn"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ports = {}
    for line in broker.stdout:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "listening":
            ports[parts[1]] = parts[2].rsplit(":", 1)[1]
        if {"mqtt", "kafka", "http"} <= ports.keys():
            break
    bootstrap = "127.0.0.1:" + ports["kafka"]
    print("load average before:", os.getloadavg())
    consumers = []
    for i in range(a.consumers):
        out = os.path.join(d, "c%d.json" % i)
        p = subprocess.Popen(["/usr/bin/python3", "-c", CONSUMER, bootstrap, out, "5"],
                             stdout=subprocess.PIPE, text=True)
        consumers.append((p, out))
    for p, _ in consumers:
        assert p.stdout.readline().strip() == "assigned"
    cmd = [a.bench, "mqtt", "--port", ports["mqtt"], "--publishers", str(a.publishers),
           "--subscribers", "0", "--qos", "1", "--rate", str(a.rate), "--duration",
           str(a.seconds), "--payload", str(a.payload), "--pub-topic", "e2e/{i}",
           "--broker-pid", str(broker.pid), "--json"]
    print(" ".join(cmd))
    pub = subprocess.run(cmd, capture_output=True, text=True)
    print(pub.stdout.strip().splitlines()[-1] if pub.stdout else pub.stderr)
    lat, first, last = [], None, None
    for p, out in consumers:
        p.wait(120)
        r = json.load(open(out))
        lat += r["lat_us"]
        if r["first"]:
            first = min(first or r["first"], r["first"])
            last = max(last or r["last"], r["last"])
    broker.terminate()
    broker.wait(60)
    print("load average after:", os.getloadavg())
    lat.sort()
    secs = (last - first) / 1e9 if first and last and last > first else float("nan")
    print("consumed %d records in %.2f s: %.0f records/s" % (len(lat), secs, len(lat) / secs))
    print("latency ms: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f" % tuple(
        pct(lat, p) / 1e3 for p in (50, 90, 99, 99.9, 100)))
    import shutil
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
