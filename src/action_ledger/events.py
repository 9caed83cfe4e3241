"""The events of the register: immutable facts, the only truth.

Every event carries its provenance: ``event_id`` (a UUID, also the idempotency key), the
``actor`` who recorded it and ``occurred_at`` (when it happened in the world, UTC). When the
store recorded it (``recorded_at``) is kept on the stored envelope, not here.

Events are facts, so they do not validate: what was stored is read back as it is.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs
import pendulum

from ._due import Due
from ._values import Attendee, Owner

NO_DUE = Due(on=None, text=None)

__all__ = [
    "ActionClosed",
    "ActionCorrected",
    "ActionEvent",
    "ActionRaised",
    "ActionReopened",
    "ActionRevisited",
    "ActionUpdated",
    "Corrections",
    "Event",
    "MeetingCorrected",
    "MeetingEvent",
    "MeetingRecorded",
    "Resolution",
]

Resolution: TypeAlias = Literal["completed", "superseded", "withdrawn"]


@attrs.frozen(kw_only=True)
class MeetingRecorded:
    """A meeting took place: its title, time, place, chair, minute-taker and who attended.

    ``source`` and ``source_sha256`` name the notes it was imported from (their file name and
    the SHA-256 of their bytes), or are ``None`` for a meeting recorded by hand (and for events
    stored before these fields existed).
    """

    event_id: str
    actor: str
    occurred_at: pendulum.DateTime
    meeting_id: str
    title: str
    held_at: pendulum.DateTime
    kind: str | None = None
    venue: str | None = None
    chair: str | None = None
    minutes_by: str | None = None
    attendance: tuple[Attendee, ...] = ()
    apologies: tuple[Attendee, ...] = ()
    source: str | None = None
    source_sha256: str | None = None


@attrs.frozen(kw_only=True)
class MeetingCorrected:
    """A meeting's record was entered wrongly: the corrected values, with the reason.

    Each field is the corrected value, or ``None`` where the record stays as it was (a
    correction cannot blank a value). ``held_at`` may move within the meeting's date only:
    the meeting id is its date. History keeps both the record and its corrections.
    """

    event_id: str
    actor: str
    occurred_at: pendulum.DateTime
    meeting_id: str
    reason: str
    title: str | None = None
    held_at: pendulum.DateTime | None = None
    kind: str | None = None
    venue: str | None = None
    chair: str | None = None
    minutes_by: str | None = None
    attendance: tuple[Attendee, ...] | None = None
    apologies: tuple[Attendee, ...] | None = None

    def fields(self) -> tuple[str, ...]:
        """The names of the meeting fields this correction sets."""
        return tuple(name for name in MEETING_CORRECTABLE if getattr(self, name) is not None)


MEETING_CORRECTABLE = (
    "title",
    "held_at",
    "kind",
    "venue",
    "chair",
    "minutes_by",
    "attendance",
    "apologies",
)
"""The fields of a meeting's record a :class:`MeetingCorrected` can correct."""


@attrs.frozen(kw_only=True)
class ActionRaised:
    """An action was raised, at a meeting (``meeting`` + ``item``) or from another ``source``."""

    event_id: str
    actor: str
    occurred_at: pendulum.DateTime
    action_id: str
    text: str
    owners: tuple[Owner, ...]
    meeting: str | None = None
    item: str | None = None
    source: str | None = None
    due: Due = NO_DUE
    follows: tuple[str, ...] = ()
    restricted: bool = False


@attrs.frozen(kw_only=True)
class ActionUpdated:
    """Progress was reported; optionally the text, owners or due date changed, with a reason.

    ``text``, ``owners`` and ``due`` are the new values, or ``None`` where unchanged.
    A ``restricted`` note is left out of anything published (events stored before this
    field existed read as ``False``).
    """

    event_id: str
    actor: str
    occurred_at: pendulum.DateTime
    action_id: str
    note: str
    source: str
    meeting: str | None = None
    text: str | None = None
    owners: tuple[Owner, ...] | None = None
    due: Due | None = None
    reason: str | None = None
    restricted: bool = False


@attrs.frozen(kw_only=True)
class ActionRevisited:
    """The action was discussed at a meeting: the outcome, whether the PCC was assured."""

    event_id: str
    actor: str
    occurred_at: pendulum.DateTime
    action_id: str
    meeting: str
    outcome: str
    item: str | None = None
    assured: bool | None = None
    next_revisit: Due = NO_DUE


@attrs.frozen(kw_only=True)
class ActionClosed:
    """The action was closed: completed, superseded by another action, or withdrawn."""

    event_id: str
    actor: str
    occurred_at: pendulum.DateTime
    action_id: str
    resolution: Resolution
    note: str
    meeting: str | None = None
    item: str | None = None
    superseded_by: str | None = None


@attrs.frozen(kw_only=True)
class ActionReopened:
    """A closed action was brought back, with the reason."""

    event_id: str
    actor: str
    occurred_at: pendulum.DateTime
    action_id: str
    reason: str
    meeting: str | None = None


@attrs.frozen(kw_only=True)
class Corrections:
    """The corrected values of an earlier event; ``None`` leaves a field as it was."""

    text: str | None = None
    owners: tuple[Owner, ...] | None = None
    due: Due | None = None
    meeting: str | None = None
    item: str | None = None
    note: str | None = None
    outcome: str | None = None
    assured: bool | None = None
    occurred_at: pendulum.DateTime | None = None

    def fields(self) -> tuple[str, ...]:
        """The names of the fields this correction sets."""
        return tuple(a.name for a in attrs.fields(Corrections) if getattr(self, a.name) is not None)


@attrs.frozen(kw_only=True)
class ActionCorrected:
    """An earlier event of this action was entered wrongly; history keeps both.

    ``corrects_type`` is the kind of the corrected event (``"raised"``, ``"updated"``, …), so
    a fold can apply the correction without remembering every event of the stream.
    """

    event_id: str
    actor: str
    occurred_at: pendulum.DateTime
    action_id: str
    corrects: str
    corrects_type: str
    reason: str
    corrections: Corrections


ActionEvent: TypeAlias = (
    ActionRaised | ActionUpdated | ActionRevisited | ActionClosed | ActionReopened | ActionCorrected
)
MeetingEvent: TypeAlias = MeetingRecorded | MeetingCorrected
Event: TypeAlias = MeetingEvent | ActionEvent
