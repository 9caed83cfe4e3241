"""The trusted read path against the strict converter: decoding stored events and read-model rows.

Stored events (whose bytes the hash chain vouches for) and read-model rows (written by the
library from folded states) are decoded with msgspec, types checked but without cattrs'
validating structure pass; the strict cattrs converter stays for backups, CSV and anything from
outside. This prints, side by side in one run, the CPU time per item of both paths on the West
Mercia demo register (every stored event, every ``actions`` row), and checks they agree.

CPU time (``time.process_time``), best of 5 repeats: the machine is shared, and CPU time is
less disturbed by other processes than wall time (it still is by a loaded machine's caches).

Run: ``python benchmarks/bench_codec.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from action_ledger import Ledger
from action_ledger._codec import ACTION_PREFIX, CONVERTER, EVENT_TYPES, MEETING_PREFIX, decode
from action_ledger._decider import Action
from action_ledger._examples.west_mercia import record
from action_ledger._projections import action_from_row
from action_ledger.store import StoredEvent


def strict_event(stored: StoredEvent) -> Any:
    """The strict path: json, then cattrs' validating structure (what decode did before)."""
    data = json.loads(stored.data)
    data.update(event_id=stored.event_id, actor=stored.actor, occurred_at=stored.occurred_at)
    if stored.stream_id.startswith(MEETING_PREFIX):
        data["meeting_id"] = stored.stream_id[len(MEETING_PREFIX) :]
    else:
        data["action_id"] = stored.stream_id[len(ACTION_PREFIX) :]
    return CONVERTER.structure(data, EVENT_TYPES[stored.event_type][0])


def strict_row(data: str) -> Action:
    return CONVERTER.structure(json.loads(data), Action)


def per_item_us(fn: Callable[[Any], object], items: Sequence[Any], repeat: int) -> float:
    number = max(1, 20_000 // len(items))
    best = min(
        timeit.repeat(
            lambda: [fn(i) for i in items], number=number, repeat=repeat, timer=time.process_time
        )
    )
    return best / (number * len(items)) * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as folder,
        Ledger.open(Path(folder) / "demo.db", create=True) as ledger,
    ):
        record(ledger)
        events = list(ledger.store.read_all())
        rows = [data for (data,) in ledger.read_model.select("SELECT data FROM actions", [])]
        schema_current = [s for s in events if EVENT_TYPES[s.event_type][1] == s.schema_version]
        assert all(decode(s) == strict_event(s) for s in schema_current)
        assert all(action_from_row.__wrapped__(r) == strict_row(r) for r in rows)
        event_strict = per_item_us(strict_event, schema_current, args.repeat)
        event_trusted = per_item_us(decode, schema_current, args.repeat)
        row_strict = per_item_us(strict_row, rows, args.repeat)
        row_trusted = per_item_us(action_from_row.__wrapped__, rows, args.repeat)
    print(f"{'item':<34} {'strict (cattrs)':>16} {'trusted (msgspec)':>18} {'ratio':>7}")
    for name, strict, trusted in (
        (f"stored event ({len(schema_current)})", event_strict, event_trusted),
        (f"actions row ({len(rows)}, not memoised)", row_strict, row_trusted),
    ):
        print(f"{name:<34} {strict:>13.2f} µs {trusted:>15.2f} µs {strict / trusted:>6.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
