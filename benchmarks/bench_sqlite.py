"""action_ledger on SQLite against the eventsourcing library (9.5, its SQLite module).

Same machine, same run, same event shape (see ``_common``): 10,000 actions × 10 events each
(1 raised + 9 updates with a 100-character note, source "written update"); ``--quick`` uses
2,000 actions and 200 operations. Both sides use a SQLite FILE in a temporary directory, in
WAL mode; the synchronous level of each is read from its connection and printed.

Measured, with the target ratio (ours relative to theirs):

* **bulk import of events (with hashes)**: every action imported in transactions of 500
  streams. Ours: encode + ``store.append_many`` (which also computes the SHA-256 chain);
  theirs: ``app.save(*aggregates)`` of 500 aggregates built beforehand in memory. Events/s;
  target ≥ 2.5×.
* **command cycle**: N commands on random actions, each = load the action, decide, append one
  event in one durable transaction. Ours: ``ledger.update_action(...)``; theirs:
  ``app.repository.get(id)`` → ``agg.update(...)`` → ``app.save(agg)``. Ops/s; target ≥ 2×.
* **one action's history**: N random actions. Ours: ``ledger.history(id)``; theirs:
  ``app.repository.get(id)``. p50 latency and ops/s; target ≥ 3×.
* **full replay of the log into the register**: ours: ``ledger.rebuild()`` (decodes and folds
  every event and writes every persisted read model: actions, owners, audit trail, meetings,
  links) then ``register()`` read from the tables; theirs: a fresh application reading the
  whole notification log in pages of 1,000 (``app.recorder.select_notifications``), decoding
  each with ``app.mapper.to_domain_event`` and folding into a dict of aggregates with
  ``event.mutate``. Events/s; target ≥ 1.5×.
* **commands in batches**: 100 updates of distinct actions in one transaction. Ours:
  ``ledger.execute_many(commands)`` (all or nothing, the read models in the same
  transaction); theirs: ``app.repository.get`` and ``update`` of each, then one
  ``app.save(*aggregates)``. Commands/s; reported (no target).

The two sides alternate in rounds for the command cycle and history, so drift in the machine
(disk cache, fsync latency) falls on both. Run: ``python benchmarks/bench_sqlite.py [--quick]
[--actions N] [--ops N] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common as c

from action_ledger import Ledger
from action_ledger.commands import UpdateAction

TARGETS = {"import": 2.5, "command": 2.0, "history": 3.0, "replay": 1.5}


def run(
    *, n_actions: int = 10_000, events_per_action: int = 10, n_ops: int = 1_000, seed: int = 7
) -> dict[str, Any]:
    """Run every measurement; print the table and return the figures."""
    env = c.environment()
    c.print_environment(env)
    n_events = n_actions * events_per_action
    print(
        f"bench_sqlite: {n_actions:,} actions × {events_per_action} events = {n_events:,} events; "
        f"{n_ops:,} commands and {n_ops:,} history reads on each side"
    )
    rng = random.Random(seed)
    rows: list[c.Row] = []
    with c.temp_dir() as tmp:
        ours_path, theirs_path = tmp / "action_ledger.db", tmp / "eventsourcing.db"
        ledger = Ledger.open(ours_path)
        app = c.es_open(theirs_path)
        settings = {"action_ledger": c.our_settings(ledger), "eventsourcing": c.es_settings(app)}
        floor_ms = c.durable_commit_floor_ms(tmp)

        # -- bulk import -----------------------------------------------------------------------
        print("building events in memory …", flush=True)
        ours_batch = c.our_batch(0, n_actions, events_per_action)
        theirs_batch = c.es_batch(0, n_actions, events_per_action)
        print("bulk import …", flush=True)
        ours_s = c.our_import(ledger, ours_batch)
        theirs_s = c.es_import(app, theirs_batch)
        del ours_batch, theirs_batch
        rows.append(
            c.speed_row(
                "bulk import of events (with hashes)",
                n_events / ours_s,
                n_events / theirs_s,
                "events/s",
                TARGETS["import"],
            )
        )
        sizes = {
            "action_ledger_mb": c.file_mb(ours_path),
            "eventsourcing_mb": c.file_mb(theirs_path),
        }

        # -- command cycle ---------------------------------------------------------------------
        print("command cycle …", flush=True)
        counter = [0]

        def our_command(i: int) -> None:
            counter[0] += 1
            ledger.update_action(
                c.action_id(i),
                note=c.note(i, 500 + counter[0]),
                source=c.SOURCE,
                actor=c.ACTOR,
                occurred_at=c.occurred(i, 59),
            )

        def their_command(i: int) -> None:
            counter[0] += 1
            agg = app.repository.get(c.es_id(c.action_id(i)))
            agg.update(note=c.note(i, 500 + counter[0]), source=c.SOURCE, actor=c.ACTOR)
            app.save(agg)

        warm = [rng.randrange(n_actions) for _ in range(10)]
        c.alternate(warm, our_command, their_command)
        picks = [rng.randrange(n_actions) for _ in range(n_ops)]
        ours_t, theirs_t = c.alternate(picks, our_command, their_command)
        rows.extend(
            c.paired_rows(
                "command cycle (load, decide, append 1 event)", ours_t, theirs_t, TARGETS["command"]
            )
        )
        check = ledger.get(c.action_id(picks[0]))
        assert check.version > events_per_action, check
        assert check.last_update is not None

        # -- one action's history --------------------------------------------------------------
        print("history …", flush=True)

        def our_history(i: int) -> None:
            ledger.history(c.action_id(i))

        def their_history(i: int) -> None:
            app.repository.get(c.es_id(c.action_id(i)))

        c.alternate(warm, our_history, their_history)
        picks = [rng.randrange(n_actions) for _ in range(n_ops)]
        ours_t, theirs_t = c.alternate(picks, our_history, their_history)
        rows.extend(c.paired_rows("one action's history", ours_t, theirs_t, TARGETS["history"]))

        # -- many commands at once -------------------------------------------------------------
        print("commands in batches …", flush=True)
        per_batch = min(100, n_actions)

        def our_batch(start: int) -> None:
            ledger.execute_many(
                [
                    UpdateAction(
                        event_id=str(uuid.uuid4()),
                        actor=c.ACTOR,
                        occurred_at=c.occurred(i, 59),
                        action_id=c.action_id(i),
                        note=c.note(i, 900),
                        source=c.SOURCE,
                    )
                    for i in range(start, start + per_batch)
                ]
            )

        def their_batch(start: int) -> None:
            aggregates = []
            for i in range(start, start + per_batch):
                agg = app.repository.get(c.es_id(c.action_id(i)))
                agg.update(note=c.note(i, 900), source=c.SOURCE, actor=c.ACTOR)
                aggregates.append(agg)
            app.save(*aggregates)

        starts = [rng.randrange(n_actions - per_batch + 1) for _ in range(max(n_ops // 50, 4))]
        c.alternate(starts[:1], our_batch, their_batch)
        ours_t, theirs_t = c.alternate(starts, our_batch, their_batch)
        ours_rate = per_batch * len(ours_t) / sum(ours_t)
        theirs_rate = per_batch * len(theirs_t) / sum(theirs_t)
        rows.append(
            c.Row(
                operation=f"commands in batches of {per_batch} (one transaction each)",
                ours=f"{ours_rate:,.0f} commands/s",
                theirs=f"{theirs_rate:,.0f} commands/s",
                ratio=ours_rate / theirs_rate,
                target="report",
                met=None,
                ours_value=ours_rate,
                theirs_value=theirs_rate,
                unit="commands/s",
            )
        )
        ledger.close()
        app.close()

        # -- full replay -----------------------------------------------------------------------
        print("full replay …", flush=True)
        ours_events, ours_s, n_register = _our_replay(ours_path)
        theirs_events, theirs_s, n_aggs = _their_replay(theirs_path)
        assert ours_events == theirs_events, (ours_events, theirs_events)
        assert n_register == n_aggs == n_actions, (n_register, n_aggs)
        rows.append(
            c.speed_row(
                "full replay of the log into the register",
                ours_events / ours_s,
                theirs_events / theirs_s,
                "events/s",
                TARGETS["replay"],
            )
        )

    notes = [
        f"durability: action_ledger journal_mode={settings['action_ledger']['journal_mode']} "
        f"synchronous={settings['action_ledger']['synchronous']} (set by action_ledger); "
        f"eventsourcing journal_mode={settings['eventsourcing']['journal_mode']} "
        f"synchronous={settings['eventsourcing']['synchronous']} (eventsourcing sets WAL only; "
        "synchronous is this SQLite build's default)",
        f"database size after import: action_ledger {sizes['action_ledger_mb']:.1f} MB "
        f"(envelope, provenance, hash chain, 3 indexes), eventsourcing "
        f"{sizes['eventsourcing_mb']:.1f} MB",
        f"floor: one bare durable commit (raw sqlite3, WAL, FULL, 1 row) takes p50 "
        f"{floor_ms:.3f} ms on this disk; every command cycle pays it on both sides",
        "ratio = ours/theirs for rates and theirs/ours for latencies (higher is better for us)",
    ]
    c.print_table(
        f"bench_sqlite — {n_actions:,} actions × {events_per_action} events, {n_ops:,} ops",
        rows,
        notes,
    )
    return {
        "environment": env,
        "parameters": {
            "actions": n_actions,
            "events_per_action": events_per_action,
            "ops": n_ops,
            "chunk_streams": c.CHUNK_STREAMS,
        },
        "settings": settings,
        "durable_commit_floor_ms": floor_ms,
        "sizes": sizes,
        "rows": c.rows_json(rows),
    }


def _our_replay(path: Path) -> tuple[int, float, int]:
    """The whole log replayed into the register: a rebuild of every persisted read model
    from zero (actions, owners, audit trail, meetings, links), then the register read from
    the tables: (events, seconds, actions)."""
    with Ledger.open(path) as ledger:
        events = ledger.store.last_position()
        t0 = time.perf_counter()
        ledger.rebuild()
        register = ledger.register()
        seconds = time.perf_counter() - t0
    return events, seconds, len(register)


def _their_replay(path: Path, page: int = 1_000) -> tuple[int, float, int]:
    """A fresh application decodes the whole notification log and folds it into aggregates."""
    app = c.es_open(path)
    try:
        t0 = time.perf_counter()
        aggregates: dict[Any, Any] = {}
        events = 0
        start = 1
        while True:
            notifications = app.recorder.select_notifications(start=start, limit=page)
            for n in notifications:
                domain_event = app.mapper.to_domain_event(n)
                aggregates[n.originator_id] = domain_event.mutate(  # type: ignore[attr-defined]
                    aggregates.get(n.originator_id)
                )
            events += len(notifications)
            if len(notifications) < page:
                break
            start = notifications[-1].id + 1
        seconds = time.perf_counter() - t0
    finally:
        app.close()
    return events, seconds, len(aggregates)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2,000 actions and 200 ops")
    parser.add_argument("--actions", type=int, help="number of actions (default 10,000)")
    parser.add_argument("--events-per-action", type=int, default=10)
    parser.add_argument("--ops", type=int, help="commands and history reads (default 1,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", metavar="PATH", help="save the figures as JSON")
    return parser.parse_args(argv)


def sizes_for(args: argparse.Namespace) -> dict[str, int]:
    """Sizes from the flags (``--quick`` shrinks the defaults)."""
    return {
        "n_actions": args.actions or (2_000 if args.quick else 10_000),
        "n_ops": args.ops or (200 if args.quick else 1_000),
        "events_per_action": args.events_per_action,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    figures = run(**sizes_for(args), seed=args.seed)
    if args.json:
        c.write_json(args.json, {"bench_sqlite": figures})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
