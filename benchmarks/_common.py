"""Shared helpers for the benchmarks: one event shape on both sides, timing and tables.

The event shape (the same for ``action_ledger`` and the ``eventsourcing`` library):

* one *raised* event per action: text (~80 characters), owners (one ``CC`` owner),
  meeting, agenda item, due (no date, no words), actor;
* ``events_per_action - 1`` *updated* events: a ~100-character note, source
  ``"written update"``, actor.

``action_ledger`` events are built with :mod:`action_ledger.events` and encoded with
:func:`action_ledger._codec.encode`; on the ``eventsourcing`` side the same fields live on an
``Aggregate`` subclass (:class:`ESAction`) with ``@event`` methods, persisted by an
``Application`` on its SQLite module (a file database, never ``:memory:``).

Scripts are run as files (``python benchmarks/bench_sqlite.py``), so this module is imported
as ``_common``; the ``eventsourcing`` event topics name it that way.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pendulum
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from action_ledger import Ledger
from action_ledger._codec import ACTION_PREFIX, encode
from action_ledger._due import Due
from action_ledger._values import Owner
from action_ledger.events import ActionRaised, ActionUpdated

ACTOR = "bench"
SOURCE = "written update"
MEETING = "2021-10-04"
ITEM = "2.9"
BASE_TIME = pendulum.datetime(2021, 10, 4, 12, 30, tz="UTC")
NO_DUE = Due(on=None, text=None)
OWNERS = (Owner(role="CC"),)
CHUNK_STREAMS = 500  # streams (aggregates) per durable transaction in a bulk import
_ID_NAMESPACE = uuid.UUID("6f1c3a52-3b9e-4c1e-9f57-0d0a4e7d2b11")
_FILLER = (
    "Written update received in advance of the meeting; the force reports progress and "
    "a further briefing is due. "
)


# -- the shared event content ----------------------------------------------------------------


def action_id(index: int) -> str:
    """The id of the ``index``-th benchmark action (``BEN-000042``)."""
    return f"BEN-{index:06d}"


def action_text(index: int) -> str:
    """The action's text (~80 characters)."""
    return f"Chief Constable to report on the homicide review timeline, action number {index:06d}."


def note(index: int, update: int) -> str:
    """The note of one update: exactly 100 characters, different for each update."""
    head = f"[{index:06d}/{update:03d}] "
    return (head + _FILLER)[:100]


def owners_json() -> list[dict[str, Any]]:
    """The owners as plain data (the eventsourcing side stores them like this)."""
    return [{"role": o.role, "person": o.person} for o in OWNERS]


def due_json() -> dict[str, Any]:
    """The due value as plain data."""
    return {"on": None, "text": None}


def occurred(index: int, update: int) -> pendulum.DateTime:
    """When an event of the benchmark happened (UTC)."""
    return BASE_TIME.add(minutes=index, seconds=update)


# -- action_ledger side -------------------------------------------------------------------------


def our_action_events(index: int, events_per_action: int) -> list[ActionRaised | ActionUpdated]:
    """One action's domain events: 1 raised + ``events_per_action - 1`` updates."""
    aid = action_id(index)
    raised = ActionRaised(
        event_id=str(uuid.uuid4()),
        actor=ACTOR,
        occurred_at=occurred(index, 0),
        action_id=aid,
        text=action_text(index),
        owners=OWNERS,
        meeting=MEETING,
        item=ITEM,
        source="meeting",
        due=NO_DUE,
    )
    updates = [
        ActionUpdated(
            event_id=str(uuid.uuid4()),
            actor=ACTOR,
            occurred_at=occurred(index, u),
            action_id=aid,
            note=note(index, u),
            source=SOURCE,
        )
        for u in range(1, events_per_action)
    ]
    return [raised, *updates]


OurBatch = list[tuple[str, list[ActionRaised | ActionUpdated]]]


def our_batch(start: int, stop: int, events_per_action: int) -> OurBatch:
    """Domain events of actions ``start..stop-1``, as ``(stream_id, events)`` pairs."""
    return [
        (ACTION_PREFIX + action_id(i), our_action_events(i, events_per_action))
        for i in range(start, stop)
    ]


def our_import(ledger: Ledger, batch: OurBatch, *, chunk: int = CHUNK_STREAMS) -> float:
    """Encode and append new streams, ``chunk`` streams per transaction; return seconds taken.

    Timed: encoding (canonical JSON) and ``store.append_many`` (hash chain, insert, commit).
    """
    store = ledger.store
    append_many = store.append_many  # type: ignore[attr-defined]
    started = time.perf_counter()
    for lo in range(0, len(batch), chunk):
        append_many([(sid, [encode(e) for e in evs], 0) for sid, evs in batch[lo : lo + chunk]])
    return time.perf_counter() - started


def our_bulk_generate(
    ledger: Ledger,
    n_actions: int,
    events_per_action: int,
    *,
    chunk: int = CHUNK_STREAMS,
    progress: bool = False,
) -> float:
    """Generate and import ``n_actions`` actions chunk by chunk (constant memory).

    Returns the seconds spent encoding and appending (building the domain events untimed).
    """
    spent = 0.0
    for lo in range(0, n_actions, chunk):
        hi = min(lo + chunk, n_actions)
        spent += our_import(ledger, our_batch(lo, hi, events_per_action), chunk=chunk)
        if progress and (hi // chunk) % 20 == 0:
            print(f"  … {hi * events_per_action:,} events", file=sys.stderr, flush=True)
    return spent


def our_settings(ledger: Ledger) -> dict[str, str]:
    """The SQLite journal mode and synchronous level of our store's connection."""
    conn = ledger.store.db.conn  # type: ignore[attr-defined]
    return _pragmas(conn.execute)


# -- eventsourcing side -------------------------------------------------------------------------


class ESAction(Aggregate):
    """The same action on the eventsourcing side: raised (``__init__``) and updated."""

    @staticmethod
    def create_id(action_id: str, **_: Any) -> uuid.UUID:
        return es_id(action_id)

    @event("Raised")
    def __init__(
        self,
        action_id: str,
        text: str,
        owners: list[dict[str, Any]],
        meeting: str | None,
        item: str | None,
        source: str | None,
        due: dict[str, Any],
        actor: str,
    ) -> None:
        self.action_id = action_id
        self.text = text
        self.owners = owners
        self.meeting = meeting
        self.item = item
        self.source = source
        self.due = due
        self.status = "open"
        self.last_update: str | None = None
        self.last_source: str | None = None

    def update(self, note: str, source: str, actor: str) -> None:
        """The command: decide (the action must be open), then trigger the event."""
        if self.status != "open":
            raise ValueError(f"action {self.action_id} is closed")
        if not note.strip():
            raise ValueError("note must not be empty")
        self._updated(note=note, source=source, actor=actor)

    @event("Updated")
    def _updated(self, note: str, source: str, actor: str) -> None:
        self.last_update = note
        self.last_source = source


class ESApp(Application):
    """A plain eventsourcing application (no snapshots, no aggregate cache)."""

    name = "ActionsBench"


def es_id(aid: str) -> uuid.UUID:
    """The eventsourcing aggregate id of an action id (UUID v5, so both sides can look up)."""
    return uuid.uuid5(_ID_NAMESPACE, aid)


def es_open(path: str | Path) -> ESApp:
    """An eventsourcing application on a SQLite FILE database at ``path``."""
    text = str(path)
    if ":memory:" in text or "mode=memory" in text:
        raise ValueError("the eventsourcing side must use a file database")
    return ESApp(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": text})


def es_aggregate(index: int, events_per_action: int) -> ESAction:
    """One action as an unsaved aggregate with its pending events."""
    agg = ESAction(
        action_id=action_id(index),
        text=action_text(index),
        owners=owners_json(),
        meeting=MEETING,
        item=ITEM,
        source="meeting",
        due=due_json(),
        actor=ACTOR,
    )
    for u in range(1, events_per_action):
        agg.update(note=note(index, u), source=SOURCE, actor=ACTOR)
    return agg


def es_batch(start: int, stop: int, events_per_action: int) -> list[ESAction]:
    """Unsaved aggregates of actions ``start..stop-1``."""
    return [es_aggregate(i, events_per_action) for i in range(start, stop)]


def es_import(app: ESApp, aggregates: Sequence[ESAction], *, chunk: int = CHUNK_STREAMS) -> float:
    """Save aggregates, ``chunk`` per ``app.save`` (one transaction); return seconds taken."""
    started = time.perf_counter()
    for lo in range(0, len(aggregates), chunk):
        app.save(*aggregates[lo : lo + chunk])
    return time.perf_counter() - started


def es_settings(app: ESApp) -> dict[str, str]:
    """The SQLite journal mode and synchronous level of eventsourcing's connections.

    eventsourcing 9.5 sets only ``journal_mode=WAL``; ``synchronous`` is SQLite's default.
    """
    with app.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]

        def execute(sql: str) -> Any:
            cursor.execute(sql)
            return cursor

        return _pragmas(execute)


def durable_commit_floor_ms(directory: Path, n: int = 1_000) -> float:
    """p50 of one bare durable commit (``BEGIN IMMEDIATE``; insert 1 row; ``COMMIT``) with raw
    ``sqlite3`` in WAL, ``synchronous=FULL``: the fsync floor of any command on this disk."""
    conn = sqlite3.connect(directory / "floor.db", isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)")
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (s) VALUES (?)", ("x" * 400,))
            conn.execute("COMMIT")
            times.append(time.perf_counter() - t0)
    finally:
        conn.close()
    return percentile(times, 50) * 1e3


# -- measuring and reporting ----------------------------------------------------------------------

_SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def _pragmas(execute: Any) -> dict[str, str]:
    (mode,) = tuple(execute("PRAGMA journal_mode").fetchone())
    (sync,) = tuple(execute("PRAGMA synchronous").fetchone())
    return {"journal_mode": str(mode).upper(), "synchronous": _SYNC_NAMES.get(sync, str(sync))}


@contextlib.contextmanager
def temp_dir() -> Iterator[Path]:
    """A temporary directory for database files, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="action_ledger_bench_") as name:
        yield Path(name)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (``ru_maxrss`` is KB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes there
        return peak / 1e6
    return peak * 1024 / 1e6


def vm_hwm_mb() -> float | None:
    """This process's peak RSS from ``/proc/self/status`` (``VmHWM``), in MB; Linux only.

    Unlike ``ru_maxrss`` it belongs to the current address space only, so it never includes a
    parent's peak (Linux carries ``ru_maxrss`` over ``fork`` + ``exec``).
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    return None


def file_mb(path: str | Path) -> float:
    """Size of a SQLite database with its WAL, in MB."""
    total = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):
            total += os.path.getsize(f"{path}{suffix}")
    return total / 1e6


@dataclass
class Row:
    """One line of a results table.

    ``ratio`` is how many times better ours is (higher is better), ``target`` the minimum
    ratio (or, for a limit, the maximum of ``ours``), ``met`` whether it holds.
    """

    operation: str
    ours: str
    theirs: str
    ratio: float | None
    target: str
    met: bool | None
    ours_value: float | None = None
    theirs_value: float | None = None
    unit: str = ""


def speed_row(operation: str, ours: float, theirs: float, unit: str, target: float) -> Row:
    """A row comparing two rates (higher is better): ratio = ours / theirs."""
    ratio = ours / theirs if theirs else float("inf")
    return Row(
        operation=operation,
        ours=f"{ours:,.0f} {unit}",
        theirs=f"{theirs:,.0f} {unit}",
        ratio=ratio,
        target=f"≥ {target:g}×",
        met=ratio >= target,
        ours_value=ours,
        theirs_value=theirs,
        unit=unit,
    )


def latency_row(operation: str, ours_s: float, theirs_s: float, target: float) -> Row:
    """A row comparing two latencies (lower is better): ratio = theirs / ours."""
    ratio = theirs_s / ours_s if ours_s else float("inf")
    return Row(
        operation=operation,
        ours=f"{ours_s * 1e3:,.3f} ms",
        theirs=f"{theirs_s * 1e3:,.3f} ms",
        ratio=ratio,
        target=f"≥ {target:g}×",
        met=ratio >= target,
        ours_value=ours_s * 1e3,
        theirs_value=theirs_s * 1e3,
        unit="ms",
    )


def info_row(operation: str, ours: str, theirs: str = "—", target: str = "—") -> Row:
    """A row that only reports a figure."""
    return Row(operation=operation, ours=ours, theirs=theirs, ratio=None, target=target, met=None)


def print_table(title: str, rows: Sequence[Row], notes: Sequence[str] = ()) -> None:
    """Print rows as an aligned table: operation | ours | theirs | ratio | target | met?"""
    header = ("operation", "action_ledger", "eventsourcing", "ratio", "target", "met?")
    cells = [header] + [
        (
            r.operation,
            r.ours,
            r.theirs,
            "—" if r.ratio is None else f"{r.ratio:.2f}×",
            r.target,
            "—" if r.met is None else ("yes" if r.met else "NO"),
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    rule = "-+-".join("-" * w for w in widths)
    print(f"\n{title}")
    print("=" * len(rule))
    for n, line in enumerate(cells):
        print(
            " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            print(rule)
    for line in notes:
        print(f"  {line}")
    sys.stdout.flush()


def rows_json(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Rows as plain data for ``--json``."""
    return [asdict(r) for r in rows]


def environment() -> dict[str, Any]:
    """The machine and versions, printed and saved with the figures."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "action_ledger": version("action-ledger"),
        "eventsourcing": version("eventsourcing"),
        "pendulum": version("pendulum"),
        "when": pendulum.now("UTC").to_iso8601_string(),
    }


def print_environment(env: dict[str, Any]) -> None:
    print(
        f"python {env['python']} | SQLite {env['sqlite']} | action_ledger {env['action_ledger']}"
        f" | eventsourcing {env['eventsourcing']} | {env['cpus']} CPUs | {env['platform']}"
    )


def write_json(path: str | Path, data: dict[str, Any]) -> None:
    """Save figures as JSON."""
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"\nfigures saved to {path}")


# -- shared measuring helpers ---------------------------------------------------------------

ROUNDS = 5
_LAUNCHER = "import subprocess, sys; sys.exit(subprocess.call([sys.executable, *sys.argv[1:]]))"


def alternate(
    ids: Sequence[int], ours: Callable[[int], None], theirs: Callable[[int], None]
) -> tuple[list[float], list[float]]:
    """Run ``ours`` and ``theirs`` over ``ids`` in alternating rounds; per-call seconds."""
    ours_t: list[float] = []
    theirs_t: list[float] = []
    step = max(1, len(ids) // ROUNDS)
    for lo in range(0, len(ids), step):
        part = ids[lo : lo + step]
        for fn, times in ((ours, ours_t), (theirs, theirs_t)):
            for i in part:
                t0 = time.perf_counter()
                fn(i)
                times.append(time.perf_counter() - t0)
    return ours_t, theirs_t


def paired_rows(
    operation: str, ours_t: Sequence[float], theirs_t: Sequence[float], target: float
) -> list[Row]:
    """Two rows for timed calls of both sides: the rate (ops/s) and the p50 latency."""
    return [
        speed_row(
            operation, len(ours_t) / sum(ours_t), len(theirs_t) / sum(theirs_t), "ops/s", target
        ),
        latency_row(
            f"  {operation.split(' (')[0]} p50 latency",
            percentile(ours_t, 50),
            percentile(theirs_t, 50),
            target,
        ),
    ]


def measure_in_child(
    script: str, mode: str, path: Path, *, timeout: float | None = 3600
) -> dict[str, Any]:
    """Run ``script --child MODE PATH`` in a fresh process and return the JSON it prints last.

    Linux carries ru_maxrss over fork + exec, so a child of a large process would report the
    parent's peak as its own: a tiny launcher in between keeps each figure its own.
    """
    proc = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, script, "--child", mode, str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the {mode} subprocess failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
