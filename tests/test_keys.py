"""Keyed registers: the register records its chain keys, refuses a wrong or missing key before
anything is written, rotates keys without rewriting history, and carries its keys through
backup, restore, copy and the command line."""

from __future__ import annotations

import io
import itertools
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from action_ledger import (
    IntegrityError,
    KeyMismatchError,
    KeyRecord,
    Keyring,
    KeySchedule,
    Ledger,
    MemoryEventStore,
    SQLiteEventStore,
    StoreError,
    ValidationError,
    key_id,
)
from action_ledger._backup import export_events, import_events
from action_ledger.cli import EXIT_CODES, KEY_ENV, KEY_FILE_ENV, main
from action_ledger.store import (
    GENESIS_HASH,
    EventStore,
    chain_hash,
    keys_of,
    verify_chain,
)
from action_ledger.testing.contract import new_events

K1 = b"first-key-of-the-opcc-register"
K2 = b"second-key-after-the-rotation"
K3 = b"third-key-nobody-has-used-yet"
_names = itertools.count(1)


class Place:
    """Where a register is kept, so it can be opened again: a SQLite file or a PostgreSQL
    schema; raw SQL reaches behind the store, as someone with the file or the server would."""

    def __init__(self, backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.backend = backend
        self._opened: list[EventStore] = []
        if backend == "sqlite":
            self.path = str(tmp_path / f"register-{next(_names)}.db")
        else:
            self.dsn: str = request.getfixturevalue("postgres_dsn")
            self.schema: str = request.getfixturevalue("pg_schema")()

    def open(self, key: bytes | Keyring | None = None) -> EventStore:
        store: EventStore
        if self.backend == "sqlite":
            store = SQLiteEventStore(self.path, key=key)
        else:
            from action_ledger._postgres import PostgresEventStore

            store = PostgresEventStore(self.dsn, schema=self.schema, key=key)
        self._opened.append(store)
        return store

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``statement`` (``{t}`` for a table's prefix, ``?`` for parameters) directly."""
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.path)
            try:
                rows = conn.execute(statement.format(t=""), params).fetchall()
                conn.commit()
            finally:
                conn.close()
            return rows
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as pg:
            text = statement.format(t=f"{self.schema}.").replace("?", "%s")
            cursor = pg.execute(text, params)
            return cursor.fetchall() if cursor.description else []

    def state(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Every event row and every key record, as stored."""
        events = self.sql("SELECT * FROM {t}events ORDER BY position")
        keys = self.sql("SELECT * FROM {t}chain_keys ORDER BY from_position")
        return events, keys

    def close(self) -> None:
        for store in self._opened:
            store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    """A place for a register that is opened again: a SQLite file or a PostgreSQL schema."""
    made = Place(request.param, tmp_path, request)
    yield made
    made.close()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., EventStore]]:
    """A factory of new, empty stores of each backend."""
    places: list[Place] = []

    def make(key: bytes | Keyring | None = None) -> EventStore:
        if request.param == "memory":
            return MemoryEventStore(key=key)
        places.append(Place(request.param, tmp_path, request))
        return places[-1].open(key)

    yield make
    for made in places:
        made.close()


def append(store: EventStore, prefix: str, count: int) -> None:
    for event in new_events(prefix, count):
        store.append(f"action:{prefix}", [event], store.stream_version(f"action:{prefix}"))


def verify(store: EventStore) -> Any:
    return verify_chain(store.read_all(), key=store.key, keys=keys_of(store))


# -- the chain mode is recorded; a wrong or missing key is refused --------------------------------


def test_a_register_opened_with_a_key_records_it(place: Place) -> None:
    """A new register opened with a key records the key's id, from position 1, and a check
    value that is not the key; a plain register records nothing."""
    store = place.open(K1)
    append(store, "A", 2)
    assert place.state()[1] == [(key_id(K1), 1, KeyRecord.make(K1, 1).check)]
    assert K1.hex() not in json.dumps(place.state()[1])
    assert verify(store).ok


@pytest.mark.parametrize("given_key", [None, K2, Keyring((K2, K3))])
def test_a_keyed_register_refuses_a_missing_or_wrong_key(
    place: Place, given_key: bytes | Keyring | None
) -> None:
    """Opening a keyed register without its key, or with another, is a KeyMismatchError naming
    the register's key id, raised before anything is read or written."""
    append(place.open(K1), "A", 3)
    before = place.state()
    with pytest.raises(KeyMismatchError, match=key_id(K1)):
        place.open(given_key)
    assert place.state() == before


def test_a_plain_register_refuses_a_key(place: Place) -> None:
    """A plain register with events, opened with a key, is refused: its events are sealed
    without one, and history is not rewritten."""
    append(place.open(), "A", 2)
    before = place.state()
    with pytest.raises(KeyMismatchError, match="plain register"):
        place.open(K1)
    assert place.state() == before


def test_any_wrong_key_is_refused_and_nothing_is_written(place: Place) -> None:
    """For any key but the register's, opening it fails with KeyMismatchError and leaves every
    event and key record as it was."""
    append(place.open(K1), "A", 2)
    before = place.state()

    @settings(
        max_examples=25 if place.backend == "sqlite" else 8,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(st.binary(min_size=1, max_size=64).filter(lambda k: k != K1))
    def check(wrong: bytes) -> None:
        with pytest.raises(KeyMismatchError):
            place.open(wrong)
        assert place.state() == before

    check()


def test_a_register_written_before_keys_were_recorded_is_bound_on_opening(place: Place) -> None:
    """A keyed register without key records (written by an earlier version) is recognised
    by its first event: its key is recorded on opening with it; another key is refused and
    records nothing."""
    append(place.open(K1), "A", 3)
    place.sql("DELETE FROM {t}chain_keys")
    before = place.state()
    with pytest.raises(KeyMismatchError, match="does not seal its first event"):
        place.open(K2)
    assert place.state() == before
    store = place.open(K1)
    assert place.state()[1] == [(key_id(K1), 1, KeyRecord.make(K1, 1).check)]
    assert verify(store).ok


# -- rotation ----------------------------------------------------------------------------------


def test_rotation_keeps_history_and_verify_needs_every_key(
    fresh: Callable[..., EventStore],
) -> None:
    """After a rotation the events before it keep their old-key hashes (they still verify with
    the old key alone), the events after are sealed with the new key, and the whole log
    verifies with the schedule; without the old key, verify names the missing key."""
    store = fresh(K1)
    append(store, "A", 3)
    before = list(store.read_all())
    record = store.rotate_key(K2)  # type: ignore[attr-defined]
    assert (record.key_id, record.from_position) == (key_id(K2), 4)
    append(store, "B", 2)
    log = list(store.read_all())
    assert log[:3] == before
    assert verify_chain(before, key=K1).ok
    assert verify(store).ok
    assert store.key == K2
    after = verify_chain(log, key=K1)
    assert (after.ok, after.first_bad_position) == (False, 4)
    schedule = keys_of(store)
    assert schedule is not None
    missing = verify_chain(log, keys=KeySchedule(records=schedule.records))
    assert not missing.ok
    assert key_id(K1) in (missing.reason or "")


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=4),
)
def test_rotations_at_any_points_keep_the_chain_verifiable(counts: list[int]) -> None:
    """Any number of rotations after any number of events: the log verifies with every key,
    each key's events verify with that key alone, and no event before a rotation changes."""
    keys = [f"key-number-{n}-of-the-register".encode() for n in range(len(counts) + 1)]
    store = MemoryEventStore(key=keys[0])
    for n, count in enumerate(counts):
        append(store, f"S{n}", count)
        before = list(store.read_all())
        store.rotate_key(keys[n + 1])
        assert list(store.read_all()) == before
    append(store, "last", 1)
    assert verify(store).ok
    schedule = keys_of(store)
    assert schedule is not None
    log = list(store.read_all())
    for record in schedule.records:
        sealed = [e for e in log if e.position >= record.from_position]
        if sealed:
            first = sealed[0]
            assert first.hash == chain_hash(
                first.prev_hash,
                position=first.position,
                stream_id=first.stream_id,
                version=first.version,
                event=first,
                recorded_at=first.recorded_at,
                key=schedule.secret(record.key_id),
            )


def test_after_a_rotation_the_old_key_alone_is_refused(place: Place) -> None:
    """Once rotated, the register is opened with the new key (or the keyring ending with it);
    the retired key alone is refused, saying it is retired."""
    store = place.open(K1)
    append(store, "A", 2)
    store.rotate_key(K2)  # type: ignore[attr-defined]
    append(store, "B", 1)
    with pytest.raises(KeyMismatchError, match="retired"):
        place.open(K1)
    assert verify(place.open(Keyring((K1, K2)))).ok
    report = verify(place.open(K2))
    assert (report.ok, report.first_bad_position) == (False, 1)


def test_a_thief_of_the_old_key_cannot_seal_after_the_rotation(place: Place) -> None:
    """An event forged with the retired key after the rotation fails verify at its position;
    moving the rotation's record is refused on opening; deleting it is found by the newest
    key given."""
    store = place.open(K1)
    append(store, "A", 2)
    store.rotate_key(K2)  # type: ignore[attr-defined]
    store.close()
    (last,) = place.sql("SELECT position, hash, recorded_at FROM {t}events WHERE position = 2")
    forged = new_events("forged", 1)[0]
    digest = chain_hash(
        last[1],
        position=3,
        stream_id="action:forged",
        version=1,
        event=forged,
        recorded_at=last[2],
        key=K1,
    )
    place.sql(
        "INSERT INTO {t}events VALUES (3, 'action:forged', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            forged.event_id,
            forged.event_type,
            forged.schema_version,
            forged.data,
            forged.occurred_at,
            last[2],
            forged.actor,
            last[1],
            digest,
        ),
    )
    report = verify(place.open(Keyring((K1, K2))))
    assert (report.ok, report.first_bad_position) == (False, 3)
    # Moving the rotation past the forgery: the record's check no longer matches.
    place.sql("UPDATE {t}chain_keys SET from_position = 4 WHERE key_id = ?", (key_id(K2),))
    with pytest.raises(IntegrityError, match="altered"):
        place.open(Keyring((K1, K2)))
    # Deleting the rotation: the newest key given is not in the register.
    place.sql("DELETE FROM {t}chain_keys WHERE key_id = ?", (key_id(K2),))
    with pytest.raises(KeyMismatchError, match="rolled back"):
        place.open(Keyring((K1, K2)))


def test_a_writer_opened_before_a_rotation_is_stopped(place: Place) -> None:
    """A store opened with the old key, after another one rotated, refuses to append (it
    would seal with the retired key), and stores nothing."""
    stale = place.open(K1)
    append(stale, "A", 1)
    place.open(K1).rotate_key(K2)  # type: ignore[attr-defined]
    with pytest.raises(StoreError, match="open it again"):
        stale.append("action:B", new_events("B", 1), 0)
    assert place.state()[0][-1][0] == 1


def test_a_plain_writer_is_stopped_once_another_process_keys_the_empty_register(
    place: Place,
) -> None:
    """A store that opened the empty register plain refuses to append once another process
    has keyed it (its event would be sealed without the key), and stores nothing."""
    plain = place.open()
    place.open(K1)
    with pytest.raises(StoreError, match="open it again"):
        plain.append("action:A", new_events("A", 1), 0)
    assert place.state()[0] == []
    keyed = place.open(K1)
    append(keyed, "A", 1)
    assert verify(keyed).ok


def test_rotation_needs_a_new_key_and_a_keyed_register(place: Place) -> None:
    """Rotating to a key used before is a ValidationError; a plain register with events cannot
    become keyed (KeyMismatchError); neither changes anything."""
    keyed = MemoryEventStore(key=K1)
    append(keyed, "A", 1)
    keyed.rotate_key(K2)
    with pytest.raises(ValidationError, match="sealed this register before"):
        keyed.rotate_key(K1)
    assert keyed.key == K2
    assert len(keys_of(keyed).records) == 2
    store = place.open()
    append(store, "A", 1)
    before = place.state()
    with pytest.raises(KeyMismatchError, match="plain"):
        store.rotate_key(K1)  # type: ignore[attr-defined]
    assert place.state() == before
    assert store.key is None


def test_an_empty_keyed_register_can_change_its_key(place: Place) -> None:
    """A key that has sealed nothing yet is replaced by a rotation (both from position 1)."""
    store = place.open(K1)
    store.rotate_key(K2)  # type: ignore[attr-defined]
    assert place.state()[1] == [(key_id(K2), 1, KeyRecord.make(K2, 1).check)]
    append(store, "A", 1)
    assert verify(place.open(K2)).ok


# -- backup, restore and copy ------------------------------------------------------------------


def _exported(store: EventStore) -> str:
    out = io.StringIO()
    export_events(store, out)
    return out.getvalue()


def test_backup_carries_the_key_records_and_restores_under_them(
    fresh: Callable[..., EventStore],
) -> None:
    """A backup's header says keyed and lists the key records (never a key); restored with the
    keyring it verifies to the same head and keeps the records; with only the current key the
    restore fails naming the missing key, and into a plain store it is refused: nothing is
    restored either way."""
    source = MemoryEventStore(key=K1)
    append(source, "A", 2)
    source.rotate_key(K2)
    append(source, "B", 2)
    text = _exported(source)
    header = json.loads(text.splitlines()[0])
    assert header["keyed"] is True
    assert [(k["key_id"], k["from_position"]) for k in header["keys"]] == [
        (key_id(K1), 1),
        (key_id(K2), 3),
    ]
    assert K1.decode() not in text
    assert K2.decode() not in text
    store = fresh(Keyring((K1, K2)))
    report = import_events(store, io.StringIO(text))
    assert report.ok
    assert report.head_hash == verify(source).head_hash
    assert keys_of(store) == keys_of(source)
    short = fresh(K2)
    with pytest.raises(KeyMismatchError, match=key_id(K1)):
        import_events(short, io.StringIO(text))
    assert short.last_position() == 0
    plain = fresh(None)
    with pytest.raises(KeyMismatchError, match="opened without a key"):
        import_events(plain, io.StringIO(text))
    assert plain.last_position() == 0


def test_a_failed_keyed_restore_leaves_the_store_as_it_was(
    fresh: Callable[..., EventStore],
) -> None:
    """A keyed backup with an altered event fails at that event's position, and the store
    keeps no event and its own key records, not the backup's."""
    source = MemoryEventStore(key=K1)
    append(source, "A", 2)
    source.rotate_key(K2)
    append(source, "B", 2)
    lines = _exported(source).splitlines()
    event = json.loads(lines[4])
    event["actor"] = "Someone Else"
    lines[4] = json.dumps(event, sort_keys=True, separators=(",", ":"))
    store = fresh(Keyring((K1, K2)))
    before = keys_of(store)
    with pytest.raises(IntegrityError, match=r"position 4\b"):
        import_events(store, io.StringIO("\n".join(lines) + "\n"))
    assert store.last_position() == 0
    assert keys_of(store) == before
    assert store.key == K2
    if isinstance(store, SQLiteEventStore):  # and so says the file
        reopened = SQLiteEventStore(store.path, key=Keyring((K1, K2)))
        assert keys_of(reopened) == before
        reopened.close()


def test_a_backup_without_key_records_restores_under_the_stores_key() -> None:
    """A keyed backup made before registers recorded their keys (no ``keys`` in its header)
    restores into a store opened with its key, and fails at position 1 under another."""
    source = MemoryEventStore(key=K1)
    append(source, "A", 2)
    lines = _exported(source).splitlines()
    header = json.loads(lines[0])
    del header["keys"]
    old = "\n".join([json.dumps(header), *lines[1:]]) + "\n"
    assert import_events(MemoryEventStore(key=K1), io.StringIO(old)).ok
    with pytest.raises(IntegrityError, match=r"position 1\b"):
        import_events(MemoryEventStore(key=K2), io.StringIO(old))


# -- the command line ----------------------------------------------------------------------------


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner(env={KEY_ENV: "", KEY_FILE_ENV: "", **(env or {})}).invoke(
        main, ["--actor", "Test Officer", *args]
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "register.key"
    code, out, _ = cli("new-key", "--to", str(path))
    assert code == 0
    assert f"to {path} (1 key;" in out
    assert path.stat().st_mode & 0o077 == 0
    return path


def test_cli_keyed_register_from_init_to_rotation(tmp_path: Path, key_file: Path) -> None:
    """init --keyed, write and verify with --key-file; a write without the key exits 1 saying
    how to give it; rotate-key after new-key >> key file; verify names both keys; the old key
    alone is refused."""
    db = str(tmp_path / "keyed.db")
    code, out, _ = cli("--db", db, "--key-file", str(key_file), "init", "--keyed")
    assert code == 0
    assert "keyed register" in out
    assert (
        cli("--db", db, "--key-file", str(key_file), "raise", "Find the timeline", "--owner", "CC")[
            0
        ]
        == 0
    )
    code, _, err = cli("--db", db, "raise", "No key", "--owner", "CC")
    assert code == EXIT_CODES["error"]
    assert "--key-file" in err
    assert "Traceback" not in err
    old = key_file.read_text()
    code, out, _ = cli("new-key", "--to", str(key_file))
    assert "(2 keys;" in out
    for scope in ("public", "force"):  # a rotation changes the register: keepers only
        code, _, err = cli("--db", db, "--key-file", str(key_file), "--scope", scope, "rotate-key")
        assert code == EXIT_CODES["permission denied"]
        assert f"scope '{scope}' may not change the register" in err
    code, out, _ = cli("--db", db, "--key-file", str(key_file), "rotate-key")
    assert code == 0
    assert "from position 2" in out
    assert (
        cli(
            "--db", db, "--key-file", str(key_file), "raise", "After the rotation", "--owner", "CC"
        )[0]
        == 0
    )
    code, out, _ = cli("--db", db, "--key-file", str(key_file), "verify")
    assert code == 0
    assert "ok: 2 events" in out
    assert out.count("key ") == 2
    code, _, err = cli("--db", db, "verify", env={KEY_ENV: old.strip()})
    assert code == EXIT_CODES["error"]
    assert "retired" in err
    code, out, _ = cli("--db", db, "verify", env={KEY_ENV: key_file.read_text()})
    assert code == 0


def test_cli_never_takes_a_key_on_the_command_line(tmp_path: Path) -> None:
    """There is no --key option; init --keyed without a key, and a key file holding a short
    key, exit 2 with what to do, and make no register."""
    db = tmp_path / "r.db"
    assert cli("--db", str(db), "--key", "secret", "init")[0] == 2
    code, _, err = cli("--db", str(db), "init", "--keyed")
    assert code == EXIT_CODES["invalid input"]
    assert "new-key" in err
    short = tmp_path / "short.key"
    short.write_text("tooshort\n")
    code, _, err = cli("--db", str(db), "--key-file", str(short), "init", "--keyed")
    assert code == EXIT_CODES["invalid input"]
    assert "line 1" in err
    assert "tooshort" not in err
    assert not db.exists()


def test_cli_copy_and_backup_of_a_rotated_register(tmp_path: Path, key_file: Path) -> None:
    """copy and export/import --format events carry a rotated register's keys: both ends
    verify to the same head with the key file."""
    db, copied, restored = (str(tmp_path / n) for n in ("a.db", "b.db", "c.db"))
    keys = ("--key-file", str(key_file))
    assert cli("--db", db, *keys, "init", "--keyed")[0] == 0
    assert cli("--db", db, *keys, "raise", "One", "--owner", "CC")[0] == 0
    code, printed, _ = cli("new-key")
    assert len(printed.strip()) >= 43
    key_file.write_text(key_file.read_text() + printed)
    assert cli("--db", db, *keys, "rotate-key")[0] == 0
    assert cli("--db", db, *keys, "raise", "Two", "--owner", "CC")[0] == 0
    code, _out, err = cli(*keys, "copy", "--from", db, "--to", copied)
    assert code == 0, err
    backup = str(tmp_path / "backup.jsonl")
    assert cli("--db", db, *keys, "export", "--format", "events", "-o", backup)[0] == 0
    assert cli("--db", restored, *keys, "import", "--format", "events", backup)[0] == 0
    heads = {cli("--db", d, *keys, "verify")[1] for d in (db, copied, restored)}
    assert len(heads) == 1
    assert next(iter(heads)).startswith("ok: 2 events")
    with Ledger.open(copied, key=Keyring.read(key_file)) as ledger:
        assert [a.text for a in ledger.register()] == ["One", "Two"]


# -- key files ------------------------------------------------------------------------------------


def test_a_key_file_lists_keys_oldest_first() -> None:
    """Blank lines and comments are skipped; the last key is the current one; an empty file,
    a short key or a repeated key is a ValidationError that never quotes a key."""
    ring = Keyring.parse(f"# OPCC register\n{K1.decode()}\n\n{K2.decode()}\n", source="f")
    assert ring.keys == (K1, K2)
    assert ring.current == K2
    for text, wrong in [
        ("", "holds no key"),
        ("# nothing\n", "holds no key"),
        ("short\n", "line 1"),
        (f"{K1.decode()}\n{K1.decode()}\n", "same key twice"),
    ]:
        with pytest.raises(ValidationError, match=wrong) as caught:
            Keyring.parse(text, source="f")
        assert K1.decode() not in str(caught.value)


def test_key_ids_reveal_nothing_and_checks_tie_a_key_to_its_position() -> None:
    """A key id is 16 hex digits that differ between keys; a record's check matches only its
    own key at its own position."""
    assert len(key_id(K1)) == 16
    assert key_id(K1) != key_id(K2)
    record = KeyRecord.make(K2, 5)
    assert record.matches(K2)
    assert not record.matches(K1)
    assert not KeyRecord(key_id=record.key_id, from_position=4, check=record.check).matches(K2)
    assert GENESIS_HASH not in record.check
