#!/usr/bin/python3
"""librdkafka (through Debian's python3-confluent-kafka) connects to kafka_fake_broker, which
answers with Sluice's codec and group coordinator: the ApiVersions v3 handshake must succeed
on the first connection (no fallback to an older ApiVersions), the topic list must come back
from Metadata, and two consumers in one group must end up with disjoint assignments covering
the topic's 4 partitions. Usage: check_librdkafka.py <kafka_fake_broker binary>"""
import re
import subprocess
import sys
import tempfile
import time

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient


def main():
    with tempfile.TemporaryFile(mode='w+') as log:
        broker = subprocess.Popen([sys.argv[1]], stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            port = int(broker.stdout.readline())
            admin = AdminClient({'bootstrap.servers': '127.0.0.1:%d' % port,
                                 'broker.address.family': 'v4', 'log_level': 3})
            md = admin.list_topics(timeout=20)
            assert md.cluster_id == 'sluice-test', md.cluster_id
            assert 't' in md.topics, md.topics
            t = md.topics['t']
            assert t.error is None and sorted(t.partitions) == [0, 1, 2, 3], t
            assert t.partitions[0].leader == 1
            assert md.brokers[1].port == port
            one = admin.list_topics(topic='nope', timeout=20)
            assert one.topics['nope'].error is not None
        finally:
            broker.terminate()
            broker.wait()
        log.seek(0)
        lines = log.read().splitlines()
    print('\n'.join(lines))
    first = [l for l in lines if l.startswith('conn 1 ')]
    apis = [tuple(map(int, re.match(r'conn 1 api (\d+) v(\d+)', l).groups())) for l in first]
    assert apis[0] == (18, 3), apis  # librdkafka 2.0.2 starts with ApiVersions v3
    assert all(k != 18 for k, _ in apis[1:]), apis  # ...and did not have to retry it
    assert any(k == 3 and v >= 4 for k, v in apis), apis  # Metadata at a negotiated version
    assert all(l.endswith('handle') for l in lines), lines
    print('librdkafka handshake and metadata OK')


def check_group():
    with tempfile.TemporaryFile(mode='w+') as log:
        broker = subprocess.Popen([sys.argv[1]], stdout=subprocess.PIPE, stderr=log, text=True)
        consumers = []
        try:
            port = int(broker.stdout.readline())
            assigned = {}

            def make(name):
                c = Consumer({'bootstrap.servers': '127.0.0.1:%d' % port,
                              'broker.address.family': 'v4', 'group.id': 'g',
                              'client.id': name, 'heartbeat.interval.ms': 300,
                              'session.timeout.ms': 6000, 'auto.offset.reset': 'earliest',
                              'log_level': 3})

                def on_assign(consumer, parts):
                    assigned[name] = {p.partition for p in parts}

                def on_revoke(consumer, parts):
                    assigned[name] = set()

                c.subscribe(['t'], on_assign=on_assign, on_revoke=on_revoke)
                return c

            consumers = [make('a')]
            deadline = time.monotonic() + 60
            while assigned.get('a') != {0, 1, 2, 3}:
                assert time.monotonic() < deadline, assigned
                consumers[0].poll(0.1)
            consumers.append(make('b'))
            while True:
                assert time.monotonic() < deadline, assigned
                for c in consumers:
                    c.poll(0.1)
                a, b = assigned.get('a', set()), assigned.get('b', set())
                if a and b and not (a & b) and a | b == {0, 1, 2, 3}:
                    final = dict(assigned)
                    break
            for c in consumers:
                c.close()
            consumers = []
        finally:
            for c in consumers:
                c.close()
            broker.terminate()
            broker.wait()
        log.seek(0)
        lines = log.read().splitlines()
    apis = {int(m.group(1)) for m in (re.match(r'conn \d+ api (\d+) v', l) for l in lines) if m}
    # FindCoordinator, JoinGroup, SyncGroup, LeaveGroup, OffsetFetch, ListOffsets
    assert {10, 11, 14, 13, 9, 2} <= apis, apis
    assert all(l.endswith('handle') for l in lines), [l for l in lines if not l.endswith('handle')]
    print('librdkafka consumer group: %s' % final)


if __name__ == '__main__':
    main()
    check_group()
