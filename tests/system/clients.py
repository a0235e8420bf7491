"""paho-mqtt clients with event-based waits for the system tests (no sleeps)."""
import queue
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

WAIT = 10.0


class Paho:
    """A connected paho client that queues every message it receives."""

    def __init__(self, port, client_id="", version=5, clean=True, properties=None, will=None,
                 keepalive=60, connect=True, transport="tcp"):
        # transport "websockets": MQTT over WebSocket (path /mqtt, subprotocol mqtt).
        proto = {5: mqtt.MQTTv5, 4: mqtt.MQTTv311, 3: mqtt.MQTTv31}[version]
        if version == 5:
            self.c = mqtt.Client(client_id=client_id, protocol=proto, transport=transport)
        else:
            self.c = mqtt.Client(client_id=client_id, protocol=proto, clean_session=clean,
                                 transport=transport)
        self.version = version
        self.port = port
        self.clean = clean
        self.keepalive = keepalive
        self.properties = properties
        self.messages = queue.Queue()
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.connack = None
        self.disconnect_rc = None
        self.acks = {}
        self.ack_events = {}
        self.lock = threading.Lock()
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = self._on_disconnect
        self.c.on_subscribe = self._on_subscribe
        self.c.on_publish = self._on_publish
        self.c.on_unsubscribe = self._on_unsubscribe
        if will:
            self.c.will_set(**will)
        if connect:
            self.connect()

    def _on_connect(self, c, u, flags, rc, properties=None):
        self.connack = (flags, rc, properties)
        self.connected.set()

    def _on_disconnect(self, c, u, rc, properties=None):
        self.disconnect_rc = rc
        self.disconnected.set()

    def _ack(self, mid, value):
        with self.lock:
            self.acks[mid] = value
            ev = self.ack_events.setdefault(mid, threading.Event())
        ev.set()

    def _on_subscribe(self, c, u, mid, granted, properties=None):
        self._ack(mid, granted)

    def _on_unsubscribe(self, c, u, mid, *rest):
        self._ack(mid, rest)

    def _on_publish(self, c, u, mid):
        self._ack(mid, True)

    def wait_ack(self, mid, timeout=WAIT):
        with self.lock:
            ev = self.ack_events.setdefault(mid, threading.Event())
        if not ev.wait(timeout):
            raise AssertionError("no acknowledgement for mid %d" % mid)
        return self.acks[mid]

    def connect(self):
        kw = {}
        if self.version == 5:
            kw["clean_start"] = self.clean
            if self.properties is not None:
                kw["properties"] = self.properties
        self.c.connect("127.0.0.1", self.port, keepalive=self.keepalive, **kw)
        self.c.loop_start()
        if not self.connected.wait(WAIT):
            raise AssertionError("no CONNACK")
        return self.connack

    def subscribe(self, topic, qos=0, options=None, properties=None):
        if self.version == 5:
            opts = options or mqtt.SubscribeOptions(qos=qos)
            rc, mid = self.c.subscribe(topic, options=opts, properties=properties)
        else:
            rc, mid = self.c.subscribe(topic, qos)
        assert rc == mqtt.MQTT_ERR_SUCCESS
        return self.wait_ack(mid)

    def unsubscribe(self, topic):
        rc, mid = self.c.unsubscribe(topic)
        return self.wait_ack(mid)

    def publish(self, topic, payload, qos=0, retain=False, properties=None, wait=True):
        info = self.c.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if wait and qos > 0:
            self.wait_ack(info.mid)
        elif wait:
            info.wait_for_publish(WAIT)
        return info

    def get(self, timeout=WAIT):
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no message within %.0f s" % timeout)

    def stop(self):
        try:
            self.c.disconnect()
        finally:
            self.c.loop_stop()


def props(packet_type, **kw):
    p = Properties(getattr(PacketTypes, packet_type))
    for k, v in kw.items():
        setattr(p, k, v)
    return p


class MosquittoSub:
    """mosquitto_sub in debug mode: start() returns once its SUBACK arrived, so a test can
    publish knowing the subscription exists."""

    def __init__(self, port, topic, version="5", qos=0, count=1, extra=()):
        import subprocess
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", "mosquitto_sub", "-d", "-h", "127.0.0.1", "-V", version, "-p", str(port), "-t", topic, "-q", str(qos),
             "-C", str(count), "-v", "-W", "20"] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if "received SUBACK" in line:
                return
        raise AssertionError("mosquitto_sub never subscribed:\n" + "\n".join(self.lines))

    def messages(self, timeout=WAIT * 2):
        # Read through the same buffered stream the constructor used (communicate() with a
        # timeout would bypass its buffer); mosquitto_sub's own -W bounds the wait.
        out = self.proc.stdout.read()
        self.proc.wait(timeout)
        self.proc.stdout.close()
        lines = self.lines = self.lines + out.splitlines()
        return [l for l in lines if not l.startswith("Client ") and not l.startswith("Subscribed")
                and "received SUBACK" not in l and l.strip()]

    def received_qos(self):
        """The QoS of each PUBLISH mosquitto_sub received (from its debug lines)."""
        import re
        return [int(m.group(1)) for l in self.lines for m in [re.search(r"received PUBLISH \(d\d, q(\d)", l)] if m]
