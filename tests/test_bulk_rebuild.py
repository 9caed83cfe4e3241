"""The bulk rebuild (stream by stream, :mod:`action_ledger._bulk`) leaves exactly the tables
the per-event path leaves, on SQLite and PostgreSQL, for generated histories (with
corrections, and with the streams' events interleaved in any order in the log, so that events
are recorded late relative to other streams); a far-behind catch-up takes the same path; a
custom projection still gets every event, in log order."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import given as for_all
from hypothesis import strategies as st

from action_ledger import Ledger, ReadModel, _readmodel
from action_ledger._bulk import has_bulk
from action_ledger._codec import stream_of
from action_ledger._projections import PROJECTIONS, Change, Projection, Put, Table
from action_ledger.commands import Command
from action_ledger.events import ActionCorrected, Event
from action_ledger.testing import strategies
from test_readmodel import _append, _events

TABLES = [t for p in PROJECTIONS for t in p.tables]


def _interleaved(events: Sequence[Event], seed: int) -> list[Event]:
    """``events`` with the streams' events interleaved at random, each stream's own order
    kept (so a stream's later events may come long after other streams' events)."""
    streams: dict[str, list[Event]] = {}
    for event in events:
        streams.setdefault(stream_of(event), []).append(event)
    # A stream's first event must come after the meetings it names: keep the meetings first.
    meetings = [s for s in streams if not s.startswith("action:")]
    order = [s for s in meetings for _ in streams[s]]
    rest = [s for s in streams if s.startswith("action:") for _ in streams[s]]
    random.Random(seed).shuffle(rest)
    cursor = {s: iter(evs) for s, evs in streams.items()}
    return [next(cursor[s]) for s in order + rest]


def _dump(model: ReadModel) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table's rows, in primary-key order, through the model's dialect."""
    return {
        t.name: model.select(f"SELECT * FROM {t.name} ORDER BY {', '.join(t.pk)}") for t in TABLES
    }


def _incremental_then_bulk(ledger: Ledger, events: Sequence[Event]) -> None:
    """Append ``events`` one by one, each followed by an event-by-event catch-up; then the
    tables a bulk rebuild makes, and those a bulk catch-up from nothing makes, must equal
    them."""
    model = ledger.read_model
    for event in events:
        _append(ledger.store, [event])
        model.catch_up(ledger.store, bulk=False)
    incremental = _dump(model)
    assert sum(map(len, incremental.values())) > 0
    done = model.rebuild(ledger.store)
    assert done == ledger.store.last_position()
    assert _dump(model) == incremental
    assert model.position == ledger.store.last_position()
    # A catch-up far behind rebuilds in bulk too: here, every table emptied and every
    # checkpoint at zero, with the threshold lowered to this small log.
    with model._transaction():
        for projection in model.projections:
            model._reset(projection)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_readmodel, "_BULK_CATCH_UP", 1)
        model.catch_up(ledger.store)
    assert _dump(model) == incremental
    assert model.position == ledger.store.last_position()


@settings(max_examples=60)
@for_all(strategies.histories(max_actions=5, max_steps=20), st.integers(0, 2**32))
def test_bulk_rebuild_equals_incremental_on_sqlite(commands: list[Command], seed: int) -> None:
    """SQLite: the bulk rebuild's tables == the per-event catch-up's, for any interleaving."""
    events = _interleaved(_events(commands), seed)
    with Ledger.open(":memory:") as ledger:
        _incremental_then_bulk(ledger, events)


def test_histories_hold_corrections() -> None:
    """The property above sees corrections (it is meant to): some generated history has one."""

    @settings(max_examples=200, database=None)
    @for_all(strategies.histories(max_actions=5, max_steps=20))
    def probe(commands: list[Command]) -> None:
        if any(isinstance(e, ActionCorrected) for e in _events(commands)):
            raise _Found

    with pytest.raises(_Found):
        probe()


class _Found(Exception):
    pass


psycopg = pytest.importorskip("psycopg")
from action_ledger._postgres import PostgresEventStore  # noqa: E402


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@for_all(strategies.histories(max_actions=5, max_steps=20), st.integers(0, 2**32))
def test_bulk_rebuild_equals_incremental_on_postgres(
    postgres_dsn: str, pg_schema: Callable[[], str], commands: list[Command], seed: int
) -> None:
    """PostgreSQL: the bulk rebuild's tables == the per-event catch-up's."""
    events = _interleaved(_events(commands), seed)
    with Ledger(PostgresEventStore(postgres_dsn, schema=pg_schema())) as ledger:
        _incremental_then_bulk(ledger, events)


# -- a custom projection -----------------------------------------------------------------------

_SEEN = Table(
    name="seen", columns={"position": int, "so_far": int, "stream": str}, pk=("position",)
)


def _make_seen() -> Projection:
    """A projection of every event: its row names its position and stream."""

    def handle(change: Change) -> Iterator[Put]:
        yield Put(
            table="seen",
            row={
                "position": change.stored.position,
                "so_far": change.stored.position - 1,
                "stream": change.stored.stream_id,
            },
        )

    return Projection(name="seen", version=1, tables=(_SEEN,), handle=handle)


@settings(max_examples=20)
@for_all(strategies.histories(max_actions=4), st.integers(0, 2**32))
def test_a_custom_projection_is_rebuilt_event_by_event_beside_the_bulk_ones(
    commands: list[Command], seed: int
) -> None:
    """With a custom projection, a rebuild still builds the register's tables in bulk and
    feeds the custom one every event in log order: both equal what catch-ups made."""
    seen = _make_seen()
    assert not has_bulk(seen)
    assert all(has_bulk(p) for p in PROJECTIONS)
    events = _interleaved(_events(commands), seed)
    with Ledger.open(":memory:") as ledger:
        model = ReadModel(ledger.read_model.db, (*PROJECTIONS, seen))
        for event in events:
            _append(ledger.store, [event])
            model.catch_up(ledger.store, bulk=False)
        before = _dump(model), model.select("SELECT * FROM seen ORDER BY position")
        assert model.rebuild(ledger.store) == ledger.store.last_position()
        after = _dump(model), model.select("SELECT * FROM seen ORDER BY position")
        assert after == before
        last = ledger.store.last_position()
        assert after[1] == [
            (e.position, e.position - 1, e.stream_id) for e in ledger.store.read_all()
        ]
        assert model.checkpoints() == {p.name: last for p in model.projections}
