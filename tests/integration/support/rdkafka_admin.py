"""DeleteRecords through librdkafka's own admin API (rd_kafka_DeleteRecords),
called with ctypes: python3-confluent-kafka 1.7 does not expose it, and
neither kcat nor python3-kafka 2.0.2 has it. This is the same librdkafka
(2.0.2) the other clients use, not a hand-made request."""
import ctypes
import ctypes.util
import time


class _TopicPartition(ctypes.Structure):  # rd_kafka_topic_partition_t
    _fields_ = [("topic", ctypes.c_char_p), ("partition", ctypes.c_int32), ("offset", ctypes.c_int64),
                ("metadata", ctypes.c_void_p), ("metadata_size", ctypes.c_size_t), ("opaque", ctypes.c_void_p),
                ("err", ctypes.c_int), ("_private", ctypes.c_void_p)]


class _TopicPartitionList(ctypes.Structure):  # rd_kafka_topic_partition_list_t
    _fields_ = [("cnt", ctypes.c_int), ("size", ctypes.c_int), ("elems", ctypes.POINTER(_TopicPartition))]


_RD_KAFKA_PRODUCER = 0
_RD_KAFKA_CONF_OK = 0
_RD_KAFKA_ADMIN_OP_DELETERECORDS = 6
_RD_KAFKA_EVENT_DELETERECORDS_RESULT = 105

_lib = None


def _librdkafka():
    global _lib
    if _lib is None:
        lib = ctypes.CDLL(ctypes.util.find_library("rdkafka") or "librdkafka.so.1")
        vp, cp, sz, i32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int32
        tpl = ctypes.POINTER(_TopicPartitionList)
        for name, res, args in [
            ("rd_kafka_conf_new", vp, []),
            ("rd_kafka_conf_set", ctypes.c_int, [vp, cp, cp, cp, sz]),
            ("rd_kafka_new", vp, [ctypes.c_int, vp, cp, sz]),
            ("rd_kafka_destroy", None, [vp]),
            ("rd_kafka_queue_new", vp, [vp]),
            ("rd_kafka_queue_destroy", None, [vp]),
            ("rd_kafka_queue_poll", vp, [vp, ctypes.c_int]),
            ("rd_kafka_topic_partition_list_new", tpl, [ctypes.c_int]),
            ("rd_kafka_topic_partition_list_add", ctypes.POINTER(_TopicPartition), [tpl, cp, i32]),
            ("rd_kafka_topic_partition_list_destroy", None, [tpl]),
            ("rd_kafka_DeleteRecords_new", vp, [tpl]),
            ("rd_kafka_DeleteRecords_destroy", None, [vp]),
            ("rd_kafka_AdminOptions_new", vp, [vp, ctypes.c_int]),
            ("rd_kafka_AdminOptions_destroy", None, [vp]),
            ("rd_kafka_AdminOptions_set_request_timeout", ctypes.c_int, [vp, ctypes.c_int, cp, sz]),
            ("rd_kafka_DeleteRecords", None, [vp, ctypes.POINTER(vp), sz, vp, vp]),
            ("rd_kafka_event_type", ctypes.c_int, [vp]),
            ("rd_kafka_event_error", ctypes.c_int, [vp]),
            ("rd_kafka_event_error_string", cp, [vp]),
            ("rd_kafka_event_DeleteRecords_result", vp, [vp]),
            ("rd_kafka_DeleteRecords_result_offsets", tpl, [vp]),
            ("rd_kafka_event_destroy", None, [vp]),
            ("rd_kafka_err2str", cp, [ctypes.c_int]),
        ]:
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        _lib = lib
    return _lib


class DeleteRecordsError(Exception):
    pass


class RecordDeleter:
    """One librdkafka client handle; delete_records() blocks until the broker
    answers (the acknowledgement) and returns {partition: low watermark}."""

    def __init__(self, bootstrap, timeout_ms=10000):
        lib = _librdkafka()
        self.timeout_ms = timeout_ms
        err = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        for k, v in {"bootstrap.servers": bootstrap, "reconnect.backoff.ms": "50",
                     "reconnect.backoff.max.ms": "250"}.items():
            if lib.rd_kafka_conf_set(conf, k.encode(), v.encode(), err, len(err)) != _RD_KAFKA_CONF_OK:
                raise DeleteRecordsError(err.value.decode())
        self.rk = lib.rd_kafka_new(_RD_KAFKA_PRODUCER, conf, err, len(err))  # takes the conf
        if not self.rk:
            raise DeleteRecordsError(err.value.decode())
        self.queue = lib.rd_kafka_queue_new(self.rk)

    def delete_records(self, topic, offsets):
        """Deletes the records below offsets[partition] in each partition.
        Raises DeleteRecordsError unless every partition succeeded."""
        lib = _librdkafka()
        parts = lib.rd_kafka_topic_partition_list_new(len(offsets))
        for p, offset in offsets.items():
            lib.rd_kafka_topic_partition_list_add(parts, topic.encode(), p).contents.offset = offset
        request = lib.rd_kafka_DeleteRecords_new(parts)
        lib.rd_kafka_topic_partition_list_destroy(parts)
        options = lib.rd_kafka_AdminOptions_new(self.rk, _RD_KAFKA_ADMIN_OP_DELETERECORDS)
        err = ctypes.create_string_buffer(512)
        lib.rd_kafka_AdminOptions_set_request_timeout(options, self.timeout_ms, err, len(err))
        lib.rd_kafka_DeleteRecords(self.rk, ctypes.byref(ctypes.c_void_p(request)), 1, options, self.queue)
        lib.rd_kafka_AdminOptions_destroy(options)
        lib.rd_kafka_DeleteRecords_destroy(request)
        event = None
        deadline = time.monotonic() + self.timeout_ms / 1000 + 10
        try:
            while not event:
                if time.monotonic() > deadline:
                    raise DeleteRecordsError("no DeleteRecords result from librdkafka")
                event = lib.rd_kafka_queue_poll(self.queue, 1000)
                if event and lib.rd_kafka_event_type(event) != _RD_KAFKA_EVENT_DELETERECORDS_RESULT:
                    lib.rd_kafka_event_destroy(event)
                    event = None
            code = lib.rd_kafka_event_error(event)
            if code != 0:
                raise DeleteRecordsError(lib.rd_kafka_event_error_string(event).decode())
            result = lib.rd_kafka_DeleteRecords_result_offsets(lib.rd_kafka_event_DeleteRecords_result(event))
            out, errors = {}, []
            for i in range(result.contents.cnt):
                e = result.contents.elems[i]
                if e.err != 0:
                    errors.append(f"{e.topic.decode()}-{e.partition}: {lib.rd_kafka_err2str(e.err).decode()}")
                else:
                    out[e.partition] = e.offset
            if errors:
                raise DeleteRecordsError("; ".join(errors))
            return out
        finally:
            if event:
                lib.rd_kafka_event_destroy(event)

    def close(self):
        lib = _librdkafka()
        if self.rk:
            lib.rd_kafka_queue_destroy(self.queue)
            lib.rd_kafka_destroy(self.rk)
            self.rk = None
