"""Child processes for the PostgreSQL fault tests (``test_postgres_faults.py``), started with
``multiprocessing`` (spawn).

A writer opens a Ledger on a shared register, says it is ready, waits for the start signal,
then makes updates with known event ids, one JSON line per outcome in its own file (flushed at
once, so a writer that hangs or dies leaves what it did behind):

* ``{"kind": "ready"}`` once the Ledger is open;
* ``{"kind": "acked", "event_id": …, "action": …, "at": …}`` for each acknowledged command
  (``at``: ``time.time()`` when the call returned);
* ``{"kind": "typed", …}`` / ``{"kind": "untyped", …}`` for each error that reached the
  caller, an ``ActionLedgerError`` or anything else, with its type and message;
* ``{"kind": "done"}`` at the end.
"""

from __future__ import annotations

import json
import time
import traceback
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_NAMESPACE = uuid.UUID("0b6c8f52-7d0e-4c55-9a43-3f0f6a1c2e11")


def update_id(schema: str, worker: int, n: int) -> str:
    """The event id of worker ``worker``'s ``n``-th update in the register ``schema``."""
    return str(uuid.uuid5(_NAMESPACE, f"{schema}/update-{worker}-{n}"))


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines a writer has written so far (a torn last line is ignored)."""
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return lines


def update_writer(
    dsn: str,
    schema: str,
    worker: int,
    actions: Sequence[str],
    count: int,
    retry_budget: float | None,
    pause: float,
    out_path: str,
    go: Any,
) -> None:
    """Make ``count`` updates, the ``n``-th on ``actions[n % len(actions)]`` with event id
    ``update_id(schema, worker, n)``, pausing ``pause`` seconds after each; record every
    outcome in ``out_path``. ``retry_budget`` ``None`` keeps the Ledger's default."""
    from action_ledger import ActionLedgerError, Ledger

    with open(out_path, "a", encoding="utf-8") as out:

        def put(**line: Any) -> None:
            out.write(json.dumps(line) + "\n")
            out.flush()

        def failed(exc: BaseException, **where: Any) -> None:
            put(
                kind="typed" if isinstance(exc, ActionLedgerError) else "untyped",
                error=type(exc).__module__ + "." + type(exc).__qualname__,
                message=str(exc),
                committed=getattr(exc, "committed", "n/a"),
                trace=traceback.format_exc(),
                **where,
            )

        options: dict[str, Any] = {"schema": schema}
        if retry_budget is not None:
            options["retry_budget"] = retry_budget
        try:
            ledger = Ledger.open(dsn, **options)
        except BaseException as exc:
            failed(exc, event_id=None, action=None)
            put(kind="done")
            return
        try:
            put(kind="ready")
            if not go.wait(60):
                put(kind="untyped", error="timeout", message="no start signal in 60 s")
                return
            for n in range(count):
                action = actions[n % len(actions)]
                event_id = update_id(schema, worker, n)
                try:
                    ledger.update_action(
                        action,
                        note=f"Update {n} from worker {worker}.",
                        source="email",
                        actor=f"worker-{worker}",
                        event_id=event_id,
                    )
                except BaseException as exc:
                    failed(exc, event_id=event_id, action=action)
                else:
                    put(kind="acked", event_id=event_id, action=action, at=time.time())
                if pause:
                    time.sleep(pause)
        finally:
            try:
                ledger.close()
            except BaseException as exc:
                failed(exc, event_id=None, action=None, closing=True)
            put(kind="done")
