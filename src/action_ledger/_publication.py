"""What a reader without the right to restricted matters may see: the one definition.

An action's *public form* is the fold of its stream with everything restricted taken out:

- a restricted action (raised with ``restricted=True``) has no public form at all;
- a restricted update is dropped whole: its note, and any text, owners or due date it changed
  (the values in effect are those of the latest public event that set them), and so are the
  corrections of such an update;
- a link to an action that is restricted (or that the view does not hold) is dropped: it
  leaves ``follows``, and ``superseded_by`` becomes ``None`` (the resolution stays
  ``"superseded"``).

Its ``version`` counts the public events only. Every output meant for the public or for a
reader without the right (the published logs, the ``--publishable`` CSV and JSON, and
``register(restricted=False)``, ``agenda``, ``overdue`` and ``rag`` with ``publishable=True``)
shows actions in this form and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence

import attrs

from ._decider import LEAN_ACTION, Action, fold
from .events import ActionCorrected, ActionEvent, ActionRaised, ActionUpdated

__all__ = ["RestrictedActions", "public_action", "public_events"]


def public_events(events: Iterable[ActionEvent]) -> list[ActionEvent]:
    """The events of one action stream that a reader without the right may see: none if the
    action is restricted; otherwise all but restricted updates and their corrections."""
    kept: list[ActionEvent] = []
    hidden: set[str] = set()
    for event in events:
        if isinstance(event, ActionRaised) and event.restricted:
            return []
        if (isinstance(event, ActionUpdated) and event.restricted) or (
            isinstance(event, ActionCorrected) and event.corrects in hidden
        ):
            hidden.add(event.event_id)
        else:
            kept.append(event)
    return kept


def public_action(events: Iterable[ActionEvent], *, restricted: Container[str]) -> Action | None:
    """The public form of one action, from its stream (see the module docstring).

    Args:
        events: the action's events, in stream order.
        restricted: the ids of the actions a link may not name (restricted ones, and any the
            reader's view does not hold).

    Returns:
        The action as a reader without the right sees it, or ``None`` when it is restricted
        (or the stream holds no raise).
    """
    action = fold(public_events(events), LEAN_ACTION).action
    if action is None:
        return None
    follows = tuple(a for a in action.follows if a not in restricted)
    successor = action.superseded_by
    if successor is not None and successor in restricted:
        successor = None
    if follows == action.follows and successor == action.superseded_by:
        return action
    return attrs.evolve(action, follows=follows, superseded_by=successor)


class RestrictedActions(Container[str]):
    """The ids a public link may not name, found by reading each linked action's raise.

    ``id in restricted`` is true for a restricted action and for one with no raise in the
    stream given (an action the view does not hold); answers are remembered.
    """

    def __init__(self, stream: Callable[[str], Sequence[ActionEvent]]) -> None:
        self._stream = stream
        self._known: dict[str, bool] = {}

    def __contains__(self, action_id: object) -> bool:
        if not isinstance(action_id, str):
            return False
        if action_id not in self._known:
            raised = next((e for e in self._stream(action_id) if isinstance(e, ActionRaised)), None)
            self._known[action_id] = raised is None or raised.restricted
        return self._known[action_id]
