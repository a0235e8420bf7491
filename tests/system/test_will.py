"""Will messages: sent on abnormal close with their properties, not on normal DISCONNECT,
sent on DISCONNECT 0x04, delayed by the will delay and cancelled by a reconnect."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BrokerTestCase  # noqa: E402
import mqtt_raw as raw  # noqa: E402
from mqtt_raw import P_CONTENT_TYPE, P_USER_PROPERTY, P_WILL_DELAY, P_SESSION_EXPIRY  # noqa: E402


class WillTest(BrokerTestCase):

    def watcher(self, name, topic):
        w = raw.connected(self.port, name)
        w.subscribe(1, [(topic, 1)])
        return w

    def marker(self, topic):
        p = raw.connected(self.port, "marker-pub")
        p.send(raw.publish(topic, b"marker", qos=1, pid=1))
        p.expect(raw.PUBACK)
        p.close()

    def test_will_on_abnormal_close_with_properties(self):
        w = self.watcher("w1", "will/abnormal")
        c = raw.connected(self.port, "dies", will={
            "topic": "will/abnormal", "payload": b"gone", "qos": 1,
            "props": [(P_CONTENT_TYPE, "text/plain"), (P_USER_PROPERTY, ("k", "v"))]})
        c.close()
        got = w.read_until(raw.PUBLISH)
        self.assertEqual((got.topic, got.payload), ("will/abnormal", b"gone"))
        self.assertEqual(got.props[P_CONTENT_TYPE], "text/plain")
        self.assertEqual(got.props[P_USER_PROPERTY], [("k", "v")])
        w.close()

    def test_will_on_abnormal_close_v311(self):
        w = self.watcher("w-311", "will/v311")
        c = raw.connected(self.port, "dies-311", version=4,
                          will={"topic": "will/v311", "payload": b"gone311"})
        c.close()
        self.assertEqual(w.read_until(raw.PUBLISH).payload, b"gone311")
        w.close()

    def test_no_will_on_normal_disconnect(self):
        w = self.watcher("w2", "will/normal")
        c = raw.connected(self.port, "polite", will={"topic": "will/normal", "payload": b"will"})
        c.send(raw.disconnect(0))
        self.assertTrue(c.closed())
        self.marker("will/normal")
        self.assertEqual(w.read_until(raw.PUBLISH).payload, b"marker")
        w.close()

    def test_will_on_disconnect_with_will_message(self):
        w = self.watcher("w3", "will/04")
        c = raw.connected(self.port, "asks", will={"topic": "will/04", "payload": b"asked"})
        c.send(raw.disconnect(0x04))
        self.assertEqual(w.read_until(raw.PUBLISH).payload, b"asked")
        w.close()

    def test_will_delay_and_cancel_by_reconnect(self):
        w = self.watcher("w4", "will/delay/#")
        session = [(P_SESSION_EXPIRY, 300)]
        cancelled = raw.connected(self.port, "comes-back", plist=session, will={
            "topic": "will/delay/cancelled", "payload": b"must not", "props": [(P_WILL_DELAY, 1)]})
        cancelled.close()
        back = raw.RawClient(self.port)
        # Reconnecting within the delay cancels the will (the session is resumed).
        self.assertEqual(back.connect("comes-back", clean=False, plist=session).rc, 0)
        control = raw.connected(self.port, "stays-away", plist=session, will={
            "topic": "will/delay/control", "payload": b"delayed", "props": [(P_WILL_DELAY, 1)]})
        control.close()
        # The control will is delayed, not immediate: the marker published now comes first.
        self.marker("will/delay/marker")
        self.assertEqual(w.read_until(raw.PUBLISH).topic, "will/delay/marker")
        # The cancelled will would have fired before the control one.
        self.assertEqual(w.read_until(raw.PUBLISH).topic, "will/delay/control")
        back.close()
        w.close()

    def test_will_on_takeover(self):
        w = self.watcher("w5", "will/takeover/#")
        session = [(P_SESSION_EXPIRY, 300)]
        # Taken over by a clean start: the old session ends, its will goes out.
        old = raw.connected(self.port, "taken", plist=session,
                            will={"topic": "will/takeover/clean", "payload": b"ended"})
        new = raw.connected(self.port, "taken", clean=True)
        self.assertEqual(old.read_until(raw.DISCONNECT).rc, 0x8E)
        self.assertEqual(w.read_until(raw.PUBLISH).topic, "will/takeover/clean")
        new.close()
        # Taken over by a resume while the will waits for its delay: it is never sent.
        old = raw.connected(self.port, "resumed", plist=session, will={
            "topic": "will/takeover/resumed", "payload": b"no", "props": [(P_WILL_DELAY, 1)]})
        new = raw.RawClient(self.port)
        self.assertTrue(new.connect("resumed", clean=False, plist=session).session_present)
        self.assertEqual(old.read_until(raw.DISCONNECT).rc, 0x8E)
        control = raw.connected(self.port, "control-5", plist=session, will={
            "topic": "will/takeover/control", "payload": b"c", "props": [(P_WILL_DELAY, 1)]})
        control.close()
        self.assertEqual(w.read_until(raw.PUBLISH).topic, "will/takeover/control")
        new.close()
        w.close()


if __name__ == "__main__":
    unittest.main()
