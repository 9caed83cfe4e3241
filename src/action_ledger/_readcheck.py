"""The read models checked against the log: every table must be the fold of the verified log.

The projections are the definition of the tables, so the check does not restate them: it
builds the tables again, with the same projections and the same runner, in a private
temporary SQLite file fed with the events as the chain check accepts them (one pass over the
log), and then compares each table of the register with its rebuilt twin in a merge: the
register's rows in pages ordered by primary key (keyset pagination, in the register's own
collation), each page's expected rows looked up by key in the twin. Memory stays bounded by
the page size and the runner's state cache, whatever the size of the register; the twin is
on disk.

A row the twin lacks is *extra*; a column that differs is *changed*; when the twin holds
more rows than were matched, a second pass names the *missing* ones. The checkpoints must
give each projection's version and the position the tables were compared at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ._projections import Projection, Table
from ._readmodel import CHECKPOINTS, ReadModel
from .store import RowDifference, StoredEvent

LISTED = 20
"""How many differences a report lists (it counts them all)."""

_PAGE = 500


class Differences:
    """The differences found so far: the first :data:`LISTED` kept, all counted."""

    def __init__(self, limit: int = LISTED) -> None:
        self.listed: list[RowDifference] = []
        self.count = 0
        self._limit = limit

    def add(self, difference: RowDifference) -> None:
        self.count += 1
        if len(self.listed) < self._limit:
            self.listed.append(difference)


class Twin:
    """The read models rebuilt from the verified log, in a private temporary file."""

    def __init__(self, projections: Sequence[Projection]) -> None:
        self.projections = tuple(projections)
        self.model = ReadModel.open("", projections=self.projections)
        self._conn = self.model.db.conn
        self._conn.execute("PRAGMA cache_size = -8000")  # 8 MB of pages, then the disk

    def close(self) -> None:
        self.model.close()

    def rows(self, table: Table, keys: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], Any]:
        """The twin's rows (all columns) of ``keys``, by key."""
        columns = ", ".join(table.columns)
        width = len(table.pk)
        if width == 1:
            where = f"{table.pk[0]} IN ({', '.join('?' * len(keys))})"
        else:
            one = "(" + ", ".join("?" * width) + ")"
            where = f"({', '.join(table.pk)}) IN (VALUES {', '.join([one] * len(keys))})"
        params = [v for key in keys for v in key]
        take = [list(table.columns).index(c) for c in table.pk]
        found = self._conn.execute(f"SELECT {columns} FROM {table.name} WHERE {where}", params)
        return {tuple(row[i] for i in take): row for row in found}

    def count(self, table: Table) -> int:
        (n,) = self._conn.execute(f"SELECT count(*) FROM {table.name}").fetchone()
        return int(n)

    def missing(
        self, table: Table, present: Iterable[tuple[Any, ...]], limit: int
    ) -> list[tuple[Any, ...]]:
        """The twin's keys that are not in ``present`` (the register's keys), at most
        ``limit`` of them (the failure path only: ``present`` goes to a temporary table)."""
        pk = ", ".join(table.pk)
        self._conn.execute("DROP TABLE IF EXISTS temp.present")
        self._conn.execute(f"CREATE TEMP TABLE present ({pk}, PRIMARY KEY ({pk}))")
        marks = ", ".join("?" * len(table.pk))
        self._conn.executemany(f"INSERT OR IGNORE INTO temp.present VALUES ({marks})", present)
        match = " AND ".join(f"p.{c} = t.{c}" for c in table.pk)
        found = self._conn.execute(
            f"SELECT {', '.join('t.' + c for c in table.pk)} FROM main.{table.name} t "
            f"WHERE NOT EXISTS (SELECT 1 FROM temp.present p WHERE {match}) LIMIT {int(limit)}"
        ).fetchall()
        self._conn.execute("DROP TABLE temp.present")
        return [tuple(row) for row in found]


def _pages(
    live: ReadModel, table: Table, columns: Sequence[str]
) -> Iterator[list[tuple[Any, ...]]]:
    """The register's rows of ``table`` (``columns``, the primary key first), in pages
    ordered by primary key."""
    pk = table.pk
    order = ", ".join(pk)
    chosen = ", ".join(columns)
    first = f"SELECT {chosen} FROM {table.name} ORDER BY {order} LIMIT {_PAGE}"
    after = (
        f"SELECT {chosen} FROM {table.name} WHERE ({order}) > ({', '.join('?' * len(pk))}) "
        f"ORDER BY {order} LIMIT {_PAGE}"
    )
    page = live.select(first)
    while page:
        yield page
        if len(page) < _PAGE:
            return
        page = live.select(after, list(page[-1][: len(pk)]))


def compare_table(live: ReadModel, twin: Twin, table: Table, found: Differences) -> None:
    """Compare one table of the register with its twin, adding what differs to ``found``."""
    names = list(table.columns)
    columns = list(table.pk) + [c for c in names if c not in table.pk]
    width = len(table.pk)
    at = {c: names.index(c) for c in columns}
    matched = 0
    for page in _pages(live, table, columns):
        expected = twin.rows(table, [tuple(row[:width]) for row in page])
        for row in page:
            key = tuple(row[:width])
            want = expected.get(key)
            if want is None:
                found.add(RowDifference(table=table.name, key=key, kind="extra"))
                continue
            matched += 1
            for column, value in zip(columns[width:], row[width:], strict=True):
                if want[at[column]] != value:
                    found.add(
                        RowDifference(
                            table=table.name,
                            key=key,
                            kind="changed",
                            column=column,
                            expected=want[at[column]],
                            found=value,
                        )
                    )
    total = twin.count(table)
    if total == matched:
        return
    keys = (tuple(row[:width]) for page in _pages(live, table, table.pk) for row in page)
    gone = twin.missing(table, keys, LISTED)
    for key in gone:
        found.add(RowDifference(table=table.name, key=key, kind="missing"))
    found.count += total - matched - len(gone)


def compare_checkpoints(
    live: dict[str, tuple[int, int]],
    projections: Sequence[Projection],
    position: int,
    found: Differences,
) -> None:
    """Each projection's checkpoint row must hold its version and ``position``."""
    for projection in projections:
        row = live.get(projection.name)
        key = (projection.name,)
        if row is None:
            found.add(RowDifference(table=CHECKPOINTS, key=key, kind="missing"))
            continue
        for column, want, value in (
            ("version", projection.version, row[0]),
            ("position", position, row[1]),
        ):
            if want != value:
                found.add(
                    RowDifference(
                        table=CHECKPOINTS,
                        key=key,
                        kind="changed",
                        column=column,
                        expected=want,
                        found=value,
                    )
                )


class Accepted:
    """The events the chain check accepted, handed to ``feed`` in batches as they come, up to
    a position (the one the register's tables are at)."""

    def __init__(
        self,
        events: Iterable[StoredEvent],
        feed: Callable[[list[StoredEvent]], object],
        up_to: int,
    ) -> None:
        self._events = events
        self._feed = feed
        self._up_to = up_to
        self._batch: list[StoredEvent] = []

    def __iter__(self) -> Iterator[StoredEvent]:
        for stored in self._events:
            yield stored
            # Reached only once the chain check asked for the next one: ``stored`` passed.
            if stored.position <= self._up_to:
                self._batch.append(stored)
                if len(self._batch) >= 5000:
                    self.flush()
        self.flush()

    def flush(self) -> None:
        if self._batch:
            self._feed(self._batch)
            self._batch = []
