#!/usr/bin/python3
"""kafka-python 2.0.2 (Debian's python3-kafka) consumes in a group from kafka_fake_broker,
which answers with Sluice's codec and group coordinator: it takes the ApiVersions v0 path,
JoinGroup v2, SyncGroup v1, OffsetFetch v1, ListOffsets v1, OffsetCommit v2 and LeaveGroup
v1, and must be assigned all 4 partitions of topic "t".
Usage: check_kafka_python_group.py <kafka_fake_broker binary>"""
import re
import subprocess
import sys
import tempfile
import time

from kafka import KafkaConsumer, OffsetAndMetadata


def main():
    with tempfile.TemporaryFile(mode='w+') as log:
        broker = subprocess.Popen([sys.argv[1]], stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            port = int(broker.stdout.readline())
            c = KafkaConsumer('t', bootstrap_servers='127.0.0.1:%d' % port, group_id='kp',
                              client_id='kp', auto_offset_reset='earliest',
                              heartbeat_interval_ms=300, session_timeout_ms=6000)
            deadline = time.monotonic() + 60
            while not c.assignment():
                assert time.monotonic() < deadline
                c.poll(100)
            parts = sorted(tp.partition for tp in c.assignment())
            c.commit({tp: OffsetAndMetadata(0, '') for tp in c.assignment()})
            c.close()
        finally:
            broker.terminate()
            broker.wait()
        log.seek(0)
        lines = log.read().splitlines()
    assert parts == [0, 1, 2, 3], parts
    assert all(l.endswith('handle') for l in lines), [l for l in lines if not l.endswith('handle')]
    apis = {int(m.group(1)) for m in (re.match(r'conn \d+ api (\d+) v', l) for l in lines) if m}
    assert {18, 3, 10, 11, 14, 9, 8, 13} <= apis, apis
    print('kafka-python consumer group: partitions %s' % parts)


if __name__ == '__main__':
    main()
