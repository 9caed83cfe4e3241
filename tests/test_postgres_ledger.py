"""The Ledger and the program on a PostgreSQL register, and copying a register between
SQLite and PostgreSQL with its chain intact (skipped without a server, except in CI)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from action_ledger import Ledger
from action_ledger._examples.west_mercia import record
from action_ledger.cli import EXIT_CODES, main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--actor", "Test Officer", *args])
    return result.exit_code, result.stdout, result.stderr


def test_ledger_open_on_postgresql_gives_the_same_register(
    postgres_dsn: str, pg_schema: Callable[[], str]
) -> None:
    """`Ledger.open("postgresql://…", schema=…)` keeps the same register as a SQLite file:
    the same actions, agenda, history and a chain that verifies; reopened, it is all there."""
    schema = pg_schema()
    with Ledger.open(":memory:") as reference:
        record(reference)
        expected = reference.register()
        agenda = reference.agenda("2021-10-04")
    with Ledger.open(postgres_dsn, schema=schema) as ledger:
        record(ledger)
        assert [a.id for a in ledger.register()] == [a.id for a in expected]
        assert ledger.agenda("2021-10-04").outstanding == agenda.outstanding
        assert ledger.verify().ok
        head = ledger.head()
    with Ledger.open(postgres_dsn, schema=schema) as reopened:
        assert reopened.head() == head
        assert [a.text for a in reopened.register()] == [a.text for a in expected]
        assert reopened.history("ACT-2021-001")[-1].event_type == "closed"


def test_copy_moves_a_register_to_postgresql_and_back_with_its_chain(
    postgres_dsn: str, pg_schema: Callable[[], str], tmp_path: Path
) -> None:
    """`copy` from a SQLite file into PostgreSQL and back keeps every event, position and
    hash: the same head verifies at every step, and the register reads the same; copying
    into a register that is not empty changes nothing."""
    schema = pg_schema()
    first = str(tmp_path / "first.db")
    back = str(tmp_path / "back.db")
    assert run("--db", first, "demo")[0] == 0
    with Ledger.open(first) as ledger:
        count, head = ledger.head()
        listed = json.dumps([a.id for a in ledger.register()])
    code, out, _ = run("copy", "--from", first, "--to", postgres_dsn, "--to-schema", schema)
    assert code == 0
    assert f"copied {count} events" in out
    assert f"head {head} verified at both ends" in out
    code, out, _ = run("--db", postgres_dsn, "--schema", schema, "verify", "--head", head)
    assert code == 0
    code, out, _ = run("--db", postgres_dsn, "--schema", schema, "list", "--json")
    assert json.dumps([a["id"] for a in json.loads(out)]) == listed
    code, out, _ = run(
        "copy", "--from", postgres_dsn, "--from-schema", schema, "--to", back, "--json"
    )
    assert code == 0
    assert json.loads(out)["head"] == head
    with Ledger.open(back) as copied:
        assert copied.head() == (count, head)
    code, _, err = run("copy", "--from", first, "--to", back)
    assert code == EXIT_CODES["error"]
    assert "must be empty" in err
    with Ledger.open(back) as copied:
        assert copied.head() == (count, head)


def test_a_subscription_is_woken_by_another_process_through_notify(
    postgres_dsn: str, pg_schema: Callable[[], str]
) -> None:
    """On PostgreSQL a subscription learns of another connection's append from NOTIFY:
    the event is handled within a fraction of a second, not at a polling interval."""
    import time

    schema = pg_schema()
    seen: list[int] = []
    with (
        Ledger.open(postgres_dsn, schema=schema) as reader,
        Ledger.open(postgres_dsn, schema=schema) as writer,
    ):
        with reader.subscribe(
            lambda stored, event: seen.append(stored.position), poll_interval=3.0
        ) as subscription:
            started = time.monotonic()
            writer.raise_action(text="Share the headlines.", owners=["CC"], actor="JI")
            assert subscription.wait_for(1, timeout=5.0)
            assert time.monotonic() - started < 1.0  # polling alone would take ~3 s
        assert seen == [1]
