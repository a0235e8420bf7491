"""Authentication of the admin API (docs/operations.md, "Authentication"): with a password
file, every /api/v1 request and the dashboard need HTTP Basic credentials of a user named in
the listener's admin_users (401 with WWW-Authenticate otherwise, 403 for another user) or the
bearer token of admin_token_file; /health, /ready and /metrics stay open; failed logins are
delayed by the login limiter; SIGHUP reloads the password file and the admin settings; with
no authentication the listener refuses a non-loopback address unless allow_anonymous_admin."""
import base64
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SLUICE_BIN, Broker, BrokerTestCase, run_cli  # noqa: E402
from auth_helpers import write_password_file  # noqa: E402
from test_http_api import Http  # noqa: E402

WAIT = 20.0


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}


def bearer(token):
    return {"Authorization": "Bearer " + token}


class AdminAuthTest(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sluice-admin-auth-")
        cls.pwfile = os.path.join(cls.tmp, "passwd")
        write_password_file(cls.pwfile, {"alice": "wonderland", "bob": "builder"})
        cls.token_file = os.path.join(cls.tmp, "token")
        with open(cls.token_file, "w") as f:
            f.write("s3cret-token-123\n")
        cls.config_path = os.path.join(cls.tmp, "sluice.json")
        cls.write_config(["alice"])
        cls.broker = Broker("--config", cls.config_path, "--log-level", "debug",
                            listeners=("mqtt", "http")).start()
        cls.http = Http(cls.broker.ports["http"])

    @classmethod
    def write_config(cls, admins):
        with open(cls.config_path, "w") as f:
            json.dump({"auth": {"password_file": cls.pwfile},
                       "listeners": {"http": {"admin_users": admins,
                                              "admin_token_file": cls.token_file}}}, f)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def status(self, path, headers=None, method="GET"):
        status, hdrs, text = self.http.request(method, path, headers=headers or {})
        return status, hdrs, text

    def test_probes_and_metrics_stay_open(self):
        for path in ("/health", "/ready", "/metrics"):
            self.assertEqual(self.status(path)[0], 200, path)

    def test_no_credentials_is_401_with_a_basic_challenge(self):
        for path in ("/api/v1/overview", "/api/v1/topics", "/api/v1/live", "/"):
            status, hdrs, text = self.status(path)
            self.assertEqual(status, 401, path)
            self.assertEqual(hdrs.get("WWW-Authenticate"), 'Basic realm="sluice"')
            self.assertIn("authentication required", json.loads(text)["error"])
        status, _, _ = self.status("/api/v1/topics/x", method="DELETE")
        self.assertEqual(status, 401)

    def test_admin_user_token_and_refusals(self):
        self.assertEqual(self.status("/api/v1/overview", basic("alice", "wonderland"))[0], 200)
        # Cached: the dashboard's polling gets the same answer.
        self.assertEqual(self.status("/api/v1/topics", basic("alice", "wonderland"))[0], 200)
        self.assertEqual(self.status("/", basic("alice", "wonderland"))[0], 200)
        status, _, text = self.status("/api/v1/overview", basic("bob", "builder"))
        self.assertEqual(status, 403)
        self.assertIn("admin_users", json.loads(text)["error"])
        self.assertEqual(self.status("/api/v1/overview", bearer("s3cret-token-123"))[0], 200)
        for bad in (bearer("s3cret-token-12"), bearer(""), {"Authorization": "Basic !!!"},
                    {"Authorization": "Digest x"}, basic("nobody", "x")):
            self.assertEqual(self.status("/api/v1/overview", bad)[0], 401, bad)

    def test_live_stream_with_credentials(self):
        import socket
        auth = basic("alice", "wonderland")["Authorization"]
        with socket.create_connection(("127.0.0.1", self.broker.ports["http"]), timeout=10) as s:
            s.sendall(("GET /api/v1/live HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n" % auth).encode())
            data = b""
            while b"data: " not in data:
                chunk = s.recv(4096)
                self.assertTrue(chunk, data)
                data += chunk
            self.assertIn(b"text/event-stream", data)

    def test_wrong_passwords_are_delayed(self):
        # Failures count in the failed-login limiter by address, as MQTT logins do: past five
        # the next request from the address is held before its check.
        for i in range(6):
            self.assertEqual(self.status("/api/v1/overview", basic("alice", "guess%d" % i))[0], 401)
        self.assertIsNotNone(self.broker.wait_line(
            lambda l: "admin API: delaying the request of 127.0.0.1" in l, WAIT), self.broker.output())
        # The right password still gets in (and clears the address).
        self.assertEqual(self.status("/api/v1/overview", basic("alice", "wonderland"))[0], 200)

    def reload(self):
        self.assertIsNotNone(self.broker.sighup_line("reloaded password file", WAIT),
                             self.broker.output())

    def test_sighup_reloads_the_password_file(self):
        self.assertEqual(self.status("/api/v1/overview", basic("alice", "wonderland"))[0], 200)
        write_password_file(self.pwfile, {"alice": "looking-glass", "bob": "builder"})
        try:
            self.reload()
            # The cached success of the old password died with the old file.
            self.assertEqual(self.status("/api/v1/overview", basic("alice", "wonderland"))[0], 401)
            self.assertEqual(self.status("/api/v1/overview", basic("alice", "looking-glass"))[0], 200)
        finally:
            write_password_file(self.pwfile, {"alice": "wonderland", "bob": "builder"})
            self.reload()
        self.assertEqual(self.status("/api/v1/overview", basic("alice", "wonderland"))[0], 200)


class AnonymousAdminTest(unittest.TestCase):
    def run_broker(self, config):
        data = tempfile.mkdtemp(prefix="sluice-test-")
        try:
            path = os.path.join(data, "c.json")
            with open(path, "w") as f:
                f.write(config)
            return run_cli([SLUICE_BIN, "--data-dir", data, "--config", path, "--mqtt",
                            "127.0.0.1:0", "--kafka", "127.0.0.1:0", "--http", "0.0.0.0:0"],
                           timeout=30)
        finally:
            shutil.rmtree(data, ignore_errors=True)

    def test_non_loopback_refused_without_authentication(self):
        r = self.run_broker("{}")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("listeners.http.allow_anonymous_admin", r.stderr)
        self.assertNotIn("listening", r.stdout)

    def test_token_file_problems_exit_2(self):
        r = self.run_broker('{"listeners": {"http": {"admin_token_file": "/nonexistent/token"}}}')
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("listeners.http.admin_token_file", r.stderr)
        r = self.run_broker('{"listeners": {"http": {"admin_users": ["x"]}}}')
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("admin_users", r.stderr)

    def test_allow_anonymous_admin_opens_it(self):
        config = '{"listeners": {"http": {"allow_anonymous_admin": true}}}'
        with Broker("--http", "0.0.0.0:0", config=config, listeners=("mqtt", "http")) as b:
            self.assertEqual(Http(b.ports["http"]).json("GET", "/api/v1/overview")["ready"], True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
