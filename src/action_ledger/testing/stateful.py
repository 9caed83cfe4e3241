"""A stateful test for any ledger: random commands, and the laws checked after every step.

:class:`LedgerMachine` is a Hypothesis ``RuleBasedStateMachine``. Each step does one of:

* execute one to three valid commands (drawn by :func:`strategies.commands` from the pure
  model's state) on the ledger and on a :class:`~action_ledger.testing.RegisterModel`; the
  ledger must accept each and return what the model holds;
* execute a valid correction (:func:`strategies.correction_commands`), likewise;
* execute a command ``decide`` turns down (:func:`strategies.rejected_commands`, tagged with
  its rule): the ledger must raise that error and rule, and change nothing;
* call a keyword method with malformed input (:func:`strategies.invalid_inputs`): the
  ledger must raise the tagged error and change nothing;
* retry a command that was accepted earlier: nothing changes (its event id is its key);
* remember what the register says as of now, to check later that it never changes (the
  first few valid steps of a run remember it too).

After every step the laws of :mod:`action_ledger.testing.laws` are checked: the log is the
model's events; it only grew; each state is the fold of its stream; the read models are the
fold of the log; verify is ok; and the register as of each remembered moment is unchanged.

Run it on your backend (or a ledger with your tool attached) with :func:`run_ledger_machine`,
or subclass it to add invariants of your own::

    class WithReminders(LedgerMachine):
        def on_start(self) -> None:
            self.job = ReminderJob(self.ledger)

        @invariant()
        def reminders_match_the_register(self) -> None:
            ...

    run_ledger_machine(lambda clock: Ledger.open(":memory:", clock=clock), machine=WithReminders)

The unittest way works too: give the subclass a ``make_ledger`` static method and let pytest
collect ``TestWithReminders = WithReminders.TestCase``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import ClassVar, Protocol, cast

import hypothesis
import pendulum
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from .._clock import Clock
from .._decider import Action, Meeting
from .._history import AuditEntry
from .._ledger import Ledger
from ..commands import Command, CorrectMeeting, RecordMeeting
from ..exceptions import ActionLedgerError
from ..store import StoredEvent
from . import strategies
from .contract import StepClock
from .laws import (
    LawViolation,
    RegisterSnapshot,
    check_append_only,
    check_as_of,
    check_audit_append_only,
    check_laws,
    snapshot,
)
from .strategies import RegisterModel

__all__ = ["LEDGER_CLOCK_START", "LedgerMachine", "MakeLedger", "run_ledger_machine"]

#: When a machine's ledger starts recording: after every occurred time the strategies draw
#: (meetings and raises in 2018–2026, follow-ups up to two years after their raise).
LEDGER_CLOCK_START = pendulum.datetime(2030, 1, 7, 9, 0, tz="UTC")

#: How many steps a run takes unless its settings say otherwise.
DEFAULT_STEPS = 20

#: How many as-of moments a machine remembers at once (each is re-checked after every step).
REMEMBERED_MOMENTS = 3


class MakeLedger(Protocol):
    """Makes a fresh, empty :class:`~action_ledger.Ledger` that records with ``clock``.

    ``lambda clock: Ledger.open(":memory:", clock=clock)`` is one; so is the ``ledger_factory``
    fixture of the pytest plugin with its backend bound
    (``functools.partial(ledger_factory, "sqlite")``).
    """

    def __call__(self, *, clock: Clock) -> Ledger: ...


def _memory_ledger(*, clock: Clock) -> Ledger:
    return Ledger.open(":memory:", clock=clock)


class LedgerMachine(RuleBasedStateMachine):
    """Drives a ledger with random commands and checks its laws after every step.

    Args:
        make_ledger: makes the fresh ledger each run uses (see :class:`MakeLedger`);
            by default the class's :attr:`make_ledger`, an in-memory ledger.

    Attributes:
        ledger: the ledger under test.
        model: the pure model: the events of every accepted command, and each stream's state.
        clock: the step clock the ledger records with (one minute a reading, from 2030).
        accepted: the commands accepted so far, in order.
        rejected: ``(rule, error type name)`` of each rejection seen, in order.

    Subclass it to attach your tool: start it in :meth:`on_start`, check it in methods
    decorated with ``hypothesis.stateful.invariant`` (they run after every step, like the
    built-in laws), and stop it in :meth:`teardown` (calling ``super().teardown()``).
    """

    make_ledger: ClassVar[MakeLedger] = staticmethod(_memory_ledger)

    def __init__(self, make_ledger: MakeLedger | None = None) -> None:
        super().__init__()
        self.clock = StepClock(LEDGER_CLOCK_START, dt.timedelta(minutes=1))
        factory = type(self).make_ledger if make_ledger is None else make_ledger
        self.ledger: Ledger = factory(clock=self.clock)
        self.model = RegisterModel()
        self.accepted: list[Command] = []
        self.rejected: list[tuple[str, str]] = []
        self._log: list[StoredEvent] = []
        self._histories: dict[str, tuple[AuditEntry, ...]] = {}
        self._moments: list[RegisterSnapshot] = []
        self.on_start()

    def on_start(self) -> None:
        """Called once the ledger is open, before the first step: start your tool here."""

    def teardown(self) -> None:
        """Close the ledger (a subclass that overrides this calls ``super().teardown()``)."""
        self.ledger.close()

    # -- steps --------------------------------------------------------------------------------

    @rule(data=st.data(), count=st.integers(1, 3))
    def execute_valid_commands(self, data: st.DataObject, count: int) -> None:
        """Valid commands are accepted, and give what the model gives."""
        for _ in range(count):
            command = data.draw(strategies.commands(self.model), label="command")
            self._carry_out(command)

    @precondition(lambda self: bool(self.model.actions))
    @rule(data=st.data())
    def correct_an_event(self, data: st.DataObject) -> None:
        """A valid correction is accepted, and gives what the model gives."""
        self._carry_out(data.draw(strategies.correction_commands(self.model), label="correction"))

    def _carry_out(self, command: Command) -> None:
        if self._log and len(self._moments) < REMEMBERED_MOMENTS:
            self.remember_the_register_now()  # so that every run checks as-of-is-fixed
        try:
            result = self.ledger.execute(command)
        except ActionLedgerError as exc:
            raise LawViolation(
                "accepts-valid", f"the ledger refused {command!r}, which decide accepts: {exc}"
            ) from exc
        self.model.apply(command)
        self.accepted.append(command)
        expected = _state_of(self.model, command)
        if result != expected:
            raise LawViolation(
                "accepts-valid", f"execute returned {result!r}, the model holds {expected!r}"
            )

    @rule(data=st.data())
    def execute_a_rejected_command(self, data: st.DataObject) -> None:
        """A command ``decide`` turns down raises its error and rule, and changes nothing."""
        case = data.draw(strategies.rejected_commands(self.model), label="rejected")
        self._refused(lambda: self.ledger.execute(case.command), case.error, case.rule)

    @rule(data=st.data())
    def call_with_invalid_input(self, data: st.DataObject) -> None:
        """Malformed input raises its error, and changes nothing."""
        case = data.draw(strategies.invalid_inputs(), label="invalid input")
        self._refused(lambda: case.call(self.ledger), case.error, case.rule)

    @precondition(lambda self: bool(self.accepted))
    @rule(data=st.data())
    def retry_an_accepted_command(self, data: st.DataObject) -> None:
        """A command carried out before is not carried out again."""
        command = data.draw(st.sampled_from(self.accepted), label="retried")
        head = self.ledger.head()
        try:
            self.ledger.execute(command)
        except ActionLedgerError as exc:
            raise LawViolation("retry-is-noop", f"retrying {command!r} raised {exc!r}") from exc
        if self.ledger.head() != head:
            raise LawViolation("retry-is-noop", f"retrying {command!r} changed the log")

    @precondition(lambda self: bool(self._log))
    @rule()
    def remember_the_register_now(self) -> None:
        """Remember what the register says as of the last recorded event."""
        moment = self._log[-1].recorded_at
        with self.ledger.as_of(moment) as view:
            now = snapshot(view, moment)
        self._moments = [*self._moments[-(REMEMBERED_MOMENTS - 1) :], now]

    # -- laws ---------------------------------------------------------------------------------

    @invariant()
    def laws_hold(self) -> None:
        """The laws hold after every step (see :meth:`check_laws`)."""
        self.check_laws()

    def check_laws(self) -> None:
        """Check log-is-model, append-only, state-is-fold, read-models-are-fold, verify-ok
        and as-of-is-fixed against the ledger now.

        Raises:
            LawViolation: a law does not hold.
        """
        log = check_laws(self.ledger, self.model)
        check_append_only(self._log, log)
        self._log = log
        known = {aid: self._histories.get(aid, ()) for aid in self.model.actions}
        self._histories = check_audit_append_only(known, self.ledger)
        for earlier in self._moments:
            check_as_of(self.ledger, earlier)

    # -- helpers ------------------------------------------------------------------------------

    def _refused(
        self, call: Callable[[], object], error: type[ActionLedgerError], rule_name: str
    ) -> None:
        head = self.ledger.head()
        register = self.ledger.register()
        try:
            call()
        except ActionLedgerError as exc:
            if not isinstance(exc, error):
                raise LawViolation(
                    "rejects-invalid", f"expected {error.__name__} ({rule_name}), got {exc!r}"
                ) from exc
            got = getattr(exc, "rule", None)
            if got is not None and got != rule_name:
                raise LawViolation(
                    "rejects-invalid", f"expected rule {rule_name!r}, got {got!r}: {exc}"
                ) from exc
        else:
            raise LawViolation("rejects-invalid", f"expected {error.__name__} ({rule_name})")
        self.rejected.append((rule_name, error.__name__))
        if self.ledger.head() != head or self.ledger.register() != register:
            raise LawViolation(
                "rejects-invalid", f"a refused call ({rule_name}) changed the register"
            )


def run_ledger_machine(
    make_ledger: MakeLedger | None = None,
    *,
    machine: type[LedgerMachine] = LedgerMachine,
    settings: hypothesis.settings | None = None,
) -> None:
    """Run ``machine`` as a test on ledgers from ``make_ledger``.

    Args:
        make_ledger: makes each run's fresh ledger (see :class:`MakeLedger`); by default
            the machine's own.
        machine: :class:`LedgerMachine` or a subclass with invariants of your own.
        settings: Hypothesis settings; by default the current profile's, with
            ``stateful_step_count`` of 20 and no deadline (a run of steps on a database
            takes longer than Hypothesis's 200 ms for reasons that are not bugs). Settings
            given here replace those two as well: name them.

    Raises:
        LawViolation: a law does not hold (after Hypothesis has shrunk the steps); an
            invariant of yours raises its own error.
    """
    chosen = (
        hypothesis.settings(deadline=None, stateful_step_count=DEFAULT_STEPS)
        if settings is None
        else settings
    )

    def build() -> RuleBasedStateMachine:
        return machine(make_ledger)

    # Hypothesis takes any callable returning a machine, though its annotation says a class.
    run_state_machine_as_test(cast("type[RuleBasedStateMachine]", build), settings=chosen)


def _state_of(model: RegisterModel, command: Command) -> Action | Meeting | None:
    """What the model holds for the stream ``command`` changed."""
    if isinstance(command, RecordMeeting | CorrectMeeting):
        return model.meetings[command.meeting_id].meeting
    return model.actions[command.action_id].action
