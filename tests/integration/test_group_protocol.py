"""Group protocol edge cases that real clients do not produce on demand,
driven over a raw socket: the JoinGroup v4 MEMBER_ID_REQUIRED round trip,
ILLEGAL_GENERATION on a stale commit, DeleteGroups refused while members
are active, INVALID_SESSION_TIMEOUT / INVALID_GROUP_ID, and the flexible
(compact) encodings of DescribeGroups v5, ListGroups v4, OffsetFetch v8
(several groups in one request) and DeleteGroups v2."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import create_topic  # noqa: E402
from kafka_wire import Connection  # noqa: E402

JOIN_GROUP, SYNC_GROUP, HEARTBEAT, LEAVE_GROUP = 11, 14, 12, 13
OFFSET_COMMIT, OFFSET_FETCH, DESCRIBE_GROUPS, LIST_GROUPS, DELETE_GROUPS = 8, 9, 15, 16, 42

NONE, ILLEGAL_GENERATION, INVALID_GROUP_ID, UNKNOWN_MEMBER_ID = 0, 22, 24, 25
INVALID_SESSION_TIMEOUT, NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, MEMBER_ID_REQUIRED = 26, 68, 69, 79

METADATA = b"\x00\x00\x00\x00\x00\x01\x00\x06topicA\xff\xff\xff\xff"  # ConsumerProtocolSubscription v0


def join_v4(conn, group, member_id, session_timeout_ms=10000):
    def body(w):
        w.string(group).int32(session_timeout_ms).int32(10000).string(member_id).string("consumer")
        w.array([("range", METADATA)], lambda w, p: w.string(p[0]).bytes(p[1]))
    r = conn.request(JOIN_GROUP, 4, body, flexible=False)
    out = {"throttle": r.int32(), "error": r.int16(), "generation": r.int32(), "protocol": r.string(),
           "leader": r.string(), "member_id": r.string(),
           "members": r.array(lambda r: (r.string(), r.bytes()))}
    assert r.at_end()
    return out


class GroupProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(config={"group.initial.rebalance.delay.ms": "0"}).start()
        create_topic(cls.broker, "topicA", partitions=2)

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def setUp(self):
        self.conn = Connection(self.broker)
        self.addCleanup(self.conn.close)

    def stable_member(self, group):
        """Joins `group` through the v4 round trip and syncs; returns the member id."""
        first = join_v4(self.conn, group, "")
        joined = join_v4(self.conn, group, first["member_id"])
        member = joined["member_id"]

        def body(w):
            w.string(group).int32(joined["generation"]).string(member).string(None)
            w.array([(member, b"assignment-bytes")], lambda w, a: w.string(a[0]).bytes(a[1]))
        r = self.conn.request(SYNC_GROUP, 3, body, flexible=False)
        self.assertEqual((r.int32(), r.int16(), r.bytes()), (0, NONE, b"assignment-bytes"))
        return member

    def heartbeat(self, group, member, generation):
        r = self.conn.request(HEARTBEAT, 3, lambda w: w.string(group).int32(generation).string(member).string(None),
                              flexible=False)
        r.int32()
        return r.int16()

    def commit_v2(self, group, member, generation, offset):
        def body(w):
            w.string(group).int32(generation).string(member).int64(-1)
            w.array([("topicA", [(0, offset, "meta-%d" % offset)])],
                    lambda w, t: w.string(t[0]).array(t[1], lambda w, p: w.int32(p[0]).int64(p[1]).string(p[2])))
        r = self.conn.request(OFFSET_COMMIT, 2, body, flexible=False)
        [(_, [(_, error)])] = r.array(lambda r: (r.string(), r.array(lambda r: (r.int32(), r.int16()))))
        return error

    def fetch_v1(self, group):
        r = self.conn.request(OFFSET_FETCH, 1, lambda w: w.string(group).array(
            [("topicA", [0])], lambda w, t: w.string(t[0]).array(t[1], lambda w, p: w.int32(p))), flexible=False)
        [(_, [(_, offset, metadata, error)])] = r.array(
            lambda r: (r.string(), r.array(lambda r: (r.int32(), r.int64(), r.string(), r.int16()))))
        self.assertEqual(error, NONE)
        return offset, metadata

    def test_member_id_required_round_trip(self):
        first = join_v4(self.conn, "wire-join", "")
        self.assertEqual(first["error"], MEMBER_ID_REQUIRED)
        self.assertEqual(first["generation"], -1)
        self.assertTrue(first["member_id"].startswith("wire-test-"), first["member_id"])
        joined = join_v4(self.conn, "wire-join", first["member_id"])
        self.assertEqual(joined["error"], NONE)
        self.assertEqual(joined["generation"], 1)
        self.assertEqual(joined["protocol"], "range")
        self.assertEqual(joined["leader"], first["member_id"])
        self.assertEqual(joined["members"], [(first["member_id"], METADATA)])
        self.assertEqual(self.heartbeat("wire-join", first["member_id"], 1), NONE, "CompletingRebalance")
        member = self.stable_member("wire-join-2")
        self.assertEqual(self.heartbeat("wire-join-2", member, 1), NONE)
        self.assertEqual(self.heartbeat("wire-join-2", member, 0), ILLEGAL_GENERATION)
        self.assertEqual(self.heartbeat("wire-join-2", "someone-else", 1), UNKNOWN_MEMBER_ID)

    def test_join_errors(self):
        self.assertEqual(join_v4(self.conn, "wire-errors", "", session_timeout_ms=1000)["error"],
                         INVALID_SESSION_TIMEOUT)
        self.assertEqual(join_v4(self.conn, "", "")["error"], INVALID_GROUP_ID)
        self.assertEqual(join_v4(self.conn, "wire-errors", "not-a-member")["error"], UNKNOWN_MEMBER_ID)

    def test_stale_commit_gets_illegal_generation(self):
        member = self.stable_member("wire-commit")
        self.assertEqual(self.commit_v2("wire-commit", member, 1, 42), NONE)
        self.assertEqual(self.commit_v2("wire-commit", member, 0, 7), ILLEGAL_GENERATION)
        self.assertEqual(self.commit_v2("wire-commit", "stranger", 1, 7), UNKNOWN_MEMBER_ID)
        self.assertEqual(self.commit_v2("wire-commit", "", -1, 7), UNKNOWN_MEMBER_ID,
                         "no simple commits while the group has members")
        self.assertEqual(self.fetch_v1("wire-commit"), (42, "meta-42"))

    def test_delete_groups_refused_while_members_are_active(self):
        member = self.stable_member("wire-delete")
        self.assertEqual(self.commit_v2("wire-delete", member, 1, 5), NONE)

        def delete_v1(groups):
            r = self.conn.request(DELETE_GROUPS, 1, lambda w: w.array(groups, lambda w, g: w.string(g)),
                                  flexible=False)
            r.int32()
            return dict(r.array(lambda r: (r.string(), r.int16())))

        self.assertEqual(delete_v1(["wire-delete", "wire-nope"]),
                         {"wire-delete": NON_EMPTY_GROUP, "wire-nope": GROUP_ID_NOT_FOUND})

        def leave(w):
            w.string("wire-delete").array([member], lambda w, m: w.string(m).string(None))
        r = self.conn.request(LEAVE_GROUP, 3, leave, flexible=False)
        r.int32()
        self.assertEqual(r.int16(), NONE)
        self.assertEqual(r.array(lambda r: (r.string(), r.string(), r.int16())), [(member, None, NONE)])

        # DeleteGroups v2: the flexible encoding.
        r = self.conn.request(DELETE_GROUPS, 2, lambda w: w.array(["wire-delete"], lambda w, g: w.string(g)).tags(),
                              flexible=True)
        r.int32()
        results = r.array(lambda r: (r.string(), r.int16(), r.tags())[:2])
        r.tags()
        self.assertTrue(r.at_end())
        self.assertEqual(results, [("wire-delete", NONE)])
        self.assertEqual(self.fetch_v1("wire-delete"), (-1, ""), "its offsets went with it")

    def test_flexible_admin_views(self):
        member = self.stable_member("wire-flex")
        self.assertEqual(self.commit_v2("wire-flex", member, 1, 11), NONE)

        # DescribeGroups v5 with authorized operations.
        def describe(w):
            w.array(["wire-flex", "wire-unknown"], lambda w, g: w.string(g)).bool(True).tags()
        r = self.conn.request(DESCRIBE_GROUPS, 5, describe, flexible=True)
        r.int32()

        def group(r):
            g = {"error": r.int16(), "id": r.string(), "state": r.string(), "type": r.string(), "protocol": r.string(),
                 "members": r.array(lambda r: (r.string(), r.string(), r.string(), r.string(), r.bytes(), r.bytes(),
                                               r.tags())[:6]),
                 "ops": r.int32()}
            r.tags()
            return g
        described = r.array(group)
        r.tags()
        self.assertTrue(r.at_end())
        flex, unknown = described
        self.assertEqual((flex["error"], flex["state"], flex["type"], flex["protocol"]),
                         (NONE, "Stable", "consumer", "range"))
        self.assertEqual(flex["members"], [(member, None, "wire-test", "/127.0.0.1", METADATA, b"assignment-bytes")])
        self.assertEqual(flex["ops"], (1 << 3) | (1 << 6) | (1 << 8), "READ, DELETE, DESCRIBE")
        self.assertEqual((unknown["state"], unknown["members"]), ("Dead", []))

        # ListGroups v4, filtered by state.
        def list_groups(states):
            r = self.conn.request(LIST_GROUPS, 4, lambda w: w.array(states, lambda w, s: w.string(s)).tags(),
                                  flexible=True)
            r.int32()
            self.assertEqual(r.int16(), NONE)
            groups = r.array(lambda r: (r.string(), r.string(), r.string(), r.tags())[:3])
            r.tags()
            return groups
        self.assertIn(("wire-flex", "consumer", "Stable"), list_groups(["stable"]))
        self.assertNotIn("wire-flex", [g for g, _, _ in list_groups(["Empty"])])

        # OffsetFetch v8: two groups in one request, all partitions (null topics).
        def fetch(w):
            w.array(["wire-flex", "wire-unknown"], lambda w, g: w.string(g).array(None, None).tags())
            w.bool(False).tags()
        r = self.conn.request(OFFSET_FETCH, 8, fetch, flexible=True)
        r.int32()

        def fetched_group(r):
            gid = r.string()
            topics = r.array(lambda r: (r.string(), r.array(
                lambda r: (r.int32(), r.int64(), r.int32(), r.string(), r.int16(), r.tags())[:5]), r.tags())[:2])
            error = r.int16()
            r.tags()
            return gid, topics, error
        groups = r.array(fetched_group)
        r.tags()
        self.assertTrue(r.at_end())
        self.assertEqual(groups, [("wire-flex", [("topicA", [(0, 11, -1, "meta-11", NONE)])], NONE),
                                  ("wire-unknown", [], NONE)])


if __name__ == "__main__":
    unittest.main()
