"""Small helpers around the real Kafka clients the tests drive."""
import subprocess
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic


def admin(broker):
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="geomirror-tests",
                            request_timeout_ms=20000)


def create_topic(broker, name, partitions=1, configs=None):
    client = admin(broker)
    try:
        client.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1,
                                       topic_configs=configs or {})])
    finally:
        client.close()


def kcat(broker, *args, input=None, timeout=120, check=True):
    """Runs kcat against the broker; returns CompletedProcess (text)."""
    cmd = ["kcat", "-b", broker.bootstrap, *args]
    result = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError("kcat %s failed (%s):\n%s" % (" ".join(args), result.returncode, result.stderr[-3000:]))
    return result


def wait_until(predicate, timeout=10, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
