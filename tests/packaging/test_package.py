"""The Debian package: built with CPack from the test build directory, unpacked with
`dpkg-deb -x` into a scratch root, and the installed binary started on the installed config.

Run: SLUICE_BUILD_DIR=build/test /usr/bin/python3 tests/packaging/test_package.py
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
import harness  # noqa: E402

BUILD_DIR = os.environ.get("SLUICE_BUILD_DIR",
                           os.path.join(os.path.dirname(__file__), "../../build"))


class DebianPackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="sluice-pkg-")
        out = os.path.join(cls.work, "out")
        r = subprocess.run(["cpack", "-G", "DEB", "-B", out,
                            "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake")],
                           capture_output=True, text=True, timeout=240)
        if r.returncode != 0:
            raise AssertionError("cpack failed:\n" + r.stdout + r.stderr)
        debs = glob.glob(os.path.join(out, "sluice_*.deb"))
        if len(debs) != 1:
            raise AssertionError("expected one sluice_*.deb in %s: %s" % (out, os.listdir(out)))
        cls.deb = debs[0]
        cls.root = os.path.join(cls.work, "root")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True)
        cls.control = os.path.join(cls.work, "control")
        subprocess.run(["dpkg-deb", "-e", cls.deb, cls.control], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def test_files_where_debian_expects_them(self):
        for exe in ("/usr/bin/sluice", "/usr/bin/sluice-bench"):
            self.assertTrue(os.access(self.path(exe), os.X_OK), exe)
        self.assertTrue(os.path.isfile(self.path("/etc/sluice/sluice.json")))
        self.assertTrue(os.path.isdir(self.path("/var/lib/sluice")))
        self.assertTrue(os.path.isfile(self.path("/usr/share/doc/sluice/configuration.md")))
        unit = open(self.path("/lib/systemd/system/sluice.service")).read()
        self.assertIn("ExecStart=/usr/bin/sluice --config /etc/sluice/sluice.json", unit)
        self.assertIn("User=sluice", unit)
        self.assertIn("LimitNOFILE=", unit)

    def test_control_fields_and_maintainer_scripts(self):
        info = subprocess.run(["dpkg-deb", "-f", self.deb], capture_output=True, text=True,
                              check=True).stdout
        self.assertIn("Package: sluice", info)
        self.assertIn("adduser", info)
        conffiles = open(os.path.join(self.control, "conffiles")).read().split()
        self.assertEqual(conffiles, ["/etc/sluice/sluice.json"])
        for script in ("postinst", "prerm", "postrm"):
            p = os.path.join(self.control, script)
            self.assertTrue(os.access(p, os.X_OK), script)
            r = subprocess.run(["sh", "-n", p], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, script + ": " + r.stderr)

    def test_installed_binary_runs_on_the_installed_config(self):
        # The installed config names /var/lib/sluice and fixed loopback ports: the test moves
        # the data into its scratch root and every listener to a free port, nothing else.
        data = os.path.join(self.work, "data")
        harness.SLUICE_BIN = self.path("/usr/bin/sluice")
        b = harness.Broker("--config", self.path("/etc/sluice/sluice.json"), data_dir=data)
        with b:
            r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(b.mqtt_port),
                                "-q", "1", "-t", "pkg/hello", "-m", "installed"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
        dump = subprocess.run([self.path("/usr/bin/sluice"), "log-dump", "--data-dir", data,
                               "--topic", "mqtt"], capture_output=True, text=True, timeout=60)
        self.assertEqual(dump.returncode, 0, dump.stderr)
        self.assertIn("installed", dump.stdout)


if __name__ == "__main__":
    unittest.main()
