"""The web dashboard (docs/operations.md, "Dashboard"): headless Chromium loads `/` from a live
sluice under MQTT load; the test reads the rendered page through the DevTools protocol
(python3-websockets), checks its numbers against /api/v1, and saves a screenshot to
docs/dashboard.png (SLUICE_SCREENSHOT overrides the path)."""
import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import websockets

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402
from clients import Paho  # noqa: E402

SCREENSHOT = os.environ.get("SLUICE_SCREENSHOT",
                            os.path.join(os.path.dirname(__file__), "../../docs/dashboard.png"))
DEADLINE = 40.0


def get_json(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return json.loads(r.read())


def get_status(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


class Chromium:
    """Headless Chromium with its DevTools endpoint on a free port (read from its stderr)."""

    def __init__(self):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if exe is None:
            raise AssertionError("chromium (Debian package chromium) is needed")
        self.profile = tempfile.mkdtemp(prefix="sluice-chromium-")
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
             "--user-data-dir=" + self.profile, "--window-size=1400,1700", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.browser_ws = None
        deadline = time.monotonic() + 30
        for line in self.proc.stderr:
            if "DevTools listening on " in line:
                self.browser_ws = line.split("DevTools listening on ", 1)[1].strip()
                break
            if time.monotonic() > deadline:
                break
        if not self.browser_ws:
            self.close()
            raise AssertionError("chromium did not report its DevTools endpoint")
        # Drain stderr so chromium never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        self.port = int(self.browser_ws.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])

    def page_ws(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % self.port, timeout=10) as r:
            pages = [t for t in json.loads(r.read()) if t["type"] == "page"]
        return pages[0]["webSocketDebuggerUrl"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


class Cdp:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    async def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        await self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(await self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise AssertionError("%s: %s" % (method, msg["error"]))
                return msg["result"]

    async def eval(self, expr):
        r = await self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r["result"].get("value")

    async def wait(self, expr, what, timeout=DEADLINE):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.eval(expr):
                return
            await asyncio.sleep(0.1)
        raise AssertionError("timed out waiting for the dashboard: " + what)


class Load:
    """QoS 0 publishes in a loop until stopped (the dashboard's rates move)."""

    def __init__(self, port):
        self.pub = Paho(port, "dash-load", version=5)
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        i = 0
        while not self.stop_ev.is_set():
            self.pub.publish("dash/load/%d" % (i % 10), b"payload-%d" % i, qos=0, wait=False)
            i += 1
            if i % 20 == 0:
                self.stop_ev.wait(0.02)  # about 1,000 messages per second at most

    def stop(self):
        self.stop_ev.set()
        self.thread.join(10)
        self.pub.stop()


DOM_STATE = """JSON.stringify({
  connections: document.getElementById('stat-connections').textContent,
  online: document.getElementById('stat-sessions-online').textContent,
  offline: document.getElementById('stat-sessions-offline').textContent,
  retained: document.getElementById('stat-retained').textContent,
  subscriptions: document.getElementById('stat-subscriptions').textContent,
  inRate: document.getElementById('stat-in-rate').textContent,
  ready: document.getElementById('ready').textContent,
  topics: [...document.querySelectorAll('#topics tbody tr')].map(r => ({
      topic: r.dataset.topic, partition: Number(r.dataset.partition),
      end: Number(r.querySelector('.end-offset').textContent.replace(/,/g, ''))})),
  clients: [...document.querySelectorAll('#clients tbody tr')].map(r => r.dataset.client),
  charts: document.querySelectorAll('.uplot').length,
  groups: document.getElementById('groups').textContent,
})"""


class DashboardTest(unittest.TestCase):
    def test_dashboard_renders_live_numbers(self):
        with Broker(listeners=("mqtt", "http")) as b:
            http = b.ports["http"]
            # Fixed state the page must show: 2 retained messages, an offline session, and
            # four subscribers that stay connected.
            r = Paho(b.mqtt_port, "dash-retain", version=5)
            r.publish("dash/retained/a", b"1", qos=1, retain=True)
            r.publish("dash/retained/b", b"2", qos=1, retain=True)
            r.stop()
            off = Paho(b.mqtt_port, "dash-offline", version=4, clean=False)
            off.subscribe("dash/offline", qos=1)
            off.stop()
            subs = []
            for i in range(4):
                s = Paho(b.mqtt_port, "dash-sub-%d" % i, version=5 if i % 2 else 4)
                s.subscribe("dash/load/#", qos=0)
                subs.append(s)
            load = Load(b.mqtt_port)
            browser = Chromium()
            try:
                dom = asyncio.run(self.drive(browser, http))
                api = get_json(http, "/api/v1/overview")
                self.assertEqual(dom["ready"], "ready")
                self.assertEqual(int(dom["connections"]), api["connections"])
                self.assertEqual(int(dom["connections"]), 5)  # 4 subscribers + the load
                self.assertEqual(int(dom["online"]), api["sessions_online"])
                self.assertEqual(int(dom["offline"]), api["sessions_offline"])
                self.assertEqual(int(dom["offline"]), 1)
                self.assertEqual(int(dom["retained"]), api["retained"])
                self.assertEqual(int(dom["subscriptions"]), api["subscriptions"])
                self.assertGreater(int(dom["inRate"].replace(",", "")), 0)
                self.assertEqual(dom["charts"], 2)
                # Consumer groups: none yet, or "not available" when there is no group service.
                groups_status = get_status(http, "/api/v1/groups")
                self.assertIn("no consumer groups" if groups_status == 200 else "not available",
                              dom["groups"])
                # Topics with their partitions; end offsets only grow, so the page's are at
                # most what the API says now.
                rows = {(t["topic"], t["partition"]): t["end"] for t in dom["topics"]}
                for topic in get_json(http, "/api/v1/topics")["topics"]:
                    detail = get_json(http, "/api/v1/topics/" + topic["name"])
                    for p in detail["partitions"]:
                        self.assertIn((topic["name"], p["partition"]), rows)
                        self.assertLessEqual(rows[(topic["name"], p["partition"])], p["end_offset"])
                self.assertEqual(len([k for k in rows if k[0] == "mqtt"]), 4)
                self.assertEqual(sorted(dom["clients"]),
                                 sorted(c["client_id"] for c in
                                        get_json(http, "/api/v1/clients?limit=50")["clients"]))
            finally:
                browser.close()
                load.stop()
                for s in subs:
                    s.stop()

    async def drive(self, browser, http_port):
        async with websockets.connect(browser.page_ws(), max_size=None) as ws:
            cdp = Cdp(ws)
            await cdp.call("Page.enable")
            await cdp.call("Emulation.setDeviceMetricsOverride", width=1400, height=1700,
                           deviceScaleFactor=1, mobile=False)
            await cdp.call("Page.navigate", url="http://127.0.0.1:%d/" % http_port)
            # Loaded (topics, groups, clients) and at least five live events (rates and charts).
            await cdp.wait("document.body && document.body.dataset.loaded === '1' && "
                           "Number(document.body.dataset.live || 0) >= 5 && "
                           "document.getElementById('stat-in-rate').textContent !== '0'",
                           "loaded with live data")
            # Let the client lookup show one client, as an operator would.
            await cdp.eval("document.getElementById('lookup-id').value = 'dash-sub-1';"
                           "document.getElementById('lookup').requestSubmit(); true")
            await cdp.wait("document.querySelector('#client-detail tr[data-client=\"dash-sub-1\"]') !== null",
                           "client lookup")
            shot = await cdp.call("Page.captureScreenshot", format="png")
            os.makedirs(os.path.dirname(os.path.abspath(SCREENSHOT)), exist_ok=True)
            with open(SCREENSHOT, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            # The numbers are read after the API is, in one event-loop turn of the page.
            return json.loads(await cdp.eval(DOM_STATE))


if __name__ == "__main__":
    unittest.main(verbosity=2)
