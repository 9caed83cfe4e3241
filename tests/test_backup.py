"""Backups as JSON Lines (``_backup``): export → import restores every event byte for byte,
keeps the published head, and a damaged backup restores nothing."""

from __future__ import annotations

import io
import itertools
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import pytest
from hypothesis import given as for_all

from action_ledger import (
    Action,
    IntegrityError,
    KeyMismatchError,
    Ledger,
    Meeting,
    MemoryEventStore,
    SQLiteEventStore,
    StoreError,
    ValidationError,
    VerifyReport,
    key_id,
)
from action_ledger._backup import export_events, import_events
from action_ledger._codec import encode, stream_of
from action_ledger._examples.west_mercia import record
from action_ledger.commands import Command
from action_ledger.events import Event
from action_ledger.store import GENESIS_HASH, EventStore, StoredEvent, verify_chain
from action_ledger.testing import strategies
from action_ledger.testing.contract import StepClock, assert_empty, new_event, sealed_log

KEY = b"opcc-register-key"
FIELDS = {field.name for field in attrs.fields(StoredEvent)}  # every stored column

Target = Callable[..., EventStore]


def export_text(store: EventStore, **options: Any) -> str:
    out = io.StringIO()
    export_events(store, out, **options)
    return out.getvalue()


def store_of(log: Sequence[StoredEvent], *, key: bytes | None = None) -> MemoryEventStore:
    store = MemoryEventStore(key=key)
    store.restore(log)
    return store


@pytest.fixture(params=["memory", "sqlite"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """A factory of empty stores to import into: in memory, or a new SQLite file."""
    opened: list[EventStore] = []
    numbers = itertools.count(1)

    def make(*, key: bytes | None = None) -> EventStore:
        store: EventStore
        if request.param == "memory":
            store = MemoryEventStore(key=key)
        else:
            store = SQLiteEventStore(tmp_path / f"restored-{next(numbers)}.db", key=key)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


class Recorded(NamedTuple):
    """A register recorded for the round trips: its backup, and what it answered."""

    text: str
    report: VerifyReport
    register: Sequence[Action]
    meetings: Sequence[Meeting]


def _record_west_mercia(path: Path, *, key: bytes | None = None) -> Recorded:
    with Ledger.open(path, key=key) as ledger:
        record(ledger)
        return Recorded(
            export_text(ledger.store), ledger.verify(), ledger.register(), ledger.meetings()
        )


@pytest.fixture(scope="module")
def west_mercia(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """The West Mercia example recorded in a SQLite register."""
    return _record_west_mercia(tmp_path_factory.mktemp("west-mercia") / "register.db")


@pytest.fixture(scope="module")
def keyed_west_mercia(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """The West Mercia example in a SQLite register sealed with an HMAC key."""
    path = tmp_path_factory.mktemp("west-mercia-keyed") / "register.db"
    return _record_west_mercia(path, key=KEY)


def same_report(a: VerifyReport, b: VerifyReport) -> bool:
    return (a.ok, a.checked, a.head_hash) == (b.ok, b.checked, b.head_hash)


# -- the file ----------------------------------------------------------------------------------


def test_export_writes_a_header_then_one_canonical_line_per_event() -> None:
    """Line 1 is the header (count, head, keyed); line n + 1 holds every field of the event
    at position n, ``data`` as the stored text, as canonical JSON."""
    log = sealed_log(7)
    text = export_text(store_of(log))
    assert text.endswith("\n")
    header, *lines = (json.loads(line) for line in text.splitlines())
    assert header == {
        "format": "action-ledger-events",
        "version": 1,
        "events": 7,
        "head": log[-1].hash,
        "keyed": False,
        "keys": [],
    }
    assert len(lines) == 7
    for stored, line in zip(log, lines, strict=True):
        assert set(line) == FIELDS
        assert all(line[name] == getattr(stored, name) for name in FIELDS)
        assert isinstance(line["data"], str)
    for raw in text.splitlines():
        assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))


def test_export_keeps_text_as_utf8() -> None:
    """Non-ASCII text is written as itself, not as escapes, and survives a file round trip."""
    store = MemoryEventStore()
    store.append("action:A", [new_event("a", data='{"note":"£5k — “Op Sceptre”"}')], 0)
    text = export_text(store)
    assert "£5k — “Op Sceptre”" in text
    assert "\\u" not in text


def test_export_of_an_empty_store() -> None:
    """An empty register exports a header of 0 events at the genesis head, and imports."""
    text = export_text(MemoryEventStore())
    assert json.loads(text) == {
        "format": "action-ledger-events",
        "version": 1,
        "events": 0,
        "head": GENESIS_HASH,
        "keyed": False,
        "keys": [],
    }
    report = import_events(MemoryEventStore(), io.StringIO(text))
    assert (report.ok, report.checked, report.head_hash) == (True, 0, GENESIS_HASH)


def test_export_header_says_keyed() -> None:
    """A store with an HMAC key exports ``"keyed": true`` (never the key)."""
    text = export_text(store_of(sealed_log(2, key=KEY), key=KEY))
    assert json.loads(text.splitlines()[0])["keyed"] is True
    assert KEY.decode() not in text


# -- round trips -------------------------------------------------------------------------------


def test_west_mercia_round_trip_to_memory(west_mercia: Recorded) -> None:
    """The West Mercia register restored into memory exports byte for byte as the original,
    and verifies with the same report."""
    store = MemoryEventStore()
    restored = import_events(store, io.StringIO(west_mercia.text))
    assert restored.ok, restored.reason
    assert same_report(restored, west_mercia.report)
    assert export_text(store).encode() == west_mercia.text.encode()
    ledger = Ledger(store)
    assert same_report(ledger.verify(), west_mercia.report)
    assert ledger.register() == west_mercia.register


def test_west_mercia_round_trip_to_a_new_sqlite_file(west_mercia: Recorded, tmp_path: Path) -> None:
    """Through a backup file on disk into a new SQLite register: the same export, the same
    verify report, and the same register and meetings when the file is opened again."""
    backup = tmp_path / "backup.jsonl"
    with open(backup, "w", encoding="utf-8", newline="") as out:
        out.write(west_mercia.text)
    with Ledger.open(tmp_path / "restored.db") as ledger:
        with open(backup, encoding="utf-8", newline="") as source:
            restored = import_events(ledger.store, source)
        assert restored.ok, restored.reason
        assert same_report(restored, west_mercia.report)
        assert export_text(ledger.store).encode() == backup.read_bytes()
    with Ledger.open(tmp_path / "restored.db") as ledger:
        assert same_report(ledger.verify(), west_mercia.report)
        assert ledger.verify(head=west_mercia.report.head_hash).ok
        assert ledger.register() == west_mercia.register
        assert ledger.meetings() == west_mercia.meetings


def test_west_mercia_keyed_round_trip(keyed_west_mercia: Recorded, target: Target) -> None:
    """A keyed backup restores into a store opened with the same key, byte for byte."""
    store = target(key=KEY)
    restored = import_events(store, io.StringIO(keyed_west_mercia.text))
    assert restored.ok, restored.reason
    assert same_report(restored, keyed_west_mercia.report)
    assert export_text(store) == keyed_west_mercia.text


def test_keyed_backup_under_another_key_is_refused(
    keyed_west_mercia: Recorded, target: Target
) -> None:
    """Under another key the restore is refused before any event is read (the backup's key
    records name the key that sealed it), and nothing is restored."""
    store = target(key=b"not-the-key")
    with pytest.raises(KeyMismatchError, match=f"sealed with key {key_id(KEY)}"):
        import_events(store, io.StringIO(keyed_west_mercia.text))
    assert_empty(store)


@pytest.mark.parametrize(("exported", "imported"), [(KEY, None), (None, KEY)])
def test_backup_and_register_must_agree_on_a_key(
    target: Target, exported: bytes | None, imported: bytes | None
) -> None:
    """A keyed backup into an unkeyed register, or the other way round, is a ``StoreError``
    saying which key to open the register with."""
    text = export_text(store_of(sealed_log(3, key=exported), key=exported))
    store = target(key=imported)
    with pytest.raises(StoreError, match="key"):
        import_events(store, io.StringIO(text))
    assert_empty(store)


def test_import_into_a_register_with_events_is_refused(target: Target) -> None:
    """Importing into a register that holds events raises ``StoreError`` (it must be empty)
    and changes nothing."""
    store = target()
    store.append("action:A", [new_event("already-here")], 0)
    before = list(store.read_all())
    with pytest.raises(StoreError, match="empty"):
        import_events(store, io.StringIO(export_text(store_of(sealed_log(4)))))
    assert list(store.read_all()) == before


# -- damaged backups ---------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _edit(text: str, number: int, change: Callable[[dict[str, Any]], object]) -> str:
    """The backup with line ``number`` (from 1) parsed, changed in place and written back."""
    lines = _lines(text)
    value = json.loads(lines[number - 1])
    change(value)
    lines[number - 1] = json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n"
    return "".join(lines)


def _drop(text: str, number: int) -> str:
    lines = _lines(text)
    del lines[number - 1]
    return "".join(lines)


def _swap(text: str, number: int) -> str:
    lines = _lines(text)
    lines[number - 1], lines[number] = lines[number], lines[number - 1]
    return "".join(lines)


def _insert(text: str, number: int, line: str) -> str:
    lines = _lines(text)
    lines.insert(number - 1, line)
    return "".join(lines)


def _set(**changes: object) -> Callable[[dict[str, Any]], object]:
    return lambda value: value.update(changes)


def _without(name: str) -> Callable[[dict[str, Any]], object]:
    return lambda value: value.pop(name)


# Each: the damage, the error, and a pattern its message must match (line n + 1 holds the
# event at position n; the 12 events are on lines 2 to 13).
DAMAGE = [
    pytest.param(lambda t: _edit(t, 5, _set(data='{"name":"x"}')), IntegrityError,
                 r"position 4\b.*hash", id="edited data"),
    pytest.param(lambda t: _edit(t, 9, _set(actor="someone")), IntegrityError,
                 r"position 8\b.*hash", id="edited actor"),
    pytest.param(lambda t: _edit(t, 3, _set(recorded_at="2030-01-01T00:00:00.000000Z")),
                 IntegrityError, r"position 2\b.*hash", id="edited recorded_at"),
    pytest.param(lambda t: _edit(t, 5, _set(hash="f" * 64)), IntegrityError,
                 r"position 4\b.*hash", id="edited hash"),
    pytest.param(lambda t: _edit(t, 13, _set(hash="f" * 64)), IntegrityError,
                 r"position 12\b.*hash", id="edited hash of the last event"),
    pytest.param(lambda t: _edit(t, 6, _set(prev_hash="0" * 64)), IntegrityError,
                 r"position 5\b.*prev_hash", id="edited prev_hash"),
    pytest.param(lambda t: _drop(t, 5), IntegrityError, r"position 4\b.*removed",
                 id="deleted line"),
    pytest.param(lambda t: _drop(t, 2), IntegrityError, r"position 1\b.*removed",
                 id="deleted first event"),
    pytest.param(lambda t: _drop(t, 13), IntegrityError, r"line 13\b.*truncated",
                 id="deleted last line"),
    pytest.param(lambda t: _swap(t, 5), IntegrityError, r"position 4\b.*reordered",
                 id="swapped lines"),
    pytest.param(lambda t: _insert(t, 6, _lines(t)[4]), IntegrityError, r"position 5\b",
                 id="repeated line"),
    pytest.param(lambda t: t + _lines(t)[-1], IntegrityError, r"line 14\b.*more",
                 id="added line"),
    pytest.param(lambda t: _insert(t, 7, '{"position": 6,\n'), ValidationError,
                 r"line 7\b.*JSON", id="bad JSON"),
    pytest.param(lambda t: _insert(t, 4, "\n"), ValidationError, r"line 4\b.*JSON",
                 id="blank line"),
    pytest.param(lambda t: t[: len(t) - 40], ValidationError, r"line 13\b.*JSON",
                 id="truncated mid-line"),
    pytest.param(lambda t: t[: len(t) // 2], ValidationError, r"line \d+\b.*JSON",
                 id="truncated mid-file"),
    pytest.param(lambda t: _insert(t, 3, "[1, 2]\n"), ValidationError, r"line 3\b.*list",
                 id="not an object"),
    pytest.param(lambda t: _edit(t, 3, _without("actor")), ValidationError,
                 r"line 3\b.*actor", id="missing field"),
    pytest.param(lambda t: _edit(t, 4, _set(note="x")), ValidationError, r"line 4\b.*note",
                 id="unknown field"),
    pytest.param(lambda t: _edit(t, 4, _set(position="3")), ValidationError,
                 r"line 4\b.*position", id="text for a number"),
    pytest.param(lambda t: _edit(t, 4, _set(data={"name": "x"})), ValidationError,
                 r"line 4\b.*data", id="object for text"),
    pytest.param(lambda t: _edit(t, 4, _set(version=True)), ValidationError,
                 r"line 4\b.*version", id="true for a number"),
    pytest.param(lambda t: _edit(t, 1, _set(events=13)), IntegrityError,
                 r"line 14\b.*13 events.*truncated", id="header count too high"),
    pytest.param(lambda t: _edit(t, 1, _set(events=11)), IntegrityError,
                 r"line 13\b.*11 events.*more", id="header count too low"),
    pytest.param(lambda t: _edit(t, 1, _set(head="e" * 64)), IntegrityError,
                 r"line 1\b.*head", id="header head edited"),
    pytest.param(lambda t: _edit(t, 1, _set(format="csv")), ValidationError,
                 r"line 1\b.*format", id="header of another format"),
    pytest.param(lambda t: _edit(t, 1, _set(version=2)), ValidationError,
                 r"line 1\b.*version 2", id="header of a later version"),
    pytest.param(lambda t: _edit(t, 1, _without("head")), ValidationError,
                 r"line 1\b.*head", id="header missing a field"),
    pytest.param(lambda t: _drop(t, 1), ValidationError, r"line 1\b", id="no header"),
    pytest.param(lambda t: "", ValidationError, r"line 1\b.*empty", id="empty file"),
]  # fmt: skip


@pytest.mark.parametrize(("damage", "error", "words"), DAMAGE)
def test_damaged_backup_is_refused_and_restores_nothing(
    target: Target, damage: Callable[[str], str], error: type[Exception], words: str
) -> None:
    """Each kind of damage is refused with the line or position named, and the register is
    left empty: a good backup can then be imported into it."""
    log = sealed_log(12)
    text = export_text(store_of(log))
    store = target()
    with pytest.raises(error) as caught:
        import_events(store, io.StringIO(damage(text)))
    assert re.search(words, str(caught.value)), caught.value
    assert_empty(store, log)
    assert import_events(store, io.StringIO(text)).ok


# -- progress ----------------------------------------------------------------------------------


def test_progress_is_reported_as_lines_go(target: Target) -> None:
    """Export and import call ``progress(done, total)`` from 0 to the total as lines go."""
    store = store_of(sealed_log(2_500))
    exported: list[tuple[int, int]] = []
    text = export_text(store, progress=lambda done, total: exported.append((done, total)))
    imported: list[tuple[int, int]] = []
    import_events(
        target(), io.StringIO(text), progress=lambda done, total: imported.append((done, total))
    )
    expected = [(0, 2_500), (1_000, 2_500), (2_000, 2_500), (2_500, 2_500)]
    assert exported == expected
    assert imported == expected


# -- the SQLite restore ------------------------------------------------------------------------


def test_sqlite_restore_inserts_in_chunks_as_lines_are_read(tmp_path: Path) -> None:
    """The restore inserts rows while it reads (memory stays bounded), all in one
    transaction that another connection does not see until it commits."""
    log = sealed_log(2_500)
    store = SQLiteEventStore(tmp_path / "restored.db")
    other = sqlite3.connect(tmp_path / "restored.db")
    seen: list[tuple[int, int]] = []

    def events() -> Iterator[StoredEvent]:
        for event in log:
            if event.position in (1_500, 2_500):
                (inserted,) = store.db.conn.execute("SELECT count(*) FROM events").fetchone()
                (visible,) = other.execute("SELECT count(*) FROM events").fetchone()
                seen.append((inserted, visible))
            yield event

    try:
        assert store.restore(events()) == 2_500
        assert seen == [(1_000, 0), (2_000, 0)]
        assert other.execute("SELECT count(*) FROM events").fetchone() == (2_500,)
        assert verify_chain(store.read_all()).ok
    finally:
        other.close()
        store.close()


# -- the round-trip law ------------------------------------------------------------------------


def _append(store: EventStore, events: Sequence[Event]) -> None:
    for event in events:
        stream = stream_of(event)
        store.append(stream, [encode(event)], store.stream_version(stream))


@for_all(strategies.histories())
def test_export_import_export_is_the_identity(commands: list[Command]) -> None:
    """For any valid history, exporting, importing into an empty store (in memory or SQLite)
    and exporting again gives the same text, and the restored store verifies."""
    source = MemoryEventStore(clock=StepClock())
    _append(source, strategies.RegisterModel.replay(commands).events)
    text = export_text(source)
    for store in (MemoryEventStore(), SQLiteEventStore(":memory:")):
        try:
            report = import_events(store, io.StringIO(text))
            assert report.ok, report.reason
            assert report.checked == source.last_position()
            assert export_text(store) == text
        finally:
            store.close()
