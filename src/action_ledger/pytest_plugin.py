"""pytest fixtures giving temporary, empty ledgers of every backend to code that embeds
action_ledger.

Installing the package (``pip install action-ledger``; add the ``postgres`` extra for
PostgreSQL ledgers) registers this plugin with pytest through the ``pytest11`` entry point, so
the fixtures are available in every test suite of that environment, with nothing to import::

    def test_raise_and_read_back(ledger):
        action_id = ledger.raise_action(text="Publish the plan", owners="CC", actor="me")
        assert ledger.get(action_id).text == "Publish the plan"

    @pytest.mark.parametrize("ledger_backend", ["memory", "sqlite", "postgres"])
    def test_on_every_backend(ledger): ...

    def test_two_registers(ledger_factory):
        a = ledger_factory("memory")
        b = ledger_factory("postgres", key=b"secret", clock=my_clock)

Fixtures:

* ``ledger``: a fresh, empty :class:`~action_ledger.Ledger` of the ``ledger_backend``
  backend, closed after the test.
* ``ledger_backend``: ``"memory"``, ``"sqlite"`` or ``"postgres"``: the ``--ledger-backend``
  option (``"sqlite"`` unless given); override it per test with
  ``@pytest.mark.parametrize("ledger_backend", [...])``.
* ``ledger_factory``: a :class:`LedgerFactory`, called as
  ``ledger_factory(backend="sqlite", *, key=None, clock=None, **options)`` for each fresh
  ledger wanted (``options`` go to :meth:`Ledger.open <action_ledger.Ledger.open>`), or
  ``ledger_factory.store(backend, *, key=None, clock=None)`` for a bare event store. A
  ``"memory"`` ledger is ``Ledger.open(":memory:")``; a ``"sqlite"`` one, a new file in a
  temporary directory; a ``"postgres"`` one, a new schema of the ``postgres_dsn`` database.
  Everything it made is closed after the test, its files deleted and its schemas dropped.
* ``postgres_dsn`` (session): the PostgreSQL test server's connection string. The test is
  skipped, with the reason, when psycopg is not installed or the server does not answer.
  Only tests that use PostgreSQL ask for it: memory and SQLite ledgers never need a server.
* ``pg_schema``: a factory of fresh schema names (``t_<12 hex>``) in that database, for
  registers opened by the test itself; every schema named is dropped after the test.

Options and environment variables:

* ``--ledger-backend {memory,sqlite,postgres}``: the default ``ledger_backend``.
* ``--ledger-postgres DSN``, else ``ACTION_LEDGER_TEST_PG``, else
  ``postgresql://postgres@127.0.0.1:5432/test``: the PostgreSQL test server.
* ``ACTION_LEDGER_REQUIRE_POSTGRES=1``: fail, instead of skip, the tests that need a
  PostgreSQL server that cannot be reached (for CI, where a skip would hide a broken set-up).

To disable the plugin in one run, pass ``-p no:action_ledger``; in a project, add it to the
``addopts`` of its pytest configuration.

The plugin is loaded by pytest in every project of an environment where action_ledger is
installed, so importing it needs only pytest: action_ledger, psycopg and the rest are
imported when a fixture is first used.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from action_ledger import Keyring, Ledger
    from action_ledger._clock import Clock
    from action_ledger.store import EventStore

__all__ = ["BACKENDS", "DEFAULT_POSTGRES_DSN", "LedgerFactory"]

BACKENDS: tuple[str, ...] = ("memory", "sqlite", "postgres")
"""The backends the fixtures make ledgers of."""

DEFAULT_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"
"""The PostgreSQL test server used when neither ``--ledger-postgres`` nor
``ACTION_LEDGER_TEST_PG`` names one."""

DSN_VARIABLE = "ACTION_LEDGER_TEST_PG"
REQUIRE_VARIABLE = "ACTION_LEDGER_REQUIRE_POSTGRES"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--ledger-backend`` and ``--ledger-postgres``."""
    group = parser.getgroup("action_ledger", "action_ledger temporary ledgers")
    group.addoption(
        "--ledger-backend",
        choices=BACKENDS,
        default="sqlite",
        help="backend of the `ledger` fixture (default: sqlite)",
    )
    group.addoption(
        "--ledger-postgres",
        metavar="DSN",
        default=None,
        help=f"PostgreSQL test server for postgres ledgers (default: ${DSN_VARIABLE}, "
        f"else {DEFAULT_POSTGRES_DSN})",
    )


# -- PostgreSQL ---------------------------------------------------------------------------------


def _no_postgres(reason: str) -> NoReturn:
    """Skip the test, or fail it when ``ACTION_LEDGER_REQUIRE_POSTGRES=1`` (e.g. in CI)."""
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{reason} (required: {REQUIRE_VARIABLE}=1)", pytrace=False)
    pytest.skip(reason)


def _new_schema_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def _drop_schemas(dsn: str, names: list[str]) -> None:
    """Drop the schemas (and all they hold) that exist among ``names``."""
    if not names:
        return
    from psycopg import connect, sql

    with connect(dsn, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '30s'")  # a register left open fails, not hangs
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_dsn(pytestconfig: pytest.Config) -> str:
    """The PostgreSQL test server's connection string: ``--ledger-postgres``, else
    ``$ACTION_LEDGER_TEST_PG``, else ``postgresql://postgres@127.0.0.1:5432/test``.

    Skips the test (fails it when ``ACTION_LEDGER_REQUIRE_POSTGRES=1``) when psycopg is not
    installed or the server does not answer within 3 seconds.
    """
    option: str | None = pytestconfig.getoption("ledger_postgres")
    dsn = option or os.environ.get(DSN_VARIABLE) or DEFAULT_POSTGRES_DSN
    try:
        import psycopg

        from action_ledger._postgres import without_password
    except ImportError as exc:
        _no_postgres(
            f"PostgreSQL ledgers need psycopg, which is not installed ({exc}): "
            "pip install 'action-ledger[postgres]'"
        )
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.Error as exc:
        detail = " ".join(str(exc).split())
        _no_postgres(
            f"no PostgreSQL server at {without_password(dsn)} ({detail}): start one (e.g. "
            "docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test "
            f"postgres), or name a server with --ledger-postgres DSN or ${DSN_VARIABLE}"
        )
    return dsn


@pytest.fixture
def pg_schema(postgres_dsn: str) -> Iterator[Callable[[], str]]:
    """A factory of fresh, unique schema names (``t_<12 hex>``) in the ``postgres_dsn``
    database; every schema named is dropped, with all it holds, after the test.

    Close the registers opened on them within the test (or in a fixture that uses
    ``pg_schema``), so that nothing holds a lock on them when they are dropped.
    """
    names: list[str] = []

    def new() -> str:
        names.append(_new_schema_name())
        return names[-1]

    yield new
    _drop_schemas(postgres_dsn, names)


# -- ledgers ------------------------------------------------------------------------------------


class LedgerFactory:
    """Makes fresh, empty ledgers (or bare event stores) of each backend for one test, and
    closes them after it: the ``ledger_factory`` fixture.

    ``"memory"`` is an in-memory register; ``"sqlite"`` a new file in a temporary directory
    (deleted after the test); ``"postgres"`` a new schema (dropped after the test) of the
    ``postgres_dsn`` database, which is asked for only then, so a test that makes no
    PostgreSQL ledger never needs, or skips for want of, a server.
    """

    backends: tuple[str, ...] = BACKENDS
    """The backend names accepted."""

    def __init__(
        self, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        self._request = request
        self._tmp_path_factory = tmp_path_factory
        self._cleanup = contextlib.ExitStack()
        self._directory: Path | None = None
        self._numbers = itertools.count(1)
        self._schemas: list[str] | None = None
        self._dsn: str | None = None

    def __call__(
        self,
        backend: str = "sqlite",
        *,
        key: bytes | Keyring | None = None,
        clock: Clock | None = None,
        **options: Any,
    ) -> Ledger:
        """A fresh, empty ledger of ``backend`` (``"memory"``, ``"sqlite"`` or
        ``"postgres"``).

        Args:
            backend: where the register is kept.
            key: an HMAC key for the hash chain (or a :class:`~action_ledger.Keyring`).
            clock: the ledger's and store's clock; ``None`` for the default (system) clock.
            options: further arguments of :meth:`Ledger.open <action_ledger.Ledger.open>`
                (``max_retries``, ``cache_size``, ``synchronous``…; not ``schema``, which the
                factory chooses).

        Raises:
            ValidationError: an unknown backend (a ``ValueError``).
        """
        from action_ledger import Ledger

        target, where = self._target(backend)
        if clock is not None:
            options["clock"] = clock
        ledger = Ledger.open(target, key=key, **where, **options)
        self._cleanup.callback(ledger.close)
        return ledger

    def store(
        self,
        backend: str = "sqlite",
        *,
        key: bytes | Keyring | None = None,
        clock: Clock | None = None,
    ) -> EventStore:
        """A fresh, empty event store of ``backend``, without a ledger or read model (e.g. for
        :class:`action_ledger.testing.contract.EventStoreContract`); arguments as for a
        ledger.

        Raises:
            ValidationError: an unknown backend (a ``ValueError``).
        """
        from action_ledger._clock import system_clock
        from action_ledger._ledger import open_store

        target, where = self._target(backend)
        store = open_store(target, key=key, clock=clock or system_clock, **where)
        self._cleanup.callback(store.close)
        return store

    def close(self) -> None:
        """Close everything made, then delete the files and drop the schemas (run after the
        test by the fixture)."""
        self._cleanup.close()

    def _target(self, backend: str) -> tuple[str, dict[str, Any]]:
        """What to open for a new register of ``backend``, and the ``schema`` argument."""
        if backend == "memory":
            return ":memory:", {}
        if backend == "sqlite":
            return str(self._sqlite_directory() / f"ledger-{next(self._numbers)}.db"), {}
        if backend == "postgres":
            dsn, schemas = self._postgres()
            schemas.append(_new_schema_name())
            return dsn, {"schema": schemas[-1]}
        from action_ledger.exceptions import ValidationError

        accepted = ", ".join(repr(name) for name in self.backends)
        raise ValidationError(
            f"unknown ledger backend {backend!r}: use one of {accepted}",
            field="backend",
            value=backend,
        )

    def _sqlite_directory(self) -> Path:
        if self._directory is None:
            directory = self._tmp_path_factory.mktemp("ledgers")
            # registered before the first file's register: removed after it is closed
            self._cleanup.callback(shutil.rmtree, directory, ignore_errors=True)
            self._directory = directory
        return self._directory

    def _postgres(self) -> tuple[str, list[str]]:
        if self._dsn is None or self._schemas is None:
            dsn: str = self._request.getfixturevalue("postgres_dsn")
            schemas: list[str] = []
            # registered before the first schema's register: dropped after it is closed
            self._cleanup.callback(_drop_schemas, dsn, schemas)
            self._dsn, self._schemas = dsn, schemas
        return self._dsn, self._schemas


@pytest.fixture
def ledger_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LedgerFactory]:
    """A :class:`LedgerFactory`: ``ledger_factory(backend="sqlite", *, key=None, clock=None,
    **options)`` returns a fresh, empty ledger of ``backend`` (``"memory"``, ``"sqlite"`` or
    ``"postgres"``); every ledger made is closed after the test, its file deleted or its
    schema dropped. ``clock=None`` means the default clock."""
    factory = LedgerFactory(request, tmp_path_factory)
    yield factory
    factory.close()


@pytest.fixture
def ledger_backend(pytestconfig: pytest.Config) -> str:
    """The backend of the ``ledger`` fixture: ``--ledger-backend`` (``"sqlite"`` unless
    given); a test overrides it with ``@pytest.mark.parametrize("ledger_backend", [...])``."""
    backend: str = pytestconfig.getoption("ledger_backend")
    return backend


@pytest.fixture
def ledger(ledger_factory: LedgerFactory, ledger_backend: str) -> Ledger:
    """A fresh, empty :class:`~action_ledger.Ledger` of ``ledger_backend``, closed (its file
    deleted or its schema dropped) after the test."""
    return ledger_factory(ledger_backend)
