"""ACLs with real clients (docs/security.md, "Access control"): publish and subscribe allowed
and denied on 5.0 and 3.1.1 (PUBACK/PUBREC 0x87 and SUBACK 0x87 on 5.0; acknowledged and
dropped, SUBACK 0x80 on 3.1.1), a denied publish reaches no subscriber and is not in the log
(`sluice log-dump`), %c and %u rules, a will the client may not publish is never published,
SIGHUP reloads the rules for live connections, and a TLS client certificate's name as the
user name (use_identity_as_username) meets a %u rule."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SLUICE_BIN, Broker  # noqa: E402
import mqtt_raw as raw  # noqa: E402
from auth_helpers import connect_packet, login, write_password_file  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MAKE_PKI = os.path.join(ROOT, "certs", "make-dev-pki.sh")
WAIT = 20.0
OK = (0x00, 0x10)  # success, or no matching subscribers

RULES = """# rules for test_acl.py
default deny
allow readwrite user=admin      #
allow readwrite user=alice      devices/alice/#
allow subscribe user=bob        devices/+/status
allow publish   user=bob        devices/bob/#
deny  readwrite all             public/secret/#
allow readwrite all             public/#
allow publish   client=sensor-* sensors/%c/data
allow readwrite user=*          home/%u/#
"""


def log_dump(data_dir, topic="mqtt"):
    out = subprocess.run([SLUICE_BIN, "log-dump", "--data-dir", data_dir, "--topic", topic],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("log-dump failed (%d): %s" % (out.returncode, out.stderr))
    return [json.loads(line) for line in out.stdout.splitlines() if line]


class AclTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sluice-acl-")
        cls.pwfile = os.path.join(cls.tmp, "passwd")
        write_password_file(cls.pwfile, {u: u + "-pw" for u in ("admin", "alice", "bob")})

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.aclfile = os.path.join(self.tmp, "acl-" + self._testMethodName)
        with open(self.aclfile, "w") as f:
            f.write(RULES)

    def broker(self, *args, **kw):
        return Broker("--password-file", self.pwfile, "--acl-file", self.aclfile, *args, **kw)

    def user(self, b, name, version=5, client_id=None, **kw):
        c, ack = login(b.mqtt_port, client_id or name + str(version), name, name + "-pw",
                       version, **kw)
        self.assertEqual(ack.rc, 0)
        return c

    def watcher(self, b):
        w = self.user(b, "admin", client_id="watcher")
        self.assertEqual(w.subscribe(1, [("#", 1)]).reasons, [1])
        return w

    def received_until(self, w, marker):
        """Topics of what `w` receives up to and including `marker`."""
        topics = []
        while True:
            p = w.read_until(raw.PUBLISH)
            if p.qos:
                w.send(raw.ack(raw.PUBACK, p.pid))
            topics.append(p.topic)
            if p.topic == marker:
                return topics

    # --- publish ------------------------------------------------------------------------------
    def test_publish_allowed_and_denied_on_both_versions_never_logged(self):
        data_dir = tempfile.mkdtemp(prefix="sluice-acl-data-")
        try:
            with self.broker(data_dir=data_dir) as b:
                w = self.watcher(b)
                # 5.0: 0x87 on PUBACK and PUBREC, QoS 0 dropped.
                c = self.user(b, "bob", 5)
                c.send(raw.publish("devices/bob/a", b"allowed-5", qos=1, pid=1))
                self.assertIn(c.expect(raw.PUBACK).rc, OK)
                c.send(raw.publish("devices/alice/a", b"denied-5-q1", qos=1, pid=2))
                p = c.expect(raw.PUBACK)
                self.assertEqual((p.pid, p.rc), (2, 0x87))
                c.send(raw.publish("devices/alice/b", b"denied-5-q2", qos=2, pid=3))
                p = c.expect(raw.PUBREC)
                self.assertEqual((p.pid, p.rc), (3, 0x87))
                c.send(raw.publish("devices/alice/c", b"denied-5-q0", qos=0))
                c.send(raw.publish("public/secret/x", b"denied-5-all", qos=1, pid=4))
                self.assertEqual(c.expect(raw.PUBACK).rc, 0x87)
                c.close()
                # 3.1.1 has no failure code: acknowledged (as Mosquitto does) and dropped.
                c = self.user(b, "bob", 4)
                c.send(raw.publish("devices/alice/d", b"denied-3-q1", qos=1, pid=5, version=4))
                self.assertEqual(c.expect(raw.PUBACK).pid, 5)
                c.send(raw.publish("devices/alice/e", b"denied-3-q2", qos=2, pid=6, version=4))
                self.assertEqual(c.expect(raw.PUBREC).pid, 6)
                c.send(raw.ack(raw.PUBREL, 6, version=4))
                self.assertEqual(c.expect(raw.PUBCOMP).pid, 6)
                c.send(raw.publish("devices/bob/z", b"allowed-3", qos=1, pid=7, version=4))
                self.assertEqual(c.expect(raw.PUBACK).pid, 7)
                c.close()
                topics = self.received_until(w, "devices/bob/z")
                self.assertEqual(topics, ["devices/bob/a", "devices/bob/z"])
                w.close()
                self.assertIsNotNone(
                    b.wait_line(lambda l: "publish to devices/alice/a denied by the ACL" in l,
                                WAIT), b.output())
            values = [r["value"] for r in log_dump(data_dir)]
            self.assertIn("allowed-5", values)
            self.assertIn("allowed-3", values)
            self.assertFalse([v for v in values if v.startswith("denied")], values)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)

    def test_client_id_and_user_name_substitution(self):
        with self.broker() as b:
            w = self.watcher(b)
            # %c: an anonymous sensor publishes under its own client id only.
            c, ack = login(b.mqtt_port, "sensor-9")
            self.assertEqual(ack.rc, 0)
            c.send(raw.publish("sensors/sensor-8/data", b"x", qos=1, pid=1))
            self.assertEqual(c.expect(raw.PUBACK).rc, 0x87)
            c.send(raw.publish("sensors/sensor-9/data", b"x", qos=1, pid=2))
            self.assertIn(c.expect(raw.PUBACK).rc, OK)
            c.close()
            # %u: any user under home/<own name>.
            c = self.user(b, "alice")
            c.send(raw.publish("home/bob/t", b"x", qos=1, pid=1))
            self.assertEqual(c.expect(raw.PUBACK).rc, 0x87)
            c.send(raw.publish("home/alice/t", b"x", qos=1, pid=2))
            self.assertIn(c.expect(raw.PUBACK).rc, OK)
            c.close()
            self.assertEqual(self.received_until(w, "home/alice/t"),
                             ["sensors/sensor-9/data", "home/alice/t"])
            w.close()

    # --- subscribe ----------------------------------------------------------------------------
    def test_subscribe_allowed_and_denied_on_both_versions(self):
        with self.broker() as b:
            subs = [("devices/+/status", 1), ("devices/alice/#", 1), ("public/#", 1),
                    ("public/news", 1), ("$share/g/devices/+/status", 0)]
            c = self.user(b, "bob", 5)
            self.assertEqual(c.subscribe(1, subs).reasons, [1, 0x87, 0x87, 1, 0])
            c.close()
            c = self.user(b, "bob", 4)
            c.send(raw.subscribe(1, subs, version=4))
            self.assertEqual(c.read_until(raw.SUBACK).reasons, [1, 0x80, 0x80, 1, 0])
            c.close()
            self.assertIsNotNone(
                b.wait_line(lambda l: "subscription to devices/alice/# denied by the ACL" in l,
                            WAIT), b.output())

    # --- wills --------------------------------------------------------------------------------
    def test_a_will_the_client_may_not_publish_is_not_published(self):
        # One io thread: the close of the first client (and any will it publishes) is handled
        # before the marker published after it.
        with self.broker("--threads", "1") as b:
            w = self.watcher(b)
            denied = self.user(b, "bob", client_id="will-denied",
                               will={"topic": "devices/alice/will", "payload": "no"})
            self.assertIsNotNone(
                b.wait_line(lambda l: "will to devices/alice/will denied by the ACL" in l,
                            WAIT), b.output())
            denied.send(raw.disconnect(0x04))  # "disconnect with will message"
            self.assertTrue(denied.closed())
            allowed = self.user(b, "bob", client_id="will-allowed",
                                will={"topic": "devices/bob/will", "payload": "yes"})
            allowed.send(raw.disconnect(0x04))
            self.assertTrue(allowed.closed())
            self.assertEqual(self.received_until(w, "devices/bob/will"), ["devices/bob/will"])
            w.close()

    # --- reload -------------------------------------------------------------------------------
    def test_sighup_reloads_the_rules_for_live_connections(self):
        with self.broker() as b:
            c = self.user(b, "bob")
            c.send(raw.publish("devices/alice/r", b"x", qos=1, pid=1))
            self.assertEqual(c.expect(raw.PUBACK).rc, 0x87)
            with open(self.aclfile, "w") as f:
                f.write("allow publish user=bob devices/#\n" + RULES)
            self.assertIsNotNone(b.sighup_line("reloaded ACL file", WAIT), b.output())
            c.send(raw.publish("devices/alice/r", b"x", qos=1, pid=2))
            self.assertIn(c.expect(raw.PUBACK).rc, OK)
            # Rules that do not parse leave the last good ones in force.
            with open(self.aclfile, "w") as f:
                f.write("allow nothing\n")
            self.assertIsNotNone(b.sighup_line("ACL file not reloaded", WAIT), b.output())
            c.send(raw.publish("devices/alice/r", b"x", qos=1, pid=3))
            self.assertIn(c.expect(raw.PUBACK).rc, OK)
            c.close()

    # --- TLS identity -------------------------------------------------------------------------
    def test_tls_certificate_name_is_the_user_name(self):
        pki_dir = os.path.join(self.tmp, "pki")
        subprocess.run(["bash", MAKE_PKI, pki_dir, "device-7"], check=True,
                       capture_output=True, timeout=120)
        pki = lambda name: os.path.join(pki_dir, name)  # noqa: E731
        cfg = ('{"listeners": {"mqtts": {"type": "tls", "address": "127.0.0.1:0",'
               ' "use_identity_as_username": true}}}')
        with self.broker("--tls-cert", pki("server.crt"), "--tls-key", pki("server.key"),
                         "--tls-ca", pki("ca.crt"), "--tls-client-auth", "required",
                         "--allow-anonymous", "false", config=cfg,
                         listeners=("mqtt", "mqtts")) as b:
            ctx = ssl.create_default_context(cafile=pki("ca.crt"))
            ctx.check_hostname = False
            ctx.load_cert_chain(pki("client.crt"), pki("client.key"))
            c = raw.RawClient.__new__(raw.RawClient)
            c.version, c.timeout, c.buf = 5, 10.0, bytearray()
            plain = socket.create_connection(("127.0.0.1", b.ports["mqtts"]), timeout=10)
            c.sock = ctx.wrap_socket(plain)
            # No user name, anonymous refused: the certificate is the login.
            c.send(connect_packet("tls-client", 5))
            self.assertEqual(c.expect(raw.CONNACK).rc, 0)
            c.send(raw.publish("home/device-7/t", b"x", qos=1, pid=1))
            self.assertIn(c.expect(raw.PUBACK).rc, OK)
            c.send(raw.publish("home/device-8/t", b"x", qos=1, pid=2))
            self.assertEqual(c.expect(raw.PUBACK).rc, 0x87)
            self.assertEqual(c.subscribe(3, [("home/device-7/#", 1), ("home/device-8/#", 1)])
                             .reasons, [1, 0x87])
            c.close()
            # The plain listener still wants a password.
            c, ack = login(b.mqtt_port, "plain", version=5)
            self.assertEqual(ack.rc, 0x87)
            c.close()


if __name__ == "__main__":
    unittest.main()
