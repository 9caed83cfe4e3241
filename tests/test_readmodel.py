"""Laws of the read models, over generated valid histories: persisted tables == pure fold,
rebuild == incremental catch-up (also after a crash), as-of recorded == fold of what was
recorded by then, and every query is total."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pendulum
import pytest
from hypothesis import given as for_all
from hypothesis import strategies as st

from action_ledger import Ledger, MemoryEventStore, NotFoundError, Owner, ReadModel, StoreError
from action_ledger._codec import decode, encode, stream_of
from action_ledger._decider import Action, fold
from action_ledger._projections import PROJECTIONS, Change, Projection, Put, Table
from action_ledger._sqlite import SQLiteEventStore
from action_ledger.commands import Command
from action_ledger.events import ActionRaised, ActionUpdated, Event, MeetingEvent, MeetingRecorded
from action_ledger.testing import strategies
from action_ledger.testing.contract import StepClock
from action_ledger.testing.laws import check_read_models

TABLES = [t for p in PROJECTIONS for t in p.tables]


@pytest.fixture
def tmp_file() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory) / "register.db"


def _events(commands: Sequence[Command]) -> list[Event]:
    return strategies.RegisterModel.replay(commands).events


def _append(store: Any, events: Sequence[Event]) -> None:
    for event in events:
        stream = stream_of(event)
        store.append(stream, [encode(event)], store.stream_version(stream))


def _folded(events: Sequence[Event]) -> dict[str, Action]:
    """The pure answer: each action folded from its own events."""
    streams: dict[str, list[Any]] = {}
    for event in events:
        if not isinstance(event, MeetingEvent):
            streams.setdefault(event.action_id, []).append(event)
    found = {aid: fold(evs).action for aid, evs in streams.items()}
    return {aid: a for aid, a in found.items() if a is not None}


def _dump(db: sqlite3.Connection | Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table's rows, in primary-key order."""
    return {
        t.name: list(db.execute(f"SELECT * FROM [{t.name}] ORDER BY {', '.join(t.pk)}"))
        for t in TABLES
    }


def _by_id(actions: Sequence[Action]) -> dict[str, Action]:
    return {a.id: a for a in actions}


@for_all(strategies.histories())
def test_persisted_tables_equal_the_fold_after_every_append(commands: list[Command]) -> None:
    """After each append and catch-up, the actions table holds exactly the fold of each
    stream, the meetings table the fold of each meeting, the owners and links tables what the
    folded actions name, and the audit trail table the history built from each stream (the
    law read-models-are-fold of ``action_ledger.testing.laws``)."""
    events = _events(commands)
    with Ledger.open(":memory:") as ledger:
        for n, event in enumerate(events, 1):
            _append(ledger.store, [event])
            ledger.read_model.catch_up(ledger.store)
            assert _by_id(ledger.register()) == _folded(events[:n])
            check_read_models(ledger, list(ledger.store.read_all()))


@for_all(
    strategies.histories(),
    st.lists(st.sampled_from(["catch up", "crash", "fail mid-batch"]), min_size=1, max_size=30),
)
def test_rebuild_equals_incremental_catch_up_even_after_crashes(
    commands: list[Command], steps: list[str]
) -> None:
    """Appending with catch-ups, crashes between append and read-model update (the process
    dies: no catch-up) and read-model transactions that fail half-way, then reopening,
    leaves exactly the tables a rebuild from zero makes."""
    events = _events(commands)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "register.db"
        ledger = Ledger.open(path)
        for n, event in enumerate(events):
            _append(ledger.store, [event])
            step = steps[n % len(steps)]
            if step == "catch up":
                ledger.read_model.catch_up(ledger.store)
            elif step == "crash":
                ledger.close()  # the process stops before the read model saw the event
                ledger = Ledger.open(path)
            else:
                broken = ReadModel(ledger.read_model.db, (*PROJECTIONS, _FAILING))
                with pytest.raises(RuntimeError):
                    broken.catch_up(ledger.store)
                ledger.read_model.catch_up(ledger.store)
        ledger.close()
        with Ledger.open(path) as reopened:
            incremental = _dump(reopened.read_model.db)
            assert reopened.read_model.position == reopened.store.last_position()
            reopened.rebuild()
            assert _dump(reopened.read_model.db) == incremental
            assert _by_id(reopened.register()) == _folded(events)


def _fail(change: Change) -> list[Put]:
    raise RuntimeError("the disk filled up half-way through a read-model batch")


_FAILING = Projection(
    name="failing",
    version=1,
    tables=(Table(name="failing", columns={"x": int}, pk=("x",)),),
    handle=_fail,
)


@for_all(strategies.histories(), st.data())
def test_as_of_recorded_equals_the_fold_of_what_was_recorded_by_then(
    commands: list[Command], data: st.DataObject
) -> None:
    """``as_of(T, "recorded")`` answers exactly as the fold of the events recorded at or
    before T, through one stream (get) and through the tables (register)."""
    events = _events(commands)
    store = MemoryEventStore(clock=StepClock())
    _append(store, events)
    with Ledger(store) as ledger:
        stored = list(store.read_all())
        cut = data.draw(st.integers(0, len(stored)), label="events recorded by T")
        moment = (
            pendulum.parse(stored[cut - 1].recorded_at)
            if cut
            else pendulum.parse(stored[0].recorded_at).subtract(seconds=1)
        )
        view = ledger.as_of(moment, axis="recorded")
        expected = _folded(events[:cut])
        assert _by_id(view.register()) == expected
        for action_id, action in expected.items():
            assert view.get(action_id) == action
        assert {m.id for m in view.meetings()} == {
            e.meeting_id for e in events[:cut] if isinstance(e, MeetingRecorded)
        }


@for_all(strategies.histories(), st.data())
def test_as_of_occurred_agrees_through_streams_and_tables(
    commands: list[Command], data: st.DataObject
) -> None:
    """On the occurred axis, one action's state read from its stream equals its row in the
    view's tables; and far enough in the future, the view is the live register."""
    events = _events(commands)
    with Ledger.open(":memory:") as ledger:
        _append(ledger.store, events)
        moments = sorted({e.occurred_at for e in events})
        moment = data.draw(st.sampled_from(moments), label="T")
        view = ledger.as_of(moment, axis="occurred")
        in_tables = _by_id(view.register())
        for action_id in _folded(events):
            if action_id in in_tables:
                assert view.get(action_id) == in_tables[action_id]
            else:  # not in the view: both must say so
                with pytest.raises(NotFoundError):
                    view.get(action_id)
        future = ledger.as_of("2999-01-01", axis="occurred")
        assert _by_id(future.register()) == _by_id(ledger.register())


@for_all(strategies.histories(), st.data())
def test_every_query_is_total(commands: list[Command], data: st.DataObject) -> None:
    """No valid history makes a query raise: register, agenda, rag, overdue, owner, holder,
    chain and history, on the live register and on as-of views of both axes."""
    events = _events(commands)
    with Ledger.open(":memory:") as ledger:
        _append(ledger.store, events)
        day = data.draw(strategies.dates(), label="date")
        moment = data.draw(strategies.moments(), label="moment")
        views = [
            ledger,
            ledger.as_of(moment, axis="recorded"),
            ledger.as_of(moment, axis="occurred"),
        ]
        for view in views:
            actions = view.register()
            view.agenda(day)
            view.rag(day, amber_days=data.draw(st.integers(0, 60), label="amber"))
            view.overdue(day)
            view.meetings()
            for action in actions:
                view.chain(action.id)
                view.history(action.id)
                for owner in action.owners:
                    view.owner(owner.role)
                    view.holder(owner.role, day)


def test_tables_ahead_of_the_log_are_refused(tmp_file: Path) -> None:
    """A read model built from another, longer log is refused with advice to rebuild."""
    with Ledger.open(tmp_file) as ledger:
        from action_ledger._examples.west_mercia import record

        record(ledger)
    other = MemoryEventStore()
    model = ReadModel.open(str(tmp_file))
    with pytest.raises(StoreError, match="rebuild"):
        model.catch_up(other)
    assert model.rebuild(other) == 0
    assert model.position == 0
    model.close()


def test_a_new_projection_version_rebuilds_only_that_projection(tmp_file: Path) -> None:
    """Bumping a projection's version drops and rebuilds its tables from the start of the
    log; the other projections keep their checkpoints and rows."""
    from action_ledger._examples.west_mercia import record

    with Ledger.open(tmp_file) as ledger:
        record(ledger)
        before = _dump(ledger.read_model.db)
        last = ledger.store.last_position()
    store = SQLiteEventStore(tmp_file)
    bumped = tuple(
        Projection(name=p.name, version=p.version + 1, tables=p.tables, handle=p.handle)
        if p.name == "links"
        else p
        for p in PROJECTIONS
    )
    model = ReadModel.open(str(tmp_file), projections=bumped)
    assert model.checkpoints()["links"] == 0
    assert model.checkpoints()["actions"] == last
    assert list(model.db.execute("SELECT count(*) FROM links")) == [(0,)]
    model.catch_up(store)
    assert _dump(model.db) == before
    model.close()
    store.close()


def test_a_state_cached_before_another_process_moved_on_is_not_used(tmp_file: Path) -> None:
    """A runner that cached an action's state, while another process appended (and caught
    up) two more events of it, reloads the state instead of applying the next event to its
    outdated copy: the due date the other process set stays."""
    from action_ledger._examples.west_mercia import record

    with Ledger.open(tmp_file) as first, Ledger.open(tmp_file) as second:
        record(first)
        first.update_action("ACT-2018-001", note="First.", source="verbal", actor="JI")
        second.update_action(
            "ACT-2018-001",
            note="Second.",
            source="email",
            actor="JI",
            due="2030-01-31",
            reason="The review was moved.",
        )
        second.update_action("ACT-2018-001", note="Third.", source="email", actor="JI")
        late = ActionUpdated(
            event_id=str(uuid.uuid4()),
            actor="JI",
            occurred_at=pendulum.datetime(2026, 1, 5, tz="UTC"),
            action_id="ACT-2018-001",
            note="Fourth, appended by a process that died before catching up.",
            source="verbal",
        )
        first.store.append("action:ACT-2018-001", [encode(late)], 4)
        first.read_model.catch_up(first.store)
        (row,) = [a for a in first.register() if a.id == "ACT-2018-001"]
        assert row.due_on == pendulum.date(2030, 1, 31)
        assert row.last_update == late.note
        assert row.version == 5


def test_owners_table_loses_owners_an_update_removes(tmp_file: Path) -> None:
    """When an update gives an action fewer owners, the owners table keeps only those."""
    from action_ledger._examples.west_mercia import record

    with Ledger.open(tmp_file) as ledger:
        record(ledger)
        (two,) = [a for a in ledger.register() if len(a.owners) > 1][:1]
        ledger.update_action(
            two.id,
            note="One owner now.",
            source="verbal",
            actor="JI",
            owners=["PCC"],
            reason="Agreed at the meeting.",
        )
        rows = ledger.read_model.db.execute(
            "SELECT role, person FROM owners WHERE action_id = ?", [two.id]
        )
        assert list(rows) == [("PCC", None)]
        assert ledger.owner("PCC", status=None)
        assert two.id not in {a.id for a in ledger.owner(two.owners[1].role)}


def test_two_processes_sharing_a_file_keep_one_correct_read_model(tmp_file: Path) -> None:
    """Two ledgers on one file take turns changing the same action; each catches up the
    shared tables, and a state one of them cached is never applied after the other moved
    the action on: the row always equals the fold of the stream."""
    from action_ledger._examples.west_mercia import record

    with Ledger.open(tmp_file) as first, Ledger.open(tmp_file) as second:
        record(first)
        second.register()  # caches nothing yet; catches up
        for n in range(6):
            writer = first if n % 2 == 0 else second
            writer.update_action(
                "ACT-2018-001", note=f"Written update {n}.", source="written update", actor="JI"
            )
            for ledger in (first, second):
                row = ledger.register(text="timeline") or ledger.register()
                folded = fold(
                    decode(s)  # type: ignore[misc]
                    for s in ledger.store.read_stream("action:ACT-2018-001")
                ).action
                assert {a.id: a for a in row}.get("ACT-2018-001", folded) == folded
                assert [a for a in ledger.register() if a.id == "ACT-2018-001"] == [folded]


def test_a_failing_read_model_never_loses_the_append(tmp_file: Path) -> None:
    """On a shared SQLite connection the append and its read-model update are one
    transaction; if a projection fails, the event still commits, the error is raised, the
    tables and checkpoints stay as they were, and the next catch-up applies the event."""
    store = SQLiteEventStore(tmp_file)
    failing = ReadModel(store.db, (*PROJECTIONS, _FAILING), lock=store.lock, relaxed=True)
    ledger = Ledger(store, read_model=failing)
    assert failing.shares(store)
    with pytest.raises(RuntimeError, match="disk filled up"):
        ledger.raise_action(text="Share the headlines.", owners=["CC"], actor="JI")
    assert store.last_position() == 1
    assert failing.checkpoints() == dict.fromkeys(failing.checkpoints(), 0)
    assert list(store.db.execute("SELECT count(*) FROM actions")) == [(0,)]
    store.close()
    with Ledger.open(tmp_file) as reopened:
        assert [a.text for a in reopened.register()] == ["Share the headlines."]
        assert reopened.read_model.position == 1


def test_opening_reports_progress_while_the_tables_catch_up() -> None:
    """A Ledger opened on a log its tables have not seen reports the catch-up's progress,
    from nothing done to every event applied."""
    from action_ledger._examples.west_mercia import record

    with Ledger.open(":memory:") as source:
        record(source)
        store = source.store
        seen: list[tuple[int, int]] = []
        ledger = Ledger(store, progress=lambda done, total: seen.append((done, total)))
        assert seen[0] == (0, 22)
        assert seen[-1] == (22, 22)
        assert len(ledger.register()) == 14


# -- a rebuild is built beside the tables in use, and swapped in at once ------------------------

_KILL_AFTER = "ACTION_LEDGER_TEST_KILL_REBUILD_AFTER"


def _big_register(path: Path, actions: int) -> None:
    """A register of ``actions`` raised and updated actions (2 events each), appended in bulk
    and caught up: more events than one rebuild batch."""
    start = pendulum.datetime(2021, 1, 4, 9, tz="UTC")
    batches = []
    for n in range(actions):
        raised = ActionRaised(
            event_id=str(uuid.UUID(int=2 * n + 1)),
            actor="Jackie Irvin",
            occurred_at=start.add(minutes=n),
            action_id=f"ACT-2021-{n + 1:05d}",
            text=f"Action number {n}",
            owners=(Owner(role="CC"),),
        )
        updated = ActionUpdated(
            event_id=str(uuid.UUID(int=2 * n + 2)),
            actor="Jackie Irvin",
            occurred_at=start.add(minutes=n, seconds=30),
            action_id=raised.action_id,
            note=f"Progress on {n}",
            source="email",
        )
        batches.append((stream_of(raised), [encode(raised), encode(updated)], 0))
    with Ledger.open(path) as ledger:
        ledger.store.append_many(batches)
    with Ledger.open(path):  # catches the read models up
        pass


def _rebuild_and_die(path: str) -> None:  # pragma: no cover - runs in a child process
    """Rebuild, and SIGKILL this process once the first batch of new tables is committed."""
    limit = int(os.environ[_KILL_AFTER])

    def progress(done: int, total: int) -> None:
        if done >= limit:
            os.kill(os.getpid(), signal.SIGKILL)

    with Ledger.open(path) as ledger:
        ledger.read_model.rebuild(ledger.store, progress=progress)


def test_a_rebuild_killed_half_way_leaves_the_old_tables_in_use(tmp_file: Path) -> None:
    """SIGKILL during a rebuild (after some of the new tables were committed): the register
    opens and reads from the old tables, unchanged; the next rebuild drops the half-built
    tables and gives the same tables as before."""
    _big_register(tmp_file, 3000)  # 6,000 events: two rebuild batches
    with Ledger.open(tmp_file) as ledger:
        before = _dump(ledger.read_model.db)
        listed = ledger.register()
    assert len(listed) == 3000
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import test_readmodel as t; t._rebuild_and_die({str(tmp_file)!r})",
        ],
        cwd=Path(__file__).parent,
        env={**os.environ, _KILL_AFTER: "5000"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    with sqlite3.connect(tmp_file) as conn:  # as any reader sees it, before a catch-up
        assert _dump(conn) == before  # the tables in use are whole
        (shadow,) = conn.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE 'audit_trail__rebuild_%'"
        ).fetchone()
        half = conn.execute(f"SELECT count(*) FROM [{shadow}]").fetchone()[0]
    assert 0 < half < 6000  # the half-built ones are beside them
    with Ledger.open(tmp_file) as ledger:
        assert _dump(ledger.read_model.db) == before
        assert ledger.register() == listed
        assert ledger.read_model.position == ledger.store.last_position()
        assert ledger.read_model.rebuild(ledger.store) == 6000
        assert _dump(ledger.read_model.db) == before
        shadows = ledger.read_model.db.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE '%rebuild%'"
        ).fetchall()
    assert shadows == []


def test_a_rebuild_that_fails_half_way_changes_nothing(tmp_file: Path) -> None:
    """A projection failing in the rebuild's second batch: the error reaches the caller, and
    the tables in use and their checkpoints are as they were."""
    _big_register(tmp_file, 3000)
    with Ledger.open(tmp_file) as ledger:
        before = _dump(ledger.read_model.db)
        checkpoints = ledger.read_model.checkpoints()
        failing = Projection(
            name="failing-late",
            version=1,
            tables=(Table(name="failing_late", columns={"x": int}, pk=("x",)),),
            handle=_fail_after(5500),
        )
        model = ReadModel(ledger.read_model.db, (*PROJECTIONS, failing))
        with pytest.raises(RuntimeError, match="half-way"):
            model.rebuild(ledger.store)
        assert _dump(ledger.read_model.db) == before
        assert ledger.read_model.checkpoints() == checkpoints


def _fail_after(position: int) -> Any:
    def handle(change: Change) -> list[Put]:
        if change.stored.position >= position:
            raise RuntimeError("the disk filled up half-way through a rebuild")
        return []

    return handle


def test_a_rebuild_started_during_another_stops_that_one_and_finishes(tmp_file: Path) -> None:
    """Two rebuilds at once (here: the second runs between two batches of the first): the
    second drops the first's half-built tables, the first stops with a ``StoreError`` saying
    so, and the tables in use are the second's, complete — never a mix of the two."""
    _big_register(tmp_file, 3000)
    with Ledger.open(tmp_file) as ledger, Ledger.open(tmp_file) as other:
        before = _dump(ledger.read_model.db)
        started: list[int] = []

        def progress(done: int, total: int) -> None:
            if done and not started:
                started.append(done)
                assert other.read_model.rebuild(other.store) == 6000

        with pytest.raises(StoreError, match="another rebuild started"):
            ledger.read_model.rebuild(ledger.store, progress=progress)
        assert started == [5000]
        assert _dump(ledger.read_model.db) == before
        leftovers = ledger.read_model.db.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE '%rebuild%'"
        ).fetchall()
        assert leftovers == []
