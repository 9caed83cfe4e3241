"""Readers and writers: who may see what, and who may change the register.

A :class:`Scope` says what a reader sees (restricted matters or only the public forms of
``action_ledger._publication``) and whether it may write. An :class:`AccessPolicy` names the
scopes (``public``, ``force``, ``opcc``, ``secretariat`` by default) and the OPCC's own roles
that map to them. :meth:`Ledger.reader <action_ledger.Ledger.reader>` gives a :class:`Reader`
(every query as the scope may see it) and :meth:`Ledger.writer <action_ledger.Ledger.writer>`
a :class:`Writer` (every change recorded by one named actor, refused for a read-only scope).
The library has no login of its own: a host application maps its user to an actor and a
scope name, and asks the ledger for the reader and writer of that user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

from ._decider import Action, Meeting
from ._history import AuditEntry, build_history
from ._publication import RestrictedActions, public_action, public_events
from ._readmodel import ReadModel
from ._values import MAX_SHORT, check_action_id, check_text
from ._views import Agenda, ChainLink, DateInput, DueStatus, MomentInput, RegisterView, Row
from .commands import Command
from .events import ActionClosed, ActionEvent, ActionRaised
from .exceptions import NotFoundError, PermissionDeniedError, ValidationError

if TYPE_CHECKING:
    from ._ledger import Ledger

__all__ = ["DEFAULT_POLICY", "AccessPolicy", "Reader", "Scope", "Writer"]


def _scope_name(value: object) -> str:
    return check_text("scope", value, limit=40)


@attrs.frozen
class Scope:
    """What one kind of reader may see, and whether it may write.

    Attributes:
        name: the scope's name (``"public"``).
        restricted: whether it sees restricted matters; without this right every query gives
            the public forms only (no restricted action, note, changed field or link).
        write: whether it may change the register.
    """

    name: str = attrs.field(converter=_scope_name)
    restricted: bool = False
    write: bool = False


#: The scopes every policy knows unless it is given others.
DEFAULT_SCOPES: tuple[Scope, ...] = (
    Scope("public"),
    Scope("force", restricted=True),
    Scope("opcc", restricted=True, write=True),
    Scope("secretariat", restricted=True, write=True),
)


def _scopes(value: Iterable[Scope]) -> tuple[Scope, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(
            f"scopes: {value!r:.60} is not a list of Scope values", field="scopes", value=value
        )
    scopes = tuple(value)
    for scope in scopes:
        if not isinstance(scope, Scope):
            raise ValidationError(f"scopes: {scope!r} is not a Scope", field="scopes", value=scope)
    names = [s.name for s in scopes]
    if len(set(names)) != len(names) or not scopes:
        raise ValidationError(
            f"scopes: {names!r} must be one or more scopes with different names",
            field="scopes",
            value=names,
        )
    return scopes


def _roles(value: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    try:
        pairs = dict(value)
    except (TypeError, ValueError):
        raise ValidationError(
            f"roles: {value!r:.60} is not a mapping of role names to scope names",
            field="roles",
            value=value,
        ) from None
    return tuple(
        (check_text("role", role, limit=80), check_text("scope", scope, limit=40))
        for role, scope in pairs.items()
    )


@attrs.frozen
class AccessPolicy:
    """The scopes a register's readers and writers work in, and the OPCC's roles for them.

    The default policy's scopes: ``public`` (public forms only, read-only), ``force``
    (restricted matters too, read-only: the force attends the meetings that minute them),
    ``opcc`` and ``secretariat`` (everything, and may write: the register's keepers).

    Attributes:
        scopes: the scopes, each with a different name.
        roles: the OPCC's own role names, each mapped to a scope's name
            (``{"panel member": "public", "chief executive": "opcc"}``).
        default: the scope's name used when none is asked for.

    Raises:
        ValidationError: a role maps to an unknown scope, a role shadows a scope's name, or
            the default is unknown.
    """

    scopes: tuple[Scope, ...] = attrs.field(default=DEFAULT_SCOPES, converter=_scopes)
    roles: tuple[tuple[str, str], ...] = attrs.field(factory=tuple, converter=_roles)
    default: str = "opcc"

    def __attrs_post_init__(self) -> None:
        known = {s.name for s in self.scopes}
        for role, scope in self.roles:
            if scope not in known or role in known:
                raise ValidationError(
                    f"role {role!r} -> {scope!r}: a role must map to one of the scopes "
                    f"{', '.join(sorted(known))} and must not be one of their names",
                    field="roles",
                    value=role,
                )
        self.scope(self.default)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name :meth:`scope` accepts: the scopes', then the roles'."""
        return tuple(s.name for s in self.scopes) + tuple(r for r, _ in self.roles)

    def scope(self, name: str | Scope | None = None) -> Scope:
        """The scope of a name (a scope's or a role's); the default when ``None``. A
        :class:`Scope` is given back as it is.

        Raises:
            ValidationError: the name is neither a scope's nor a role's.
        """
        if isinstance(name, Scope):
            return name
        wanted = self.default if name is None else name
        if not isinstance(wanted, str):
            raise ValidationError(
                f"scope {name!r:.60} is not a scope's name: give one of {', '.join(self.names)}",
                field="scope",
                value=name,
            )
        wanted = dict(self.roles).get(wanted, wanted)
        for scope in self.scopes:
            if scope.name == wanted:
                return scope
        raise ValidationError(
            f"scope {name!r} is not one of {', '.join(self.names)}", field="scope", value=name
        )


#: The policy a :class:`~action_ledger.Ledger` uses unless it is given one.
DEFAULT_POLICY = AccessPolicy()


class Reader(RegisterView):
    """The register as one scope may see it: read-only, with every query of a
    :class:`~action_ledger.RegisterView` and :meth:`as_of`.

    For a scope with the right to restricted matters the answers are the view's own. For a
    scope without it, every answer is made of the public forms (``action_ledger._publication``):
    ``register`` as ``register(restricted=False)``; ``agenda``, ``overdue`` and ``rag`` as
    with ``publishable=True``; ``get`` the public form (a restricted action does not exist);
    ``history`` the public events only, links to restricted actions taken out; ``chain``
    the public actions linked by public links.

    Attributes:
        scope: the scope it reads in.
    """

    def __init__(self, view: RegisterView, scope: Scope) -> None:
        self._view = view
        self.scope = scope

    def __repr__(self) -> str:
        return f"Reader({self._view!r}, scope={self.scope.name!r})"

    def _rows(self, action_id: str) -> list[Row]:
        return self._view._rows(action_id)

    def _tables(self) -> ReadModel:
        return self._view._tables()

    def _today(self) -> pendulum.Date:
        return self._view._today()

    @property
    def _public(self) -> bool:
        return not self.scope.restricted

    def as_of(self, moment: MomentInput, axis: str = "recorded") -> Reader:
        """The register at a past moment (see :meth:`Ledger.as_of
        <action_ledger.Ledger.as_of>`), as this scope may see it.

        Raises:
            ValidationError: a malformed moment or axis, or this reader is of a past moment
                already.
        """
        as_of = getattr(self._view, "as_of", None)
        if as_of is None:
            raise ValidationError(
                f"as_of: {self!r} already reads a past moment; ask the live reader",
                field="moment",
                value=moment,
            )
        return Reader(as_of(moment, axis), self.scope)

    def get(self, action_id: str) -> Action:
        """The state of one action (its public form for a scope without the right).

        Raises:
            NotFoundError: no such action (or, for a scope without the right, a restricted one).
        """
        if not self._public:
            return self._view.get(action_id)
        check_action_id(action_id)
        action = public_action(self._stream(action_id), restricted=self._links())
        if action is None:
            raise NotFoundError(f"action {action_id!r} does not exist")
        return action

    def history(self, action_id: str) -> tuple[AuditEntry, ...]:
        """The audit trail of one action; for a scope without the right, of its public events
        only (a restricted update and its corrections left out, links to restricted actions
        taken out of the rest).

        Raises:
            NotFoundError: no such action (or, for a scope without the right, a restricted one).
        """
        if not self._public:
            return self._view.history(action_id)
        rows = self._rows(check_action_id(action_id))
        kept = {id(e) for e in public_events(e for _, e in rows)}
        if not kept:
            raise NotFoundError(f"action {action_id!r} does not exist")
        links = self._links()
        entries = build_history(
            (stored, _without_links(event, links)) for stored, event in rows if id(event) in kept
        )
        # Versions count the public events only, as the public form's does.
        return tuple(attrs.evolve(e, version=n) for n, e in enumerate(entries, 1))

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
        """The register, filtered (see :meth:`RegisterView.register
        <action_ledger.RegisterView.register>`); for a scope without the right, the public
        forms of the publishable actions.

        Raises:
            PermissionDeniedError: ``restricted=True`` asked of a scope without the right.
            ValidationError: a malformed filter.
        """
        if self._public:
            if restricted is True:
                raise PermissionDeniedError(
                    f"scope {self.scope.name!r} may not see restricted actions "
                    "(restricted=True); ask with restricted=False or None"
                )
            restricted = False
        return super().register(
            status=status,
            owner=owner,
            meeting=meeting,
            raised_from=raised_from,
            raised_to=raised_to,
            restricted=restricted,
            text=text,
        )

    def agenda(self, meeting_date: DateInput, *, publishable: bool = False) -> Agenda:
        """The matters arising for a meeting (publishable whatever is asked, for a scope
        without the right)."""
        return super().agenda(meeting_date, publishable=publishable or self._public)

    def rag(
        self,
        on_date: DateInput | None = None,
        *,
        amber_days: int = 14,
        publishable: bool = False,
    ) -> tuple[DueStatus, ...]:
        """Every open action with its RAG status (publishable whatever is asked, for a scope
        without the right)."""
        return super().rag(on_date, amber_days=amber_days, publishable=publishable or self._public)

    def overdue(
        self,
        on_date: DateInput | None = None,
        *,
        amber_days: int = 14,
        publishable: bool = False,
    ) -> tuple[DueStatus, ...]:
        """The open actions past their due date (publishable whatever is asked, for a scope
        without the right)."""
        return super().overdue(
            on_date, amber_days=amber_days, publishable=publishable or self._public
        )

    def chain(self, action_id: str) -> tuple[ChainLink, ...]:
        """The actions linked to this one; for a scope without the right, only public
        actions (in their public form) reached through links between public actions.

        Raises:
            NotFoundError: no such action (or, for a scope without the right, a restricted one).
        """
        full = super().chain(action_id)
        if not self._public:
            return full
        links = self._links()
        if action_id in links:
            raise NotFoundError(f"action {action_id!r} does not exist")
        public = {c.action.id for c in full} - _hidden(links, (c.action.id for c in full))
        reached, frontier = {action_id}, [action_id]
        while frontier:
            here = frontier.pop()
            for c in full:
                for link in c.links:
                    ends = {link.action, link.other}
                    if here in ends and ends <= public:
                        for other in ends - reached:
                            reached.add(other)
                            frontier.append(other)
        members = self.public_forms(c.action for c in full if c.action.id in reached)
        forms = {a.id: a for a in members}
        # A decision is worded as the public history words its event (no restricted link).
        summaries = {e.event_id: e.summary for i in forms for e in self.history(i)}
        return tuple(
            ChainLink(
                action=forms[c.action.id],
                links=tuple(
                    attrs.evolve(link, decision=summaries[link.event_id])
                    for link in c.links
                    if {link.action, link.other} <= reached
                ),
            )
            for c in full
            if c.action.id in forms
        )

    def _stream(self, action_id: str) -> list[ActionEvent]:
        return [e for _, e in self._rows(action_id)]

    def _links(self) -> RestrictedActions:
        return RestrictedActions(self._stream)


def _hidden(links: RestrictedActions, ids: Iterable[str]) -> set[str]:
    return {i for i in ids if i in links}


def _without_links(event: ActionEvent, restricted: RestrictedActions) -> ActionEvent:
    """A public event with the links to restricted actions taken out."""
    if isinstance(event, ActionRaised) and any(f in restricted for f in event.follows):
        return attrs.evolve(event, follows=tuple(f for f in event.follows if f not in restricted))
    if isinstance(event, ActionClosed) and event.superseded_by in restricted:
        return attrs.evolve(event, superseded_by=None)
    return event


class Writer:
    """Changes to the register, each recorded by one named actor, in one scope.

    Every method is the :class:`~action_ledger.Ledger` method of the same name, with
    ``actor`` filled in; an ``actor`` given anyway must be this writer's (it is never
    replaced silently), and so must the ``actor`` of a command given to :meth:`execute`.

    Attributes:
        actor: who records the changes (non-empty).
        scope: the scope it writes in.

    Raises:
        ValidationError: a blank actor.
    """

    def __init__(self, ledger: Ledger, actor: str, scope: Scope) -> None:
        self._ledger = ledger
        self.actor = check_text("actor", actor, limit=MAX_SHORT)
        self.scope = scope

    def __repr__(self) -> str:
        return f"Writer(actor={self.actor!r}, scope={self.scope.name!r})"

    def check(self) -> None:
        """Do nothing if this writer may write, else raise.

        Raises:
            PermissionDeniedError: the scope may not write.
        """
        if not self.scope.write:
            raise PermissionDeniedError(
                f"scope {self.scope.name!r} may not change the register ({self.actor!r} "
                "asked to); a scope with the write right may (by default opcc or secretariat)"
            )

    def _fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        self.check()
        given = check_text("actor", fields.pop("actor", self.actor), limit=MAX_SHORT)
        if given != self.actor:
            raise PermissionDeniedError(
                f"actor {given!r} is not this writer's actor {self.actor!r}: "
                "an actor is never replaced"
            )
        return {**fields, "actor": self.actor}

    def _command(self, command: Command) -> Command:
        self.check()
        if getattr(command, "actor", None) != self.actor:
            raise PermissionDeniedError(
                f"command {type(command).__name__} records actor "
                f"{getattr(command, 'actor', None)!r}, not this writer's {self.actor!r}: "
                "an actor is never replaced"
            )
        return command

    def record_meeting(self, meeting_id: str, **fields: Any) -> Meeting:
        """:meth:`Ledger.record_meeting <action_ledger.Ledger.record_meeting>` as this actor."""
        return self._ledger.record_meeting(meeting_id, **self._fields(fields))

    def raise_action(self, **fields: Any) -> str:
        """:meth:`Ledger.raise_action <action_ledger.Ledger.raise_action>` as this actor."""
        return self._ledger.raise_action(**self._fields(fields))

    def update_action(self, action_id: str, **fields: Any) -> Action:
        """:meth:`Ledger.update_action <action_ledger.Ledger.update_action>` as this actor."""
        return self._ledger.update_action(action_id, **self._fields(fields))

    def revisit_action(self, action_id: str, **fields: Any) -> Action:
        """:meth:`Ledger.revisit_action <action_ledger.Ledger.revisit_action>` as this actor."""
        return self._ledger.revisit_action(action_id, **self._fields(fields))

    def close_action(self, action_id: str, **fields: Any) -> Action:
        """:meth:`Ledger.close_action <action_ledger.Ledger.close_action>` as this actor."""
        return self._ledger.close_action(action_id, **self._fields(fields))

    def reopen_action(self, action_id: str, **fields: Any) -> Action:
        """:meth:`Ledger.reopen_action <action_ledger.Ledger.reopen_action>` as this actor."""
        return self._ledger.reopen_action(action_id, **self._fields(fields))

    def correct_event(self, action_id: str, corrects: str, **fields: Any) -> Action:
        """:meth:`Ledger.correct_event <action_ledger.Ledger.correct_event>` as this actor."""
        return self._ledger.correct_event(action_id, corrects, **self._fields(fields))

    def execute(self, command: Command) -> Action | Meeting:
        """:meth:`Ledger.execute <action_ledger.Ledger.execute>` of a command recorded by
        this actor.

        Raises:
            PermissionDeniedError: the scope may not write, or the command's actor is another.
        """
        return self._ledger.execute(self._command(command))

    def execute_many(self, commands: Iterable[Command]) -> tuple[Action | Meeting, ...]:
        """:meth:`Ledger.execute_many <action_ledger.Ledger.execute_many>` of commands all
        recorded by this actor (all refused, nothing written, if one is not).

        Raises:
            PermissionDeniedError: the scope may not write, or a command's actor is another.
        """
        return self._ledger.execute_many([self._command(c) for c in commands])
