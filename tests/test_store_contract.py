"""The event store contract (``action_ledger.testing.contract``) run against each backend, on
fresh stores from the ``ledger_factory`` fixture of the package's pytest plugin (PostgreSQL
ones skipped when no server answers, unless ``ACTION_LEDGER_REQUIRE_POSTGRES=1``)."""

from __future__ import annotations

import functools

import pytest

from action_ledger.pytest_plugin import LedgerFactory
from action_ledger.store import EventStore
from action_ledger.testing.contract import EventStoreContract, StoreFactory


class _OnBackend(EventStoreContract):
    """The contract on fresh stores of ``backend``, closed (files deleted, schemas dropped)
    after each test."""

    backend: str

    @pytest.fixture
    def make_store(self, ledger_factory: LedgerFactory) -> StoreFactory:
        return functools.partial(ledger_factory.store, self.backend)

    @pytest.fixture
    def store(self, make_store: StoreFactory) -> EventStore:
        return make_store()


class TestMemoryStore(_OnBackend):
    """The in-memory reference store."""

    backend = "memory"


class TestSQLiteStore(_OnBackend):
    """The SQLite store, on a fresh file in a temporary directory for each store."""

    backend = "sqlite"


class TestPostgresStore(_OnBackend):
    """The PostgreSQL store, in a fresh schema of the test database for each store."""

    backend = "postgres"
