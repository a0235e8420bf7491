"""sluice-bench over TLS, WebSocket and secure WebSocket (--tls, --ws, --wss): the same tiny
runs as the plain smoke test, against Mosquitto and sluice (when built) with listeners of each
kind on one development PKI, checking the counts in the JSON line; and the refusals (a broker
certificate from another CA, TLS options without a TLS transport). No timing is asserted.

SLUICE_BENCH names the sluice-bench binary; SLUICE_BIN the sluice binary (optional).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_bench_smoke import (BENCH, MOSQUITTO, SLUICE, START_TIMEOUT, Sluice, bench, free_port,  # noqa: E402
                              raise_fd_limit, wait_accepting)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKI = None


def setUpModule():
    global PKI
    PKI = tempfile.mkdtemp(prefix="bench-transports-pki-")
    subprocess.run([os.path.join(ROOT, "certs", "make-dev-pki.sh"), PKI], check=True,
                   stdout=subprocess.DEVNULL)


def tearDownModule():
    shutil.rmtree(PKI, ignore_errors=True)


def pki(name):
    return os.path.join(PKI, name)


def transport_args(transport, ca="ca.crt"):
    if transport == "tcp":
        return []
    args = ["--" + transport]
    if transport in ("tls", "wss"):
        args += ["--cafile", pki(ca)]
    return args


class MosquittoListeners:
    """Mosquitto with one listener per transport, the TLS ones on the PKI's server certificate."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="bench-transports-")
        for _ in range(5):
            self.ports = {t: free_port() for t in ("tcp", "tls", "ws", "wss")}
            tls = f"certfile {pki('server.crt')}\nkeyfile {pki('server.key')}\ncafile {pki('ca.crt')}\n"
            conf = os.path.join(self.dir, "mosquitto.conf")
            with open(conf, "w") as f:
                # root: mosquitto would otherwise drop to its own user, which cannot read the key.
                f.write(("user root\n" if os.geteuid() == 0 else "") +
                        "allow_anonymous true\nmax_connections -1\n"
                        f"listener {self.ports['tcp']} 127.0.0.1\n"
                        f"listener {self.ports['tls']} 127.0.0.1\n{tls}"
                        f"listener {self.ports['ws']}\nprotocol websockets\n"
                        f"listener {self.ports['wss']}\nprotocol websockets\n{tls}")
            self.proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, preexec_fn=raise_fd_limit)
            if all(wait_accepting(p, START_TIMEOUT) for p in self.ports.values()) and self.proc.poll() is None:
                return self
            self.proc.kill()
            self.proc.wait()
        raise RuntimeError("mosquitto did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)


class SluiceListeners(Sluice):
    """sluice with mqtt, mqtts, ws and wss listeners; client certificates optional (or as told)."""
    NAMES = {"mqtt": "tcp", "mqtts": "tls", "ws": "ws", "wss": "wss"}

    def __init__(self, client_auth="optional"):
        self.client_auth = client_auth

    def extra_args(self):
        return ["--mqtts", "127.0.0.1:0", "--ws", "127.0.0.1:0", "--wss", "127.0.0.1:0",
                "--tls-cert", pki("server.crt"), "--tls-key", pki("server.key"),
                "--tls-ca", pki("ca.crt"), "--tls-client-auth", self.client_auth]


class TransportChecks:
    def check_pairs(self, b, transport, *extra):
        rc, r, err = bench(b.ports[transport], *transport_args(transport), *extra,
                           "--publishers", "2", "--subscribers", "2", "--qos", "1", "--count", "100",
                           "--pub-topic", "p2p/{i}", "--sub-topic", "p2p/{i}", pid=b.proc.pid)
        self.assertEqual(rc, 0, (r, err))
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["sent"], 200)
        self.assertEqual(r["acked"], 200)
        self.assertEqual(r["received"], 200)
        self.assertEqual(r["unique"], 200)
        self.assertEqual(r["lost"], 0)
        self.assertEqual(r["params"]["transport"], transport)
        return r

    # One broker for all the checks, so the file stays short.
    def test_every_transport(self):
        with self.broker() as b:
            for transport in ("tls", "ws", "wss"):
                with self.subTest(transport=transport):
                    self.check_pairs(b, transport)
            with self.subTest("TLS 1.2 only"):
                r = self.check_pairs(b, "tls", "--tls-version", "1.2")
                self.assertEqual(r["params"]["tls_version"], "1.2")
            with self.subTest("idle connections over wss"):
                rc, r, err = bench(b.ports["wss"], *transport_args("wss"), "--steps", "10,20",
                                   "--settle", "0", "--hold", "0", mode="mqtt-idle", pid=b.proc.pid)
                self.assertEqual(rc, 0, (r, err))
                self.assertTrue(r["ok"], r)
                self.assertEqual([s["connections"] for s in r["steps"]], [10, 20])
                self.assertEqual(r["params"]["transport"], "wss")
            with self.subTest("a broker certificate from another CA is refused"):
                rc, r, err = bench(b.ports["tls"], "--tls", "--cafile", pki("foreign-ca.crt"),
                                   "--publishers", "1", "--subscribers", "1", "--count", "5")
                self.assertEqual(rc, 1, r)
                self.assertFalse(r["ok"])
                self.assertIn("certificate verify failed", r["error"])


class MosquittoTransports(TransportChecks, unittest.TestCase):
    broker = MosquittoListeners


@unittest.skipUnless(SLUICE and os.access(SLUICE, os.X_OK), "sluice is not built")
class SluiceTransports(TransportChecks, unittest.TestCase):
    broker = SluiceListeners

    def test_client_certificate_where_one_is_required(self):
        with SluiceListeners(client_auth="required") as b:
            r = self.check_pairs(b, "tls", "--cert", pki("client.crt"), "--key", pki("client.key"))
            self.assertTrue(r["params"]["client_certificate"])
            rc, r, _ = bench(b.ports["tls"], *transport_args("tls"), "--publishers", "1",
                             "--subscribers", "0", "--count", "5")
        self.assertEqual(rc, 1, r)  # without one the broker refuses the handshake


class BadTransportOptions(unittest.TestCase):
    def run_bench(self, *args):
        return subprocess.run([BENCH, "mqtt", "--count", "1", *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=30)

    def test_tls_options_need_a_tls_transport(self):
        p = self.run_bench("--cafile", pki("ca.crt"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("--cafile needs --tls or --wss", p.stderr)
        p = self.run_bench("--ws", "--tls-version", "1.3")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--tls-version needs --tls or --wss", p.stderr)

    def test_one_transport_only(self):
        p = self.run_bench("--tls", "--wss")
        self.assertEqual(p.returncode, 2)
        self.assertIn("only one of --tls, --ws, --wss", p.stderr)

    def test_unreadable_ca_and_mismatched_key(self):
        p = self.run_bench("--tls", "--cafile", pki("missing.crt"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("--cafile", p.stderr)
        p = self.run_bench("--tls", "--cert", pki("client.crt"), "--key", pki("server.key"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("--key " + pki("server.key"), p.stderr)
        p = self.run_bench("--tls", "--cert", pki("client.crt"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("--cert and --key go together", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
