"""TLS listeners with real clients: mosquitto_pub/sub and paho over TLS with client
certificates, refused clients (no certificate, another CA's, an expired one, TLS 1.1), a
failed handshake that leaves the broker serving, SIGHUP certificate reload with a live
connection surviving, and start-up errors for bad certificate files."""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SLUICE_BIN, Broker, run_cli  # noqa: E402
from clients import Paho, MosquittoSub  # noqa: E402
import mqtt_raw as raw  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MAKE_PKI = os.path.join(ROOT, "certs", "make-dev-pki.sh")


def make_pki(out, cn="device-7"):
    subprocess.run(["bash", MAKE_PKI, out, cn], check=True, capture_output=True, timeout=120)
    return lambda name: os.path.join(out, name)


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sluice-tls-")
        cls.pki = staticmethod(make_pki(os.path.join(cls.tmp, "pki")))
        cls.pki2 = staticmethod(make_pki(os.path.join(cls.tmp, "pki2"), "device-8"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def broker(self, client_auth="required", cert=None, key=None, ca=None):
        return Broker("--tls-cert", cert or self.pki("server.crt"),
                      "--tls-key", key or self.pki("server.key"),
                      "--tls-ca", ca or self.pki("ca.crt"),
                      "--tls-client-auth", client_auth, listeners=("mqtt", "mqtts"))

    def tls_args(self, pki=None, client="client", with_cert=True):
        pki = pki or self.pki
        args = ["--cafile", pki("ca.crt")]
        if with_cert:
            args += ["--cert", pki(client + ".crt"), "--key", pki(client + ".key")]
        return args

    def mosquitto_pub(self, port, tls_args, message="m", topic="t/tls"):
        return run_cli(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-V", "5",
                        "-t", topic, "-m", message, "-q", "1"] + tls_args, timeout=30)

    def paho(self, port, pki=None, client_id="", client="client"):
        pki = pki or self.pki
        p = Paho(port, client_id=client_id, connect=False)
        p.c.tls_set(ca_certs=pki("ca.crt"), certfile=pki(client + ".crt"),
                    keyfile=pki(client + ".key"))
        p.connect()
        return p

    def test_mosquitto_clients_publish_and_subscribe_over_tls(self):
        with self.broker() as b:
            port = b.ports["mqtts"]
            sub = MosquittoSub(port, "t/#", qos=1, extra=self.tls_args())
            r = self.mosquitto_pub(port, self.tls_args(), "over tls", "t/tls")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sub.messages(), ["t/tls over tls"])
            # Plain TCP and TLS clients share one broker.
            sub = MosquittoSub(port, "t/#", qos=1, extra=self.tls_args())
            r = run_cli(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(b.mqtt_port), "-t", "t/x",
                         "-m", "from tcp"], timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sub.messages(), ["t/x from tcp"])

    def test_required_client_auth_refuses_missing_foreign_and_expired_certificates(self):
        with self.broker() as b:
            port = b.ports["mqtts"]
            cases = {
                "no certificate": self.tls_args(with_cert=False),
                "another CA's certificate": ["--cafile", self.pki("ca.crt"),
                                             "--cert", self.pki("foreign-client.crt"),
                                             "--key", self.pki("foreign-client.key")],
                "expired certificate": self.tls_args(client="expired-client"),
            }
            for what, args in cases.items():
                with self.subTest(what):
                    r = self.mosquitto_pub(port, args)
                    self.assertNotEqual(r.returncode, 0, what)
                    line = b.wait_line(lambda l: "TLS handshake failed" in l, 10)
                    self.assertIsNotNone(line, b.output())
            self.assertIn("certificate has expired", b.output())
            # The failed handshakes cost nothing else: a good client is served as usual.
            r = self.mosquitto_pub(port, self.tls_args())
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_optional_client_auth_accepts_clients_without_a_certificate(self):
        with self.broker(client_auth="optional") as b:
            port = b.ports["mqtts"]
            self.assertEqual(self.mosquitto_pub(port, self.tls_args(with_cert=False)).returncode, 0)
            self.assertEqual(self.mosquitto_pub(port, self.tls_args()).returncode, 0)
            r = self.mosquitto_pub(port, ["--cafile", self.pki("ca.crt"),
                                          "--cert", self.pki("foreign-client.crt"),
                                          "--key", self.pki("foreign-client.key")])
            self.assertNotEqual(r.returncode, 0)

    def test_the_verified_certificate_names_the_connection(self):
        # The identity kept for authentication (the CN) is logged at debug level.
        with Broker("--tls-cert", self.pki("server.crt"), "--tls-key", self.pki("server.key"),
                    "--tls-ca", self.pki("ca.crt"), "--tls-client-auth", "optional",
                    "--log-level", "debug", listeners=("mqtt", "mqtts")) as b:
            self.assertEqual(self.mosquitto_pub(b.ports["mqtts"], self.tls_args()).returncode, 0)
            line = b.wait_line(lambda l: "TLS client certificate for" in l, 10)
            self.assertIsNotNone(line, b.output())
            self.assertTrue(line.endswith("TLS client certificate for device-7"), line)

    def test_only_tls_1_2_and_1_3(self):
        with self.broker(client_auth="none") as b:
            port = b.ports["mqtts"]

            def s_client(*args):
                return subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                                       "-CAfile", self.pki("ca.crt")] + list(args),
                                      input="", capture_output=True, text=True, timeout=30)
            for version in ("-tls1_2", "-tls1_3"):
                r = s_client(version)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("Verify return code: 0", r.stdout)
            # The client is allowed to offer TLS 1.1 (security level 0); the broker refuses it.
            r = s_client("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
            self.assertNotEqual(r.returncode, 0, r.stdout)
            line = b.wait_line(lambda l: "TLS handshake failed" in l, 10)
            self.assertIsNotNone(line, b.output())
            self.assertIn("unsupported protocol", line)

    def test_paho_mqtt5_over_tls_and_a_garbage_handshake(self):
        with self.broker() as b:
            port = b.ports["mqtts"]
            sub = self.paho(port, client_id="tls-sub")
            self.assertEqual(sub.connack[1], 0)
            sub.subscribe("p/#", qos=1)
            # Plain MQTT bytes sent to the TLS port fail the handshake; nothing else happens.
            r = run_cli(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", "p/x",
                         "-m", "plain"], timeout=30)
            self.assertNotEqual(r.returncode, 0)
            self.assertIsNotNone(b.wait_line(lambda l: "TLS handshake failed" in l, 10))
            pub = self.paho(port, client_id="tls-pub")
            pub.publish("p/q", b"x" * 100000, qos=1)
            m = sub.get()
            self.assertEqual((m.topic, len(m.payload), m.qos), ("p/q", 100000, 1))
            pub.stop()
            sub.stop()

    def test_a_stalled_handshake_is_closed_by_the_connect_timeout(self):
        with Broker("--tls-cert", self.pki("server.crt"), "--tls-key", self.pki("server.key"),
                    config='{"mqtt": {"connect_timeout_ms": 300}}',
                    listeners=("mqtt", "mqtts")) as b:
            s = socket.create_connection(("127.0.0.1", b.ports["mqtts"]), timeout=20)
            s.sendall(b"\x16\x03\x01")  # the first bytes of a ClientHello, then nothing
            self.assertEqual(s.recv(1), b"")  # closed by the broker, well before 20 s
            s.close()

    def test_takeover_and_shutdown_close_tls_connections_cleanly(self):
        # Both send DISCONNECT and close gracefully (close_notify, bounded wait for the peer's).
        b = self.broker()
        b.start()
        try:
            port = b.ports["mqtts"]
            first = self.paho(port, client_id="same")
            second = self.paho(port, client_id="same")
            # (paho 1.6 reports a lost connection here, over plain TCP too.)
            self.assertTrue(first.disconnected.wait(10))
            first.c.loop_stop()  # no automatic reconnect
            # A raw TLS client sees the DISCONNECT 0x8E itself, then the TLS close.
            ctx = ssl.create_default_context(cafile=self.pki("ca.crt"))
            ctx.load_cert_chain(self.pki("client.crt"), self.pki("client.key"))
            raw_socket = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                                         server_hostname="localhost")
            raw_socket.sendall(raw.connect("same"))
            self.assertEqual(raw_socket.recv(1), b"\x20")  # CONNACK (`second` is taken over)
            raw_socket.recv(64)
            self.assertTrue(second.disconnected.wait(10))
            second.c.loop_stop()  # no automatic reconnect
            third = self.paho(port, client_id="same")
            data = b""
            while True:
                chunk = raw_socket.recv(64)
                if not chunk:
                    break
                data += chunk
            self.assertEqual(data[:1], b"\xe0", data)  # DISCONNECT
            self.assertEqual(data[2], 0x8E, data)  # session taken over
            raw_socket.close()
            second = third
            self.assertTrue(second.connected.is_set())
        finally:
            # The broker stops with `second` still connected: it exits 0 with no sanitizer report.
            b.stop_checked()
            b.cleanup()
        self.assertTrue(second.disconnected.wait(10))
        second.c.loop_stop()

    def test_sighup_reloads_certificates_and_live_connections_survive(self):
        work = os.path.join(self.tmp, "reload")
        os.makedirs(work, exist_ok=True)
        paths = {n: os.path.join(work, n) for n in ("server.crt", "server.key", "ca.crt")}
        for n, p in paths.items():
            shutil.copy(self.pki(n), p)
        with self.broker(cert=paths["server.crt"], key=paths["server.key"],
                         ca=paths["ca.crt"]) as b:
            port = b.ports["mqtts"]
            live = self.paho(port, client_id="live")
            live.subscribe("r/#", qos=1)
            # A broken certificate file is reported and the old context stays in use.
            with open(paths["server.crt"], "w") as f:
                f.write("not a certificate\n")
            line = b.sighup_line("not reloaded", 10)
            self.assertIsNotNone(line, b.output())
            self.assertIn("listeners.mqtts.cert", line)
            self.assertEqual(self.mosquitto_pub(port, self.tls_args(), "old", "r/1").returncode, 0)
            self.assertEqual(live.get().payload, b"old")
            # New files from another CA: new handshakes use them, the live client stays.
            for n, p in paths.items():
                shutil.copy(self.pki2(n), p)
            self.assertIsNotNone(b.sighup_line("reloaded TLS certificate", 10), b.output())
            r = self.mosquitto_pub(port, self.tls_args(pki=self.pki2), "new", "r/2")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotEqual(self.mosquitto_pub(port, self.tls_args()).returncode, 0)
            self.assertEqual(live.get().payload, b"new")
            live.publish("r/3", b"still here", qos=1)
            self.assertEqual(live.get().payload, b"still here")
            live.stop()

    def test_bad_certificate_files_exit_2_naming_the_key(self):
        def start(*args):
            d = tempfile.mkdtemp(prefix="sluice-tls-data-")
            try:
                return run_cli([SLUICE_BIN, "--data-dir", d, "--mqtt", "127.0.0.1:0",
                                "--mqtts", "127.0.0.1:0", "--kafka", "127.0.0.1:0",
                                "--http", "127.0.0.1:0"] + list(args), timeout=60)
            finally:
                shutil.rmtree(d, ignore_errors=True)
        r = start("--tls-cert", self.pki("server.crt"), "--tls-key", self.pki2("server.key"))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("listeners.mqtts.key", r.stderr)
        self.assertIn("does not match", r.stderr)
        r = start("--tls-cert", os.path.join(self.tmp, "missing.crt"),
                  "--tls-key", self.pki("server.key"))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("listeners.mqtts.cert", r.stderr)
        r = start("--tls-cert", self.pki("server.crt"))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("listeners.mqtts.key", r.stderr)


if __name__ == "__main__":
    unittest.main()
