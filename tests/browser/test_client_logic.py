"""The browser client's pure logic, run in the page (no Node toolchain): backoff bounds,
close-code policy, since tracking, the chat outbox's exactly-once bookkeeping, and frames
that Python's msgpack reads back as the protocol's maps."""

from __future__ import annotations

import msgpack

from protocol import MSGPACK, decode_client


def _run(page, script: str):
    return page.evaluate(f"async () => {{ {script} }}")


def test_backoff_is_full_jitter_within_exponential_bounds(pages) -> None:
    page = pages.open()
    result = _run(
        page,
        """
        const { backoffDelay, BACKOFF_BASE_MS, BACKOFF_MAX_MS } =
            await import('/static/client/reconnect.js');
        const rows = [];
        for (let attempt = 0; attempt < 12; attempt++) {
          const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
          const low = backoffDelay(attempt, { random: () => 0 });
          const high = backoffDelay(attempt, { random: () => 0.999999 });
          const drawn = Array.from({ length: 200 }, () => backoffDelay(attempt));
          rows.push({ attempt, ceiling, low, high, min: Math.min(...drawn), max: Math.max(...drawn),
                      distinct: new Set(drawn).size });
        }
        let refused = null;
        try { backoffDelay(-1); } catch (e) { refused = e.name; }
        return { rows, refused, capped: backoffDelay(60, { random: () => 0.5 }) };
        """,
    )
    for row in result["rows"]:
        assert row["low"] == 0
        assert row["ceiling"] - 1 <= row["high"] < row["ceiling"]
        assert 0 <= row["min"] <= row["max"] < row["ceiling"]
        assert row["distinct"] > 20  # jittered, not a fixed schedule
    assert [r["ceiling"] for r in result["rows"][:4]] == [500, 1000, 2000, 4000]
    assert result["rows"][-1]["ceiling"] == 30000
    assert result["capped"] == 15000
    assert result["refused"] == "RangeError"


def test_close_codes_and_goaway_decide_the_reconnect(pages) -> None:
    page = pages.open()
    result = _run(
        page,
        """
        const { closeAction, reconnectDelay } = await import('/static/client/reconnect.js');
        const codes = [1000, 1001, 1006, 1011, 1013, 4008, 4401, 4403, 4409, 4429];
        return {
          actions: Object.fromEntries(codes.map((c) => [c, closeAction(c)])),
          goaway: reconnectDelay(5, 4321, { random: () => 0.9 }),
          backoff: reconnectDelay(1, null, { random: () => 0.5 }),
        };
        """,
    )
    assert result["actions"] == {
        "1000": "retry", "1001": "retry", "1006": "retry", "1011": "retry", "1013": "retry",
        "4008": "retry", "4401": "reauth", "4403": "stop", "4409": "retry", "4429": "retry",
    }  # fmt: skip
    assert result["goaway"] == 4321
    assert result["backoff"] == 500


def test_room_cursor_tracks_since_and_finds_duplicates_and_gaps(pages) -> None:
    page = pages.open()
    result = _run(
        page,
        """
        const { RoomCursor } = await import('/static/client/room-cursor.js');
        const c = new RoomCursor();
        const out = { fresh: c.since };
        const first = c.acceptJoined({ seq: 3, history: [{ seq: 2 }, { seq: 3 }] });
        out.first = { n: first.events.length, resumed: first.resumed, since: c.since };
        out.live = [4, 4, 3, 6, 5].map((seq) => c.accept({ seq }));
        out.afterLive = c.since;
        const again = c.acceptJoined({ seq: 7, history: [{ seq: 5 }, { seq: 6 }, { seq: 7 }] });
        out.resume = { seqs: again.events.map((e) => e.seq), resumed: again.resumed,
                       since: c.since };
        c.reset();
        out.reset = c.since;
        return out;
        """,
    )
    assert result.get("fresh") is None  # undefined: a first join sends no since
    assert result["first"] == {"n": 2, "resumed": False, "since": 3}
    assert result["live"] == ["new", "duplicate", "duplicate", "gap", "new"]
    assert result["afterLive"] == 5
    assert result["resume"] == {"seqs": [6, 7], "resumed": True, "since": 7}
    assert result.get("reset") is None


def test_outbox_resends_until_acked_and_settles_once(pages) -> None:
    page = pages.open()
    result = _run(
        page,
        """
        const { Outbox } = await import('/static/client/outbox.js');
        let now = 0;
        let n = 0;
        const box = new Outbox({ now: () => now, newClientId: () => `c${++n}` });
        const a = box.add('pitch:1', 'first');
        const b = box.add('pitch:1', 'second');
        box.add('pitch:2', 'elsewhere');
        const out = { due1: box.due('pitch:1', 'conn1').map((e) => e.clientId) };
        for (const e of box.due('pitch:1', 'conn1')) box.markSent(e, 'conn1');
        out.dueAfterSend = box.due('pitch:1', 'conn1').length;
        // the connection drops: on the next one both are due again, same clientIds
        out.due2 = box.due('pitch:1', 'conn2').map((e) => e.clientId);
        for (const e of box.due('pitch:1', 'conn2')) box.markSent(e, 'conn2');
        now = 11000;
        out.overdue = box.overdue('conn2', 10000).map((e) => e.clientId);
        out.attempts = [a.attempts, b.attempts];
        let settled = 0;
        a.promise.then(() => settled++);
        out.ack = box.ack('c1', 41)?.seq;
        out.ackAgain = box.ack('c1', 41) === undefined;
        box.fail('c2', 'invalid_message', 'nope');
        out.rejected = await b.promise.then(() => null, (e) => e.code);
        await a.promise;
        out.settled = settled;
        out.left = [...box.pending.keys()];
        let duplicate = null;
        try { box.add('pitch:2', 'again', 'c3'); } catch (e) { duplicate = e.code; }
        out.duplicate = duplicate;
        return out;
        """,
    )
    assert result["due1"] == ["c1", "c2"]
    assert result["dueAfterSend"] == 0
    assert result["due2"] == ["c1", "c2"]
    assert result["overdue"] == ["c1", "c2"]
    assert result["attempts"] == [2, 2]
    assert result["ack"] == 41 and result["ackAgain"] is True
    assert result["rejected"] == "invalid_message"
    assert result["settled"] == 1
    assert result["left"] == ["c3"]
    assert result["duplicate"] == "duplicate"


def test_frames_are_msgpack_maps_the_server_accepts(pages) -> None:
    page = pages.open()
    frames = _run(
        page,
        """
        const { encodeMessage, decodeMessage } = await import('/static/client/codec.js');
        const chat = encodeMessage({ type: 'chat', room: 'pitch:7', body: 'héllo ✓',
                                     clientId: 'c-1', id: 'r1', since: undefined });
        const join = encodeMessage({ type: 'join', room: 'pitch:7', since: 12, id: 'r2' });
        let bad = null;
        try { decodeMessage(encodeMessage({ type: 'x' }).slice(0, 0)); } catch (e) { bad = e.name; }
        let big = null;
        try { encodeMessage({ type: 'chat', body: 'x'.repeat(70000) }); }
        catch (e) { big = e.name; }
        return { chat: Array.from(chat), join: Array.from(join), bad, big,
                 roundTrip: decodeMessage(join) };
        """,
    )
    chat = decode_client(bytes(frames["chat"]), MSGPACK)
    assert (chat.room, chat.body, chat.client_id, chat.id) == ("pitch:7", "héllo ✓", "c-1", "r1")
    assert msgpack.unpackb(bytes(frames["join"])) == {
        "type": "join", "room": "pitch:7", "since": 12, "id": "r2",
    }  # fmt: skip
    assert frames["roundTrip"]["since"] == 12
    assert frames["bad"] is not None and frames["big"] == "RangeError"
