"""A concurrency soak, not part of ctest: many raw clients on random protocol levels connect,
take over each other's client ids, subscribe (plain and shared), publish at QoS 0/1/2,
acknowledge some messages and vanish with or without DISCONNECT, for DURATION seconds.
Passes when the broker still answers, exits 0 and printed no sanitizer report.

    SLUICE_BIN=build/bin/sluice /usr/bin/python3 tests/system/soak.py [DURATION] [THREADS]

Build with SLUICE_SANITIZE=ON (or -fsanitize=thread) to make it worth running."""
import os
import random
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
import mqtt_raw as raw  # noqa: E402


def worker(port, idx, stop, errors):
    rnd = random.Random(idx)
    while not stop.is_set():
        try:
            version = rnd.choice([4, 5])
            c = raw.RawClient(port, version=version, timeout=5)
            plist = [(raw.P_SESSION_EXPIRY, rnd.choice([0, 5]))] if version == 5 else ()
            will = {"topic": "w/%d" % idx, "payload": b"w", "qos": 1} if rnd.random() < 0.3 else None
            if c.connect("c%d" % rnd.randint(0, 15), clean=rnd.random() < 0.5, plist=plist,
                         will=will).rc != 0:
                continue
            c.send(raw.subscribe(1, [("t/#", rnd.randint(0, 2)), ("$share/g/t/+", 1)], version=version))
            for i in range(rnd.randint(1, 30)):
                c.send(raw.publish("t/%d" % rnd.randint(0, 5), b"x" * rnd.randint(0, 300),
                                   qos=rnd.randint(0, 2), pid=i + 1, version=version))
            try:
                for _ in range(rnd.randint(0, 50)):
                    p = c.read(timeout=0.05)
                    if p.type == raw.PUBLISH and p.qos == 1 and rnd.random() < 0.7:
                        c.send(raw.ack(raw.PUBACK, p.pid, version=version))
                    elif p.type == raw.PUBLISH and p.qos == 2:
                        c.send(raw.ack(raw.PUBREC, p.pid, version=version))
                    elif p.type == raw.PUBREC:
                        c.send(raw.ack(raw.PUBREL, p.pid, version=version))
                    elif p.type == raw.PUBREL:
                        c.send(raw.ack(raw.PUBCOMP, p.pid, version=version))
            except (TimeoutError, EOFError, OSError):
                pass
            if rnd.random() < 0.5:
                try:
                    c.send(raw.disconnect(version=version))
                except OSError:
                    pass
            c.close()
        except (EOFError, OSError, TimeoutError):
            pass
        except Exception as e:  # a client-side surprise is a finding too
            errors.append(repr(e))


def main():
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    threads = sys.argv[2] if len(sys.argv) > 2 else "2"
    b = Broker("--threads", threads, "--sys-interval", "1").start()
    stop, errors = threading.Event(), []
    workers = [threading.Thread(target=worker, args=(b.mqtt_port, i, stop, errors)) for i in range(12)]
    for t in workers:
        t.start()
    stop.wait(duration)  # the soak's length, not a synchronisation
    stop.set()
    for t in workers:
        t.join()
    c = raw.connected(b.mqtt_port, "final")
    c.send(raw.PINGREQ_BYTES)
    c.expect(raw.PINGRESP)
    c.close()
    code = b.stop()
    reports = [l for l in b.output().splitlines() if "Sanitizer" in l or "runtime error" in l]
    b.cleanup()
    print("exit %s, client errors %d, sanitizer lines %d" % (code, len(errors), len(reports)))
    for line in (errors + reports)[:20]:
        print(line)
    sys.exit(0 if code == 0 and not errors and not reports else 1)


if __name__ == "__main__":
    main()
