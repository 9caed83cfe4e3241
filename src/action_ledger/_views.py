"""The register's queries, the same on the live ledger and on every as-of view.

A :class:`RegisterView` answers one-action questions (``get``, ``history``) from that action's
stream, and register-wide questions (``register``, ``agenda``, ``overdue``, ``owner``,
``holder``, ``chain``, ``meetings``) from the read-model tables. The live :class:`Ledger`
is a view whose tables are the persisted read models; :meth:`Ledger.as_of` gives a view whose
stream and tables are a selection of the log (see :class:`AsOfView`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, TypeAlias

import attrs
import pendulum

from ._clock import LONDON, UTC, bare_date, format_utc, local_date, to_date, to_datetime
from ._codec import ACTION_PREFIX, decode
from ._decider import LEAN_ACTION, Action, Meeting, fold
from ._erasure import SubjectKeys
from ._history import AuditEntry, build_history
from ._projections import action_from_row, meeting_from_row
from ._publication import RestrictedActions, public_action
from ._readmodel import ReadModel, meeting_events
from ._values import Owner, check_action_id, check_meeting_id, check_text, parse_owners
from .events import ActionCorrected, ActionEvent, MeetingEvent
from .exceptions import NotFoundError, ValidationError
from .store import EventStore, StoredEvent

STATUSES = ("open", "closed")
Axis: TypeAlias = Literal["recorded", "occurred"]
Rag: TypeAlias = Literal["red", "amber", "green"]
DateInput: TypeAlias = "str | _dt.date"
MomentInput: TypeAlias = "str | _dt.datetime | _dt.date"
Row = tuple[StoredEvent, ActionEvent]


@attrs.frozen(kw_only=True)
class Agenda:
    """The matters arising for a meeting on :attr:`date`.

    Attributes:
        date: the meeting date.
        previous_meeting: the last recorded meeting before that date, if any.
        outstanding: every action still open before the meeting: those due by the date first
            (earliest due first), then the rest (oldest raised first). Each carries its last
            update and when it was last revisited.
        closed_since: actions closed after the previous meeting and before this date, for
            noting (empty when no earlier meeting is recorded).
    """

    date: pendulum.Date
    previous_meeting: Meeting | None
    outstanding: tuple[Action, ...]
    closed_since: tuple[Action, ...]

    @property
    def due(self) -> tuple[Action, ...]:
        """The outstanding actions due on or before the meeting date."""
        return tuple(a for a in self.outstanding if a.due_on is not None and a.due_on <= self.date)


@attrs.frozen(kw_only=True)
class DueStatus:
    """An open action's standing against its due date on a given day.

    Attributes:
        action: the action.
        rag: ``"red"`` (past due), ``"amber"`` (due within the amber window) or ``"green"``
            (due later, or no due date).
        days_overdue: days past ``due_on`` (0 unless red).
        days_left: days until ``due_on`` (``None`` without a due date; negative when red).
    """

    action: Action
    rag: Rag
    days_overdue: int
    days_left: int | None


@attrs.frozen(kw_only=True)
class RoleHolder:
    """Who held a role on a date, as the attendance of the recorded meetings shows.

    Attributes:
        role: the role code asked about (``"CC"``).
        name: the person (``"Pippa Mills"``).
        capacity: as minuted (``"Chief Constable"``).
        meeting: the meeting whose attendance (or apologies) shows it: the last one on or
            before the date that lists the role.
        held_on: that meeting's date.
        present: ``True`` if they attended, ``False`` if they sent apologies.
    """

    role: str
    name: str
    capacity: str | None
    meeting: str
    held_on: pendulum.Date
    present: bool


@attrs.frozen(kw_only=True)
class Link:
    """A decision that linked two actions.

    Attributes:
        kind: ``"follows"`` (``action`` was raised following ``other``) or ``"superseded_by"``
            (``action`` was closed as superseded by ``other``).
        action, other: the two action ids.
        event_id: the event that made the link (the raise, or the close).
        position: that event's position in the log.
        occurred_at: when that was decided.
        meeting: the meeting where it was decided, if any.
        decision: the event as the audit trail words it.
    """

    kind: Literal["follows", "superseded_by"]
    action: str
    other: str
    event_id: str
    position: int
    occurred_at: pendulum.DateTime
    meeting: str | None
    decision: str


@attrs.frozen(kw_only=True)
class ChainLink:
    """One action of a chain, with the decisions linking it to earlier actions of the chain.

    Attributes:
        action: the action.
        links: how it is tied to the actions before it in the chain (empty for the first).
    """

    action: Action
    links: tuple[Link, ...]


class RegisterView:
    """The register's queries. Read-only: there is nothing here that changes the log.

    Subclasses supply the stream of one action and the read-model tables; the
    :class:`~action_ledger.Ledger` is the live view, :class:`AsOfView` a past one.
    """

    # -- what a view supplies ---------------------------------------------------------------

    def _rows(self, action_id: str) -> list[Row]:
        """The action's stored events as this view sees them, in stream order."""
        raise NotImplementedError  # pragma: no cover

    def _tables(self) -> ReadModel:
        """The read-model tables as this view sees them, caught up."""
        raise NotImplementedError  # pragma: no cover

    def _today(self) -> pendulum.Date:
        """The date ``overdue`` uses when none is given."""
        raise NotImplementedError  # pragma: no cover

    # -- one action -------------------------------------------------------------------------

    def get(self, action_id: str) -> Action:
        """The state of one action.

        Raises:
            NotFoundError: no such action (in this view).
        """
        state = fold((e for _, e in self._rows(check_action_id(action_id))), LEAN_ACTION)
        if state.action is None:
            raise NotFoundError(f"action {action_id!r} does not exist")
        return state.action

    def history(self, action_id: str) -> tuple[AuditEntry, ...]:
        """The audit trail of one action, oldest first: each event in a readable sentence,
        with field changes old → new, corrections beside what they correct, the source
        meeting and item, actor, occurred and recorded times, and the chain hash.

        Raises:
            NotFoundError: no such action (in this view).
        """
        rows = self._rows(check_action_id(action_id))
        if not rows:
            raise NotFoundError(f"action {action_id!r} does not exist")
        return build_history(rows)

    # -- meetings -----------------------------------------------------------------------------

    def meeting(self, meeting_id: str) -> Meeting:
        """A recorded meeting.

        Raises:
            NotFoundError: no such meeting.
        """
        found = self._select(
            "SELECT data FROM meetings WHERE id = ?", [check_meeting_id(meeting_id)]
        )
        if not found:
            raise NotFoundError(f"meeting {meeting_id!r} is not recorded")
        return meeting_from_row(found[0][0])

    def meetings(self) -> tuple[Meeting, ...]:
        """Every recorded meeting, in date order."""
        rows = self._select("SELECT data FROM meetings ORDER BY held_at, id", [])
        return tuple(meeting_from_row(data) for (data,) in rows)

    # -- the register ---------------------------------------------------------------------------

    def register(
        self,
        *,
        status: str | None = None,
        owner: str | None = None,
        meeting: str | None = None,
        raised_from: DateInput | None = None,
        raised_to: DateInput | None = None,
        restricted: bool | None = None,
        text: str | None = None,
    ) -> tuple[Action, ...]:
        """The register, filtered; oldest raised first (then by id).

        Args:
            status: ``"open"`` or ``"closed"``; all when ``None``.
            owner: a role code, a person or a capacity, matched without regard to case: a
                person also matches the actions of a role they held (by the attendance
                lists, as :meth:`holder` reads them) on the day each was raised, and a
                capacity every action of its role code.
            meeting: the id of the meeting that raised them.
            raised_from: raised on or after this date (a Europe/London calendar date).
            raised_to: raised on or before this date (a Europe/London calendar date).
            restricted: only restricted (``True``) or only publishable (``False``) actions.
                With ``False`` each action is given in its *public form* (see
                :meth:`public_forms`): no restricted note, changed field or link, and the
                ``owner`` and ``text`` filters match what that form shows.
            text: words the action's text contains (without regard to case).

        Raises:
            ValidationError: an unknown status, a malformed date or meeting id, empty text.
        """
        where: list[str] = []
        params: list[Any] = []
        # A reader without the right gets public forms, filtered on what they show (a filter
        # on the full text or owners would answer questions about restricted changes).
        public = restricted is False
        owner_key = text_key = None
        capacity_roles: set[str] = set()
        tenures: list[tuple[str, str, str | None]] = []
        if status is not None:
            where.append("status = ?")
            params.append(_status(status))
        if owner is not None:
            owner_key = key = check_text("owner", owner, limit=200).casefold()
            capacity_roles, tenures = self._tenures(key)
            if not public:
                alternatives = [
                    "id IN (SELECT action_id FROM owners WHERE role_key = ? OR person_key = ?)"
                ]
                params += [key, key]
                if capacity_roles:
                    marks = ", ".join("?" * len(capacity_roles))
                    alternatives.append(
                        f"id IN (SELECT action_id FROM owners WHERE role_key IN ({marks}))"
                    )
                    params += sorted(capacity_roles)
                for role, start, until in tenures:
                    alternatives.append(
                        "(id IN (SELECT action_id FROM owners WHERE role_key = ? AND "
                        "person_key IS NULL) AND raised_on >= ? AND raised_on < ?)"
                    )
                    params += [role, start, until or "9999-12-31"]
                where.append("(" + " OR ".join(alternatives) + ")")
        if meeting is not None:
            where.append("meeting = ?")
            params.append(check_meeting_id(meeting))
        if raised_from is not None:
            where.append("raised_on >= ?")
            params.append(to_date(raised_from, field="raised_from").isoformat())
        if raised_to is not None:
            where.append("raised_on <= ?")
            params.append(to_date(raised_to, field="raised_to").isoformat())
        if restricted is not None:
            if not isinstance(restricted, bool):
                raise ValidationError(
                    f"restricted: {restricted!r} is not True, False or None",
                    field="restricted",
                    value=restricted,
                )
            where.append("restricted = ?")
            params.append(int(restricted))
        if text is not None:
            text_key = check_text("text", text).casefold()
            if not public:
                where.append("instr(casefold(text), ?) > 0")
                params.append(text_key)
        sql = "SELECT data FROM actions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        found = self._actions(sql + " ORDER BY raised_at, id", params)
        if not public:
            return found
        return tuple(
            a
            for a in self.public_forms(found)
            if (owner_key is None or _owned_by(a, owner_key, capacity_roles, tenures))
            and (text_key is None or text_key in a.text.casefold())
        )

    def owner(self, role_or_person: str, *, status: str | None = "open") -> tuple[Action, ...]:
        """The actions of one owner (a role code such as ``"CC"`` or a person's name),
        open ones by default (``status=None`` for all).

        Raises:
            ValidationError: empty text, or an unknown status.
        """
        return self.register(owner=role_or_person, status=status)

    def roles(self) -> tuple[str, ...]:
        """The role codes the recorded meetings' attendance and apologies list (as listed,
        sorted without regard to case): the codes an owner is known by."""
        rows = self._select("SELECT DISTINCT role FROM attendance WHERE role IS NOT NULL", [])
        return tuple(sorted({role for (role,) in rows}, key=lambda r: (r.casefold(), r)))

    def owner_for(self, name: str, on_date: DateInput) -> Owner | None:
        """The owner ``name`` means on ``on_date``, through the attendance lists (ignoring
        case): a role code some meeting lists (``"cc"`` → ``CC``); a person (``"Pippa
        Mills"`` → ``CC: Pippa Mills``: the role listed against them); or a capacity
        (``"Chief Constable"`` → ``CC: Pippa Mills``: its role code and who held it). A
        person or capacity is read from the last meeting on or before the date that lists
        them, else the first one after. ``None`` when no meeting knows the name.

        Raises:
            ValidationError: empty name, or a malformed date.
        """
        key = check_text("owner", name, limit=200).casefold()
        day = to_date(on_date, field="on_date").isoformat()
        rows = self._attendance_with_roles()
        for row in rows:
            if row[2].casefold() == key:
                return Owner(role=row[2])
        for column in (0, 1):  # a person, then a capacity
            listed = [r for r in rows if r[column] is not None and r[column].casefold() == key]
            if listed:
                before = [r for r in listed if r[3] <= day]
                chosen = before[-1] if before else listed[0]
                if column == 0:
                    return Owner(role=chosen[2], person=chosen[0])
                held = self.holder(chosen[2], day if before else chosen[3])
                return Owner(role=chosen[2], person=None if held is None else held.name)
        return None

    def owners_named(
        self,
        names: Sequence[str | Owner] | str,
        on_date: DateInput,
        *,
        unknown: Literal["refuse", "keep"] = "refuse",
    ) -> tuple[Owner, ...]:
        """Owners from what a user typed: role codes, people or capacities, each mapped
        through the attendance lists as :meth:`owner_for` does on ``on_date``. A role code
        given as such (``"CC"``, ``"CC: Pippa Mills"``, an :class:`Owner`) is kept as given.

        Args:
            names: the owners as typed.
            on_date: the date concerned (the meeting's, or when the owners are set).
            unknown: what to do with a name no meeting's attendance knows: ``"refuse"``
                (raise) or ``"keep"`` (record it as a new role code, as given).

        Raises:
            ValidationError: a name no attendance list knows (with ``unknown="refuse"``),
                an empty name, or an unknown value of ``unknown``.
        """
        if unknown not in ("refuse", "keep"):
            raise ValidationError(
                f"unknown: {unknown!r} is not 'refuse' or 'keep'", field="unknown", value=unknown
            )
        known = {role.casefold() for role in self.roles()}
        found: list[Owner] = []
        if not isinstance(names, str | Owner | Iterable):
            raise ValidationError(
                f"names: {names!r:.60} is not a name, an Owner or a list of them",
                field="names",
                value=names,
            )
        for given in [names] if isinstance(names, str | Owner) else list(names):
            if isinstance(given, Owner) or (isinstance(given, str) and ":" in given):
                owner = Owner.parse(given)
                if owner.role.casefold() in known or unknown == "keep":
                    found.append(owner)
                    continue
            else:
                mapped = self.owner_for(check_text("owner", given, limit=200), on_date)
                if mapped is not None:
                    found.append(mapped)
                    continue
                if unknown == "keep":
                    found.append(Owner.parse(given))
                    continue
            raise ValidationError(
                f"owner {str(given)!r} is no role code, person or capacity in the attendance "
                "of any recorded meeting (known role codes: "
                f"{', '.join(self.roles()) or 'none yet'}); check the spelling, record the "
                "meeting's attendance, or keep it as a new role code (unknown='keep')",
                field="owners",
                value=str(given),
            )
        return parse_owners(found)

    def _attendance_with_roles(self) -> list[tuple[Any, ...]]:
        """Attendance rows with a role code, oldest meeting first: (name, capacity, role,
        held_on, present), each meeting's present people first."""
        return self._select(
            "SELECT name, capacity, role, attendance.held_on, present FROM attendance "
            "JOIN meetings ON meetings.id = attendance.meeting_id WHERE role IS NOT NULL "
            "ORDER BY meetings.held_at, meeting_id, present DESC, seq",
            [],
        )

    def _tenures(self, key: str) -> tuple[set[str], list[tuple[str, str, str | None]]]:
        """For an owner filter ``key`` (casefolded): the role codes (casefolded) of the
        capacity it names, and the spells (role code, from, until) in which the person it
        names held a role, by the attendance: from a meeting listing them first for the role
        until the next meeting listing someone else (``None``: still)."""
        rows = self._attendance_with_roles()
        capacity_roles = {r[2].casefold() for r in rows if (r[1] or "").casefold() == key}
        holders: dict[str, list[tuple[str, str]]] = {}  # role -> [(held_on, holder)]
        for name, _capacity, role, held_on, _present in rows:
            spells = holders.setdefault(role.casefold(), [])
            if not spells or spells[-1][0] != held_on:
                spells.append((held_on, name))
        tenures = []
        for role, spells in holders.items():
            for n, (held_on, name) in enumerate(spells):
                if name.casefold() == key:
                    until = next((d for d, other in spells[n + 1 :] if other != name), None)
                    tenures.append((role, held_on, until))
        return capacity_roles, tenures

    def holder(self, role: str, on_date: DateInput) -> RoleHolder | None:
        """Who held ``role`` on ``on_date``, as far as the recorded meetings' attendance lists
        show: the person listed in that role at the last meeting on or before the date
        (``None`` if no such meeting lists the role).

        Raises:
            ValidationError: empty role, or a malformed date.
        """
        key = check_text("role", role, limit=40).casefold()
        day = to_date(on_date, field="on_date")
        rows = self._select(
            "SELECT name, capacity, meeting_id, attendance.held_on, present FROM attendance "
            "JOIN meetings ON meetings.id = attendance.meeting_id "
            "WHERE role_key = ? AND attendance.held_on <= ? "
            "ORDER BY meetings.held_at DESC, meeting_id DESC, present DESC, seq LIMIT 1",
            [key, day.isoformat()],
        )
        if not rows:
            return None
        name, capacity, meeting_id, held_on, present = rows[0]
        return RoleHolder(
            role=role.strip(),
            name=name,
            capacity=capacity,
            meeting=meeting_id,
            held_on=to_date(held_on, field="held_on"),
            present=bool(present),
        )

    def agenda(self, meeting_date: DateInput, *, publishable: bool = False) -> Agenda:
        """The outstanding matters / matters arising for a meeting on ``meeting_date``.

        "Still open before it" is judged by what the register knows now (an action closed on
        or after the date was open before it). For what was known then, ask an as-of view:
        ``ledger.as_of(date, axis="occurred").agenda(date)``.

        With ``publishable=True``, the agenda for a reader without the right to restricted
        matters: restricted actions left out, the others in their public form (see
        :meth:`public_forms`), ordered by the due dates that form shows.

        Raises:
            ValidationError: a malformed date.
        """
        day = to_date(meeting_date, field="meeting_date").isoformat()
        _check_flag("publishable", publishable)
        outstanding = self._actions(
            _open_on("raised_on < :day", "closed_on >= :day")
            + " ORDER BY (due_on IS NULL OR due_on > :day), "
            "CASE WHEN due_on <= :day THEN due_on END, raised_at, id",
            {"day": day},
        )
        if publishable:
            cut = to_date(day, field="meeting_date")
            outstanding = tuple(
                sorted(
                    self.public_forms(outstanding),
                    key=lambda a: (
                        a.due_on is None or a.due_on > cut,
                        "" if a.due_on is None or a.due_on > cut else a.due_on.isoformat(),
                        a.raised_at,
                        a.id,
                    ),
                )
            )
        found = self._select(
            "SELECT data FROM meetings WHERE held_on < ? ORDER BY held_at DESC, id DESC LIMIT 1",
            [day],
        )
        previous = meeting_from_row(found[0][0]) if found else None
        closed: tuple[Action, ...] = ()
        if previous is not None:
            closed = self._actions(
                "SELECT data FROM actions WHERE closed_on >= ? AND closed_on < ? "
                "AND closed_at > ? ORDER BY closed_at, id",  # closed_on bounds the index range
                [previous.date.isoformat(), day, format_utc(previous.held_at)],
            )
            if publishable:
                closed = self.public_forms(closed)
        return Agenda(
            date=to_date(day, field="meeting_date"),
            previous_meeting=previous,
            outstanding=outstanding,
            closed_since=closed,
        )

    def rag(
        self,
        on_date: DateInput | None = None,
        *,
        amber_days: int = 14,
        publishable: bool = False,
    ) -> tuple[DueStatus, ...]:
        """Every action open on ``on_date`` (today by default) with its RAG status: red past
        due, amber due within ``amber_days`` days, green otherwise (or no due date). Red
        first, most overdue first; then amber and green by due date.

        With ``publishable=True``, for a reader without the right to restricted matters:
        the publishable actions in their public form, judged by the due dates it shows.

        Raises:
            ValidationError: a malformed date, or ``amber_days`` not a whole number ≥ 0.
        """
        day = self._today() if on_date is None else to_date(on_date, field="on_date")
        _check_amber(amber_days)
        return self._due_statuses(day, amber_days, overdue_only=False, publishable=publishable)

    def _due_statuses(
        self, day: pendulum.Date, amber_days: int, *, overdue_only: bool, publishable: bool
    ) -> tuple[DueStatus, ...]:
        # The public form's due date may differ from the row's (a restricted update changed
        # it), so a public view selects on due dates after folding.
        _check_flag("publishable", publishable)
        past_due = " AND due_on < :day" if overdue_only and not publishable else ""
        actions = self._actions(
            _open_on("raised_on <= :day" + past_due, "closed_on > :day")
            + " ORDER BY due_on IS NULL, due_on, raised_at, id",
            {"day": day.isoformat()},
        )
        if publishable:
            actions = tuple(
                sorted(
                    (
                        a
                        for a in self.public_forms(actions)
                        if not overdue_only or (a.due_on is not None and a.due_on < day)
                    ),
                    key=lambda a: (
                        a.due_on is None,
                        "" if a.due_on is None else a.due_on.isoformat(),
                        a.raised_at,
                        a.id,
                    ),
                )
            )
        return tuple(_due_status(a, day, amber_days) for a in actions)

    def overdue(
        self,
        on_date: DateInput | None = None,
        *,
        amber_days: int = 14,
        publishable: bool = False,
    ) -> tuple[DueStatus, ...]:
        """The open actions past their due date on ``on_date`` (today by default), most
        overdue first, each with its days overdue (the red ones of :meth:`rag`).

        With ``publishable=True``, for a reader without the right to restricted matters, as
        :meth:`rag` gives it.

        Raises:
            ValidationError: a malformed date.
        """
        day = self._today() if on_date is None else to_date(on_date, field="on_date")
        _check_amber(amber_days)
        return self._due_statuses(day, amber_days, overdue_only=True, publishable=publishable)

    def chain(self, action_id: str) -> tuple[ChainLink, ...]:
        """The actions linked to this one by *follows* and *superseded by*, directly or
        through others, oldest raised first, each with the decisions that linked it to the
        earlier ones.

        Raises:
            NotFoundError: no such action.
        """
        start = check_action_id(action_id)
        if not self._select("SELECT 1 FROM actions WHERE id = ?", [start]):
            raise NotFoundError(f"action {action_id!r} does not exist")
        links: dict[tuple[str, str, str], Link] = {}
        seen = {start}
        frontier = [start]
        while frontier:
            marks = ", ".join("?" * len(frontier))
            rows = self._select(
                "SELECT action_id, kind, other, event_id, position, occurred_at, meeting, "
                "decision "
                f"FROM links WHERE action_id IN ({marks}) OR other IN ({marks})",
                frontier + frontier,
            )
            frontier = []
            for action, kind, other, event_id, position, occurred_at, meeting, decision in rows:
                links[(action, kind, other)] = Link(
                    kind=kind,
                    action=action,
                    other=other,
                    event_id=event_id,
                    position=position,
                    occurred_at=to_datetime(occurred_at, field="occurred_at", local=False),
                    meeting=meeting,
                    decision=decision,
                )
                for name in (action, other):
                    if name not in seen:
                        seen.add(name)
                        frontier.append(name)
        members = sorted(
            self._actions(
                f"SELECT data FROM actions WHERE id IN ({', '.join('?' * len(seen))})",
                sorted(seen),
            ),
            key=lambda a: (a.raised_at, a.id),
        )
        order = {a.id: n for n, a in enumerate(members)}
        result = []
        for action in members:
            tied = [
                link
                for link in links.values()
                if action.id in (link.action, link.other)
                and order.get(link.other if link.action == action.id else link.action, -1)
                < order[action.id]
            ]
            tied.sort(key=lambda link: (link.occurred_at, link.position))
            result.append(ChainLink(action=action, links=tuple(tied)))
        return tuple(result)

    # -- what a reader without the right sees -----------------------------------------------------

    def public_forms(self, actions: Iterable[Action]) -> tuple[Action, ...]:
        """The public form of each action, folded from its stream as this view sees it:
        restricted actions left out; restricted update notes, the text, owners and due dates
        they changed, and links to restricted actions taken out (the one definition, in
        ``action_ledger._publication``). The order is kept.

        The stream decides, not the table row: a row edited to look publishable is still
        left out when its raise says restricted.
        """

        def stream(action_id: str) -> list[ActionEvent]:
            return [e for _, e in self._rows(action_id)]

        restricted = RestrictedActions(stream)
        found = (public_action(stream(a.id), restricted=restricted) for a in actions)
        return tuple(a for a in found if a is not None)

    # -- helpers --------------------------------------------------------------------------------

    def _select(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return self._tables().select(sql, params)

    def _actions(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[Action, ...]:
        return tuple(action_from_row(data) for (data,) in self._select(sql, params))


def _open_on(raised: str, closed: str) -> str:
    """The actions that were open on a day: open now (and raised by then), or closed since.

    Two branches, each on its own index (``status, raised_on`` and ``closed_on, raised_on``),
    so the query reads the open and the lately closed actions, not the whole register."""
    columns = "SELECT data, due_on, raised_at, id FROM actions"
    return (
        f"SELECT data FROM ({columns} WHERE status = 'open' AND {raised} UNION ALL "
        f"{columns} WHERE {closed} AND {raised}) AS open_on"  # closed_on: set only while closed
    )


def _owned_by(
    action: Action,
    key: str,
    capacity_roles: Container[str] = (),
    tenures: Sequence[tuple[str, str, str | None]] = (),
) -> bool:
    """Whether a role code, person or capacity (casefolded) owns the action, as the register
    filter matches them (see :meth:`RegisterView._tenures`)."""
    raised = local_date(action.raised_at).isoformat()
    for o in action.owners:
        role = o.role.casefold()
        if role == key or role in capacity_roles:
            return True
        if o.person is not None:
            if o.person.casefold() == key:
                return True
            continue
        if any(r == role and start <= raised < (until or "9999") for r, start, until in tenures):
            return True
    return False


def _check_flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(f"{name}: {value!r} is not True or False", field=name, value=value)


def _check_amber(amber_days: object) -> None:
    if isinstance(amber_days, bool) or not isinstance(amber_days, int) or amber_days < 0:
        raise ValidationError(
            f"amber days: {amber_days!r} is not a whole number of days >= 0",
            field="amber_days",
            value=amber_days,
        )


def _status(value: str) -> str:
    if value not in STATUSES:
        raise ValidationError(
            f"status {value!r} is not one of {', '.join(STATUSES)}", field="status", value=value
        )
    return value


def _due_status(action: Action, day: pendulum.Date, amber_days: int) -> DueStatus:
    if action.due_on is None:
        return DueStatus(action=action, rag="green", days_overdue=0, days_left=None)
    # Ordinals, not ``due_on - day``: pendulum's difference builds an Interval (20 µs), and
    # an overdue list at 1,000,000 events has thousands of rows.
    left = action.due_on.toordinal() - day.toordinal()
    rag: Rag = "red" if left < 0 else "amber" if left <= amber_days else "green"
    return DueStatus(action=action, rag=rag, days_overdue=max(-left, 0), days_left=left)


# -- as-of views ----------------------------------------------------------------------------------


def as_of_moment(moment: MomentInput) -> pendulum.DateTime:
    """The instant an as-of view looks at: a date-time (London wall time unless it has an
    offset), or a date, meaning the end of that day in London.

    Raises:
        ValidationError: neither a real date-time nor a real date.
    """
    if bare_date(moment) is not None or (isinstance(moment, str) and len(moment.strip()) == 10):
        day = to_date(moment, field="moment")
        if day == _dt.date.max:  # the day after does not exist: the last instant there is
            return pendulum.instance(_dt.datetime.max.replace(tzinfo=_dt.UTC))
        end = pendulum.datetime(day.year, day.month, day.day, tz=LONDON).add(days=1)
        return end.in_tz(UTC).subtract(microseconds=1)
    return to_datetime(moment, field="moment")


class AsOfView(RegisterView):
    """The register as it stood at :attr:`moment`, read-only, with the same queries.

    - ``axis="recorded"``: exactly what the register said then: only events recorded at or
      before the moment.
    - ``axis="occurred"``: the world at that moment as we know it now: every event that had
      occurred by then (by its occurred time, as corrected), with every correction of those
      events applied, however late it was recorded.

    ``get`` and ``history`` read one stream; the register-wide queries build the view's tables
    once, on first use, in a temporary file (memory stays bounded).
    """

    def __init__(
        self,
        store: EventStore,
        moment: MomentInput,
        axis: Axis = "recorded",
        *,
        keys: SubjectKeys | None = None,
    ) -> None:
        if axis not in ("recorded", "occurred"):
            raise ValidationError(
                f"axis {axis!r} is not 'recorded' or 'occurred'", field="axis", value=axis
            )
        self.moment = as_of_moment(moment)
        self.axis: Axis = axis
        self._store = store
        self._keys = keys
        self._cut = format_utc(self.moment)
        self._model: ReadModel | None = None

    def __repr__(self) -> str:
        return f"AsOfView({self._cut!r}, axis={self.axis!r})"

    def _today(self) -> pendulum.Date:
        return local_date(self.moment)

    def _rows(self, action_id: str) -> list[Row]:
        rows = self._store.read_stream(ACTION_PREFIX + action_id)
        if self.axis == "recorded":
            rows = [r for r in rows if r.recorded_at <= self._cut]
            return [(r, _action(r, self._keys)) for r in rows]
        decoded = [(r, _action(r, self._keys)) for r in rows]
        moved = _occurred_corrections(e for _, e in decoded)
        by_position = {r.position: e for r, e in decoded}
        items = ((r, e.corrects if isinstance(e, ActionCorrected) else None) for r, e in decoded)
        return [(r, by_position[r.position]) for r in _occurred_by(self._cut, items, moved)]

    def _tables(self) -> ReadModel:
        if self._model is None:
            model = ReadModel.open("", strict=False)
            model.keys = self._keys
            model.feed(self._selected(), _ViewSource(self))
            self._model = model
        return self._model

    def _selected(self) -> Iterator[StoredEvent]:
        """The log as this view sees it, in log order."""
        if self.axis == "recorded":
            for stored in self._store.read_all():
                if stored.recorded_at > self._cut:
                    return  # recorded times never decrease along the log
                yield stored
            return
        moved: dict[str, str] = {}
        targets: set[str] = set()
        for stored in self._store.read_all():
            if stored.event_type == "action.corrected":
                event = decode(stored)
                assert isinstance(event, ActionCorrected)
                targets.add(event.corrects)
                if event.corrections.occurred_at is not None:
                    moved[event.corrects] = format_utc(event.corrections.occurred_at)
        items = ((stored, _corrects(stored)) for stored in self._store.read_all())
        yield from _occurred_by(self._cut, items, moved, watch=targets)

    def close(self) -> None:
        """Drop the view's temporary tables (also done when it is garbage collected)."""
        if self._model is not None:
            self._model.close()
            self._model = None

    def __enter__(self) -> AsOfView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _ViewSource:
    """An as-of view's earlier events of an action: its own selection of the stream."""

    def __init__(self, view: AsOfView) -> None:
        self._view = view

    def earlier(self, stored: StoredEvent) -> list[ActionEvent]:
        action_id = stored.stream_id[len(ACTION_PREFIX) :]
        return [e for r, e in self._view._rows(action_id) if r.position < stored.position]

    def earlier_meeting(self, stored: StoredEvent) -> list[MeetingEvent]:
        # On either axis a view holds all of a meeting's earlier events, or none of them (a
        # meeting's corrections are kept exactly when its record is).
        rows = self._view._store.read_stream(stored.stream_id, up_to_version=stored.version - 1)
        return meeting_events(rows)


def _action(stored: StoredEvent, keys: SubjectKeys | None = None) -> ActionEvent:
    event = decode(stored, keys)
    assert not isinstance(event, MeetingEvent)
    return event


def _corrects(stored: StoredEvent) -> str | None:
    """The event a stored correction corrects (``None`` for any other event); for a
    meeting's correction, its stream (see :func:`_occurred_by`)."""
    if stored.event_type == "meeting.corrected":
        return stored.stream_id
    if stored.event_type != "action.corrected":
        return None
    event = decode(stored)
    assert isinstance(event, ActionCorrected)
    return event.corrects


def _occurred_by(
    cut: str,
    items: Iterable[tuple[StoredEvent, str | None]],
    moved: Mapping[str, str],
    watch: Container[str] | None = None,
) -> Iterator[StoredEvent]:
    """The events that had occurred by ``cut`` (by their occurred time as last corrected),
    and the corrections of those events, however late they were recorded. A meeting's
    correction names its stream: it is kept when the meeting's record is.

    Args:
        items: stored events in log order, each with the id it corrects (if a correction).
        moved: event id -> its corrected occurred time (canonical UTC text).
        watch: the ids whose keeping must be remembered (those corrections name); all if
            ``None``.
    """
    kept: set[str] = set()
    for stored, corrects in items:
        if corrects is not None:
            if corrects not in kept:
                continue
        elif moved.get(stored.event_id, stored.occurred_at) > cut:
            continue
        if watch is None or stored.event_id in watch:
            kept.add(stored.event_id)
        if stored.event_type == "meeting.recorded":
            kept.add(stored.stream_id)
        yield stored


def _occurred_corrections(events: Iterator[ActionEvent] | list[ActionEvent]) -> dict[str, str]:
    """Event id → its occurred time as last corrected (canonical UTC text)."""
    moved: dict[str, str] = {}
    for event in events:
        if isinstance(event, ActionCorrected) and event.corrections.occurred_at is not None:
            moved[event.corrects] = format_utc(event.corrections.occurred_at)
    return moved
