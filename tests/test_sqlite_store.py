"""What is particular to the SQLite event store: the file, its pragmas and schema, bulk appends,
and sharing one file between OS processes that may be killed at any moment."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

import store_procs
from action_ledger import ActionLedgerError, MemoryEventStore, SQLiteEventStore
from action_ledger._clock import format_utc
from action_ledger.exceptions import ConcurrencyError, DuplicateEventError, StoreError
from action_ledger.store import NewEvent, StoredEvent, verify_chain
from action_ledger.testing.contract import T0, StepClock, new_event, new_events

PROCS = str(Path(store_procs.__file__).resolve())
COLUMNS = [
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
]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "register.db"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteEventStore]:
    store = SQLiteEventStore(path)
    yield store
    store.close()


def pragma(conn: sqlite3.Connection, name: str) -> object:
    return conn.execute(f"PRAGMA {name}").fetchone()[0]


# -- the file and its pragmas ----------------------------------------------------------------


def test_new_file_is_in_wal_mode(path: Path, store: SQLiteEventStore) -> None:
    """A new store's file reports ``journal_mode`` 'wal' to an unrelated connection."""
    conn = sqlite3.connect(path)
    try:
        assert pragma(conn, "journal_mode") == "wal"
    finally:
        conn.close()


def test_synchronous_is_full_by_default(store: SQLiteEventStore) -> None:
    """By default the store's connection runs with ``synchronous`` FULL (2)."""
    assert pragma(store.db.conn, "synchronous") == 2


def test_synchronous_normal_on_request(path: Path) -> None:
    """``synchronous="NORMAL"`` sets the store's connection to NORMAL (1)."""
    store = SQLiteEventStore(path, synchronous="NORMAL")
    try:
        assert pragma(store.db.conn, "synchronous") == 1
        assert pragma(store.db.conn, "journal_mode") == "wal"
    finally:
        store.close()


@pytest.mark.parametrize("value", ["OFF", "EXTRA", "full", "", "2"])
def test_invalid_synchronous_raises_store_error(path: Path, value: str) -> None:
    """Any ``synchronous`` other than 'FULL' or 'NORMAL' raises ``StoreError`` naming it."""
    with pytest.raises(StoreError, match=re.escape(f"synchronous={value!r}")):
        SQLiteEventStore(path, synchronous=value)  # type: ignore[arg-type]


def test_store_error_is_an_action_ledger_error(path: Path) -> None:
    """``StoreError`` can be caught as ``ActionLedgerError``."""
    with pytest.raises(ActionLedgerError):
        SQLiteEventStore(path, synchronous="OFF")  # type: ignore[arg-type]


def test_non_database_file_raises_store_error(path: Path) -> None:
    """Opening a file of garbage bytes raises ``StoreError`` naming the file, and leaves it as it
    was."""
    garbage = bytes(random.Random(7).randrange(256) for _ in range(8192))
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match=r"register\.db"):
        SQLiteEventStore(path)
    assert path.read_bytes() == garbage


def test_text_file_raises_store_error(path: Path) -> None:
    """Opening a plain text file (e.g. a CSV given by mistake) raises ``StoreError``."""
    path.write_text("action,owner,due\n" * 200)
    with pytest.raises(StoreError):
        SQLiteEventStore(path)


def test_missing_directory_raises_store_error(tmp_path: Path) -> None:
    """A path in a directory that does not exist raises ``StoreError``."""
    with pytest.raises(StoreError):
        SQLiteEventStore(tmp_path / "no-such-dir" / "register.db")


def test_memory_database_works(tmp_path: Path) -> None:
    """``":memory:"`` gives a working, verifiable store."""
    store = SQLiteEventStore(":memory:")
    try:
        assert store.append("action:A", new_events("a", 3), 0) == (1, 2, 3)
        assert verify_chain(store.read_all()).ok
    finally:
        store.close()


# -- schema and migrations -------------------------------------------------------------------


def test_migrations_are_recorded(path: Path, store: SQLiteEventStore) -> None:
    """The schema migrations are recorded once each, in order, in ``_sqlite_migrations``."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT migration_set, name FROM _sqlite_migrations").fetchall()
    finally:
        conn.close()
    assert rows == [
        ("action_ledger.events", "0001_events"),
        ("action_ledger.events", "0002_chain_keys"),
    ]


def test_reopening_does_not_rerun_migrations(path: Path) -> None:
    """Reopening an existing file keeps its events and does not apply the migrations again."""
    first = SQLiteEventStore(path)
    first.append("action:A", new_events("a", 3), 0)
    before = list(first.db.conn.execute("SELECT * FROM _sqlite_migrations"))
    first.close()
    for _ in range(2):
        again = SQLiteEventStore(path)
        try:
            assert list(again.db.conn.execute("SELECT * FROM _sqlite_migrations")) == before
            assert again.last_position() == 3
        finally:
            again.close()


def test_events_table_has_the_documented_columns(path: Path, store: SQLiteEventStore) -> None:
    """The ``events`` table has the documented columns, all NOT NULL, keyed by position."""
    conn = sqlite3.connect(path)
    try:
        info = conn.execute("PRAGMA table_info(events)").fetchall()
    finally:
        conn.close()
    assert [c[1] for c in info] == COLUMNS
    assert all(c[3] == 1 for c in info), "every column is NOT NULL"
    assert [c[1] for c in info if c[5]] == ["position"]


def test_events_table_enforces_unique_ids_and_versions(path: Path, store: SQLiteEventStore) -> None:
    """The file itself refuses a second row with a stored event id or stream version."""
    store.append("action:A", new_events("a", 2), 0)
    conn = sqlite3.connect(path)
    try:
        (row,) = conn.execute("SELECT * FROM events WHERE position = 2").fetchall()
        for change in ({0: 3}, {0: 3, 3: "another-id"}):  # same id; then same (stream, version)
            values = list(row)
            for index, value in change.items():
                values[index] = value
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(f"INSERT INTO events VALUES ({', '.join('?' * 12)})", values)
    finally:
        conn.close()


def test_events_table_is_readable_by_plain_sqlite(path: Path, store: SQLiteEventStore) -> None:
    """Plain ``sqlite3`` reads the same rows as ``read_all`` (while the store is open)."""
    store.append("action:A", new_events("a", 2), 0)
    store.append("meeting:M", [new_event("m", data='{"title":"Monthly Assurance Meeting"}')], 0)
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM events ORDER BY position").fetchall()
    finally:
        conn.close()
    expected = [tuple(getattr(e, c) for c in COLUMNS) for e in store.read_all()]
    assert rows == expected
    assert rows[2][6] == '{"title":"Monthly Assurance Meeting"}'


def test_foreign_sqlite_file_with_an_events_table_raises_store_error(path: Path) -> None:
    """A SQLite file of another program with its own ``events`` table raises ``StoreError``
    and gets no migration record."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, what TEXT)")
    conn.execute("INSERT INTO events (what) VALUES ('football match')")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError):
        SQLiteEventStore(path)
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert conn.execute("SELECT what FROM events").fetchall() == [("football match",)]
    finally:
        conn.close()
    assert "_sqlite_migrations" not in tables


# -- reopening and several connections -------------------------------------------------------


def test_reopened_store_continues_the_chain(path: Path) -> None:
    """After reopening, new events continue positions, versions and the hash chain."""
    first = SQLiteEventStore(path)
    first.append("action:A", new_events("a", 2), 0)
    first.close()
    second = SQLiteEventStore(path)
    try:
        assert second.append("action:A", new_events("b", 1), 2) == (3,)
        log = list(second.read_all())
        assert log[2].prev_hash == log[1].hash
        assert verify_chain(second.read_all()).ok
    finally:
        second.close()


def test_recorded_at_never_decreases_across_reopening(path: Path) -> None:
    """A store reopened with a clock behind the file's last ``recorded_at`` keeps that time."""
    first = SQLiteEventStore(path, clock=StepClock())
    first.append("action:A", [new_event("a")], 0)
    first.close()
    second = SQLiteEventStore(path, clock=StepClock(T0 - dt.timedelta(days=1)))
    try:
        second.append("action:A", [new_event("b")], 1)
        assert [e.recorded_at for e in second.read_all()] == [format_utc(T0)] * 2
    finally:
        second.close()


def test_two_stores_on_one_file_see_each_other(path: Path) -> None:
    """Two stores on one file share versions: the second's stale append is refused."""
    one, two = SQLiteEventStore(path), SQLiteEventStore(path)
    try:
        one.append("action:A", new_events("a", 2), 0)
        assert two.stream_version("action:A") == 2
        with pytest.raises(ConcurrencyError) as caught:
            two.append("action:A", [new_event("late")], 0)
        assert (caught.value.expected, caught.value.actual) == (0, 2)
        assert two.append("action:A", new_events("a", 2), 0) == (1, 2)  # a retry via the other
        assert two.append("action:B", [new_event("b")], 0) == (3,)
        assert one.last_position() == 3
    finally:
        one.close()
        two.close()


def test_failed_append_leaves_no_open_transaction(store: SQLiteEventStore) -> None:
    """After a refused append the connection is not left inside a transaction."""
    store.append("action:A", [new_event("a")], 0)
    for stream, name in (("action:A", "b"), ("action:B", "a")):  # stale; then a duplicate id
        with pytest.raises(ActionLedgerError):
            store.append(stream, [new_event(name)], 0)
        assert not store.db.conn.in_transaction


def test_read_all_reads_one_page_at_a_time(store: SQLiteEventStore) -> None:
    """Taking the first items with ``islice`` runs only the page queries they need."""
    for n in range(10):
        store.append("action:A", [new_event(f"e{n}")], n)
    queries: list[str] = []
    store.db.conn.set_trace_callback(queries.append)
    try:
        first = list(itertools.islice(store.read_all(page_size=1), 1))
        assert [e.position for e in first] == [1]
        assert len(queries) == 1
        queries.clear()
        some = list(itertools.islice(store.read_all(page_size=3), 4))
        assert [e.position for e in some] == [1, 2, 3, 4]
        assert len(queries) == 2
    finally:
        store.db.conn.set_trace_callback(None)


# -- append_many -----------------------------------------------------------------------------


def test_append_many_returns_positions_per_batch(store: SQLiteEventStore) -> None:
    """``append_many`` appends every batch in order and returns each batch's positions."""
    result = store.append_many(
        [
            ("action:A", new_events("a", 2), 0),
            ("action:B", new_events("b", 1), 0),
            ("action:A", new_events("c", 2), 2),
        ]
    )
    assert result == [(1, 2), (3,), (4, 5)]
    assert verify_chain(store.read_all()).ok


def test_append_many_is_all_or_nothing_on_a_stale_version(store: SQLiteEventStore) -> None:
    """If the third batch is stale, no event of any batch is stored."""
    store.append("meeting:M", [new_event("m")], 0)
    before = list(store.read_all())
    with pytest.raises(ConcurrencyError):
        store.append_many(
            [
                ("action:A", new_events("a", 2), 0),
                ("action:B", new_events("b", 3), 0),
                ("meeting:M", new_events("stale", 1), 0),
            ]
        )
    assert list(store.read_all()) == before
    assert store.stream_version("action:A") == 0
    assert store.stream_version("action:B") == 0
    assert not store.db.conn.in_transaction


def test_append_many_is_all_or_nothing_on_a_duplicate(store: SQLiteEventStore) -> None:
    """If a later batch reuses a stored event id elsewhere, no event of any batch is stored."""
    store.append("meeting:M", [new_event("m")], 0)
    with pytest.raises(DuplicateEventError):
        store.append_many([("action:A", new_events("a", 2), 0), ("action:B", [new_event("m")], 0)])
    assert store.last_position() == 1


def test_append_many_rolled_back_batches_can_be_sent_again(store: SQLiteEventStore) -> None:
    """After a failed ``append_many`` the same good batches append normally."""
    good = [("action:A", new_events("a", 2), 0), ("action:B", new_events("b", 1), 0)]
    with pytest.raises(ConcurrencyError):
        store.append_many([*good, ("action:C", [new_event("c")], 4)])
    assert store.append_many(good) == [(1, 2), (3,)]


def test_append_many_failure_is_invisible_to_another_connection(path: Path) -> None:
    """A second store on the file never sees the rolled-back batches."""
    one, two = SQLiteEventStore(path), SQLiteEventStore(path)
    try:
        with pytest.raises(ConcurrencyError):
            one.append_many(
                [("action:A", new_events("a", 5), 0), ("action:B", [new_event("b")], 3)]
            )
        assert two.last_position() == 0
        assert list(two.read_all()) == []
    finally:
        one.close()
        two.close()


def test_append_many_same_stream_twice_continues_its_version(store: SQLiteEventStore) -> None:
    """A stream named twice in one call: the second batch expects the version after the first."""
    store.append("action:A", [new_event("a")], 0)
    result = store.append_many(
        [("action:A", new_events("b", 2), 1), ("action:A", new_events("c", 1), 3)]
    )
    assert result == [(2, 3), (4,)]
    assert [e.version for e in store.read_stream("action:A")] == [1, 2, 3, 4]


def test_append_many_same_stream_twice_with_the_version_read_before(
    store: SQLiteEventStore,
) -> None:
    """Both batches expecting the version read before the call: the second is stale."""
    store.append("action:A", [new_event("a")], 0)
    with pytest.raises(ConcurrencyError) as caught:
        store.append_many(
            [("action:A", new_events("b", 2), 1), ("action:A", new_events("c", 1), 1)]
        )
    assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == (
        "action:A",
        1,
        3,
    )
    assert store.last_position() == 1


def test_append_many_stale_batch_in_the_middle_stores_nothing(store: SQLiteEventStore) -> None:
    """A stale batch between good ones: ``ConcurrencyError`` for it, and no batch is stored."""
    store.append("meeting:M", new_events("m", 2), 0)
    before = list(store.read_all())
    with pytest.raises(ConcurrencyError) as caught:
        store.append_many(
            [
                ("action:A", new_events("a", 2), 0),
                ("meeting:M", [new_event("stale")], 1),
                ("action:B", new_events("b", 2), 0),
            ]
        )
    assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == (
        "meeting:M",
        1,
        2,
    )
    assert list(store.read_all()) == before
    assert not store.db.conn.in_transaction
    assert store.append_many([("action:B", new_events("b", 2), 0)]) == [(3, 4)]


def test_append_many_exact_retry_is_a_noop(store: SQLiteEventStore) -> None:
    """Re-sending a whole ``append_many`` returns the original positions and stores nothing,
    although every expected version has gone stale."""
    batches = [
        ("action:A", new_events("a", 2), 0),
        ("action:B", new_events("b", 1), 0),
        ("action:A", new_events("c", 2), 2),
    ]
    first = store.append_many(batches)
    before = list(store.read_all())
    assert store.append_many(batches) == first == [(1, 2), (3,), (4, 5)]
    assert list(store.read_all()) == before
    store.append("action:B", [new_event("later")], 1)
    assert store.append_many(batches) == first


def test_append_many_retried_batch_next_to_a_new_one(store: SQLiteEventStore) -> None:
    """As with successive appends, a batch that is an exact retry is a no-op returning its
    positions while the new batches of the same call are stored."""
    stored = store.append_many([("action:A", new_events("a", 2), 0)])
    result = store.append_many(
        [("action:A", new_events("a", 2), 0), ("action:B", new_events("b", 1), 0)]
    )
    assert result == [stored[0], (3,)]
    assert store.last_position() == 3


def test_append_many_retry_at_the_current_version_after_a_new_batch(
    store: SQLiteEventStore,
) -> None:
    """A retried batch whose expected version is still current, between new batches: the INSERT
    fails part-way through the call, and the new batches are then stored once each."""
    assert store.append("action:A", new_events("a", 2), 0) == (1, 2)
    result = store.append_many(
        [
            ("action:B", new_events("b", 2), 0),
            ("action:A", new_events("a", 2), 2),
            ("action:C", new_events("c", 1), 0),
        ]
    )
    assert result == [(3, 4), (1, 2), (5,)]
    log = list(store.read_all())
    assert [(e.stream_id, e.version) for e in log][2:] == [
        ("action:B", 1),
        ("action:B", 2),
        ("action:C", 1),
    ]
    assert verify_chain(log).ok


@pytest.mark.parametrize(
    "batches",
    [
        # a batch with one stored id and one new one
        [("action:B", new_events("b", 1), 0), ("action:A", [new_event("a-2"), new_event("x")], 2)],
        # the new id first, so the INSERT fails part-way through the batch
        [("action:A", [new_event("x"), new_event("a-2")], 2)],
        # a stored batch sent to another stream
        [("action:B", new_events("b", 1), 0), ("action:C", new_events("a", 2), 0)],
        # an id repeated across two batches of the call
        [("action:B", new_events("b", 2), 0), ("action:C", [new_event("b-2")], 0)],
    ],
)
def test_append_many_partial_overlap_raises_and_stores_nothing(
    store: SQLiteEventStore, batches: list[tuple[str, list[NewEvent], int]]
) -> None:
    """Ids stored already (or earlier in the call) but not as an exact retry of a batch raise
    ``DuplicateEventError`` and store nothing of any batch."""
    store.append("action:A", new_events("a", 2), 0)
    before = list(store.read_all())
    with pytest.raises(DuplicateEventError):
        store.append_many(batches)
    assert list(store.read_all()) == before
    assert not store.db.conn.in_transaction
    assert store.append("action:A", [new_event("x")], 2) == (3,)


def test_append_many_repeated_batch_in_one_call_is_a_retry(store: SQLiteEventStore) -> None:
    """The same batch twice in one call: the second is a retry of the first, as it would be
    in successive appends."""
    batch = new_events("a", 2)
    assert store.append_many([("action:A", batch, 0), ("action:A", batch, 0)]) == [(1, 2), (1, 2)]
    assert store.last_position() == 2


def test_append_many_first_error_wins_as_in_successive_appends(store: SQLiteEventStore) -> None:
    """The error raised is that of the first failing batch, as successive appends would raise."""
    store.append("action:A", new_events("a", 2), 0)
    with pytest.raises(DuplicateEventError):  # batch 1, not batch 2's stale version
        store.append_many(
            [("action:B", [new_event("a-1"), new_event("y")], 0), ("action:A", [new_event("z")], 0)]
        )
    with pytest.raises(ConcurrencyError):  # batch 1, not batch 2's empty batch
        store.append_many([("action:A", [new_event("z")], 0), ("action:C", [], 0)])
    assert store.last_position() == 2


def test_append_many_of_nothing(store: SQLiteEventStore) -> None:
    """An empty list of batches stores nothing and returns an empty list."""
    assert store.append_many([]) == []
    assert store.last_position() == 0


@pytest.mark.parametrize(
    "retry",
    [
        ("action:B", new_events("b", 1), 0),  # of a batch earlier in the call
        ("meeting:X", [new_event("x")], 0),  # of a stored batch, at a stale version
        ("meeting:X", [new_event("x")], 1),  # of a stored batch, at the current version
    ],
)
def test_append_many_matches_successive_appends(
    path: Path, retry: tuple[str, list[NewEvent], int]
) -> None:
    """``append_many`` stores exactly what successive appends to the reference store do: same
    positions, versions, recorded times (one clock reading per appended batch, even when the
    call is decided again after finding a retry) and hashes."""
    batches = [
        ("action:A", new_events("a", 2), 0),
        ("action:B", new_events("b", 1), 0),
        ("action:A", new_events("c", 3), 2),
        retry,
        ("meeting:M", new_events("m", 2), 0),
    ]
    store = SQLiteEventStore(path, clock=StepClock(step=dt.timedelta(seconds=90)))
    reference = MemoryEventStore(clock=StepClock(step=dt.timedelta(seconds=90)))
    try:
        store.append("meeting:X", [new_event("x")], 0)
        reference.append("meeting:X", [new_event("x")], 0)
        result = store.append_many(batches)
        assert result == [reference.append(*batch) for batch in batches]
        assert list(store.read_all()) == list(reference.read_all())
        assert len({e.recorded_at for e in store.read_all()}) == 5
    finally:
        store.close()


def test_append_many_across_lookup_chunks(
    store: SQLiteEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version and id lookups split over several statements give the same results."""
    monkeypatch.setattr(store, "_chunk_size", lambda: 2)
    store.append_many([(f"action:{n}", new_events(f"s{n}", 2), 0) for n in range(5)])
    batches = [(f"action:{n}", [new_event(f"t{n}")], 2) for n in range(5)]
    assert store.append_many(batches) == [(11,), (12,), (13,), (14,), (15,)]
    assert store.append_many(batches) == [(11,), (12,), (13,), (14,), (15,)]
    with pytest.raises(ConcurrencyError):
        store.append_many([*batches[:4], ("action:4", [new_event("u")], 2)])
    assert store.last_position() == 15
    assert verify_chain(store.read_all()).ok


# -- the write path --------------------------------------------------------------------------


def test_append_runs_four_statements(store: SQLiteEventStore) -> None:
    """A normal one-event append is BEGIN IMMEDIATE, one SELECT, the INSERT and COMMIT."""
    store.append("action:A", [new_event("a")], 0)
    queries: list[str] = []
    store.db.conn.set_trace_callback(queries.append)
    try:
        store.append("action:A", [new_event("b")], 1)
    finally:
        store.db.conn.set_trace_callback(None)
    assert [q.split()[0] for q in queries] == ["BEGIN", "SELECT", "INSERT", "COMMIT"]


def test_resend_at_the_current_version_is_a_noop(store: SQLiteEventStore) -> None:
    """A retry whose expected version is still current (so the INSERT is tried and hits the
    unique id index) returns the original positions and stores nothing."""
    store.append("action:B", [new_event("b")], 0)
    batch = new_events("a", 3)
    assert store.append("action:A", batch, 0) == (2, 3, 4)
    before = list(store.read_all())
    assert store.append("action:A", batch, 3) == (2, 3, 4)
    assert list(store.read_all()) == before
    assert not store.db.conn.in_transaction


# -- several OS processes --------------------------------------------------------------------


def run_child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, PROCS, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def check_log(log: list[StoredEvent]) -> None:
    """Positions 1..N gap-free, every stream's versions 1..n, every id once."""
    assert [e.position for e in log] == list(range(1, len(log) + 1))
    versions: dict[str, list[int]] = defaultdict(list)
    for e in log:
        versions[e.stream_id].append(e.version)
    for stream, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), stream
    assert len({e.event_id for e in log}) == len(log)


@pytest.mark.slow
def test_processes_creating_one_new_file_at_once(path: Path) -> None:
    """Six processes opening the same new file at once all succeed; the schema is made once."""
    children = [run_child("open", str(path)) for _ in range(6)]
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        assert out.strip() == "ready"
    conn = sqlite3.connect(path)
    try:
        assert conn.execute(
            "SELECT count(*), count(DISTINCT name) FROM _sqlite_migrations"
        ).fetchone() == (2, 2)
    finally:
        conn.close()


@pytest.mark.slow
def test_processes_appending_to_the_same_streams(tmp_path: Path, path: Path) -> None:
    """Four processes × 50 read-then-append cycles on three shared streams lose and duplicate
    nothing, keep positions and versions gap-free, and surface every conflict correctly."""
    SQLiteEventStore(path).close()  # the schema exists before the race starts
    go = tmp_path / "go"
    workers, count = 4, 50
    children = [run_child("hammer", str(path), str(w), str(count), str(go)) for w in range(workers)]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    go.touch()
    reports = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        reports.append(json.loads(out))

    store = SQLiteEventStore(path)
    try:
        log = list(store.read_all())
        report = verify_chain(store.read_all())
    finally:
        store.close()

    assert report.ok, report.reason
    check_log(log)
    intended = {store_procs.hammer_id(w, n) for w in range(workers) for n in range(count)}
    assert Counter(e.event_id for e in log) == Counter(intended)  # each exactly once
    by_id = {e.event_id: e for e in log}
    for r in reports:
        for stream, event_id, position in r["appended"]:
            assert (by_id[event_id].stream_id, by_id[event_id].position) == (stream, position)
        assert r["replays_ok"] == len(range(0, count, 10))
        for stream, expected, actual, read in r["conflicts"]:
            assert stream in store_procs.STREAMS
            assert expected == read  # the error reports the version the caller sent ...
            assert actual > expected  # ... and the newer one another process had committed
    conflicts = sum(len(r["conflicts"]) for r in reports)
    assert conflicts > 0, "four processes racing on three streams should collide at least once"
    print(f"conflicts={conflicts} events={len(log)}")


@pytest.mark.slow
def test_sigkill_mid_batch_never_leaves_a_partial_batch(path: Path) -> None:
    """Killing a child appending 200-event batches, 20 times at random moments, never leaves a
    partial batch, a broken chain or a lost committed batch."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    batch_size, kills = 200, 20
    SQLiteEventStore(path).close()
    committed: set[tuple[int, int]] = set()  # batches a child reported done
    mid_batch_kills = 0  # kills that landed between "begin" and "done"
    rolled_back = 0  # ... whose batch is then absent: the kill interrupted the transaction
    for run in range(kills):
        child = run_child("crash", str(path), str(run), str(batch_size), "0.004")
        assert child.stdout is not None
        ready = child.stdout.readline().strip()
        assert ready == "ready", (ready, child.stderr.read() if child.stderr else "")
        time.sleep(rng.uniform(0.05, 0.4))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL, err
        lines = out.split()
        begun = [int(n) for word, n in itertools.pairwise(lines) if word == "begin"]
        done = {int(n) for word, n in itertools.pairwise(lines) if word == "done"}
        committed |= {(run, b) for b in done}

        store = SQLiteEventStore(path)
        try:
            log = list(store.read_all())
        finally:
            store.close()
        report = verify_chain(log)
        assert report.ok, (seed, run, report)
        check_log(log)
        batches: dict[tuple[int, int], list[StoredEvent]] = defaultdict(list)
        for e in log:
            batches[store_procs.crash_batch_of(e.event_id)].append(e)
        for key, events in batches.items():
            assert len(events) == batch_size, (seed, key, len(events))
            first = events[0].position
            assert [e.position for e in events] == list(range(first, first + batch_size)), key
            assert len({e.stream_id for e in events}) == 1, key
        assert committed <= set(batches), (seed, committed - set(batches))
        if begun and begun[-1] not in done:
            mid_batch_kills += 1
            rolled_back += (run, begun[-1]) not in batches
    assert len(committed) > kills, "the children should have committed many batches"
    assert mid_batch_kills > 0, f"no kill landed mid-batch (seed {seed})"
    print(
        f"seed={seed} committed={len(committed)} mid-batch kills={mid_batch_kills} "
        f"rolled back={rolled_back}"
    )
