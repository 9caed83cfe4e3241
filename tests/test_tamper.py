"""Tampering with a SQLite event file behind the store's back, and ``verify_chain`` finding it.

Each test builds a file of 30 events over four streams, closes the store, changes the file with
the plain ``sqlite3`` module (as anyone with the file could), reopens it with a new
``SQLiteEventStore`` and checks what ``verify_chain`` reports.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from action_ledger import SQLiteEventStore
from action_ledger.store import (
    GENESIS_HASH,
    NewEvent,
    StoredEvent,
    VerifyReport,
    chain_hash,
    verify_chain,
)
from action_ledger.testing.contract import StepClock, new_event, new_events

KEY = b"opcc-register-hmac-key"
STREAMS = (
    "action:ACT-2021-001",
    "action:ACT-2021-002",
    "action:ACT-2021-003",
    "meeting:2021-10-04",
)
COLUMNS = (
    "position",
    "stream_id",
    "version",
    "event_id",
    "event_type",
    "schema_version",
    "data",
    "occurred_at",
    "recorded_at",
    "actor",
    "prev_hash",
    "hash",
)
TOTAL = 30


def build(path: Path, key: bytes | None = None) -> list[StoredEvent]:
    """Write 30 events over four streams in batches of 1–3; return the log as stored."""
    store = SQLiteEventStore(path, key=key, clock=StepClock(step=dt.timedelta(minutes=3)))
    try:
        batch_no = 0
        while store.last_position() < TOTAL:
            stream = STREAMS[batch_no % len(STREAMS)]
            size = min(1 + batch_no % 3, TOTAL - store.last_position())
            store.append(stream, new_events(f"b{batch_no}", size), store.stream_version(stream))
            batch_no += 1
        log = list(store.read_all())
    finally:
        store.close()
    assert len(log) == TOTAL
    return log


def verify(path: Path, *, key: bytes | None = None, head: str | None = None) -> VerifyReport:
    """Open the file with a new store and verify the whole chain."""
    store = SQLiteEventStore(path, key=key)
    try:
        return verify_chain(store.read_all(page_size=7), key=key, head=head)
    finally:
        store.close()


@contextlib.contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the file, committed on success."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def row(conn: sqlite3.Connection, position: int) -> dict[str, Any]:
    values = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM events WHERE position = ?", (position,)
    ).fetchone()
    return dict(zip(COLUMNS, values, strict=True))


def insert(conn: sqlite3.Connection, values: dict[str, Any]) -> None:
    marks = ", ".join("?" * len(COLUMNS))
    conn.execute(
        f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({marks})",
        [values[c] for c in COLUMNS],
    )


def rehash(values: dict[str, Any], *, key: bytes | None) -> str:
    """The chain hash of a raw row, as a forger would compute it."""
    event = NewEvent(
        event_id=values["event_id"],
        event_type=values["event_type"],
        schema_version=values["schema_version"],
        data=values["data"],
        occurred_at=values["occurred_at"],
        actor=values["actor"],
    )
    return chain_hash(
        values["prev_hash"],
        position=values["position"],
        stream_id=values["stream_id"],
        version=values["version"],
        event=event,
        recorded_at=values["recorded_at"],
        key=key,
    )


def rewrite_from(conn: sqlite3.Connection, position: int, *, key: bytes | None) -> None:
    """Recompute every hash from ``position`` to the end, as a forger covering tracks would."""
    prev = GENESIS_HASH if position == 1 else row(conn, position - 1)["hash"]
    for p in range(position, TOTAL + 1):
        values = row(conn, p)
        values["prev_hash"] = prev
        values["hash"] = prev = rehash(values, key=key)
        conn.execute(
            "UPDATE events SET prev_hash = ?, hash = ? WHERE position = ?",
            (values["prev_hash"], values["hash"], p),
        )


def forged_next(conn: sqlite3.Connection, *, key: bytes | None) -> dict[str, Any]:
    """A plausible 31st event, correctly linked and hashed with ``key``."""
    last = row(conn, TOTAL)
    stream = STREAMS[0]
    (version,) = conn.execute(
        "SELECT max(version) FROM events WHERE stream_id = ?", (stream,)
    ).fetchone()
    forged = new_event("forged", event_type="action.closed", actor="intruder")
    values = {
        "position": TOTAL + 1,
        "stream_id": stream,
        "version": version + 1,
        "event_id": forged.event_id,
        "event_type": forged.event_type,
        "schema_version": forged.schema_version,
        "data": '{"resolution":"completed"}',
        "occurred_at": forged.occurred_at,
        "recorded_at": last["recorded_at"],
        "actor": forged.actor,
        "prev_hash": last["hash"],
    }
    values["hash"] = rehash(values, key=key)
    return values


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "register.db"


@pytest.fixture
def log(path: Path) -> list[StoredEvent]:
    return build(path)


@pytest.fixture
def keyed_log(path: Path) -> list[StoredEvent]:
    return build(path, key=KEY)


def assert_broken_at(report: VerifyReport, position: int, *words: str) -> None:
    assert not report.ok
    assert report.first_bad_position == position, report.reason
    assert report.reason
    for word in words:
        assert word in report.reason, report.reason


# -- the baseline ----------------------------------------------------------------------------


def test_untouched_file_verifies(path: Path, log: list[StoredEvent]) -> None:
    """The file as the store wrote it verifies, with the last event's hash as the head."""
    report = verify(path)
    assert report.ok, report.reason
    assert report.checked == TOTAL
    assert report.head_hash == log[-1].hash
    assert {e.stream_id for e in log} == set(STREAMS)


def test_untouched_keyed_file_verifies(path: Path, keyed_log: list[StoredEvent]) -> None:
    """A keyed file verifies with its key."""
    report = verify(path, key=KEY)
    assert report.ok, report.reason
    assert report.head_hash == keyed_log[-1].hash


# -- edited fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("data", '{"name":"the PCC was assured"}'),
        ("actor", "someone.else"),
        ("event_type", "action.closed"),
        ("schema_version", 2),
        ("occurred_at", "2019-01-01T00:00:00.000000Z"),
        ("recorded_at", "2021-10-04T14:00:00.000001Z"),
        ("event_id", "00000000-0000-4000-8000-000000000000"),
        ("hash", "a" * 64),
    ],
)
def test_edited_field_is_found_at_its_position(
    path: Path, log: list[StoredEvent], column: str, value: object
) -> None:
    """Editing one field of event 12 breaks the chain at 12: its hash no longer matches."""
    with raw(path) as conn:
        conn.execute(f"UPDATE events SET {column} = ? WHERE position = 12", (value,))
    assert_broken_at(verify(path), 12, "hash does not match")


def test_edited_data_in_a_keyed_file_is_found(path: Path, keyed_log: list[StoredEvent]) -> None:
    """Editing ``data`` in a keyed file is found at the edited position too."""
    with raw(path) as conn:
        conn.execute("UPDATE events SET data = '{}' WHERE position = 7")
    assert_broken_at(verify(path, key=KEY), 7, "hash does not match")


def test_edited_prev_hash_is_found(path: Path, log: list[StoredEvent]) -> None:
    """Changing the stored ``prev_hash`` of event 12 is found at 12."""
    with raw(path) as conn:
        conn.execute("UPDATE events SET prev_hash = ? WHERE position = 12", ("b" * 64,))
    assert_broken_at(verify(path), 12, "prev_hash")


def test_edited_version_is_found(path: Path, log: list[StoredEvent]) -> None:
    """Moving event 30 to a later version of its stream is found at 30 as a version jump."""
    with raw(path) as conn:
        conn.execute("UPDATE events SET version = version + 5 WHERE position = 30")
    assert_broken_at(verify(path), 30, "version")


def test_moved_to_another_stream_is_found(path: Path, log: list[StoredEvent]) -> None:
    """Reassigning event 12 to another stream is found at 12."""
    with raw(path) as conn:
        conn.execute("UPDATE events SET stream_id = 'action:ACT-2099-999' WHERE position = 12")
    assert_broken_at(verify(path), 12)


def test_edit_with_its_own_hash_recomputed_is_found_at_the_next_event(
    path: Path, log: list[StoredEvent]
) -> None:
    """Editing event 12 and recomputing only its hash breaks the link at event 13."""
    with raw(path) as conn:
        values = row(conn, 12)
        values["data"] = '{"name":"rewritten"}'
        conn.execute(
            "UPDATE events SET data = ?, hash = ? WHERE position = 12",
            (values["data"], rehash(values, key=None)),
        )
    assert_broken_at(verify(path), 13, "prev_hash")


def test_rewritten_unkeyed_tail_is_caught_only_by_the_published_head(
    path: Path, log: list[StoredEvent]
) -> None:
    """Rewriting an unkeyed chain from event 12 on passes alone but fails against the old head."""
    head = verify(path).head_hash
    with raw(path) as conn:
        conn.execute("UPDATE events SET data = '{}' WHERE position = 12")
        rewrite_from(conn, 12, key=None)
    assert verify(path).ok  # undetectable from the file alone without a key
    report = verify(path, head=head)
    assert not report.ok
    assert report.reason
    assert "head" in report.reason


def test_rewritten_keyed_tail_without_the_key_is_found(
    path: Path, keyed_log: list[StoredEvent]
) -> None:
    """Rewriting a keyed chain from event 12 with plain SHA-256 is found at 12."""
    with raw(path) as conn:
        conn.execute("UPDATE events SET data = '{}' WHERE position = 12")
        rewrite_from(conn, 12, key=None)
    assert_broken_at(verify(path, key=KEY), 12, "hash does not match")


def test_rewritten_keyed_tail_with_a_guessed_key_is_found(
    path: Path, keyed_log: list[StoredEvent]
) -> None:
    """Rewriting a keyed chain with a wrong key is found at the first rewritten event."""
    with raw(path) as conn:
        conn.execute("UPDATE events SET actor = 'intruder' WHERE position = 20")
        rewrite_from(conn, 20, key=b"a-guess")
    assert_broken_at(verify(path, key=KEY), 20, "hash does not match")


# -- removed and reordered rows --------------------------------------------------------------


@pytest.mark.parametrize("position", [1, 2, 15, 29])
def test_deleted_row_is_found_where_it_was(
    path: Path, log: list[StoredEvent], position: int
) -> None:
    """Deleting an event that has a successor is found at the deleted position."""
    with raw(path) as conn:
        conn.execute("DELETE FROM events WHERE position = ?", (position,))
    assert_broken_at(verify(path), position, "removed")


def test_deleted_last_row_passes_without_a_head(path: Path, log: list[StoredEvent]) -> None:
    """Deleting the last event leaves a valid shorter chain: the file alone cannot tell."""
    with raw(path) as conn:
        conn.execute("DELETE FROM events WHERE position = ?", (TOTAL,))
    report = verify(path)
    assert report.ok
    assert report.checked == TOTAL - 1
    assert report.head_hash == log[-2].hash


def test_deleted_last_row_is_caught_by_the_published_head(
    path: Path, log: list[StoredEvent]
) -> None:
    """Deleting the last event is caught when verifying against the head published before."""
    head = verify(path).head_hash
    with raw(path) as conn:
        conn.execute("DELETE FROM events WHERE position = ?", (TOTAL,))
    report = verify(path, head=head)
    assert not report.ok
    assert report.reason
    assert head in report.reason
    assert report.checked == TOTAL - 1
    assert report.head_hash == log[-2].hash


def test_truncated_tail_is_caught_by_the_published_head(path: Path, log: list[StoredEvent]) -> None:
    """Deleting the last six events is caught by the published head."""
    head = log[-1].hash
    with raw(path) as conn:
        conn.execute("DELETE FROM events WHERE position > 24")
    assert verify(path).ok
    assert not verify(path, head=head).ok


@pytest.mark.parametrize(("first", "second"), [(10, 20), (10, 11), (1, 30), (29, 30)])
def test_swapped_rows_are_found_at_the_first(
    path: Path, log: list[StoredEvent], first: int, second: int
) -> None:
    """Swapping two events' contents (every column but position) is found at the earlier one."""
    with raw(path) as conn:
        a, b = row(conn, first), row(conn, second)
        conn.execute("DELETE FROM events WHERE position IN (?, ?)", (first, second))
        insert(conn, {**b, "position": first})
        insert(conn, {**a, "position": second})
    assert_broken_at(verify(path), first)


def test_renumbered_last_row_is_found(path: Path, log: list[StoredEvent]) -> None:
    """Moving the last event to a later position leaves a gap, found where the gap is."""
    with raw(path) as conn:
        conn.execute("UPDATE events SET position = ? WHERE position = ?", (TOTAL + 5, TOTAL))
    assert_broken_at(verify(path), TOTAL, "position")


# -- forged rows -----------------------------------------------------------------------------


def test_appended_row_with_a_garbage_hash_is_found(path: Path, log: list[StoredEvent]) -> None:
    """A forged 31st event with a made-up hash is found at 31."""
    with raw(path) as conn:
        values = forged_next(conn, key=None)
        values["hash"] = "deadbeef" * 8
        insert(conn, values)
    assert_broken_at(verify(path), TOTAL + 1, "hash does not match")


def test_appended_row_with_a_wrong_link_is_found(path: Path, log: list[StoredEvent]) -> None:
    """A forged 31st event whose ``prev_hash`` is not event 30's hash is found at 31."""
    with raw(path) as conn:
        values = forged_next(conn, key=None)
        values["prev_hash"] = log[-2].hash
        values["hash"] = rehash(values, key=None)
        insert(conn, values)
    assert_broken_at(verify(path), TOTAL + 1, "prev_hash")


def test_appended_row_hashed_correctly_passes_an_unkeyed_chain(
    path: Path, log: list[StoredEvent]
) -> None:
    """Without a key, a forger who recomputes ``chain_hash`` can append undetectably (even the
    old published head is still in the log): the reason to use a key."""
    head = log[-1].hash
    with raw(path) as conn:
        insert(conn, forged_next(conn, key=None))
    report = verify(path, head=head)
    assert report.ok
    assert report.checked == TOTAL + 1


def test_appended_row_hashed_without_the_key_is_found(
    path: Path, keyed_log: list[StoredEvent]
) -> None:
    """With an HMAC key, a forged 31st event hashed without the key is found at 31."""
    with raw(path) as conn:
        insert(conn, forged_next(conn, key=None))
    assert_broken_at(verify(path, key=KEY), TOTAL + 1, "hash does not match")


def test_appended_row_hashed_with_the_key_passes(path: Path, keyed_log: list[StoredEvent]) -> None:
    """Control: the same forgery made with the real key verifies, so the check above is real."""
    with raw(path) as conn:
        insert(conn, forged_next(conn, key=KEY))
    report = verify(path, key=KEY)
    assert report.ok, report.reason
    assert report.checked == TOTAL + 1
