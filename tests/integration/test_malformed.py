"""Accepted-when 6: malformed input gets its documented answer and harms
nothing: random bytes, a frame longer than socket.request.max.bytes, a valid
header with a truncated body, unknown API keys and versions. The broker keeps
serving other connections throughout."""
import os
import random
import socket
import struct
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import create_topic, kcat  # noqa: E402


def connect(broker):
    s = socket.create_connection(("127.0.0.1", broker.port), timeout=10)
    s.settimeout(10)
    return s


def closed_by_peer(sock):
    """True when the broker closed the connection (EOF or reset)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def header(api_key, version, correlation_id, client_id=b"malformed-test"):
    return struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def read_response(sock):
    size = struct.unpack(">i", recv_exact(sock, 4))[0]
    return recv_exact(sock, size)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise AssertionError("connection closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def answer_or_close(sock, correlation_id, what):
    """Reads until the broker either answers `correlation_id` with a whole
    frame ("answered") or closes the connection ("closed"). A broker that
    does neither within the socket timeout hung on the request: that fails."""
    try:
        head = b""
        while len(head) < 4:
            chunk = sock.recv(4 - len(head))
            if not chunk:
                return "closed"
            head += chunk
        body = recv_exact(sock, struct.unpack(">i", head)[0])
    except (ConnectionResetError, BrokenPipeError):
        return "closed"
    except socket.timeout:
        raise AssertionError("%s: no answer and no close within %.0f s" % (what, sock.gettimeout()))
    if struct.unpack(">i", body[:4])[0] != correlation_id:
        raise AssertionError("%s: answered with correlation id %d" % (what, struct.unpack(">i", body[:4])[0]))
    return "answered"


class MalformedInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(config={"socket.request.max.bytes": "1048576"}).start()
        create_topic(cls.broker, "healthy", partitions=1)
        kcat(cls.broker, "-P", "-t", "healthy", input="still-here\n")

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def assert_still_serving(self):
        self.assertIsNone(self.broker.proc.poll(), "broker process died")
        out = kcat(self.broker, "-C", "-t", "healthy", "-o", "beginning", "-e", "-q", "-f", "%s\n").stdout
        self.assertEqual(out.split(), ["still-here"])

    def test_random_bytes(self):
        rng = random.Random(7)
        for _ in range(30):
            s = connect(self.broker)
            try:
                s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2000))))
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            except socket.timeout:  # before OSError, its base class
                self.fail("the broker neither answered nor closed a connection of random bytes ending in EOF")
            except OSError:
                pass  # the broker closed (or reset) first
            finally:
                s.close()
        self.assert_still_serving()

    def test_oversized_frame_closes_connection(self):
        s = connect(self.broker)
        s.sendall(struct.pack(">i", 2 * 1024 * 1024) + header(3, 1, 1))
        self.assertTrue(closed_by_peer(s))
        s.close()
        self.broker.wait_for_log(r"outside 8\.\.1048576 \(socket.request.max.bytes\); closing")
        self.assert_still_serving()

    def test_negative_frame_length_closes_connection(self):
        s = connect(self.broker)
        s.sendall(struct.pack(">i", -5))
        self.assertTrue(closed_by_peer(s))
        s.close()
        self.assert_still_serving()

    def test_truncated_body_closes_connection(self):
        # A Metadata v1 request whose topic array claims 5 entries but carries none.
        s = connect(self.broker)
        s.sendall(frame(header(3, 1, 42) + struct.pack(">i", 5)))
        self.assertTrue(closed_by_peer(s))
        s.close()
        self.broker.wait_for_log(r"malformed Metadata v1 request \(correlation id 42")
        self.assert_still_serving()

    def test_unknown_api_version_closes_connection(self):
        s = connect(self.broker)
        s.sendall(frame(header(3, 99, 7)))
        self.assertTrue(closed_by_peer(s))
        s.close()
        self.broker.wait_for_log(r"Metadata v99 is not supported \(this broker serves v0-v12\)")
        self.assert_still_serving()

    def test_unknown_api_key_closes_connection(self):
        s = connect(self.broker)
        s.sendall(frame(header(999, 0, 8)))
        self.assertTrue(closed_by_peer(s))
        s.close()
        self.broker.wait_for_log(r"unknown API key 999")
        self.assert_still_serving()

    def test_unknown_api_versions_version_gets_v0_answer(self):
        # KIP-511: ApiVersions of an unknown version is answered with a v0
        # body: UNSUPPORTED_VERSION plus our ranges, on a connection that stays open.
        s = connect(self.broker)
        s.sendall(frame(header(18, 77, 9) + b"\x00"))
        body = read_response(s)
        correlation_id, error_code, count = struct.unpack(">ihi", body[:10])
        self.assertEqual((correlation_id, error_code), (9, 35))
        ranges = {}
        for i in range(count):
            key, lo, hi = struct.unpack(">hhh", body[10 + 6 * i:16 + 6 * i])
            ranges[key] = (lo, hi)
        self.assertEqual(ranges[18], (0, 4))
        self.assertEqual(ranges[0], (0, 11))
        self.assertEqual(ranges[1], (4, 17))
        # The connection still works: ApiVersions v0 now succeeds on it.
        s.sendall(frame(header(18, 0, 10)))
        body = read_response(s)
        self.assertEqual(struct.unpack(">ih", body[:6]), (10, 0))
        s.close()

    def served_ranges(self):
        s = connect(self.broker)
        s.sendall(frame(header(18, 0, 1)))
        body = read_response(s)
        s.close()
        count = struct.unpack(">i", body[6:10])[0]
        return [struct.unpack(">hhh", body[10 + 6 * i:16 + 6 * i]) for i in range(count)]

    def test_random_bodies_for_every_api_and_version(self):
        """Valid headers followed by random bodies, for every served API and
        version: each gets an answer or a closed connection, never a crash."""
        rng = random.Random(11)
        ranges = self.served_ranges()
        self.assertGreaterEqual(len(ranges), 25)
        outcomes = {"answered": 0, "closed": 0}
        for key, lo, hi in ranges:
            for version in range(lo, hi + 1):
                for _ in range(4):
                    body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 160)))
                    correlation_id = 1000 + sum(outcomes.values())
                    s = connect(self.broker)
                    try:
                        try:
                            s.sendall(frame(header(key, version, correlation_id) + body))
                        except (ConnectionResetError, BrokenPipeError):
                            pass  # closed while we wrote: answer_or_close sees it
                        outcomes[answer_or_close(s, correlation_id, "API %d v%d, random body %s" %
                                                 (key, version, body.hex()))] += 1
                    finally:
                        s.close()
        self.assertGreater(sum(outcomes.values()), 500)
        # Most random bodies are malformed (closed); the few that parse were answered.
        self.assertGreater(outcomes["closed"], 400)
        self.assert_still_serving()

    def test_pipelined_requests_answered_in_order(self):
        s = connect(self.broker)
        s.sendall(b"".join(frame(header(18, 0, cid)) for cid in range(100, 150)))
        got = [struct.unpack(">i", read_response(s)[:4])[0] for _ in range(50)]
        self.assertEqual(got, list(range(100, 150)))
        s.close()


if __name__ == "__main__":
    unittest.main()
