"""A minimal Kafka wire client for protocol edge cases that real clients do
not produce on demand: classic and compact (flexible) primitives, request
headers v1/v2, and one connection that sends a request and reads its
response. Messages are built field by field by the tests themselves."""
import socket
import struct


class Writer:
    def __init__(self, flexible=False):
        self.flexible = flexible
        self.buf = bytearray()

    def int8(self, v):
        self.buf += struct.pack(">b", v)
        return self

    def bool(self, v):
        return self.int8(1 if v else 0)

    def int16(self, v):
        self.buf += struct.pack(">h", v)
        return self

    def int32(self, v):
        self.buf += struct.pack(">i", v)
        return self

    def int64(self, v):
        self.buf += struct.pack(">q", v)
        return self

    def uvarint(self, v):
        while v >= 0x80:
            self.buf.append((v & 0x7F) | 0x80)
            v >>= 7
        self.buf.append(v)
        return self

    def string(self, s):
        """A string, nullable when s is None (classic int16 or compact length)."""
        if s is None:
            return self.uvarint(0) if self.flexible else self.int16(-1)
        data = s.encode()
        if self.flexible:
            self.uvarint(len(data) + 1)
        else:
            self.int16(len(data))
        self.buf += data
        return self

    def bytes(self, b):
        if self.flexible:
            self.uvarint(len(b) + 1)
        else:
            self.int32(len(b))
        self.buf += b
        return self

    def array(self, items, write_item):
        if items is None:
            return self.uvarint(0) if self.flexible else self.int32(-1)
        if self.flexible:
            self.uvarint(len(items) + 1)
        else:
            self.int32(len(items))
        for item in items:
            write_item(self, item)
        return self

    def tags(self):
        """An empty tagged-field section (flexible versions only)."""
        if self.flexible:
            self.uvarint(0)
        return self


class Reader:
    def __init__(self, data, flexible=False):
        self.data = data
        self.pos = 0
        self.flexible = flexible

    def _take(self, n):
        chunk = self.data[self.pos:self.pos + n]
        if len(chunk) != n:
            raise AssertionError("response truncated at %d (wanted %d more bytes)" % (self.pos, n))
        self.pos += n
        return chunk

    def int8(self):
        return struct.unpack(">b", self._take(1))[0]

    def bool(self):
        return self.int8() != 0

    def int16(self):
        return struct.unpack(">h", self._take(2))[0]

    def int32(self):
        return struct.unpack(">i", self._take(4))[0]

    def int64(self):
        return struct.unpack(">q", self._take(8))[0]

    def uvarint(self):
        shift = value = 0
        while True:
            b = self._take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def string(self):
        n = self.uvarint() - 1 if self.flexible else self.int16()
        return None if n < 0 else self._take(n).decode()

    def bytes(self):
        n = self.uvarint() - 1 if self.flexible else self.int32()
        return None if n < 0 else bytes(self._take(n))

    def array(self, read_item):
        n = self.uvarint() - 1 if self.flexible else self.int32()
        return None if n < 0 else [read_item(self) for _ in range(n)]

    def tags(self):
        if self.flexible:
            for _ in range(self.uvarint()):
                self.uvarint()
                self._take(self.uvarint())

    def at_end(self):
        return self.pos == len(self.data)


class Connection:
    """One broker connection; request() returns a Reader over the body."""

    def __init__(self, broker, client_id="wire-test"):
        self.sock = socket.create_connection(("127.0.0.1", broker.port), timeout=30)
        self.client_id = client_id
        self.correlation_id = 0

    def request(self, api_key, version, body, flexible):
        """Sends a request whose body was written by `body` (a Writer
        callback) and returns a Reader over the response body."""
        self.correlation_id += 1
        header = Writer().int16(api_key).int16(version).int32(self.correlation_id).string(self.client_id)
        if flexible:
            header.uvarint(0)  # request header v2: empty tagged fields
        w = Writer(flexible)
        body(w)
        payload = bytes(header.buf + w.buf)
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        size = struct.unpack(">i", self._recv(4))[0]
        r = Reader(self._recv(size), flexible)
        if r.int32() != self.correlation_id:
            raise AssertionError("correlation id mismatch")
        r.tags()  # response header v1 in flexible versions
        return r

    def _recv(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise AssertionError("connection closed by the broker")
            data += chunk
        return data

    def close(self):
        self.sock.close()


def fetch_partition(conn, topic, partition, offset, version, max_wait_ms=100):
    """One-partition Fetch (v4-v11, classic encoding) on `conn`; returns the
    partition's answer as a dict (records None when sent as null)."""
    def body(w):
        w.int32(-1).int32(max_wait_ms).int32(1).int32(1 << 20).int8(0)
        if version >= 7:
            w.int32(0).int32(-1)  # no fetch session

        def write_partition(w, p):
            w.int32(p)
            if version >= 9:
                w.int32(-1)  # current leader epoch
            w.int64(offset)
            if version >= 5:
                w.int64(-1)  # log start offset (followers only)
            w.int32(1 << 20)
        w.array([topic], lambda w, t: (w.string(t), w.array([partition], write_partition)))
        if version >= 7:
            w.array([], None)  # forgotten topics
        if version >= 11:
            w.string("")  # rack id

    r = conn.request(1, version, body, flexible=False)
    r.int32()  # throttle
    if version >= 7:
        if r.int16() != 0:
            raise AssertionError("Fetch failed as a whole")
        r.int32()  # session id

    def read_partition(r):
        p = {"partition": r.int32(), "error": r.int16(), "high_watermark": r.int64(),
             "last_stable_offset": r.int64()}
        if version >= 5:
            p["log_start_offset"] = r.int64()
        p["aborted"] = r.array(lambda r: (r.int64(), r.int64()))
        if version >= 11:
            p["preferred_replica"] = r.int32()
        p["records"] = r.bytes()
        return p
    topics = r.array(lambda r: (r.string(), r.array(read_partition)))
    if not r.at_end():
        raise AssertionError("bytes left after the Fetch response")
    return topics[0][1][0]
