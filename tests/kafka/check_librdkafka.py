#!/usr/bin/python3
"""librdkafka (through Debian's python3-confluent-kafka) connects to kafka_fake_broker, which
answers with Sluice's codec: the ApiVersions v3 handshake must succeed on the first
connection (no fallback to an older ApiVersions) and the topic list must come back from
Metadata. Usage: check_librdkafka.py <kafka_fake_broker binary>"""
import re
import subprocess
import sys
import tempfile

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
            assert t.error is None and list(t.partitions) == [0], t
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


if __name__ == '__main__':
    main()
