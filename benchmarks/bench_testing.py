"""What the testing kit costs and how quickly it finds a broken ledger.

* The state machine (``action_ledger.testing.LedgerMachine``) on each backend: examples and
  steps per second with every law checked after every step, and the share of the time the
  laws take. No other event-sourcing library ships such a machine, so there is no reference
  column: the figures say what a test budget buys.
* Mutation detection: each deliberately broken ledger of ``tests/test_testing_machine.py``
  (a store that drops an event, one that reorders two, one that skips corrections; a
  projection that skips corrections; an as-of view that ignores its moment; a ledger that
  swallows refusals, and one that carries out a retry again) is run ``--runs`` times from
  fresh random seeds, without shrinking or an example database; the table gives how many
  examples it took to find the fault (median and worst) against the default budget.

Run from the repository root: ``python benchmarks/bench_testing.py [--quick] [--json PATH]``.
PostgreSQL is measured only if a server answers at ``$ACTION_LEDGER_BENCH_PG_DSN`` (default
``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import _common as c
from hypothesis import Phase, settings

from action_ledger import Ledger
from action_ledger._clock import Clock
from action_ledger.testing import LawViolation, LedgerMachine, run_ledger_machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_testing_machine import MUTATIONS

PG_DSN = os.environ.get("ACTION_LEDGER_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
BUDGET = 50  # the project's default Hypothesis profile (tests/conftest.py)


class Timed(LedgerMachine):
    """Counts examples and steps, and times the laws."""

    examples = 0
    steps = 0
    law_seconds = 0.0

    def on_start(self) -> None:
        type(self).examples += 1

    def check_laws(self) -> None:
        started = time.perf_counter()
        try:
            super().check_laws()
        finally:
            type(self).steps += 1
            type(self).law_seconds += time.perf_counter() - started


def machine_speed(name: str, make: Callable[..., Ledger], examples: int) -> dict[str, Any]:
    Timed.examples = Timed.steps = 0
    Timed.law_seconds = 0.0
    started = time.perf_counter()
    run_ledger_machine(
        make,
        machine=Timed,
        settings=settings(max_examples=examples, database=None, stateful_step_count=20),
    )
    seconds = time.perf_counter() - started
    return {
        "backend": name,
        "examples": Timed.examples,
        "steps": Timed.steps,
        "seconds": seconds,
        "examples_per_s": Timed.examples / seconds,
        "steps_per_s": Timed.steps / seconds,
        "law_share": Timed.law_seconds / seconds,
    }


def examples_to_catch(make: Callable[..., Ledger]) -> int | None:
    """How many examples the machine ran before a law broke (None: not within 10× budget)."""
    seen = {"runs": 0, "first": 0}

    class Counting(LedgerMachine):
        def on_start(self) -> None:
            seen["runs"] += 1

    try:
        run_ledger_machine(
            make,
            machine=Counting,
            settings=settings(
                max_examples=10 * BUDGET,
                database=None,
                stateful_step_count=20,
                phases=[Phase.generate],
            ),
        )
    except LawViolation:
        return seen["runs"] - 1  # Hypothesis runs the failing example once more to report it
    return None


def backends(folder: Path) -> list[tuple[str, Callable[..., Ledger], Callable[[], None]]]:
    """Each backend's ledger factory (the machine closes what it opens) and its clean-up."""

    def memory(*, clock: Clock) -> Ledger:
        return Ledger.open(":memory:", clock=clock)

    def sqlite(*, clock: Clock) -> Ledger:
        return Ledger.open(folder / f"{uuid.uuid4().hex}.db", clock=clock)

    chosen: list[tuple[str, Callable[..., Ledger], Callable[[], None]]] = [
        ("memory", memory, lambda: None),
        ("sqlite", sqlite, lambda: None),
    ]
    try:
        import psycopg

        psycopg.connect(PG_DSN, connect_timeout=3).close()
    except Exception as exc:  # any failure means: no server to measure
        print(f"PostgreSQL skipped: {exc}")
        return chosen
    schemas: list[str] = []

    def postgres(*, clock: Clock) -> Ledger:
        schemas.append(f"bench_{uuid.uuid4().hex[:12]}")
        return Ledger.open(PG_DSN, schema=schemas[-1], clock=clock)

    def drop() -> None:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        schemas.clear()

    chosen.append(("postgres", postgres, drop))
    return chosen


def run(*, quick: bool = False, runs: int = 20) -> dict[str, Any]:
    examples = 10 if quick else BUDGET
    speed = []
    with c.temp_dir() as folder:
        for name, make, cleanup in backends(folder):
            speed.append(machine_speed(name, make, examples))
            cleanup()
    c.print_table(
        f"LedgerMachine, {examples} examples of up to 20 steps, every law after every step",
        [
            c.info_row(
                f"{s['backend']}: examples/s · steps/s · laws' share",
                f"{s['examples_per_s']:.1f} · {s['steps_per_s']:.0f} · {s['law_share']:.0%}",
            )
            for s in speed
        ],
    )
    caught: dict[str, list[int | None]] = {}
    for mutation, (make, _) in sorted(MUTATIONS.items()):
        caught[mutation] = [examples_to_catch(make) for _ in range(3 if quick else runs)]
    rows = []
    for mutation, counts in caught.items():
        found = [n for n in counts if n is not None]
        median = statistics.median(found) if found else float("nan")
        worst = max(found) if found else "—"
        missed = len(counts) - len(found)
        rows.append(
            c.info_row(
                mutation,
                f"median {median:g}, worst {worst} of {len(counts)} runs"
                + (f", MISSED {missed}" if missed else ""),
                target=f"≤ {BUDGET}",
            )
        )
    c.print_table("Examples until the machine catches a broken ledger", rows)
    return {"speed": speed, "examples_to_catch": caught, "budget": BUDGET}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer examples and runs")
    parser.add_argument("--runs", type=int, default=20, help="runs per mutation")
    parser.add_argument("--json", metavar="PATH", help="save the figures as JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    c.print_environment(c.environment())
    figures = run(quick=args.quick, runs=args.runs)
    if args.json:
        c.write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
