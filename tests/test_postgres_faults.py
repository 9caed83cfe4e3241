"""Acknowledged means committed, on PostgreSQL: the Ledger under lost connections, a lost
acknowledgement, a server restart, killed backends and contention (issue 11).

Faults are injected from outside the library: psycopg's own methods are wrapped so that the
k-th statement sent on the register's connection first has its server process terminated
(``pg_terminate_backend``); a small TCP proxy drops the server's answer to a ``COMMIT``; the
server is restarted under running writers. Whatever happens, a command that returned is
stored, once; an error that reaches the caller is typed; and running the same command again
with the same event id settles it. Skipped without a test server (``ACTION_LEDGER_TEST_PG``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from action_ledger import (
    ConcurrencyError,
    ConnectionLostError,
    Ledger,
    StoreError,
)
from action_ledger.testing.laws import check_read_models, check_verify

psycopg = pytest.importorskip("psycopg")
from psycopg import sql  # noqa: E402

import pg_fault_procs  # noqa: E402

Schemas = Callable[[], str]

COMMANDS = ("update_action", "raise_action", "close_action", "record_meeting")


# -- helpers ------------------------------------------------------------------------------------


def admin(dsn: str) -> Any:
    """A connection of our own, in autocommit mode, to inspect a register or kill backends."""
    return psycopg.connect(dsn, autocommit=True)


def stored_count(conn: Any, schema: str, event_id: str) -> int:
    """How many events of the register carry this event id, read straight from its table."""
    query = sql.SQL("SELECT count(*) FROM {}.events WHERE event_id = %s").format(
        sql.Identifier(schema)
    )
    (count,) = conn.execute(query, (event_id,)).fetchone()
    return int(count)


def stored_ids(conn: Any, schema: str) -> Counter[str]:
    """Every event id of the register's ``action.updated`` events, with how often it is stored."""
    query = sql.SQL("SELECT event_id FROM {}.events WHERE event_type = 'action.updated'").format(
        sql.Identifier(schema)
    )
    return Counter(row[0] for row in conn.execute(query))


def updates_per_stream(conn: Any, schema: str) -> dict[str, int]:
    """The number of ``action.updated`` events of each stream."""
    query = sql.SQL(
        "SELECT stream_id, count(*) FROM {}.events WHERE event_type = 'action.updated' "
        "GROUP BY stream_id"
    ).format(sql.Identifier(schema))
    return {stream: int(count) for stream, count in conn.execute(query)}


def last_position(conn: Any, schema: str) -> int:
    """The register's last position, read straight from its table."""
    query = sql.SQL("SELECT coalesce(max(position), 0) FROM {}.events").format(
        sql.Identifier(schema)
    )
    (last,) = conn.execute(query).fetchone()
    return int(last)


def terminate(conn: Any, pid: int, timeout: float = 10.0) -> None:
    """Terminate a server process and wait until the server no longer lists it."""
    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + timeout
    while conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
        if time.monotonic() > deadline:
            raise AssertionError(f"backend {pid} still listed {timeout} s after termination")
        time.sleep(0.005)


def check_consistent(ledger: Ledger) -> None:
    """The chain verifies and the read models are the fold of the log."""
    check_verify(ledger)
    check_read_models(ledger, list(ledger.store.read_all()))


class BackendKiller:
    """Wraps psycopg's statement-sending methods so that, while armed, the ``k``-th call made
    on any connection but its own (in the arming thread) first terminates that connection's
    server process. Unarmed but counting, it counts the calls (a dry run)."""

    def __init__(self, dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.admin = admin(dsn)
        self.counting = False
        self.target: int | None = None
        self.calls: list[str] = []
        self.fired: str | None = None
        self._thread = threading.get_ident()
        self._local = threading.local()
        for owner, name in [
            (psycopg.Connection, "execute"),
            (psycopg.Connection, "pipeline"),
            (psycopg.Cursor, "execute"),
            (psycopg.Cursor, "executemany"),
            (psycopg.Pipeline, "sync"),
        ]:
            monkeypatch.setattr(owner, name, self._wrap(owner, name))

    def _wrap(self, owner: type, name: str) -> Callable[..., Any]:
        original = getattr(owner, name)
        killer = self

        def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(killer._local, "inside", False):  # a call made by a wrapped call
                return original(obj, *args, **kwargs)
            killer._local.inside = True
            try:
                conn = obj if isinstance(obj, psycopg.Connection) else obj.connection
                killer._before(conn, f"{owner.__name__}.{name}", args)
                return original(obj, *args, **kwargs)
            finally:
                killer._local.inside = False

        return wrapper

    def _before(self, conn: Any, what: str, args: tuple[Any, ...]) -> None:
        if not self.counting or conn is self.admin or threading.get_ident() != self._thread:
            return
        statement = " ".join(str(args[0]).split())[:70] if args else ""
        self.calls.append(f"{what}({statement})")
        if len(self.calls) == self.target:
            self.fired = self.calls[-1]
            pid = conn.info.backend_pid
            if pid and not (conn.closed or conn.broken):
                terminate(self.admin, pid)

    @contextlib.contextmanager
    def counted(self, target: int | None = None) -> Iterator[BackendKiller]:
        """Count the calls made in the block; with ``target``, kill before that call."""
        self.calls, self.fired, self.target, self.counting = [], None, target, True
        try:
            yield self
        finally:
            self.counting = False

    def close(self) -> None:
        self.admin.close()


@pytest.fixture
def killer(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[BackendKiller]:
    """A :class:`BackendKiller` for the test, its wrappers removed afterwards."""
    made = BackendKiller(postgres_dsn, monkeypatch)
    try:
        yield made
    finally:
        made.close()


def meeting_id(k: int) -> str:
    return (dt.date(2021, 1, 1) + dt.timedelta(days=k)).isoformat()


def prepare(ledger: Ledger, command: str, k: int) -> str | None:
    """What the ``k``-th run of ``command`` acts on: a new action for an update or a close."""
    if command in ("update_action", "close_action"):
        return ledger.raise_action(text=f"Find out the timeline {k}.", owners=["CC"], actor="JI")
    return None


def run_command(
    ledger: Ledger, command: str, subject: str | None, k: int, event_id: str | None
) -> Any:
    """Run the ``k``-th ``command`` with ``event_id``; return what it returned."""
    if command == "update_action":
        assert subject is not None
        return ledger.update_action(
            subject, note=f"Written update {k}.", source="written update", actor="JI",
            event_id=event_id,
        )  # fmt: skip
    if command == "close_action":
        assert subject is not None
        return ledger.close_action(
            subject, resolution="completed", note=f"Agreed as completed ({k}).", actor="JI",
            event_id=event_id,
        )  # fmt: skip
    if command == "raise_action":
        return ledger.raise_action(
            text=f"Share the headlines {k}.", owners=["CC"], actor="JI", event_id=event_id
        )
    return ledger.record_meeting(
        meeting_id(k),
        title=f"Monthly Assurance Meeting {k}",
        held_at=f"{meeting_id(k)}T10:00",
        actor="JI",
        event_id=event_id,
    )


def stream_of(command: str, subject: str | None, k: int, result: Any) -> str:
    """The stream the ``k``-th ``command`` appends to (for a raise, the id it returned)."""
    if command == "record_meeting":
        return f"meeting:{meeting_id(k)}"
    if command == "raise_action":
        return f"action:{result}"
    return f"action:{subject}"


# -- 1. the backend terminated before each statement of a command -------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_whose_backend_dies_before_any_statement_is_stored_once_or_raises_typed(
    command: str, killer: BackendKiller, postgres_dsn: str, pg_schema: Schemas
) -> None:
    """With retries off, a command whose connection's server process is terminated before
    its k-th statement (for every k) either returns, and its event is stored, or raises a
    StoreError (a ConnectionLostError saying ``committed=False`` only if nothing was stored);
    the same command again with the same event id then returns, and the event is stored
    exactly once; the chain verifies and the read models are the fold of the log."""
    schema = pg_schema()
    outcomes: list[str] = []
    with (
        Ledger.open(postgres_dsn, schema=schema, retry_budget=0) as ledger,
        Ledger.open(postgres_dsn, schema=schema) as observer,
    ):
        # The register's first event takes the client's path (an empty register's chain mode
        # is checked under the lock); the steady state, measured below, starts after it.
        ledger.raise_action(text="The register's first action.", owners=["CC"], actor="JI")
        subject = prepare(ledger, command, 0)
        with killer.counted() as dry:
            run_command(ledger, command, subject, 0, str(uuid.uuid4()))
        statements = len(dry.calls)
        assert dry.calls, "the command sent nothing to the server"
        for k in range(1, statements + 1):
            subject = prepare(ledger, command, k)
            event_id = str(uuid.uuid4())
            error: StoreError | None = None
            result: Any = None
            with killer.counted(k) as run:
                try:
                    result = run_command(ledger, command, subject, k, event_id)
                except StoreError as exc:  # anything else fails the test
                    error = exc
            outcomes.append(f"k={k}: {'returned' if error is None else repr(error)}")
            where = f"k={k} of {dry.calls}; so far {outcomes}"
            assert run.fired, f"{where}: the fault was never injected ({run.calls})"
            count = stored_count(killer.admin, schema, event_id)
            if error is None:
                assert count == 1, f"{where}: returned, but stored {count} times"
                stored = observer.store.get_event(event_id)
                assert stored is not None, f"{where}: another Ledger does not see it"
                assert stored.stream_id == stream_of(command, subject, k, result), where
                again = run_command(ledger, command, subject, k, event_id)
                if command == "raise_action":
                    assert again == result, where
            else:
                assert count in (0, 1), f"{where}: stored {count} times"
                if isinstance(error, ConnectionLostError) and error.committed is False:
                    assert count == 0, f"{where}: committed=False, yet stored"
                result = run_command(ledger, command, subject, k, event_id)
            assert stored_count(killer.admin, schema, event_id) == 1, where
            stored = observer.store.get_event(event_id)
            assert stored is not None, where
            assert stored.stream_id == stream_of(command, subject, k, result), where
            if command != "record_meeting":
                action_id = stored.stream_id.removeprefix("action:")
                trail = [e.event_id for e in observer.history(action_id)]
                assert trail.count(event_id) == 1, f"{where}: history {trail}"
            check_consistent(ledger)
        check_consistent(observer)
        listed = ledger.register()
    with Ledger.open(postgres_dsn, schema=schema) as fresh:
        fresh.rebuild()
        assert fresh.register() == listed
        check_consistent(fresh)


@pytest.mark.parametrize("command", COMMANDS)
def test_with_the_default_budget_a_command_survives_its_backend_dying_before_any_statement(
    command: str, killer: BackendKiller, postgres_dsn: str, pg_schema: Schemas
) -> None:
    """With the default retry budget, a command whose connection's server process is
    terminated before its k-th statement (for every k) simply returns: the Ledger reconnects
    and retries by itself, and the event is stored exactly once."""
    schema = pg_schema()
    with Ledger.open(postgres_dsn, schema=schema) as ledger:
        # The register's first event takes the client's path (an empty register's chain mode
        # is checked under the lock); the steady state, measured below, starts after it.
        ledger.raise_action(text="The register's first action.", owners=["CC"], actor="JI")
        subject = prepare(ledger, command, 0)
        with killer.counted() as dry:
            run_command(ledger, command, subject, 0, str(uuid.uuid4()))
        statements = len(dry.calls)
        for k in range(1, statements + 1):
            subject = prepare(ledger, command, k)
            event_id = str(uuid.uuid4())
            where = f"k={k} of {dry.calls}"
            with killer.counted(k) as run:
                result = run_command(ledger, command, subject, k, event_id)
            assert run.fired, f"{where}: the fault was never injected ({run.calls})"
            assert stored_count(killer.admin, schema, event_id) == 1, where
            stored = ledger.store.get_event(event_id)
            assert stored is not None, where
            assert stored.stream_id == stream_of(command, subject, k, result), where
        check_consistent(ledger)


@pytest.mark.parametrize("command", ["update_action", "close_action"])
def test_a_connection_whose_backend_ended_while_idle_is_replaced_before_the_next_command(
    command: str, postgres_dsn: str, pg_schema: Schemas
) -> None:
    """With retries off, an update or a close (no event id given, so the write is the first
    thing it sends) on a register whose connection's server process was terminated while
    idle returns, and its one event is stored: the dead connection is replaced before
    anything is sent on it."""
    schema = pg_schema()
    marker = f"al_idle_{schema}"
    dsn = postgres_dsn + ("&" if "?" in postgres_dsn else "?") + f"application_name={marker}"
    with admin(postgres_dsn) as conn, Ledger.open(dsn, schema=schema, retry_budget=0) as ledger:
        subject = prepare(ledger, command, 1)
        assert subject is not None
        before = last_position(conn, schema)
        pids = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (marker,)
            )
        ]
        assert pids, "the register's connection is not listed"
        for pid in pids:
            terminate(conn, pid)
        action = run_command(ledger, command, subject, 1, None)
        assert last_position(conn, schema) == before + 1
        assert [e.event_type for e in ledger.history(subject)][-1] == command.split("_")[0] + "d"
        assert action == ledger.get(subject)
        check_consistent(ledger)


# -- 2. the lost acknowledgement ----------------------------------------------------------------


class CommitDropper:
    """A TCP proxy on 127.0.0.1 (a random port) in front of the server. Once armed, the first
    client message holding ``COMMIT`` is forwarded, and after ``linger`` seconds (time for the
    server to commit) both sockets of that connection are closed, the server's answer never
    forwarded. It stops by itself after ``lifetime`` seconds, or when closed."""

    def __init__(self, upstream: tuple[str, int], *, linger: float = 0.2, lifetime: float = 60):
        self.upstream = upstream
        self.linger = linger
        self.cuts = 0
        self._armed = threading.Event()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def arm(self) -> None:
        self._armed.set()

    def _running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _accept(self) -> None:
        try:
            while self._running():
                try:
                    client, _ = self._listener.accept()
                except TimeoutError:
                    continue
                server = socket.create_connection(self.upstream, timeout=5)
                for end in (client, server):
                    end.settimeout(0.1)
                    self._sockets.append(end)
                dropping = threading.Event()
                for target in (self._to_server, self._to_client):
                    thread = threading.Thread(
                        target=target, args=(client, server, dropping), daemon=True
                    )
                    self._threads.append(thread)
                    thread.start()
        finally:
            self._stop.set()
            self._listener.close()
            for end in self._sockets:
                with contextlib.suppress(OSError):
                    end.close()

    def _pump(self, source: socket.socket) -> bytes:
        """The next bytes from ``source``; ``b""`` at its end or when the proxy stops."""
        while self._running():
            try:
                return source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return b""
        return b""

    def _to_server(self, client: socket.socket, server: socket.socket, dropping: Any) -> None:
        while data := self._pump(client):
            cut = self._armed.is_set() and b"COMMIT" in data
            if cut:
                self._armed.clear()
                dropping.set()  # from now on, nothing from the server reaches the client
            try:
                server.sendall(data)
            except OSError:
                break
            if cut:
                time.sleep(self.linger)
                self.cuts += 1
                break
        for end in (client, server):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def _to_client(self, client: socket.socket, server: socket.socket, dropping: Any) -> None:
        while data := self._pump(server):
            if dropping.is_set():
                continue
            try:
                client.sendall(data)
            except OSError:
                break

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def dropper(postgres_dsn: str) -> Iterator[tuple[CommitDropper, str]]:
    """A :class:`CommitDropper` in front of the test server, and a DSN through it."""
    params = psycopg.conninfo.conninfo_to_dict(postgres_dsn)
    host = str(params.get("host") or "")
    if host not in ("127.0.0.1", "localhost"):
        pytest.skip(f"the proxy reaches only a server on 127.0.0.1, not {host!r}")
    proxy = CommitDropper((host, int(params.get("port") or 5432)))
    user = params.get("user") or "postgres"
    dsn = (
        f"postgresql://{user}@127.0.0.1:{proxy.port}/{params.get('dbname') or 'test'}"
        "?sslmode=disable&gssencmode=disable&connect_timeout=5"
    )
    try:
        yield proxy, dsn
    finally:
        proxy.close()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_commit_whose_acknowledgement_is_lost_raises_may_be_stored_and_settles_on_retry(
    command: str, dropper: tuple[CommitDropper, str], postgres_dsn: str, pg_schema: Schemas
) -> None:
    """With retries off, a command whose COMMIT reaches the server but whose answer never
    comes back raises ConnectionLostError with ``committed=None``; the event is stored; the
    same command again with the same event id returns and stores nothing new."""
    proxy, dsn = dropper
    schema = pg_schema()
    event_id = str(uuid.uuid4())
    with admin(postgres_dsn) as conn, Ledger.open(dsn, schema=schema, retry_budget=0) as ledger:
        subject = prepare(ledger, command, 1)
        before = last_position(conn, schema)
        proxy.arm()
        with pytest.raises(ConnectionLostError) as caught:
            run_command(ledger, command, subject, 1, event_id)
        assert proxy.cuts == 1
        assert caught.value.committed is None, caught.value
        assert stored_count(conn, schema, event_id) == 1
        assert last_position(conn, schema) == before + 1
        result = run_command(ledger, command, subject, 1, event_id)
        assert stored_count(conn, schema, event_id) == 1
        assert last_position(conn, schema) == before + 1
        stored = ledger.store.get_event(event_id)
        assert stored is not None
        assert stored.stream_id == stream_of(command, subject, 1, result)
        check_consistent(ledger)


@pytest.mark.parametrize("command", COMMANDS)
def test_with_the_default_budget_a_lost_acknowledgement_is_settled_by_the_ledger_itself(
    command: str, dropper: tuple[CommitDropper, str], postgres_dsn: str, pg_schema: Schemas
) -> None:
    """With the default retry budget, a command whose COMMIT's answer is lost returns
    normally: the Ledger reconnects, finds its event stored, and stores it only once."""
    proxy, dsn = dropper
    schema = pg_schema()
    event_id = str(uuid.uuid4())
    with admin(postgres_dsn) as conn, Ledger.open(dsn, schema=schema) as ledger:
        subject = prepare(ledger, command, 1)
        before = last_position(conn, schema)
        proxy.arm()
        result = run_command(ledger, command, subject, 1, event_id)
        assert proxy.cuts == 1
        assert stored_count(conn, schema, event_id) == 1
        assert last_position(conn, schema) == before + 1
        stored = ledger.store.get_event(event_id)
        assert stored is not None
        assert stored.stream_id == stream_of(command, subject, 1, result)
        check_consistent(ledger)


# -- 3, 4, 5. writer processes: a server restart, killed backends, contention -------------------


def start_register(dsn: str, schema: str, actions: int) -> list[str]:
    """Create the register and ``actions`` actions before the writers start; their ids."""
    with Ledger.open(dsn, schema=schema) as ledger:
        return [
            ledger.raise_action(text=f"Shared action {n}.", owners=["CC"], actor="setup")
            for n in range(actions)
        ]


def run_writers(
    dsn: str,
    schema: str,
    directory: Path,
    plan: list[list[str]],
    count: int,
    *,
    retry_budget: float | None,
    pause: float = 0.0,
    during: Callable[[Callable[[], list[list[dict[str, Any]]]]], None] | None = None,
    timeout: float = 90.0,
) -> tuple[list[list[dict[str, Any]]], list[int | None]]:
    """Start one writer process per entry of ``plan`` (the actions it updates, in turn),
    ``count`` updates each; once all are ready, start them together and call
    ``during(progress)`` (``progress()`` reads what each has recorded so far) while they run.
    Returns each writer's record and exit code."""
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    paths = [directory / f"{schema}-writer-{w}.jsonl" for w in range(len(plan))]

    def progress() -> list[list[dict[str, Any]]]:
        return [pg_fault_procs.read_lines(p) for p in paths]

    processes = [
        ctx.Process(
            target=pg_fault_procs.update_writer,
            args=(dsn, schema, w, actions, count, retry_budget, pause, str(path), go),
        )
        for w, (actions, path) in enumerate(zip(plan, paths, strict=True))
    ]
    for process in processes:
        process.start()
    try:
        deadline = time.monotonic() + 60
        while not all(any(line["kind"] in ("ready", "done") for line in r) for r in progress()):
            assert time.monotonic() < deadline, f"writers not ready in 60 s: {progress()}"
            time.sleep(0.05)
        go.set()
        if during is not None:
            during(progress)
        deadline = time.monotonic() + timeout
        for process in processes:
            process.join(max(0.1, deadline - time.monotonic()))
    finally:
        go.set()
        for process in processes:
            if process.is_alive():
                process.kill()
            process.join(10)
    return progress(), [p.exitcode for p in processes]


def brief(line: dict[str, Any]) -> str:
    """A writer's error record, in one line (its traceback, the last line only)."""
    trace = line.get("trace", "").strip().splitlines()
    return f"{line.get('error')} (committed={line.get('committed')}): {trace[-1] if trace else ''}"


def check_writers(
    dsn: str,
    schema: str,
    records: list[list[dict[str, Any]]],
    exitcodes: list[int | None],
    count: int,
) -> list[str]:
    """Every writer finished and had every command acknowledged, no error of any kind
    reached a caller, every acknowledged event is stored exactly once and nothing else was
    stored; the chain verifies and the read models are the fold of the log, read afresh.
    Returns the acknowledged event ids."""
    untyped = [brief(line) for r in records for line in r if line["kind"] == "untyped"]
    assert not untyped, f"errors that are not ActionLedgerErrors reached a caller: {untyped}"
    typed = [brief(line) for r in records for line in r if line["kind"] == "typed"]
    assert not typed, f"{len(typed)} typed errors reached a caller within the budget: {typed}"
    assert exitcodes == [0] * len(records), exitcodes
    unfinished = [w for w, r in enumerate(records) if not r or r[-1]["kind"] != "done"]
    assert not unfinished, f"writers {unfinished} did not finish"
    acked = [line["event_id"] for r in records for line in r if line["kind"] == "acked"]
    intended = {pg_fault_procs.update_id(schema, w, n) for w in range(len(records))
                for n in range(count)}  # fmt: skip
    assert sorted(acked) == sorted(intended), "not every command was acknowledged"
    with admin(dsn) as conn:
        stored = stored_ids(conn, schema)
    twice = {event_id: n for event_id, n in stored.items() if n != 1}
    assert not twice, f"events stored more than once: {twice}"
    missing = [event_id for event_id in acked if stored[event_id] != 1]
    assert not missing, f"acknowledged but not stored: {missing}"
    assert set(stored) <= intended, f"unexpected events: {set(stored) - intended}"
    with Ledger.open(dsn, schema=schema) as ledger:
        check_consistent(ledger)
    return acked


def _cluster() -> tuple[str, str]:
    """The local PostgreSQL cluster (version, name) this test may restart, or skip."""
    if shutil.which("pg_ctlcluster") is None or shutil.which("pg_isready") is None:
        pytest.skip("restarting the server needs pg_ctlcluster and pg_isready (Debian's tools)")
    if os.geteuid() != 0:
        pytest.skip("restarting the server with pg_ctlcluster needs root")
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions:
        pytest.skip("no cluster under /etc/postgresql to restart")
    return versions[-1], "main"


def _server_ready(dsn: str, timeout: float) -> bool:
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    host, port = str(params.get("host") or "127.0.0.1"), str(params.get("port") or 5432)
    deadline = time.monotonic() + timeout
    while True:
        ready = subprocess.run(
            ["pg_isready", "-h", host, "-p", port, "-t", "1"], capture_output=True, check=False
        )
        if ready.returncode == 0:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


@pytest.mark.slow
def test_writers_survive_a_server_restart_and_every_acknowledged_command_is_stored_once(
    postgres_dsn: str, pg_schema: Schemas, tmp_path: Path
) -> None:
    """Three writer processes (40 updates each, on their own actions, a 60 s retry budget)
    while the server is restarted: every command is acknowledged, and every acknowledged
    event is stored exactly once; no error reaches a caller; the chain verifies."""
    params = psycopg.conninfo.conninfo_to_dict(postgres_dsn)
    if str(params.get("host") or "") not in ("127.0.0.1", "localhost"):
        pytest.skip("the test server is not the local cluster this test can restart")
    version, cluster = _cluster()
    schema = pg_schema()
    actions = start_register(postgres_dsn, schema, 3)
    count = 40
    restart: dict[str, float] = {}

    def restart_server(progress: Callable[[], list[list[dict[str, Any]]]]) -> None:
        deadline = time.monotonic() + 30
        while sum(line["kind"] == "acked" for r in progress() for line in r) < 3 * 8:
            assert time.monotonic() < deadline, f"writers made no progress: {progress()}"
            time.sleep(0.02)
        restart["began"] = time.time()
        try:
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart"],
                check=True,
                capture_output=True,
                timeout=60,
            )
        finally:
            if not _server_ready(postgres_dsn, 20):
                subprocess.run(
                    ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "start"],
                    check=False,
                    capture_output=True,
                    timeout=60,
                )
            assert _server_ready(postgres_dsn, 60), "the server did not come back"
        restart["ended"] = time.time()

    try:
        records, exitcodes = run_writers(
            postgres_dsn,
            schema,
            tmp_path,
            [[a] for a in actions],
            count,
            retry_budget=60,
            pause=0.05,
            during=restart_server,
        )
    finally:
        _server_ready(postgres_dsn, 60) or subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "start"],
            check=False,
            timeout=60,
        )
        assert _server_ready(postgres_dsn, 60), "the server is down after the test"
    assert "ended" in restart
    with admin(postgres_dsn) as conn:
        (started,) = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
    assert started.timestamp() > restart["began"], "the server was not restarted"
    times = [line["at"] for r in records for line in r if line["kind"] == "acked"]
    assert min(times) < restart["began"], "no command was acknowledged before the restart"
    assert max(times) > started.timestamp(), "no command was acknowledged after the restart"
    check_writers(postgres_dsn, schema, records, exitcodes, count)


@pytest.mark.slow
def test_writers_survive_their_backends_being_killed_at_random_moments(
    postgres_dsn: str, pg_schema: Schemas, tmp_path: Path
) -> None:
    """Three writer processes (40 updates each, on their own actions and a shared one, a
    60 s retry budget) whose server processes are terminated at random moments: every
    command is acknowledged and stored exactly once; no error reaches a caller; the chain
    verifies."""
    schema = pg_schema()
    marker = f"al_fault_{schema}"
    dsn = postgres_dsn + ("&" if "?" in postgres_dsn else "?") + f"application_name={marker}"
    shared, *own = start_register(postgres_dsn, schema, 4)
    count = 40
    killed: list[int] = []
    rng = random.Random(11)

    def kill_at_random(progress: Callable[[], list[list[dict[str, Any]]]]) -> None:
        with admin(postgres_dsn) as conn:
            deadline = time.monotonic() + 60
            while not all(r and r[-1]["kind"] == "done" for r in progress()):
                assert time.monotonic() < deadline, "writers did not finish in 60 s"
                time.sleep(rng.uniform(0.01, 0.1))
                pids = [
                    pid
                    for (pid,) in conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                        (marker,),
                    )
                ]
                if pids:
                    victim = rng.choice(pids)
                    conn.execute("SELECT pg_terminate_backend(%s)", (victim,))
                    killed.append(victim)

    records, exitcodes = run_writers(
        dsn,
        schema,
        tmp_path,
        [[a, shared] for a in own],
        count,
        retry_budget=60,
        pause=0.01,
        during=kill_at_random,
    )
    assert len(killed) >= 5, f"only {len(killed)} backends were terminated"
    check_writers(postgres_dsn, schema, records, exitcodes, count)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("processes", "actions", "count"), [(4, 1, 25), (8, 2, 50)], ids=["4x25-on-1", "8x50-on-2"]
)
def test_contending_writer_processes_have_every_update_stored_exactly_once(
    processes: int,
    actions: int,
    count: int,
    postgres_dsn: str,
    pg_schema: Schemas,
    tmp_path: Path,
) -> None:
    """Writer processes updating the same action(s) at once, with the default retry budget:
    no error reaches any caller, every update is stored exactly once (each action has
    exactly the updates made on it), and the chain verifies."""
    schema = pg_schema()
    ids = start_register(postgres_dsn, schema, actions)
    plan = [ids[w % actions :] + ids[: w % actions] for w in range(processes)]
    records, exitcodes = run_writers(postgres_dsn, schema, tmp_path, plan, count, retry_budget=None)
    check_writers(postgres_dsn, schema, records, exitcodes, count)
    with admin(postgres_dsn) as conn:
        per_stream = updates_per_stream(conn, schema)
    expected = processes * count // actions
    assert per_stream == {f"action:{a}": expected for a in ids}


# -- races with retries turned off, and no races between different actions ---------------------


def _racing(
    dsn: str, schema: str, actions: list[str], rounds: int
) -> tuple[list[tuple[str, str]], list[tuple[str, BaseException]]]:
    """One thread (each with its own Ledger, retries off) per entry of ``actions``, all
    updating in lock step for ``rounds`` rounds; the (action, event id) of each update that
    returned, and each error that was raised with its event id."""
    ledgers = [Ledger.open(dsn, schema=schema, retry_budget=0) for _ in actions]
    barrier = threading.Barrier(len(actions), timeout=30)
    done: list[tuple[str, str]] = []
    failed: list[tuple[str, BaseException]] = []

    def work(ledger: Ledger, action: str, number: int) -> None:
        ledger.get(action)  # read before the race, as a tool does
        for n in range(rounds):
            event_id = str(uuid.uuid4())
            try:
                barrier.wait()
                ledger.update_action(
                    action, note=f"Update {n} from {number}.", source="email",
                    actor=f"thread-{number}", event_id=event_id,
                )  # fmt: skip
            except BaseException as exc:
                failed.append((event_id, exc))
            else:
                done.append((action, event_id))

    threads = [
        threading.Thread(target=work, args=(ledger, action, number))
        for number, (ledger, action) in enumerate(zip(ledgers, actions, strict=True))
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(t.is_alive() for t in threads), "a racing thread did not finish"
    finally:
        for ledger in ledgers:
            ledger.close()
    return done, failed


def test_with_retries_off_the_loser_of_a_race_gets_a_concurrency_error_saying_so(
    postgres_dsn: str, pg_schema: Schemas
) -> None:
    """Two Ledgers with ``retry_budget=0`` updating one action in lock step: a loser gets a
    ConcurrencyError whose message says retries are turned off, and its update is not
    stored; every update that returned is stored once; nothing else is raised."""
    schema = pg_schema()
    (action,) = start_register(postgres_dsn, schema, 1)
    done, failed = _racing(postgres_dsn, schema, [action, action], rounds=20)
    others = [exc for _, exc in failed if not isinstance(exc, ConcurrencyError)]
    assert not others, others
    assert failed, "no race was lost in 20 rounds"
    for _, exc in failed:
        assert "retries are turned off" in str(exc), str(exc)
    with admin(postgres_dsn) as conn:
        stored = stored_ids(conn, schema)
    assert [stored[event_id] for _, event_id in done] == [1] * len(done)
    assert [stored[event_id] for event_id, _ in failed] == [0] * len(failed)
    assert sum(stored.values()) == len(done)


def test_with_retries_off_commands_on_different_actions_never_conflict(
    postgres_dsn: str, pg_schema: Schemas
) -> None:
    """Four Ledgers with ``retry_budget=0``, each updating its own action in lock step with
    the others: no ConcurrencyError (no error at all), and every update is stored once."""
    schema = pg_schema()
    actions = start_register(postgres_dsn, schema, 4)
    done, failed = _racing(postgres_dsn, schema, actions, rounds=25)
    assert not failed, [(event_id, repr(exc)) for event_id, exc in failed]
    with admin(postgres_dsn) as conn:
        assert updates_per_stream(conn, schema) == {f"action:{a}": 25 for a in actions}
        stored = stored_ids(conn, schema)
    assert sorted(stored) == sorted(event_id for _, event_id in done)
    assert set(stored.values()) == {1}
    with Ledger.open(postgres_dsn, schema=schema) as ledger:
        check_consistent(ledger)
