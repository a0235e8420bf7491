"""Raw Kafka requests for system tests that need to see the wire (long-poll Fetch, duplicate
Produce, bad frames), built with kafka-python's protocol classes and sent on a plain socket."""
import io
import socket
import struct

from kafka.protocol.fetch import FetchRequest, FetchResponse
from kafka.protocol.produce import ProduceRequest, ProduceResponse
from kafka.record.default_records import DefaultRecordBatchBuilder


def frame(api_key, version, correlation_id, body, client_id=b"sluice-test"):
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def recv_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            return None
        out += chunk
    return out


def recv_frame(sock):
    """(correlation id, body bytes), or None when the broker closed the connection."""
    size = recv_exact(sock, 4)
    if size is None:
        return None
    data = recv_exact(sock, struct.unpack(">i", size)[0])
    if data is None:
        return None
    return struct.unpack(">i", data[:4])[0], data[4:]


def closed_by_peer(sock):
    """True once the broker closed the connection (reads EOF or a reset)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def fetch(sock, correlation_id, topic, partition, offset, max_wait_ms, min_bytes=1):
    """Sends Fetch v4 and returns the decoded partition response (kafka-python tuple)."""
    req = FetchRequest[4](replica_id=-1, max_wait_time=max_wait_ms, min_bytes=min_bytes,
                          max_bytes=1 << 20, isolation_level=0,
                          topics=[(topic, [(partition, offset, 1 << 20)])])
    sock.sendall(frame(1, 4, correlation_id, req.encode()))
    got = recv_frame(sock)
    assert got is not None, "connection closed instead of a Fetch response"
    cid, body = got
    assert cid == correlation_id
    resp = FetchResponse[4].decode(io.BytesIO(body))
    return resp.topics[0][1][0]


def batch(values, producer_id=-1, producer_epoch=-1, base_sequence=-1, compression=0):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=False,
                                  producer_id=producer_id, producer_epoch=producer_epoch,
                                  base_sequence=base_sequence, batch_size=1 << 20)
    for i, v in enumerate(values):
        b.append(i, timestamp=None, key=None, value=v, headers=[])
    return bytes(b.build())


def produce(sock, correlation_id, topic, partition, records, acks=-1):
    """Sends Produce v3 and returns (error code, base offset) of the partition."""
    req = ProduceRequest[3](transactional_id=None, required_acks=acks, timeout=10000,
                            topics=[(topic, [(partition, records)])])
    sock.sendall(frame(0, 3, correlation_id, req.encode()))
    got = recv_frame(sock)
    assert got is not None, "connection closed instead of a Produce response"
    cid, body = got
    assert cid == correlation_id
    resp = ProduceResponse[3].decode(io.BytesIO(body))
    p = resp.topics[0][1][0]
    return p[1], p[2]


def connect(port, timeout=30):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)
