#!/usr/bin/python3
"""Fetch throughput from the page cache with one consumer (docs/benchmarks.md, "Kafka API").

    /usr/bin/python3 loadtest/kafka_fetch/fetch_bench.py --sluice build/rel/bin/sluice \
        --bench build/rel/bin/sluice-bench --mb 2048 [--runs 3]

Fills log topic `bench` (1 partition, durability never) with --mb MiB of 8 KiB records through
an idempotent confluent-kafka producer, then reads all of it, each --runs times, with: cat of the segment files to /dev/null
(the disk path's baseline), kcat -C, a confluent-kafka consumer (consume() in batches, values
not touched), and sluice-bench kafka-fetch (the raw protocol reader); the Kafka readers once
with sendfile on and once with the listener's "sendfile": false. Every read is from the page
cache (the first, filling pass puts the data there; the machine has the memory for it).
Prints one line per measurement and a Markdown table of the medians.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

RECORD = 8192


def start(sluice, data_dir, sendfile):
    kafka = {"address": "127.0.0.1:0"}
    if not sendfile:
        kafka["sendfile"] = False
    cfg = {"ingest_rules": [{"filter": "fill/#", "log_topic": "bench", "partitions": 1,
                             "durability": "never"}, {"filter": "#", "log": False}],
           "listeners": {"kafka": kafka}}
    path = os.path.join(data_dir, "bench.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    p = subprocess.Popen([sluice, "--config", path, "--data-dir", data_dir, "--mqtt", "127.0.0.1:0",
                          "--http", "127.0.0.1:0", "--log-level", "warn"],
                         stdout=subprocess.PIPE, stderr=open(os.path.join(data_dir, "sluice.err"), "a"),
                         text=True)
    for line in p.stdout:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "listening" and parts[1] == "kafka":
            return p, "127.0.0.1:" + parts[2].rsplit(":", 1)[1]
    raise SystemExit("sluice did not start")


def stop(p):
    p.terminate()
    p.wait(60)


def cpu_s(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn, broker=None):
    """Wall seconds of fn(), and the broker's CPU seconds meanwhile (None without one)."""
    c0 = cpu_s(broker.pid) if broker else None
    t0 = time.monotonic()
    fn()
    wall = time.monotonic() - t0
    return wall, (cpu_s(broker.pid) - c0) if broker else None


def fill(bootstrap, mb):
    """--mb MiB of RECORD-byte records through an idempotent confluent-kafka producer (it rides
    out a dropped connection on a loaded machine, where kcat -P gives up)."""
    from confluent_kafka import Producer
    value = b"x" * RECORD
    n = mb * 1024 * 1024 // RECORD
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "linger.ms": 20, "batch.size": 1000000, "queue.buffering.max.kbytes": 262144})
    errors = []
    for i in range(n):
        while True:
            try:
                p.produce("bench", value=value, partition=0,
                          on_delivery=lambda err, msg: errors.append(err) if err else None)
                break
            except BufferError:
                p.poll(0.1)
    if p.flush(300) != 0 or errors:
        raise SystemExit("fill failed: %s" % errors[:3])
    return n


def read_kcat(bootstrap):
    subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", "bench", "-o", "beginning", "-e", "-q",
                    "-X", "fetch.max.bytes=52428800", "-X", "max.partition.fetch.bytes=33554432"],
                   stdout=subprocess.DEVNULL, check=True)


def read_confluent(bootstrap, records):
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "fetch-bench",
                  "enable.auto.commit": False, "fetch.max.bytes": 52428800,
                  "max.partition.fetch.bytes": 33554432, "queued.max.messages.kbytes": 1048576})
    c.assign([TopicPartition("bench", 0, OFFSET_BEGINNING)])
    got = 0
    while got < records:
        msgs = c.consume(10000, 5.0)
        got += len(msgs)
    c.close()


def read_raw(bench, bootstrap):
    port = bootstrap.rsplit(":", 1)[1]
    out = subprocess.run([bench, "kafka-fetch", "--port", port, "--topic", "bench", "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def read_files(data_dir):
    for f in sorted(glob.glob(os.path.join(data_dir, "bench", "0", "*.log"))):
        subprocess.run(["dd", "if=" + f, "of=/dev/null", "bs=1M", "status=none"], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--mb", type=int, default=2048)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir")
    ap.add_argument("--modes", default="on,off",
                    help="sendfile modes to measure: on, off or on,off (off needs the listener key)")
    a = ap.parse_args()
    data_dir = a.dir or tempfile.mkdtemp(prefix="sluice-fetch-bench-")
    print("load average before:", os.getloadavg())
    p, bootstrap = start(a.sluice, data_dir, True)
    t0 = time.monotonic()
    records = fill(bootstrap, a.mb)
    print("filled %d records (%d MiB) in %.1f s" % (records, a.mb, time.monotonic() - t0))
    stop(p)
    size = sum(os.path.getsize(f) for f in glob.glob(os.path.join(data_dir, "bench", "0", "*.log")))
    results = {}

    def note(name, t):
        secs, cpu = t
        mbps = size / secs / 1e6
        per_cpu = size / cpu / 1e6 if cpu else float("nan")
        results.setdefault(name, []).append((mbps, per_cpu))
        print("%-40s %7.2f s  %6.0f MB/s  broker CPU %6.2f s: %6.0f MB per broker CPU-s"
              % (name, secs, mbps, cpu or 0, per_cpu), flush=True)

    for _ in range(a.runs):
        note("dd of the segment files", timed(lambda: read_files(data_dir)))
    for sendfile in [m == "on" for m in a.modes.split(",")]:
        tag = "sendfile" if sendfile else "no sendfile"
        p, bootstrap = start(a.sluice, data_dir, sendfile)
        try:
            for _ in range(a.runs):
                note("kcat -C (%s)" % tag, timed(lambda: read_kcat(bootstrap), p))
                note("confluent-kafka (%s)" % tag,
                     timed(lambda: read_confluent(bootstrap, records), p))
                note("sluice-bench kafka-fetch (%s)" % tag, timed(lambda: read_raw(a.bench, bootstrap), p))
        finally:
            stop(p)
    print("load average after:", os.getloadavg())
    print("\n| reader | MB/s (median of %d) | MB per broker CPU-s |\n| --- | ---: | ---: |" % a.runs)
    for name, v in results.items():
        print("| %s | %.0f | %.0f |" % (name, statistics.median(x[0] for x in v),
                                       statistics.median(x[1] for x in v)))
    if not a.dir:
        import shutil
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
