"""MQTT over WebSocket (listener type ws) and secure WebSocket (wss): paho over both with QoS
0/1/2 across ws, wss and plain TCP clients; a raw WebSocket client (python3-websockets) that
splits a packet over frames and puts several packets in one frame; text frames and oversized
messages close the connection; refused upgrades (wrong path 404, no `mqtt` subprotocol 400, not
an upgrade 426, an oversized request 431); a stalled upgrade or TLS handshake, and an upgraded
connection without CONNECT, are closed by the connect timeout; SIGHUP reloads wss
certificates."""
import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatusCode

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402
from clients import Paho  # noqa: E402
import mqtt_raw as raw  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MAKE_PKI = os.path.join(ROOT, "certs", "make-dev-pki.sh")
WAIT = 10.0
UPGRADE = ("Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")


def make_pki(out, cn="device-7"):
    subprocess.run(["bash", MAKE_PKI, out, cn], check=True, capture_output=True, timeout=120)
    return lambda name: os.path.join(out, name)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def split_packets(buf):
    """Whole MQTT packets at the front of `buf` (a bytearray, consumed)."""
    out = []
    while len(buf) >= 2:
        try:
            ln, pos = raw.read_varint(buf, 1)
        except IndexError:
            break
        if len(buf) < pos + ln:
            break
        out.append(raw.Packet(buf[0] >> 4, buf[0] & 0xF, bytes(buf[pos:pos + ln]), 5))
        del buf[:pos + ln]
    return out


class WsMqtt:
    """A raw MQTT 5 client over a websockets connection: sends bytes in the frames a test
    chooses and reads packets whatever the frame boundaries."""

    def __init__(self, ws):
        self.ws = ws
        self.buf = bytearray()
        self.pending = []

    async def read(self):
        while not self.pending:
            msg = await asyncio.wait_for(self.ws.recv(), WAIT)
            assert isinstance(msg, bytes), "the broker sent a text frame: %r" % msg
            self.buf += msg
            self.pending += split_packets(self.buf)
        return self.pending.pop(0)

    async def expect(self, ptype):
        p = await self.read()
        assert p.type == ptype, "expected packet type %d, got %r" % (ptype, p)
        return p


def http_exchange(port, request, tls_ctx=None):
    """Sends raw request bytes and returns everything the broker answers until it closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    if tls_ctx:
        s = tls_ctx.wrap_socket(s, server_hostname="localhost")
    try:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data.decode("latin-1")
            data += chunk
    finally:
        s.close()


class WebSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sluice-ws-")
        cls.pki = staticmethod(make_pki(os.path.join(cls.tmp, "pki")))
        cls.broker = Broker("--tls-cert", cls.pki("server.crt"), "--tls-key", cls.pki("server.key"),
                            listeners=("mqtt", "ws", "wss")).start()
        cls.ws_port = cls.broker.ports["ws"]
        cls.wss_port = cls.broker.ports["wss"]
        cls.tls = ssl.create_default_context(cafile=cls.pki("ca.crt"))

    @classmethod
    def tearDownClass(cls):
        try:
            cls.broker.stop_checked()
        finally:
            cls.broker.cleanup()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def paho(self, kind, client_id="", pki=None):
        if kind == "tcp":
            return Paho(self.broker.mqtt_port, client_id=client_id)
        p = Paho(self.ws_port if kind == "ws" else self.wss_port, client_id=client_id,
                 connect=False, transport="websockets")
        if kind == "wss":
            p.c.tls_set(ca_certs=(pki or self.pki)("ca.crt"))
        p.connect()
        return p

    def ws_url(self, path="/mqtt", secure=False):
        return "%s://127.0.0.1:%d%s" % ("wss" if secure else "ws",
                                        self.wss_port if secure else self.ws_port, path)

    # --- real clients ----------------------------------------------------------------------
    def test_paho_qos_0_1_2_across_ws_wss_and_tcp(self):
        subs = {kind: self.paho(kind, "sub-" + kind) for kind in ("ws", "wss", "tcp")}
        pubs = {kind: self.paho(kind, "pub-" + kind) for kind in ("ws", "wss", "tcp")}
        try:
            for s in subs.values():
                self.assertEqual(s.connack[1], 0)
                s.subscribe("x/#", qos=2)
            for src, pub in pubs.items():
                for qos in (0, 1, 2):
                    topic = "x/%s/%d" % (src, qos)
                    pub.publish(topic, ("from %s at qos %d" % (src, qos)).encode(), qos=qos)
                    for kind, s in subs.items():
                        m = s.get()
                        self.assertEqual((m.topic, m.payload, m.qos),
                                         (topic, ("from %s at qos %d" % (src, qos)).encode(), qos),
                                         "%s -> %s" % (src, kind))
            # A packet larger than the read buffer and Beast's frame buffer arrives whole.
            big = bytes(range(256)) * 800
            pubs["ws"].publish("x/big", big, qos=1)
            for s in subs.values():
                m = s.get()
                self.assertEqual((m.topic, m.payload), ("x/big", big))
        finally:
            for c in list(subs.values()) + list(pubs.values()):
                c.stop()

    # --- frames ----------------------------------------------------------------------------
    def test_packets_span_frames_and_frames_hold_several_packets(self):
        async def session():
            async with websockets.connect(self.ws_url(), subprotocols=["mqtt"]) as ws:
                self.assertEqual(ws.subprotocol, "mqtt")
                c = WsMqtt(ws)
                connect = raw.connect("ws-frames")
                # One CONNECT as a fragmented message of three frames.
                await ws.send([connect[:3], connect[3:9], connect[9:]])
                self.assertEqual((await c.expect(raw.CONNACK)).rc, 0)
                # One SUBSCRIBE over two separate messages.
                sub = raw.subscribe(1, [("f/#", 1)])
                await ws.send(sub[:2])
                await ws.send(sub[2:])
                self.assertEqual((await c.expect(raw.SUBACK)).reasons, [1])
                # Three packets in one frame, the last one cut and finished in the next.
                burst = (raw.publish("f/a", b"one", qos=1, pid=7) + raw.publish("f/b", b"two") +
                         raw.PINGREQ_BYTES + raw.publish("f/c", b"three", qos=1, pid=8))
                await ws.send(burst[:-4])
                await ws.send(burst[-4:])
                got = [await c.read() for _ in range(6)]
                kinds = sorted((p.type, p.pid if p.type == raw.PUBACK else None) for p in got)
                self.assertEqual(kinds, sorted([(raw.PUBACK, 7), (raw.PUBACK, 8), (raw.PUBLISH, None),
                                                (raw.PUBLISH, None), (raw.PUBLISH, None),
                                                (raw.PINGRESP, None)]))
                self.assertEqual([p.payload for p in got if p.type == raw.PUBLISH],
                                 [b"one", b"two", b"three"])
                await ws.send(raw.disconnect())
                await asyncio.wait_for(ws.wait_closed(), WAIT)
                self.assertEqual(ws.close_code, 1000)
        run(session())

    def test_a_text_frame_closes_the_connection(self):
        async def session(after_connect):
            async with websockets.connect(self.ws_url(), subprotocols=["mqtt"]) as ws:
                c = WsMqtt(ws)
                if after_connect:
                    await ws.send(raw.connect("ws-text"))
                    self.assertEqual((await c.expect(raw.CONNACK)).rc, 0)
                    # Not even a valid packet in a text frame is taken (MQTT-6.0.0-1).
                    await ws.send(raw.PINGREQ_BYTES.decode("latin-1"))
                else:
                    await ws.send(raw.connect("ws-text").decode("latin-1"))
                with self.assertRaises(ConnectionClosed):
                    await c.read()
                self.assertEqual(ws.close_code, 1003)
        run(session(after_connect=True))
        run(session(after_connect=False))
        # The broker serves on.
        p = self.paho("ws", "after-text")
        p.stop()

    def test_wss_raw_client_and_the_subprotocol_echoed(self):
        async def session():
            async with websockets.connect(self.ws_url(secure=True), subprotocols=["mqttv3.1", "mqtt"],
                                          ssl=self.tls) as ws:
                self.assertEqual(ws.subprotocol, "mqtt")
                c = WsMqtt(ws)
                await ws.send(raw.connect("wss-raw"))
                self.assertEqual((await c.expect(raw.CONNACK)).rc, 0)
        run(session())

    # --- refused upgrades ------------------------------------------------------------------
    def test_refused_upgrades_get_a_clear_http_error(self):
        def get(target="/mqtt", protocol="mqtt", extra="", port=None, tls_ctx=None):
            head = "GET %s HTTP/1.1\r\n%s" % (target, UPGRADE)
            if protocol:
                head += "Sec-WebSocket-Protocol: %s\r\n" % protocol
            return http_exchange(port or self.ws_port, (head + extra + "\r\n").encode(), tls_ctx)

        r = get("/elsewhere")
        self.assertTrue(r.startswith("HTTP/1.1 404 "), r)
        self.assertIn("/mqtt", r)
        r = get(protocol=None)
        self.assertTrue(r.startswith("HTTP/1.1 400 "), r)
        self.assertIn('subprotocol "mqtt"', r)
        r = get(protocol="mqttv3.1, chat", port=self.wss_port, tls_ctx=self.tls)
        self.assertTrue(r.startswith("HTTP/1.1 400 "), r)
        r = http_exchange(self.ws_port, b"GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(r.startswith("HTTP/1.1 426 "), r)
        r = get(extra="X-Padding: %s\r\n" % ("p" * 9000))
        self.assertTrue(r.startswith("HTTP/1.1 431 "), r)
        r = http_exchange(self.ws_port, b"\x10\x0c\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\r\n\r\n")
        self.assertTrue(r.startswith("HTTP/1.1 400 "), r)
        self.assertIsNotNone(self.broker.wait_line(lambda l: "WebSocket upgrade refused (404)" in l,
                                                   WAIT))

        # As a WebSocket client sees it.
        async def refused(path, protocols):
            with self.assertRaises(InvalidStatusCode) as e:
                async with websockets.connect(self.ws_url(path), subprotocols=protocols):
                    pass
            return e.exception.status_code
        self.assertEqual(run(refused("/mqtt", ["chat"])), 400)
        self.assertEqual(run(refused("/ws", ["mqtt"])), 404)

    # --- certificates ----------------------------------------------------------------------
    def test_sighup_reloads_wss_certificates(self):
        pki2 = make_pki(os.path.join(self.tmp, "pki2"), "device-8")
        work = os.path.join(self.tmp, "reload")
        os.makedirs(work, exist_ok=True)
        paths = {n: os.path.join(work, n) for n in ("server.crt", "server.key")}
        for n, p in paths.items():
            shutil.copy(self.pki(n), p)
        with Broker("--tls-cert", paths["server.crt"], "--tls-key", paths["server.key"],
                    listeners=("mqtt", "wss")) as b:
            port = b.ports["wss"]
            live = Paho(port, client_id="live", connect=False, transport="websockets")
            live.c.tls_set(ca_certs=self.pki("ca.crt"))
            live.connect()
            live.subscribe("r/#", qos=1)
            for n, p in paths.items():
                shutil.copy(pki2(n), p)
            line = b.sighup_line("reloaded TLS certificate", WAIT)
            self.assertIsNotNone(line, b.output())
            self.assertIn("wss listener", line)
            # New handshakes get the new certificate: only the new CA verifies it.
            fresh = Paho(port, client_id="fresh", connect=False, transport="websockets")
            fresh.c.tls_set(ca_certs=pki2("ca.crt"))
            fresh.connect()
            fresh.publish("r/1", b"new", qos=1)
            self.assertEqual(live.get().payload, b"new")
            with self.assertRaises(ssl.SSLError):
                http_exchange(port, b"GET /mqtt HTTP/1.1\r\n\r\n", self.tls)
        # The broker stopped with both connected (DISCONNECT 0x8B, close frames) and exited 0
        # with no sanitizer report.
        for c in (live, fresh):
            self.assertTrue(c.disconnected.wait(WAIT))
            c.c.loop_stop()


class WebSocketTimeoutTest(unittest.TestCase):
    def test_the_connect_timeout_covers_tls_handshake_upgrade_and_connect(self):
        tmp = tempfile.mkdtemp(prefix="sluice-ws-")
        try:
            pki = make_pki(os.path.join(tmp, "pki"))
            with Broker("--tls-cert", pki("server.crt"), "--tls-key", pki("server.key"),
                        config='{"mqtt": {"connect_timeout_ms": 300}}',
                        listeners=("mqtt", "ws", "wss")) as b:
                # An upgrade request that never ends.
                s = socket.create_connection(("127.0.0.1", b.ports["ws"]), timeout=20)
                s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                self.assertEqual(s.recv(1), b"")  # closed by the broker, well before 20 s
                s.close()
                # A TLS handshake that stalls on the wss port.
                s = socket.create_connection(("127.0.0.1", b.ports["wss"]), timeout=20)
                s.sendall(b"\x16\x03\x01")
                self.assertEqual(s.recv(1), b"")
                s.close()

                # An upgraded connection that sends no CONNECT gets a close frame.
                async def no_connect():
                    async with websockets.connect("ws://127.0.0.1:%d/mqtt" % b.ports["ws"],
                                                  subprotocols=["mqtt"]) as ws:
                        with self.assertRaises(ConnectionClosed):
                            await asyncio.wait_for(ws.recv(), 20)
                        self.assertEqual(ws.close_code, 1008)
                run(no_connect())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_a_message_over_the_limit_is_closed_with_1009(self):
        # Twice mqtt.max_packet_size is the largest message taken: 2048 bytes here, and the
        # 3000 sent fit in the socket buffers, so the client's send completes either way.
        with Broker(config='{"mqtt": {"max_packet_size": 1024}}', listeners=("mqtt", "ws")) as b:
            async def session():
                async with websockets.connect("ws://127.0.0.1:%d/mqtt" % b.ports["ws"],
                                              subprotocols=["mqtt"]) as ws:
                    await ws.send(b"\x10" + b"\xff" * 3000)
                    with self.assertRaises(ConnectionClosed):
                        await WsMqtt(ws).read()
                    self.assertEqual(ws.close_code, 1009)
            run(session())

    def test_a_ws_listener_path_from_the_config(self):
        with Broker(config='{"listeners": {"ws": {"type": "ws", "address": "127.0.0.1:0", '
                           '"path": "/broker"}}}', listeners=("mqtt", "ws")) as b:
            async def session():
                async with websockets.connect("ws://127.0.0.1:%d/broker" % b.ports["ws"],
                                              subprotocols=["mqtt"]) as ws:
                    await ws.send(raw.connect("pathed"))
                    self.assertEqual((await WsMqtt(ws).expect(raw.CONNACK)).rc, 0)
            run(session())
            r = http_exchange(b.ports["ws"], ("GET /mqtt HTTP/1.1\r\n%sSec-WebSocket-Protocol: "
                                              "mqtt\r\n\r\n" % UPGRADE).encode())
            self.assertTrue(r.startswith("HTTP/1.1 404 "), r)


if __name__ == "__main__":
    unittest.main()
