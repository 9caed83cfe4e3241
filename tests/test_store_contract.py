"""The event store contract (``tests/store_contract.py``) run against each backend."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from action_ledger import MemoryEventStore, SQLiteEventStore
from action_ledger._clock import system_clock
from action_ledger.store import EventStore
from action_ledger.testing.contract import EventStoreContract, StoreFactory


class TestMemoryStore(EventStoreContract):
    """The in-memory reference store."""

    @pytest.fixture
    def make_store(self) -> StoreFactory:
        def make(*, key=None, clock=None):  # type: ignore[no-untyped-def]
            return MemoryEventStore(key=key, clock=clock or system_clock)

        return make

    @pytest.fixture
    def store(self, make_store: StoreFactory) -> EventStore:
        return make_store()


class TestSQLiteStore(EventStoreContract):
    """The SQLite store, on a fresh file under ``tmp_path`` for each store."""

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[StoreFactory]:
        opened: list[SQLiteEventStore] = []
        numbers = itertools.count(1)

        def make(*, key=None, clock=None):  # type: ignore[no-untyped-def]
            path = tmp_path / f"events-{next(numbers)}.db"
            store = SQLiteEventStore(path, key=key, clock=clock or system_clock)
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()

    @pytest.fixture
    def store(self, make_store: StoreFactory) -> EventStore:
        return make_store()


class TestPostgresStore(EventStoreContract):
    """The PostgreSQL store, in a fresh schema of the test database for each store (skipped
    when no server answers at ``ACTION_LEDGER_TEST_PG``)."""

    @pytest.fixture
    def make_store(self, postgres_dsn: str, pg_schema: Callable[[], str]) -> Iterator[StoreFactory]:
        from action_ledger._postgres import PostgresEventStore

        opened: list[PostgresEventStore] = []

        def make(*, key=None, clock=None):  # type: ignore[no-untyped-def]
            store = PostgresEventStore(
                postgres_dsn, schema=pg_schema(), key=key, clock=clock or system_clock
            )
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()

    @pytest.fixture
    def store(self, make_store: StoreFactory) -> EventStore:
        return make_store()
