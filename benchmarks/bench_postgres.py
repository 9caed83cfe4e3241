"""action_ledger on PostgreSQL against the eventsourcing library (9.5, its PostgreSQL module).

The PostgreSQL counterpart of ``bench_sqlite``: same machine, same run, same event shape (see
``_common``): 10,000 actions × 10 events each (1 raised + 9 updates with a 100-character note);
``--quick`` uses 2,000 actions and 200 operations. Both sides write to the same server and
database (``--dsn``, default ``$ACTION_LEDGER_BENCH_PG_DSN`` or
``postgresql://postgres@127.0.0.1:5432/test``), each in fresh schemas named ``bench_<hex>…``
that are dropped at the end, whatever happens.

Measured, with the target ratio (ours relative to theirs):

* **bulk import of events (with hashes)**: every action imported in transactions of 500
  streams. Ours: encode + ``ledger.store.append_many`` (which also computes the SHA-256
  chain); theirs: ``app.save(*aggregates)`` of 500 aggregates built beforehand. Events/s
  (reported, no target here).
* **command cycle**: N commands on random actions, each = load the action, decide, append one
  event, durable commit. Ours: ``ledger.update_action(...)``; theirs:
  ``app.repository.get(id)`` → ``agg.update(...)`` → ``app.save(agg)``. Ops/s and p50;
  target ≥ 2×.
* **one action's history**: N random actions. Ours: ``ledger.history(id)``; theirs:
  ``app.repository.get(id)``. Ops/s and p50; target ≥ 3×.
* **concurrent writers**: 1, 2, 4 and 8 writer PROCESSES (multiprocessing, spawn), each with
  its own ``Ledger`` (theirs: its own ``Application``) on one shared schema per side, opened
  before timing; all start together and run the command cycle on their own set of actions for
  a fixed time. Total ops/s (reported, no target).

The two sides alternate in rounds for the command cycle and history. Run: ``python
benchmarks/bench_postgres.py [--quick] [--dsn URL] [--actions N] [--ops N] [--seconds S]
[--json PATH]``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
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
from action_ledger._postgres import without_password

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
TARGETS = {"command": 2.0, "history": 3.0}
WRITERS = (1, 2, 4, 8)
BUSY = (
    "figures taken on a BUSY shared 2-core machine (other engineers running tests), with the "
    "server on the same machine: treat ratios within ±0.15× as equal"
)


_STARTED = [time.perf_counter()]


def say(message: str) -> None:
    """A progress line, with the seconds since the run started."""
    print(f"[{time.perf_counter() - _STARTED[0]:6.1f} s] {message}", flush=True)


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
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name in names:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
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


def es_open(dsn: str, schema: str, *, create_table: bool = True) -> c.ESApp:
    """An eventsourcing application on its PostgreSQL module, in ``schema`` (must exist).

    Writer processes pass ``create_table=False``: the tables exist, and several processes
    running eventsourcing's ``CREATE ... IF NOT EXISTS`` at once fail with "tuple concurrently
    updated"."""
    env = es_env(dsn, schema)
    if not create_table:
        env["CREATE_TABLE"] = "no"
    return c.ESApp(env=env)


def schema_mb(dsn: str, schema: str) -> float:
    """Size of every table in ``schema``, with indexes and TOAST, in MB."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'",
            (schema,),
        ).fetchone()
    return float(row[0] if row else 0) / 1e6


def server_settings(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        out = {}
        for name in ("server_version", "synchronous_commit", "fsync", "wal_sync_method"):
            row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
            out[name] = str(row[0]) if row else "?"
        return out


def commit_floor_ms(dsn: str, schema: str, n: int = 500) -> float:
    """p50 of one bare one-row transaction (``INSERT``; ``COMMIT``) with psycopg: the
    round-trip + WAL-flush floor every command pays on both sides."""
    with psycopg.connect(dsn, autocommit=False) as conn:
        table = sql.Identifier(schema, "floor")
        conn.execute(sql.SQL("CREATE TABLE {} (id bigserial PRIMARY KEY, s text)").format(table))
        conn.commit()
        times = []
        insert = sql.SQL("INSERT INTO {} (s) VALUES (%s)").format(table)
        for _ in range(n):
            t0 = time.perf_counter()
            conn.execute(insert, ("x" * 400,))
            conn.commit()
            times.append(time.perf_counter() - t0)
    return c.percentile(times, 50) * 1e3


def read_model_kind(ledger: Ledger) -> str:
    """Where this ledger keeps its read models (looked up on the object, not assumed)."""
    rm = ledger.read_model
    dialect = getattr(rm, "_dialect", None)
    if dialect is not None and "postgres" in type(dialect).__name__.lower():
        shared = rm.shares(ledger.store)
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


# -- the operations -----------------------------------------------------------------------------


def our_command(ledger: Ledger, i: int, n: int) -> None:
    ledger.update_action(
        c.action_id(i),
        note=c.note(i, 500 + n % 400),
        source=c.SOURCE,
        actor=c.ACTOR,
        occurred_at=c.occurred(i, 59),
    )


def their_command(app: c.ESApp, i: int, n: int) -> None:
    agg = app.repository.get(c.es_id(c.action_id(i)))
    agg.update(note=c.note(i, 500 + n % 400), source=c.SOURCE, actor=c.ACTOR)
    app.save(agg)


# -- concurrent writer processes ------------------------------------------------------------------


def _writer(
    side: str,
    dsn: str,
    schema: str,
    first: int,
    count: int,
    seconds: float,
    seed: int,
    ready: Any,
    start: Any,
    results: Any,
) -> None:
    """One writer process: open (untimed), warm up, wait for the start, then run commands on
    actions ``first..first+count-1`` for ``seconds``; report (ops, elapsed, p50)."""
    try:
        rng = random.Random(seed)
        if side == "ours":
            ledger = Ledger.open(dsn, schema=schema)
            closer: Callable[[], None] = ledger.close

            def op(i: int, n: int) -> None:
                our_command(ledger, i, n)
        else:
            app = es_open(dsn, schema, create_table=False)
            closer = app.close

            def op(i: int, n: int) -> None:
                their_command(app, i, n)

        for n in range(3):
            op(first + rng.randrange(count), n)
        ready.put(("ready", os.getpid()))
        start.wait()
        times = []
        t0 = time.perf_counter()
        n = 0
        while time.perf_counter() - t0 < seconds:
            t1 = time.perf_counter()
            op(first + rng.randrange(count), n)
            times.append(time.perf_counter() - t1)
            n += 1
        elapsed = time.perf_counter() - t0
        closer()
        results.put(("ok", n, elapsed, c.percentile(times, 50)))
    except BaseException as exc:  # report, so the parent does not wait forever
        ready.put(("error", repr(exc)))
        results.put(("error", repr(exc)))


def concurrent_run(
    side: str, dsn: str, schema: str, writers: int, first: int, per: int, seconds: float
) -> dict[str, float]:
    """``writers`` processes at once on ``schema``; total ops/s."""
    ctx = mp.get_context("spawn")
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(
            target=_writer,
            args=(
                side,
                dsn,
                schema,
                first + k * per,
                per,
                seconds,
                1000 + k,
                ready,
                start,
                results,
            ),
        )
        for k in range(writers)
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            msg = ready.get(timeout=300)
            if msg[0] != "ready":
                raise RuntimeError(f"{side} writer failed while opening: {msg[1]}")
        start.set()
        got = [results.get(timeout=seconds + 120) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    errors = [g[1] for g in got if g[0] != "ok"]
    if errors:
        raise RuntimeError(f"{side} writer failed: {errors[0]}")
    ops = sum(g[1] for g in got)
    elapsed = max(g[2] for g in got)
    return {
        "writers": writers,
        "ops": ops,
        "seconds": elapsed,
        "ops_per_s": ops / elapsed,
        "p50_ms": c.percentile([g[3] for g in got], 50) * 1e3,
    }


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
    readmodel_mtime = _mtime("action_ledger._readmodel")
    env = c.environment()
    c.print_environment(env)
    settings = server_settings(dsn)
    print(
        f"bench_postgres: PostgreSQL {settings['server_version']} at {without_password(dsn)}; "
        f"{n_actions:,} actions × {events_per_action} "
        f"events = {n_actions * events_per_action:,} events; {n_ops:,} commands and {n_ops:,} "
        f"history reads on each side; writers {', '.join(map(str, WRITERS))} × {seconds:g} s"
    )
    print(f"NOTE: {BUSY}", flush=True)
    tag = uuid.uuid4().hex[:10]
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
        floor_ms = commit_floor_ms(dsn, floor_schema)

        ledger = Ledger.open(dsn, schema=ours_schema)
        app = es_open(dsn, theirs_schema)
        read_model = read_model_kind(ledger)
        try:
            # -- bulk import -------------------------------------------------------------------
            say("building events in memory …")
            ours_batch = c.our_batch(0, n_actions, events_per_action)
            theirs_batch = c.es_batch(0, n_actions, events_per_action)
            say("bulk import …")
            ours_s = c.our_import(ledger, ours_batch)
            theirs_s = c.es_import(app, theirs_batch)
            del ours_batch, theirs_batch
            rows.append(
                report_row(
                    "bulk import of events (with hashes)",
                    n_events / ours_s,
                    n_events / theirs_s,
                    "events/s",
                )
            )
            t0 = time.perf_counter()
            ledger.refresh()  # the read models catch up on the import (untimed above)
            extra["read_model_catch_up_s"] = time.perf_counter() - t0
            sizes = {
                "action_ledger_mb": schema_mb(dsn, ours_schema),
                "eventsourcing_mb": schema_mb(dsn, theirs_schema),
            }

            # -- command cycle -----------------------------------------------------------------
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
            rows.extend(
                c.paired_rows(
                    "command cycle (load, decide, append 1 event, commit)",
                    ours_t,
                    theirs_t,
                    TARGETS["command"],
                )
            )
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
            rows.extend(c.paired_rows("one action's history", ours_t, theirs_t, TARGETS["history"]))
        finally:
            ledger.close()
            app.close()

        # -- concurrent writer processes -------------------------------------------------------
        # Every level gets fresh actions (per_writer per process), so streams stay ~10 events.
        n_conc = sum(WRITERS) * per_writer
        say(f"concurrent writers: importing {n_conc:,} actions on each side …")
        with Ledger.open(dsn, schema=ours_conc) as conc_ledger:
            c.our_import(conc_ledger, c.our_batch(0, n_conc, events_per_action))
        conc_app = es_open(dsn, theirs_conc)
        try:
            c.es_import(conc_app, c.es_batch(0, n_conc, events_per_action))
        finally:
            conc_app.close()
        concurrency: dict[str, list[dict[str, float]]] = {"ours": [], "theirs": []}
        first = 0
        for writers in WRITERS:
            say(f"  {writers} writer process(es) × {seconds:g} s …")
            for side, schema in (("ours", ours_conc), ("theirs", theirs_conc)):
                concurrency[side].append(
                    concurrent_run(side, dsn, schema, writers, first, per_writer, seconds)
                )
            first += writers * per_writer
        for ours_r, theirs_r in zip(concurrency["ours"], concurrency["theirs"], strict=True):
            w = int(ours_r["writers"])
            rows.append(
                report_row(
                    f"{w} concurrent writer process{'es' if w > 1 else ''}, total",
                    ours_r["ops_per_s"],
                    theirs_r["ops_per_s"],
                    "ops/s",
                )
            )

    changed = _mtime("action_ledger._readmodel") != readmodel_mtime
    notes = [
        BUSY,
        f"server: PostgreSQL {settings['server_version']}, synchronous_commit="
        f"{settings['synchronous_commit']}, fsync={settings['fsync']}, wal_sync_method="
        f"{settings['wal_sync_method']} (the same server and database for both sides)",
        f"floor: one bare one-row INSERT + COMMIT with psycopg takes p50 {floor_ms:.3f} ms "
        "here; every command cycle pays it on both sides",
        f"read models measured: {read_model}; their catch-up on the bulk import took "
        f"{extra['read_model_catch_up_s']:.1f} s (untimed, after the import)"
        + (
            "; WARNING: action_ledger/_readmodel.py changed on disk during the run (writer "
            "processes may have loaded the newer code)"
            if changed
            else ""
        ),
        f"schema size after import: action_ledger {sizes['action_ledger_mb']:.1f} MB, "
        f"eventsourcing {sizes['eventsourcing_mb']:.1f} MB",
        "concurrent writers: spawn processes, each opens its own Ledger / Application before "
        f"the start, then runs the command cycle on its own {per_writer} actions for "
        f"{seconds:g} s; p50 per process (ours/theirs): "
        + ", ".join(
            f"{int(o['writers'])}w {o['p50_ms']:.2f}/{t['p50_ms']:.2f} ms"
            for o, t in zip(concurrency["ours"], concurrency["theirs"], strict=True)
        ),
        "ratio = ours/theirs for rates and theirs/ours for latencies (higher is better for us)",
    ]
    c.print_table(
        f"bench_postgres — {n_actions:,} actions × {events_per_action} events, {n_ops:,} ops",
        rows,
        notes,
    )
    return {
        "environment": env,
        "server": settings,
        "busy_machine": True,
        "parameters": {
            "actions": n_actions,
            "events_per_action": events_per_action,
            "ops": n_ops,
            "chunk_streams": c.CHUNK_STREAMS,
            "writers": list(WRITERS),
            "seconds_per_level": seconds,
            "actions_per_writer": per_writer,
        },
        "read_model": read_model,
        "read_model_catch_up_s": extra["read_model_catch_up_s"],
        "commit_floor_ms": floor_ms,
        "sizes": sizes,
        "concurrency": concurrency,
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
