"""Verify with and without the read models, and publish, on a large register: time and peak RSS.

Generates ``N`` events (``N / per_action`` actions, each raised and then updated; the log of
``bench_replay_1m``) into a SQLite file, with its read models caught up, then measures, each
in a **fresh subprocess** started through a launcher (so that peak RSS is the child's own):

* **chain only**: ``Ledger.verify(read_models=False)``: the SHA-256 chain of the whole log.
* **chain + read models**: ``Ledger.verify()``: the chain, and every read-model table rebuilt
  from the verified events in a temporary file and compared with the register's, row by
  row. Target: peak RSS < 150 MB at 1,000,000 events.
* **publish**: ``publish_html`` of the actions raised on the first day (one a minute), which
  first checks the
  chain and the tables a published log reads (``actions``, ``meetings``).

Run: ``python benchmarks/bench_verify.py [--events N] [--per-action K] [--keep PATH]
[--json PATH]`` (``--events 1000000`` for the note's figure; the default is 100,000).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common as c
from bench_replay_1m import generate

from action_ledger import Ledger
from action_ledger.exports import publish_html

RSS_LIMIT_MB = 150.0


def _child(mode: str, path: str) -> None:
    """In the subprocess: open the file, run one measurement, print JSON on stdout."""
    with Ledger.open(path) as ledger:
        result: dict[str, Any] = {"mode": mode, "events": ledger.store.last_position()}
        t0 = time.perf_counter()
        if mode == "publish":
            day = c.BASE_TIME.date().isoformat()  # the first day's actions (1,440 at most)
            page = publish_html(ledger, raised_from=day, raised_to=day)
            result["bytes"] = len(page)
        elif mode != "baseline":
            report = ledger.verify(read_models=mode == "full")
            result.update(
                ok=report.ok,
                checked=report.checked,
                tables=list(report.read_models_checked),
                differences=report.difference_count,
            )
        result["seconds"] = time.perf_counter() - t0
    result["peak_rss_mb"] = c.peak_rss_mb()
    result["vm_hwm_mb"] = c.vm_hwm_mb()
    print(json.dumps(result))


def run(*, n_events: int, per_action: int, keep: str | None) -> dict[str, Any]:
    """Generate (or reuse) the file, measure in subprocesses, print the table."""
    env = c.environment()
    c.print_environment(env)
    with c.temp_dir() as tmp:
        path = Path(keep) if keep else tmp / "verify.db"
        if keep and path.exists():
            print(f"reusing {path} (--keep; not regenerated)", flush=True)
        else:
            generate(path, n_events, per_action)
        size_mb = c.file_mb(path)
        print("measuring in fresh subprocesses …", flush=True)
        figures = {
            mode: c.measure_in_child(__file__, mode, path)
            for mode in ("baseline", "chain", "full", "publish")
        }
    events = figures["chain"]["events"]
    rows: list[c.Row] = []
    for mode, label in (
        ("chain", "verify, chain only"),
        ("full", "verify, chain + read models"),
        ("publish", "publish_html (chain + actions, meetings checked)"),
    ):
        f = figures[mode]
        rows.append(
            c.info_row(
                f"{label}: time", f"{f['seconds']:.1f} s ({events / f['seconds']:,.0f} ev/s)"
            )
        )
        rows.append(
            c.Row(
                operation=f"{label}: peak RSS",
                ours=f"{f['peak_rss_mb']:.1f} MB",
                theirs="—",
                ratio=None,
                target=f"< {RSS_LIMIT_MB:g} MB",
                met=f["peak_rss_mb"] < RSS_LIMIT_MB and f.get("ok", True) is True,
                ours_value=f["peak_rss_mb"],
                unit="MB",
            )
        )
    rows.append(
        c.info_row(
            "baseline (import + open): peak RSS", f"{figures['baseline']['peak_rss_mb']:.1f} MB"
        )
    )
    extra = figures["full"]["seconds"] - figures["chain"]["seconds"]
    notes = [
        f"{events:,} events in a {size_mb:,.0f} MB SQLite file",
        f"the read models add {extra:.1f} s to verify "
        f"({figures['full']['seconds'] / figures['chain']['seconds']:.1f}× the chain alone); "
        f"tables checked: {', '.join(figures['full']['tables'])}",
        f"results: chain ok={figures['chain']['ok']}, full ok={figures['full']['ok']} "
        f"({figures['full']['differences']} differences)",
    ]
    c.print_table(f"bench_verify — {events:,} events", rows, notes)
    return {
        "environment": env,
        "parameters": {"events": n_events, "per_action": per_action, "kept": keep},
        "file_mb": size_mb,
        **figures,
        "rows": c.rows_json(rows),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000, help="number of events")
    parser.add_argument("--per-action", type=int, default=50, help="events per action")
    parser.add_argument("--keep", metavar="PATH", help="keep the database here; reuse if present")
    parser.add_argument("--json", metavar="PATH", help="save the figures as JSON")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    figures = run(n_events=args.events, per_action=args.per_action, keep=args.keep)
    if args.json:
        c.write_json(args.json, {"bench_verify": figures})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
