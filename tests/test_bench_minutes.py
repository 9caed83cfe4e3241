"""The held-out and test minutes sets stay sound: their gold drafts fit the draft model and notes.

The held-out notes (``benchmarks/minutes_heldout/``) and the final test set
(``benchmarks/minutes_test/``) measure the notes reader on layouts it was not tuned on; these
tests check the sets themselves and the benchmark's ``--set heldout`` and ``--set test``, never
the reader's scores.
"""

from __future__ import annotations

import hashlib
import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from action_ledger import Attendee
from action_ledger.minutes import (
    DraftAction,
    DraftMatter,
    DraftMeeting,
    MinutesDraft,
    SourceRef,
)

BENCH = Path(__file__).parent.parent / "benchmarks"
HELDOUT = BENCH / "minutes_heldout"
TEST = BENCH / "minutes_test"
FINAL = BENCH / "minutes_final"
GOLDS = sorted(HELDOUT.glob("*.toml")) + sorted(TEST.glob("*.toml")) + sorted(FINAL.glob("*.toml"))


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_minutes", BENCH / "bench_minutes.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _gold(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _n_lines(notes: Path) -> int:
    """Lines of text notes; paragraphs and table rows of Word notes (the gold's line count)."""
    if notes.suffix == ".docx":
        import docx

        document = docx.Document(str(notes))
        return len(document.paragraphs) + sum(len(t.rows) for t in document.tables)
    return len(notes.read_text(encoding="utf-8").splitlines())


def _source(value: dict[str, Any]) -> SourceRef:
    return SourceRef(file=value["file"], line=value["line"], page=value.get("page"))


def _draft(gold: dict[str, Any]) -> MinutesDraft:
    """The draft a reader would return if it read the notes exactly as the gold records them."""
    m = gold["meeting"]
    meeting = DraftMeeting(
        meeting_id=m["meeting_id"],
        title=m["title"],
        held_at=m["held_at"],
        source=_source(m["source"]),
        confidence=m["confidence"],
        kind=m.get("kind"),
        venue=m.get("venue"),
        chair=m.get("chair"),
        minutes_by=m.get("minutes_by"),
        attendance=tuple(Attendee(**p) for p in m.get("attendance", [])),
        apologies=tuple(Attendee(**p) for p in m.get("apologies", [])),
    )
    actions = tuple(
        DraftAction(
            text=a["text"],
            source=_source(a["source"]),
            owners=tuple(a["owners"]),
            item=a.get("item"),
            due=a.get("due"),
        )
        for a in gold.get("actions", [])
    )
    matters = tuple(
        DraftMatter(
            text=t["text"],
            outcome=t["outcome"],
            source=_source(t["source"]),
            decision=t["decision"],
            superseded_by=t.get("superseded_by"),
            owners=tuple(t.get("owners", [])),
            item=t.get("item"),
        )
        for t in gold.get("matters", [])
    )
    return MinutesDraft(
        file=gold["file"], sha256=gold["sha256"], meeting=meeting, actions=actions, matters=matters
    )


@pytest.mark.parametrize(
    ("directory", "n_text"), [(HELDOUT, 8), (TEST, 6)], ids=["heldout", "test"]
)
def test_the_set_has_enough_text_notes_and_two_word_versions(directory: Path, n_text: int) -> None:
    """At least eight (held-out) or six (test) plain-text notes and two Word notes, each with its
    gold draft."""
    golds = sorted(directory.glob("*.toml"))
    files = [_gold(path)["file"] for path in golds]
    assert len([f for f in files if f.endswith(".txt")]) >= n_text
    assert len([f for f in files if f.endswith(".docx")]) == 2
    assert all(Path(f).stem == path.stem for f, path in zip(files, golds, strict=True))


@pytest.mark.parametrize("path", GOLDS, ids=lambda p: p.stem)
def test_a_gold_draft_names_its_notes_exactly(path: Path) -> None:
    """The gold's file exists, its SHA-256 is the notes' bytes', and every source line is in it."""
    gold = _gold(path)
    assert gold["format"] == "action-ledger minutes draft 1"
    notes = path.parent / gold["file"]
    assert hashlib.sha256(notes.read_bytes()).hexdigest() == gold["sha256"]
    n_lines = _n_lines(notes)
    if notes.suffix == ".txt":
        assert 60 <= n_lines <= 200
    sources = [gold["meeting"]["source"]]
    sources += [a["source"] for a in gold.get("actions", [])]
    sources += [t["source"] for t in gold.get("matters", [])]
    for source in sources:
        assert source["file"] == gold["file"]
        assert 1 <= source["line"] <= n_lines


@pytest.mark.parametrize("path", GOLDS, ids=lambda p: p.stem)
def test_a_gold_draft_fits_the_draft_model(path: Path) -> None:
    """The gold builds a valid draft: its id is its date, and superseded_by names an action."""
    gold = _gold(path)
    draft = _draft(gold)
    assert draft.meeting.held_at.startswith(draft.meeting.meeting_id)
    for matter in draft.matters:
        assert (matter.decision == "close-superseded") == (matter.superseded_by is not None)
        if matter.superseded_by is not None:
            assert 0 <= matter.superseded_by < len(draft.actions)
    assert all(action.owners for action in draft.actions)


@pytest.mark.parametrize("path", GOLDS, ids=lambda p: p.stem)
def test_a_draft_equal_to_its_gold_scores_full_marks(path: Path) -> None:
    """Scoring the gold's own draft against it finds every action, matter and field right."""
    gold = _gold(path)
    result = _bench().score(_draft(gold), gold)
    for kind in ("actions", "matters"):
        n_read, n_gold, matched, right = result[kind]
        assert n_read == n_gold == matched == right
    assert all(result["fields"].values())
    assert result["notes"] == []


@pytest.mark.parametrize(
    ("name", "directory"), [("heldout", HELDOUT), ("test", TEST), ("final", FINAL)]
)
def test_the_benchmark_scores_the_set(
    name: str, directory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--set heldout`` / ``--set test`` reads every notes file of the set (text and Word) and
    prints its row."""
    _bench().main(["--set", name])
    out = capsys.readouterr().out
    rows = [line.split(" | ")[0] for line in out.splitlines() if " | " in line]
    assert rows[1:-1] == [_gold(path)["file"] for path in sorted(directory.glob("*.toml"))]
    assert rows[-1] == "overall"


def test_a_reader_error_counts_as_a_miss_of_the_whole_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file the reader cannot read (no meeting date) is reported and scored as all missed;
    the run goes on to the next file."""
    good = sorted(HELDOUT.glob("*.toml"))[0]
    (tmp_path / "a_undated.txt").write_text("Some meeting\n\nNothing here.\n", encoding="utf-8")
    gold_text = good.read_text(encoding="utf-8").replace(_gold(good)["file"], "a_undated.txt")
    (tmp_path / "a_undated.toml").write_text(gold_text, encoding="utf-8")
    (tmp_path / good.name).write_text(good.read_text(encoding="utf-8"), encoding="utf-8")
    notes = HELDOUT / _gold(good)["file"]
    (tmp_path / notes.name).write_bytes(notes.read_bytes())
    assert _bench().main(["--seeds", str(tmp_path), "--gold", str(tmp_path), "-v"]) == 0
    out = capsys.readouterr().out
    n_actions = len(_gold(good).get("actions", []))
    assert n_actions > 0
    assert "a_undated.txt | 1.00 | 0.00 |" in out
    assert "(wrong: date, time," in out
    assert "error: ValidationError" in out
    assert _gold(good)["file"] + " |" in out
    summary = next(line for line in out.splitlines() if line.startswith("actions raised:"))
    assert f"gold {2 * n_actions}," in summary
