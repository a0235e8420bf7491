"""A minimal MQTT 3.1.1/5.0 client over a raw socket, for tests that need exact bytes: reason
codes, flags (DUP), properties, malformed input and flow control that real clients hide.
Every read has a deadline; nothing sleeps."""
import socket
import struct
import time

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = range(8, 16)

# Property ids and their wire types (MQTT 5.0 2.2.2.2).
P_PAYLOAD_FORMAT, P_MESSAGE_EXPIRY, P_CONTENT_TYPE = 0x01, 0x02, 0x03
P_RESPONSE_TOPIC, P_CORRELATION_DATA, P_SUBSCRIPTION_ID = 0x08, 0x09, 0x0B
P_SESSION_EXPIRY, P_ASSIGNED_CLIENT_ID, P_SERVER_KEEP_ALIVE = 0x11, 0x12, 0x13
P_AUTH_METHOD, P_WILL_DELAY, P_REASON_STRING = 0x15, 0x18, 0x1F
P_RECEIVE_MAXIMUM, P_TOPIC_ALIAS_MAXIMUM, P_TOPIC_ALIAS = 0x21, 0x22, 0x23
P_MAXIMUM_QOS, P_RETAIN_AVAILABLE, P_USER_PROPERTY, P_MAXIMUM_PACKET_SIZE = 0x24, 0x25, 0x26, 0x27
P_WILDCARD_AVAILABLE, P_SUB_ID_AVAILABLE, P_SHARED_AVAILABLE = 0x28, 0x29, 0x2A

_TYPES = {0x01: "b", 0x02: "i", 0x03: "s", 0x08: "s", 0x09: "d", 0x0B: "v", 0x11: "i",
          0x12: "s", 0x13: "h", 0x15: "s", 0x16: "d", 0x17: "b", 0x18: "i", 0x19: "b",
          0x1A: "s", 0x1C: "s", 0x1F: "s", 0x21: "h", 0x22: "h", 0x23: "h", 0x24: "b",
          0x25: "b", 0x26: "p", 0x27: "i", 0x28: "b", 0x29: "b", 0x2A: "b"}


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def string(s):
    b = s.encode() if isinstance(s, str) else bytes(s)
    return struct.pack(">H", len(b)) + b


def props(plist):
    """plist: [(id, value)]; user properties as (0x26, (k, v))."""
    body = bytearray()
    for pid, value in plist:
        body += varint(pid)
        t = _TYPES[pid]
        if t == "b":
            body += bytes([value])
        elif t == "h":
            body += struct.pack(">H", value)
        elif t == "i":
            body += struct.pack(">I", value)
        elif t == "v":
            body += varint(value)
        elif t in "sd":
            body += string(value)
        elif t == "p":
            body += string(value[0]) + string(value[1])
    return varint(len(body)) + bytes(body)


def packet(ptype, flags, body):
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + body


def connect(client_id, version=5, clean=True, keepalive=60, plist=(), will=None):
    """will: dict(topic, payload, qos=0, retain=False, props=[])"""
    name = b"MQIsdp" if version == 3 else b"MQTT"
    flags = 0x02 if clean else 0
    payload = string(client_id)
    if will:
        flags |= 0x04 | (will.get("qos", 0) << 3) | (0x20 if will.get("retain") else 0)
        if version == 5:
            payload += props(will.get("props", []))
        payload += string(will["topic"]) + string(will["payload"])
    body = string(name) + bytes([version, flags]) + struct.pack(">H", keepalive)
    if version == 5:
        body += props(plist)
    return packet(CONNECT, 0, body + payload)


def publish(topic, payload=b"", qos=0, retain=False, dup=False, pid=1, plist=(), version=5):
    flags = (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = string(topic)
    if qos:
        body += struct.pack(">H", pid)
    if version == 5:
        body += props(plist)
    return packet(PUBLISH, flags, body + (payload.encode() if isinstance(payload, str) else payload))


def subscribe(pid, subs, plist=(), version=5):
    """subs: [(filter, options_byte)]"""
    body = struct.pack(">H", pid) + (props(plist) if version == 5 else b"")
    for f, opts in subs:
        body += string(f) + bytes([opts])
    return packet(SUBSCRIBE, 2, body)


def unsubscribe(pid, filters, version=5):
    body = struct.pack(">H", pid) + (props([]) if version == 5 else b"")
    for f in filters:
        body += string(f)
    return packet(UNSUBSCRIBE, 2, body)


def ack(ptype, pid, rc=None, version=5):
    body = struct.pack(">H", pid)
    if version == 5 and rc is not None:
        body += bytes([rc])
    return packet(ptype, 2 if ptype == PUBREL else 0, body)


def disconnect(rc=0, plist=(), version=5):
    if version != 5:
        return packet(DISCONNECT, 0, b"")
    return packet(DISCONNECT, 0, bytes([rc]) + props(plist))


PINGREQ_BYTES = packet(PINGREQ, 0, b"")


def parse_props(buf, pos):
    n, pos = read_varint(buf, pos)
    end = pos + n
    out = {}
    while pos < end:
        pid, pos = read_varint(buf, pos)
        t = _TYPES[pid]
        if t == "b":
            v = buf[pos]; pos += 1
        elif t == "h":
            v = struct.unpack_from(">H", buf, pos)[0]; pos += 2
        elif t == "i":
            v = struct.unpack_from(">I", buf, pos)[0]; pos += 4
        elif t == "v":
            v, pos = read_varint(buf, pos)
        elif t in "sd":
            ln = struct.unpack_from(">H", buf, pos)[0]
            v = bytes(buf[pos + 2:pos + 2 + ln]); pos += 2 + ln
            if t == "s":
                v = v.decode()
        else:
            k_len = struct.unpack_from(">H", buf, pos)[0]
            k = bytes(buf[pos + 2:pos + 2 + k_len]).decode(); pos += 2 + k_len
            v_len = struct.unpack_from(">H", buf, pos)[0]
            val = bytes(buf[pos + 2:pos + 2 + v_len]).decode(); pos += 2 + v_len
            v = (k, val)
        if pid in (P_USER_PROPERTY, P_SUBSCRIPTION_ID):
            out.setdefault(pid, []).append(v)
        else:
            out[pid] = v
    return out, end


def read_varint(buf, pos):
    mult, value = 1, 0
    while True:
        b = buf[pos]; pos += 1
        value += (b & 0x7F) * mult
        mult *= 128
        if not b & 0x80:
            return value, pos


class Packet:
    def __init__(self, ptype, flags, body, version):
        self.type, self.flags, self.body, self.version = ptype, flags, body, version
        self.props = {}
        self.rc = None
        self.pid = None
        v5 = version == 5
        if ptype == CONNACK:
            self.session_present = bool(body[0] & 1)
            self.rc = body[1]
            if v5 and len(body) > 2:
                self.props, _ = parse_props(body, 2)
        elif ptype == PUBLISH:
            self.qos = (flags >> 1) & 3
            self.dup = bool(flags & 8)
            self.retain = bool(flags & 1)
            ln = struct.unpack_from(">H", body, 0)[0]
            self.topic = bytes(body[2:2 + ln]).decode()
            pos = 2 + ln
            if self.qos:
                self.pid = struct.unpack_from(">H", body, pos)[0]; pos += 2
            if v5:
                self.props, pos = parse_props(body, pos)
            self.payload = bytes(body[pos:])
        elif ptype in (PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK, SUBACK):
            self.pid = struct.unpack_from(">H", body, 0)[0]
            pos = 2
            if ptype in (SUBACK, UNSUBACK):
                if v5:
                    self.props, pos = parse_props(body, pos)
                self.reasons = list(body[pos:])
            else:
                self.rc = body[2] if len(body) > 2 else 0
                if v5 and len(body) > 3:
                    self.props, _ = parse_props(body, 3)
        elif ptype == DISCONNECT:
            self.rc = body[0] if body else 0
            if v5 and len(body) > 1:
                self.props, _ = parse_props(body, 1)

    def __repr__(self):
        return "Packet(type=%d rc=%r pid=%r)" % (self.type, self.rc, self.pid)


class RawClient:
    def __init__(self, port, version=5, timeout=10.0):
        self.version = version
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = bytearray()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no packet before the deadline")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no packet before the deadline")
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def read(self, timeout=None):
        """The next packet; raises EOFError when the broker closed, TimeoutError at the deadline."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            if len(self.buf) >= 2:
                try:
                    ln, pos = read_varint(self.buf, 1)
                    if len(self.buf) >= pos + ln:
                        first = self.buf[0]
                        body = bytes(self.buf[pos:pos + ln])
                        del self.buf[:pos + ln]
                        return Packet(first >> 4, first & 0xF, body, self.version)
                except IndexError:
                    pass
            self._fill(deadline)

    def expect(self, ptype, timeout=None):
        p = self.read(timeout)
        if p.type != ptype:
            raise AssertionError("expected packet type %d, got %r" % (ptype, p))
        return p

    def read_until(self, ptype, timeout=None):
        """Skips packets until one of `ptype` arrives."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            p = self.read(max(deadline - time.monotonic(), 0.001))
            if p.type == ptype:
                return p

    def closed(self, timeout=None):
        """True when the broker closes the connection (after any remaining packets)."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        try:
            while True:
                self.read(max(deadline - time.monotonic(), 0.001))
        except EOFError:
            return True
        except TimeoutError:
            return False

    def connect(self, client_id, clean=True, keepalive=60, plist=(), will=None):
        self.send(connect(client_id, self.version, clean, keepalive, plist, will))
        return self.expect(CONNACK)

    def subscribe(self, pid, subs, plist=()):
        self.send(subscribe(pid, subs, plist, self.version))
        return self.read_until(SUBACK)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def connected(port, client_id, version=5, **kw):
    c = RawClient(port, version)
    ack = c.connect(client_id, **kw)
    assert ack.rc == 0, ack
    return c
