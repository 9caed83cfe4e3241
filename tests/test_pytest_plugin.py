"""The package's pytest plugin (``action_ledger.pytest_plugin``): its fixtures, used by
throwaway test suites that ``pytester`` runs, and directly by these tests.

The suites that need PostgreSQL are given the server of this run (``--ledger-postgres``), so
these tests skip without one, unless ``ACTION_LEDGER_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from action_ledger import Ledger
from action_ledger.exceptions import ValidationError
from action_ledger.pytest_plugin import LedgerFactory
from action_ledger.testing.contract import StepClock

CLOSED_PORT = "postgresql://postgres@127.0.0.1:1/test"
REQUIRED = "ACTION_LEDGER_REQUIRE_POSTGRES"
EVENT_ID = "7d3c3a9e-7c1e-4c89-9a35-5c9d1c1f2a11"

# Each inner test reports the ledgers it was given (what kind of store, where) to seen.jsonl.
CHECK_CONFTEST = """
import json
import pathlib

import pytest

SEEN = pathlib.Path(__file__).with_name("seen.jsonl")


@pytest.fixture
def check(request):
    def check(ledger):
        store = ledger.store
        assert list(store.read_all()) == [], "a fresh ledger is empty"
        action_id = ledger.raise_action(text="Publish the plan", owners="CC", actor="tester")
        assert ledger.get(action_id).text == "Publish the plan"
        assert [action.id for action in ledger.register()] == [action_id]
        where = getattr(store, "schema", None) or getattr(store, "path", None)
        record = {"test": request.node.name, "store": type(store).__name__, "where": where}
        with SEEN.open("a") as seen:
            seen.write(json.dumps(record) + "\\n")

    return check
"""

EVERY_FIXTURE = """
import pytest

from action_ledger import Ledger


def test_default_backend(ledger, check):
    check(ledger)


@pytest.mark.parametrize("ledger_backend", ["memory", "sqlite", "postgres"])
def test_each_backend(ledger, check):
    check(ledger)


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])
@pytest.mark.parametrize("round", [1, 2])
def test_factory(ledger_factory, backend, round, check):
    check(ledger_factory(backend))
    check(ledger_factory(backend))


def test_closed_by_the_test_itself(ledger_factory, check):
    for backend in ledger_factory.backends:
        with ledger_factory(backend) as ledger:
            check(ledger)


def test_pg_schema(pg_schema, postgres_dsn, check):
    with Ledger.open(postgres_dsn, schema=pg_schema()) as ledger:
        check(ledger)
"""

BACKEND_ON_ONE_TEST = """
import pytest


@pytest.mark.parametrize("ledger_backend", ["memory", "sqlite", "postgres"])
def test_ledger(ledger):
    pass


def test_sqlite_factory(ledger_factory):
    ledger_factory("sqlite")


def test_pg_schema(pg_schema):
    pass
"""


@pytest.fixture(autouse=True)
def _not_required(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner runs skip without PostgreSQL unless a test asks otherwise (this run's own
    ``postgres_dsn``, session-scoped, was set up before this)."""
    monkeypatch.delenv(REQUIRED, raising=False)


def seen(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    """What the inner tests reported, in order."""
    lines = (pytester.path / "seen.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def run_every_fixture(pytester: pytest.Pytester, postgres_dsn: str) -> list[dict[str, Any]]:
    """Run ``EVERY_FIXTURE`` on this run's server; every test passes; what they saw."""
    pytester.makeconftest(CHECK_CONFTEST)
    pytester.makepyfile(EVERY_FIXTURE)
    basetemp = pytester.path / "basetemp"
    result = pytester.runpytest(f"--basetemp={basetemp}", "--ledger-postgres", postgres_dsn)
    result.assert_outcomes(passed=12)
    return seen(pytester)


def schema_exists(dsn: str, name: str) -> bool:
    """Whether the database has a schema of that name."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,))
        return found.fetchone() is not None


# -- the fixtures, in a throwaway suite ---------------------------------------------------------


def test_fixtures_give_working_empty_ledgers_of_each_backend(
    pytester: pytest.Pytester, postgres_dsn: str
) -> None:
    """`ledger` (SQLite by default, or the parametrized `ledger_backend`), `ledger_factory(b)`
    and `pg_schema` give empty ledgers of the asked backend that raise and read back an
    action."""
    stores = {(r["test"], r["store"]) for r in run_every_fixture(pytester, postgres_dsn)}
    assert ("test_default_backend", "SQLiteEventStore") in stores
    kinds = {"memory": "MemoryEventStore", "sqlite": "SQLiteEventStore"}
    kinds["postgres"] = "PostgresEventStore"
    for backend, kind in kinds.items():
        assert (f"test_each_backend[{backend}]", kind) in stores
        assert (f"test_factory[1-{backend}]", kind) in stores
    assert ("test_pg_schema", "PostgresEventStore") in stores


def test_every_test_and_every_call_gets_a_fresh_ledger(
    pytester: pytest.Pytester, postgres_dsn: str
) -> None:
    """No register is used twice: every SQLite ledger is its own file and every PostgreSQL
    one its own schema, across tests and calls (and each was empty when given)."""
    records = run_every_fixture(pytester, postgres_dsn)
    places = [r["where"] for r in records if r["store"] != "MemoryEventStore"]
    assert len(places) == 14  # default 1, each backend 2, factory 8, closed by the test 2, pg 1
    assert len(set(places)) == len(places)


def test_files_and_schemas_are_removed_after_the_tests(
    pytester: pytest.Pytester, postgres_dsn: str
) -> None:
    """After the run, no SQLite file and no PostgreSQL schema made for a test is left."""
    records = run_every_fixture(pytester, postgres_dsn)
    files = [Path(r["where"]) for r in records if r["store"] == "SQLiteEventStore"]
    schemas = [r["where"] for r in records if r["store"] == "PostgresEventStore"]
    assert files
    assert schemas
    assert [path for path in files if path.exists() or path.parent.exists()] == []
    assert list(pytester.path.rglob("*.db*")) == []
    assert list((pytester.path / "basetemp").glob("ledgers*")) == []
    assert [name for name in schemas if schema_exists(postgres_dsn, name)] == []


@pytest.mark.parametrize(
    ("option", "kind"),
    [
        ([], "SQLiteEventStore"),
        (["--ledger-backend", "memory"], "MemoryEventStore"),
        (["--ledger-backend", "sqlite"], "SQLiteEventStore"),
        (["--ledger-backend=postgres"], "PostgresEventStore"),
    ],
)
def test_ledger_backend_option_chooses_the_backend_of_ledger(
    pytester: pytest.Pytester, postgres_dsn: str, option: list[str], kind: str
) -> None:
    """`--ledger-backend` sets the backend of `ledger` (SQLite without it)."""
    pytester.makeconftest(CHECK_CONFTEST)
    pytester.makepyfile("def test_ledger(ledger, ledger_backend, check):\n    check(ledger)\n")
    pytester.runpytest("--ledger-postgres", postgres_dsn, *option).assert_outcomes(passed=1)
    assert [r["store"] for r in seen(pytester)] == [kind]


def test_ledger_backend_option_refuses_an_unknown_backend(pytester: pytest.Pytester) -> None:
    """`--ledger-backend` accepts only memory, sqlite and postgres."""
    pytester.makepyfile("def test_ledger(ledger):\n    pass\n")
    result = pytester.runpytest("--ledger-backend", "oracle")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ledger-backend: invalid choice: 'oracle'*"])


# -- PostgreSQL: which server, and what happens without one -------------------------------------


def test_postgres_tests_are_skipped_with_the_reason_when_no_server_answers(
    pytester: pytest.Pytester,
) -> None:
    """A server that does not answer skips the tests that need PostgreSQL, saying where it
    looked and how to give it a server, and only those."""
    pytester.makepyfile(BACKEND_ON_ONE_TEST)
    result = pytester.runpytest("-rs", "--ledger-postgres", CLOSED_PORT)
    result.assert_outcomes(passed=3, skipped=2)
    reason = (
        "no PostgreSQL server at postgresql://postgres@127.0.0.1:1/test (*Connection refused*): "
        "start one (e.g. docker run *), "
        "or name a server with --ledger-postgres DSN or $ACTION_LEDGER_TEST_PG"
    )
    result.stdout.fnmatch_lines([f"SKIPPED [[]1[]] *.py:{line}: {reason}" for line in (4, 13)])


def test_postgres_tests_fail_instead_when_postgresql_is_required(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `ACTION_LEDGER_REQUIRE_POSTGRES=1`, the tests that need an absent server fail
    (at set-up) with the reason, instead of being skipped."""
    monkeypatch.setenv(REQUIRED, "1")
    pytester.makepyfile(BACKEND_ON_ONE_TEST)
    result = pytester.runpytest("--ledger-postgres", CLOSED_PORT)
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*no PostgreSQL server at postgresql://postgres@127.0.0.1:1/test*"
            "(required: ACTION_LEDGER_REQUIRE_POSTGRES=1)"
        ]
    )


def test_server_is_the_option_else_the_environment_variable(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, postgres_dsn: str
) -> None:
    """`ACTION_LEDGER_TEST_PG` names the server, unless `--ledger-postgres` is given."""
    monkeypatch.setenv("ACTION_LEDGER_TEST_PG", CLOSED_PORT)
    pytester.makepyfile("def test_dsn(postgres_dsn):\n    pass\n")
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no PostgreSQL server at postgresql://postgres@127.0.0.1:1/*"])
    pytester.runpytest("--ledger-postgres", postgres_dsn).assert_outcomes(passed=1)


def test_postgres_tests_are_skipped_when_psycopg_is_missing(pytester: pytest.Pytester) -> None:
    """Without psycopg, the tests that need PostgreSQL are skipped saying what to install,
    and memory and SQLite ledgers still work."""
    pytester.makeconftest("import sys\n\nsys.modules['psycopg'] = None\n")
    pytester.makepyfile(BACKEND_ON_ONE_TEST)
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(passed=3, skipped=2)
    reason = (
        "PostgreSQL ledgers need psycopg, which is not installed (*): "
        "pip install 'action-ledger[[]postgres[]]'"  # [[] and []]: fnmatch's [ and ]
    )
    result.stdout.fnmatch_lines([f"SKIPPED [[]1[]] *.py:{line}: {reason}" for line in (4, 13)])


# -- ledger_factory, used directly --------------------------------------------------------------


def test_an_unknown_backend_is_refused_naming_the_accepted_ones(
    ledger_factory: LedgerFactory,
) -> None:
    """Asking for an unknown backend raises `ValidationError` (a `ValueError`) naming it and
    the accepted ones."""
    message = "unknown ledger backend 'oracle': use one of 'memory', 'sqlite', 'postgres'"
    assert ledger_factory.backends == ("memory", "sqlite", "postgres")
    with pytest.raises(ValidationError, match=message) as refused:
        ledger_factory("oracle")
    assert refused.value.field == "backend"
    assert isinstance(refused.value, ValueError)
    with pytest.raises(ValidationError, match=message):
        ledger_factory.store("oracle")


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])
def test_factory_passes_the_clock_and_the_key(ledger_factory: LedgerFactory, backend: str) -> None:
    """`clock=` is the ledger's and store's clock, also through `functools.partial`, and `key=`
    keys the hash chain: the same event gets another hash under a key."""
    make = functools.partial(ledger_factory, backend)

    def head(ledger: Ledger) -> tuple[int, str]:
        ledger.raise_action(text="Publish the plan", owners="CC", actor="tester", event_id=EVENT_ID)
        return ledger.head()

    ledger = make(clock=StepClock())
    first = head(ledger)
    assert first[0] == 1
    assert ledger.register()[0].id.startswith("ACT-2021-")  # the year of the step clock
    assert next(iter(ledger.store.read_all())).recorded_at.startswith("2021-10-04T14:00:0")
    plain = head(ledger_factory(backend, clock=StepClock()))
    keyed = head(ledger_factory(backend, key=b"secret", clock=StepClock()))
    assert head(ledger_factory(backend, key=b"secret", clock=StepClock())) == keyed
    assert plain == first != keyed


# -- the plugin itself --------------------------------------------------------------------------


def test_plugin_is_registered_through_its_entry_point(pytester: pytest.Pytester) -> None:
    """A new pytest process loads the plugin, named `action_ledger`, from the package's
    `pytest11` entry point, with no `-p` option or `pytest_plugins`."""
    pytester.makepyfile(
        """
        def test_registered(pytestconfig):
            plugin = pytestconfig.pluginmanager.get_plugin("action_ledger")
            assert plugin.__name__ == "action_ledger.pytest_plugin"
        """
    )
    result = pytester.runpytest_subprocess("--trace-config")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*action?ledger-*pytest_plugin.py*"])


def test_plugin_can_be_disabled_with_p_no(pytester: pytest.Pytester) -> None:
    """`-p no:action_ledger` leaves the plugin out: its fixtures and options are gone."""
    pytester.makepyfile("def test_ledger(ledger):\n    pass\n")
    result = pytester.runpytest("-p", "no:action_ledger")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'ledger' not found*"])
    assert pytester.runpytest("-p", "no:action_ledger", "--ledger-backend", "memory").ret == (
        pytest.ExitCode.USAGE_ERROR
    )


def test_plugin_module_imports_without_hypothesis_or_psycopg() -> None:
    """The plugin module imports with only pytest and the core package: not hypothesis,
    psycopg or `action_ledger.testing` (pytest loads it in every project)."""
    script = textwrap.dedent(
        """
        import sys

        sys.modules["hypothesis"] = None
        sys.modules["psycopg"] = None
        import action_ledger.pytest_plugin

        loaded = {"action_ledger.testing", "action_ledger._postgres"} & set(sys.modules)
        assert not loaded, loaded
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
