"""Broker RSS per idle connection, plain TCP against WebSocket (docs/benchmarks.md,
"WebSocket listeners"). Starts the given sluice binary with an MQTT and a ws listener on free
ports, then for each transport opens N connections that each send an MQTT 5 CONNECT and read
the CONNACK (over ws: the upgrade first, then the CONNECT in one binary frame), waits 3 s
(past the broker's 2 s idle release), reads the broker's VmRSS, and closes them. Prints the
RSS before and after and the difference per connection.

    /usr/bin/python3 loadtest/ws_idle_rss.py build/rel/bin/sluice 1000
"""
import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "system"))
import mqtt_raw as raw  # noqa: E402


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def recv_until(s, marker):
    data = b""
    while marker not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("closed: %r" % data)
        data += chunk
    return data


def ws_frame(payload):
    # A masked binary frame (clients must mask), payload < 126 bytes.
    mask = os.urandom(4)
    return bytes([0x82, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def open_tcp(port, i):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(raw.connect("idle-tcp-%d" % i))
    s.recv(64)
    return s


def open_ws(port, i):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: mqtt\r\n\r\n" % key).encode())
    recv_until(s, b"\r\n\r\n")
    s.sendall(ws_frame(raw.connect("idle-ws-%d" % i)))
    s.recv(64)
    return s


def main():
    binary, n = sys.argv[1], int(sys.argv[2])
    data = tempfile.mkdtemp(prefix="sluice-ws-idle-")
    proc = subprocess.Popen([binary, "--data-dir", data, "--threads", "2", "--mqtt", "127.0.0.1:0",
                             "--ws", "127.0.0.1:0", "--kafka", "127.0.0.1:0", "--http",
                             "127.0.0.1:0", "--log-level", "warn"],
                            stdout=subprocess.PIPE, text=True)
    ports = {}
    while len(ports) < 2:
        parts = proc.stdout.readline().split()
        if len(parts) == 3 and parts[0] == "listening" and parts[1] in ("mqtt", "ws"):
            ports[parts[1]] = int(parts[2].rsplit(":", 1)[1])
    try:
        for name, opener in (("tcp", open_tcp), ("ws", open_ws)):
            time.sleep(3)  # measurement settling, not synchronisation
            before = rss_kb(proc.pid)
            conns = [opener(ports["mqtt" if name == "tcp" else "ws"], i) for i in range(n)]
            time.sleep(3)  # past the 2 s idle release
            after = rss_kb(proc.pid)
            print("%-4s %d connections: RSS %d kB -> %d kB, %.0f B per connection"
                  % (name, n, before, after, (after - before) * 1024.0 / n))
            for c in conns:
                c.close()
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
