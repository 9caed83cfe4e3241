"""What is particular to the PostgreSQL event store: schemas, migrations, concurrent writers
on their own connections, readers tailing the log, and connection failures.

The contract every backend passes is in ``test_store_contract.py``; these tests need the test
server too (``ACTION_LEDGER_TEST_PG``) and are skipped without it.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from action_ledger.exceptions import ConcurrencyError, StoreError, ValidationError
from action_ledger.store import NewEvent, verify_chain
from action_ledger.testing.contract import new_event, new_events

psycopg = pytest.importorskip("psycopg")
from action_ledger._postgres import PostgresEventStore  # noqa: E402

Opener = Callable[..., PostgresEventStore]
Schemas = Callable[[], str]

WRITERS = 4
APPENDS = 15  # per writer


@pytest.fixture
def open_store(postgres_dsn: str, pg_schema: Callable[[], str]) -> Iterator[Opener]:
    """Open stores (each its own connection) on a schema: a fresh one unless named."""
    opened: list[PostgresEventStore] = []

    def make(schema: str | None = None, **kwargs: Any) -> PostgresEventStore:
        store = PostgresEventStore(postgres_dsn, schema=schema or pg_schema(), **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def admin(dsn: str) -> Any:
    """A connection of our own, in autocommit mode, to set up or inspect a register."""
    return psycopg.connect(dsn, autocommit=True)


def test_registers_in_two_schemas_do_not_see_each_other(open_store: Opener) -> None:
    """Two schemas of one database are two registers, each with its own positions."""
    a, b = open_store(), open_store()
    assert a.append("action:A", new_events("a", 3), 0) == (1, 2, 3)
    assert b.append("action:B", new_events("b", 1), 0) == (1,)
    assert [e.event_id for e in a.read_all()] == [e.event_id for e in new_events("a", 3)]
    assert b.get_event(new_event("a-1").event_id) is None
    assert (a.last_position(), b.last_position()) == (3, 1)
    assert (a.count_streams(""), b.count_streams("action:A")) == (1, 0)


def _writer(store: PostgresEventStore, number: int, errors: list[BaseException]) -> None:
    """Append to shared and own streams, reloading the version after a lost race."""
    rng = random.Random(number)
    try:
        for n in range(APPENDS):
            stream = rng.choice(["action:shared-1", "action:shared-2", f"action:own-{number}"])
            events = new_events(f"w{number}-{n}", rng.randint(1, 2))
            while True:
                try:
                    store.append(stream, events, store.stream_version(stream))
                    break
                except ConcurrencyError:
                    continue
    except BaseException as exc:  # reported by the test thread
        errors.append(exc)


def _run_writers(open_store: Opener, schema: str) -> list[BaseException]:
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_writer, args=(open_store(schema), n, errors))
        for n in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_writers_give_gap_free_positions_and_a_sound_chain(
    open_store: Opener, pg_schema: Schemas
) -> None:
    """Writers on their own connections, racing on shared streams, leave positions 1..N, each
    stream's versions 1..k, every event once, and a chain that verifies."""
    schema = pg_schema()
    store = open_store(schema)
    assert _run_writers(open_store, schema) == []
    log = list(store.read_all(page_size=7))
    assert [e.position for e in log] == list(range(1, len(log) + 1))
    assert len({e.event_id for e in log}) == len(log)
    assert len(log) >= WRITERS * APPENDS
    for stream in {e.stream_id for e in log}:
        versions = [e.version for e in log if e.stream_id == stream]
        assert versions == list(range(1, len(versions) + 1))
    report = verify_chain(log)
    assert report.ok, report.reason


def test_a_tailing_reader_never_skips_a_position(open_store: Opener, pg_schema: Schemas) -> None:
    """A reader polling ``read_all(after=last)`` while writers run sees 1..N in order."""
    schema = pg_schema()
    reader = open_store(schema)
    seen: list[int] = []
    done = threading.Event()

    def tail() -> None:
        last = 0
        while True:
            finished = done.is_set()  # read once more after the writers have finished
            for event in reader.read_all(after=last, page_size=5):
                seen.append(event.position)
                last = event.position
            if finished:
                return

    tailer = threading.Thread(target=tail)
    tailer.start()
    try:
        errors = _run_writers(open_store, schema)
    finally:
        done.set()
        tailer.join()
    assert errors == []
    assert seen == list(range(1, reader.last_position() + 1))
    assert len(seen) >= WRITERS * APPENDS


def test_migrations_applied_twice_are_a_no_op(
    open_store: Opener, pg_schema: Schemas, postgres_dsn: str
) -> None:
    """Opening a migrated schema again, or migrating it again, changes nothing."""
    schema = pg_schema()
    first = open_store(schema)
    first.append("action:A", new_events("a", 2), 0)
    query = f"SELECT name, applied_at FROM {schema}.schema_migrations ORDER BY name"
    with admin(postgres_dsn) as conn:
        before = conn.execute(query).fetchall()
    second = open_store(schema)
    second._run(second._migrate, retry=False)
    with admin(postgres_dsn) as conn:
        assert conn.execute(query).fetchall() == before
    assert [name for name, _ in before] == [
        "0001_events",
        "0002_server_sealing",
        "0003_chain_keys",
    ]
    assert second.last_position() == 2


def test_an_events_table_not_made_by_the_migrations_is_refused(
    open_store: Opener, pg_schema: Schemas, postgres_dsn: str
) -> None:
    """A schema with someone else's ``events`` table is refused, naming the schema."""
    schema = pg_schema()
    with admin(postgres_dsn) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.events (id int)")
    with pytest.raises(StoreError, match=schema):
        open_store(schema)


@pytest.mark.parametrize("name", ["Action", "1st", "a-b", "a b", "x" * 64, "", 'a"; drop'])
def test_a_bad_schema_name_is_refused(postgres_dsn: str, name: str) -> None:
    """Schema names outside ``[a-z_][a-z0-9_]{0,62}`` are refused, the name in the message."""
    with pytest.raises(ValidationError) as caught:
        PostgresEventStore(postgres_dsn, schema=name)
    assert repr(name) in str(caught.value)


def test_an_unreachable_server_gives_a_store_error() -> None:
    """A DSN nobody answers gives ``StoreError`` naming the address but not the password."""
    dsn = "postgresql://opcc:hunter2@127.0.0.1:1/register"
    with pytest.raises(StoreError) as caught:
        PostgresEventStore(dsn, connect_timeout=2)
    message = str(caught.value)
    assert "127.0.0.1:1" in message
    assert "hunter2" not in message
    assert "running" in message


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://opcc:hunter2@db:5432/reg", "postgresql://opcc@db:5432/reg"),
        (
            "postgresql://db/reg?password=hunter2&sslmode=require",
            "postgresql://db/reg?sslmode=require",
        ),
        ("host=db password=hunter2 dbname=reg", "dbname=reg host=db"),
    ],
)
def test_the_dsn_is_shown_without_its_password(dsn: str, shown: str) -> None:
    """The password is removed from the DSN kept for messages."""
    from action_ledger._postgres import without_password

    assert without_password(dsn) == shown


def test_a_dropped_connection_is_replaced_on_the_next_call(
    open_store: Opener, postgres_dsn: str
) -> None:
    """After the server ends the session (and it is gone), the next read and append
    reconnect and succeed: the append is not sent on the dead connection."""
    store = open_store()
    store.append("action:A", new_events("a", 1), 0)
    for call in (
        lambda: store.last_position(),
        lambda: store.append("action:A", new_events("b", 1), 1),
    ):
        pid = store._conn.info.backend_pid
        with admin(postgres_dsn) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            # pg_terminate_backend only signals: wait until the session has ended.
            deadline = time.monotonic() + 10
            while (
                conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
                and time.monotonic() < deadline
            ):
                time.sleep(0.01)
        call()
        assert store._conn.info.backend_pid != pid
    assert store.last_position() == 2


def test_a_failed_commit_says_the_append_may_have_been_stored(
    open_store: Opener, pg_schema: Schemas, postgres_dsn: str
) -> None:
    """An error at COMMIT raises ``StoreError`` saying the outcome is unknown and a retry with
    the same event ids is safe; the retry then stores the batch once."""
    schema = pg_schema()
    store = open_store(schema)
    with admin(postgres_dsn) as conn:
        conn.execute(
            f"CREATE FUNCTION {schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$"
        )
        conn.execute(
            f"CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON {schema}.events "
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {schema}.refuse()"
        )
    events = new_events("a", 2)
    with pytest.raises(StoreError, match="may or may not") as caught:
        store.append("action:A", events, 0)
    assert "same event ids" in str(caught.value)
    with admin(postgres_dsn) as conn:
        conn.execute(f"DROP TRIGGER refuse ON {schema}.events")
    assert store.append("action:A", events, 0) == (1, 2)
    assert store.append("action:A", events, 0) == (1, 2)
    assert store.last_position() == 2


def test_a_closed_store_refuses_calls(open_store: Opener) -> None:
    """After ``close()``, calls raise ``StoreError`` instead of reconnecting."""
    store = open_store()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.last_position()


# -- waiting for appends: LISTEN/NOTIFY ---------------------------------------------------------


def _waiter(
    store: PostgresEventStore, after: int, timeout: float
) -> tuple[threading.Thread, dict[str, Any]]:
    """A thread blocked in ``store.wait_for_append(after, timeout)``; its result, the time it
    returned and any error land in the dict."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = store.wait_for_append(after, timeout)
        except BaseException as exc:  # reported by the test thread
            out["error"] = exc
        out["at"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _until_listening(store: PostgresEventStore) -> None:
    """Wait until the store's waiter listens and reads its connection (so an append wakes it
    through a notification, not through its first check)."""
    deadline = time.monotonic() + 10
    while store._listener is None or not store._reading:
        assert time.monotonic() < deadline, "the waiter never listened"
        time.sleep(0.01)
    time.sleep(0.2)


@pytest.mark.parametrize("write", ["append", "append_many", "restore"])
def test_a_waiter_wakes_at_once_when_another_process_appends(
    open_store: Opener, pg_schema: Schemas, write: str
) -> None:
    """A thread in ``wait_for_append`` wakes within ~100 ms of a commit by another store (its
    own connection: another process, for PostgreSQL), whichever write stored the events."""
    schema = pg_schema()
    waiting, writer = open_store(schema), open_store(schema)
    thread, out = _waiter(waiting, 0, 10)
    _until_listening(waiting)
    if write == "append":
        writer.append("action:A", new_events("a", 2), 0)
    elif write == "append_many":
        writer.append_many(
            [("action:A", new_events("a", 1), 0), ("action:B", new_events("b", 1), 0)]
        )
    else:
        source = open_store()
        source.append("action:A", new_events("a", 2), 0)
        assert writer.restore(source.read_all()) == 2
    committed = time.monotonic()
    thread.join(5)
    assert out.get("result") is True, out
    assert out["at"] - committed < 0.1


def test_a_wait_returns_at_once_when_the_log_has_passed(open_store: Opener) -> None:
    """No wait at all when the log is already past ``after``."""
    store = open_store()
    store.append("action:A", new_events("a", 2), 0)
    started = time.monotonic()
    assert store.wait_for_append(1, 10) is True
    assert time.monotonic() - started < 0.5


def test_a_wait_times_out_with_false(open_store: Opener) -> None:
    """With no append, ``wait_for_append`` returns False after about its timeout."""
    store = open_store()
    store.append("action:A", new_events("a", 1), 0)
    for timeout in (0.3, 0.0):
        started = time.monotonic()
        assert store.wait_for_append(1, timeout) is False
        assert timeout <= time.monotonic() - started < timeout + 0.3


def test_another_schemas_appends_do_not_wake_a_waiter(open_store: Opener) -> None:
    """Notifications of another register are on another channel: the waiter sleeps through
    them (it checks the log only on waking) and returns False at its timeout."""
    waiting, other = open_store(), open_store()
    checks = 0
    last_position = waiting.last_position

    def counted() -> int:
        nonlocal checks
        checks += 1
        return last_position()

    waiting.last_position = counted  # type: ignore[method-assign]
    thread, out = _waiter(waiting, 0, 1.0)
    started = time.monotonic()
    _until_listening(waiting)
    for n in range(5):
        other.append("action:A", [new_event(f"o-{n}")], n)
    thread.join(5)
    assert out.get("result") is False, out
    assert out["at"] - started >= 1.0
    assert checks <= 3  # before listening, after, at the timeout: never woken


def test_several_waiters_each_wake_for_their_position(
    open_store: Opener, pg_schema: Schemas
) -> None:
    """Waiters of one store share its listening connection; each returns when the log passes
    its own position."""
    schema = pg_schema()
    waiting, writer = open_store(schema), open_store(schema)
    first, first_out = _waiter(waiting, 0, 10)
    second, second_out = _waiter(waiting, 1, 10)
    _until_listening(waiting)
    writer.append("action:A", new_events("a", 1), 0)
    first.join(5)
    assert first_out.get("result") is True, first_out
    time.sleep(0.3)
    assert "at" not in second_out
    writer.append("action:A", new_events("b", 1), 1)
    committed = time.monotonic()
    second.join(5)
    assert second_out.get("result") is True, second_out
    assert second_out["at"] - committed < 0.1


def test_a_killed_listening_connection_is_made_again(
    open_store: Opener, pg_schema: Schemas, postgres_dsn: str
) -> None:
    """After the server ends the listening session, the next wait listens on a new one and
    wakes at once again."""
    schema = pg_schema()
    waiting, writer = open_store(schema), open_store(schema)
    assert waiting.wait_for_append(0, 0.1) is False
    assert waiting._listener is not None
    pid = waiting._listener.info.backend_pid
    with admin(postgres_dsn) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.2)
    thread, out = _waiter(waiting, 0, 10)
    _until_listening(waiting)
    writer.append("action:A", new_events("a", 1), 0)
    committed = time.monotonic()
    thread.join(5)
    assert out.get("result") is True, out
    assert out["at"] - committed < 0.1
    assert waiting._listener is not None
    assert waiting._listener.info.backend_pid != pid


def test_closing_the_store_ends_a_wait(open_store: Opener) -> None:
    """``close()`` wakes a waiter at once (it raises ``StoreError``) and closes the listening
    connection."""
    store = open_store()
    thread, out = _waiter(store, 0, 30)
    _until_listening(store)
    listener = store._listener
    started = time.monotonic()
    store.close()
    thread.join(5)
    assert time.monotonic() - started < 1
    assert isinstance(out.get("error"), StoreError), out
    assert listener is not None
    assert listener.closed
    with pytest.raises(StoreError, match="closed"):
        store.wait_for_append(0, 0.1)


# -- a server restart, and several processes ---------------------------------------------------

_CLUSTERS = Path("/etc/postgresql")


def _pg_ctl(action: str, *, check: bool = True) -> None:
    """``pg_ctlcluster`` on the local cluster (the newest version's ``main``)."""
    version = sorted(p.name for p in _CLUSTERS.iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        check=check,
        capture_output=True,
        timeout=60,
    )


def _wait_until_ready(dsn: str, timeout: float = 60) -> None:
    """Wait until the server accepts connections (``pg_isready``, then a real connection)."""
    deadline = time.monotonic() + timeout
    while True:
        ready = subprocess.run(["pg_isready", "-d", dsn, "-t", "2"], capture_output=True)
        if ready.returncode == 0:
            try:
                psycopg.connect(dsn, connect_timeout=2).close()
                return
            except psycopg.Error:
                pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the server did not come back: {ready.stdout!r}")
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.skipif(
    not (hasattr(os, "geteuid") and os.geteuid() == 0)
    or shutil.which("pg_ctlcluster") is None
    or not _CLUSTERS.is_dir(),
    reason="restarts the local PostgreSQL cluster: needs root and pg_ctlcluster",
)
def test_appends_across_a_server_restart_are_stored_exactly_once(
    open_store: Opener, pg_schema: Schemas, postgres_dsn: str
) -> None:
    """A run of appends while the server is stopped and started again: each append commits
    or raises ``StoreError``; retried with the same event ids, every event ends up stored once,
    at gap-free positions, in a chain that verifies."""
    store = open_store(pg_schema(), key=b"restart-key")
    streams = ["action:A", "action:B", "meeting:M"]
    batches = [
        (streams[n % 3], new_events(f"r{n}", 1 + n % 2), sum(1 + k % 2 for k in range(n % 3, n, 3)))
        for n in range(60)
    ]
    failed: list[int] = []
    stopper: threading.Thread | None = None
    try:
        for n, (stream, events, expected) in enumerate(batches):
            if n == 20:  # restart the server in the middle of the run
                stopper = threading.Thread(target=lambda: (_pg_ctl("stop"), time.sleep(1)))
                stopper.start()
            deadline = time.monotonic() + 90
            while True:
                try:
                    store.append(stream, events, expected)
                    break
                except StoreError:
                    failed.append(n)
                    assert time.monotonic() < deadline, f"append {n} never succeeded"
                    if stopper is not None and not stopper.is_alive():
                        _pg_ctl("start")
                        _wait_until_ready(postgres_dsn)
                        stopper = None
                    time.sleep(0.05)
            time.sleep(0.01)
    finally:
        if stopper is not None:
            stopper.join()
        _pg_ctl("start", check=False)  # exit status 2 if it runs already
        _wait_until_ready(postgres_dsn)
    assert failed, "no append failed: the server was not restarted during the run"
    log = list(store.read_all())
    expected_ids = [e.event_id for _, events, _ in batches for e in events]
    assert sorted(e.event_id for e in log) == sorted(expected_ids)
    assert [e.position for e in log] == list(range(1, len(expected_ids) + 1))
    report = verify_chain(log, key=store.key)
    assert report.ok, report.reason


PROCESSES = 4
PROCESS_APPENDS = 20


def _process_writer(dsn: str, schema: str, number: int, go: Any, out: Any) -> None:
    try:
        _write_from_process(dsn, schema, number, go, out)
    except BaseException as exc:  # reported by the test, instead of a silent exit
        out.put(("error", f"writer {number}: {exc!r}"))


def _write_from_process(dsn: str, schema: str, number: int, go: Any, out: Any) -> None:
    """A child process: wait for ``go``, then append to shared and own streams, reloading the
    version after a lost race; put the event ids it stored on ``out``."""
    store = PostgresEventStore(dsn, schema=schema, key=b"procs")
    rng = random.Random(number)
    stored: list[str] = []
    go.wait(30)
    for n in range(PROCESS_APPENDS):
        stream = rng.choice(["action:shared-1", "action:shared-2", f"action:own-{number}"])
        events = new_events(f"p{number}-{n}", rng.randint(1, 2))
        while True:
            try:
                store.append(stream, events, store.stream_version(stream))
                break
            except ConcurrencyError:
                continue
        stored.extend(e.event_id for e in events)
    store.close()
    out.put(("writer", stored))


def _process_reader(dsn: str, schema: str, done: Any, out: Any) -> None:
    try:
        _read_from_process(dsn, schema, done, out)
    except BaseException as exc:  # reported by the test, instead of a silent exit
        out.put(("error", f"reader: {exc!r}"))


def _read_from_process(dsn: str, schema: str, done: Any, out: Any) -> None:
    """A child process tailing ``read_all(after=last)`` until ``done``, then once more; put the
    (position, event id) pairs it saw on ``out``."""
    store = PostgresEventStore(dsn, schema=schema, key=b"procs")
    seen: list[tuple[int, str]] = []
    last = 0
    while True:
        finished = done.is_set()
        for event in store.read_all(after=last, page_size=7):
            seen.append((event.position, event.event_id))
            last = event.position
        if finished:
            break
        store.wait_for_append(last, 0.5)
    store.close()
    out.put(("reader", seen))


def test_processes_appending_and_tailing_lose_and_repeat_nothing(
    open_store: Opener, pg_schema: Schemas, postgres_dsn: str
) -> None:
    """Writer processes on shared and own streams, and a reader process tailing the log at the
    same time: every event stored once at gap-free positions, seen by the reader in order, and
    a chain that verifies."""
    ctx = multiprocessing.get_context("spawn")
    schema = pg_schema()
    store = open_store(schema, key=b"procs")  # creates the schema before the children start
    go, done, out = ctx.Event(), ctx.Event(), ctx.Queue()
    reader = ctx.Process(target=_process_reader, args=(postgres_dsn, schema, done, out))
    writers = [
        ctx.Process(target=_process_writer, args=(postgres_dsn, schema, n, go, out))
        for n in range(PROCESSES)
    ]
    for process in [reader, *writers]:
        process.start()
    results: list[tuple[str, Any]] = []
    try:
        go.set()
        results = [out.get(timeout=60) for _ in writers]
        assert not [r for r in results if r[0] == "error"], results
        done.set()
        results.append(out.get(timeout=60))
        assert results[-1][0] == "reader", results[-1]
    finally:
        go.set()
        done.set()
        for process in [reader, *writers]:
            process.join(30)
            if process.is_alive():
                process.kill()
    assert [p.exitcode for p in [reader, *writers]] == [0] * (PROCESSES + 1)
    written = [i for kind, ids in results if kind == "writer" for i in ids]
    (seen,) = [pairs for kind, pairs in results if kind == "reader"]
    log = list(store.read_all())
    assert len(set(written)) == len(written)
    assert sorted(e.event_id for e in log) == sorted(written)
    assert [e.position for e in log] == list(range(1, len(log) + 1))
    assert seen == [(e.position, e.event_id) for e in log]
    for stream in {e.stream_id for e in log}:
        versions = [e.version for e in log if e.stream_id == stream]
        assert versions == list(range(1, len(versions) + 1))
    report = verify_chain(log, key=store.key)
    assert report.ok, report.reason


# Text PostgreSQL can hold: no NUL, no lone surrogates (neither is valid in its text type).
_PG_TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40
)


def test_the_server_seals_any_text_as_python_hashes_it(
    open_store: Opener, postgres_dsn: str
) -> None:
    """One-stream appends are sealed by the server (``append_batch``), and for ids, types,
    data, actors and stream names holding any text (quotes, backslashes, control characters,
    any plane) its hashes are the ones Python computes: the chain verifies, and the stored
    envelopes are exactly what was appended."""
    store = open_store()
    assert store.server_sealing
    seen: list[NewEvent] = []

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        stream=_PG_TEXT.filter(bool),
        texts=st.lists(st.tuples(_PG_TEXT, _PG_TEXT, _PG_TEXT), min_size=1, max_size=3),
    )
    def append(stream: str, texts: list[tuple[str, str, str]]) -> None:
        events = [
            NewEvent(
                event_id=f"{uuid.uuid4()}{kind}",
                event_type=kind,
                schema_version=1,
                data=data,
                occurred_at="2021-10-04T12:30:00.000000Z",
                actor=actor,
            )
            for kind, data, actor in texts
        ]
        version = store.stream_version("s:" + stream)
        store.append("s:" + stream, events, version)
        seen.extend(events)

    append()
    stored = list(store.read_all())
    report = verify_chain(stored)
    assert report.ok, report
    assert [s.event_id for s in stored] == [e.event_id for e in seen]
    for envelope, event in zip(stored, seen, strict=True):
        assert (envelope.event_type, envelope.data, envelope.actor) == (
            event.event_type,
            event.data,
            event.actor,
        )


def test_a_keyed_register_is_sealed_by_the_client(open_store: Opener) -> None:
    """The server cannot compute an HMAC without an extension, so a keyed register seals on
    the client (two round trips), and its chain verifies with the key only."""
    store = open_store(key=b"k" * 32)
    assert not store.server_sealing
    store.append("action:A", new_events("a", 3), 0)
    store.append("action:A", new_events("b", 1), 3)
    events = list(store.read_all())
    assert verify_chain(events, key=b"k" * 32).ok
    assert not verify_chain(events).ok
