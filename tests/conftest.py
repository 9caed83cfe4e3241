"""Shared test set-up: Hypothesis profiles (a fast default, a thorough ``ci`` profile) and the
PostgreSQL test server (skipped when absent, unless ``ACTION_LEDGER_REQUIRE_POSTGRES=1``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# -- PostgreSQL ---------------------------------------------------------------------------------

PG_DSN = os.environ.get("ACTION_LEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("ACTION_LEDGER_REQUIRE_POSTGRES") == "1"


def _no_postgres(reason: str) -> None:
    """Skip the test, or fail it when ``ACTION_LEDGER_REQUIRE_POSTGRES=1`` (e.g. in CI)."""
    if REQUIRE_PG:
        pytest.fail(f"{reason} (required: ACTION_LEDGER_REQUIRE_POSTGRES=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """The test server's DSN (``ACTION_LEDGER_TEST_PG``); skips when it cannot be reached."""
    try:
        import psycopg

        from action_ledger._postgres import without_password
    except ImportError as exc:
        _no_postgres(f"psycopg is not installed ({exc}): pip install 'psycopg[binary]>=3.1'")
        raise
    try:
        psycopg.connect(PG_DSN, connect_timeout=3).close()
    except psycopg.Error as exc:
        _no_postgres(
            f"no PostgreSQL at {without_password(PG_DSN)} ({str(exc).strip()}): start it with "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, or point "
            "ACTION_LEDGER_TEST_PG at a server"
        )
    return PG_DSN


@pytest.fixture
def pg_schema(postgres_dsn: str) -> Iterator[Callable[[], str]]:
    """A factory of fresh, unique schema names (``t_<12 hex>``); every schema made under
    them is dropped at teardown."""
    from psycopg import connect, sql

    names: list[str] = []

    def new() -> str:
        names.append(f"t_{uuid.uuid4().hex[:12]}")
        return names[-1]

    yield new
    if names:
        with connect(postgres_dsn, autocommit=True) as conn:
            for name in names:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                )
