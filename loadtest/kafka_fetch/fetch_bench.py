#!/usr/bin/python3
"""Fetch throughput from the page cache with one consumer (docs/benchmarks.md, "Kafka API").

    /usr/bin/python3 loadtest/kafka_fetch/fetch_bench.py --sluice build/rel/bin/sluice \
        --bench build/rel/bin/sluice-bench --mb 2048 [--runs 3]

Fills log topic `bench` (--partitions, default 1; durability never) with --mb MiB of 8 KiB
records through an idempotent confluent-kafka producer, stops the broker, then reads all of it,
each --runs times, with:

- from the files (no broker): `dd` of the segment files to /dev/null (the disk path's
  baseline) and `sluice-bench kafka-fetch --file` (the raw reader's own parsing loop over the
  segment files: the same client reading the same data from a file);
- through the broker, once with sendfile on and once with the listener's "sendfile": false
  (--modes): `kcat -C` with librdkafka's fetch defaults and with larger fetch settings
  (KCAT_LARGE), a confluent-kafka consumer, and `sluice-bench kafka-fetch` (the raw protocol
  reader) with one request in flight per partition, with --pipeline K in flight, and with
  --discard (record bodies dropped in the kernel uncopied: the broker's side without the
  reader's copy).

Every read is from the page cache (the filling pass puts the data there; the machine has the
memory for it). Prints one line per measurement, a Markdown table of the medians (wall MB/s and
MB per broker CPU-second) and the ratios that stay meaningful on a shared machine: sendfile
against copy for each reader, and pipelined against one request in flight.
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RECORD = 8192
READERS = ("dd", "file", "kcat", "kcat-large", "confluent", "raw", "raw-pipelined", "raw-discard")
# librdkafka's fetch settings for the "kcat-large" reader: larger answers and a deeper local
# queue than the defaults (fetch.max.bytes 50 MiB, max.partition.fetch.bytes 1 MiB,
# queued.max.messages.kbytes 64 MiB).
KCAT_LARGE = ["-X", "fetch.max.bytes=134217728", "-X", "max.partition.fetch.bytes=67108864",
              "-X", "fetch.message.max.bytes=67108864", "-X", "queued.max.messages.kbytes=1048576",
              "-X", "receive.message.max.bytes=135000000"]


def start(sluice, data_dir, sendfile, partitions):
    kafka = {"address": "127.0.0.1:0"}
    if not sendfile:
        kafka["sendfile"] = False
    cfg = {"ingest_rules": [{"filter": "fill/#", "log_topic": "bench", "partitions": partitions,
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


def fill(bootstrap, mb, partitions):
    """--mb MiB of RECORD-byte records through an idempotent confluent-kafka producer (it rides
    out a dropped connection on a loaded machine), round robin over the partitions."""
    from confluent_kafka import Producer
    value = b"x" * RECORD
    n = mb * 1024 * 1024 // RECORD
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "linger.ms": 20, "batch.size": 1000000, "queue.buffering.max.kbytes": 262144})
    errors = []
    for i in range(n):
        while True:
            try:
                p.produce("bench", value=value, partition=i % partitions,
                          on_delivery=lambda err, msg: errors.append(err) if err else None)
                break
            except BufferError:
                p.poll(0.1)
    if p.flush(300) != 0 or errors:
        raise SystemExit("fill failed: %s" % errors[:3])
    return n


def segment_files(data_dir):
    return sorted(glob.glob(os.path.join(data_dir, "bench", "*", "*.log")))


def read_kcat(bootstrap, extra):
    subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", "bench", "-o", "beginning", "-e", "-q"]
                   + extra, stdout=subprocess.DEVNULL, check=True)


def read_confluent(bootstrap, records, partitions):
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "fetch-bench",
                  "enable.auto.commit": False, "fetch.max.bytes": 52428800,
                  "max.partition.fetch.bytes": 33554432, "queued.max.messages.kbytes": 1048576})
    c.assign([TopicPartition("bench", i, OFFSET_BEGINNING) for i in range(partitions)])
    got = 0
    while got < records:
        msgs = c.consume(10000, 5.0)
        got += len(msgs)
    c.close()


def raw(bench, args):
    out = subprocess.run([bench, "kafka-fetch", "--json"] + args, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("kafka-fetch failed: " + out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def read_raw(bench, bootstrap, partitions, pipeline, records, extra=()):
    r = raw(bench, ["--port", bootstrap.rsplit(":", 1)[1], "--topic", "bench",
                    "--partitions", str(partitions), "--pipeline", str(pipeline)] + list(extra))
    if r["records"] != records:
        raise SystemExit("kafka-fetch read %d records of %d" % (r["records"], records))
    return r


def read_raw_files(bench, data_dir, records):
    args = []
    for f in segment_files(data_dir):
        args += ["--file", f]
    r = raw(bench, args)
    if r["records"] != records:
        raise SystemExit("kafka-fetch --file read %d records of %d" % (r["records"], records))


def read_dd(data_dir):
    for f in segment_files(data_dir):
        subprocess.run(["dd", "if=" + f, "of=/dev/null", "bs=1M", "status=none"], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--mb", type=int, default=2048)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--partitions", type=int, default=1,
                    help="partitions of the topic (every reader reads them all)")
    ap.add_argument("--pipeline", type=int, default=4,
                    help="Fetch requests in flight per partition for the raw-pipelined reader")
    ap.add_argument("--dir", help="keep the data here (filled only when it holds none)")
    ap.add_argument("--modes", default="on,off",
                    help="sendfile modes to measure: on, off or on,off")
    ap.add_argument("--readers", default=",".join(READERS),
                    help="which readers: a comma-separated subset of " + ",".join(READERS))
    a = ap.parse_args()
    readers = a.readers.split(",")
    unknown = set(readers) - set(READERS)
    if unknown:
        ap.error("unknown readers: " + ",".join(sorted(unknown)))
    data_dir = a.dir or tempfile.mkdtemp(prefix="sluice-fetch-bench-")
    print("load average before:", os.getloadavg())
    records_file = os.path.join(data_dir, "bench.records")
    if os.path.exists(records_file):
        with open(records_file) as f:
            records = int(f.read())
        print("reusing %d records in %s" % (records, data_dir))
    else:
        p, bootstrap = start(a.sluice, data_dir, True, a.partitions)
        t0 = time.monotonic()
        records = fill(bootstrap, a.mb, a.partitions)
        print("filled %d records (%d MiB) in %.1f s" % (records, a.mb, time.monotonic() - t0))
        stop(p)
        with open(records_file, "w") as f:
            f.write(str(records))
    size = sum(os.path.getsize(f) for f in segment_files(data_dir))
    results = {}

    def note(name, t, extra=""):
        secs, cpu = t
        mbps = size / secs / 1e6
        per_cpu = size / cpu / 1e6 if cpu else float("nan")
        results.setdefault(name, []).append((mbps, per_cpu))
        print("%-48s %7.2f s  %6.0f MB/s  broker CPU %6.2f s: %6.0f MB per broker CPU-s%s"
              % (name, secs, mbps, cpu or 0, per_cpu, extra), flush=True)

    for _ in range(a.runs):
        if "dd" in readers:
            note("dd of the segment files", timed(lambda: read_dd(data_dir)))
        if "file" in readers:
            note("kafka-fetch --file (segment files)",
                 timed(lambda: read_raw_files(a.bench, data_dir, records)))
    for sendfile in [m == "on" for m in a.modes.split(",")]:
        tag = "sendfile" if sendfile else "copy"
        p, bootstrap = start(a.sluice, data_dir, sendfile, a.partitions)
        try:
            for _ in range(a.runs):
                if "kcat" in readers:
                    note("kcat -C, defaults (%s)" % tag, timed(lambda: read_kcat(bootstrap, []), p))
                if "kcat-large" in readers:
                    note("kcat -C, large fetch settings (%s)" % tag,
                         timed(lambda: read_kcat(bootstrap, KCAT_LARGE), p))
                if "confluent" in readers:
                    note("confluent-kafka (%s)" % tag,
                         timed(lambda: read_confluent(bootstrap, records, a.partitions), p))
                for pipeline, name, extra in ((1, "raw", ()), (a.pipeline, "raw-pipelined", ()),
                                              (1, "raw-discard", ("--discard",))):
                    if name not in readers:
                        continue
                    got = {}
                    t = timed(lambda: got.update(
                        read_raw(a.bench, bootstrap, a.partitions, pipeline, records, extra)), p)
                    label = ", bodies discarded uncopied" if extra else ""
                    note("kafka-fetch, %d in flight per partition%s (%s)" % (pipeline, label, tag), t,
                         "  (%d requests, %d sent twice, %d fills)" % (
                             got["requests"], got["wasted_bytes"], got["fill_requests"]))
        finally:
            stop(p)
    print("load average after:", os.getloadavg())
    med = {name: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
           for name, v in results.items()}
    print("\n| reader | MB/s (median of %d) | MB per broker CPU-s |\n| --- | ---: | ---: |" % a.runs)
    for name, (mbps, per_cpu) in med.items():
        print("| %s | %.0f | %.0f |" % (name, mbps, per_cpu))
    print("\nRatios (medians; the machine's load cancels out of these):")
    for name, (mbps, per_cpu) in med.items():
        if name.endswith("(sendfile)"):
            other = med.get(name[:-len("(sendfile)")] + "(copy)")
            if other:
                print("  %s: sendfile / copy: wall %.2f, MB per broker CPU-s %.2f"
                      % (name[:-len(" (sendfile)")], mbps / other[0], per_cpu / other[1]))
    for tag in ("sendfile", "copy"):
        one = med.get("kafka-fetch, 1 in flight per partition (%s)" % tag)
        more = med.get("kafka-fetch, %d in flight per partition (%s)" % (a.pipeline, tag))
        if one and more and a.pipeline != 1:
            print("  kafka-fetch (%s): %d in flight / 1: wall %.2f, MB per broker CPU-s %.2f"
                  % (tag, a.pipeline, more[0] / one[0], more[1] / one[1]))
        kcat = med.get("kcat -C, defaults (%s)" % tag)
        large = med.get("kcat -C, large fetch settings (%s)" % tag)
        if kcat and large:
            print("  kcat (%s): large fetch settings / defaults: wall %.2f" % (tag, large[0] / kcat[0]))
    if not a.dir:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
