"""How well the notes reader reads meetings: its drafts against hand-annotated gold drafts.

Each notes file in ``--seeds`` (default ``minutes_gold/``: the three West Mercia meetings,
beside their gold) is read with ``action_ledger.minutes.read_minutes`` and scored against
``benchmarks/minutes_gold/<file stem>.toml`` (the draft a careful policy officer would record,
in the draft file format; read here with ``tomllib`` directly).

Matching rule. A read action *matches* a gold action when their texts are close: rapidfuzz
``fuzz.token_set_ratio`` of the lower-cased texts >= 85 (each gold action is matched at most
once, best score first). A match is *correct* when the owners (as a set) and the item agree
too. Precision = correct / read, recall = correct / gold. Matters brought forward are matched
the same way on their text; a match is correct when the item, the decision and
``superseded_by`` agree. Meeting fields are compared exactly: date and time (of ``held_at``),
title, chair, minutes_by, venue, attendance and apologies (name, capacity and role of each
person, in order).

``--set heldout`` scores the held-out notes instead: every notes file in
``benchmarks/minutes_heldout/`` (plain text and Word, written in other offices' layouts and not
used to tune the reader) against the gold ``<file stem>.toml`` beside it. ``--set test`` scores
the final test set, ``benchmarks/minutes_test/``, the same way (kept unseen while the reader is
tuned on the held-out set). ``--set final`` scores ``benchmarks/minutes_final/``, the last
unseen set, the same way.

Run from the repository root:
``python benchmarks/bench_minutes.py [--set seeds|heldout|test|final] [--seeds DIR] [--check]``
(``--check`` exits 1 when actions raised are below 0.9 precision or recall, or the meeting's
date, time or attendance is wrong in any file). A file the reader fails on (a typed
``ActionLedgerError``) is reported and counted as a miss: nothing read, every gold entry missed.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from action_ledger.exceptions import ActionLedgerError
from action_ledger.minutes import MinutesDraft, read_minutes

HERE = Path(__file__).resolve().parent
GOLD = HERE / "minutes_gold"
HELDOUT = HERE / "minutes_heldout"
TEST = HERE / "minutes_test"
FINAL = HERE / "minutes_final"
THRESHOLD = 85.0
FIELDS = ("date", "time", "title", "chair", "minutes_by", "venue", "attendance", "apologies")


def _match(
    read: Sequence[dict[str, Any]],
    gold: Sequence[dict[str, Any]],
    correct: Callable[[dict[str, Any], dict[str, Any]], bool],
) -> tuple[int, int, list[str]]:
    """(text matches, correct matches, notes on each miss)."""
    pairs = sorted(
        (
            (fuzz.token_set_ratio(r["text"].lower(), g["text"].lower()), i, j)
            for i, r in enumerate(read)
            for j, g in enumerate(gold)
        ),
        reverse=True,
    )
    used_read: set[int] = set()
    used_gold: set[int] = set()
    matched = right = 0
    notes: list[str] = []
    for score, i, j in pairs:
        if score < THRESHOLD or i in used_read or j in used_gold:
            continue
        used_read.add(i)
        used_gold.add(j)
        matched += 1
        if correct(read[i], gold[j]):
            right += 1
        else:
            notes.append(f"  wrong: {read[i]!r}\n    gold: {gold[j]!r}")
    notes += [f"  extra: {read[i]['text'][:90]!r}" for i in range(len(read)) if i not in used_read]
    notes += [f"  missed: {gold[j]['text'][:90]!r}" for j in range(len(gold)) if j not in used_gold]
    return matched, right, notes


def _action(value: Any) -> dict[str, Any]:
    return {"text": value.text, "owners": sorted(value.owners), "item": value.item}


def _matter(value: Any) -> dict[str, Any]:
    return {
        "text": value.text,
        "item": value.item,
        "decision": value.decision,
        "superseded_by": value.superseded_by,
    }


def _people(values: Sequence[Any]) -> list[tuple[str, str | None, str | None]]:
    out = []
    for v in values:
        if isinstance(v, dict):
            out.append((v["name"], v.get("capacity"), v.get("role")))
        else:
            out.append((v.name, v.capacity, v.role))
    return out


def _fields(meeting: Any, gold: dict[str, Any]) -> dict[str, bool]:
    held = meeting.held_at.split("T")
    gold_held = gold["held_at"].split("T")
    return {
        "date": held[0] == gold_held[0],
        "time": held[1:] == gold_held[1:],
        "title": meeting.title == gold["title"],
        "chair": meeting.chair == gold.get("chair"),
        "minutes_by": meeting.minutes_by == gold.get("minutes_by"),
        "venue": meeting.venue == gold.get("venue"),
        "attendance": _people(meeting.attendance) == _people(gold.get("attendance", [])),
        "apologies": _people(meeting.apologies) == _people(gold.get("apologies", [])),
    }


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0


def score(draft: MinutesDraft, gold: dict[str, Any]) -> dict[str, Any]:
    """The counts and field results of one draft against its gold draft."""
    gold_actions = [
        {"text": a["text"], "owners": sorted(a.get("owners", [])), "item": a.get("item")}
        for a in gold.get("actions", [])
    ]
    read_actions = [_action(a) for a in draft.actions]
    a_match, a_right, a_notes = _match(
        read_actions,
        gold_actions,
        lambda r, g: r["owners"] == g["owners"] and r["item"] == g["item"],
    )
    gold_matters = [
        {
            "text": m["text"],
            "item": m.get("item"),
            "decision": m.get("decision", "keep-open"),
            "superseded_by": m.get("superseded_by"),
        }
        for m in gold.get("matters", [])
    ]
    m_match, m_right, m_notes = _match(
        [_matter(m) for m in draft.matters],
        gold_matters,
        lambda r, g: all(r[k] == g[k] for k in ("item", "decision", "superseded_by")),
    )
    return {
        "actions": (len(read_actions), len(gold_actions), a_match, a_right),
        "matters": (len(draft.matters), len(gold_matters), m_match, m_right),
        "fields": _fields(draft.meeting, gold["meeting"]),
        "notes": a_notes + m_notes,
    }


def missed(gold: dict[str, Any], note: str) -> dict[str, Any]:
    """The result of a file the reader could not read: nothing read, every gold entry
    missed and every meeting field wrong."""
    n_actions, n_matters = len(gold.get("actions", [])), len(gold.get("matters", []))
    return {
        "actions": (0, n_actions, 0, 0),
        "matters": (0, n_matters, 0, 0),
        "fields": dict.fromkeys(FIELDS, False),
        "notes": [note],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--set",
        choices=("seeds", "heldout", "test", "final"),
        default="seeds",
        help="seeds: the three West Mercia notes (in-sample); heldout: benchmarks/minutes_heldout;"
        " test: benchmarks/minutes_test; final: benchmarks/minutes_final",
    )
    parser.add_argument("--seeds", type=Path, default=None, help="the notes' directory")
    parser.add_argument("--gold", type=Path, default=None, help="the gold drafts' directory")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    if args.set in ("heldout", "test", "final"):
        directory = {"heldout": HELDOUT, "test": TEST, "final": FINAL}[args.set]
        args.seeds = args.seeds or directory
        args.gold = args.gold or directory
    else:
        args.seeds = args.seeds or GOLD  # the seed notes are kept beside their gold
        args.gold = args.gold or GOLD
    totals = {"actions": [0, 0, 0, 0], "matters": [0, 0, 0, 0]}
    field_hits = dict.fromkeys(FIELDS, 0)
    files = 0
    met = True
    print("file | actions P | actions R | matters P | matters R | meeting fields exact")
    for gold_path in sorted(args.gold.glob("*.toml")):
        gold = tomllib.loads(gold_path.read_text(encoding="utf-8"))
        notes = args.seeds / gold["file"]
        try:
            result = score(read_minutes(notes), gold)
        except ActionLedgerError as error:
            # a reader error is a miss of the whole file, not the end of the run
            result = missed(gold, f"  error: {type(error).__name__}: {error}")
        files += 1
        row = []
        for kind in ("actions", "matters"):
            n_read, n_gold, _, right = result[kind]
            totals[kind] = [t + v for t, v in zip(totals[kind], result[kind], strict=True)]
            row += [f"{_ratio(right, n_read):.2f}", f"{_ratio(right, n_gold):.2f}"]
        wrong = [name for name, ok in result["fields"].items() if not ok]
        for name, ok in result["fields"].items():
            field_hits[name] += ok
        met &= all(result["fields"][k] for k in ("date", "time", "attendance"))
        exact = sum(result["fields"].values())
        print(
            f"{gold['file']} | {' | '.join(row)} | {exact}/{len(FIELDS)}"
            + (f" (wrong: {', '.join(wrong)})" if wrong else "")
        )
        if args.verbose:
            for note in result["notes"]:
                print(note)
    summary = []
    for kind, label in (("actions", "actions raised"), ("matters", "matters brought forward")):
        n_read, n_gold, matched, right = totals[kind]
        precision, recall = _ratio(right, n_read), _ratio(right, n_gold)
        summary.append(f"{precision:.2f} | {recall:.2f}")
        print(
            f"{label}: read {n_read}, gold {n_gold}, text matched "
            f"{matched}, correct {right}: precision {precision:.2f}, recall {recall:.2f}"
        )
        if kind == "actions":
            met &= precision >= 0.9 and recall >= 0.9
    print(
        f"overall | {' | '.join(summary)} | "
        + ", ".join(f"{name} {field_hits[name]}/{files}" for name in FIELDS)
    )
    print(
        "targets (actions P, R >= 0.9; date, time, attendance exact):", "met" if met else "MISSED"
    )
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
