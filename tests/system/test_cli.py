"""The sluice binary's command line: --help, --version, bad flags and config values, port 0."""
import os
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SLUICE_BIN, Broker, run_cli  # noqa: E402


class CliTest(unittest.TestCase):
    def test_help_documents_every_flag(self):
        r = run_cli([SLUICE_BIN, "--help"])
        self.assertEqual(r.returncode, 0)
        for flag in ("--config", "--data-dir", "--mqtt", "--kafka", "--http", "--log-level",
                     "--threads", "--sys-interval", "--help", "--version"):
            self.assertIn(flag, r.stdout)

    def test_version(self):
        r = run_cli([SLUICE_BIN, "--version"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.strip(), r"^sluice \d+\.\d+\.\d+$")

    def test_unknown_flag_is_named(self):
        r = run_cli([SLUICE_BIN, "--no-such-flag"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--no-such-flag", r.stderr)

    def test_bad_port_is_named(self):
        r = run_cli([SLUICE_BIN, "--mqtt", "127.0.0.1:70000"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--mqtt", r.stderr)

    def test_bad_log_level_is_named(self):
        r = run_cli([SLUICE_BIN, "--log-level", "loud"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--log-level", r.stderr)

    def test_bad_config_values_are_named(self):
        cases = {
            '{"mqtt": {"no_such_key": 1}}': "mqtt.no_such_key",
            '{"threads": "many"}': "threads",
            '{"listeners": {"mqtt": "localhost:123456"}}': "listeners.mqtt",
            '{"mqtt": {"receive_maximum": 0}}': "mqtt.receive_maximum",
            '{"bogus": true}': "bogus",
        }
        for text, key in cases.items():
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                f.write(text)
            try:
                r = run_cli([SLUICE_BIN, "--config", f.name, "--mqtt", "127.0.0.1:0",
                             "--kafka", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            finally:
                os.unlink(f.name)
            self.assertEqual(r.returncode, 2, text)
            self.assertIn(key, r.stderr, text)

    def test_config_with_comments_and_port_zero(self):
        config = """{
          // comments are allowed
          "log_level": "debug", /* block comments too */
          "threads": 2,
          "listeners": {"mqtt": "127.0.0.1:0"}
        }"""
        with Broker(config=config, listeners=()) as b:
            line = b.wait_line(lambda l: l.startswith("listening mqtt "), 30)
            self.assertIsNotNone(line, b.output())
            host, port = line.split()[2].rsplit(":", 1)
            self.assertEqual(host, "127.0.0.1")
            self.assertGreater(int(port), 0)
            s = __import__("socket").create_connection(("127.0.0.1", int(port)), timeout=10)
            s.close()

    def test_port_zero_lines_and_clean_stop(self):
        b = Broker(listeners=("mqtt",))
        b.start()
        try:
            self.assertGreater(b.mqtt_port, 0)
            self.assertTrue(any(l == "listening mqtt 127.0.0.1:%d" % b.mqtt_port for l in b.lines))
            # The Kafka listener opens by default too (the harness gives it a free port).
            self.assertIsNotNone(b.wait_line(lambda l: l.startswith("listening kafka 127.0.0.1:"),
                                             30), b.output())
        finally:
            self.assertEqual(b.stop(signal.SIGINT), 0)
            b.cleanup()
        b = Broker()
        b.start()
        self.assertEqual(b.stop(signal.SIGTERM), 0)
        b.cleanup()


    def test_shutdown_disconnects_clients(self):
        sys.path.insert(0, os.path.dirname(__file__))
        import mqtt_raw as raw
        b = Broker()
        b.start()
        try:
            c5 = raw.connected(b.mqtt_port, "bye-5")
            c4 = raw.connected(b.mqtt_port, "bye-4", version=4)
            b.proc.send_signal(signal.SIGTERM)
            self.assertEqual(c5.read_until(raw.DISCONNECT).rc, 0x8B)  # server shutting down
            self.assertTrue(c4.closed())
            self.assertEqual(b.proc.wait(30), 0)
        finally:
            b.stop()
            b.cleanup()


if __name__ == "__main__":
    unittest.main()
