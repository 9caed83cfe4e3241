"""Where a PostgreSQL command's CPU goes: client and server CPU per command, side by side.

The writer-process rows of ``bench_postgres`` are limited by CPU on a small machine, not by
round trips; this measures it. One Ledger on a fresh schema (``--actions`` actions of 5 events,
all in its state cache), then ``--ops`` updates; the client's CPU comes from ``getrusage``, the
server's from ``/proc/<backend pid>/stat`` of the store's connection (so the server's own
background writers are not counted). Beside it, on the same server, the same figures for a bare
one-row ``INSERT`` + ``COMMIT``, and the ceiling they imply: cores ÷ CPU per command.

Run: ``python benchmarks/cpu_postgres.py [--dsn URL] [--actions N] [--ops N]``. Linux only
(``/proc``); the server must run on this machine. No target here.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import uuid
from collections.abc import Sequence

import _common as c
import psycopg
from psycopg import sql

from action_ledger import Ledger

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def backend_cpu(pid: int) -> float:
    """Seconds of CPU the server process ``pid`` has used (user + system)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ours(dsn: str, n_actions: int, n_ops: int) -> tuple[float, float, float]:
    """(wall, client CPU, server CPU) per command, in ms."""
    schema = "cpu_" + uuid.uuid4().hex[:10]
    ledger = Ledger.open(dsn, schema=schema, cache_size=max(1024, n_actions))
    try:
        c.our_import(ledger, c.our_batch(0, n_actions, 5))
        ledger.refresh()

        def command(n: int) -> None:
            i = n % n_actions
            ledger.update_action(
                c.action_id(i),
                note=c.note(i, n),
                source=c.SOURCE,
                actor=c.ACTOR,
                occurred_at=c.occurred(i, 59),
            )

        for n in range(2 * n_actions):  # every state cached, every statement warm
            command(n)
        pid = ledger.store.backend_pid  # type: ignore[attr-defined]
        assert pid is not None
        client, server, wall = client_cpu(), backend_cpu(pid), time.perf_counter()
        for n in range(n_ops):
            command(n)
        assert ledger.store.backend_pid == pid, "the connection was replaced during the run"  # type: ignore[attr-defined]
        return (
            (time.perf_counter() - wall) / n_ops * 1e3,
            (client_cpu() - client) / n_ops * 1e3,
            (backend_cpu(pid) - server) / n_ops * 1e3,
        )
    finally:
        ledger.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def floor(dsn: str, n_ops: int) -> tuple[float, float, float]:
    """(wall, client CPU, server CPU) per bare one-row INSERT + COMMIT, in ms."""
    table = sql.Identifier("cpu_floor_" + uuid.uuid4().hex[:10])
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (id bigserial PRIMARY KEY, s text)").format(table))
        try:
            insert = sql.SQL("INSERT INTO {} (s) VALUES (%s)").format(table)
            for _ in range(200):
                conn.execute(insert, ("x" * 400,))
            pid = conn.info.backend_pid
            client, server, wall = client_cpu(), backend_cpu(pid), time.perf_counter()
            for _ in range(n_ops):
                conn.execute(insert, ("x" * 400,))
            return (
                (time.perf_counter() - wall) / n_ops * 1e3,
                (client_cpu() - client) / n_ops * 1e3,
                (backend_cpu(pid) - server) / n_ops * 1e3,
            )
        finally:
            conn.execute(sql.SQL("DROP TABLE {}").format(table))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", default=os.environ.get("ACTION_LEDGER_BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--actions", type=int, default=100)
    parser.add_argument("--ops", type=int, default=1500)
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    print(f"cpu_postgres: {cores} cores, load average {os.getloadavg()[0]:.2f} at the start")
    rows = [("action_ledger update_action", ours(args.dsn, args.actions, args.ops))]
    rows.append(("bare one-row INSERT + COMMIT", floor(args.dsn, args.ops)))
    header = ("per operation", "wall", "client CPU", "server CPU")
    print(f"{header[0]:30s} | {header[1]:>9s} | {header[2]:>10s} | {header[3]:>10s} | ceiling")
    for label, (wall, client, server) in rows:
        ceiling = cores / (client + server) * 1e3
        print(
            f"{label:30s} | {wall:6.3f} ms | {client:7.3f} ms | {server:7.3f} ms | "
            f"{ceiling:,.0f}/s on {cores} cores (one at a time: {1e3 / wall:,.0f}/s)"
        )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
