"""What is particular to the PostgreSQL event store: schemas, migrations, concurrent writers
on their own connections, readers tailing the log, and connection failures.

The contract every backend passes is in ``test_store_contract.py``; these tests need the test
server too (``ACTION_LEDGER_TEST_PG``) and are skipped without it.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from action_ledger.exceptions import ConcurrencyError, StoreError, ValidationError
from action_ledger.store import verify_chain
from store_contract import new_event, new_events

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
    assert [name for name, _ in before] == ["0001_events"]
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
    """After the server ends the session, the next read and append reconnect and succeed."""
    store = open_store()
    store.append("action:A", new_events("a", 1), 0)
    for call in (
        lambda: store.last_position(),
        lambda: store.append("action:A", new_events("b", 1), 1),
    ):
        pid = store._conn.info.backend_pid
        with admin(postgres_dsn) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
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
