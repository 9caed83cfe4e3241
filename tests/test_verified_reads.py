"""Verified reads: ``verify`` finds every read-model row that is not the fold of the verified
log, and names it; publishing refuses such tables or stays exactly what the log gives.

The campaign draws a register (``histories``), keeps it on SQLite or PostgreSQL, mutates one
read-model table behind the library's back (a column changed, a fake row inserted, a row
deleted, two rows' values swapped), and checks ``verify``, the published HTML and Markdown,
and the CSV (working and publishable). PostgreSQL needs the test server
(``ACTION_LEDGER_TEST_PG``); its tests skip without it.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from action_ledger import IntegrityError, Ledger, ValidationError, VerifyReport
from action_ledger import _ledger as _ledger_module
from action_ledger._projections import PROJECTIONS, Table
from action_ledger._readcheck import LISTED
from action_ledger._sqlite import SQLiteEventStore
from action_ledger.cli import EXIT_CODES, main
from action_ledger.commands import Command
from action_ledger.exports import publish_html, publish_markdown, write_csv
from action_ledger.pytest_plugin import LedgerFactory
from action_ledger.testing.strategies import histories

TABLES = {t.name: t for p in PROJECTIONS for t in p.tables}
GENERATED = "2026-01-01T12:00:00+00:00"
Run = Callable[[str, list[Any]], None]


@attrs.frozen
class Mutation:
    """One edit of a read-model table, and the keys ``verify`` must name for it."""

    kind: str
    table: str
    sql: str
    params: tuple[Any, ...]
    keys: frozenset[tuple[Any, ...]]


# -- mutations ------------------------------------------------------------------------------------


def _other(value: Any, kind: type, tag: str) -> Any:
    """A value of the column's type that differs from ``value`` (never NULL)."""
    if kind is int:
        return (value or 0) + 7
    return f"{value or ''}{tag}"


def _fresh_key(table: Table, row: dict[str, Any], tag: str) -> dict[str, Any]:
    """``row`` with a primary key no row has (a text part made unique, or a large number)."""
    new = dict(row)
    text = [c for c in table.pk if table.columns[c] is str]
    if text:
        new[text[0]] = f"FAKE-{tag}"
    else:
        new[table.pk[0]] = 10_000_000 + len(tag)
    return new


def _synthetic(table: Table, tag: str) -> dict[str, Any]:
    """A whole row made up for an empty table."""
    return {c: (1 if kind is int else f"FAKE-{tag}") for c, kind in table.columns.items()}


def _where(table: Table, row: dict[str, Any]) -> tuple[str, list[Any]]:
    return " AND ".join(f"{c} = ?" for c in table.pk), [row[c] for c in table.pk]


def _key(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c] for c in table.pk)


@st.composite
def mutations(
    draw: st.DrawFn,
    rows: dict[str, list[dict[str, Any]]],
    table_name: str | None = None,
    kind: str | None = None,
) -> Mutation:
    """A mutation of one read-model table (``rows``: each table's rows, as stored); of the
    table and kind given, if any (the table must have rows, two for a swap)."""
    name = table_name or draw(st.sampled_from(sorted(TABLES)))
    table = TABLES[name]
    present = rows[name]
    tag = draw(st.text("abcdefxyz", min_size=3, max_size=8))
    kinds = ["insert"] + (["change", "delete"] if present else [])
    if len(present) >= 2:
        kinds.append("swap")
    if kind is None:
        kind = draw(st.sampled_from(kinds))
    assert kind in kinds, f"{name} has {len(present)} rows: no {kind}"
    if kind == "insert":
        base = draw(st.sampled_from(present)) if present else _synthetic(table, tag)
        new = _fresh_key(table, base, tag)
        columns = list(table.columns)
        sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        return Mutation(
            kind, name, sql, tuple(new[c] for c in columns), frozenset({_key(table, new)})
        )
    row = draw(st.sampled_from(present))
    where, params = _where(table, row)
    if kind == "delete":
        return Mutation(
            kind,
            name,
            f"DELETE FROM {name} WHERE {where}",
            tuple(params),
            frozenset({_key(table, row)}),
        )
    if kind == "swap":
        column = draw(st.sampled_from([c for c in table.columns if c not in table.pk]))
        different = [r for r in present if r[column] != row[column]]
        if different:
            other = draw(st.sampled_from(different))
            other_where, other_params = _where(table, other)
            # one statement: a CASE on the key sets each row to the other's value
            sql = (
                f"UPDATE {name} SET {column} = CASE WHEN {where} THEN ? ELSE ? END "
                f"WHERE ({where}) OR ({other_where})"
            )
            return Mutation(
                kind,
                name,
                sql,
                (*params, other[column], row[column], *params, *other_params),
                frozenset({_key(table, row), _key(table, other)}),
            )
        kind = "change"  # every row holds the same value there: change it instead
    column = draw(st.sampled_from(list(table.columns)))
    value = _other(row[column], table.columns[column], tag)
    if column in table.pk:
        value = f"FAKE-{tag}" if table.columns[column] is str else value + 10_000_000
        keys = {_key(table, row), _key(table, {**row, column: value})}
    else:
        keys = {_key(table, row)}
    return Mutation(
        kind,
        name,
        f"UPDATE {name} SET {column} = ? WHERE {where}",
        (value, *params),
        frozenset(keys),
    )


def _rows(ledger: Ledger) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for name, table in TABLES.items():
        columns = list(table.columns)
        found[name] = [
            dict(zip(columns, row, strict=True))
            for row in ledger.read_model.select(
                f"SELECT {', '.join(columns)} FROM {name} ORDER BY {', '.join(table.pk)}"
            )
        ]
    return found


# -- what publishing gives --------------------------------------------------------------------


def _outputs(ledger: Ledger) -> dict[str, str | type[IntegrityError]]:
    """Each published output, or ``IntegrityError`` where publishing refused."""
    found: dict[str, str | type[IntegrityError]] = {}

    def attempt(name: str, make: Callable[[], str]) -> None:
        try:
            found[name] = make()
        except IntegrityError as exc:
            refused = str(exc)
            found[name] = IntegrityError
            assert refused.startswith("refusing to publish: ")

    def csv(**only: Any) -> str:
        out = io.StringIO()
        write_csv(ledger, out, **only)
        return out.getvalue()

    attempt("html", lambda: publish_html(ledger, generated_at=GENERATED))
    attempt("markdown", lambda: publish_markdown(ledger, generated_at=GENERATED))
    attempt("csv", csv)
    attempt("publishable csv", lambda: csv(restricted=False))
    return found


# -- the campaign ---------------------------------------------------------------------------------


DETECTED: list[str] = []
"""The mutations of this session's campaigns that ``verify`` found (each one tried was)."""


def _campaign(ledger: Ledger, history: list[Command], data: st.DataObject, run: Run) -> None:
    ledger.execute_many(history)
    _mutate_and_check(ledger, data, run)


def _mutate_and_check(
    ledger: Ledger,
    data: st.DataObject,
    run: Run,
    table: str | None = None,
    kind: str | None = None,
) -> None:
    """Mutate one table of a sound register; ``verify`` must name the row, publishing
    refuse or stay as it was, and ``rebuild`` repair it."""
    clean = ledger.verify()
    assert clean.ok, clean.reason  # no false alarm on an untouched register
    assert clean.read_models_checked == tuple(p.name for p in PROJECTIONS)
    before = _outputs(ledger)
    assert IntegrityError not in before.values()
    mutation = data.draw(mutations(_rows(ledger), table, kind), label="mutation")
    event(f"{mutation.kind} {mutation.table}")
    run(mutation.sql, list(mutation.params))

    report = ledger.verify()
    assert not report.ok
    assert report.first_bad_position is None  # the chain itself is sound
    assert report.difference_count >= 1
    assert "repair: action-ledger rebuild" in (report.reason or "")
    named = {(d.table, d.key) for d in report.differences}
    assert {(mutation.table, k) for k in mutation.keys} & named, (mutation, report.differences)
    DETECTED.append(f"{mutation.kind} {mutation.table}")

    after = _outputs(ledger)
    for name, output in after.items():  # refused, or exactly what the log gives
        assert output is IntegrityError or output == before[name], name
    published = {"actions", "meetings"}
    if mutation.table in published:
        assert after["html"] is IntegrityError
        assert after["markdown"] is IntegrityError

    ledger.rebuild()
    repaired = ledger.verify()
    assert repaired.ok, repaired.reason
    assert _outputs(ledger) == before


CAMPAIGN = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@CAMPAIGN
@given(history=histories(), data=st.data())
def test_sqlite_verify_finds_every_read_model_mutation(
    ledger_factory: LedgerFactory, history: list[Command], data: st.DataObject
) -> None:
    """On SQLite, each drawn mutation of a read-model table (a column changed, a fake row, a
    deleted row, two rows' values swapped) fails ``verify``, which names the row; publishing
    refuses or gives exactly what it gave before; ``rebuild`` repairs it."""
    ledger = ledger_factory("sqlite")

    def run(sql: str, params: list[Any]) -> None:
        with closing(sqlite3.connect(ledger.read_model.path)) as conn, conn:
            conn.execute(sql, params)

    try:
        _campaign(ledger, history, data, run)
    finally:
        ledger.close()  # now, not at the end of the test: one connection per example


@settings(CAMPAIGN, max_examples=25)
@given(history=histories(), data=st.data())
def test_postgres_verify_finds_every_read_model_mutation(
    ledger_factory: LedgerFactory,
    postgres_dsn: str,
    history: list[Command],
    data: st.DataObject,
) -> None:
    """On PostgreSQL, the same campaign: every mutation found and named, publishing refuses
    or stays truthful, ``rebuild`` repairs."""
    psycopg = pytest.importorskip("psycopg")
    ledger = ledger_factory("postgres")
    schema = ledger.store.schema  # type: ignore[attr-defined]

    def run(sql: str, params: list[Any]) -> None:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            conn.execute(sql.replace("?", "%s"), params)

    try:
        _campaign(ledger, history, data, run)
    finally:
        ledger.close()  # now, not at the end of the test: one connection per example


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The West Mercia register, made once: every read-model table has rows."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    result = CliRunner().invoke(main, ["--db", str(path), "demo"])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("kind", ["change", "insert", "delete", "swap"])
@pytest.mark.parametrize("table", sorted(TABLES))
@settings(CAMPAIGN, max_examples=6)
@given(data=st.data())
def test_every_kind_of_mutation_of_every_table_is_found(
    demo_file: Path, tmp_path: Path, table: str, kind: str, data: st.DataObject
) -> None:
    """Each table × each kind of mutation, on the West Mercia register: found and named,
    publishing refuses or stays truthful, ``rebuild`` repairs."""
    path = tmp_path / f"copy-{len(DETECTED)}.db"
    shutil.copyfile(demo_file, path)

    def run(sql: str, params: list[Any]) -> None:
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.execute(sql, params)

    with Ledger.open(str(path)) as ledger:
        _mutate_and_check(ledger, data, run, table, kind)
    path.unlink()


@pytest.mark.parametrize("kind", ["change", "insert", "delete", "swap"])
@pytest.mark.parametrize("table", sorted(TABLES))
@settings(CAMPAIGN, max_examples=2)
@given(data=st.data())
def test_every_kind_of_mutation_of_every_postgres_table_is_found(
    demo_file: Path,
    ledger_factory: LedgerFactory,
    postgres_dsn: str,
    table: str,
    kind: str,
    data: st.DataObject,
) -> None:
    """The same on PostgreSQL: each table × each kind of mutation of the West Mercia register
    (restored into a fresh schema) is found and named."""
    psycopg = pytest.importorskip("psycopg")
    ledger = ledger_factory("postgres")
    source = SQLiteEventStore(demo_file)
    try:
        ledger.store.restore(source.read_all())
    finally:
        source.close()
    ledger.refresh()
    schema = ledger.store.schema  # type: ignore[attr-defined]

    def run(sql: str, params: list[Any]) -> None:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            conn.execute(sql.replace("?", "%s"), params)

    try:
        _mutate_and_check(ledger, data, run, table, kind)
    finally:
        ledger.close()


def test_the_campaign_found_every_mutation() -> None:
    """The campaigns ran (this test runs after them, in file order): say how many mutations
    were tried, all of them found."""
    if not DETECTED:
        pytest.skip("no campaign ran in this session")
    kinds = sorted(set(DETECTED))
    print(f"\nread-model mutations tried {len(DETECTED)}, detected {len(DETECTED)}; {kinds}")


# -- the report -----------------------------------------------------------------------------------


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Ledger, str]]:
    """The West Mercia register in a SQLite file."""
    path = str(tmp_path / "demo.db")
    result = CliRunner().invoke(main, ["--db", path, "demo"])
    assert result.exit_code == 0, result.output
    with Ledger.open(path) as ledger:
        yield ledger, path


@contextmanager
def _edit(path: str) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path)) as conn, conn:
        yield conn


def test_a_changed_column_is_reported_with_both_values(demo: tuple[Ledger, str]) -> None:
    """The report gives the table, key, column, the value the log gives and the one found."""
    ledger, path = demo
    (action,) = [a for a in ledger.register() if a.id == "ACT-2021-001"]
    with _edit(path) as conn:
        conn.execute("UPDATE actions SET restricted = 1 - restricted WHERE id = 'ACT-2021-001'")
    report = ledger.verify()
    assert not report.ok
    assert report.difference_count == 1
    (difference,) = report.differences
    assert (difference.table, difference.key, difference.kind, difference.column) == (
        "actions",
        ("ACT-2021-001",),
        "changed",
        "restricted",
    )
    assert difference.expected == int(action.restricted)
    assert difference.found == 1 - int(action.restricted)
    assert "actions [ACT-2021-001] restricted" in (report.reason or "")


def test_many_differences_are_counted_and_a_few_listed(demo: tuple[Ledger, str]) -> None:
    """Every differing row is counted; the report lists the first ``LISTED`` of them."""
    ledger, path = demo
    with _edit(path) as conn:
        edited = conn.execute(
            "UPDATE audit_trail SET summary = summary || '!', actor = actor || '!'"
        ).rowcount
    assert 2 * edited > LISTED
    report = ledger.verify()
    assert report.difference_count == 2 * edited  # each column of each row
    assert len(report.differences) == LISTED
    assert {d.column for d in report.differences} == {"summary", "actor"}


def test_a_deleted_and_an_inserted_row_are_missing_and_extra(demo: tuple[Ledger, str]) -> None:
    """A deleted row is reported missing and a fake one extra, each by its key."""
    ledger, path = demo
    with _edit(path) as conn:
        conn.execute("DELETE FROM owners WHERE action_id = 'ACT-2021-002' AND seq = 1")
        conn.execute(
            "INSERT INTO links (action_id, kind, other, event_id, position, occurred_at, decision)"
            " VALUES ('ACT-2021-001', 'follows', 'ACT-1999-001', 'e', 1, 't', 'forged')"
        )
    report = ledger.verify()
    kinds = {(d.table, d.key, d.kind) for d in report.differences}
    assert kinds == {
        ("owners", ("ACT-2021-002", 1), "missing"),
        ("links", ("ACT-2021-001", "follows", "ACT-1999-001"), "extra"),
    }


def test_a_checkpoint_edited_to_another_version_is_reported(demo: tuple[Ledger, str]) -> None:
    """A checkpoint row must hold its projection's version."""
    ledger, path = demo
    with _edit(path) as conn:
        conn.execute("UPDATE read_model_checkpoints SET version = 99 WHERE projection = 'links'")
    report = ledger.verify()
    assert [(d.table, d.key, d.column, d.found) for d in report.differences] == [
        ("read_model_checkpoints", ("links",), "version", 99)
    ]


def test_a_checkpoint_moved_past_the_log_fails_verify(demo: tuple[Ledger, str]) -> None:
    """Tables that claim events the log does not hold fail, and say to rebuild."""
    ledger, path = demo
    with _edit(path) as conn:
        conn.execute("UPDATE read_model_checkpoints SET position = position + 5")
    report = ledger.verify()
    assert not report.ok
    assert "rebuild" in (report.reason or "")


def test_chain_only_and_chosen_projections(demo: tuple[Ledger, str]) -> None:
    """``read_models=False`` checks the chain only; a list of names checks those tables."""
    ledger, path = demo
    with _edit(path) as conn:
        conn.execute("UPDATE attendance SET name = 'Nobody' WHERE seq = 1")
    assert ledger.verify(read_models=False).ok
    assert ledger.verify(read_models=False).read_models_checked == ()
    assert ledger.verify(read_models=["actions", "links"]).ok
    report = ledger.verify(read_models=("meetings",))
    assert not report.ok
    assert {d.table for d in report.differences} == {"attendance"}


@given(
    bad=st.one_of(
        st.text(min_size=1)
        .filter(lambda s: s not in {p.name for p in PROJECTIONS})
        .map(lambda s: [s]),
        st.text(),
        st.integers(),
        st.none(),
    )
)
@settings(max_examples=40, deadline=None)
def test_unknown_projection_names_are_refused(bad: Any) -> None:
    """``read_models`` other than a bool or known projection names is a ValidationError
    naming the value and listing the accepted names."""
    with (
        Ledger.open(":memory:") as ledger,
        pytest.raises(ValidationError, match="read_models") as caught,
    ):
        ledger.verify(read_models=bad)
    if isinstance(bad, list):
        assert "accepted: actions, owners" in str(caught.value)


def test_a_memory_register_verifies_its_tables_too() -> None:
    """The in-memory register's private tables are checked like any other."""
    with Ledger.open(":memory:") as ledger:
        ledger.raise_action(text="Share the headlines.", owners=["CC"], actor="JI")
        report = ledger.verify()
    assert report.ok
    assert "actions" in report.read_models_checked


def test_the_report_round_trips_as_json(demo: tuple[Ledger, str]) -> None:
    """``verify --json`` prints the differences with their fields."""
    ledger, path = demo
    with _edit(path) as conn:
        conn.execute("UPDATE meetings SET title = 'Forged' WHERE id = '2021-10-04'")
    result = CliRunner().invoke(main, ["--db", path, "verify", "--json"])
    assert result.exit_code == EXIT_CODES["verify failed"]
    assert '"table": "meetings"' in result.output
    assert '"found": "Forged"' in result.output
    assert isinstance(ledger.verify(), VerifyReport)


# -- the CLI --------------------------------------------------------------------------------------


def test_cli_verify_names_the_rows_and_how_to_repair(demo: tuple[Ledger, str]) -> None:
    """The issue's case: an action made publishable in the table fails ``verify`` (exit 5)
    naming the row, ``export --format html`` refuses (exit 5, one line, no traceback), and
    after ``rebuild`` both work."""
    _, path = demo
    runner = CliRunner()
    with _edit(path) as conn:
        conn.execute(
            "UPDATE actions SET restricted = 0, data = replace(data, 'Revisit', 'Forged') "
            "WHERE id = 'ACT-2021-001'"
        )
        conn.execute(
            "INSERT INTO actions (id, text, owners, status, raised_at, raised_on, restricted,"
            " version, position, data) SELECT 'ACT-2021-999', 'Fake', owners, status, raised_at,"
            " raised_on, 0, 1, 1, data FROM actions WHERE id = 'ACT-2021-002'"
        )
    verify = runner.invoke(main, ["--db", path, "verify"])
    assert verify.exit_code == EXIT_CODES["verify failed"]
    assert "actions [ACT-2021-001] data" in verify.output
    assert "actions [ACT-2021-999]: a row the log does not make" in verify.output
    assert "repair: action-ledger rebuild" in verify.output
    for args in (
        ["export", "--format", "html"],
        ["export", "--format", "markdown"],
        ["export", "--format", "csv"],
        ["list", "--publishable", "--json"],
        ["agenda", "2021-10-04", "--publishable"],
        ["overdue", "2021-10-04", "--publishable"],
    ):
        refused = runner.invoke(main, ["--db", path, *args])
        assert refused.exit_code == EXIT_CODES["verify failed"], args
        assert "refusing to publish" in refused.output
        assert "Traceback" not in refused.output
        assert "actions [ACT-2021-001] data" in refused.output
    assert runner.invoke(main, ["--db", path, "verify", "--chain-only"]).exit_code == 0
    assert runner.invoke(main, ["--db", path, "rebuild"]).exit_code == 0
    assert runner.invoke(main, ["--db", path, "verify"]).exit_code == 0
    page = runner.invoke(main, ["--db", path, "export", "--format", "html"])
    assert page.exit_code == 0
    assert "Forged" not in page.output


def test_a_write_during_the_comparison_is_no_false_alarm(
    demo: tuple[Ledger, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process appending while the tables are compared moves the checkpoints: the
    copy is brought to the new position and the comparison runs again, so a sound register
    still verifies."""
    ledger, path = demo
    writes: list[str] = []
    compare = _ledger_module.compare_table

    def compare_then_write(*args: Any) -> None:
        compare(*args)
        if not writes:
            with Ledger.open(path) as other:
                writes.append(
                    other.raise_action(text="Raised meanwhile.", owners=["CC"], actor="JI")
                )

    monkeypatch.setattr(_ledger_module, "compare_table", compare_then_write)
    report = ledger.verify()
    assert writes
    assert report.ok, report.reason
