"""Child-process programs for the SQLite multi-process and crash tests.

Run as a script (``python tests/store_procs.py MODE ...``); the tests import it only for the
shared constants and id helpers. It imports nothing from the test suite, so children start fast.

Modes:
    open PATH
        open the store (creating the schema), print ``ready``, exit.
    hammer PATH WORKER COUNT GO_FILE
        print ``ready``, wait for GO_FILE, then make COUNT one-event appends to random streams
        of STREAMS, each at the version just read, retrying on ``ConcurrencyError``; print one
        JSON line with what was appended and every conflict seen.
    crash PATH RUN BATCH_SIZE PAUSE
        print ``ready``, then append batches of BATCH_SIZE events forever, printing
        ``begin K`` before and ``done K`` after batch K, until killed.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid

from action_ledger import ConcurrencyError, SQLiteEventStore
from action_ledger.store import NewEvent

STREAMS = ("action:ACT-2021-001", "action:ACT-2021-002", "meeting:2021-10-04")
_NAMESPACE = uuid.UUID("0b9a43e6-4a53-4c1e-9f0e-5a0c0f6f2d21")
OCCURRED = "2021-10-04T12:30:00.000000Z"


def hammer_id(worker: int, n: int) -> str:
    """The event id of worker ``worker``'s ``n``-th append."""
    return str(uuid.uuid5(_NAMESPACE, f"hammer-{worker}-{n}"))


def crash_id(run: int, batch: int, n: int) -> str:
    """The event id of event ``n`` of batch ``batch`` of child ``run``: readable, unique."""
    return f"run{run:03d}-batch{batch:05d}-event{n:04d}"


def crash_batch_of(event_id: str) -> tuple[int, int]:
    """The (run, batch) numbers in an id made by :func:`crash_id`."""
    run, batch, _ = event_id.split("-")
    return int(run.removeprefix("run")), int(batch.removeprefix("batch"))


def _event(event_id: str, data: dict[str, object]) -> NewEvent:
    return NewEvent(
        event_id=event_id,
        event_type="action.updated",
        schema_version=1,
        data=json.dumps(data, sort_keys=True, separators=(",", ":")),
        occurred_at=OCCURRED,
        actor="child-process",
    )


def _hammer(path: str, worker: int, count: int, go_file: str) -> None:
    store = SQLiteEventStore(path)
    rng = random.Random(worker)
    print("ready", flush=True)
    while not os.path.exists(go_file):
        time.sleep(0.001)
    appended: list[list[object]] = []  # [stream, event id, position]
    conflicts: list[list[object]] = []  # [stream, expected, actual, version read before]
    replays_ok = 0
    for n in range(count):
        stream = STREAMS[rng.randrange(len(STREAMS))]
        event = _event(hammer_id(worker, n), {"worker": worker, "n": n})
        while True:
            version = store.stream_version(stream)
            time.sleep(rng.uniform(0, 0.002))  # widen the read-then-write window
            try:
                (position,) = store.append(stream, [event], version)
            except ConcurrencyError as exc:
                conflicts.append([stream, exc.expected, exc.actual, version])
                continue
            break
        appended.append([stream, event.event_id, position])
        # Every tenth append, a client retry after a lost reply: it must be a no-op.
        if n % 10 == 0 and store.append(stream, [event], version) == (position,):
            replays_ok += 1
    store.close()
    print(json.dumps({"appended": appended, "conflicts": conflicts, "replays_ok": replays_ok}))


def _crash(path: str, run: int, batch_size: int, pause: float) -> None:
    store = SQLiteEventStore(path)
    print("ready", flush=True)
    batch = 0
    while True:
        stream = STREAMS[(run + batch) % len(STREAMS)]
        events = [
            _event(crash_id(run, batch, n), {"run": run, "batch": batch, "n": n})
            for n in range(batch_size)
        ]
        print(f"begin {batch}", flush=True)
        store.append(stream, events, store.stream_version(stream))
        print(f"done {batch}", flush=True)
        batch += 1
        time.sleep(pause)


def main(argv: list[str]) -> None:
    mode, path, *rest = argv
    if mode == "open":
        SQLiteEventStore(path).close()
        print("ready", flush=True)
    elif mode == "hammer":
        _hammer(path, int(rest[0]), int(rest[1]), rest[2])
    elif mode == "crash":
        _crash(path, int(rest[0]), int(rest[1]), float(rest[2]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
