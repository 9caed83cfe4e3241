"""Apply a reviewed draft: turn it into commands and record them all or nothing.

Every event id is a UUID5 of the notes' SHA-256, the meeting id and the entry (``actions[2]``,
``matters[0]/close``), so applying the same draft again re-sends the same events and
:meth:`~action_ledger.Ledger.execute_many` records nothing new. An action the draft leaves
without an id gets the register's next ``ACT-<year>-<nnn>``, unless the draft was applied
before: then the id it was given is read back from the stored event, never allocated afresh.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import pendulum

from .._clock import local_date, to_register_moment
from .._codec import ACTION_PREFIX
from ..commands import CloseAction, Command, RaiseAction, RecordMeeting, RevisitAction
from ..exceptions import ActionLedgerError, RuleViolationError, ValidationError
from ._draft import _entry_lines, _locate, check_draft, load_draft
from ._model import DraftMatter, MinutesDraft, SourceRef

if TYPE_CHECKING:
    from .._ledger import Ledger

__all__ = ["NAMESPACE", "AppliedDraft", "apply_draft"]

#: The namespace of the UUID5 event ids of imported minutes.
NAMESPACE = uuid.UUID("6f1d3c2e-5b7a-4e0f-9c83-2a4d6b8e0f17")

_T = TypeVar("_T")


@attrs.frozen(kw_only=True)
class AppliedDraft:
    """What applying a draft recorded.

    Attributes:
        meeting_id: the meeting recorded.
        raised: the ids of the actions raised at it, in the draft's order.
        brought_forward: the ids of the actions recorded for matters the register did not
            hold (new actions of their earlier meeting), in the draft's order.
        revisited: the ids of the actions revisited at the meeting (one per matter).
        closed: the ids of the actions closed at it.
        events: how many events were recorded now (``0`` when the draft was applied before).
    """

    meeting_id: str
    raised: tuple[str, ...] = ()
    brought_forward: tuple[str, ...] = ()
    revisited: tuple[str, ...] = ()
    closed: tuple[str, ...] = ()
    events: int = 0


def _event_id(draft: MinutesDraft, entry: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{draft.sha256}/{draft.meeting.meeting_id}/{entry}"))


def _cite(source: SourceRef) -> str:
    page = f" p.{source.page}" if source.page is not None else ""
    return f"{source.file}{page} line {source.line}"


def _held_at(draft: MinutesDraft) -> pendulum.DateTime:
    held = draft.meeting.held_at
    if not isinstance(held, str):
        raise ValidationError(
            f"meeting.held_at: {held!r:.60} is not ISO text, e.g. '2021-10-04T13:30'",
            field="held_at",
            value=held,
        )
    # Notes without a time give the date alone: the meeting is kept at the start of that day.
    text = f"{held}T00:00" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", held) else held
    return to_register_moment(text, field="held_at")


class _Builder:
    """The commands of one draft, each with the entry it came from (for messages)."""

    def __init__(self, ledger: Ledger, draft: MinutesDraft, actor: str) -> None:
        self.ledger = ledger
        self.draft = draft
        self.actor = actor
        self.commands: list[Command] = []
        self.entries: list[str] = []
        self.problems: list[tuple[str, ValidationError]] = []
        self._allocated: dict[str, int] = {}
        self._fresh: list[str] = []  # the ids allocated here (not the draft's, not stored)
        self._chosen = {a.action_id for a in draft.actions if a.action_id is not None}

    def add(self, entry: str, make: Callable[..., _T], **values: Any) -> _T | None:
        """The command ``make(**values)``, kept; or ``None``, its problem noted."""
        try:
            command = make(**values)
        except ValidationError as exc:
            self.problems.append((entry if exc.field is None else f"{entry}.{exc.field}", exc))
            return None
        assert isinstance(command, RecordMeeting | RaiseAction | RevisitAction | CloseAction)
        self.commands.append(command)
        self.entries.append(entry)
        return command

    def action_id(self, event_id: str, chosen: str | None, when: pendulum.DateTime) -> str:
        """The id to raise under: as stored by an earlier apply, else the draft's, else the
        register's next of that year (counting the ones this draft takes)."""
        earlier = self.ledger.store.get_event(event_id)
        if earlier is not None and earlier.stream_id.startswith(ACTION_PREFIX):
            return earlier.stream_id[len(ACTION_PREFIX) :]
        if chosen is not None:
            return chosen
        prefix = f"{self.ledger.id_prefix}-{local_date(when).year}-"
        if prefix not in self._allocated:
            self._allocated[prefix] = self.ledger.store.count_streams(ACTION_PREFIX + prefix)
        while True:  # skip ids the draft gives, and any raised out of sequence
            self._allocated[prefix] += 1
            fresh = f"{prefix}{self._allocated[prefix]:03d}"
            if fresh not in self._chosen and not self._stored(fresh):
                self._fresh.append(fresh)
                return fresh

    def _stored(self, action_id: str) -> bool:
        return (
            next(iter(self.ledger.store.read_stream(ACTION_PREFIX + action_id)), None) is not None
        )

    def lost_an_id(self) -> bool:
        """Whether another writer has raised an action under an id allocated here."""
        return any(self._stored(a) for a in self._fresh)


def _build(ledger: Ledger, draft: MinutesDraft, actor: str) -> tuple[_Builder, AppliedDraft]:
    b = _Builder(ledger, draft, actor)
    meeting = draft.meeting
    try:
        held = _held_at(draft)
    except ValidationError as exc:
        b.problems.append(("meeting.held_at", exc))
        held = pendulum.now("UTC")  # only to name the other problems too
    b.add(
        "meeting",
        RecordMeeting,
        event_id=_event_id(draft, "meeting"),
        actor=actor,
        occurred_at=held,
        meeting_id=meeting.meeting_id,
        title=meeting.title,
        held_at=held,
        kind=meeting.kind,
        venue=meeting.venue,
        chair=meeting.chair,
        minutes_by=meeting.minutes_by,
        attendance=meeting.attendance,
        apologies=meeting.apologies,
        source=draft.file,
        source_sha256=draft.sha256,
    )
    raised: list[str] = []
    for n, action in enumerate(draft.actions):
        entry = f"actions[{n}]"
        eid = _event_id(draft, entry)
        aid = b.action_id(eid, action.action_id, held)
        ok = b.add(
            entry,
            RaiseAction,
            event_id=eid,
            actor=actor,
            occurred_at=held,
            action_id=aid,
            text=action.text,
            owners=action.owners,
            meeting=meeting.meeting_id,
            item=action.item,
            source=_cite(action.source),
            due=action.due,
            restricted=action.restricted,
        )
        raised.append(aid if ok is not None else "")
    forward: list[str] = []
    revisited: list[str] = []
    closed: list[str] = []
    for n, matter in enumerate(draft.matters):
        entry = f"matters[{n}]"
        target = matter.action_id
        if target is None:
            target = _bring_forward(b, entry, matter, held)
            forward.append(target)
        revisited.append(target)
        b.add(
            entry,
            RevisitAction,
            event_id=_event_id(draft, f"{entry}/revisit"),
            actor=actor,
            occurred_at=held,
            action_id=target,
            meeting=meeting.meeting_id,
            outcome=matter.outcome,
            item=matter.item,
        )
        if matter.decision != "keep-open":
            closed.append(target)
            by = None
            if matter.decision == "close-superseded" and matter.superseded_by is not None:
                by = raised[matter.superseded_by] or None
            b.add(
                entry,
                CloseAction,
                event_id=_event_id(draft, f"{entry}/close"),
                actor=actor,
                occurred_at=held,
                action_id=target,
                resolution="completed" if matter.decision == "close-completed" else "superseded",
                note=matter.outcome,
                meeting=meeting.meeting_id,
                item=matter.item,
                superseded_by=by,
            )
    result = AppliedDraft(
        meeting_id=meeting.meeting_id,
        raised=tuple(raised),
        brought_forward=tuple(forward),
        revisited=tuple(revisited),
        closed=tuple(closed),
    )
    return b, result


def _bring_forward(b: _Builder, entry: str, matter: DraftMatter, held: pendulum.DateTime) -> str:
    """Record a matter the register does not hold as a new action of its earlier meeting
    (when that meeting is recorded), so it can be revisited."""
    earlier = None
    if matter.raised_at is not None:
        try:
            earlier = b.ledger.meeting(matter.raised_at)
        except ActionLedgerError:
            earlier = None  # not recorded: the action is kept without a meeting
    when = held if earlier is None else earlier.held_at
    eid = _event_id(b.draft, f"{entry}/raise")
    aid = b.action_id(eid, None, when)
    if not matter.owners:
        b.problems.append(
            (
                f"{entry}.owners",
                ValidationError(
                    "no open action of the register matches this matter, so it is recorded "
                    'as a new action, which needs its owners: give owners = ["CC"] (role '
                    "codes), or the matching action's id as action_id",
                    field="owners",
                ),
            )
        )
        return aid
    cite = _cite(matter.source)
    if earlier is None and matter.raised_at is not None:
        cite = f"{cite} (raised at {matter.raised_at})"
    b.add(
        entry,
        RaiseAction,
        event_id=eid,
        actor=b.actor,
        occurred_at=when,
        action_id=aid,
        text=matter.text,
        owners=matter.owners,
        meeting=None if earlier is None else earlier.id,
        source=cite,
    )
    return aid


def _label(entry: str, lines: Mapping[str, int] | None) -> str:
    line = None if lines is None else _locate(entry, dict(lines))
    return entry if line is None else f"{entry} (line {line})"


_COMMAND = re.compile(r"^command (\d+) \([^)]*\): ", re.MULTILINE)


def apply_draft(
    ledger: Ledger,
    draft: MinutesDraft | str | Path,
    *,
    actor: str,
) -> AppliedDraft:
    """Record a reviewed draft in ``ledger``, all or nothing (see :meth:`Ledger.apply`)."""
    lines: Mapping[str, int] | None = None
    name = "draft"
    if not isinstance(draft, MinutesDraft | str | os.PathLike):
        raise ValidationError(
            f"draft: {draft!r:.60} is not a MinutesDraft or a draft file's path",
            field="draft",
            value=draft,
        )
    if not isinstance(draft, MinutesDraft):
        name = str(draft)
        try:
            text = Path(draft).read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or a NUL in the path
            raise ValidationError(
                f"cannot read the draft file {name!r}: {exc}", field="draft", value=name
            ) from None
        lines = _entry_lines(text)
        draft = load_draft(text, name=name)
    else:
        draft = check_draft(draft, name)
    for attempt in range(1, _ATTEMPTS + 1):
        b, result = _build(ledger, draft, actor)
        if b.problems:
            raise ValidationError(
                f"{name}: nothing was recorded: {len(b.problems)} "
                f"{'entry is' if len(b.problems) == 1 else 'entries are'} not accepted:\n"
                + "\n".join(f"{_label(entry, lines)}: {exc}" for entry, exc in b.problems),
                field=b.problems[0][0],
                value=tuple(entry for entry, _ in b.problems),
            )
        new = sum(ledger.store.get_event(c.event_id) is None for c in b.commands)
        try:
            ledger.execute_many(b.commands)
        except (ValidationError, RuleViolationError) as exc:
            if attempt < _ATTEMPTS and b.lost_an_id():
                continue  # another writer took an id this draft allocated: allocate again
            raise _renamed(exc, name, b.entries, lines) from exc.__cause__
        return attrs.evolve(result, events=new)
    raise AssertionError("unreachable")  # pragma: no cover


#: How many times an apply allocates action ids again when other writers take them first.
_ATTEMPTS = 5


def _renamed(
    exc: ValidationError | RuleViolationError,
    name: str,
    entries: list[str],
    lines: Mapping[str, int] | None,
) -> ActionLedgerError:
    """``execute_many``'s refusal, naming the draft's entries instead of command numbers."""
    message = _COMMAND.sub(lambda m: _label(entries[int(m[1]) - 1], lines) + ": ", str(exc))
    message = message.replace("commands were refused", "entries were refused")
    if isinstance(exc, RuleViolationError):
        return RuleViolationError(
            f"{name}: {message}", subject=exc.subject, rule=exc.rule, value=exc.value
        )
    return ValidationError(f"{name}: {message}", field=exc.field, value=exc.value)
