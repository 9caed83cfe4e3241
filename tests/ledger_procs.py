"""Child process for the Ledger multi-process test: run as ``python ledger_procs.py PATH W N``.

Worker ``W`` makes ``N`` updates through the Ledger API, alternating between two shared
actions, each with a deterministic event id; it prints one JSON line with the ids it stored.
"""

from __future__ import annotations

import json
import sys
import uuid

from action_ledger import Ledger

ACTIONS = ("ACT-2021-001", "ACT-2021-002")
_NAMESPACE = uuid.UUID("5d0f8a9e-2f4b-4a4e-9a57-61f1c6d3b3a0")


def update_id(worker: int, n: int) -> str:
    """The event id of worker ``worker``'s ``n``-th update."""
    return str(uuid.uuid5(_NAMESPACE, f"update-{worker}-{n}"))


def main(path: str, worker: int, count: int) -> None:
    stored = []
    with Ledger.open(path, retry_budget=60) as ledger:
        for n in range(count):
            event_id = update_id(worker, n)
            ledger.update_action(
                ACTIONS[n % 2],
                note=f"Update {n} from worker {worker}.",
                source="email",
                actor=f"worker-{worker}",
                event_id=event_id,
                occurred_at="2021-10-05T09:00",
            )
            stored.append(event_id)
    print(json.dumps({"worker": worker, "stored": stored}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
