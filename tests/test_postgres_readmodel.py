"""Read models in PostgreSQL: the same projections, kept by the same runner, in the schema of
a ``PostgresEventStore``, answering the register's queries exactly as the SQLite tables do.

Needs the test server (``ACTION_LEDGER_TEST_PG``); skipped without it unless
``ACTION_LEDGER_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import given as for_all

from action_ledger import Ledger, MemoryEventStore, ReadModel, StoreError
from action_ledger._codec import decode
from action_ledger._decider import fold
from action_ledger._examples.west_mercia import record
from action_ledger._projections import PROJECTIONS, Projection
from action_ledger._sqlite import SQLiteEventStore
from action_ledger.commands import Command
from action_ledger.store import NewEvent
from action_ledger.testing import laws, strategies
from test_readmodel import _FAILING, _append, _by_id, _events, _folded

psycopg = pytest.importorskip("psycopg")
from action_ledger._postgres import PostgresEventStore  # noqa: E402

TABLES = [t for p in PROJECTIONS for t in p.tables]
READ_MODEL_TABLES = {t.name for t in TABLES} | {"read_model_checkpoints"}
Opener = Callable[..., Ledger]


@pytest.fixture
def open_ledger(postgres_dsn: str, pg_schema: Callable[[], str]) -> Iterator[Opener]:
    """Open ledgers (each its own connection) on a schema: a fresh one unless named."""
    opened: list[Ledger] = []

    def make(schema: str | None = None, **kwargs: Any) -> Ledger:
        ledger = Ledger(PostgresEventStore(postgres_dsn, schema=schema or pg_schema()), **kwargs)
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()


@pytest.fixture
def copy_to_sqlite(tmp_path: Path) -> Iterator[Callable[[Ledger], Ledger]]:
    """A SQLite ledger holding exactly the same log (restored from the store's events)."""
    opened: list[Ledger] = []

    def make(ledger: Ledger) -> Ledger:
        store = SQLiteEventStore(tmp_path / f"copy{len(opened)}.db")
        store.restore(ledger.store.read_all())
        opened.append(Ledger(store))
        return opened[-1]

    yield make
    for ledger in opened:
        ledger.close()


def _dump(model: ReadModel) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table's rows, in primary-key order, on either backend."""
    return {
        t.name: model.select(f"SELECT * FROM {t.name} ORDER BY {', '.join(t.pk)}") for t in TABLES
    }


def _queries(ledger: Ledger) -> dict[str, Any]:
    """The answers of every register-wide query (and one action's history) of West Mercia."""
    actions = ledger.register()
    return {
        "register": actions,
        "open": ledger.register(status="open"),
        "text": ledger.register(text="REVIEW"),
        "restricted": ledger.register(restricted=False, raised_from="2021-01-01"),
        "agenda": ledger.agenda("2021-10-04"),
        "rag": ledger.rag("2021-10-04"),
        "overdue": ledger.overdue("2022-06-01"),
        "owner": {o.role: ledger.owner(o.role, status=None) for a in actions for o in a.owners},
        "holder": {o.role: ledger.holder(o.role, "2021-12-31") for a in actions for o in a.owners},
        "chain": {a.id: ledger.chain(a.id) for a in actions},
        "meetings": ledger.meetings(),
        "meeting": [ledger.meeting(m.id) for m in ledger.meetings()],
        "history": {a.id: ledger.history(a.id) for a in actions},
    }


def test_west_mercia_answers_the_same_on_postgresql(
    open_ledger: Opener, copy_to_sqlite: Callable[[Ledger], Ledger]
) -> None:
    """Every query gives the same answer from the PostgreSQL tables as from SQLite's."""
    ledger = open_ledger()
    assert ledger.read_model.shares(ledger.store)
    record(ledger)
    sqlite_ledger = copy_to_sqlite(ledger)
    expected = _queries(sqlite_ledger)
    found = _queries(ledger)
    assert found.keys() == expected.keys()
    for name in expected:
        assert found[name] == expected[name], name
    assert expected["text"]
    assert expected["agenda"].outstanding
    assert expected["rag"]


def test_the_tables_are_in_the_schema_and_hold_the_sqlite_rows(
    open_ledger: Opener, copy_to_sqlite: Callable[[Ledger], Ledger], postgres_dsn: str
) -> None:
    """The read-model tables exist in the store's schema, with the same rows as the SQLite
    file's (of the same log), in the same primary-key order; checkpoints are at the end."""
    ledger = open_ledger()
    record(ledger)
    sqlite_ledger = copy_to_sqlite(ledger)
    assert isinstance(ledger.store, PostgresEventStore)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        names = {
            n
            for (n,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (ledger.store.schema,)
            )
        }
    assert names >= READ_MODEL_TABLES
    pg, lite = _dump(ledger.read_model), _dump(sqlite_ledger.read_model)
    for table in lite:
        assert pg[table] == lite[table], table
    assert ledger.read_model.checkpoints() == sqlite_ledger.read_model.checkpoints()
    assert ledger.read_model.position == ledger.store.last_position() == 22
    with pytest.raises(StoreError, match="PostgreSQL"):
        _ = ledger.read_model.db


def test_rebuild_equals_incremental(open_ledger: Opener) -> None:
    ledger = open_ledger()
    record(ledger)
    incremental = _dump(ledger.read_model)
    assert ledger.rebuild() == 22
    assert _dump(ledger.read_model) == incremental
    assert ledger.rebuild() == 22  # the swapped-in tables' keys were renamed: again works
    assert _dump(ledger.read_model) == incremental


def test_a_reopened_ledger_reuses_the_tables_and_a_new_version_rebuilds_one(
    open_ledger: Opener, pg_schema: Callable[[], str]
) -> None:
    """Reopening keeps the tables and checkpoints; a bumped projection version drops and
    rebuilds only that projection's tables."""
    schema = pg_schema()
    first = open_ledger(schema)
    record(first)
    before = _dump(first.read_model)
    again = open_ledger(schema)
    assert again.read_model.checkpoints() == first.read_model.checkpoints()
    assert _dump(again.read_model) == before
    bumped = tuple(
        Projection(name=p.name, version=p.version + 1, tables=p.tables, handle=p.handle)
        if p.name == "links"
        else p
        for p in PROJECTIONS
    )
    store = again.store
    model = ReadModel(again.read_model._dialect, bumped, lock=store.lock)  # type: ignore[attr-defined]
    assert model.checkpoints()["links"] == 0
    assert model.checkpoints()["actions"] == 22
    assert model.select("SELECT count(*) FROM links") == [(0,)]
    model.catch_up(store)
    assert _dump(model) == before


def test_tables_ahead_of_the_log_are_refused(open_ledger: Opener) -> None:
    ledger = open_ledger()
    record(ledger)
    other = MemoryEventStore()
    with pytest.raises(StoreError, match="rebuild"):
        ledger.read_model.catch_up(other)
    assert ledger.read_model.rebuild(other) == 0
    assert ledger.read_model.position == 0


def test_two_ledgers_on_one_schema_keep_one_correct_read_model(
    open_ledger: Opener, pg_schema: Callable[[], str]
) -> None:
    """Two ledgers (two connections) take turns changing the same action; each catches up
    the shared tables, and the row always equals the fold of the stream."""
    schema = pg_schema()
    first, second = open_ledger(schema), open_ledger(schema)
    record(first)
    second.register()
    for n in range(6):
        writer = first if n % 2 == 0 else second
        writer.update_action(
            "ACT-2018-001", note=f"Written update {n}.", source="written update", actor="JI"
        )
        for ledger in (first, second):
            folded = fold(
                decode(s)  # type: ignore[misc]
                for s in ledger.store.read_stream("action:ACT-2018-001")
            ).action
            assert [a for a in ledger.register() if a.id == "ACT-2018-001"] == [folded]
            assert ledger.read_model.position == ledger.store.last_position() == 22 + n + 1
    assert _dump(first.read_model) == _dump(second.read_model)
    action_events = [e for e in first.store.read_all() if e.stream_id.startswith("action:")]
    rows = first.read_model.select("SELECT count(*) FROM audit_trail")
    assert rows == [(len(action_events),)]  # every action event once


def test_a_failing_read_model_never_loses_the_append(
    postgres_dsn: str, pg_schema: Callable[[], str]
) -> None:
    """The append and its read-model update are one transaction; if a projection fails, the
    event still commits, the error is raised, the tables and checkpoints stay as they were,
    and the next catch-up applies the event."""
    schema = pg_schema()
    store = PostgresEventStore(postgres_dsn, schema=schema)
    dialect = ReadModel.for_store(store)._dialect  # type: ignore[attr-defined]
    failing = ReadModel(dialect, (*PROJECTIONS, _FAILING), lock=store.lock)
    ledger = Ledger(store, read_model=failing)
    assert failing.shares(store)
    with pytest.raises(RuntimeError, match="disk filled up"):
        ledger.raise_action(text="Share the headlines.", owners=["CC"], actor="JI")
    assert store.last_position() == 1
    assert failing.checkpoints() == dict.fromkeys(failing.checkpoints(), 0)
    assert failing.select("SELECT count(*) FROM actions") == [(0,)]
    store.close()
    with Ledger(PostgresEventStore(postgres_dsn, schema=schema)) as reopened:
        assert [a.text for a in reopened.register()] == ["Share the headlines."]
        assert reopened.read_model.position == 1


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@for_all(strategies.histories())
def test_postgres_tables_equal_the_fold(
    postgres_dsn: str, pg_schema: Callable[[], str], commands: list[Command]
) -> None:
    """For generated histories, the PostgreSQL tables hold the fold of each stream, and the
    same rows as SQLite's tables fed the same events."""
    events = _events(commands)
    with Ledger(PostgresEventStore(postgres_dsn, schema=pg_schema())) as ledger:
        _append(ledger.store, events)
        ledger.refresh()
        assert _by_id(ledger.register()) == _folded(events)
        lite = MemoryEventStore()
        lite.restore(ledger.store.read_all())
        with Ledger(lite) as copy:
            assert ledger.meetings() == copy.meetings()
            assert _dump(ledger.read_model) == _dump(copy.read_model)


def test_text_search_ignores_case_beyond_ascii(open_ledger: Opener) -> None:
    """``register(text=...)`` matches without regard to case in non-ASCII text too, as the
    SQLite tables' casefold does (the columns' "C" collation lowers only ASCII)."""
    ledger = open_ledger()
    raised = {
        text: ledger.raise_action(text=text, owners=["CC"], actor="JI")
        for text in ("Brief the ÉCOLE governors.", "Close Hauptstraße office.", "Plain.")
    }
    assert [a.id for a in ledger.register(text="école")] == [raised["Brief the ÉCOLE governors."]]
    assert [a.id for a in ledger.register(text="HAUPTSTRASSE")] == [
        raised["Close Hauptstraße office."]
    ]
    assert [a.id for a in ledger.register(text="50%")] == []


def _consistent(ledger: Ledger) -> None:
    """The chain verifies and every read-model table is the fold of the log."""
    assert ledger.verify().ok
    ledger.refresh()
    laws.check_read_models(ledger, list(ledger.store.read_all()))


@pytest.mark.parametrize(
    "options",
    [{"key": b"k" * 32}, {"group_commit": False}],
    ids=["keyed: sealed by the client", "no group commit"],
)
def test_the_other_write_paths_keep_the_read_models_in_step(
    postgres_dsn: str, pg_schema: Callable[[], str], options: dict[str, Any]
) -> None:
    """A keyed register (sealed by the client, two round trips) and one without group commit
    record the West Mercia meetings with their read-model rows in each command's transaction:
    the chain verifies and the tables are the fold of the log."""
    store = PostgresEventStore(postgres_dsn, schema=pg_schema(), **options)
    assert store.server_sealing is ("key" not in options)
    assert store.group_commit is ("group_commit" not in options)
    with Ledger(store) as ledger:
        record(ledger)
        checkpoints = ledger.read_model.checkpoints()
        assert set(checkpoints.values()) == {ledger.store.last_position()}  # no catch-up needed
        assert ledger.store.key == options.get("key")
        _consistent(ledger)


def test_an_append_finding_the_read_models_behind_catches_them_up_in_its_transaction(
    open_ledger: Opener,
) -> None:
    """Events appended behind the read models' back (a bulk import through the store) leave
    them behind; the next command catches them up in its own transaction, so the tables hold
    its rows and everything before, with no separate catch-up."""
    ledger = open_ledger()
    record(ledger)
    action_id = ledger.register()[0].id
    other = open_ledger(ledger.store.schema)
    before = other.store.last_position()
    other.store.append_many(  # the same events again under new ids: new actions
        [
            (f"action:X-{n}", [_renamed(e, f"x{n}-{e.event_id}") for e in events], 0)
            for n, events in enumerate(_streams(other, 2))
        ]
    )
    assert ledger.read_model.position == before  # behind: nobody caught up
    ledger.update_action(action_id, note="After the import.", source="email", actor="Officer")
    checkpoints = ledger.read_model.checkpoints()
    assert set(checkpoints.values()) == {ledger.store.last_position()}
    assert [e.summary for e in ledger.history(action_id)][-1].endswith("After the import.")
    _consistent(ledger)


def test_an_append_leaves_the_read_models_to_a_catch_up_running_elsewhere(
    open_ledger: Opener, postgres_dsn: str
) -> None:
    """While another process holds the read models' lock (catching up), a command commits its
    events without their rows and does not wait; the rows come with the next catch-up."""
    ledger = open_ledger()
    record(ledger)
    action_id = ledger.register()[0].id
    tables = ledger.read_model._dialect  # type: ignore[attr-defined]
    with psycopg.connect(postgres_dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (tables.lock_key,))
        try:
            ledger.update_action(action_id, note="While locked.", source="email", actor="A")
            last = ledger.store.last_position()
            assert ledger.read_model.position == last - 1  # committed without its rows
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (tables.lock_key,))
    assert ledger.get(action_id).last_update == "While locked."
    _consistent(ledger)
    assert ledger.read_model.position == ledger.store.last_position()


def _streams(ledger: Ledger, count: int) -> list[list[NewEvent]]:
    """The envelopes of the first ``count`` action streams of the log, as new events."""
    found: dict[str, list[NewEvent]] = {}
    for stored in ledger.store.read_all():
        if stored.stream_id.startswith("action:") and (
            stored.stream_id in found or len(found) < count
        ):
            found.setdefault(stored.stream_id, []).append(
                NewEvent(
                    event_id=stored.event_id,
                    event_type=stored.event_type,
                    schema_version=stored.schema_version,
                    data=stored.data,
                    occurred_at=stored.occurred_at,
                    actor=stored.actor,
                )
            )
    return list(found.values())


def _renamed(event: NewEvent, event_id: str) -> NewEvent:
    return attrs.evolve(event, event_id=event_id)
