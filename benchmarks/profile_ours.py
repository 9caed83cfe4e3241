"""Where action_ledger's time goes: cProfile of our side of each ``bench_sqlite`` operation.

Builds the same store as ``bench_sqlite`` (same event shape, in a temporary directory), then
profiles one operation at a time and prints the top functions by internal time and by
cumulative time. Use it when a ratio in ``bench_sqlite`` misses its target. No target here.

Run: ``python benchmarks/profile_ours.py [--actions N] [--ops N] [--top K]
[--only import,command,history,replay,verify]``.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import random
from collections.abc import Callable, Sequence

import _common as c

from action_ledger import Ledger

OPERATIONS = ("import", "command", "history", "replay", "verify")


def _report(title: str, profile: cProfile.Profile, top: int) -> None:
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(top)
        body = out.getvalue()
        start = body.find("   ncalls")
        print(f"\n### {title} — top {top} by {key}")
        print(body[body.find("function calls") - 12 : body.find("\n", body.find("function calls"))])
        print(body[start:].rstrip())


def _profiled(title: str, fn: Callable[[], object], top: int) -> None:
    profile = cProfile.Profile()
    profile.enable()
    fn()
    profile.disable()
    _report(title, profile, top)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cProfile of action_ledger's benchmark side.")
    parser.add_argument("--actions", type=int, default=10_000)
    parser.add_argument("--events-per-action", type=int, default=10)
    parser.add_argument("--ops", type=int, default=1_000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--only", default=",".join(OPERATIONS))
    args = parser.parse_args(argv)
    wanted = set(args.only.split(","))
    rng = random.Random(7)
    n, k = args.actions, args.events_per_action

    with c.temp_dir() as tmp:
        path = tmp / "profile.db"
        ledger = Ledger.open(path)
        batch = c.our_batch(0, n, k)  # built untimed, as in bench_sqlite
        if "import" in wanted:
            _profiled(
                f"bulk import, {n * k:,} events",
                functools.partial(c.our_import, ledger, batch),
                args.top,
            )
        else:
            c.our_import(ledger, batch)
        batch.clear()

        picks = [rng.randrange(n) for _ in range(args.ops)]
        if "command" in wanted:

            def commands() -> None:
                for j, i in enumerate(picks):
                    ledger.update_action(
                        c.action_id(i),
                        note=c.note(i, 500 + j),
                        source=c.SOURCE,
                        actor=c.ACTOR,
                        occurred_at=c.occurred(i, 59),
                    )

            _profiled(f"command cycle, {args.ops:,} update_action", commands, args.top)
        if "history" in wanted:
            _profiled(
                f"history, {args.ops:,} reads",
                lambda: [ledger.history(c.action_id(i)) for i in picks],
                args.top,
            )
        ledger.close()
        if "replay" in wanted:
            with Ledger.open(path) as fresh:
                _profiled("full replay, register()", fresh.register, args.top)
        if "verify" in wanted:
            with Ledger.open(path) as fresh:
                _profiled("verify()", fresh.verify, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
