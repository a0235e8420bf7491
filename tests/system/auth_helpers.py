"""Helpers of the authentication and ACL system tests: CONNECT packets with a user name and
password, a SCRAM-SHA-256 client (the logic of auth/scram_client.cpp, RFC 5802, with hashlib
and hmac) speaking MQTT 5 enhanced authentication, and `sluice passwd`."""
import base64
import hashlib
import hmac
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import SLUICE_BIN  # noqa: E402
import mqtt_raw as raw  # noqa: E402

P_AUTH_DATA = 0x16
raw._TYPES.setdefault(P_AUTH_DATA, "d")

# CONNACK reason codes (5.0) and return codes (3.1.1) the tests look for.
BAD_CREDENTIALS_5, NOT_AUTHORIZED_5, BAD_METHOD_5 = 0x86, 0x87, 0x8C
BAD_CREDENTIALS_3, NOT_AUTHORIZED_3 = 4, 5


def connect_packet(client_id, version=5, username=None, password=None, plist=(), will=None,
                   clean=True, keepalive=60):
    """A CONNECT like mqtt_raw.connect, with the user name and password flags."""
    name = b"MQIsdp" if version == 3 else b"MQTT"
    flags = 0x02 if clean else 0
    payload = raw.string(client_id)
    if will:
        flags |= 0x04 | (will.get("qos", 0) << 3) | (0x20 if will.get("retain") else 0)
        if version == 5:
            payload += raw.props(will.get("props", []))
        payload += raw.string(will["topic"]) + raw.string(will["payload"])
    if username is not None:
        flags |= 0x80
        payload += raw.string(username)
    if password is not None:
        flags |= 0x40
        payload += raw.string(password)
    body = raw.string(name) + bytes([version, flags]) + struct.pack(">H", keepalive)
    if version == 5:
        body += raw.props(plist)
    return raw.packet(raw.CONNECT, 0, body + payload)


def login(port, client_id, username=None, password=None, version=5, **kw):
    """Connects a raw client; returns (client, CONNACK)."""
    c = raw.RawClient(port, version)
    c.send(connect_packet(client_id, version, username, password, **kw))
    return c, c.read()


def auth_packet(rc, method, data):
    return raw.packet(raw.AUTH, 0, bytes([rc]) + raw.props([(raw.P_AUTH_METHOD, method),
                                                             (P_AUTH_DATA, data)]))


def parse_auth(p):
    """(reason code, properties) of an AUTH packet read by mqtt_raw."""
    rc = p.body[0] if p.body else 0
    props, _ = raw.parse_props(p.body, 1) if len(p.body) > 1 else ({}, 0)
    return rc, props


def prop(props, pid):
    v = props.get(pid)
    if isinstance(v, list):
        v = v[0]
    return v


class ScramClient:
    """SCRAM-SHA-256 client side (RFC 5802 section 3), no channel binding ("n,,")."""

    def __init__(self, user, password, nonce=None):
        self.user, self.password = user, password
        self.nonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), self.nonce)
        self.server_signature = None

    def client_first(self):
        return ("n,," + self.bare).encode()

    def client_final(self, server_first, proof_ok=True):
        server_first = server_first.decode() if isinstance(server_first, bytes) else server_first
        attrs = dict(part.split("=", 1) for part in server_first.split(","))
        assert attrs["r"].startswith(self.nonce), server_first
        salt, iterations = base64.b64decode(attrs["s"]), int(attrs["i"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=" + attrs["r"]
        auth_message = ",".join([self.bare, server_first, without_proof]).encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        if not proof_ok:
            proof = bytes([proof[0] ^ 1]) + proof[1:]
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
        return (without_proof + ",p=" + base64.b64encode(proof).decode()).encode()

    def verify_server_final(self, server_final):
        server_final = server_final.decode() if isinstance(server_final, bytes) else server_final
        return server_final == "v=" + base64.b64encode(self.server_signature).decode()


def write_password_file(path, users, iterations=1000, scram_iterations=4096):
    """A password file (docs/security.md, "Password file") for {user: password}, written here
    with the lowest work factors the broker accepts, so that tests log in quickly; `sluice
    passwd` writes the real ones (test_auth.py runs it too)."""
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    lines = ["sluice-passwd 1"]
    for user, pw in users.items():
        salt, scram_salt = os.urandom(16), os.urandom(16)
        digest = hashlib.pbkdf2_hmac("sha512", pw.encode(), salt, iterations, 64)
        salted = hashlib.pbkdf2_hmac("sha256", pw.encode(), scram_salt, scram_iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        lines.append(":".join([user, "pbkdf2-sha512", str(iterations), b64(salt), b64(digest),
                               "scram-sha-256", str(scram_iterations), b64(scram_salt),
                               b64(hashlib.sha256(client_key).digest()), b64(server_key)]))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)


def passwd(path, user, password, delete=False):
    """Runs `sluice passwd [--delete] FILE USER` with the password on standard input."""
    args = [SLUICE_BIN, "passwd"] + (["--delete"] if delete else []) + [path, user]
    return subprocess.run(args, input=None if delete else password + "\n", capture_output=True,
                          text=True, timeout=60)
