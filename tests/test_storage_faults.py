"""Storage faults and wrong targets, injected for real: a register that does not exist, another
application's database, a full disk, a read-only file, a lock held by another connection and a
damaged page each come out as a typed error (or, in ``verify``, a failure at a position), and
change nothing."""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from action_ledger import (
    IntegrityError,
    Ledger,
    SQLiteEventStore,
    StoreError,
)
from action_ledger._ledger import open_store
from action_ledger.cli import EXIT_CODES, main


def run(db: str, *args: str) -> tuple[int, str]:
    """Run the CLI; return its exit code and everything it printed (stdout and stderr)."""
    result = CliRunner().invoke(main, ["--db", db, "--actor", "Test Officer", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI crashed: {result.exception!r}")
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    return result.exit_code, output


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fill(ledger: Ledger, count: int) -> None:
    """A meeting and ``count`` actions with texts long enough to spread the log over pages."""
    ledger.record_meeting("2021-10-04", title="Assurance", held_at="2021-10-04T13:30", actor="t")
    for number in range(count):
        ledger.raise_action(
            text=f"Action {number}: " + "find out the timeline " * 10,
            owners=["CC"],
            meeting="2021-10-04",
            item="1",
            actor="t",
        )


def foreign_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (name TEXT, role TEXT)")
    conn.execute("INSERT INTO people VALUES ('Pippa Mills', 'CC')")
    conn.commit()
    conn.close()


# -- a register that does not exist ---------------------------------------------------------


@pytest.mark.parametrize(
    "opener",
    [
        lambda p: Ledger.open(p, create=False),
        lambda p: open_store(p, create=False),
        lambda p: SQLiteEventStore(p, create=False),
    ],
    ids=["Ledger.open", "open_store", "SQLiteEventStore"],
)
def test_without_create_a_missing_file_is_refused_and_not_made(
    tmp_path: Path, opener: Callable[[Path], object]
) -> None:
    """create=False refuses a path with no file, says how to make one, and creates nothing."""
    missing = tmp_path / "regsiter.db"
    with pytest.raises(StoreError, match=r"no register at .*regsiter\.db.*init.*create=True"):
        opener(missing)
    assert list(tmp_path.iterdir()) == []


def test_without_create_an_empty_file_is_refused_untouched(tmp_path: Path) -> None:
    """An empty file holds no register: create=False refuses it and leaves it empty."""
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StoreError, match=r"holds no register.*init"):
        Ledger.open(empty, create=False)
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_without_create_an_existing_register_opens_and_memory_is_made(tmp_path: Path) -> None:
    """create=False opens a register that exists (with its events); ':memory:' is made anyway."""
    path = tmp_path / "register.db"
    with Ledger.open(path) as ledger:
        fill(ledger, 2)
    with Ledger.open(path, create=False) as ledger:
        assert len(ledger.register()) == 2
        assert ledger.verify().ok
    with Ledger.open(":memory:", create=False) as ledger:
        assert len(ledger.register()) == 0


def test_with_create_a_new_path_and_an_empty_file_become_registers(tmp_path: Path) -> None:
    """The default still creates a register in a new path and in an empty file."""
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (tmp_path / "new.db", empty):
        with Ledger.open(path) as ledger:
            fill(ledger, 1)
        with Ledger.open(path, create=False) as ledger:
            assert len(ledger.register()) == 1


@pytest.mark.parametrize("create", [True, False])
def test_another_applications_database_is_refused_byte_for_byte_untouched(
    tmp_path: Path, create: bool
) -> None:
    """A SQLite file with tables and no register is refused, and nothing in it changes."""
    path = tmp_path / "crm.db"
    foreign_database(path)
    before = digest(path)
    with pytest.raises(StoreError, match=r"another application's database.*people"):
        Ledger.open(path, create=create)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.db"]
    conn = sqlite3.connect(path)
    names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    conn.close()
    assert names == ["people"]


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    """A text file given as the register is a StoreError, and stays as it was."""
    path = tmp_path / "notes.txt"
    path.write_text("Minutes of the meeting, not a database. " * 50)
    before = digest(path)
    with pytest.raises(StoreError, match=r"notes\.txt"):
        Ledger.open(path)
    assert digest(path) == before


def test_cli_read_and_write_verbs_refuse_a_missing_register(tmp_path: Path) -> None:
    """A mistyped --db is an error (exit 1) for reads and writes alike, and makes no file."""
    missing = str(tmp_path / "regsiter.db")
    for args in (["verify"], ["list"], ["raise", "Something", "--owner", "CC"]):
        code, output = run(missing, *args)
        assert code == EXIT_CODES["error"], (args, output)
        assert output.startswith("error: there is no register at")
        assert "init" in output
    code, output = run(missing, "copy", "--from", missing, "--to", str(tmp_path / "copy.db"))
    assert code == EXIT_CODES["error"]
    assert output.startswith("error: there is no register at")
    assert list(tmp_path.iterdir()) == []
    assert run(missing, "init")[0] == 0
    code, output = run(missing, "verify")
    assert (code, output.split(";")[0]) == (0, "ok: 0 events checked")


def test_cli_refuses_another_applications_database_untouched(tmp_path: Path) -> None:
    """Every verb, init included, refuses a foreign SQLite file without adding a table."""
    path = tmp_path / "crm.db"
    foreign_database(path)
    before = digest(path)
    for args in (["list"], ["verify"], ["init"], ["raise", "Something", "--owner", "CC"]):
        code, output = run(str(path), *args)
        assert code == EXIT_CODES["error"], (args, output)
        assert "another application's database" in output
    assert digest(path) == before


# -- a full disk -------------------------------------------------------------------------------


def test_a_command_on_a_full_database_stores_nothing_and_works_once_space_is_freed(
    tmp_path: Path,
) -> None:
    """SQLITE_FULL (the page limit reached) is a StoreError; nothing is stored, and the same
    ledger records again once the limit is raised."""
    with Ledger.open(tmp_path / "register.db") as ledger:
        fill(ledger, 20)
        conn = ledger.store.db.conn  # type: ignore[attr-defined]
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages}")
        failure = None
        for _ in range(50):  # until the free pages inside the file are used up
            last = ledger.store.last_position()
            register = ledger.register()
            try:
                ledger.raise_action(text="More " + "y" * 900, owners=["CC"], actor="t")
            except StoreError as exc:
                failure = exc
                break
        assert failure is not None
        assert re.search(r"full.*nothing was stored.*free some space", str(failure))
        assert ledger.store.last_position() == last
        assert ledger.register() == register
        conn.execute("PRAGMA max_page_count = 1073741823")
        new = ledger.raise_action(text="Recorded after freeing space", owners=["CC"], actor="t")
        assert ledger.get(new).text == "Recorded after freeing space"
        assert ledger.store.last_position() == last + 1
        assert ledger.verify().ok


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small real filesystem (needs the right to mount: root in a container)."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_cli_on_a_really_full_filesystem_prints_an_error_and_recovers(tmp_path: Path) -> None:
    """On a filesystem with no space left a command exits 1 with one line and stores
    nothing; once space is freed the register records again and verifies."""
    with tmpfs(tmp_path / "fs", "2m") as fs:
        db = str(fs / "register.db")
        assert run(db, "init")[0] == 0
        assert run(db, "raise", "Before the disk filled", "--owner", "CC")[0] == 0
        filler = fs / "filler"
        with filler.open("wb") as out, contextlib.suppress(OSError):
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        for args in (["raise", "z" * 3000, "--owner", "CC"], ["list"]):
            code, output = run(db, *args)
            assert code == EXIT_CODES["error"], output
            assert output.startswith("error: ")
            assert output.count("\n") == 1
            assert "full" in output
        filler.unlink()
        assert run(db, "raise", "After space was freed", "--owner", "CC")[0] == 0
        code, output = run(db, "verify")
        assert code == 0
        assert output.startswith("ok: 2 events checked")


# -- a read-only database -----------------------------------------------------------------------


def test_a_read_only_connection_refuses_a_command_typed(tmp_path: Path) -> None:
    """SQLITE_READONLY (PRAGMA query_only) is a StoreError that says so; nothing is stored."""
    with Ledger.open(tmp_path / "register.db") as ledger:
        fill(ledger, 2)
        conn = ledger.store.db.conn  # type: ignore[attr-defined]
        conn.execute("PRAGMA query_only = 1")
        with pytest.raises(StoreError, match="read-only"):
            ledger.raise_action(text="Refused", owners=["CC"], actor="t")
        with pytest.raises(StoreError, match="read-only"):
            ledger.rebuild()
        conn.execute("PRAGMA query_only = 0")
        assert ledger.store.last_position() == 3
        assert len(ledger.register()) == 2


def test_cli_on_a_read_only_mount_prints_an_error(tmp_path: Path) -> None:
    """A register on a filesystem mounted read-only: reads and writes exit 1 with one line."""
    with tmpfs(tmp_path / "fs", "4m") as fs:
        db = str(fs / "register.db")
        assert run(db, "init")[0] == 0
        assert run(db, "raise", "Recorded", "--owner", "CC")[0] == 0
        before = digest(Path(db))
        subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
        for args in (["raise", "Refused", "--owner", "CC"], ["list"], ["verify"]):
            code, output = run(db, *args)
            assert code == EXIT_CODES["error"], output
            assert output.startswith("error: ")
            assert "writable" in output
        assert digest(Path(db)) == before


# -- a lock held by another connection --------------------------------------------------------


def test_a_lock_held_beyond_the_busy_timeout_is_a_store_error(tmp_path: Path) -> None:
    """Another connection's write transaction: opening and commands fail typed after the
    busy timeout, store nothing, and work once the lock is released."""
    path = tmp_path / "register.db"
    with Ledger.open(path, busy_timeout=0.2) as ledger:
        fill(ledger, 2)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="locked by another connection"):
                ledger.raise_action(
                    text="Waits", owners=["CC"], actor="t", event_id=str(uuid.uuid4())
                )
            with pytest.raises(StoreError, match="locked by another connection"):
                Ledger.open(path, busy_timeout=0.2)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert ledger.store.last_position() == 3
        ledger.raise_action(text="After the lock", owners=["CC"], actor="t")
        assert len(ledger.register()) == 3


# -- a damaged page ------------------------------------------------------------------------------


def damage(path: Path, table: str) -> None:
    """Overwrite a leaf page of ``table`` in the middle of the file with garbage."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = [
        n
        for (n,) in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
            (table,),
        )
    ]
    (size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    assert len(pages) >= 3, pages
    with path.open("r+b") as file:
        file.seek((pages[len(pages) // 2] - 1) * size)
        file.write(b"\xa5" * size)


@pytest.fixture
def damaged_log(tmp_path: Path) -> Path:
    path = tmp_path / "register.db"
    with Ledger.open(path) as ledger:
        fill(ledger, 120)
    damage(path, "events")
    return path


def test_verify_reports_a_damaged_events_page_at_the_first_unreadable_position(
    damaged_log: Path,
) -> None:
    """verify() does not raise: it fails at the first position that cannot be read, having
    checked every event before it."""
    with Ledger.open(damaged_log, create=False) as ledger:
        report = ledger.verify()
    assert not report.ok
    bad = report.first_bad_position
    assert bad is not None
    assert 1 < bad < 121
    assert report.checked == bad - 1
    assert report.reason is not None
    assert "malformed" in report.reason
    raw = sqlite3.connect(damaged_log)
    assert raw.execute("SELECT 1 FROM events WHERE position = ?", (bad - 1,)).fetchone()
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        raw.execute("SELECT * FROM events WHERE position = ?", (bad,)).fetchall()
    raw.close()


def test_reading_a_damaged_page_is_an_integrity_error(damaged_log: Path) -> None:
    """Store reads that reach the damaged page raise IntegrityError, never sqlite3's."""
    with Ledger.open(damaged_log, create=False) as ledger:
        with pytest.raises(IntegrityError, match=r"damaged.*backup"):
            list(ledger.store.read_all())
        with pytest.raises(IntegrityError, match="damaged"):
            ledger.rebuild()


def test_cli_verify_on_a_damaged_page_exits_5_at_a_position(damaged_log: Path) -> None:
    """`action-ledger verify` prints FAILED at the position, exit 5, no traceback."""
    code, output = run(str(damaged_log), "verify")
    assert code == EXIT_CODES["verify failed"]
    assert output.startswith("FAILED at position ")
    assert "cannot be read" in output


def test_a_damaged_read_model_page_is_an_integrity_error_in_api_and_cli(tmp_path: Path) -> None:
    """A damaged page of a read-model table: queries raise IntegrityError; the CLI exits 5."""
    path = tmp_path / "register.db"
    with Ledger.open(path) as ledger:
        fill(ledger, 120)
    damage(path, "actions")
    with Ledger.open(path, create=False) as ledger, pytest.raises(IntegrityError):
        ledger.register()
    code, output = run(str(path), "list")
    assert code == EXIT_CODES["verify failed"]
    assert output.startswith("error: ")
    assert "damaged" in output


# -- PostgreSQL ---------------------------------------------------------------------------------


def schema_exists(dsn: str, schema: str) -> bool:
    with psycopg.connect(dsn) as conn:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return found is not None


def test_postgres_without_create_refuses_a_schema_without_a_register(
    postgres_dsn: str, pg_schema: Callable[[], str]
) -> None:
    """create=False names the schema and creates neither it nor any table; after a register
    is made there, create=False opens it."""
    schema = pg_schema()
    with pytest.raises(StoreError, match=f"no register in schema '{schema}'.*init"):
        Ledger.open(postgres_dsn, schema=schema, create=False)
    assert not schema_exists(postgres_dsn, schema)
    with Ledger.open(postgres_dsn, schema=schema) as ledger:
        fill(ledger, 1)
    with Ledger.open(postgres_dsn, schema=schema, create=False) as ledger:
        assert len(ledger.register()) == 1


def test_postgres_an_empty_schema_is_refused_without_tables(
    postgres_dsn: str, pg_schema: Callable[[], str]
) -> None:
    """A schema that exists but holds no register is refused and left without tables."""
    schema = pg_schema()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    with pytest.raises(StoreError, match="no register"):
        Ledger.open(postgres_dsn, schema=schema, create=False)
    with psycopg.connect(postgres_dsn) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchone()
    assert tables == (0,)


def test_cli_on_postgres_refuses_a_schema_without_a_register(
    postgres_dsn: str, pg_schema: Callable[[], str]
) -> None:
    """A PostgreSQL address with a mistyped --schema is an error, and no schema is made."""
    schema = pg_schema()
    result = CliRunner().invoke(main, ["--db", postgres_dsn, "--schema", schema, "list"])
    assert result.exit_code == EXIT_CODES["error"]
    assert result.stderr.startswith(f"error: there is no register in schema '{schema}'")
    assert not schema_exists(postgres_dsn, schema)
