"""Authentication with real clients (docs/security.md): `sluice passwd` makes and changes users
who then connect; mosquitto_pub, paho and a raw client with good and bad passwords on 5.0 and
3.1.1 (CONNACK 0x86 / 4, 0x87 / 5); the anonymous policy (allowed on loopback by default,
refused on a listener that is not, or by config and flag); the failed-login limiter; SIGHUP
reloading the password file; SCRAM-SHA-256 enhanced authentication with a client written here
(good and bad proof, an unknown method, re-authentication); bad flags and files exit 2."""
import os
import shutil
import stat
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SLUICE_BIN, Broker, run_cli  # noqa: E402
from clients import Paho  # noqa: E402
import mqtt_raw as raw  # noqa: E402
from auth_helpers import (BAD_CREDENTIALS_3, BAD_CREDENTIALS_5, BAD_METHOD_5,  # noqa: E402
                          NOT_AUTHORIZED_3, NOT_AUTHORIZED_5, ScramClient, auth_packet,
                          connect_packet, login, parse_auth, passwd, prop, P_AUTH_DATA,
                          write_password_file)

WAIT = 20.0


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Cheap hashes for the class; test_passwd_... makes real ones with `sluice passwd`.
        cls.tmp = tempfile.mkdtemp(prefix="sluice-auth-")
        cls.pwfile = os.path.join(cls.tmp, "passwd")
        write_password_file(cls.pwfile, {"alice": "wonderland", "bob": "builder"})

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def broker(self, *args, **kw):
        return Broker("--password-file", self.pwfile, *args, **kw)

    # --- sluice passwd ----------------------------------------------------------------------
    def test_passwd_creates_and_changes_a_user_who_then_connects(self):
        path = os.path.join(self.tmp, "own-passwd")
        r = passwd(path, "carol", "first-secret")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with Broker("--password-file", path, "--log-level", "info") as b:
            pub = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(b.mqtt_port), "-t", "t/a",
                   "-m", "x", "-q", "1", "-u", "carol"]
            r = run_cli(pub + ["-P", "first-secret", "-V", "5"])
            self.assertEqual(r.returncode, 0, r.stderr)
            # A new password, then SIGHUP: the old one stops working, the new one works.
            r = passwd(path, "carol", "second-secret")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIsNotNone(b.sighup_line("reloaded password file", WAIT), b.output())
            c, ack = login(b.mqtt_port, "c1", "carol", "first-secret")
            self.assertEqual(ack.rc, BAD_CREDENTIALS_5)
            c.close()
            r = run_cli(pub + ["-P", "second-secret", "-V", "311"])
            self.assertEqual(r.returncode, 0, r.stderr)
            # A file that no longer loads keeps the users the broker has.
            with open(path, "a") as f:
                f.write("not a valid line\n")
            self.assertIsNotNone(b.sighup_line("password file not reloaded", WAIT), b.output())
            r = run_cli(pub + ["-P", "second-secret", "-V", "5"])
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_passwd_usage_and_bad_password_errors(self):
        r = run_cli([SLUICE_BIN, "passwd"])
        self.assertEqual(r.returncode, 2)
        r = passwd(os.path.join(self.tmp, "x"), "dave", "")
        self.assertEqual(r.returncode, 1)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x")))

    # --- user name and password -------------------------------------------------------------
    def test_good_and_bad_passwords_with_raw_clients_on_both_versions(self):
        with self.broker() as b:
            for version, bad, ok in ((5, BAD_CREDENTIALS_5, 0), (4, BAD_CREDENTIALS_3, 0)):
                c, ack = login(b.mqtt_port, "ok%d" % version, "alice", "wonderland", version)
                self.assertEqual(ack.rc, ok)
                c.close()
                for user, pw in (("alice", "wrong"), ("nobody", "wonderland"), ("alice", None)):
                    c, ack = login(b.mqtt_port, "bad%d" % version, user, pw, version)
                    self.assertEqual(ack.rc, bad, (version, user, pw))
                    self.assertTrue(c.closed())
            self.assertIsNotNone(
                b.wait_line(lambda l: "login refused for client 'bad5' from 127.0.0.1" in l
                            and "bad user name or password" in l, WAIT), b.output())

    def test_mosquitto_and_paho_clients_with_passwords(self):
        with self.broker() as b:
            base = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(b.mqtt_port), "-t", "t/m",
                    "-m", "x", "-q", "1"]
            # The good logins first: failures count towards the login limiter's delay.
            for v in ("5", "311"):
                r = run_cli(base + ["-V", v, "-u", "bob", "-P", "builder"])
                self.assertEqual(r.returncode, 0, r.stderr)
            for version in (5, 4):
                good = Paho(b.mqtt_port, client_id="paho-good%d" % version, version=version,
                            connect=False)
                good.c.username_pw_set("alice", "wonderland")
                good.connect()
                good.subscribe("t/p", qos=1)
                good.publish("t/p", b"hello", qos=1)
                self.assertEqual(good.get().payload, b"hello")
                good.stop()
            for v in ("5", "311"):
                r = run_cli(base + ["-V", v, "-u", "bob", "-P", "nope"])
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("bad user name or password", (r.stderr + r.stdout).lower())
            for version, bad in ((5, BAD_CREDENTIALS_5), (4, BAD_CREDENTIALS_3)):
                bad_client = Paho(b.mqtt_port, client_id="paho-bad%d" % version,
                                  version=version, connect=False)
                bad_client.c.username_pw_set("alice", "nope")
                rc = bad_client.connect()[1]  # paho reports a refusal through on_connect
                bad_client.stop()
                self.assertEqual(getattr(rc, "value", rc), bad)

    # --- anonymous clients ------------------------------------------------------------------
    def test_anonymous_allowed_on_loopback_by_default(self):
        with self.broker() as b:
            for version in (5, 4):
                c, ack = login(b.mqtt_port, "anon%d" % version, version=version)
                self.assertEqual(ack.rc, 0)
                c.close()

    def test_anonymous_refused_on_a_listener_that_is_not_loopback(self):
        # 0.0.0.0 is reachable from other hosts: no anonymous clients unless the config says so.
        with self.broker("--mqtt", "0.0.0.0:0") as b:
            for version, code in ((5, NOT_AUTHORIZED_5), (4, NOT_AUTHORIZED_3)):
                c, ack = login(b.mqtt_port, "anon%d" % version, version=version)
                self.assertEqual(ack.rc, code)
                c.close()
                c, ack = login(b.mqtt_port, "named%d" % version, "alice", "wonderland", version)
                self.assertEqual(ack.rc, 0)
                c.close()
            self.assertIsNotNone(
                b.wait_line(lambda l: "anonymous clients are not allowed" in l, WAIT))
        cfg = '{"listeners": {"mqtt": {"address": "0.0.0.0:0", "allow_anonymous": true}}}'
        with Broker(config=cfg) as b:
            c, ack = login(b.mqtt_port, "anon", version=5)
            self.assertEqual(ack.rc, 0)
            c.close()

    def test_anonymous_refused_by_config_and_flag_on_loopback(self):
        cfg = '{"listeners": {"mqtt": {"allow_anonymous": false}}}'
        for broker in (self.broker(config=cfg), self.broker("--allow-anonymous", "false")):
            with broker as b:
                c, ack = login(b.mqtt_port, "anon", version=5)
                self.assertEqual(ack.rc, NOT_AUTHORIZED_5)
                c.close()
                # mosquitto_sub without credentials is refused as well.
                r = run_cli(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(b.mqtt_port),
                             "-t", "x", "-C", "1", "-W", "5", "-V", "311"])
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("not authori", (r.stderr + r.stdout).lower())

    # --- failed-login limiter ---------------------------------------------------------------
    def test_repeated_failures_from_one_address_are_delayed(self):
        with self.broker("--log-level", "debug") as b:
            for i in range(6):
                c, ack = login(b.mqtt_port, "guess%d" % i, "alice", "guess%d" % i)
                self.assertEqual(ack.rc, BAD_CREDENTIALS_5)
                c.close()
            # The sixth attempt waited on a timer before it was checked; the io thread went on
            # serving meanwhile (the right password still gets in once the delay is over).
            self.assertIsNotNone(b.wait_line(lambda l: "delaying the login of 127.0.0.1" in l,
                                             WAIT), b.output())
            c, ack = login(b.mqtt_port, "finally", "alice", "wonderland")
            self.assertEqual(ack.rc, 0)
            c.close()

    # --- SCRAM-SHA-256 ----------------------------------------------------------------------
    def scram_connect(self, port, user, password, proof_ok=True, client_id="scram"):
        s = ScramClient(user, password)
        c = raw.RawClient(port, 5)
        c.send(connect_packet(client_id, 5, plist=[(raw.P_AUTH_METHOD, "SCRAM-SHA-256"),
                                                   (P_AUTH_DATA, s.client_first())]))
        p = c.expect(raw.AUTH)
        rc, props = parse_auth(p)
        self.assertEqual(rc, 0x18)
        self.assertEqual(prop(props, raw.P_AUTH_METHOD), "SCRAM-SHA-256")
        c.send(auth_packet(0x18, "SCRAM-SHA-256", s.client_final(prop(props, P_AUTH_DATA),
                                                                 proof_ok)))
        return s, c, c.expect(raw.CONNACK)

    def test_scram_good_and_bad_proof(self):
        with self.broker() as b:
            s, c, ack = self.scram_connect(b.mqtt_port, "alice", "wonderland")
            self.assertEqual(ack.rc, 0)
            self.assertEqual(prop(ack.props, raw.P_AUTH_METHOD), "SCRAM-SHA-256")
            self.assertTrue(s.verify_server_final(prop(ack.props, P_AUTH_DATA)))
            c.send(raw.PINGREQ_BYTES)
            c.expect(raw.PINGRESP)
            c.close()
            for user, pw, ok in (("alice", "wonderland", False), ("alice", "wrong", True),
                                 ("nobody", "x", True)):
                s, c, ack = self.scram_connect(b.mqtt_port, user, pw, proof_ok=ok)
                self.assertEqual(ack.rc, BAD_CREDENTIALS_5, (user, pw, ok))
                self.assertTrue(c.closed())

    def test_scram_unknown_method_and_packets_out_of_turn(self):
        with self.broker() as b:
            c = raw.RawClient(b.mqtt_port, 5)
            c.send(connect_packet("m", 5, plist=[(raw.P_AUTH_METHOD, "SCRAM-SHA-1")]))
            self.assertEqual(c.expect(raw.CONNACK).rc, BAD_METHOD_5)
            c.close()
            # Before the CONNACK a SCRAM client may send only AUTH or DISCONNECT.
            s = ScramClient("alice", "wonderland")
            c = raw.RawClient(b.mqtt_port, 5)
            c.send(connect_packet("m", 5, plist=[(raw.P_AUTH_METHOD, "SCRAM-SHA-256"),
                                                 (P_AUTH_DATA, s.client_first())]))
            c.expect(raw.AUTH)
            c.send(raw.PINGREQ_BYTES)
            self.assertEqual(c.expect(raw.CONNACK).rc, 0x82)
            c.close()
        # Without a password file there is no enhanced authentication to offer.
        with Broker() as b:
            c = raw.RawClient(b.mqtt_port, 5)
            c.send(connect_packet("m", 5, plist=[(raw.P_AUTH_METHOD, "SCRAM-SHA-256"),
                                                 (P_AUTH_DATA, b"n,,n=alice,r=abc")]))
            self.assertEqual(c.expect(raw.CONNACK).rc, BAD_METHOD_5)
            c.close()

    def test_scram_reauthentication(self):
        with self.broker() as b:
            _, c, ack = self.scram_connect(b.mqtt_port, "bob", "builder")
            self.assertEqual(ack.rc, 0)
            for _ in range(2):
                s = ScramClient("bob", "builder")
                c.send(auth_packet(0x19, "SCRAM-SHA-256", s.client_first()))
                rc, props = parse_auth(c.expect(raw.AUTH))
                self.assertEqual(rc, 0x18)
                c.send(auth_packet(0x18, "SCRAM-SHA-256", s.client_final(prop(props, P_AUTH_DATA))))
                rc, props = parse_auth(c.expect(raw.AUTH))
                self.assertEqual(rc, 0x00)
                self.assertTrue(s.verify_server_final(prop(props, P_AUTH_DATA)))
            c.send(raw.PINGREQ_BYTES)
            c.expect(raw.PINGRESP)
            # A wrong proof ends the connection with DISCONNECT 0x87.
            s = ScramClient("bob", "builder")
            c.send(auth_packet(0x19, "SCRAM-SHA-256", s.client_first()))
            rc, props = parse_auth(c.expect(raw.AUTH))
            c.send(auth_packet(0x18, "SCRAM-SHA-256",
                               s.client_final(prop(props, P_AUTH_DATA), proof_ok=False)))
            self.assertEqual(c.expect(raw.DISCONNECT).rc, NOT_AUTHORIZED_5)
            self.assertTrue(c.closed())
            # AUTH on a connection that did not choose a method is a protocol error.
            c, ack = login(b.mqtt_port, "plain", "alice", "wonderland")
            self.assertEqual(ack.rc, 0)
            c.send(auth_packet(0x19, "SCRAM-SHA-256", ScramClient("alice", "x").client_first()))
            self.assertEqual(c.expect(raw.DISCONNECT).rc, 0x82)
            c.close()

    # --- bad configuration ------------------------------------------------------------------
    def test_bad_flags_and_files_exit_2_naming_them(self):
        def start(*args):
            return run_cli([SLUICE_BIN, "--data-dir", os.path.join(self.tmp, "d"),
                            "--mqtt", "127.0.0.1:0", "--kafka", "127.0.0.1:0",
                            "--http", "127.0.0.1:0"] + list(args), timeout=30)
        r = start("--allow-anonymous", "maybe")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--allow-anonymous", r.stderr)
        r = start("--password-file", os.path.join(self.tmp, "missing"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("--password-file", r.stderr)
        bad = os.path.join(self.tmp, "bad-acl")
        with open(bad, "w") as f:
            f.write("allow everything\n")
        r = start("--acl-file", bad)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--acl-file", r.stderr)
        self.assertIn("bad-acl:1", r.stderr)
        cfg = os.path.join(self.tmp, "cfg.json")
        with open(cfg, "w") as f:
            f.write('{"listeners": {"mqtt": {"use_identity_as_username": true}}}')
        r = start("--config", cfg)
        self.assertEqual(r.returncode, 2)
        self.assertIn("listeners.mqtt.use_identity_as_username", r.stderr)
        with open(cfg, "w") as f:
            f.write('{"auth": {"password_file": 7}}')
        r = start("--config", cfg)
        self.assertEqual(r.returncode, 2)
        self.assertIn("auth.password_file", r.stderr)


if __name__ == "__main__":
    unittest.main()
