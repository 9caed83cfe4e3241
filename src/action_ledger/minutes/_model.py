"""The draft read from a meeting's notes: what a careful officer would record, for review.

A draft is never written to the register by reading it; a person reviews (and edits) it, then
applies it. Every proposal carries where in the notes it came from and how sure the reader was.
These classes are plain values: the reader (``_parse``) builds them, the draft file
(``_draft``) round-trips them exactly, and ``apply`` turns them into commands.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

from .._values import Attendee

__all__ = [
    "LOW_CONFIDENCE",
    "Decision",
    "DraftAction",
    "DraftMatter",
    "DraftMeeting",
    "MinutesDraft",
    "SourceRef",
]

#: Proposals below this confidence are flagged for review in the preview and the draft file.
LOW_CONFIDENCE = 0.7

#: What to do with a matter brought forward: leave the action open (the meeting revisited it),
#: close it as completed, or close it as superseded by an action raised at this meeting.
Decision: TypeAlias = Literal["keep-open", "close-completed", "close-superseded"]


@attrs.frozen
class SourceRef:
    """Where a proposal came from: the notes' file name, page (when the notes have pages) and
    line (1-based, in the text as read)."""

    file: str
    line: int
    page: int | None = None


@attrs.frozen
class DraftMeeting:
    """The meeting the notes record.

    Attributes:
        meeting_id: the register's meeting id, ``YYYY-MM-DD`` of the meeting's date, with a
            suffix such as ``-assurance`` when the reader or the officer gives one.
        title: the notes' title, e.g. ``"Monthly Assurance Meeting October 2021"``.
        held_at: the local (London) date and time as ISO text, ``"2021-10-04T13:30"``; a date
            alone (``"2021-10-04"``) when the notes give no time.
        kind, venue, chair, minutes_by: as minuted, or ``None`` when the notes do not say.
        attendance, apologies: people with their capacity and role code, in the notes' order.
    """

    meeting_id: str
    title: str
    held_at: str
    source: SourceRef
    confidence: float = 1.0
    kind: str | None = None
    venue: str | None = None
    chair: str | None = None
    minutes_by: str | None = None
    attendance: tuple[Attendee, ...] = ()
    apologies: tuple[Attendee, ...] = ()


@attrs.frozen
class DraftAction:
    """An action raised at the meeting.

    Attributes:
        text: the action as minuted, without the ``ACTION:`` label, wrapped lines joined.
        owners: role codes (``"CC"``, ``"T/Ch Supt"``), normalised (no look-alike letters).
        item: the agenda item it was raised under (``"2.1"``), or ``None``.
        due: the due words as minuted (``"Revisit in 6 months"``, ``"July holding to account"``),
            or ``None``.
        action_id: the id to record it under; ``None`` lets the register allocate the next one.
        restricted: whether the officer marks it restricted (the reader never guesses this).
    """

    text: str
    source: SourceRef
    confidence: float = 1.0
    owners: tuple[str, ...] = ()
    item: str | None = None
    due: str | None = None
    action_id: str | None = None
    restricted: bool = False


@attrs.frozen
class DraftMatter:
    """An outstanding matter brought forward from an earlier meeting, and what this one decided.

    Attributes:
        text: the matter as the notes state it (usually the earlier action's words).
        outcome: what the meeting said about it (the discussion under the matter).
        action_id: the register's open action it matches, or ``None`` when the register does
            not hold it (then ``raised_at`` proposes recording it as a new action of that
            earlier meeting before revisiting it).
        raised_at: the earlier meeting's id, when the notes or the match say which.
        decision: keep it open, close it as completed, or close it as superseded by the action
            raised at this meeting whose index in ``MinutesDraft.actions`` is ``superseded_by``.
        owners, item: as minuted for the matter, when the notes give them.
        match_score: how close the match to ``action_id`` was (0–1), ``None`` without a match.
    """

    text: str
    outcome: str
    source: SourceRef
    decision: Decision = "keep-open"
    confidence: float = 1.0
    action_id: str | None = None
    raised_at: str | None = None
    superseded_by: int | None = None
    owners: tuple[str, ...] = ()
    item: str | None = None
    match_score: float | None = None


@attrs.frozen
class MinutesDraft:
    """Everything proposed from one meeting's notes.

    Attributes:
        file: the notes' file name (no directories), kept on the meeting event.
        sha256: the SHA-256 (hex) of the notes' bytes, kept on the meeting event so every
            imported decision is traceable to the exact text it came from.
        meeting: the meeting recorded.
        actions: the actions raised at it, in the notes' order.
        matters: the outstanding matters brought forward, in the notes' order.
    """

    file: str
    sha256: str
    meeting: DraftMeeting
    actions: tuple[DraftAction, ...] = ()
    matters: tuple[DraftMatter, ...] = ()
