"""Verify and replay a log of 1,000,000 events: time, events/s and peak memory.

Generates 1,000,000 events (20,000 actions × 50 events: 1 raised + 49 updates with a
100-character note; ``--events N`` / ``--per-action K`` change it, ``--quick`` uses 100,000)
into a SQLite file by bulk import (``store.append_many``, 500 streams per transaction), then
measures, each in a **fresh subprocess** so memory figures are not polluted by the generator:

* **verify**: ``Ledger.open(path).verify(read_models=False)`` — reads the whole log in pages
  and recomputes the SHA-256 chain (``bench_verify`` times the check of the read models).
  Target: peak RSS < 100 MB (verification must run in constant memory).
* **full replay**: ``Ledger.open(path).register()`` — decodes every event and folds it into
  the register. The register holds every action's current state, so its memory should grow
  with the number of ACTIONS, not of events (the register's states do not keep per-event
  bookkeeping). Target: peak RSS < 100 MB at 1,000,000 events in 20,000 actions; its growth
  over the baseline per action and per event is printed, so one can see which it follows.
* **baseline**: a subprocess that only imports the library and opens the file, so the
  interpreter's own share of the peak RSS is visible.

Peak RSS is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` in the subprocess (KB on Linux),
cross-checked against ``VmHWM`` from ``/proc/self/status``. Linux carries ``ru_maxrss`` over
``fork`` + ``exec``, so the subprocesses are started through a tiny launcher process: started
straight from the generator they would report the generator's peak as their own.
The database goes to a temporary directory, unless ``--keep PATH`` is given: then it is kept
there and, if the file already exists, it is reused without regenerating.

Run: ``python benchmarks/bench_replay_1m.py [--quick] [--events N] [--keep PATH] [--json P]``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common as c

from action_ledger import Ledger

RSS_LIMIT_MB = 100.0


def _child(mode: str, path: str) -> None:
    """In the subprocess: open the file, run one measurement, print JSON on stdout."""
    t0 = time.perf_counter()
    with Ledger.open(path) as ledger:
        opened = time.perf_counter() - t0
        events = ledger.store.last_position()
        t0 = time.perf_counter()
        result: dict[str, Any] = {"mode": mode, "events": events, "open_s": opened}
        if mode == "verify":
            report = ledger.verify(read_models=False)
            result.update(ok=report.ok, checked=report.checked, reason=report.reason)
        elif mode == "replay":
            ledger.rebuild()  # every read model from zero: the replay of the whole log
            result["rebuild_peak_rss_mb"] = c.peak_rss_mb()  # before the register is held
            result["actions"] = len(ledger.register())
        result["seconds"] = time.perf_counter() - t0
    result["peak_rss_mb"] = c.peak_rss_mb()
    result["vm_hwm_mb"] = c.vm_hwm_mb()
    print(json.dumps(result))


def generate(path: Path, n_events: int, per_action: int) -> dict[str, Any]:
    """Bulk-import ``n_events`` (rounded down to whole actions) into a new file at ``path``."""
    n_actions = n_events // per_action
    print(
        f"generating {n_actions * per_action:,} events ({n_actions:,} actions × {per_action}) "
        f"into {path} …",
        flush=True,
    )
    t0 = time.perf_counter()
    with Ledger.open(path) as ledger:
        if ledger.store.last_position():
            raise SystemExit(f"{path} is not empty; remove it or use --keep to reuse it")
        import_s = c.our_bulk_generate(ledger, n_actions, per_action, progress=True)
        ledger.read_model.catch_up(ledger.store)  # so that opening it later has nothing to do
    wall = time.perf_counter() - t0
    return {
        "actions": n_actions,
        "events": n_actions * per_action,
        "import_s": import_s,
        "wall_s": wall,
        "events_per_s": n_actions * per_action / import_s,
    }


def run(
    *, n_events: int = 1_000_000, per_action: int = 50, keep: str | None = None
) -> dict[str, Any]:
    """Generate (or reuse) the file, measure in subprocesses, print the table."""
    env = c.environment()
    c.print_environment(env)
    generated: dict[str, Any] | None = None
    with c.temp_dir() as tmp:
        path = Path(keep) if keep else tmp / "replay.db"
        if keep and path.exists():
            print(f"reusing {path} (--keep; not regenerated)", flush=True)
        else:
            generated = generate(path, n_events, per_action)
        size_mb = c.file_mb(path)
        print("measuring in fresh subprocesses …", flush=True)
        baseline = c.measure_in_child(__file__, "baseline", path)
        verify = c.measure_in_child(__file__, "verify", path)
        replay = c.measure_in_child(__file__, "replay", path)

    events = verify["events"]
    rows: list[c.Row] = []
    if generated is not None:
        rows.append(
            c.info_row(
                "bulk import (generation)",
                f"{generated['events_per_s']:,.0f} events/s ({generated['import_s']:.1f} s)",
            )
        )
    rows.append(
        c.info_row(
            "verify: time", f"{verify['seconds']:.1f} s ({events / verify['seconds']:,.0f} ev/s)"
        )
    )
    verify_ok = bool(verify["ok"]) and verify["checked"] == events
    rows.append(c.info_row("verify: result", f"ok={verify['ok']} checked={verify['checked']:,}"))
    rows.append(
        c.Row(
            operation="verify: peak RSS",
            ours=f"{verify['peak_rss_mb']:.1f} MB",
            theirs="—",
            ratio=None,
            target=f"< {RSS_LIMIT_MB:g} MB",
            met=verify["peak_rss_mb"] < RSS_LIMIT_MB and verify_ok,
            ours_value=verify["peak_rss_mb"],
            unit="MB",
        )
    )
    rows.append(
        c.info_row(
            "full replay (rebuild + register()): time",
            f"{replay['seconds']:.1f} s ({events / replay['seconds']:,.0f} ev/s)",
        )
    )
    rows.append(
        c.Row(
            operation="full replay (rebuild of the read models): peak RSS",
            ours=f"{replay['rebuild_peak_rss_mb']:.1f} MB",
            theirs="—",
            ratio=None,
            target=f"< {RSS_LIMIT_MB:g} MB",
            met=replay["rebuild_peak_rss_mb"] < RSS_LIMIT_MB,
            ours_value=replay["rebuild_peak_rss_mb"],
            unit="MB",
        )
    )
    rows.append(
        c.info_row(
            "  then register() in memory: peak RSS",
            f"{replay['peak_rss_mb']:.1f} MB ({replay['actions']:,} actions held)",
        )
    )
    grown = replay["peak_rss_mb"] - baseline["peak_rss_mb"]
    actions = max(1, replay["actions"])
    rows.append(
        c.info_row(
            "  replay growth over baseline",
            f"{grown:.1f} MB = {grown * 1e6 / actions / 1e3:,.1f} KB/action "
            f"= {grown * 1e6 / max(1, events):,.0f} B/event",
        )
    )
    rows.append(
        c.info_row("baseline (import + open): peak RSS", f"{baseline['peak_rss_mb']:.1f} MB")
    )
    hwm = {k: v.get("vm_hwm_mb") for k, v in (("verify", verify), ("replay", replay))}
    notes = [
        f"{events:,} events in a {size_mb:,.0f} MB SQLite file (WAL, synchronous=FULL)",
        "each figure comes from its own fresh subprocess (via a launcher); peak RSS = ru_maxrss"
        + (
            f"; VmHWM cross-check: verify {hwm['verify']:.1f} MB, replay {hwm['replay']:.1f} MB"
            if hwm["verify"] is not None and hwm["replay"] is not None
            else ""
        ),
        "the register should grow with the number of actions; compare KB/action and B/event "
        "across --per-action values to see which it follows",
        "the eventsourcing library has no hash chain to verify; it is not run here",
    ]
    if not verify_ok:
        notes.append(f"VERIFY FAILED: {verify}")
    c.print_table(f"bench_replay_1m — {events:,} events", rows, notes)
    return {
        "environment": env,
        "parameters": {"events": n_events, "per_action": per_action, "kept": keep},
        "generated": generated,
        "file_mb": size_mb,
        "baseline": baseline,
        "verify": verify,
        "replay": replay,
        "rows": c.rows_json(rows),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100,000 events")
    parser.add_argument("--events", type=int, help="number of events (default 1,000,000)")
    parser.add_argument("--per-action", type=int, default=50, help="events per action")
    parser.add_argument("--keep", metavar="PATH", help="keep the database here; reuse if present")
    parser.add_argument("--json", metavar="PATH", help="save the figures as JSON")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def events_for(args: argparse.Namespace) -> int:
    """The number of events from the flags (``--quick`` shrinks the default)."""
    return int(args.events or (100_000 if args.quick else 1_000_000))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    figures = run(n_events=events_for(args), per_action=args.per_action, keep=args.keep)
    if args.json:
        c.write_json(args.json, {"bench_replay_1m": figures})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
