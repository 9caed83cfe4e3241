"""The state machine of ``action_ledger.testing``: the laws hold on every backend, and a
deliberately broken store or projection is caught within the default example budget."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator, Sequence

import attrs
import pytest
import sqlite_utils
from hypothesis import Phase, settings
from hypothesis.stateful import invariant

from action_ledger import (
    Action,
    AsOfView,
    Ledger,
    Meeting,
    MemoryEventStore,
    Projection,
    ReadModel,
    RuleViolationError,
)
from action_ledger._clock import Clock
from action_ledger._projections import PROJECTIONS, Change, Write
from action_ledger._views import Axis, MomentInput
from action_ledger.commands import Command
from action_ledger.events import ActionCorrected
from action_ledger.pytest_plugin import LedgerFactory
from action_ledger.store import NewEvent, StoredEvent
from action_ledger.testing import LawViolation, LedgerMachine, run_ledger_machine


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])
def test_the_laws_hold_on_every_backend(ledger_factory: LedgerFactory, backend: str) -> None:
    """Random valid, rejected, malformed and retried commands keep every law, after every
    step, on each backend."""
    run_ledger_machine(functools.partial(ledger_factory, backend))


class Counted(LedgerMachine):
    """Counts the runs, and what the steps covered, across one test."""

    runs = 0
    steps_accepted = 0
    rules_rejected: set[str] = set()  # noqa: RUF012 - shared by all runs on purpose

    def on_start(self) -> None:
        type(self).runs += 1

    def teardown(self) -> None:
        type(self).steps_accepted += len(self.accepted)
        type(self).rules_rejected.update(rule for rule, _ in self.rejected)
        super().teardown()


def test_the_machine_exercises_commands_and_rejections() -> None:
    """A run of 50 examples executes valid commands, and rejections of several rules."""
    run_ledger_machine(
        machine=Counted, settings=settings(max_examples=50, stateful_step_count=20, deadline=None)
    )
    assert Counted.runs >= 10
    assert Counted.steps_accepted >= 3 * Counted.runs
    assert len(Counted.rules_rejected) >= 5, Counted.rules_rejected


class SeesEveryStep(LedgerMachine):
    """A subclass's invariant runs after every step, on the machine's ledger."""

    seen: list[int] = []  # noqa: RUF012

    @invariant()
    def register_has_the_model_actions(self) -> None:
        assert {a.id for a in self.ledger.register()} == set(self.model.actions)
        type(self).seen.append(len(self.model.events))


def test_a_subclass_adds_invariants() -> None:
    """Invariants of a subclass run after every step alongside the laws."""
    run_ledger_machine(machine=SeesEveryStep, settings=settings(max_examples=5))
    assert len(SeesEveryStep.seen) > 5
    assert max(SeesEveryStep.seen) > 0


class InMemory(LedgerMachine):
    """The unittest way: the ledger named as a class attribute, the class's ``TestCase``
    collected by pytest."""

    @staticmethod
    def make_ledger(*, clock: Clock) -> Ledger:
        return Ledger.open(":memory:", clock=clock)


InMemory.TestCase.settings = settings(max_examples=5, stateful_step_count=10, deadline=None)
TestTheMachineAsATestCase = InMemory.TestCase


# -- mutations: each broken ledger must be caught -----------------------------------------------


class LosesAnEvent(MemoryEventStore):
    """Acknowledges its third append, but never stores it."""

    appends = 0

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int
    ) -> tuple[int, ...]:
        self.appends += 1
        if self.appends == 3:
            start = self.last_position() + 1
            return tuple(range(start, start + len(events)))
        return super().append(stream_id, events, expected_version)


class ReordersTwo(MemoryEventStore):
    """Reads the log back with its second and third events swapped (a paging bug)."""

    def read_all(
        self, *, after: int = 0, limit: int | None = None, page_size: int = 1000
    ) -> Iterator[StoredEvent]:
        events = list(super().read_all(after=after, limit=limit, page_size=page_size))
        if after == 0 and len(events) >= 3:
            events[1], events[2] = events[2], events[1]
        return iter(events)


class SkipsCorrections(MemoryEventStore):
    """Stores every event except corrections (which it acknowledges)."""

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int
    ) -> tuple[int, ...]:
        kept = [e for e in events if e.event_type != "action.corrected"]
        if not kept:
            start = self.last_position() + 1
            return tuple(range(start, start + len(events)))
        return super().append(stream_id, kept, expected_version)


def _skip_corrections(projection: Projection) -> Projection:
    def handle(change: Change) -> Sequence[Write]:
        if isinstance(change.event, ActionCorrected):
            return ()
        return list(projection.handle(change))

    return attrs.evolve(projection, handle=handle)


def _broken(
    *, store: type[MemoryEventStore] = MemoryEventStore, ledger: type[Ledger] = Ledger
) -> Callable[..., Ledger]:
    """A ledger factory for the machine, with a broken store or a broken ledger class."""

    def make(*, clock: Clock) -> Ledger:
        return ledger(store(clock=clock), clock=clock)

    return make


def _projection_skips_corrections(*, clock: Clock) -> Ledger:
    tables = ReadModel(
        sqlite_utils.Database(memory=True), [_skip_corrections(p) for p in PROJECTIONS]
    )
    return Ledger(MemoryEventStore(clock=clock), clock=clock, read_model=tables)


class ForgetsTheMoment(Ledger):
    """Answers ``as_of(moment)`` with the register as it is now."""

    def as_of(self, moment: MomentInput, axis: Axis = "recorded") -> AsOfView:
        return super().as_of("9999-12-31", axis)


class SwallowsRefusals(Ledger):
    """Answers a command the rules refuse with nothing, as if done (a tool that "never
    fails")."""

    def execute(self, command: Command) -> Action | Meeting:
        try:
            return super().execute(command)
        except RuleViolationError:
            return None  # type: ignore[return-value]


class RetriesWithNewIds(Ledger):
    """Gives a command whose event is stored already a new event id (so a retry is carried
    out twice)."""

    def execute(self, command: Command) -> Action | Meeting:
        event_id = getattr(command, "event_id", None)  # execute is also given non-commands
        if event_id is not None and self.store.get_event(event_id) is not None:
            command = attrs.evolve(command, event_id=str(uuid.uuid4()))
        return super().execute(command)


MUTATIONS = {
    # The ledger notices a lost or skipped event itself when a later command needs it.
    "the store drops an event": (_broken(store=LosesAnEvent), {"log-is-model", "accepts-valid"}),
    "the store reorders two events": (_broken(store=ReordersTwo), {"log-is-model"}),
    "the store skips corrections": (
        _broken(store=SkipsCorrections),
        {"log-is-model", "accepts-valid"},
    ),
    "a projection skips corrections": (_projection_skips_corrections, {"read-models-are-fold"}),
    "as-of ignores the moment": (_broken(ledger=ForgetsTheMoment), {"as-of-is-fixed"}),
    "refusals are swallowed": (_broken(ledger=SwallowsRefusals), {"rejects-invalid"}),
    "a retry is carried out again": (_broken(ledger=RetriesWithNewIds), {"retry-is-noop"}),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_broken_ledger_is_caught_within_the_default_budget(mutation: str) -> None:
    """Each mutation breaks a law the machine checks, found within the profile's examples
    (no example database, so every run finds it afresh; no shrinking, which only makes the
    report shorter)."""
    make, laws = MUTATIONS[mutation]
    budget = settings(
        database=None,
        stateful_step_count=20,
        phases=[Phase.explicit, Phase.generate],
        report_multiple_bugs=False,
    )
    with pytest.raises(LawViolation) as caught:
        run_ledger_machine(make, settings=budget)
    assert caught.value.law in laws, caught.value
