"""SIGHUP re-reads the config file (docs/operations.md, "Reloading the configuration"): a new
log level and new ingest rules take effect at once (a debug line appears; a publish lands in
the new rule's log topic, read back through the admin API); a changed listener, thread count
or MQTT limit is named in a warning as needing a restart; a file that no longer parses
changes nothing; the summary line says what was reloaded."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402
from clients import Paho  # noqa: E402
from test_http_api import Http  # noqa: E402

WAIT = 20.0


def settings(level, log_topic, extra_max_connections, threads=2):
    return {"log_level": level,
            "threads": threads,
            "listeners": {"extra": {"type": "tcp", "address": "127.0.0.1:0",
                                    "max_connections": extra_max_connections}},
            "ingest_rules": [{"filter": "reload/#", "log_topic": log_topic, "partitions": 1},
                             {"filter": "#", "log_topic": "mqtt", "partitions": 4}]}


class ConfigReloadTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker(config=json.dumps(settings("info", "first", 10)),
                             listeners=("mqtt", "http")).start()
        self.path = os.path.join(self.broker.data_dir, "test-config.json")
        self.http = Http(self.broker.ports["http"])

    def tearDown(self):
        try:
            self.broker.stop_checked()
        finally:
            self.broker.cleanup()

    def write(self, text):
        with open(self.path, "w") as f:
            f.write(text)

    def end_offset(self, topic):
        status, _, text = self.http.request("GET", "/api/v1/topics/" + topic)
        if status == 404:
            return None
        return sum(p["end_offset"] for p in json.loads(text)["partitions"])

    def publish(self, client_id):
        c = Paho(self.broker.mqtt_port, client_id, version=5)
        try:
            c.publish("reload/x", b"payload", qos=1)  # acknowledged once logged
        finally:
            c.stop()

    def sighup(self, expect):
        line = self.broker.sighup_line(expect, WAIT)
        self.assertIsNotNone(line, self.broker.output())
        return line

    def test_log_level_and_rules_reload_others_need_a_restart(self):
        self.publish("before")
        self.assertEqual(self.end_offset("first"), 1)
        self.assertIsNone(self.end_offset("second"))
        self.assertNotIn("client before connected", self.broker.output())

        self.write(json.dumps(settings("debug", "second", 20, threads=3)))
        summary = self.sighup("SIGHUP: reloaded")
        self.assertIn("reloaded log_level, ingest_rules", summary)
        self.assertIn("needs restart: threads, listeners.extra", summary)
        out = self.broker.output()
        self.assertIn("SIGHUP: listeners.extra changed in the config file; it takes effect at "
                      "the next restart", out)
        self.assertIn("SIGHUP: threads changed", out)

        # The debug level is on: a connection is logged.
        self.publish("after")
        self.assertIsNotNone(self.broker.wait_line(lambda l: "client after connected" in l, WAIT),
                             self.broker.output())
        # The new rule wrote the publish to its (new) topic; the old topic got nothing more.
        self.assertEqual(self.end_offset("second"), 1)
        self.assertEqual(self.end_offset("first"), 1)
        rules = self.http.json("GET", "/api/v1/rules")["ingest"]
        self.assertEqual(rules[0]["log_topic"], "second")
        cfg = self.http.json("GET", "/api/v1/config")
        self.assertEqual(cfg["log_level"], "debug")
        # Now that no rule writes it, the old topic may be deleted.
        self.http.json("DELETE", "/api/v1/topics/first")

    def test_a_file_that_does_not_parse_changes_nothing(self):
        self.write('{"log_level": "debug", "ingest_rules": [{"filter": "reload/#", '
                   '"log_topic": "second"}], "threads": "many"}')
        self.sighup("not reloaded")
        self.assertIn("SIGHUP: nothing to reload", self.broker.output())
        self.publish("unchanged")
        self.assertEqual(self.end_offset("first"), 1)
        self.assertIsNone(self.end_offset("second"))
        self.assertNotIn("client unchanged connected", self.broker.output())

    def test_a_rule_that_cannot_apply_keeps_the_old_rules(self):
        # "mqtt" exists with 4 partitions: a rule giving it 2 cannot be applied.
        bad = settings("info", "first", 10)
        bad["ingest_rules"][1]["partitions"] = 2
        self.write(json.dumps(bad))
        self.sighup("ingest_rules not reloaded")
        self.publish("still")
        self.assertEqual(self.end_offset("first"), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
