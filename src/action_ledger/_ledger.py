"""The Ledger: the imperative shell around the core, and the API tools and people use.

Each command loads its stream (and the streams it names), decides, and appends with the
expected version. A command that lost a race, or whose connection was lost, is decided again on
fresh state and retried with jittered backoff within a time budget, with the same event id (so
a retry never stores twice). Queries read the log through projections. The shell is the only
place that reads the clock, sleeps, or makes event ids and random numbers.
"""

from __future__ import annotations

import datetime as _dt
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from time import monotonic as _monotonic
from typing import TYPE_CHECKING, Any, Literal

import attrs
import pendulum

from ._access import DEFAULT_POLICY, AccessPolicy, Reader, Scope, Writer
from ._clock import Clock, format_utc, local_date, system_clock, to_register_moment
from ._codec import ACTION_PREFIX, MEETING_PREFIX, decode, encode
from ._decider import (
    Action,
    ActionState,
    Context,
    Meeting,
    MeetingState,
    decide,
    evolve,
    evolve_meeting,
    fold,
    fold_meeting,
)
from ._due import meeting_words
from ._erasure import ErasurePolicy, SubjectKeys, check_subject
from ._history import AuditEntry, entries_from_rows
from ._keys import KeyRecord, Keyring
from ._memory import MemoryEventStore
from ._projections import Projection
from ._readcheck import Accepted, Differences, Twin, compare_checkpoints, compare_table
from ._readmodel import Progress, ReadModel, StoreSource
from ._sqlite import SQLiteEventStore
from ._subscriptions import Handler, Subscription
from ._values import MAX_SHORT, Attendee, Owner, check_action_id, check_meeting_id, check_text
from ._views import AsOfView, Axis, MomentInput, RegisterView
from .commands import (
    CloseAction,
    Command,
    CorrectEvent,
    CorrectMeeting,
    DueInput,
    RaiseAction,
    RecordMeeting,
    ReopenAction,
    RevisitAction,
    UpdateAction,
    as_tuple,
    check_event_id,
)
from .events import ActionEvent, Event, MeetingCorrected, MeetingEvent, Resolution
from .exceptions import (
    ActionLedgerError,
    ConcurrencyError,
    ConnectionLostError,
    IntegrityError,
    NotFoundError,
    RuleViolationError,
    StoreError,
    ValidationError,
)
from .store import (
    GENESIS_HASH,
    Batch,
    EventStore,
    NewEvent,
    StoredEvent,
    VerifyReport,
    keys_of,
    verify_chain,
)

if TYPE_CHECKING:
    from .minutes._apply import AppliedDraft
    from .minutes._model import MinutesDraft

Moment = str | _dt.datetime
_COMPARE_ATTEMPTS = 3
ActionCommand = (
    RaiseAction | UpdateAction | RevisitAction | CloseAction | ReopenAction | CorrectEvent
)
MeetingCommand = RecordMeeting | CorrectMeeting


class Ledger(RegisterView):
    """An action register kept as an event log.

    Open one with :meth:`Ledger.open`; or wrap any :class:`~action_ledger.store.EventStore`.
    The queries (``get``, ``history``, ``register``, ``agenda``, ``overdue``, ``chain``…) are
    those of every :class:`RegisterView`; :meth:`as_of` gives the same queries on the past.

    Args:
        store: the event store.
        clock: the clock for default ``occurred_at`` values (the system clock by default).
        retry_budget: seconds within which a command that lost a race with another writer
            (or whose connection was lost) is decided again on fresh state and retried, with
            jittered exponential backoff; ``0`` turns retries off, so the first
            :class:`~action_ledger.ConcurrencyError` or
            :class:`~action_ledger.ConnectionLostError` reaches the caller.
        max_retries: at most this many retries as well (``None``: only the budget counts).
        id_prefix: the start of generated action ids (``"ACT"`` gives ``ACT-2021-001``).
        cache_size: how many actions' states to keep between commands (0 to keep none).
        read_model: where the read-model tables live; by default the SQLite file of a
            :class:`SQLiteEventStore`, else a private in-memory database. They are caught up
            from the log at once, and after every append.
        progress: called as ``progress(done, total)`` while that first catch-up runs (long
            only for a register whose tables are new or were dropped).
        policy: the scopes :meth:`reader` and :meth:`writer` accept (the default policy's:
            ``public``, ``force``, ``opcc``, ``secretariat``). The ledger itself reads and
            writes with every right, as before.
        keys: the register's subject keys (see :class:`~action_ledger.SubjectKeys`): sealed
            fields are opened with them, and new ones sealed under them.
        erasure: which fields to seal so that they can be erased later (needs ``keys``);
            recorded in the key store the first time, so that every writer given the key
            store applies it; ``None``: the policy the key store records, if any.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        clock: Clock = system_clock,
        retry_budget: float = 10.0,
        max_retries: int | None = None,
        id_prefix: str = "ACT",
        cache_size: int = 1024,
        read_model: ReadModel | None = None,
        progress: Progress | None = None,
        policy: AccessPolicy = DEFAULT_POLICY,
        keys: SubjectKeys | None = None,
        erasure: ErasurePolicy | None = None,
    ) -> None:
        if erasure is not None and not isinstance(erasure, ErasurePolicy):
            raise ValidationError(
                f"erasure: {erasure!r:.60} is not an ErasurePolicy (or None)",
                field="erasure",
                value=erasure,
            )
        if erasure is not None and keys is None:
            raise ValidationError(
                f"erasure={erasure!r} needs a key store to seal fields with: give "
                "keys=SubjectKeys(path) (a file kept apart from the register)",
                field="keys",
                value=keys,
            )
        if keys is not None:  # the key store records the policy, so every writer applies it
            recorded = keys.policy()
            if erasure is None:
                erasure = recorded
            elif recorded is None:
                keys.set_policy(erasure)
            elif recorded != erasure:
                raise ValidationError(
                    f"erasure={erasure!r} differs from the policy the key store records "
                    f"({recorded!r}): open with erasure=None to apply the recorded one, or "
                    "change it first with keys.set_policy()",
                    field="erasure",
                    value=erasure,
                )
        self.store = store
        if not isinstance(policy, AccessPolicy):
            raise ValidationError(
                f"policy {policy!r} is not accepted: give an AccessPolicy",
                field="policy",
                value=policy,
            )
        self.policy = policy
        self.keys = keys
        self.erasure = erasure
        self._closes_keys = False
        self._clock = clock
        if max_retries is not None and max_retries < 0:
            raise ValidationError(
                f"max_retries {max_retries!r} is not accepted: give 0 or more, or None",
                field="max_retries",
                value=max_retries,
            )
        self._retry_budget = 0.0 if max_retries == 0 else max(float(retry_budget), 0.0)
        self._max_retries = max_retries
        self._random = random.Random()
        self._id_prefix = id_prefix
        self._states: OrderedDict[str, ActionState] = OrderedDict()
        self._cache_size = cache_size
        self._fresh_ids: set[str] = set()
        self._meetings: dict[str, MeetingState] = {}
        self._appended = threading.Condition()
        self.read_model = ReadModel.for_store(store) if read_model is None else read_model
        self.read_model.keys = keys
        self.read_model.catch_up(store, progress=progress)

    @classmethod
    def open(
        cls,
        target: str | Path = ":memory:",
        *,
        create: bool = True,
        key: bytes | Keyring | None = None,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout: float = 30.0,
        clock: Clock = system_clock,
        retry_budget: float = 10.0,
        max_retries: int | None = None,
        cache_size: int = 1024,
        progress: Progress | None = None,
        schema: str = "action_ledger",
        policy: AccessPolicy = DEFAULT_POLICY,
        keys: SubjectKeys | str | Path | None = None,
        erasure: ErasurePolicy | None = None,
    ) -> Ledger:
        """Open a register.

        Args:
            target: a SQLite file path (created if missing), ``":memory:"`` for an in-memory
                register, or a ``postgresql://`` URL.
            create: ``True`` (the default) creates the register if the target holds none
                (a new file, an empty one, a schema without tables); ``False`` refuses such a
                target with a :class:`~action_ledger.StoreError` and creates nothing, so a
                mistyped path is an error, not an empty register. ``":memory:"`` is always
                created. Either way, another application's SQLite database is refused
                and left untouched.
            key: the HMAC key of the hash chain, or a :class:`~action_ledger.Keyring` (oldest
                key first; the newest seals). A new register opened with a key is keyed from
                then on; a keyed register must be opened with its key, a plain one without.
            synchronous: SQLite durability, ``"FULL"`` (default) or ``"NORMAL"``.
            busy_timeout: seconds a SQLite writer waits for another process.
            clock: the clock for ``recorded_at`` and default ``occurred_at`` values.
            retry_budget: seconds within which a command that lost a race (or its
                connection) is retried on fresh state with jittered backoff; ``0``: never.
            max_retries: at most this many retries as well (``None``: the budget alone).
            cache_size: how many actions' states to keep between commands.
            progress: called as ``progress(done, total)`` while the read models catch up
                on opening.
            schema: for PostgreSQL, the schema holding this register (several registers can
                share one database, a schema each).
            policy: the scopes :meth:`reader` and :meth:`writer` accept.
            keys: the register's subject key store (a :class:`~action_ledger.SubjectKeys`
                or the path of its SQLite file, which must exist unless ``erasure`` is
                given): sealed fields are opened with it. Without it, every sealed field
                reads as ``"[erased]"``.
            erasure: which fields to seal under subject keys, so that they can be erased
                by :meth:`erase` (needs ``keys``); recorded in the key store, so later
                writers given the key store apply it without being told (``None``).

        Raises:
            StoreError: the target cannot be opened: it holds no register and ``create`` is
                ``False``, it is another application's database, or the file is read-only,
                locked beyond ``busy_timeout`` or on a full disk.
            KeyMismatchError: a keyed register opened without its key or with another one, or a
                plain register opened with a key; nothing was written.
            IntegrityError: the file is damaged.
        """
        opened = keys is not None and not isinstance(keys, SubjectKeys)
        if keys is not None and not isinstance(keys, SubjectKeys):
            keys = SubjectKeys(keys, create=erasure is not None)
        store = open_store(
            target,
            key=key,
            synchronous=synchronous,
            busy_timeout=busy_timeout,
            clock=clock,
            schema=schema,
            create=create,
        )
        ledger = cls(
            store,
            clock=clock,
            retry_budget=retry_budget,
            max_retries=max_retries,
            cache_size=cache_size,
            progress=progress,
            policy=policy,
            keys=keys,
            erasure=erasure,
        )
        ledger._closes_keys = opened  # a key store opened from a path is the ledger's to close
        return ledger

    def reader(self, scope: str | Scope | None = None) -> Reader:
        """The register as a scope may see it: every query, and ``as_of``, giving only the
        public forms to a scope without the right to restricted matters.

        Args:
            scope: a scope's name or an OPCC role's (see :attr:`policy`), or a
                :class:`~action_ledger.Scope`; the policy's default when ``None``.

        Raises:
            ValidationError: an unknown scope or role.
        """
        return Reader(self, self.policy.scope(scope))

    def writer(self, actor: str, scope: str | Scope | None = None) -> Writer:
        """Changes recorded by one named actor in a scope: a read-only scope's writer refuses
        every change with :class:`~action_ledger.PermissionDeniedError` and writes nothing.

        Args:
            actor: who records the changes (non-empty; never replaced).
            scope: a scope's name or an OPCC role's, or a :class:`~action_ledger.Scope`; the
                policy's default when ``None``.

        Raises:
            ValidationError: a blank actor, or an unknown scope or role.
        """
        return Writer(self, actor, self.policy.scope(scope))

    def close(self) -> None:
        """Close the read model and the underlying store (and a key store it opened)."""
        self.read_model.close()
        self.store.close()
        if self._closes_keys and self.keys is not None:
            self.keys.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands ------------------------------------------------------------------------------

    def record_meeting(
        self,
        meeting_id: str,
        *,
        title: str,
        held_at: Moment,
        actor: str,
        kind: str | None = None,
        venue: str | None = None,
        chair: str | None = None,
        minutes_by: str | None = None,
        attendance: Sequence[Attendee] = (),
        apologies: Sequence[Attendee] = (),
        event_id: str | None = None,
        occurred_at: Moment | None = None,
        source: str | None = None,
        source_sha256: str | None = None,
    ) -> Meeting:
        """Record a meeting (its id is its date, e.g. ``"2021-10-04"`` or ``"2021-10-04-mam"``).

        ``held_at`` is Europe/London wall time unless it carries an offset; ``occurred_at``
        defaults to ``held_at``. ``source`` and ``source_sha256`` name the notes the meeting
        was taken from (file name, and the SHA-256 of their bytes as 64 hex digits).

        Raises:
            ValidationError: a value is malformed.
            RuleViolationError: the meeting is already recorded, or its id is not its date.
        """
        held = to_register_moment(held_at, field="held_at")
        command = RecordMeeting(
            event_id=self._new_event_id() if event_id is None else event_id,
            actor=actor,
            occurred_at=held if occurred_at is None else occurred_at,
            meeting_id=meeting_id,
            title=title,
            held_at=held,
            kind=kind,
            venue=venue,
            chair=chair,
            minutes_by=minutes_by,
            attendance=as_tuple("attendance", attendance),
            apologies=as_tuple("apologies", apologies),
            source=source,
            source_sha256=source_sha256,
        )
        return self._record(command)

    def correct_meeting(
        self,
        meeting_id: str,
        *,
        reason: str,
        actor: str,
        title: str | None = None,
        held_at: Moment | None = None,
        kind: str | None = None,
        venue: str | None = None,
        chair: str | None = None,
        minutes_by: str | None = None,
        attendance: Sequence[Attendee] | None = None,
        apologies: Sequence[Attendee] | None = None,
        event_id: str | None = None,
        corrected_at: Moment | None = None,
    ) -> Meeting:
        """Correct a meeting's record that was entered wrongly; history keeps both.

        Give only the fields that were wrong (``None`` leaves a field as recorded);
        ``attendance`` and ``apologies`` replace the whole list. ``held_at`` is Europe/London
        wall time unless it carries an offset, and may change the time, not the date (the
        meeting id is its date).

        Args:
            meeting_id: the meeting, e.g. ``"2021-10-04"``.
            reason: why the record was wrong.
            corrected_at: when the correction was made (now by default).

        Returns:
            The meeting as it now stands.

        Raises:
            ValidationError: a value is malformed, or no field is given.
            NotFoundError: the meeting is not recorded.
            RuleViolationError: nothing would change (``correction-must-differ``), or
                ``held_at`` falls on another date (``meeting-id-is-its-date``).
        """
        command = CorrectMeeting(
            event_id=self._new_event_id() if event_id is None else event_id,
            actor=actor,
            occurred_at=self._clock() if corrected_at is None else corrected_at,
            meeting_id=meeting_id,
            reason=reason,
            title=title,
            held_at=None if held_at is None else to_register_moment(held_at, field="held_at"),
            kind=kind,
            venue=venue,
            chair=chair,
            minutes_by=minutes_by,
            attendance=None if attendance is None else as_tuple("attendance", attendance),
            apologies=None if apologies is None else as_tuple("apologies", apologies),
        )
        return self._record(command)

    def execute(self, command: Command) -> Action | Meeting:
        """Carry out a command object (from :mod:`action_ledger.commands`) and return the
        action or meeting as it now stands.

        The keyword methods (:meth:`raise_action`, :meth:`close_action`…) build these
        commands; ``execute`` takes one ready-made: from a queue, a test, or a tool that
        keeps its own. The command's ``event_id`` is its idempotency key: executing a
        command whose event is stored already changes nothing and returns the current
        state. A :class:`~action_ledger.commands.RaiseAction` keeps its ``action_id``.

        Raises:
            ValidationError: a value is malformed.
            NotFoundError: the command names an action that does not exist.
            RuleViolationError: a rule is broken; nothing is stored.
            ConcurrencyError: other writers kept changing the stream.
        """
        if isinstance(command, MeetingCommand):
            return self._record(command)
        if not isinstance(command, ActionCommand):
            raise ValidationError(
                f"cannot execute {command!r}: expected a command from action_ledger.commands",
                field="command",
                value=command,
            )
        return self._execute(command)

    def execute_many(self, commands: Iterable[Command]) -> tuple[Action | Meeting, ...]:
        """Carry out many commands together, all or nothing, and return what each left: the
        action or meeting as it stood just after that command.

        Every command is decided in order against the register as the earlier ones leave it
        (a meeting recorded, or an action raised, by an earlier command is there for a later
        one); only if every one is accepted are all their events appended, with the read
        models, in ONE transaction (one durable commit). The events of one action (or
        meeting) keep the order of their commands; the streams are appended in the order
        they first appear. Each command's ``event_id`` is its idempotency key: a command
        whose event is stored already is skipped, so running the same commands twice
        records nothing the second time. If another writer changes one of the streams
        meanwhile, the whole batch is decided again on fresh state (within the retry
        budget, as :meth:`execute`).

        Args:
            commands: command objects from :mod:`action_ledger.commands`; a
                :class:`~action_ledger.commands.RaiseAction` keeps its ``action_id``.

        Raises:
            ValidationError: ``commands`` is not a list (or other iterable) of commands, an
                entry is not a command (each named by its number, from 1), or every refused
                command was refused for a malformed value.
            RuleViolationError: commands were refused (``rule="all-or-nothing"``): the
                message names each by its number, kind and subject, with the reason; ``value``
                holds those lines and ``__cause__`` the first refusal. Nothing is stored.
            ConcurrencyError: other writers kept changing the streams (retry budget spent).
        """
        if isinstance(commands, str | bytes) or not isinstance(commands, Iterable):
            raise ValidationError(
                f"commands: {commands!r} is not a list of commands: give a list (or any "
                "iterable) of command objects from action_ledger.commands; for one command, "
                "use execute(command)",
                field="commands",
                value=commands,
            )
        batch = list(commands)
        wrong = [
            f"entry {n}: {command!r} is not a command from action_ledger.commands"
            for n, command in enumerate(batch, 1)
            if not isinstance(command, MeetingCommand | ActionCommand)
        ]
        if wrong:
            raise ValidationError(
                "nothing was recorded: " + "; ".join(wrong), field="commands", value=tuple(wrong)
            )
        retry = self._retry()
        while True:
            try:
                return self._execute_many_once(batch)
            except (ConcurrencyError, ConnectionLostError) as exc:
                for command in batch:  # cached states another writer may have outdated
                    if isinstance(command, ActionCommand):
                        self._states.pop(command.action_id, None)
                if isinstance(exc, ConcurrencyError):
                    retry.after_race(exc)
                else:
                    retry.after_loss(exc)  # the next attempt skips what was stored

    def _execute_many_once(self, batch: list[Command]) -> tuple[Action | Meeting, ...]:
        work = _Working(self)
        results: list[Action | Meeting] = []
        problems: list[tuple[int, Command, ActionLedgerError]] = []
        seen: dict[str, int] = {}
        for n, command in enumerate(batch, 1):
            stream = _stream_of(command)
            if command.event_id in seen:
                problems.append(
                    (
                        n,
                        command,
                        ValidationError(
                            f"event id {command.event_id!r} is command {seen[command.event_id]}'s "
                            "too: each command needs its own",
                            field="event_id",
                            value=command.event_id,
                        ),
                    )
                )
                continue
            seen[command.event_id] = n
            earlier = self.store.get_event(command.event_id)
            if earlier is not None and earlier.stream_id != stream:
                problems.append(
                    (
                        n,
                        command,
                        ValidationError(
                            f"event id {command.event_id!r} is stored already, in "
                            f"{earlier.stream_id!r}: give this command a new one",
                            field="event_id",
                            value=command.event_id,
                        ),
                    )
                )
                continue
            if earlier is None:  # else: stored already (a repeat): nothing new
                try:
                    work.decide(command)
                except (ValidationError, RuleViolationError, NotFoundError) as exc:
                    problems.append((n, command, exc))
                    continue
            results.append(work.result(command))
        if problems:
            raise _refused(problems, len(batch))
        batches, decided = work.batches()
        if batches:
            for action_id, state in work.loaded_actions():
                self.read_model.remember(action_id, state)
            self.read_model.append(self.store, batches, events=decided)
            with self._appended:
                self._appended.notify_all()
            for action_id, state in work.changed_actions():
                self._remember(action_id, state)
            for meeting_id, meeting in work.changed_meetings():
                self._meetings[meeting_id] = meeting
        return tuple(results)

    def _record(self, command: MeetingCommand) -> Meeting:
        stream = MEETING_PREFIX + command.meeting_id
        retry = self._retry()
        awaiting = _Awaiting({})
        while True:
            try:
                state = self._meeting_state(command.meeting_id, fresh=True)
                earlier = self.store.get_event(command.event_id)
                if (
                    state.meeting is not None
                    and earlier is not None
                    and earlier.stream_id == stream
                ):
                    return state.meeting  # a retry of this very command: nothing new
                awaiting = self._awaiting(command, self._action_state)
                events = decide(command, state, Context(actions=awaiting.actions()))
                batches: list[Batch] = [
                    (
                        stream,
                        [self._encode(e) for e in events if isinstance(e, MeetingEvent)],
                        state.version,
                    )
                ]
                changed: dict[str, ActionState] = {}
                for event in events:
                    if not isinstance(event, MeetingEvent):
                        loaded = awaiting.states[event.action_id]
                        self.read_model.remember(event.action_id, loaded)
                        encoded = self._encode(event, awaiting.states)
                        batches.append((ACTION_PREFIX + event.action_id, [encoded], loaded.version))
                        changed[event.action_id] = evolve(loaded, event)
                self.read_model.append(self.store, batches, events=events)
                with self._appended:
                    self._appended.notify_all()
            except ConcurrencyError as exc:
                self._meetings.pop(command.meeting_id, None)
                for action_id in awaiting.states:
                    self._states.pop(action_id, None)
                retry.after_race(exc)
                continue
            except ConnectionLostError as exc:
                for action_id in awaiting.states:
                    self._states.pop(action_id, None)
                retry.after_loss(exc)
                continue
            for action_id, action_state in changed.items():
                self._remember(action_id, action_state)
            for event in events:
                if isinstance(event, MeetingEvent):
                    state = evolve_meeting(state, event)
            assert state.meeting is not None
            self._meetings[command.meeting_id] = state
            return state.meeting

    def apply(self, draft: MinutesDraft | str | Path, *, actor: str) -> AppliedDraft:
        """Record a reviewed minutes draft (see :mod:`action_ledger.minutes`), all or nothing.

        The meeting is recorded with the notes' file name and SHA-256; each action raised at
        it is recorded with its item, owners, due words and a ``source`` citing the notes'
        file, page and line; each matter brought forward is revisited with its outcome (after
        being recorded as a new action of its earlier meeting when the register does not hold
        it), and closed when the draft decides so. Applying the same draft again records
        nothing: the event ids come from the notes' SHA-256 and the entries, and action ids
        given the first time are read back, not allocated afresh.

        Args:
            draft: the draft, or the path of a draft file (then each bad entry is named with
                its line in that file).
            actor: who records it.

        Returns:
            What was recorded (``events`` is ``0`` when the draft was applied before).

        Raises:
            ValidationError: the draft file cannot be read, or entries hold bad values (each
                named, e.g. ``actions[3].owners (line 41)``); nothing is recorded.
            RuleViolationError: entries break the register's rules (the meeting is recorded
                already, an action is closed…), each named; nothing is recorded.
        """
        from .minutes._apply import apply_draft

        return apply_draft(self, draft, actor=actor)

    def raise_action(
        self,
        *,
        text: str,
        owners: Sequence[str | Owner] | str,
        actor: str,
        meeting: str | None = None,
        item: str | None = None,
        source: str | None = None,
        due: DueInput = None,
        follows: Sequence[str] = (),
        restricted: bool = False,
        action_id: str | None = None,
        event_id: str | None = None,
        occurred_at: Moment | None = None,
    ) -> str:
        """Raise an action and return its id.

        Args:
            text: what is to be done, as minuted.
            owners: role codes (``"CC"``), ``"CC: Pippa Mills"``, or :class:`Owner` values.
            actor: who records it.
            meeting: the meeting that raised it; ``item`` its agenda item.
            source: where it came from when not a meeting (defaults to ``"meeting"`` with one).
            due: a date, or the words as minuted (resolved against the meeting date).
            follows: earlier actions this one follows on from.
            restricted: exempt from publication.
            action_id: your own id; by default the next ``ACT-<year>-<nnn>`` of that year.
            event_id: the event's UUID (an idempotency key); generated by default.
            occurred_at: when it was raised; defaults to the meeting's time, else now.

        Raises:
            ValidationError: a value is malformed (empty text, a date that does not exist…).
            RuleViolationError: a rule is broken (unknown meeting, duplicate id…).
        """
        if event_id is not None:
            event_id = check_event_id(event_id)  # before the store sees it
            earlier = self.store.get_event(event_id)
            if earlier is not None and earlier.stream_id.startswith(ACTION_PREFIX):
                # A retry of a raise that was stored already: the same id, nothing new.
                return earlier.stream_id[len(ACTION_PREFIX) :]
        when = self._occurred(occurred_at, meeting)
        custom = action_id is not None
        sequence = 0
        eid = self._new_event_id() if event_id is None else event_id
        retry = self._retry()
        while True:
            if custom:
                chosen = check_action_id(action_id)
            else:
                prefix = f"{self._id_prefix}-{local_date(when).year}-"
                sequence = max(sequence + 1, self.store.count_streams(ACTION_PREFIX + prefix) + 1)
                chosen = f"{prefix}{sequence:03d}"
            command = RaiseAction(
                event_id=eid,
                actor=actor,
                occurred_at=when,
                action_id=chosen,
                text=text,
                owners=owners,
                meeting=meeting,
                item=item,
                source=source,
                due=due,
                follows=as_tuple("follows", follows),
                restricted=restricted,
            )
            try:
                self._execute(command)
            except ConcurrencyError as exc:
                if custom:  # someone raised this very id first: wait, then see
                    retry.after_race(exc)
                continue  # a generated id taken by a concurrent writer: take the next
            except RuleViolationError as exc:
                if exc.rule == "action-id-unique" and not custom:
                    continue
                raise
            return chosen

    def update_action(
        self,
        action_id: str,
        *,
        note: str,
        source: str,
        actor: str,
        meeting: str | None = None,
        text: str | None = None,
        owners: Sequence[str | Owner] | str | None = None,
        due: DueInput = None,
        reason: str | None = None,
        restricted: bool = False,
        event_id: str | None = None,
        occurred_at: Moment | None = None,
    ) -> Action:
        """Record progress on an action; optionally change its text, owners or due date.

        ``source`` is one of ``"written update"``, ``"briefing note"``, ``"verbal"``,
        ``"email"``, ``"meeting"``, ``"other"``. A change needs a ``reason``. A
        ``restricted`` note is kept in the register but left out of anything published.
        ``occurred_at`` (when the update was received) defaults to the time of ``meeting``
        when one is given, else now.

        Raises:
            NotFoundError: no such action.
            RuleViolationError: the action is closed, or a change is not a change.
        """
        return self._execute(
            UpdateAction(
                event_id=self._new_event_id() if event_id is None else event_id,
                actor=actor,
                occurred_at=self._occurred(occurred_at, meeting),
                action_id=action_id,
                note=note,
                source=source,
                meeting=meeting,
                text=text,
                owners=owners,
                due=due,
                reason=reason,
                restricted=restricted,
            )
        )

    def revisit_action(
        self,
        action_id: str,
        *,
        meeting: str,
        outcome: str,
        actor: str,
        item: str | None = None,
        assured: bool | None = None,
        next_revisit: DueInput = None,
        event_id: str | None = None,
        occurred_at: Moment | None = None,
    ) -> Action:
        """Record that an action was discussed at a meeting, with the outcome.

        Raises:
            NotFoundError: no such action.
            RuleViolationError: the action is closed, or the meeting is not recorded.
        """
        return self._execute(
            RevisitAction(
                event_id=self._new_event_id() if event_id is None else event_id,
                actor=actor,
                occurred_at=self._occurred(occurred_at, meeting),
                action_id=action_id,
                meeting=meeting,
                outcome=outcome,
                item=item,
                assured=assured,
                next_revisit=next_revisit,
            )
        )

    def close_action(
        self,
        action_id: str,
        *,
        resolution: Resolution,
        note: str,
        actor: str,
        meeting: str | None = None,
        item: str | None = None,
        superseded_by: str | None = None,
        event_id: str | None = None,
        occurred_at: Moment | None = None,
    ) -> Action:
        """Close an action as ``"completed"``, ``"superseded"`` (name ``superseded_by``) or
        ``"withdrawn"``.

        Raises:
            NotFoundError: no such action.
            RuleViolationError: it is already closed, or the successor does not exist.
        """
        return self._execute(
            CloseAction(
                event_id=self._new_event_id() if event_id is None else event_id,
                actor=actor,
                occurred_at=self._occurred(occurred_at, meeting),
                action_id=action_id,
                resolution=resolution,
                note=note,
                meeting=meeting,
                item=item,
                superseded_by=superseded_by,
            )
        )

    def reopen_action(
        self,
        action_id: str,
        *,
        reason: str,
        actor: str,
        meeting: str | None = None,
        event_id: str | None = None,
        occurred_at: Moment | None = None,
    ) -> Action:
        """Bring a closed action back.

        Raises:
            NotFoundError: no such action.
            RuleViolationError: the action is open.
        """
        return self._execute(
            ReopenAction(
                event_id=self._new_event_id() if event_id is None else event_id,
                actor=actor,
                occurred_at=self._occurred(occurred_at, meeting),
                action_id=action_id,
                reason=reason,
                meeting=meeting,
            )
        )

    def correct_event(
        self,
        action_id: str,
        corrects: str,
        *,
        reason: str,
        actor: str,
        event_id: str | None = None,
        corrected_at: Moment | None = None,
        **fields: Any,
    ) -> Action:
        """Correct an earlier event of an action that was entered wrongly; both stay in history.

        Args:
            corrects: the id of the event to correct (see :meth:`history`).
            corrected_at: when the correction was made (the correction's own occurred time;
                now by default).
            fields: the corrected values, e.g. ``owners=["DCC"]`` or
                ``occurred_at="2018-04-23T10:30"`` (when the corrected event really happened).

        Raises:
            ValidationError: an unknown field, or a malformed value.
            RuleViolationError: the event is not this action's, or has no such field.
        """
        return self._execute(
            CorrectEvent(
                event_id=self._new_event_id() if event_id is None else event_id,
                actor=actor,
                occurred_at=self._clock() if corrected_at is None else corrected_at,
                action_id=action_id,
                corrects=corrects,
                reason=reason,
                fields=fields,
            )
        )

    # -- queries -------------------------------------------------------------------------------

    def meeting_corrections(self, meeting_id: str) -> tuple[MeetingCorrected, ...]:
        """The corrections of a meeting's record, oldest first (each with its reason, actor
        and when it was made); empty when the record was never corrected.

        Raises:
            ValidationError: a malformed meeting id.
            NotFoundError: the meeting is not recorded.
        """
        events = [decode(s) for s in self.store.read_stream(MEETING_PREFIX + meeting_id)]
        if not events:
            raise NotFoundError(f"meeting {check_meeting_id(meeting_id)!r} is not recorded")
        return tuple(e for e in events if isinstance(e, MeetingCorrected))

    def get(self, action_id: str) -> Action:
        """The current state of one action.

        Raises:
            NotFoundError: no such action.
        """
        state = self._action_state(check_action_id(action_id))
        if state.action is None:
            raise NotFoundError(f"action {action_id!r} does not exist")
        self._remember(action_id, state)  # a tool often reads an action, then changes it
        return state.action

    def history(self, action_id: str) -> tuple[AuditEntry, ...]:
        """The audit trail of one action, oldest first: each event in a readable sentence,
        with field changes old → new, corrections beside what they correct, the source
        meeting and item, actor, occurred and recorded times, and the chain hash.

        Read from the ``audit_trail`` table when it is caught up with the log (it holds the
        entries rendered when each event was projected); else built from the action's
        events. Both give the same entries.

        Raises:
            NotFoundError: no such action.
        """
        rows = self.read_model.audit_rows(self.store, check_action_id(action_id))
        if rows is None:
            return super().history(action_id)
        return entries_from_rows(rows)

    def meeting(self, meeting_id: str) -> Meeting:
        """A recorded meeting.

        Raises:
            NotFoundError: no such meeting.
        """
        # Read afresh: another process (or a batch) may have corrected it since.
        state = self._meeting_state(check_meeting_id(meeting_id), fresh=True)
        if state.meeting is None:
            raise NotFoundError(f"meeting {meeting_id!r} is not recorded")
        return state.meeting

    def events(self, *, after: int = 0) -> Iterator[tuple[StoredEvent, Event]]:
        """The whole log after a position: each stored envelope with its decoded event."""
        for stored in self.store.read_all(after=after):
            yield stored, decode(stored, self.keys)

    def verify(
        self,
        *,
        head: str | None = None,
        progress: Progress | None = None,
        read_models: bool | Iterable[str] = True,
    ) -> VerifyReport:
        """Check the hash chain of the whole log, and that the read-model tables are the fold
        of it.

        The tables are rebuilt from the events as the chain check accepts them (one pass,
        in a private temporary file, with the projections themselves) and compared with the
        register's row by row, in bounded memory. Any difference (an edited column, a fake
        row, a deleted one, a moved checkpoint) fails the report, which names the rows
        (:attr:`VerifyReport.differences`); ``action-ledger rebuild`` repairs them.

        Args:
            head: a head hash published earlier; the check fails if the log no longer has it.
            progress: called as ``progress(done, total)`` every thousand events.
            read_models: check the tables too (``True``), only the chain (``False``), or
                only the tables of the projections named (e.g. ``("actions", "meetings")``).

        A log that cannot be read past some event (a damaged page of the file) fails at the
        position of the first event that cannot be read.

        Raises:
            ValidationError: ``head`` is not a whole head hash (64 hexadecimal characters),
                or ``read_models`` names a projection the register does not keep.
            StoreError: the register kept changing while its tables were compared.
        """
        chosen = self._checked_projections(read_models)
        if not chosen:
            return self._verify_chain(head, progress, None)
        live = self.read_model
        twin = Twin(chosen)
        twin.model.keys = live.keys  # sealed fields read as the register's tables have them
        try:
            try:
                live.catch_up(self.store)
                stale: ActionLedgerError | None = None
            except ActionLedgerError as exc:  # e.g. an event that no longer decodes
                stale = exc
            up_to = live.position
            report = self._verify_chain(head, progress, (twin, up_to))
            if not report.ok:
                return report  # the tables are not compared with a broken log
            if stale is not None:
                return attrs.evolve(
                    report,
                    ok=False,
                    reason=f"the read models cannot be brought up to date: {stale}; "
                    "repair: action-ledger rebuild",
                )
            return self._compare_tables(report, twin, chosen)
        finally:
            twin.close()

    def _checked_projections(self, read_models: bool | Iterable[str]) -> tuple[Projection, ...]:
        kept = self.read_model.projections
        if read_models is True:
            return kept
        if read_models is False:
            return ()
        if isinstance(read_models, str) or not isinstance(read_models, Iterable):
            raise ValidationError(
                f"read_models: {read_models!r} is not True, False or projection names",
                field="read_models",
                value=read_models,
            )
        names = list(read_models)
        known = {p.name: p for p in kept}
        unknown = [n for n in names if not isinstance(n, str) or n not in known]
        if unknown:
            raise ValidationError(
                f"read_models: {unknown[0]!r} is not a projection of this register "
                f"(accepted: {', '.join(known)})",
                field="read_models",
                value=unknown[0],
            )
        return tuple(p for p in kept if p.name in names)

    def _verify_chain(
        self, head: str | None, progress: Progress | None, twin: tuple[Twin, int] | None
    ) -> VerifyReport:
        read = _Readable(self.store.read_all())
        events: Iterable[StoredEvent] = read
        if twin is not None:
            model, source = twin[0].model, StoreSource(self.store, self.read_model.keys)
            events = Accepted(events, lambda batch: model.feed(batch, source), twin[1])
        if progress is not None:
            events = _counted(events, self.store.last_position(), progress)
        report = verify_chain(events, key=self.store.key, head=head, keys=keys_of(self.store))
        if read.failure is None or (not report.ok and report.first_bad_position is not None):
            return report
        # The log could not be read past some event (a damaged page): a failure there.
        return VerifyReport(
            ok=False,
            checked=report.checked,
            first_bad_position=read.last + 1,
            reason=f"the event cannot be read: {read.failure}",
            head_hash=report.head_hash,
        )

    def _compare_tables(
        self, report: VerifyReport, twin: Twin, chosen: tuple[Projection, ...]
    ) -> VerifyReport:
        """Compare the register's tables with the twin at one checkpoint: if a writer moved
        the checkpoints meanwhile, bring the twin to the new one and compare again."""
        live = self.read_model
        for _ in range(_COMPARE_ATTEMPTS):
            before = live.checkpoint_rows()
            position = min((before.get(p.name, (0, 0))[1] for p in chosen), default=0)
            if twin.model.position < position:
                twin.model.feed(
                    (
                        s
                        for s in self.store.read_all(after=twin.model.position)
                        if s.position <= position
                    ),
                    StoreSource(self.store, self.read_model.keys),
                )
            found = Differences()
            compare_checkpoints(before, chosen, twin.model.position, found)
            for projection in chosen:
                for table in projection.tables:
                    compare_table(live, twin, table, found)
            if live.checkpoint_rows() == before:
                break
        else:
            raise StoreError(
                f"the register changed during each of {_COMPARE_ATTEMPTS} attempts to compare "
                "its read models with the log; verify again when it is quieter"
            )
        names = tuple(p.name for p in chosen)
        if not found.count:
            return attrs.evolve(report, read_models_checked=names)
        first = found.listed[0]
        return attrs.evolve(
            report,
            ok=False,
            reason=(
                f"{found.count} read-model difference(s) from the fold of the log, first "
                f"{first}; repair: action-ledger rebuild"
            ),
            read_models_checked=names,
            differences=tuple(found.listed),
            difference_count=found.count,
        )

    def head(self) -> tuple[int, str]:
        """The log's head: the number of events (the last position) and the last event's
        chain hash (``"0" * 64`` for an empty log). Publish both: ``verify --head HASH``
        later proves the log still holds that head."""
        last = self.store.last_position()
        if last == 0:
            return 0, GENESIS_HASH
        (stored,) = self.store.read_all(after=last - 1, limit=1)
        return stored.position, stored.hash

    def rotate_key(self, new_key: bytes) -> KeyRecord:
        """Seal every event from the next position on with ``new_key``: history is not
        rewritten, each earlier event keeps the key that sealed it. Keep the old key (in a
        :class:`~action_ledger.Keyring`, oldest first): verifying those events needs it. A
        thief of an old key cannot seal events after the rotation.

        Returns:
            The new key's record (its id, and the first position it seals).

        Raises:
            ValidationError: ``new_key`` is not a key, or sealed this register before.
            KeyMismatchError: the register is plain and holds events.
            StoreError: the store cannot rotate keys, or another process changed them since
                this one opened the register.
        """
        rotate = getattr(self.store, "rotate_key", None)
        if rotate is None:
            raise StoreError(f"{type(self.store).__name__} cannot rotate its chain key")
        record: KeyRecord = rotate(new_key)
        return record

    def as_of(self, moment: MomentInput, axis: Axis = "recorded") -> AsOfView:
        """The register at a past moment: a read-only view with the same queries.

        Args:
            moment: a date-time (Europe/London wall time unless it has an offset) or a date
                (the end of that day in London).
            axis: ``"recorded"`` for exactly what the register said then (events recorded by
                that moment); ``"occurred"`` for the world at that moment as known now
                (events that occurred by then, with every correction applied).

        Raises:
            ValidationError: a malformed moment, or an unknown axis.
        """
        return AsOfView(self.store, moment, axis, keys=self.keys)

    def rebuild(self, *, progress: Progress | None = None) -> int:
        """Drop the read-model tables and build them again from the whole log.

        Args:
            progress: called as ``progress(done, total)`` as events are applied.

        Returns:
            The number of events applied.
        """
        return self.read_model.rebuild(self.store, progress=progress)

    def subscribe(
        self, handler: Handler, *, after: int = 0, poll_interval: float = 0.5
    ) -> Subscription:
        """Deliver every event after position ``after`` to ``handler(stored, event)``, then
        each new one as it is appended (by this ledger at once; by other processes at once
        on PostgreSQL, through LISTEN/NOTIFY, else within about 50 ms), in log order, in a
        background thread. ``poll_interval`` is how long the thread waits for news before
        it checks whether it was stopped.

        Delivery is at least once: keep ``stored.position`` with what the handler did and
        resume from it. If the handler raises, the subscription stops with the error in
        :attr:`Subscription.error`, and :attr:`Subscription.position` is the last event it
        handled.
        """
        return Subscription(self, handler, after=after, poll_interval=poll_interval)

    def follow(
        self, *, after: int = 0, poll_interval: float = 0.5, idle_timeout: float | None = None
    ) -> Iterator[tuple[StoredEvent, Event]]:
        """Every event after ``after``, then new ones as they are appended: an endless
        iterator (or one that ends after ``idle_timeout`` seconds without a new event)."""
        position = after
        while True:
            delivered = False
            for stored, event in self.events(after=position):
                position = stored.position
                delivered = True
                yield stored, event
            if delivered:
                continue
            waited = self.wait_for_events(
                position, poll_interval if idle_timeout is None else idle_timeout
            )
            if not waited and idle_timeout is not None:
                return

    def wait_for_events(self, after: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the log to pass position ``after``; return
        whether it has. Wakes at once for this ledger's appends, and for other processes'
        when the store can wait for them (PostgreSQL: LISTEN/NOTIFY); else polls for those
        every 50 ms."""
        wait_for_append = getattr(self.store, "wait_for_append", None)
        if wait_for_append is not None:
            return bool(wait_for_append(after, timeout))
        deadline = _monotonic() + timeout
        with self._appended:
            while self.store.last_position() <= after:
                left = deadline - _monotonic()
                if left <= 0:
                    return False
                self._appended.wait(min(left, 0.05))
        return True

    @property
    def id_prefix(self) -> str:
        """The start of generated action ids (``"ACT"`` gives ``ACT-2021-001``)."""
        return self._id_prefix

    def refresh(self) -> None:
        """Bring the read models up to date with the log and wake this ledger's subscribers.

        Commands do this themselves; call it after writing to :attr:`store` directly (a bulk
        import with ``store.append_many``, a restore)."""
        self.read_model.catch_up(self.store)
        with self._appended:
            self._appended.notify_all()

    def _append(
        self, stream: str, events: list[NewEvent], expected: int, decided: Sequence[Event] = ()
    ) -> None:
        """Append, and bring the read models up to date: in the same transaction (one
        durable commit) when they live on the store's own connection, from the events as
        decided (``decided``) where the backend can."""
        self.read_model.append(self.store, [(stream, events, expected)], events=decided)
        with self._appended:
            self._appended.notify_all()

    def _rows(self, action_id: str) -> list[tuple[StoredEvent, ActionEvent]]:
        keys = self.keys
        rows = self.store.read_stream(ACTION_PREFIX + action_id)
        return [(r, _action_event(r, keys)) for r in rows]

    def _tables(self) -> ReadModel:
        if self.read_model.position < self.store.last_position():
            self.read_model.catch_up(self.store)
        return self.read_model

    def _today(self) -> pendulum.Date:
        return local_date(self._clock())

    # -- the shell -----------------------------------------------------------------------------

    def _new_event_id(self) -> str:
        event_id = str(uuid.uuid4())
        if len(self._fresh_ids) > 4096:  # ids of commands that failed validation: forget them
            self._fresh_ids.clear()
        self._fresh_ids.add(event_id)  # made here, so it cannot be a retry of a stored event
        return event_id

    def _occurred(self, occurred_at: Moment | None, meeting: str | None) -> pendulum.DateTime:
        if occurred_at is not None:
            return to_register_moment(occurred_at, field="occurred_at")
        if meeting is not None:
            state = self._meeting_state(check_meeting_id(meeting))
            if state.meeting is not None:
                return state.meeting.held_at
        return self._clock()

    def _encode(self, event: Event, states: Mapping[str, ActionState] | None = None) -> NewEvent:
        """``event`` as an envelope, its erasable fields sealed as the erasure policy says."""
        if self.erasure is None or self.keys is None:
            return encode(event)
        restricted = bool(getattr(event, "restricted", False))
        if self.erasure.restricted and not restricted and not isinstance(event, MeetingEvent):
            # every text of a restricted action is restricted (the raise says so)
            state = (states or {}).get(event.action_id) or self._action_state(event.action_id)
            restricted = state.action is not None and state.action.restricted
        return encode(event, keys=self.keys, policy=self.erasure, restricted=restricted)

    def erase(self, subject: str, *, actor: str, reason: str) -> bool:
        """Erase a subject: destroy its key, so its sealed fields read as ``"[erased]"``.

        The log is not changed, so the chain still verifies; the read models are rebuilt
        from it (their rows held the plain text), and a SQLite register file is vacuumed so
        that no freed page keeps the old rows.

        Args:
            subject: ``action:<action id>`` (a restricted action's text) or a person's
                subject (:meth:`SubjectKeys.find_person`).
            actor: who erased it.
            reason: why (e.g. the UK GDPR request it answers); neither may hold personal data.

        Returns:
            ``True`` if a key was destroyed, ``False`` if the subject had none (already erased).

        Raises:
            ValidationError: a malformed subject, actor or reason, or no key store.
        """
        check_subject(subject)
        check_text("actor", actor, limit=MAX_SHORT)
        check_text("reason", reason)
        if self.keys is None:
            raise ValidationError(
                f"cannot erase {subject!r}: this ledger was opened without a key store; "
                "open it with keys=SubjectKeys(path)",
                field="keys",
                value=None,
            )
        destroyed = self.keys.erase(
            subject, at=format_utc(self._clock()), actor=actor.strip(), reason=reason.strip()
        )
        self._states.clear()
        self._meetings.clear()
        try:
            self.rebuild()
            self.read_model.compact()
        except ActionLedgerError as exc:
            raise StoreError(
                f"the key of {subject!r} is destroyed, but the read models could not be "
                f"rebuilt ({exc}): they may still hold its plain text; run `action-ledger "
                "rebuild` (Ledger.rebuild) once the cause is fixed"
            ) from exc
        return destroyed

    def _action_state(self, action_id: str) -> ActionState:
        keys = self.keys
        rows = self.store.read_stream(ACTION_PREFIX + action_id)
        return fold(_action_event(r, keys) for r in rows)

    def _meeting_state(self, meeting_id: str, *, fresh: bool = False) -> MeetingState:
        # A recorded meeting keeps its id and date for good (a correction may change its
        # time, never its date), and the date is all a command naming it depends on (due
        # words resolve against it): keep it, and a command naming it reads it once, not
        # twice. Recording or correcting the meeting itself reads it ``fresh``.
        known = None if fresh else self._meetings.get(meeting_id)
        if known is not None:
            return known
        rows = self.store.read_stream(MEETING_PREFIX + meeting_id)
        events = [decode(s, self.keys) for s in rows]
        state = fold_meeting(e for e in events if isinstance(e, MeetingEvent))
        if state.meeting is not None:
            self._meetings[meeting_id] = state
        return state

    def _context(
        self,
        command: ActionCommand,
        meeting_state: Callable[[str], MeetingState] | None = None,
        action_state: Callable[[str], ActionState] | None = None,
        extra_meetings: Iterable[str] = (),
    ) -> Context:
        """What ``decide`` needs to know besides the action: the meetings and other actions
        the command names (looked up with ``meeting_state`` and ``action_state``: the
        store's, or a batch's working states)."""
        meeting_state = meeting_state or self._meeting_state
        action_state = action_state or self._action_state
        meeting_ids: set[str] = set()
        action_ids: set[str] = set()
        if (
            isinstance(
                command, RaiseAction | UpdateAction | RevisitAction | CloseAction | ReopenAction
            )
            and command.meeting is not None
        ):
            meeting_ids.add(command.meeting)
        if isinstance(command, RaiseAction):
            action_ids.update(command.follows)
        if isinstance(command, CloseAction) and command.superseded_by is not None:
            action_ids.add(command.superseded_by)
        if isinstance(command, CorrectEvent):
            fields = dict(command.fields)
            if "meeting" in fields:
                meeting_ids.add(fields["meeting"])
            own = action_state(command.action_id).action
            if own is not None and own.meeting is not None:
                meeting_ids.add(own.meeting)
        meetings: dict[str, Meeting] = {}
        if _names_a_meeting(command):
            # due words naming a meeting resolve to the first recorded one that fits: every
            # recorded meeting (a few a month), and the batch's own (``meeting_state``)
            meetings.update((m.id, m) for m in self.meetings())
            for mid in extra_meetings:
                found = meeting_state(mid).meeting
                if found is not None:
                    meetings[mid] = found
        for mid in meeting_ids:
            found = meeting_state(mid).meeting
            if found is not None:
                meetings[mid] = found
        actions = {}
        for aid in action_ids:
            other = action_state(aid).action
            if other is not None:
                actions[aid] = other
        return Context(meetings=meetings, actions=actions)

    def _awaiting(
        self,
        command: RecordMeeting | CorrectMeeting,
        action_state: Callable[[str], ActionState],
        extra_actions: Iterable[str] = (),
    ) -> _Awaiting:
        """For recording a meeting: the open actions whose due words name a meeting and have
        no date yet (from the read model, then folded from their streams with
        ``action_state``), with ``extra_actions`` (a batch's own) looked at too."""
        if not isinstance(command, RecordMeeting):
            return _Awaiting({})
        rows = self._tables().select(
            "SELECT id, due_text FROM actions WHERE status = 'open' AND due_on IS NULL "
            "AND due_text IS NOT NULL",
            [],
        )
        ids = {action_id for action_id, text in rows if meeting_words(text) is not None}
        ids.update(extra_actions)
        states = {}
        for action_id in sorted(ids):
            state = action_state(action_id)
            action = state.action
            if (
                action is not None
                and action.status == "open"
                and action.due_on is None
                and meeting_words(action.due_text) is not None
            ):
                states[action_id] = state
        return _Awaiting(states)

    def _execute(self, command: ActionCommand) -> Action:
        stream = ACTION_PREFIX + command.action_id
        fresh = command.event_id in self._fresh_ids
        self._fresh_ids.discard(command.event_id)
        retry = self._retry()
        while True:
            try:
                if not fresh:
                    # The caller chose the event id, or an earlier attempt may have been
                    # stored: this may be a retry of a command already stored.
                    earlier = self.store.get_event(command.event_id)
                    if earlier is not None and earlier.stream_id == stream:
                        self._states.pop(command.action_id, None)
                        return self.get(command.action_id)
                return self._attempt(command, stream)
            except ConcurrencyError as exc:
                self._states.pop(command.action_id, None)
                if isinstance(command, RaiseAction):
                    raise  # raise_action takes another id, or waits for the one it was given
                retry.after_race(exc)
            except ConnectionLostError as exc:
                self._states.pop(command.action_id, None)
                fresh = False  # it may have been stored: look before trying again
                retry.after_loss(exc)

    def _attempt(self, command: ActionCommand, stream: str) -> Action:
        """Decide and append once (on the cached state, and again on a fresh one if the
        cached copy made ``decide`` refuse)."""
        context = self._context(command)
        cached = self._states.get(command.action_id)
        while True:
            state = cached if cached is not None else self._action_state(command.action_id)
            try:
                events = decide(command, state, context)
            except (RuleViolationError, NotFoundError):
                if cached is None:
                    raise
                cached = None  # decided against a copy another process may have outdated
                continue
            break
        self.read_model.remember(command.action_id, state)
        encoded = [self._encode(e, {command.action_id: state}) for e in events]
        self._append(stream, encoded, state.version, events)
        for event in events:
            assert not isinstance(event, MeetingEvent)
            state = evolve(state, event)
        self._remember(command.action_id, state)
        assert state.action is not None
        return state.action

    def _retry(self) -> _Retry:
        return _Retry(self._retry_budget, self._max_retries, self._random)

    def _remember(self, action_id: str, state: ActionState) -> None:
        """Keep the state for the next command on this action (a bounded LRU cache).

        A cached state may be outdated by another process; the append's expected version
        catches that, and a rejection decided on a cached state is re-decided on a fresh one.
        """
        self._states[action_id] = state
        self._states.move_to_end(action_id)
        while len(self._states) > self._cache_size:
            self._states.popitem(last=False)


@attrs.frozen
class _Awaiting:
    """Open actions whose due words name a meeting not yet recorded: their states by id."""

    states: Mapping[str, ActionState]

    def actions(self) -> dict[str, Action]:
        """The actions, by id."""
        return {k: s.action for k, s in self.states.items() if s.action is not None}


def _names_a_meeting(command: ActionCommand) -> bool:
    """Whether the command gives due words that name a meeting (and so needs the meetings)."""
    due: object = None
    if isinstance(command, RaiseAction | UpdateAction):
        due = command.due
    elif isinstance(command, CorrectEvent):
        due = dict(command.fields).get("due")
    return isinstance(due, str) and meeting_words(due) is not None


def _stream_of(command: Command) -> str:
    if isinstance(command, MeetingCommand):
        return MEETING_PREFIX + command.meeting_id
    return ACTION_PREFIX + command.action_id


def _subject(command: Command) -> str:
    return command.meeting_id if isinstance(command, MeetingCommand) else command.action_id


def _refused(
    problems: Sequence[tuple[int, Command, ActionLedgerError]], total: int
) -> ActionLedgerError:
    """One error for the refused commands of a batch, naming each."""
    lines = tuple(
        f"command {n} ({type(command).__name__} {_subject(command)}): {exc}"
        for n, command, exc in problems
    )
    message = (
        f"nothing was recorded: {len(problems)} of {total} commands were refused:\n"
        + "\n".join(lines)
    )
    error: ActionLedgerError
    if all(isinstance(exc, ValidationError) for _, _, exc in problems):
        error = ValidationError(message, field="commands", value=lines)
    else:
        error = RuleViolationError(
            message, subject=_subject(problems[0][1]), rule="all-or-nothing", value=lines
        )
    error.__cause__ = problems[0][2]
    return error


class _Working:
    """A batch's working states: each stream read once, then moved on by the batch's own
    events, which are kept (in order, per stream) for one append."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._actions: dict[str, ActionState] = {}
        self._loaded: dict[str, ActionState] = {}  # as read, before the batch
        self._meetings: dict[str, MeetingState] = {}
        self._versions: dict[str, int] = {}
        self._pending: dict[str, list[Event]] = {}

    def action(self, action_id: str) -> ActionState:
        state = self._actions.get(action_id)
        if state is None:
            state = self._ledger._action_state(action_id)  # fresh: no cached copy
            self._actions[action_id] = self._loaded[action_id] = state
        return state

    def meeting(self, meeting_id: str, *, fresh: bool = False) -> MeetingState:
        state = self._meetings.get(meeting_id)
        if state is None:
            state = self._ledger._meeting_state(meeting_id, fresh=fresh)
            self._meetings[meeting_id] = state
        return state

    def decide(self, command: Command) -> None:
        """Decide ``command`` on the working state; keep its events and move the state on.

        Raises:
            ValidationError, RuleViolationError, NotFoundError: as ``decide``.
        """
        stream = _stream_of(command)
        if isinstance(command, MeetingCommand):
            meeting = self.meeting(command.meeting_id, fresh=True)
            awaiting = self._ledger._awaiting(command, self.action, self._actions)
            events = decide(command, meeting, Context(actions=awaiting.actions()))
            self._versions.setdefault(stream, meeting.version)
            own = self._pending.setdefault(stream, [])
            for event in events:
                if isinstance(event, MeetingEvent):
                    meeting = evolve_meeting(meeting, event)
                    own.append(event)
                    continue
                action_stream = ACTION_PREFIX + event.action_id
                action_state = self.action(event.action_id)
                self._versions.setdefault(action_stream, action_state.version)
                self._actions[event.action_id] = evolve(action_state, event)
                self._pending.setdefault(action_stream, []).append(event)
            self._meetings[command.meeting_id] = meeting
            return
        else:
            state = self.action(command.action_id)
            context = self._ledger._context(
                command, self.meeting, self.action, extra_meetings=list(self._meetings)
            )
            events = decide(command, state, context)
            self._versions.setdefault(stream, state.version)
            for event in events:
                assert not isinstance(event, MeetingEvent)
                state = evolve(state, event)
            self._actions[command.action_id] = state
        self._pending.setdefault(stream, []).extend(events)

    def result(self, command: Command) -> Action | Meeting:
        """What the command left (the working state, after it)."""
        if isinstance(command, MeetingCommand):
            meeting = self.meeting(command.meeting_id, fresh=True).meeting
            assert meeting is not None
            return meeting
        action = self.action(command.action_id).action
        assert action is not None
        return action

    def loaded_actions(self) -> list[tuple[str, ActionState]]:
        """The actions the batch changes, as they were read (for the read models)."""
        return [
            (action_id, state)
            for action_id, state in self._loaded.items()
            if ACTION_PREFIX + action_id in self._pending
        ]

    def changed_actions(self) -> list[tuple[str, ActionState]]:
        """The actions the batch changes, as it leaves them."""
        return [
            (action_id, state)
            for action_id, state in self._actions.items()
            if ACTION_PREFIX + action_id in self._pending
        ]

    def changed_meetings(self) -> list[tuple[str, MeetingState]]:
        """The meetings the batch records or corrects, as it leaves them."""
        return [
            (meeting_id, state)
            for meeting_id, state in self._meetings.items()
            if MEETING_PREFIX + meeting_id in self._pending
        ]

    def batches(self) -> tuple[list[Batch], list[Event]]:
        """The append: one batch per stream, in order of first appearance, and every event
        as decided."""
        batches: list[Batch] = []
        decided: list[Event] = []
        for stream, events in self._pending.items():
            encoded = [self._ledger._encode(e, self._actions) for e in events]
            batches.append((stream, encoded, self._versions[stream]))
            decided.extend(events)
        return batches, decided


def open_store(
    target: str | Path,
    *,
    create: bool = True,
    key: bytes | Keyring | None = None,
    synchronous: Literal["FULL", "NORMAL"] = "FULL",
    busy_timeout: float = 30.0,
    clock: Clock = system_clock,
    schema: str = "action_ledger",
) -> EventStore:
    """The event store a target names: ``":memory:"``, a ``postgresql://`` URL (in
    ``schema``), or a SQLite file path. See :meth:`Ledger.open` for the arguments.

    Raises:
        StoreError: the target cannot be opened (or psycopg is missing for PostgreSQL).
    """
    text = str(target)
    if text == ":memory:":
        return MemoryEventStore(key=key, clock=clock)
    if text.startswith(("postgresql://", "postgres://")):
        try:
            from ._postgres import PostgresEventStore
        except ImportError as exc:  # psycopg is the optional "postgres" extra
            raise StoreError(
                f"a PostgreSQL register needs psycopg: pip install 'action-ledger[postgres]' "
                f"({exc})"
            ) from None
        return PostgresEventStore(text, schema=schema, key=key, clock=clock, create=create)
    return SQLiteEventStore(
        text,
        create=create,
        synchronous=synchronous,
        busy_timeout=busy_timeout,
        key=key,
        clock=clock,
    )


class _Readable:
    """The log as far as it can be read: ends, keeping the error, at the first event the
    store cannot read (:class:`IntegrityError` from a damaged file)."""

    def __init__(self, events: Iterable[StoredEvent]) -> None:
        self._events = iter(events)
        self.last = 0  # the position of the last event read
        self.failure: IntegrityError | None = None

    def __iter__(self) -> Iterator[StoredEvent]:
        while True:
            try:
                stored = next(self._events)
            except StopIteration:
                return
            except IntegrityError as exc:
                self.failure = exc
                return
            self.last = stored.position
            yield stored


def _counted(
    events: Iterable[StoredEvent], total: int, progress: Progress
) -> Iterator[StoredEvent]:
    done = 0
    progress(0, total)
    for stored in events:
        yield stored
        done += 1
        if done % 1000 == 0:
            progress(done, max(total, done))
    progress(done, max(total, done))


def _action_event(stored: StoredEvent, keys: SubjectKeys | None = None) -> ActionEvent:
    event = decode(stored, keys)
    assert not isinstance(event, MeetingEvent)
    return event


class _Retry:
    """Jittered exponential backoff within a time budget, for one command."""

    _BASE = 0.001  # seconds: the first wait is up to 2 ms (a race is usually over by then)
    _RACE_CAP = 0.05
    _LOSS_CAP = 0.5  # a lost connection: the server may be restarting

    def __init__(self, budget: float, limit: int | None, rng: random.Random) -> None:
        self._budget = budget
        self._limit = limit
        self._rng = rng
        self._deadline = _monotonic() + budget
        self.attempts = 1

    def _wait(self, cap: float) -> bool:
        """Sleep before the next attempt; ``False`` (no sleep) when the budget is spent."""
        if self._budget <= 0 or (self._limit is not None and self.attempts > self._limit):
            return False
        delay = self._rng.uniform(0, min(cap, self._BASE * 2 ** min(self.attempts, 20)))
        if _monotonic() + delay > self._deadline:
            return False
        time.sleep(delay)
        self.attempts += 1
        return True

    def after_race(self, exc: ConcurrencyError) -> None:
        """Wait before deciding again; or raise ``exc`` saying the budget is spent."""
        if not self._wait(self._RACE_CAP):
            raise ConcurrencyError(
                exc.stream_id,
                exc.expected,
                exc.actual,
                attempts=self.attempts,
                budget=self._budget,
            ) from exc

    def after_loss(self, exc: ConnectionLostError) -> None:
        """Wait before trying again on a new connection; or raise ``exc``."""
        if not self._wait(self._LOSS_CAP):
            raise exc
