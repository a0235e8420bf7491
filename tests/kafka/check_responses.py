#!/usr/bin/python3
"""Runs kafka_response_dump and decodes what Sluice's encoder wrote with kafka-python
(Debian's python3-kafka 2.0.2): every body must decode with no byte left over, re-encode to
the same bytes, and the hand-built ones must carry the expected field values.
Usage: check_responses.py <kafka_response_dump binary> <work dir>"""
import io
import os
import subprocess
import sys

import kafka.protocol.admin
import kafka.protocol.commit
import kafka.protocol.fetch
import kafka.protocol.group
import kafka.protocol.metadata
import kafka.protocol.offset
import kafka.protocol.produce
import inspect
from kafka.protocol.api import Response

RESPONSES = {}
for m in (kafka.protocol.admin, kafka.protocol.commit, kafka.protocol.fetch, kafka.protocol.group,
          kafka.protocol.metadata, kafka.protocol.offset, kafka.protocol.produce):
    for _, c in inspect.getmembers(m, inspect.isclass):
        if c.__module__ == m.__name__ and issubclass(c, Response):
            RESPONSES.setdefault((c.API_KEY, c.API_VERSION), c)


def check_named(name, version, r):
    if name == 'api_versions':
        assert r.error_code == 0
        apis = {a[0]: (a[1], a[2]) for a in r.api_versions}
        assert apis[0] == (0, 7) and apis[1] == (4, 11) and apis[18] == (0, 3), apis
    elif name == 'metadata':
        assert r.brokers[0][:3] == (1, 'localhost', 9092), r.brokers
        t = r.topics[0]
        assert t[0] == 0 and t[1] == 'events', t
        part = t[3][0] if version >= 1 else t[2][0]
        assert part[:3] == (0, 0, 1), part
        if version >= 2:
            assert r.cluster_id == 'sluice'
    elif name == 'produce':
        part = r.topics[0][1][0]
        assert r.topics[0][0] == 'events' and part[0] == 0 and part[1] == 0 and part[2] == 42
    elif name == 'fetch':
        part = r.topics[0][1][0]
        assert part[0] == 0 and part[1] == 0 and part[2] == 43, part
        assert part[-1] == b'\xde\xad\xbe\xef', part
    elif name == 'join_group':
        assert (r.generation_id, r.group_protocol, r.leader_id, r.member_id) == \
            (3, 'range', 'm-1', 'm-1'), r
        assert r.members[0][0] == 'm-1' and r.members[0][-1] == b'\x00\x01'
    elif name == 'offset_fetch':
        part = r.topics[0][1][0]
        assert part[0] == 0 and part[1] == 17 and part[2] == 'meta' and part[3] == 0, part
    else:
        raise AssertionError('unknown entry ' + name)


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, 'responses.txt')
    subprocess.run([binary, path], check=True)
    checked = 0
    with open(path) as fh:
        for line in fh:
            key, version, name, hexbody = line.split()
            key, version = int(key), int(version)
            cls = RESPONSES.get((key, version))
            if cls is None:
                continue
            data = bytes.fromhex(hexbody)
            buf = io.BytesIO(data)
            r = cls.decode(buf)
            assert buf.tell() == len(data), '%s v%d: %d bytes left' % (
                cls.__name__, version, len(data) - buf.tell())
            assert r.encode() == data, '%s v%d re-encodes differently' % (cls.__name__, version)
            if name != 'vector':
                check_named(name, version, r)
            checked += 1
    assert checked >= 80, checked
    print('kafka-python decoded %d Sluice responses' % checked)


if __name__ == '__main__':
    main()
