"""Rebuild and catch-up-on-open speed, CPU and wall, with peak RSS, each in a fresh subprocess.

Copies a register (never writes to the one given), then in a subprocess either
``Ledger.open(copy)`` then ``ledger.rebuild()`` (mode ``rebuild``), or drops every read-model
table and checkpoint and times ``Ledger.open(copy)`` (mode ``open``: the catch-up of a file
without read models). CPU is ``time.process_time`` (the machine may be shared); wall is
``time.perf_counter``; peak RSS is ``ru_maxrss`` of the subprocess.

Run: ``python benchmarks/bench_rebuild.py PATH [--mode rebuild|open] [--profile]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _child(mode: str, path: str, profile: bool) -> None:
    from action_ledger import Ledger

    if mode == "open":
        conn = sqlite3.connect(path)
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in names:
            if name not in ("events", "chain_keys", "meta") and not name.startswith("sqlite_"):
                if name in ("actions", "owners", "audit_trail", "meetings", "attendance", "links"):
                    conn.execute(f"DROP TABLE [{name}]")
                elif name == "read_model_checkpoints":
                    conn.execute(f"DELETE FROM [{name}]")
        conn.commit()
        conn.close()
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
    result: dict[str, object] = {"mode": mode}
    if mode == "rebuild":
        ledger = Ledger.open(path)
        c0, w0 = time.process_time(), time.perf_counter()
        if prof:
            prof.enable()
        result["events"] = ledger.rebuild()
    else:
        c0, w0 = time.process_time(), time.perf_counter()
        if prof:
            prof.enable()
        ledger = Ledger.open(path)
        result["events"] = ledger.store.last_position()
    if prof:
        prof.disable()
    result["cpu_s"] = round(time.process_time() - c0, 2)
    result["wall_s"] = round(time.perf_counter() - w0, 2)
    ledger.close()
    n = int(result["events"])  # type: ignore[call-overload]
    result["events_per_cpu_s"] = round(n / max(float(result["cpu_s"]), 1e-9))  # type: ignore[arg-type]
    result["events_per_wall_s"] = round(n / max(float(result["wall_s"]), 1e-9))  # type: ignore[arg-type]
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if prof:
        import pstats

        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--mode", choices=("rebuild", "open"), default="rebuild")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.mode, args.path, args.profile)
        return
    with tempfile.TemporaryDirectory() as tmp:
        copy = str(Path(tmp) / "register.db")
        src = sqlite3.connect(f"file:{args.path}?mode=ro", uri=True)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.close()
        command = [sys.executable, __file__, copy, "--mode", args.mode, "--child"]
        if args.profile:
            command.append("--profile")
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
