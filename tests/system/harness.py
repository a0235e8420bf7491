"""Starts the real sluice binary on free loopback ports for a system test.

The broker is started with port 0 for every listener and prints one line per listener,
`listening <name> <host>:<port>`; the harness reads those lines, so no test guesses a port.
Nothing here sleeps to synchronise: every wait is for an event with a deadline.
"""
import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

SLUICE_BIN = os.environ.get("SLUICE_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin/sluice"))
START_TIMEOUT = 30.0


# The listeners sluice opens with no flags (docs/configuration.md, "Listeners").
DEFAULT_LISTENERS = ("mqtt", "kafka", "http")


class Broker:
    """A running sluice process. Use as a context manager, or call start()/stop()."""

    def __init__(self, *extra_args, data_dir=None, config=None, listeners=("mqtt",)):
        self.extra_args = list(extra_args)
        self.own_data_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="sluice-test-")
        self.config = config
        self.listeners = listeners
        self.ports = {}
        self.proc = None
        self.lines = []
        self._lines_q = queue.Queue()

    # --- lifecycle -------------------------------------------------------------------------
    def start(self):
        args = [SLUICE_BIN, "--data-dir", self.data_dir]
        if self.config is not None:
            path = os.path.join(self.data_dir, "test-config.json")
            with open(path, "w") as f:
                f.write(self.config)
            args += ["--config", path]
        for name in self.listeners:
            args += ["--" + name, "127.0.0.1:0"]
        # The Kafka and HTTP listeners open by default on fixed ports; tests run side by side,
        # so every default listener a test did not ask for gets a free port too.
        for name in DEFAULT_LISTENERS:
            if name not in self.listeners and "--" + name not in self.extra_args:
                args += ["--" + name, "127.0.0.1:0"]
        args += self.extra_args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while not all(n in self.ports for n in self.listeners):
            line = self.wait_line(lambda l: True, deadline - time.monotonic())
            if line is None:
                self.stop()
                raise RuntimeError("sluice did not report its listeners:\n" + self.output())
            parts = line.split()
            if len(parts) == 3 and parts[0] == "listening":
                host, port = parts[2].rsplit(":", 1)
                self.ports[parts[1]] = int(port)
        return self

    def _pump(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            self._lines_q.put(line)
        self._lines_q.put(None)

    def wait_line(self, pred, timeout):
        """Next output line (in order) that satisfies pred, or None at EOF or timeout."""
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                line = self._lines_q.get(timeout=remaining)
            except queue.Empty:
                return None
            if line is None:
                self._lines_q.put(None)
                return None
            if pred(line):
                return line

    # The line that ends every SIGHUP reload (broker/config_reload.cpp, reload_summary).
    RELOAD_SUMMARY = ("SIGHUP: reloaded", "SIGHUP: needs restart", "SIGHUP: nothing to reload")

    def sighup(self, timeout=20.0):
        """Sends SIGHUP and returns every line the broker printed for that reload, up to and
        including its summary line, which the broker prints last. Waiting through the summary
        leaves no line of this reload behind for the next wait: a test that waited only for,
        say, "reloaded password file" would find the summary of the same reload ("SIGHUP:
        reloaded password file, ...") at its next SIGHUP and go on before that one happened."""
        self.proc.send_signal(signal.SIGHUP)
        seen = []

        def summary(line):
            seen.append(line)
            return any(k in line for k in self.RELOAD_SUMMARY)
        if self.wait_line(summary, timeout) is None:
            raise AssertionError("no reload summary after SIGHUP:\n" + self.output())
        return seen

    def sighup_line(self, text, timeout=20.0):
        """SIGHUP, then the first line of that reload containing text, or None."""
        return next((l for l in self.sighup(timeout) if text in l), None)

    def output(self):
        return "\n".join(self.lines)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the broker and returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    def stop_checked(self):
        """Stops the broker with SIGTERM and raises unless it exited 0 with no sanitizer report.

        The test build has ASan and UBSan: a memory error, undefined behaviour or a leak found
        at exit makes the process exit non-zero, and that must fail the test that ran it."""
        code = self.stop()
        out = self.output()
        if code != 0 or "runtime error:" in out or "Sanitizer" in out:
            raise AssertionError("sluice did not stop cleanly (exit %s):\n%s" % (code, out))

    def cleanup(self):
        if self.own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                self.stop_checked()
            else:
                self.stop()
                print("---- sluice output ----\n" + self.output())
        finally:
            self.cleanup()
        return False

    # --- helpers -----------------------------------------------------------------------------
    @property
    def mqtt_port(self):
        return self.ports["mqtt"]

    def connect_raw(self, name="mqtt", timeout=10):
        s = socket.create_connection(("127.0.0.1", self.ports[name]), timeout=timeout)
        return s


class BrokerTestCase(unittest.TestCase):
    """One broker for all the tests of a class; the class fails if it does not stop cleanly.

    Subclasses set broker_args (extra flags), broker_config (a JSON text) and
    broker_listeners as needed."""
    broker_args = ()
    broker_config = None
    broker_listeners = ("mqtt",)

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(*cls.broker_args, config=cls.broker_config,
                            listeners=cls.broker_listeners).start()
        cls.port = cls.broker.mqtt_port

    @classmethod
    def tearDownClass(cls):
        try:
            cls.broker.stop_checked()
        finally:
            cls.broker.cleanup()


def run_cli(args, timeout=60, **kw):
    """Runs a command-line client and returns the CompletedProcess (text mode)."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
