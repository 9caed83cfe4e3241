"""Helpers for testing code against the ledger's rules.

``given(events).when(command).then(events)`` runs the pure core: the given events are folded
into the state of the command's stream and into the context (the meetings and actions they
record), then ``decide`` is called::

    given(meeting_recorded, action_raised).when(close_twice).then_raises(
        RuleViolationError, rule="no-double-close"
    )
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .._decider import (
    INITIAL_ACTION,
    INITIAL_MEETING,
    ActionState,
    Context,
    MeetingState,
    decide,
    evolve,
    evolve_meeting,
)
from ..commands import Command, CorrectMeeting, RecordMeeting
from ..events import Event, MeetingEvent
from ..exceptions import ActionLedgerError

__all__ = ["Outcome", "Scenario", "given"]


@attrs.frozen
class Outcome:
    """The result of deciding a command: the events, or the error raised."""

    events: tuple[Event, ...] | None
    error: Exception | None

    def then(self, *expected: Event) -> tuple[Event, ...]:
        """Assert the command produced exactly ``expected``; return them."""
        if self.error is not None:
            raise AssertionError(f"expected events, but decide raised {self.error!r}")
        assert self.events is not None
        if self.events != expected:
            raise AssertionError(f"expected {expected!r}\n     got {self.events!r}")
        return self.events

    def then_raises(self, error_type: type[Exception], *, rule: str | None = None) -> Exception:
        """Assert the command was rejected with ``error_type`` (and ``rule``, when given)."""
        if self.error is None:
            raise AssertionError(f"expected {error_type.__name__}, but got {self.events!r}")
        if not isinstance(self.error, error_type):
            raise AssertionError(f"expected {error_type.__name__}, got {self.error!r}")
        if rule is not None:
            got = getattr(self.error, "rule", None)
            if got != rule:
                raise AssertionError(f"expected rule {rule!r}, got {got!r}: {self.error}")
        return self.error


@attrs.frozen
class Scenario:
    """Events that have happened, ready for a command."""

    history: tuple[Event, ...]

    def states(self) -> tuple[dict[str, ActionState], dict[str, MeetingState]]:
        """The fold of the history, per action and per meeting."""
        actions: dict[str, ActionState] = {}
        meetings: dict[str, MeetingState] = {}
        for event in self.history:
            if isinstance(event, MeetingEvent):
                meetings[event.meeting_id] = evolve_meeting(
                    meetings.get(event.meeting_id, INITIAL_MEETING), event
                )
            else:
                actions[event.action_id] = evolve(
                    actions.get(event.action_id, INITIAL_ACTION), event
                )
        return actions, meetings

    def when(self, command: Command) -> Outcome:
        """Decide ``command`` against the history."""
        actions, meetings = self.states()
        context = Context(
            meetings={k: s.meeting for k, s in meetings.items() if s.meeting is not None},
            actions={k: s.action for k, s in actions.items() if s.action is not None},
        )
        state: ActionState | MeetingState
        if isinstance(command, RecordMeeting | CorrectMeeting):
            state = meetings.get(command.meeting_id, INITIAL_MEETING)
        else:
            state = actions.get(command.action_id, INITIAL_ACTION)
        try:
            return Outcome(decide(command, state, context), None)
        except ActionLedgerError as exc:  # a rejection is an outcome; a crash is a failure
            return Outcome(None, exc)


def given(*events: Event | Iterable[Event]) -> Scenario:
    """Start a scenario from events (or lists of events), oldest first."""
    flat: list[Event] = []
    for item in events:
        if isinstance(item, Iterable):
            flat.extend(item)
        else:
            flat.append(item)
    return Scenario(tuple(flat))
