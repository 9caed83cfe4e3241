"""action_ledger on PostgreSQL against the eventsourcing library (9.5, its PostgreSQL module).

The PostgreSQL counterpart of ``bench_sqlite``, printing every figure of issue 11's target
table in one run: same machine, same run, same server, same event shape (see ``_common``):
10,000 actions × 10 events each (1 raised + 9 updates with a 100-character note); ``--quick``
uses 2,000 actions, 200 operations and 1.5 s per concurrency level. Both sides write to the
same server and database (``--dsn``, default ``$ACTION_LEDGER_BENCH_PG_DSN`` or
``postgresql://postgres@127.0.0.1:5432/test``), each in fresh schemas named ``bench_<hex>…``
that are dropped at the end, whatever happens.

Measured, with the targets (each row: ours, theirs or the reference, ratio, target, met?):

* **bulk import of events (with hashes)**: every action imported in transactions of 500
  streams. Ours: encode + ``ledger.store.append_many`` (SHA-256 chain included); theirs:
  ``app.save(*aggregates)`` of 500 aggregates built beforehand. Events/s (reported).
* **schema size** after the import, ours after ``ledger.refresh()`` (read models included),
  both after ``VACUUM FULL`` (so dead tuples do not count): MB and bytes per event; target
  ours ≤ 2× theirs.
* **command cycle, 1 writer**: N commands on random actions, each = load, decide, append one
  event, durable commit. Ours: ``ledger.update_action(...)``; theirs: ``app.repository.get``
  → ``agg.update(...)`` → ``app.save(agg)``. Ops/s and p50; target ≥ 1.5× (aim 2×). Beside it
  the *floor*: one writer's bare one-row ``INSERT`` + ``COMMIT`` (psycopg) as a rate, and our
  share of it.
* **one action's history**: ``ledger.history(id)`` against ``app.repository.get(id)``. Ops/s
  and p50; target ≥ 2×.
* **concurrent writers**: 1, 2, 4, 8 and 16 writer PROCESSES (multiprocessing, spawn), each
  with its own ``Ledger`` (theirs: its own ``Application``; the floor: its own psycopg
  connection) on one shared schema per side, opened before timing, all started together, each
  running the command cycle on its own actions for a fixed time. Total ops/s, with the floor
  rate at the same number of processes beside it. Targets: our total never falls as writers
  are added (each level ≥ 90 % of the previous one: the machine is shared), 8 writers ≥ 1.5×
  our 1 writer, 8 writers ≥ 1.5× eventsourcing at 8; p99 latency at 8 writers (every command
  of every process pooled) ≤ 4× our p50 at 1 writer.
* **contention correctness** (ours; eventsourcing's run for information, it has no automatic
  retry): 4 processes × 25 updates on one action, and 8 processes × 50 updates on 2 actions.
  Met when every update is stored once (count of ``action.updated`` events per action, and
  every returned event id found), no error reached any caller, and ``ledger.verify().ok``.

The core count and the load average are printed at the start and the end. The two sides
alternate in rounds for the command cycle and history. Run: ``python
benchmarks/bench_postgres.py [--quick] [--dsn URL] [--actions N] [--ops N] [--seconds S]
[--json PATH]``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import itertools
import multiprocessing as mp
import os
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import _common as c
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from action_ledger import Ledger
from action_ledger._codec import ACTION_PREFIX
from action_ledger._postgres import without_password

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
TARGETS = {"command": 1.5, "history": 2.0}
COMMAND_AIM = 2.0  # the command cycle's aim, beyond its target
WRITERS = (1, 2, 4, 8, 16)
SCALE_AT = 8  # the writer level the scaling targets look at
SCALE_VS_ONE = 1.5  # our total at SCALE_AT writers ≥ this × our total at 1 writer
SCALE_VS_THEIRS = 1.5  # our total at SCALE_AT writers ≥ this × eventsourcing's at SCALE_AT
FALL_TOLERANCE = 0.10  # "never falls": each level ≥ (1 - this) × the previous level
P99_LIMIT = 4.0  # p99 at SCALE_AT writers ≤ this × our p50 at 1 writer
SIZE_LIMIT = 2.0  # our schema ≤ this × theirs
# Contention scenarios: (processes, updates per process, actions they share).
CONTENTION = ((4, 25, 1), (8, 50, 2))
BUSY = (
    "figures taken on a BUSY shared 2-core machine (other engineers running tests), with the "
    "server on the same machine: treat ratios within ±0.15× as equal"
)
# Modules being rewritten in parallel: a change on disk during a run is warned about.
WATCHED = ("_readmodel", "_postgres", "_ledger")
SIXTEEN = (
    "on 2 cores, 16 writer processes (plus the server's backends) outnumber the cores: that "
    "level shows whether the total holds (does not fall) once the cores are saturated, not "
    "that it keeps scaling"
)


_STARTED = [time.perf_counter()]


def say(message: str) -> None:
    """A progress line, with the seconds since the run started."""
    print(f"[{time.perf_counter() - _STARTED[0]:6.1f} s] {message}", flush=True)


def load() -> tuple[float, float, float]:
    """The load average (1, 5, 15 minutes); NaNs where the platform has none."""
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def load_text(avg: Sequence[float]) -> str:
    return " / ".join(f"{x:.2f}" for x in avg) + " (1 / 5 / 15 min)"


def default_dsn() -> str:
    return os.environ.get("ACTION_LEDGER_BENCH_PG_DSN", DEFAULT_DSN)


def reachable(dsn: str, timeout: int = 3) -> str | None:
    """``None`` if a PostgreSQL server answers at ``dsn``; else why not (for skip messages)."""
    if importlib.util.find_spec("psycopg_pool") is None:
        return "eventsourcing's PostgreSQL module needs psycopg_pool: pip install psycopg-pool"
    try:
        with psycopg.connect(dsn, connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    return None


# -- schemas and the eventsourcing side -----------------------------------------------------------


@contextlib.contextmanager
def schemas(dsn: str, names: Sequence[str]) -> Iterator[None]:
    """Drop the schemas ``names`` (with everything in them) at the end, whatever happens.

    The eventsourcing schemas are created here (eventsourcing only creates tables); ours are
    created by ``Ledger.open``.
    """
    try:
        yield
    finally:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for name in names:
                    conn.execute(
                        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                    )
        except psycopg.Error as exc:  # warn, and let the run's own error (if any) through
            print(
                f"WARNING: could not drop the schemas {', '.join(names)} "
                f"({type(exc).__name__}: {str(exc).strip().splitlines()[0]}); drop them by hand",
                flush=True,
            )


def create_schema(dsn: str, name: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))


def es_env(dsn: str, schema: str) -> dict[str, str]:
    """eventsourcing's environment for its PostgreSQL module, from a libpq DSN."""
    params = conninfo_to_dict(dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname", "postgres")),
        "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": str(params.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password", "")),
        "POSTGRES_SCHEMA": schema,
    }


def es_open(dsn: str, schema: str, *, worker: bool = False) -> c.ESApp:
    """An eventsourcing application on its PostgreSQL module, in ``schema`` (must exist).

    Worker processes pass ``worker=True``: ``CREATE_TABLE=no`` (the tables exist, and several
    processes running eventsourcing's ``CREATE ... IF NOT EXISTS`` at once fail with "tuple
    concurrently updated"), and ``POSTGRES_POOL_SIZE=1``: a single-threaded process uses one
    connection at a time (the pool may still grow by its overflow), and 16 processes × the
    default 5 would take 80 of the server's 100 connections.
    """
    env = es_env(dsn, schema)
    if worker:
        env["CREATE_TABLE"] = "no"
        env["POSTGRES_POOL_SIZE"] = "1"
    return c.ESApp(env=env)


def _tables(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'm') ORDER BY c.relname",
        (schema,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def schema_bytes(dsn: str, schema: str) -> int:
    """Size of every table in ``schema``, with its indexes and TOAST, in bytes."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
            (schema,),
        ).fetchone()
    return int(row[0] if row else 0)


def vacuum(dsn: str, schema: str, *, full: bool) -> None:
    """``VACUUM (ANALYZE)`` every table of ``schema``; with ``full``, ``VACUUM (FULL, ANALYZE)``,
    which rewrites them without their dead tuples (plain VACUUM only marks the space free)."""
    option = sql.SQL("FULL, ANALYZE" if full else "ANALYZE")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '120s'")  # fail rather than wait forever on a lock
        for table in _tables(conn, schema):
            conn.execute(sql.SQL("VACUUM ({}) {}").format(option, sql.Identifier(schema, table)))


def server_settings(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        out = {}
        for name in (
            "server_version",
            "synchronous_commit",
            "fsync",
            "wal_sync_method",
            "commit_delay",
            "max_connections",
        ):
            row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
            out[name] = str(row[0]) if row else "?"
        return out


FLOOR_INSERT = "INSERT INTO {} (s) VALUES (%s)"


def create_floor_table(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE TABLE {} (id bigserial PRIMARY KEY, s text)").format(
                sql.Identifier(schema, "floor")
            )
        )


def commit_floor(dsn: str, schema: str, n: int = 500) -> dict[str, float]:
    """One writer's bare one-row transaction (``INSERT``; ``COMMIT``) with psycopg, ``n``
    times: the round-trip + WAL-flush floor every command pays on both sides. Returns its p50
    (ms) and its rate (ops/s, ``n`` over the time of all)."""
    with psycopg.connect(dsn, autocommit=False) as conn:
        insert = sql.SQL(FLOOR_INSERT).format(sql.Identifier(schema, "floor"))
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            conn.execute(insert, ("x" * 400,))
            conn.commit()
            times.append(time.perf_counter() - t0)
    return {"p50_ms": c.percentile(times, 50) * 1e3, "ops_per_s": n / sum(times)}


def read_model_kind(ledger: Ledger) -> str:
    """Where this ledger keeps its read models (looked up on the object, not assumed)."""
    rm = ledger.read_model
    dialect = getattr(rm, "_dialect", None)
    if dialect is not None and "postgres" in type(dialect).__name__.lower():
        shares = getattr(rm, "shares", None)
        shared = shares(ledger.store) if callable(shares) else "?"
        return (
            f"PostgreSQL tables in the register's schema ({type(dialect).__name__}; on the "
            f"store's connection: {shared})"
        )
    conn = getattr(dialect, "_conn", None) or getattr(rm, "_conn", None)
    if isinstance(conn, sqlite3.Connection):
        try:
            files = [r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"]
        except sqlite3.Error:
            files = []
        where = files[0] if files and files[0] else "a private in-memory SQLite database"
        return f"SQLite: {where} (caught up from PostgreSQL after each append)"
    return f"{type(rm).__name__} / {type(dialect).__name__} (unrecognised)"


def _mtime(module: str) -> float:
    spec = importlib.util.find_spec(module)
    return os.path.getmtime(spec.origin) if spec and spec.origin else 0.0


def report_row(operation: str, ours: float, theirs: float, unit: str) -> c.Row:
    """A rate comparison with its ratio but no target (reported only)."""
    return dataclasses.replace(
        c.speed_row(operation, ours, theirs, unit, 1.0), target="report", met=None
    )


def floor_row(operation: str, ours: float, floor: float) -> c.Row:
    """Our rate beside the floor's (the reference): ratio = our share of the floor."""
    share = ours / floor if floor else float("nan")
    return c.Row(
        operation=operation,
        ours=f"{ours:,.0f} ops/s = {share:.0%}",
        theirs=f"floor {floor:,.0f} ops/s",
        ratio=share,
        target="share of floor",
        met=None,
        ours_value=ours,
        theirs_value=floor,
        unit="ops/s",
    )


def limit_row(
    operation: str, ours: str, reference: str, ratio: float, limit: float, what: str
) -> c.Row:
    """A row whose ratio is ours over a reference, lower is better: met when ≤ ``limit``."""
    return c.Row(
        operation=operation,
        ours=ours,
        theirs=reference,
        ratio=ratio,
        target=f"≤ {limit:g}× ({what})",
        met=ratio <= limit,
        ours_value=ratio,
        unit="×",
    )


# -- the operations -----------------------------------------------------------------------------


def our_command(ledger: Ledger, i: int, n: int, event_id: str | None = None) -> None:
    ledger.update_action(
        c.action_id(i),
        note=c.note(i, 500 + n % 400),
        source=c.SOURCE,
        actor=c.ACTOR,
        occurred_at=c.occurred(i, 59),
        event_id=event_id,
    )


def their_command(app: c.ESApp, i: int, n: int) -> None:
    agg: c.ESAction = app.repository.get(c.es_id(c.action_id(i)))
    agg.update(note=c.note(i, 500 + n % 400), source=c.SOURCE, actor=c.ACTOR)
    app.save(agg)


# -- worker processes -----------------------------------------------------------------------------


def _error_kinds(got: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The errors of several workers by exception type: count and one message."""
    kinds: dict[str, dict[str, Any]] = {}
    for g in got:
        for name, (count, message) in g["error_kinds"].items():
            kind = kinds.setdefault(name, {"count": 0, "message": message})
            kind["count"] += count
    return kinds


def errors_text(kinds: dict[str, dict[str, Any]]) -> str:
    """``71 × IntegrityError (duplicate key value …)``, one per exception type."""
    return "; ".join(f"{k['count']} × {name} ({k['message']})" for name, k in kinds.items())


def _worker(task: dict[str, Any], ready: Any, start: Any, results: Any) -> None:
    """One worker process (spawned): open its side (untimed), warm up, wait for the start.

    ``task["side"]``: ``"ours"`` (a ``Ledger``), ``"theirs"`` (an ``Application``) or
    ``"floor"`` (a psycopg connection doing bare one-row ``INSERT`` + ``COMMIT``). With
    ``task["seconds"]`` it runs commands on random actions of ``task["actions"]`` for that
    long; otherwise it updates ``task["plan"]`` (action indices, in order) once each. Any
    exception of an operation is caught and reported (type and message); the process goes
    on. Sends back a dict: ops (successful), errors (and, per exception type, their count and
    the first line of one message), elapsed, the latency of
    every successful operation (seconds), and (ours, with a plan) the event ids it stored.
    """
    try:
        side, dsn, schema = task["side"], task["dsn"], task["schema"]
        rng = random.Random(task["seed"])
        closer: Callable[[], None]
        if side == "ours":
            ledger = Ledger.open(dsn, schema=schema)
            closer = ledger.close

            def op(i: int, n: int, event_id: str | None) -> None:
                our_command(ledger, i, n, event_id)
        elif side == "theirs":
            app = es_open(dsn, schema, worker=True)
            closer = app.close

            def op(i: int, n: int, event_id: str | None) -> None:
                their_command(app, i, n)
        else:
            conn = psycopg.connect(dsn, autocommit=False)
            closer = conn.close
            insert = sql.SQL(FLOOR_INSERT).format(sql.Identifier(schema, "floor"))

            def op(i: int, n: int, event_id: str | None) -> None:
                conn.execute(insert, ("x" * 400,))
                conn.commit()

        plan: list[int] | None = task.get("plan")
        actions: list[int] = task.get("actions") or list(plan or [])
        if plan is None:  # warm-up (on the writer's own actions only)
            for n in range(3):
                op(rng.choice(actions), n, None)
    except BaseException as exc:  # report, so the parent does not wait forever
        ready.put(("error", f"{type(exc).__name__}: {exc}"))
        return
    ready.put(("ready", os.getpid()))
    start.wait()
    times: list[float] = []
    kinds: dict[str, tuple[int, str]] = {}
    event_ids: list[str] = []
    errors = 0
    try:
        t0 = time.perf_counter()
        n = 0
        while True:
            if plan is None:
                if time.perf_counter() - t0 >= task["seconds"]:
                    break
                i = rng.choice(actions)
            elif n < len(plan):
                i = plan[n]
            else:
                break
            event_id = str(uuid.uuid4()) if plan is not None and side == "ours" else None
            t1 = time.perf_counter()
            try:
                op(i, 1000 * task["seed"] + n, event_id)
            except Exception as exc:
                errors += 1
                name = f"{type(exc).__module__}.{type(exc).__qualname__}"
                count, message = kinds.get(name, (0, str(exc).strip().split("\n")[0][:160]))
                kinds[name] = (count + 1, message)
            else:
                times.append(time.perf_counter() - t1)
                if event_id is not None:
                    event_ids.append(event_id)
            n += 1
        elapsed = time.perf_counter() - t0
        with contextlib.suppress(Exception):
            closer()
        results.put(
            {
                "ok": True,
                "ops": len(times),
                "attempts": n,
                "errors": errors,
                "error_kinds": kinds,
                "elapsed": elapsed,
                "times": times,
                "event_ids": event_ids,
            }
        )
    except BaseException as exc:
        results.put({"ok": False, "fatal": f"{type(exc).__name__}: {exc}"})


def run_workers(tasks: Sequence[dict[str, Any]], *, timeout: float) -> list[dict[str, Any]]:
    """Start one spawned process per task, wait until all are open, start them together and
    return what each sent back."""
    ctx = mp.get_context("spawn")
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_worker, args=(t, ready, start, results)) for t in tasks]
    for p in procs:
        p.start()
    got: list[dict[str, Any]] = []
    try:
        for _ in procs:
            msg = ready.get(timeout=300)
            if msg[0] != "ready":
                raise RuntimeError(f"{tasks[0]['side']} worker failed while opening: {msg[1]}")
        start.set()
        got = [results.get(timeout=timeout) for _ in procs]
    finally:
        start.set()  # never leave a process waiting
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    fatal = [g["fatal"] for g in got if not g["ok"]]
    if fatal:
        raise RuntimeError(f"{tasks[0]['side']} worker failed: {fatal[0]}")
    return got


def concurrent_level(
    side: str, dsn: str, schema: str, writers: int, first: int, per: int, seconds: float
) -> dict[str, Any]:
    """``writers`` processes at once on ``schema``, each on its own ``per`` actions (from
    ``first``); total ops/s over the longest process's time, and the latency percentiles of
    every operation of every process pooled."""
    tasks = [
        {
            "side": side,
            "dsn": dsn,
            "schema": schema,
            "actions": list(range(first + k * per, first + (k + 1) * per)),
            "seconds": seconds,
            "seed": 1000 + k,
        }
        for k in range(writers)
    ]
    got = run_workers(tasks, timeout=seconds + 300)
    times = [t for g in got for t in g["times"]]
    ops = sum(g["ops"] for g in got)
    elapsed = max(g["elapsed"] for g in got)
    return {
        "writers": writers,
        "ops": ops,
        "seconds": elapsed,
        "ops_per_s": ops / elapsed,
        "p50_ms": c.percentile(times, 50) * 1e3,
        "p99_ms": c.percentile(times, 99) * 1e3,
        "errors": sum(g["errors"] for g in got),
        "error_kinds": _error_kinds(got),
    }


# -- contention ---------------------------------------------------------------------------------


def our_updated_counts(dsn: str, schema: str, indices: Sequence[int]) -> dict[int, int]:
    """How many ``action.updated`` events each of these actions has in ``<schema>.events``."""
    streams = [ACTION_PREFIX + c.action_id(i) for i in indices]
    query = sql.SQL(
        "SELECT stream_id, count(*) FROM {} WHERE event_type = 'action.updated' "
        "AND stream_id = ANY(%s) GROUP BY stream_id"
    ).format(sql.Identifier(schema, "events"))
    with psycopg.connect(dsn) as conn:
        found = {str(r[0]): int(r[1]) for r in conn.execute(query, (streams,))}
    return {i: found.get(s, 0) for i, s in zip(indices, streams, strict=True)}


def our_stored_ids(dsn: str, schema: str, event_ids: Sequence[str]) -> int:
    """How many of ``event_ids`` are in ``<schema>.events``."""
    query = sql.SQL("SELECT count(*) FROM {} WHERE event_id = ANY(%s)").format(
        sql.Identifier(schema, "events")
    )
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, (list(event_ids),)).fetchone()
    return int(row[0]) if row else 0


def their_updated_counts(dsn: str, schema: str, indices: Sequence[int]) -> dict[int, int]:
    """How many ``Updated`` events each of these aggregates has in eventsourcing's table."""
    app = es_open(dsn, schema, worker=True)
    try:
        return {
            i: sum(
                1
                for e in app.recorder.select_events(c.es_id(c.action_id(i)))
                if e.topic.endswith(".Updated")
            )
            for i in indices
        }
    finally:
        app.close()


def contention_run(
    side: str, dsn: str, schema: str, processes: int, updates: int, indices: Sequence[int]
) -> dict[str, Any]:
    """``processes`` processes, each updating the actions ``indices`` in turn ``updates``
    times, all started together; then count what was stored (and, ours, verify the chain)."""
    counts = our_updated_counts if side == "ours" else their_updated_counts
    before = counts(dsn, schema, indices)
    tasks: list[dict[str, Any]] = [
        {
            "side": side,
            "dsn": dsn,
            "schema": schema,
            "plan": [indices[(k + u) % len(indices)] for u in range(updates)],
            "seed": 2000 + k,
        }
        for k in range(processes)
    ]
    expected = dict.fromkeys(indices, 0)
    for t in tasks:
        for i in t["plan"]:
            expected[i] += 1
    t0 = time.perf_counter()
    got = run_workers(tasks, timeout=900)
    elapsed = time.perf_counter() - t0
    after = counts(dsn, schema, indices)
    stored = {i: after[i] - before[i] for i in indices}
    out: dict[str, Any] = {
        "processes": processes,
        "updates_per_process": updates,
        "actions": len(indices),
        "expected": sum(expected.values()),
        "stored": sum(stored.values()),
        "stored_per_action": [stored[i] for i in indices],
        "expected_per_action": [expected[i] for i in indices],
        "errors": sum(g["errors"] for g in got),
        "error_kinds": _error_kinds(got),
        "seconds": elapsed,
        "per_action_ok": all(stored[i] == expected[i] for i in indices),
    }
    if side == "ours":
        ids = [e for g in got for e in g["event_ids"]]
        out["returned_ids"] = len(ids)
        out["returned_ids_found"] = our_stored_ids(dsn, schema, ids)
        with Ledger.open(dsn, schema=schema) as ledger:
            report = ledger.verify()
        out["verify_ok"] = bool(report.ok)
        out["verify_checked"] = report.checked
        out["verify_reason"] = report.reason
        out["met"] = bool(
            out["per_action_ok"]
            and out["returned_ids_found"] == out["returned_ids"]
            and out["errors"] == 0
            and out["verify_ok"]
        )
    return out


def contention_row(ours: dict[str, Any], theirs: dict[str, Any] | None) -> c.Row:
    p, u, a = ours["processes"], ours["updates_per_process"], ours["actions"]
    ours_cell = f"{ours['stored']}/{ours['expected']} stored, {ours['errors']} errors, verify " + (
        "ok" if ours["verify_ok"] else "FAILED"
    )
    if not ours["per_action_ok"] and a > 1:
        ours_cell += f" ({'/'.join(map(str, ours['stored_per_action']))} per action)"
    if ours["returned_ids_found"] != ours["returned_ids"]:
        ours_cell += f", {ours['returned_ids'] - ours['returned_ids_found']} ids missing"
    theirs_cell = (
        "—"
        if theirs is None
        else f"{theirs['stored']}/{theirs['expected']} stored, {theirs['errors']} errors"
    )
    return c.Row(
        operation=f"contention: {p} processes × {u} updates on {a} action{'s' * (a > 1)}",
        ours=ours_cell,
        theirs=theirs_cell,
        ratio=None,
        target="all stored once, 0 errors, verifies",
        met=ours["met"],
        ours_value=float(ours["stored"]),
        theirs_value=None if theirs is None else float(theirs["stored"]),
        unit="updates",
    )


# -- the run ----------------------------------------------------------------------------------


def run(
    *,
    dsn: str | None = None,
    n_actions: int = 10_000,
    events_per_action: int = 10,
    n_ops: int = 1_000,
    seconds: float = 5.0,
    per_writer: int = 100,
    seed: int = 7,
) -> dict[str, Any]:
    """Run every measurement; print the table and return the figures."""
    dsn = dsn or default_dsn()
    _STARTED[0] = time.perf_counter()
    mtimes = {m: _mtime(f"action_ledger.{m}") for m in WATCHED}
    env = c.environment()
    c.print_environment(env)
    cores = os.cpu_count()
    load_start = load()
    tag = uuid.uuid4().hex[:10]
    settings = server_settings(dsn)
    print(
        f"bench_postgres: PostgreSQL {settings['server_version']} at {without_password(dsn)}; "
        f"{n_actions:,} actions × {events_per_action} "
        f"events = {n_actions * events_per_action:,} events; {n_ops:,} commands and {n_ops:,} "
        f"history reads on each side; writers {', '.join(map(str, WRITERS))} × {seconds:g} s; "
        "contention " + ", ".join(f"{p} processes × {u} updates on {a}" for p, u, a in CONTENTION)
    )
    print(f"cores: {cores}; load average at the start: {load_text(load_start)}")
    print(f"schemas of this run (dropped at the end): bench_{tag}, bench_{tag}_*")
    print(f"NOTE: {BUSY}", flush=True)
    ours_schema, theirs_schema = f"bench_{tag}", f"bench_{tag}_es"
    ours_conc, theirs_conc = f"bench_{tag}_conc", f"bench_{tag}_es_conc"
    floor_schema = f"bench_{tag}_floor"
    names = [ours_schema, theirs_schema, ours_conc, theirs_conc, floor_schema]
    n_events = n_actions * events_per_action
    rng = random.Random(seed)
    rows: list[c.Row] = []
    extra: dict[str, Any] = {}
    with schemas(dsn, names):
        for name in (theirs_schema, theirs_conc, floor_schema):
            create_schema(dsn, name)
        create_floor_table(dsn, floor_schema)

        # -- bulk import, then the schema sizes --------------------------------------------------
        ledger = Ledger.open(dsn, schema=ours_schema)
        app = es_open(dsn, theirs_schema)
        try:
            say("building events in memory …")
            ours_batch = c.our_batch(0, n_actions, events_per_action)
            theirs_batch = c.es_batch(0, n_actions, events_per_action)
            say("bulk import …")
            ours_s = c.our_import(ledger, ours_batch)
            theirs_s = c.es_import(app, theirs_batch)
            del ours_batch, theirs_batch
            t0 = time.perf_counter()
            ledger.refresh()  # the read models catch up on the import (untimed above)
            extra["read_model_catch_up_s"] = time.perf_counter() - t0
        finally:
            ledger.close()
            app.close()
        import_row = report_row(
            "bulk import of events (with hashes)",
            n_events / ours_s,
            n_events / theirs_s,
            "events/s",
        )
        say("schema sizes (as written, after VACUUM, after VACUUM FULL) …")
        sizes: dict[str, dict[str, int]] = {"ours": {}, "theirs": {}}
        for side, schema in (("ours", ours_schema), ("theirs", theirs_schema)):
            sizes[side]["as_written"] = schema_bytes(dsn, schema)
            vacuum(dsn, schema, full=False)
            sizes[side]["vacuum"] = schema_bytes(dsn, schema)
            vacuum(dsn, schema, full=True)
            sizes[side]["vacuum_full"] = schema_bytes(dsn, schema)
        ours_b, theirs_b = sizes["ours"]["vacuum_full"], sizes["theirs"]["vacuum_full"]
        size_row = limit_row(
            "schema size after import (ours with read models; VACUUM FULL)",
            f"{ours_b / 1e6:,.1f} MB, {ours_b / n_events:,.0f} B/event",
            f"{theirs_b / 1e6:,.1f} MB, {theirs_b / n_events:,.0f} B/event",
            ours_b / theirs_b if theirs_b else float("inf"),
            SIZE_LIMIT,
            "ours ÷ theirs",
        )

        # Reopened after VACUUM FULL (which needs every other session off the tables).
        ledger = Ledger.open(dsn, schema=ours_schema)
        app = es_open(dsn, theirs_schema)
        read_model = read_model_kind(ledger)
        try:
            # -- the floor, then the command cycle ----------------------------------------------
            say("floor: one writer's bare INSERT + COMMIT …")
            floor = commit_floor(dsn, floor_schema)
            say("command cycle …")
            counter = [0]

            def ours_cmd(i: int) -> None:
                counter[0] += 1
                our_command(ledger, i, counter[0])

            def theirs_cmd(i: int) -> None:
                counter[0] += 1
                their_command(app, i, counter[0])

            warm = [rng.randrange(n_actions) for _ in range(10)]
            c.alternate(warm, ours_cmd, theirs_cmd)
            picks = [rng.randrange(n_actions) for _ in range(n_ops)]
            ours_t, theirs_t = c.alternate(picks, ours_cmd, theirs_cmd)
            cmd_rows = c.paired_rows(
                "command cycle, 1 writer (load, decide, append 1 event, commit)",
                ours_t,
                theirs_t,
                TARGETS["command"],
            )
            cmd_rows[0] = dataclasses.replace(
                cmd_rows[0], target=f"≥ {TARGETS['command']:g}× (aim {COMMAND_AIM:g}×)"
            )
            ours_rate, theirs_rate = len(ours_t) / sum(ours_t), len(theirs_t) / sum(theirs_t)
            cmd_rows.append(
                floor_row(
                    "  beside the floor: 1 writer's bare 1-row INSERT + COMMIT",
                    ours_rate,
                    floor["ops_per_s"],
                )
            )
            extra["command"] = {
                "ours_ops_per_s": ours_rate,
                "theirs_ops_per_s": theirs_rate,
                "ours_p50_ms": c.percentile(ours_t, 50) * 1e3,
                "theirs_p50_ms": c.percentile(theirs_t, 50) * 1e3,
                "floor_ops_per_s": floor["ops_per_s"],
                "floor_p50_ms": floor["p50_ms"],
            }
            check = ledger.get(c.action_id(picks[0]))
            assert check.version > events_per_action, check

            # -- one action's history ----------------------------------------------------------
            say("history …")

            def ours_hist(i: int) -> None:
                ledger.history(c.action_id(i))

            def theirs_hist(i: int) -> None:
                app.repository.get(c.es_id(c.action_id(i)))

            c.alternate(warm, ours_hist, theirs_hist)
            picks = [rng.randrange(n_actions) for _ in range(n_ops)]
            ours_t, theirs_t = c.alternate(picks, ours_hist, theirs_hist)
            hist_rows = c.paired_rows("one action's history", ours_t, theirs_t, TARGETS["history"])
        finally:
            ledger.close()
            app.close()

        # -- concurrent writer processes -------------------------------------------------------
        # Every level gets fresh actions (per_writer per process), so streams stay ~10 events;
        # the contention scenarios get fresh actions after them.
        n_conc = sum(WRITERS) * per_writer
        contention_first = n_conc
        n_all = n_conc + sum(a for _, _, a in CONTENTION)
        say(f"concurrent writers: importing {n_all:,} actions on each side …")
        with Ledger.open(dsn, schema=ours_conc) as conc_ledger:
            c.our_import(conc_ledger, c.our_batch(0, n_all, events_per_action))
            conc_ledger.refresh()
        conc_app = es_open(dsn, theirs_conc)
        try:
            c.es_import(conc_app, c.es_batch(0, n_all, events_per_action))
        finally:
            conc_app.close()
        levels: dict[str, list[dict[str, Any]]] = {"ours": [], "theirs": [], "floor": []}
        sides = (("ours", ours_conc), ("theirs", theirs_conc), ("floor", floor_schema))
        first = 0
        for n_level, writers in enumerate(WRITERS):
            say(
                f"  {writers} writer process(es) × {seconds:g} s (load {load()[0]:.2f}) "
                "… ours, theirs, floor"
            )
            # Alternate the order of the sides from level to level, so drift falls on all.
            for side, schema in sides if n_level % 2 == 0 else sides[::-1]:
                levels[side].append(
                    concurrent_level(side, dsn, schema, writers, first, per_writer, seconds)
                )
            first += writers * per_writer
        writer_rows = []
        for ours_r, theirs_r, floor_r in zip(
            levels["ours"], levels["theirs"], levels["floor"], strict=True
        ):
            w = int(ours_r["writers"])
            name = f"{w} writer process{'es' if w > 1 else ''}, total"
            if w == SCALE_AT:
                row = dataclasses.replace(
                    c.speed_row(
                        name, ours_r["ops_per_s"], theirs_r["ops_per_s"], "ops/s", SCALE_VS_THEIRS
                    ),
                    target=f"≥ {SCALE_VS_THEIRS:g}× eventsourcing",
                )
            else:
                row = report_row(name, ours_r["ops_per_s"], theirs_r["ops_per_s"], "ops/s")
            if ours_r["errors"] or theirs_r["errors"]:
                row = dataclasses.replace(
                    row,
                    ours=f"{row.ours} ({ours_r['errors']} errors)",
                    theirs=f"{row.theirs} ({theirs_r['errors']} errors)",
                )
            writer_rows.append(row)
            writer_rows.append(
                floor_row(
                    f"  beside the floor: {w} bare INSERT + COMMIT process{'es' * (w > 1)}",
                    ours_r["ops_per_s"],
                    floor_r["ops_per_s"],
                )
            )
        ours_totals = [r["ops_per_s"] for r in levels["ours"]]
        steps = [b / a for a, b in itertools.pairwise(ours_totals)]
        worst = min(steps) if steps else 1.0
        step_names = [f"{a}→{b}" for a, b in itertools.pairwise(WRITERS)]
        theirs_totals = [r["ops_per_s"] for r in levels["theirs"]]
        theirs_steps = [b / a for a, b in itertools.pairwise(theirs_totals)]
        writer_rows.append(
            c.Row(
                operation=f"our total never falls as writers are added, {WRITERS[0]}→{WRITERS[-1]}",
                ours="steps " + " ".join(f"{s:.2f}" for s in steps),
                theirs="steps " + " ".join(f"{s:.2f}" for s in theirs_steps),
                ratio=worst,
                target=f"each step ≥ {1 - FALL_TOLERANCE:.2f}×",
                met=all(s >= 1 - FALL_TOLERANCE for s in steps),
                ours_value=worst,
                unit="×",
            )
        )
        at = WRITERS.index(SCALE_AT)
        one, scaled = levels["ours"][0], levels["ours"][at]
        writer_rows.append(
            dataclasses.replace(
                c.speed_row(
                    f"our {SCALE_AT} writers against our 1 writer",
                    scaled["ops_per_s"],
                    one["ops_per_s"],
                    "ops/s",
                    SCALE_VS_ONE,
                ),
                theirs=f"1 writer {one['ops_per_s']:,.0f} ops/s",
            )
        )
        p99_ratio = scaled["p99_ms"] / one["p50_ms"] if one["p50_ms"] else float("inf")
        writer_rows.append(
            limit_row(
                f"p99 command latency at {SCALE_AT} writers (every command pooled)",
                f"p99 {scaled['p99_ms']:,.2f} ms",
                f"p50 at 1 writer {one['p50_ms']:,.2f} ms",
                p99_ratio,
                P99_LIMIT,
                "p99 ÷ our p50 at 1",
            )
        )

        # -- contention ------------------------------------------------------------------------
        contention: list[dict[str, Any]] = []
        contention_rows = []
        first = contention_first
        for processes, updates, n_act in CONTENTION:
            indices = list(range(first, first + n_act))
            first += n_act
            say(f"contention: {processes} processes × {updates} updates on {n_act} action(s) …")
            ours_c = contention_run("ours", dsn, ours_conc, processes, updates, indices)
            theirs_c = contention_run("theirs", dsn, theirs_conc, processes, updates, indices)
            contention.append({"ours": ours_c, "theirs": theirs_c})
            contention_rows.append(contention_row(ours_c, theirs_c))

    load_end = load()
    rows = [
        import_row,
        size_row,
        *cmd_rows,
        *hist_rows,
        *writer_rows,
        *contention_rows,
    ]
    changed = [f"{m}.py" for m in WATCHED if _mtime(f"action_ledger.{m}") != mtimes[m]]

    def mb(n: int) -> str:
        return f"{n / 1e6:,.1f} MB"

    notes = [
        BUSY,
        f"cores: {cores}; load average at the start {load_text(load_start)}, at the end "
        f"{load_text(load_end)}; {SIXTEEN}",
        f"server: PostgreSQL {settings['server_version']}, synchronous_commit="
        f"{settings['synchronous_commit']}, fsync={settings['fsync']}, wal_sync_method="
        f"{settings['wal_sync_method']}, commit_delay={settings['commit_delay']}, "
        f"max_connections={settings['max_connections']} (the same server and database for "
        "both sides)",
        f"floor: one writer's bare one-row INSERT + COMMIT with psycopg: "
        f"{floor['ops_per_s']:,.0f} ops/s, p50 {floor['p50_ms']:.3f} ms; every command pays it "
        f"on both sides. Share of it: ours {ours_rate / floor['ops_per_s']:.0%}, "
        f"eventsourcing {theirs_rate / floor['ops_per_s']:.0%}",
        f"read models measured: {read_model}; their catch-up on the bulk import took "
        f"{extra['read_model_catch_up_s']:.1f} s (untimed, after the import)"
        + (
            f"; WARNING: {', '.join(changed)} changed on disk during the run (worker "
            "processes may have loaded the newer code)"
            if changed
            else ""
        ),
        f"schema size after import of {n_events:,} events: as written / after VACUUM / after "
        f"VACUUM FULL: ours {' / '.join(mb(v) for v in sizes['ours'].values())}, "
        f"eventsourcing {' / '.join(mb(v) for v in sizes['theirs'].values())} (plain VACUUM "
        "only marks dead tuples' space free, so the row is judged after VACUUM FULL)",
        "concurrent writers: spawn processes, each opens its own Ledger / Application / "
        f"connection before the start, then runs commands on its own {per_writer} actions "
        f"for {seconds:g} s; total = all operations ÷ the longest process's time. The p99 "
        "row's reference is our p50 at the 1-writer level (same conditions as the 8), not the "
        "in-process command cycle's. p50 / p99 of every command of every process pooled "
        "(ours | eventsourcing | floor): "
        + "; ".join(
            f"{int(o['writers'])}w {o['p50_ms']:.2f}/{o['p99_ms']:.2f} | "
            f"{t['p50_ms']:.2f}/{t['p99_ms']:.2f} | {f['p50_ms']:.2f}/{f['p99_ms']:.2f} ms"
            for o, t, f in zip(levels["ours"], levels["theirs"], levels["floor"], strict=True)
        ),
        f"rule for 'never falls': our total at each level ≥ {1 - FALL_TOLERANCE:.2f} × the "
        f"previous level's ({FALL_TOLERANCE:.0%} tolerance, the machine is shared); steps "
        + ", ".join(f"{n} {s:.2f}×" for n, s in zip(step_names, steps, strict=True)),
        "contention: every process updates the action(s) in turn, all started together; "
        "stored = action.updated events added per action (expected = updates made), every "
        "event id a call returned with must be in the log, and ledger.verify() must pass. "
        "eventsourcing (for information) has no automatic retry: a lost race is an error",
        "ratio = ours/theirs for rates and theirs/ours for latencies (higher is better for us); "
        "rows whose target reads '≤' show ours ÷ the reference (lower is better); "
        "'share of floor' rows show our rate ÷ the floor's",
    ]
    for label, runs in (("ours", levels["ours"]), ("eventsourcing", levels["theirs"])):
        for r in runs:
            if r["errors"]:
                notes.append(f"{label} at {r['writers']} writers: {errors_text(r['error_kinds'])}")
    for entry in contention:
        for label, r in (("ours", entry["ours"]), ("eventsourcing", entry["theirs"])):
            if r["errors"] or not r["per_action_ok"] or (label == "ours" and not r["verify_ok"]):
                notes.append(
                    f"contention {r['processes']}×{r['updates_per_process']} on "
                    f"{r['actions']}, {label}: stored per action "
                    f"{r['stored_per_action']} of {r['expected_per_action']}, {r['errors']} "
                    "errors"
                    + (f": {errors_text(r['error_kinds'])}" if r["error_kinds"] else "")
                    + (
                        f"; verify: {r['verify_reason']}"
                        if label == "ours" and not r["verify_ok"]
                        else ""
                    )
                )
    c.print_table(
        f"bench_postgres — {n_actions:,} actions × {events_per_action} events, {n_ops:,} ops",
        rows,
        notes,
    )
    judged = [r for r in rows if r.met is not None]
    print(f"  {sum(1 for r in judged if r.met)} of {len(judged)} targets met", flush=True)
    return {
        "environment": env,
        "server": settings,
        "busy_machine": True,
        "cores": cores,
        "load_average": {"start": list(load_start), "end": list(load_end)},
        "parameters": {
            "actions": n_actions,
            "events_per_action": events_per_action,
            "ops": n_ops,
            "chunk_streams": c.CHUNK_STREAMS,
            "writers": list(WRITERS),
            "seconds_per_level": seconds,
            "actions_per_writer": per_writer,
            "contention": [list(x) for x in CONTENTION],
        },
        "targets": {
            **TARGETS,
            "command_aim": COMMAND_AIM,
            "never_falls_tolerance": FALL_TOLERANCE,
            f"writers_{SCALE_AT}_vs_1": SCALE_VS_ONE,
            f"writers_{SCALE_AT}_vs_eventsourcing": SCALE_VS_THEIRS,
            f"p99_at_{SCALE_AT}_over_p50_at_1_max": P99_LIMIT,
            "size_ours_over_theirs_max": SIZE_LIMIT,
        },
        "read_model": read_model,
        "source_changed_during_run": changed,
        "read_model_catch_up_s": extra["read_model_catch_up_s"],
        "command": extra["command"],
        "commit_floor": floor,
        "commit_floor_ms": floor["p50_ms"],
        "sizes_bytes": sizes,
        "events_in_sized_schemas": n_events,
        "concurrency": levels,
        "contention": contention,
        "rows": c.rows_json(rows),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2,000 actions, 200 ops, 1.5 s")
    parser.add_argument("--dsn", help=f"PostgreSQL URL (default {DEFAULT_DSN})")
    parser.add_argument("--actions", type=int, help="number of actions (default 10,000)")
    parser.add_argument("--events-per-action", type=int, default=10)
    parser.add_argument("--ops", type=int, help="commands and history reads (default 1,000)")
    parser.add_argument("--seconds", type=float, help="per concurrency level (default 5)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", metavar="PATH", help="save the figures as JSON")
    return parser.parse_args(argv)


def sizes_for(args: argparse.Namespace) -> dict[str, Any]:
    """Sizes from the flags (``--quick`` shrinks the defaults)."""
    return {
        "dsn": args.dsn or default_dsn(),
        "n_actions": args.actions or (2_000 if args.quick else 10_000),
        "n_ops": args.ops or (200 if args.quick else 1_000),
        "seconds": args.seconds or (1.5 if args.quick else 5.0),
        "per_writer": 25 if args.quick else 100,
        "events_per_action": args.events_per_action,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sizes_for(args)
    why = reachable(sizes["dsn"])
    if why is not None:
        print(f"bench_postgres skipped: no PostgreSQL server reachable ({why})")
        return 0
    figures = run(**sizes, seed=args.seed)
    if args.json:
        c.write_json(args.json, {"bench_postgres": figures})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
