"""Run every benchmark and print all the tables; optionally save the figures as JSON.

* ``bench_sqlite``: action_ledger against the eventsourcing library on SQLite (bulk import,
  command cycle, one action's history, full replay), with ratios and targets.
* ``bench_replay_1m``: verify and replay of a 1,000,000-event log in fresh subprocesses, with
  peak RSS (target for verify: < 100 MB).
* ``bench_projections``: the persisted read models on a generated 1,000,000-event register:
  rebuild speed (against eventsourcing's decoded notification-log read) and peak RSS, and the
  latency of ``get``, ``history``, ``as_of(...).get``, ``agenda`` and ``overdue`` at 10,000 and
  1,000,000 events.
* ``bench_postgres``: action_ledger against eventsourcing's PostgreSQL module (bulk import,
  schema size, command cycle and history beside the commit floor, 1/2/4/8/16 concurrent writer
  processes with p99 latency, contention correctness), only if a server
  answers at ``$ACTION_LEDGER_BENCH_PG_DSN`` (default
  ``postgresql://postgres@127.0.0.1:5432/test``); otherwise skipped, with the reason printed.
* ``bench_testing``: the testing kit's state machine (examples and steps per second on each
  backend, the laws' share of the time) and how many examples it takes to catch each
  deliberately broken ledger.

``--quick`` shrinks the sizes (2,000 actions and 200 operations; 100,000 events; 100,000 and
10,000 events) for a run of about a minute; the full run takes about ten minutes. Run from the
repository root:
``python benchmarks/run_all.py [--quick] [--json PATH] [--keep PATH]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import _common as c
import bench_projections
import bench_replay_1m
import bench_sqlite
import bench_testing


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every action_ledger benchmark.")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    parser.add_argument("--json", metavar="PATH", help="save all the figures as JSON")
    parser.add_argument(
        "--keep", metavar="PATH", help="bench_replay_1m: keep (or reuse) its database here"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    figures: dict[str, Any] = {"quick": args.quick}
    print(f"== bench_sqlite {'(quick)' if args.quick else ''}", flush=True)
    figures["bench_sqlite"] = bench_sqlite.run(
        **bench_sqlite.sizes_for(bench_sqlite.parse_args(["--quick"] if args.quick else []))
    )
    print(f"\n== bench_replay_1m {'(quick)' if args.quick else ''}", flush=True)
    figures["bench_replay_1m"] = bench_replay_1m.run(
        n_events=100_000 if args.quick else 1_000_000, keep=args.keep
    )
    print(f"\n== bench_projections {'(quick)' if args.quick else ''}", flush=True)
    figures["bench_projections"] = bench_projections.run(
        **bench_projections.sizes_for(
            bench_projections.parse_args(["--quick"] if args.quick else [])
        )
    )
    try:
        import bench_postgres  # needs psycopg (the "postgres" extra)
    except ImportError as exc:
        bench_postgres, pg_dsn, why_not = None, "", f"cannot import it: {exc}"
    else:
        pg_dsn = bench_postgres.default_dsn()
        why_not = bench_postgres.reachable(pg_dsn)
    if bench_postgres is not None and why_not is None:
        print(f"\n== bench_postgres {'(quick)' if args.quick else ''}", flush=True)
        figures["bench_postgres"] = bench_postgres.run(
            **bench_postgres.sizes_for(bench_postgres.parse_args(["--quick"] if args.quick else []))
        )
    else:
        print(
            f"\n== bench_postgres skipped: no PostgreSQL server usable at "
            f"{pg_dsn.split('@')[-1] or '(no DSN)'} ({why_not})",
            flush=True,
        )
        figures["bench_postgres"] = {"skipped": why_not}

    print(f"\n== bench_testing {'(quick)' if args.quick else ''}", flush=True)
    figures["bench_testing"] = bench_testing.run(quick=args.quick)

    rows = [
        *(c.Row(**r) for r in figures["bench_sqlite"]["rows"]),
        *(c.Row(**r) for r in figures["bench_replay_1m"]["rows"] if r["met"] is not None),
        *(c.Row(**r) for r in figures["bench_projections"]["rows"] if r["met"] is not None),
        *(
            c.Row(**{**r, "operation": f"postgres: {r['operation']}"})
            for r in figures["bench_postgres"].get("rows", [])
            if r["met"] is not None and not r["operation"].startswith(" ")
        ),
    ]
    judged = [r for r in rows if r.met is not None and not r.operation.startswith(" ")]
    met = sum(1 for r in judged if r.met)
    c.print_table(
        "summary — targets",
        judged,
        [f"{met} of {len(judged)} targets met; {time.perf_counter() - started:.0f} s in all"],
    )
    if args.json:
        c.write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
