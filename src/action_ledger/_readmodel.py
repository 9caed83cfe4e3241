"""The projection runner: keeps the read-model tables in step with the log.

One loop for every projection (:mod:`action_ledger._projections`): read the events after the
checkpoint, decode each once, work out the action's state before and after it, ask each
projection for its writes, coalesce them, and apply them together with the new checkpoint in
one transaction. A crash between an append and the read-model update loses nothing: the next
catch-up starts again from the checkpoint. Each projection has its own checkpoint and version;
a projection whose version changed (or that is new) is rebuilt from the start of the log.

Read-model tables are derived data, so they are not migrated: a new projection version drops
and rebuilds its tables. Their writes use ``synchronous=NORMAL`` (a power cut can lose the last
read-model commits, which the next catch-up redoes; it can never lose an event).
"""

from __future__ import annotations

import gc
import operator
import secrets
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol

import attrs
import sqlite_utils

from ._bulk import StreamFolder, has_bulk
from ._codec import ACTION_PREFIX, decode
from ._decider import (
    LEAN_ACTION,
    ActionState,
    evolve,
    evolve_meeting,
    fold,
    fold_meeting,
)
from ._erasure import SubjectKeys
from ._history import AUDIT_COLUMNS, audit_entry, values_in_effect
from ._projections import PROJECTIONS, Change, Delete, Projection, Put, Replace, Table, Write
from ._sqlite import Immediate as _immediate
from ._sqlite import SQLiteEventStore, storage_error, typed_faults
from .events import ActionCorrected, ActionEvent, Event, MeetingCorrected, MeetingEvent
from .exceptions import StoreError
from .store import Batch, EventStore, StoredEvent

CHECKPOINTS = "read_model_checkpoints"


Progress = Callable[[int, int], None]
"""A progress callback: ``(events done, events to do)``."""


class StateSource(Protocol):
    """Where the runner finds an action's earlier events when its state is not cached."""

    def earlier(self, stored: StoredEvent) -> list[ActionEvent]:
        """The events of ``stored``'s action that come before it (in this read model's log)."""

    def earlier_meeting(self, stored: StoredEvent) -> list[MeetingEvent]:
        """The events of ``stored``'s meeting that come before it (in this read model's log)."""


class StoreSource:
    """Earlier events straight from the store's stream (the live register)."""

    def __init__(self, store: EventStore, keys: SubjectKeys | None = None) -> None:
        self._store = store
        self._keys = keys

    def earlier(self, stored: StoredEvent) -> list[ActionEvent]:
        """See :meth:`StateSource.earlier`."""
        rows = self._store.read_stream(stored.stream_id, up_to_version=stored.version - 1)
        found = []
        for row in rows:
            event = decode(row, self._keys)
            assert not isinstance(event, MeetingEvent)
            found.append(event)
        return found

    def earlier_meeting(self, stored: StoredEvent) -> list[MeetingEvent]:
        """See :meth:`StateSource.earlier_meeting`."""
        return meeting_events(
            self._store.read_stream(stored.stream_id, up_to_version=stored.version - 1)
        )


def meeting_events(rows: Iterable[StoredEvent]) -> list[MeetingEvent]:
    """The meeting events of ``rows`` (stored events of one meeting stream), decoded."""
    found = []
    for row in rows:
        event = decode(row)
        assert isinstance(event, MeetingEvent)
        found.append(event)
    return found


SHADOW = "__rebuild"
"""In the names of the tables a rebuild builds beside the ones in use (``actions__rebuild_…``)."""
_REBUILD_BATCH = 5000
_BULK_CATCH_UP = 50_000
"""A catch-up this many events behind (or more) rebuilds beside and swaps instead."""


class _RebuildRaced(StoreError):
    """Another rebuild started while this one ran and dropped its half-built tables."""


class ReadModel:
    """Read-model tables (in SQLite, or in a PostgreSQL store's schema), and the runner that
    keeps them.

    Args:
        db: the SQLite database (the register file itself, or a temporary one for a view),
            or a backend's dialect (see :meth:`for_store`).
        projections: the projections to keep (the register's by default).
        cache_size: how many action states to keep between events (bounds memory).
        strict: check that a cached state is exactly one event behind (another process may
            have moved the tables on); ``False`` only for a private database fed once.
        lock: a lock to hold while using the connection, when it is shared (with the event
            store, so that an append never lands inside a read-model transaction).
        relaxed: write with ``synchronous=NORMAL`` whatever the connection's own setting
            (a lost read-model commit is redone by the next catch-up). SQLite only.
    """

    def __init__(
        self,
        db: sqlite_utils.Database | _Dialect,
        projections: Sequence[Projection] = PROJECTIONS,
        *,
        cache_size: int = 8192,
        strict: bool = True,
        lock: threading.RLock | None = None,
        relaxed: bool = False,
    ) -> None:
        self._dialect: _Dialect = (
            _SQLite(db, relaxed=relaxed) if isinstance(db, sqlite_utils.Database) else db
        )
        self.projections = tuple(projections)
        self.keys: SubjectKeys | None = None  # to open sealed fields with (see _erasure)
        self._states: OrderedDict[str, ActionState] = OrderedDict()
        self._cache_size = cache_size
        self._strict = strict
        self._lock = threading.RLock() if lock is None else lock
        self._owns_connection = lock is None
        self._translated: dict[str, str] = {}  # neutral SQL → the dialect's
        self._sql = {
            t.name: _Statements(t, self._dialect) for p in self.projections for t in p.tables
        }
        dialect = self._dialect
        self._set_checkpoint = dialect.upsert(
            CHECKPOINTS, ("projection", "version", "position"), ("projection",)
        )
        self._advance = dialect.sql(
            f"UPDATE {CHECKPOINTS} SET position = ? WHERE projection = ? AND position < ?"
        )
        self.path: str = getattr(self._dialect, "path", "")
        """The SQLite file holding the tables (``""`` for a private or PostgreSQL one)."""
        try:
            with self._lock, self._transaction():
                self._ensure()
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from exc

    @property
    def db(self) -> sqlite_utils.Database:
        """The SQLite database holding the tables.

        Raises:
            StoreError: the tables are in PostgreSQL (query them with :meth:`select`).
        """
        if not isinstance(self._dialect, _SQLite):
            raise StoreError("the read model is in PostgreSQL: query it with select()")
        return self._dialect.db

    @classmethod
    def for_store(cls, store: EventStore, **options: Any) -> ReadModel:
        """The read model of a store: in the file of a :class:`SQLiteEventStore`, sharing its
        connection and lock (one page cache; no second writer on the file); in a backend that
        keeps tables of its own (``store.read_model_tables()``, e.g. the schema of a
        ``PostgresEventStore``), on its connection and lock; else a private in-memory
        database."""
        if isinstance(store, SQLiteEventStore) and store.path not in ("", ":memory:"):
            return cls(store.db, lock=store.lock, relaxed=True, **options)
        tables = getattr(store, "read_model_tables", None)  # a backend with tables of its own
        if tables is not None:
            return cls(tables(), lock=getattr(store, "lock", None), **options)
        return cls.open(":memory:", **options)

    def shares(self, store: EventStore) -> bool:
        """Whether these tables live on ``store``'s own connection (so an append and its
        read-model update can be one transaction)."""
        return self._dialect.shares(store)

    @typed_faults
    def append(
        self,
        store: EventStore,
        batches: Sequence[Batch],
        *,
        events: Iterable[Event] = (),
    ) -> list[tuple[int, ...]]:
        """Append ``batches`` to ``store`` and bring these tables up to date: in ONE
        transaction (one durable commit) when they share the store's connection, else the
        append and then a catch-up.

        ``events`` are the batches' events as the command decided them (matched by event id),
        so that a backend that writes the rows from the sealed events need not decode them.
        The catch-up runs under a savepoint: if it fails, the append still commits, and the
        error is raised after the commit (the next catch-up retries from the checkpoint).

        Returns:
            Each batch's positions, as :meth:`~action_ledger.store.EventStore.append_many`.
        """
        if not self._dialect.shares(store):
            results = (
                [store.append(*batches[0])] if len(batches) == 1 else store.append_many(batches)
            )
            self.catch_up(store)
            return results
        projector = _Projector(self, store, batches, events)
        with self._lock, _gc_paused():
            try:
                results, failure = self._dialect.append(store, batches, projector)
            except BaseException:
                projector.forget()
                raise
        if failure is not None:
            raise failure
        return results

    def _transaction(self) -> AbstractContextManager[None]:
        """One read-model write transaction (serialised with every other writer of these
        tables); inside a transaction already open on the connection, part of it."""
        return self._dialect.transaction()

    @typed_faults
    def select(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        """The rows of a query in neutral SQL (``?`` and ``:name`` parameters,
        ``instr(casefold(column), ?) > 0``), on whichever backend holds the tables."""
        values = dict(params) if isinstance(params, Mapping) else list(params)
        text = self._translated.get(sql)
        if text is None:  # the library's queries are few; a caller's may not be: bounded
            if len(self._translated) >= 512:
                self._translated.clear()
            text = self._translated[sql] = self._dialect.sql(sql)
        with self._lock, self._dialect.reading():
            return self._dialect.select(text, values)

    @typed_faults
    def audit_rows(self, store: EventStore, action_id: str) -> list[tuple[Any, ...]] | None:
        """One action's ``audit_trail`` rows (:data:`AUDIT_COLUMNS`, oldest first), or ``None``
        when the table cannot answer for the log as it is now: the projection is not kept,
        its checkpoint is behind the log's end, or it holds no row of the action.

        Where the tables live with the log (one SQLite file, one PostgreSQL schema), the
        rows, the checkpoint and the log's end come from one statement, so they agree: one
        round trip. ``None`` sends the caller to the events themselves."""
        if not any(p.name == "audit_trail" for p in self.projections):
            return None
        columns = ", ".join(AUDIT_COLUMNS)
        if self._dialect.shares(store):
            rows = self.select(
                f"SELECT (SELECT position FROM {CHECKPOINTS} WHERE projection = 'audit_trail'), "
                f"(SELECT max(position) FROM events), {columns} "
                "FROM audit_trail WHERE action_id = ? ORDER BY version",
                [action_id],
            )
            if not rows or rows[0][0] != rows[0][1]:
                return None
            return [row[2:] for row in rows]
        with self._lock:
            if self.checkpoints()["audit_trail"] != store.last_position():
                return None
            rows = self.select(
                f"SELECT {columns} FROM audit_trail WHERE action_id = ? ORDER BY version",
                [action_id],
            )
        return rows or None

    @classmethod
    def open(cls, path: str, *, busy_timeout: float = 30.0, **options: Any) -> ReadModel:
        """A read model in the SQLite file ``path`` (``""`` for a private temporary file).

        Raises:
            StoreError: the file cannot be opened.
        """
        try:
            conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if path not in ("", ":memory:"):
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            return cls(sqlite_utils.Database(conn), **options)
        except sqlite3.Error as exc:
            raise storage_error(exc, path) from exc

    def compact(self) -> None:
        """VACUUM a SQLite database, so that no freed page keeps rows since dropped (an
        erasure's old rows); nothing for other backends."""
        with self._lock:
            if isinstance(self._dialect, _SQLite):
                try:
                    self._dialect.db.conn.execute("VACUUM")
                except sqlite3.Error as exc:
                    raise storage_error(exc, self._dialect.path) from exc

    def close(self) -> None:
        """Close the database connection (unless it is the event store's)."""
        with self._lock:
            if self._owns_connection:
                self._dialect.close()

    # -- checkpoints and schema ---------------------------------------------------------------

    def _ensure(self) -> None:
        """Create missing tables; drop and recreate those of a projection whose version
        changed, resetting its checkpoint to the start of the log."""
        self._dialect.create(CHECKPOINTS_TABLE)
        known = self._checkpoint_rows()
        for projection in self.projections:
            if known.get(projection.name, (None, 0))[0] == projection.version:
                continue
            self._reset(projection)

    def _reset(self, projection: Projection) -> None:
        for table in projection.tables:
            self._dialect.drop(table)
            self._dialect.create(table)
        self._dialect.execute(self._set_checkpoint, (projection.name, projection.version, 0))

    def _checkpoint_rows(self) -> dict[str, tuple[int, int]]:
        return {
            name: (version, position)
            for name, version, position in self._dialect.select(
                f"SELECT projection, version, position FROM {CHECKPOINTS}", []
            )
        }

    @typed_faults
    def checkpoints(self) -> dict[str, int]:
        """Each projection's checkpoint: the global position it has applied up to."""
        with self._lock, self._dialect.reading():
            rows = self._checkpoint_rows()
        return {p.name: rows.get(p.name, (0, 0))[1] for p in self.projections}

    @typed_faults
    def checkpoint_rows(self) -> dict[str, tuple[int, int]]:
        """Each checkpoint row as stored: projection name → ``(version, position)``."""
        with self._lock, self._dialect.reading():
            return self._checkpoint_rows()

    @property
    def position(self) -> int:
        """The position every projection has reached (the lowest checkpoint)."""
        return min(self.checkpoints().values(), default=0)

    # -- the loop -------------------------------------------------------------------------------

    def remember(self, action_id: str, state: ActionState) -> None:
        """Offer a known state of an action (e.g. the shell's, before its own append)."""
        with self._lock:
            self._keep(action_id, state)

    @typed_faults
    def catch_up(
        self,
        store: EventStore,
        *,
        batch_size: int = 5000,
        progress: Progress | None = None,
        bulk: bool = True,
    ) -> int:
        """Apply every event after the checkpoint; return how many events were read.

        Each batch is one transaction that re-reads the checkpoints first, so several
        processes catching up one file never apply an event twice.

        With ``bulk``, tables 50,000 events or more behind the log (e.g. none yet, on the
        first open of a file written without them) are built again beside the old ones and
        swapped in, as :meth:`rebuild` does: far faster than event by event. If another
        process's rebuild overtakes that one, the catch-up goes on event by event.

        Raises:
            StoreError: the tables are ahead of the log (they were built from another one);
                call :meth:`rebuild`.
        """
        if bulk and getattr(store, "read_by_stream", None) is not None:
            with self._lock:
                with self._dialect.reading():
                    rows = self._checkpoint_rows()
                start = min((rows.get(p.name, (0, 0))[1] for p in self.projections), default=0)
                if store.last_position() - start >= _BULK_CATCH_UP:
                    try:
                        return self.rebuild(store, progress=progress) - start
                    except _RebuildRaced:
                        pass  # another process rebuilds: catch up from where it is
        done = 0
        total = None
        with self._lock, _gc_paused():
            while True:
                with self._transaction():
                    checkpoints = {p: pos for p, (_, pos) in self._checkpoint_rows().items()}
                    start = min(checkpoints.get(p.name, 0) for p in self.projections)
                    if progress is not None and total is None:
                        total = max(store.last_position() - start, 0)
                        progress(0, total)
                    batch = list(store.read_all(after=start, limit=batch_size))
                    if not batch:
                        last = store.last_position()
                        if max(checkpoints.values(), default=0) > last:
                            raise StoreError(
                                f"the read model is at position {max(checkpoints.values())} "
                                f"but the log ends at {last}: it was built from another log; "
                                "rebuild it (action-ledger rebuild)"
                            )
                        return done
                    if any(p.name not in checkpoints for p in self.projections):
                        raise StoreError(  # the checkpoint could never move: never loop
                            f"a projection has no row in {CHECKPOINTS}, so it could not move "
                            f"past position {start}; rebuild the read models"
                        )
                    self._apply(batch, StoreSource(store, self.keys), checkpoints)
                done += len(batch)
                if progress is not None:
                    progress(done, max(total or 0, done))
                if len(batch) < batch_size:
                    return done  # the end of the log (as of this batch's read)

    def feed(
        self,
        events: Iterable[StoredEvent],
        source: StateSource,
        *,
        batch_size: int = 5000,
    ) -> int:
        """Apply ``events`` (in log order, after the checkpoint) from ``source``'s point of
        view: for a view, whose log is a selection of the store's. Returns the number fed."""
        done = 0
        with self._lock, _gc_paused():
            for batch in _chunks(events, batch_size):
                with self._transaction():
                    checkpoints = {p: pos for p, (_, pos) in self._checkpoint_rows().items()}
                    self._apply(batch, source, checkpoints)
                done += len(batch)
        return done

    @typed_faults
    def rebuild(self, store: EventStore, *, progress: Progress | None = None) -> int:
        """Build every read-model table again from the whole log, then swap the new tables in.

        The new tables are built beside the old ones (named ``<table>__rebuild_<token>``,
        without indexes, in batches of their own transactions); the last batch, the indexes,
        and the swap (drop the old tables, rename the new, set the checkpoints) are one
        transaction. Until it commits, readers see the old tables, and a rebuild that is
        killed leaves them in use, the register readable (the next rebuild drops its
        half-built tables).

        The register's own projections are built in bulk where the store can read its log
        stream by stream (``read_by_stream``: SQLite and PostgreSQL): each stream folded once,
        its rows made in one go (:mod:`action_ledger._bulk`). Any other projection (a custom
        one) is fed event by event in log order, as a catch-up does; events appended while
        the rebuild runs are then applied to every table the same way, before the swap.

        Returns:
            The number of events applied.
        """
        with self._lock:
            tables = [t for p in self.projections for t in p.tables]
            # Named for this rebuild alone: a rebuild started meanwhile by another process
            # drops them (as it drops those a killed rebuild left), and this one then stops.
            suffix = f"{SHADOW}_{secrets.token_hex(4)}"
            shadows = {t.name: attrs.evolve(t, name=t.name + suffix, indexes=()) for t in tables}
            with self._transaction():
                for name in self._dialect.table_names():
                    if SHADOW in name:
                        self._dialect.drop(Table(name=name, columns={}, pk=()))
                for shadow in shadows.values():
                    self._dialect.create(shadow)
            sql = {name: _Statements(t, self._dialect) for name, t in shadows.items()}
            self._states.clear()
            source = StoreSource(store, self.keys)
            done, after, total = 0, 0, None
            bulk = [p for p in self.projections if has_bulk(p)]
            by_stream = getattr(store, "read_by_stream", None)
            try:
                with _gc_paused():
                    if bulk and by_stream is not None:
                        # Up to the log's end now in bulk; whatever comes after, event by event.
                        after = total = store.last_position()
                        if progress is not None:
                            progress(0, total)
                        done = self._bulk(by_stream, bulk, sql, shadows, after, progress)
                        rest = [p for p in self.projections if not has_bulk(p)]
                        if rest:
                            self._per_event(store, rest, sql, shadows, after, progress, done)
                    while True:
                        with self._transaction():
                            self._check_shadows(shadows)
                            if progress is not None and total is None:
                                total = store.last_position()
                                progress(0, total)
                            batch = list(store.read_all(after=after, limit=_REBUILD_BATCH))
                            if batch:
                                writes = _Writes(sql)
                                for stored in batch:
                                    change = self._change(stored, source)
                                    for projection in self.projections:
                                        writes.add(projection.handle(change))
                                writes.execute(self._dialect)
                                after = batch[-1].position
                                done += len(batch)
                            if len(batch) < _REBUILD_BATCH:  # the end of the log: swap
                                self._swap(tables, shadows, after)
                                break
                        if progress is not None:
                            progress(done, max(total or 0, done))
            finally:
                self._states.clear()  # states of the new tables, or of a failed build
            if progress is not None:
                progress(done, max(total or 0, done))
            return done

    def _check_shadows(self, shadows: dict[str, Table]) -> None:
        """Inside a rebuild's transaction: stop if its half-built tables were dropped."""
        if not {t.name for t in shadows.values()} <= set(self._dialect.table_names()):
            raise _RebuildRaced(
                "another rebuild started while this one ran and dropped "
                "its half-built tables: this one stopped; the tables in "
                "use are those of whichever rebuild finishes"
            )

    def _bulk(
        self,
        by_stream: Callable[..., list[StoredEvent]],
        projections: list[Projection],
        sql: dict[str, _Statements],
        shadows: dict[str, Table],
        end: int,
        progress: Progress | None,
    ) -> int:
        """Build ``projections``' new tables from the log up to position ``end``, read stream
        by stream, in batches of their own transactions; return the number of events read."""
        folder = StreamFolder(projections, self.keys)
        pending: list[StoredEvent] = []  # the stream being read (it may span pages)
        key = ("", 0)
        done = 0
        while True:
            with self._transaction():
                self._check_shadows(shadows)
                page = by_stream(up_to=end, after=key, limit=_REBUILD_BATCH)
                for stored in page:
                    if pending and stored.stream_id != pending[0].stream_id:
                        folder.stream(pending)
                        pending = []
                    pending.append(stored)
                last = len(page) < _REBUILD_BATCH
                if last and pending:
                    folder.stream(pending)
                for name, rows in folder.take(meetings=last).items():
                    if rows:
                        self._dialect.executemany(sql[name].insert, rows)
            done += len(page)
            if progress is not None:
                progress(done, max(end, done))
            if last:
                return done
            key = (page[-1].stream_id, page[-1].version)

    def _per_event(
        self,
        store: EventStore,
        projections: list[Projection],
        sql: dict[str, _Statements],
        shadows: dict[str, Table],
        end: int,
        progress: Progress | None,
        done: int,
    ) -> None:
        """Feed ``projections``' new tables the log up to position ``end``, event by event in
        log order (for projections without a bulk writer), in batches of their own
        transactions."""
        source = StoreSource(store, self.keys)
        after = 0
        while after < end:
            with self._transaction():
                self._check_shadows(shadows)
                limit = min(_REBUILD_BATCH, end - after)
                batch = list(store.read_all(after=after, limit=limit))
                if not batch:
                    return
                writes = _Writes(sql)
                for stored in batch:
                    change = self._change(stored, source)
                    for projection in projections:
                        writes.add(projection.handle(change))
                writes.execute(self._dialect)
            after = batch[-1].position
            if progress is not None:
                progress(done, max(end, done))
        self._states.clear()

    def _swap(self, tables: list[Table], shadows: dict[str, Table], position: int) -> None:
        """Inside the rebuild's last transaction: the new tables replace the old ones."""
        dialect = self._dialect
        for table in tables:
            dialect.drop(table)
            dialect.rename(shadows[table.name], table.name)
            dialect.create(table)  # the table is there: only its indexes are made
        for projection in self.projections:
            dialect.execute(self._set_checkpoint, (projection.name, projection.version, position))

    def _apply(
        self, batch: list[StoredEvent], source: StateSource, checkpoints: dict[str, int]
    ) -> None:
        """Work out and write one batch, inside the caller's transaction."""
        writes = _Writes(self._sql)
        first = batch[0].position
        behind = [p for p in self.projections if checkpoints.get(p.name, 0) < first]
        for stored in batch:
            change = self._change(stored, source)
            if len(behind) == len(self.projections):
                for projection in behind:
                    writes.add(projection.handle(change))
                continue
            for projection in self.projections:  # some are ahead (e.g. one being rebuilt)
                if checkpoints.get(projection.name, 0) < stored.position:
                    writes.add(projection.handle(change))
        writes.execute(self._dialect)
        last = batch[-1].position
        self._dialect.executemany(self._advance, [(last, p.name, last) for p in self.projections])

    def _change(
        self, stored: StoredEvent, source: StateSource, event: Event | None = None
    ) -> Change:
        if event is None:
            event = decode(stored, self.keys)
        if isinstance(event, MeetingEvent):
            # A meeting is recorded once and rarely corrected: read what came before only then.
            prior = source.earlier_meeting(stored) if isinstance(event, MeetingCorrected) else ()
            meeting = evolve_meeting(fold_meeting(prior), event).meeting
            return Change(stored=stored, event=event, meeting=meeting)
        before = self._states.get(event.action_id)
        if before is None or (self._strict and before.version != stored.version - 1):
            # A stream's first event has nothing before it: no need to look.
            earlier = source.earlier(stored) if stored.version > 1 else ()
            before = fold(earlier, LEAN_ACTION)
        after = evolve(before, event)
        self._keep(event.action_id, after)
        corrected = None
        if isinstance(event, ActionCorrected):
            corrected = values_in_effect(source.earlier(stored), event.corrects)
        return Change(
            stored=stored,
            event=event,
            before=before.action,
            after=after.action,
            entry=audit_entry(stored, event, before.values, after.values, corrected),
        )

    def _keep(self, action_id: str, state: ActionState) -> None:
        states = self._states
        states[action_id] = state
        states.move_to_end(action_id)
        if len(states) > self._cache_size:
            states.popitem(last=False)


# -- writing ------------------------------------------------------------------------------------


def _casefold(value: str | None) -> str | None:
    return None if value is None else str(value).casefold()


def _create(db: sqlite_utils.Database, table: Table) -> None:
    db[table.name].create(  # type: ignore[union-attr]
        dict(table.columns),
        pk=table.pk[0] if len(table.pk) == 1 else table.pk,
        not_null=set(table.not_null) | set(table.pk),
        if_not_exists=True,
    )
    for columns in table.indexes:
        db[table.name].create_index(columns, if_not_exists=True)  # type: ignore[union-attr]


class _Statements:
    """The prepared SQL of one table, in its backend's form."""

    def __init__(self, table: Table, dialect: _Dialect) -> None:
        self.columns = tuple(table.columns)
        self.pk = table.pk
        self.insert = dialect.upsert(table.name, self.columns, self.pk)
        q = dialect.quote
        self.delete = dialect.sql(
            f"DELETE FROM {q(table.name)} WHERE " + " AND ".join(f"{q(c)} = ?" for c in self.pk)
        )
        self.delete_by = {
            c: dialect.sql(f"DELETE FROM {q(table.name)} WHERE {q(c)} = ?") for c in self.columns
        }
        self.table = table.name
        self._dialect = dialect
        self._updates: dict[frozenset[str], str] = {}
        take = operator.itemgetter(*self.columns)
        self._take: Callable[[Any], tuple[Any, ...]] = (
            take if len(self.columns) > 1 else (lambda values: (take(values),))
        )

    def upsert(self, changed: frozenset[str] | None) -> str:
        """The INSERT of a whole row that, for a row already there, sets only ``changed``
        columns (all of them for ``None``)."""
        if changed is None:
            return self.insert
        statement = self._updates.get(changed)
        if statement is None:
            update = [c for c in self.columns if c in changed and c not in self.pk]
            statement = self._dialect.upsert(self.table, self.columns, self.pk, update=update)
            self._updates[changed] = statement
        return statement

    def row(self, values: Any) -> tuple[Any, ...]:
        try:
            return self._take(values)  # every column given: the usual case, done in C
        except KeyError:
            return tuple(values.get(c) for c in self.columns)


class _Writes:
    """A batch's writes, coalesced: the last write per key wins."""

    def __init__(self, sql: dict[str, _Statements]) -> None:
        self.sql = sql
        self.keyed: dict[str, dict[tuple[Any, ...], Any]] = {}
        # Per key: the columns its writes may have changed (None: any), the union of them.
        self.changed: dict[str, dict[tuple[Any, ...], frozenset[str] | None]] = {}
        self.replaced: dict[tuple[str, str], dict[Any, tuple[Any, ...]]] = {}

    def add(self, writes: Iterable[Write]) -> None:
        for write in writes:
            if isinstance(write, Put):
                row = write.row
                key = write.key
                if key is None:
                    assert not callable(row)
                    key = tuple(row[c] for c in self.sql[write.table].pk)
                rows = self.keyed.setdefault(write.table, {})
                changed = self.changed.setdefault(write.table, {})
                if key not in rows:
                    changed[key] = write.changed
                else:  # written before in this batch (deleted: the row goes in whole)
                    earlier = changed.get(key)
                    changed[key] = (
                        None
                        if earlier is None or write.changed is None or rows[key] is None
                        else earlier | write.changed
                    )
                rows[key] = row
            elif isinstance(write, Delete):
                key = tuple(write.key[c] for c in self.sql[write.table].pk)
                self.keyed.setdefault(write.table, {})[key] = None
            else:
                assert isinstance(write, Replace)
                self.replaced.setdefault((write.table, write.column), {})[write.key] = write.rows

    def execute(self, dialect: _Dialect) -> None:
        for table, rows in self.keyed.items():
            statements = self.sql[table]
            gone = [key for key, row in rows.items() if row is None]
            if gone:
                dialect.executemany(statements.delete, gone)
            changed = self.changed.get(table, {})
            by_columns: dict[frozenset[str] | None, list[tuple[Any, ...]]] = {}
            for key, r in rows.items():
                if r is not None:
                    by_columns.setdefault(changed.get(key), []).append(
                        statements.row(r() if callable(r) else r)
                    )
            for columns, batch in by_columns.items():
                dialect.executemany(statements.upsert(columns), batch)
        for (table, column), groups in self.replaced.items():
            statements = self.sql[table]
            dialect.executemany(statements.delete_by[column], [(k,) for k in groups])
            dialect.executemany(
                statements.insert, [statements.row(r) for rows in groups.values() for r in rows]
            )


# -- backends -------------------------------------------------------------------------------------

CHECKPOINTS_TABLE = Table(
    name=CHECKPOINTS,
    columns={"projection": str, "version": int, "position": int},
    pk=("projection",),
)


class _Dialect(Protocol):
    """What the runner and the views need of a backend: its form of SQL, its DDL and its
    transactions. The runner and the views write neutral SQL (SQLite's: ``?`` and ``:name``
    parameters, ``instr(casefold(column), ?) > 0``); :meth:`sql` turns it into the backend's.
    """

    def sql(self, neutral: str) -> str:
        """``neutral`` in this backend's form."""

    def quote(self, name: str) -> str:
        """A quoted identifier."""

    def upsert(
        self,
        table: str,
        columns: Sequence[str],
        pk: Sequence[str],
        *,
        update: Sequence[str] | None = None,
    ) -> str:
        """An INSERT of ``columns`` that, where a row with the same primary key is there
        already, sets its ``update`` columns instead (every other column for ``None``)."""

    def create(self, table: Table) -> None:
        """Create the table and its indexes if missing."""

    def drop(self, table: Table) -> None:
        """Drop the table if it exists."""

    def rename(self, table: Table, name: str) -> None:
        """Rename the table (its indexes, if any, keep their names)."""

    def table_names(self) -> list[str]:
        """The names of the tables there."""

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        """Run one statement (in this backend's form)."""

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement (in this backend's form) for each row."""

    def select(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of a query (in this backend's form)."""

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction, serialised with the other writers of the tables; part of the
        transaction open on the connection, if any."""

    def reading(self) -> AbstractContextManager[None]:
        """Where reads run (a short transaction, if the backend needs one)."""

    def append(
        self, store: EventStore, batches: Sequence[Batch], projector: _Projector
    ) -> tuple[list[tuple[int, ...]], Exception | None]:
        """Append the batches to ``store`` (which :meth:`shares` these tables) and bring the
        tables up to date in the same transaction; return the positions and the read models'
        error, if any (their writes rolled back, the append's kept)."""

    def shares(self, store: EventStore) -> bool:
        """Whether the tables are on ``store``'s connection."""

    def close(self) -> None:
        """Close the connection."""


class _SQLite:
    """Read-model tables in a SQLite database (the schema made by sqlite-utils)."""

    def __init__(self, db: sqlite_utils.Database, *, relaxed: bool) -> None:
        self.db = db
        self._conn = db.conn
        self._relaxed = relaxed
        self._level: int | None = None
        self.path = next(
            (str(f) for _, name, f in self._conn.execute("PRAGMA database_list") if name == "main"),
            "",
        )
        self._conn.create_function("casefold", 1, _casefold, deterministic=True)

    def sql(self, neutral: str) -> str:
        return neutral

    def quote(self, name: str) -> str:
        return f"[{name}]"

    def upsert(
        self,
        table: str,
        columns: Sequence[str],
        pk: Sequence[str],
        *,
        update: Sequence[str] | None = None,
    ) -> str:
        # ON CONFLICT DO UPDATE, not INSERT OR REPLACE: a replace deletes the row and inserts
        # it again, rewriting every index entry; an update rewrites only the entries of the
        # columns it sets.
        names = ", ".join(f"[{c}]" for c in columns)
        rest = [c for c in columns if c not in pk] if update is None else list(update)
        action = (
            "DO UPDATE SET " + ", ".join(f"[{c}] = excluded.[{c}]" for c in rest)
            if rest
            else "DO NOTHING"
        )
        return (
            f"INSERT INTO [{table}] ({names}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(f'[{c}]' for c in pk)}) {action}"
        )

    def create(self, table: Table) -> None:
        _create(self.db, table)

    def drop(self, table: Table) -> None:
        self.db.execute(f"DROP TABLE IF EXISTS [{table.name}]")

    def rename(self, table: Table, name: str) -> None:
        self._conn.execute(f"ALTER TABLE [{table.name}] RENAME TO [{name}]")

    def table_names(self) -> list[str]:
        rows = self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [name for (name,) in rows]

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    def select(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return list(self._conn.execute(sql, params).fetchall())

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE``, relaxed if asked; inside a transaction already open on the
        connection, part of it."""
        if not self._relaxed or self._conn.in_transaction:
            with _immediate(self._conn):
                yield
            return
        if self._level is None:  # the connection's own setting, read once
            (self._level,) = self._conn.execute("PRAGMA synchronous").fetchone()
        self._conn.execute("PRAGMA synchronous = NORMAL")
        try:
            with _immediate(self._conn):
                yield
        finally:
            self._conn.execute(f"PRAGMA synchronous = {int(self._level)}")

    def reading(self) -> AbstractContextManager[None]:
        return nullcontext()

    def append(
        self, store: EventStore, batches: Sequence[Batch], projector: _Projector
    ) -> tuple[list[tuple[int, ...]], Exception | None]:
        results: list[tuple[int, ...]] = []
        append_sealed = getattr(store, "append_sealed", None)
        if append_sealed is None:  # a store that cannot hand back what it sealed

            def append() -> None:
                if len(batches) == 1:
                    results.append(store.append(*batches[0]))
                else:
                    results.extend(store.append_many(batches))

            return results, self.together(append, projector.catch_up)
        sealed: list[StoredEvent] = []

        def append_and_keep() -> None:
            done, stored = append_sealed(batches)
            results.extend(done)
            sealed.extend(stored)

        def write_rows() -> None:
            # From the events as sealed (no read-back, no decode) when every checkpoint was
            # at the log's end before them; else (behind, or nothing new) a catch-up.
            if not sealed or not projector.at(sealed[0].position - 1):
                projector.catch_up()
                return
            try:
                projector.write(sealed, self)
            except BaseException:
                projector.forget()  # its states are of rows rolled back
                raise

        return results, self.together(append_and_keep, write_rows)

    def together(
        self, append: Callable[[], object], catch_up: Callable[[], object]
    ) -> Exception | None:
        """Run ``append`` and then ``catch_up`` under a savepoint, in one transaction; return
        the catch-up's error (its writes rolled back, the append's kept)."""
        failure: Exception | None = None
        with _immediate(self._conn):
            append()
            self._conn.execute("SAVEPOINT read_models")
            try:
                catch_up()
            except sqlite3.Error as exc:
                # A storage fault (a full disk, a lock, a read-only file) fails the whole
                # write, so that a command that hit it stores nothing; SQLite may have rolled
                # the transaction back already.
                if not self._conn.in_transaction or _fault(exc):
                    raise
                self._conn.execute("ROLLBACK TO read_models")
                failure = exc
            except Exception as exc:
                self._conn.execute("ROLLBACK TO read_models")
                failure = exc
            self._conn.execute("RELEASE read_models")
        return failure

    def shares(self, store: EventStore) -> bool:
        return getattr(getattr(store, "db", None), "conn", None) is self._conn

    def close(self) -> None:
        self._conn.close()


_FAULTS = frozenset(
    (
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_NOMEM,
    )
)


def _fault(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` is a fault of the storage (not of the read-model tables)."""
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF in _FAULTS


class _WriteSource:
    """Earlier events for the rows of a write: the store's, and those of the write itself that
    come before (not yet committed, so not to be read back on another connection)."""

    def __init__(
        self,
        store: EventStore,
        sealed: Sequence[StoredEvent],
        decided: Mapping[str, Event],
        keys: SubjectKeys | None = None,
    ) -> None:
        self._store = StoreSource(store, keys)
        self._keys = keys
        self._sealed: dict[str, list[StoredEvent]] = {}
        for stored in sealed:
            self._sealed.setdefault(stored.stream_id, []).append(stored)
        self._decided = decided

    def earlier(self, stored: StoredEvent) -> list[ActionEvent]:
        """See :meth:`StateSource.earlier`."""
        mine = [s for s in self._sealed.get(stored.stream_id, ()) if s.version < stored.version]
        if not mine:
            return self._store.earlier(stored)
        found = self._store.earlier(mine[0])
        for row in mine:
            event = self._decided.get(row.event_id) or decode(row, self._keys)
            assert not isinstance(event, MeetingEvent)
            found.append(event)
        return found

    def earlier_meeting(self, stored: StoredEvent) -> list[MeetingEvent]:
        """See :meth:`StateSource.earlier_meeting`."""
        mine = [s for s in self._sealed.get(stored.stream_id, ()) if s.version < stored.version]
        if not mine:
            return self._store.earlier_meeting(stored)
        found = self._store.earlier_meeting(mine[0])
        for row in mine:
            event = self._decided.get(row.event_id) or decode(row, self._keys)
            assert isinstance(event, MeetingEvent)
            found.append(event)
        return found


class _Projector:
    """One append's read-model side, for the dialect: the rows of the sealed events, worked
    out from the events and states the command already holds; or a catch-up."""

    def __init__(
        self,
        model: ReadModel,
        store: EventStore,
        batches: Sequence[Batch],
        events: Iterable[Event],
    ) -> None:
        self._model = model
        self._store = store
        self._batches = batches
        self._events = {e.event_id: e for e in events}
        self.count = len(model.projections)

    def writes(self, sealed: list[StoredEvent]) -> Callable[[_Dialect], None]:
        """The writes of ``sealed`` for every projection (each at the log's end), and then
        the checkpoint, as one function of the dialect."""
        model = self._model
        writes = _Writes(model._sql)
        source = _WriteSource(self._store, sealed, self._events, model.keys)
        for stored in sealed:
            change = model._change(stored, source, self._events.get(stored.event_id))
            for projection in model.projections:
                writes.add(projection.handle(change))
        return writes.execute

    def at(self, position: int) -> bool:
        """Whether every projection's checkpoint is ``position`` (read in the transaction)."""
        rows = self._model._checkpoint_rows()
        return all(rows.get(p.name, (None, -1))[1] == position for p in self._model.projections)

    def write(self, sealed: list[StoredEvent], dialect: _Dialect) -> None:
        """Write the rows of ``sealed`` (the log's newest events, the tables at the position
        before them) and move every checkpoint to the last of them."""
        self.writes(sealed)(dialect)
        last = sealed[-1].position
        dialect.executemany(
            self._model._advance, [(last, p.name, last) for p in self._model.projections]
        )

    def catch_up(self) -> None:
        """Catch up inside the append's transaction (event by event: never a rebuild)."""
        self._model.catch_up(self._store, bulk=False)

    def forget(self) -> None:
        """Drop the cached states of the appended streams: they may hold what was not
        stored."""
        for stream_id, _, _ in self._batches:
            if stream_id.startswith(ACTION_PREFIX):
                self._model._states.pop(stream_id[len(ACTION_PREFIX) :], None)


def _chunks(events: Iterable[StoredEvent], size: int) -> Iterator[list[StoredEvent]]:
    batch: list[StoredEvent] = []
    for stored in events:
        batch.append(stored)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _gc_paused:
    """Pause the cyclic garbage collector (a replay makes millions of acyclic objects)."""

    def __enter__(self) -> None:
        self._was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._was:
            gc.enable()
