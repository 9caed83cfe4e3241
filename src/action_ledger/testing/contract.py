"""The event store contract: one suite every backend must pass.

Subclass :class:`EventStoreContract` in a ``test_*.py`` module and provide two fixtures:

* ``make_store``: a factory ``make_store(*, key=None, clock=None) -> EventStore`` returning a
  fresh, empty store (``clock=None`` means the backend's default clock); the fixture closes
  what it made at teardown;
* ``store``: a fresh, empty store (usually ``make_store()``).

The class has no ``Test`` prefix, so pytest collects it only through its subclasses.
"""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from action_ledger import MemoryEventStore
from action_ledger._clock import format_utc
from action_ledger.exceptions import (
    ActionLedgerError,
    ConcurrencyError,
    DuplicateEventError,
    IntegrityError,
    StoreError,
    ValidationError,
)
from action_ledger.store import (
    GENESIS_HASH,
    EventStore,
    NewEvent,
    StoredEvent,
    chain_hash,
    verify_chain,
)

__all__ = ["EventStoreContract", "StepClock", "StoreFactory", "new_event", "new_events"]

_NAMESPACE = uuid.UUID("6f1c2a52-2b8e-4a43-9a55-0d6f3b1f7e11")
OCCURRED = "2021-10-04T12:30:00.000000Z"
T0 = pendulum.datetime(2021, 10, 4, 14, 0, 0, tz="UTC")
HEX64 = re.compile(r"[0-9a-f]{64}")


class StoreFactory(Protocol):
    """What the ``make_store`` fixture returns."""

    def __call__(
        self, *, key: bytes | None = None, clock: Callable[[], pendulum.DateTime] | None = None
    ) -> EventStore: ...


class StepClock:
    """A clock for tests: returns ``now``, then moves it on by ``step`` (which may be negative)."""

    def __init__(self, start: pendulum.DateTime = T0, step: dt.timedelta | None = None) -> None:
        self.now = start
        self.step = dt.timedelta(seconds=1) if step is None else step
        self.calls = 0

    def __call__(self) -> pendulum.DateTime:
        self.calls += 1
        moment = self.now
        self.now = self.now + self.step
        return moment


def event_id(name: str) -> str:
    """A deterministic UUID for a readable test name."""
    return str(uuid.uuid5(_NAMESPACE, name))


def new_event(name: str, **overrides: Any) -> NewEvent:
    """An envelope whose id is derived from ``name`` (same name, same id)."""
    fields: dict[str, Any] = {
        "event_id": event_id(name),
        "event_type": "action.raised",
        "schema_version": 1,
        "data": json.dumps({"name": name}, sort_keys=True, separators=(",", ":")),
        "occurred_at": OCCURRED,
        "actor": "policy.officer",
    }
    fields.update(overrides)
    return NewEvent(**fields)


def new_events(prefix: str, count: int) -> list[NewEvent]:
    """``count`` envelopes named ``prefix-1`` … ``prefix-count``."""
    return [new_event(f"{prefix}-{n}") for n in range(1, count + 1)]


def ids(events: Sequence[NewEvent | StoredEvent]) -> list[str]:
    return [e.event_id for e in events]


def snapshot(store: EventStore) -> list[StoredEvent]:
    return list(store.read_all())


def sealed_log(count: int, *, key: bytes | None = None) -> list[StoredEvent]:
    """A log of ``count`` events over four streams, in batches of 1 to 3, written by the
    in-memory reference store with a step clock: what a backup of a real store holds."""
    source = MemoryEventStore(key=key, clock=StepClock())
    streams = ["action:A", "action:B", "meeting:M", "action:C"]
    n = batch_no = 0
    while n < count:
        stream = streams[batch_no % len(streams)]
        size = min(1 + batch_no % 3, count - n)
        source.append(stream, new_events(f"log-{batch_no}", size), source.stream_version(stream))
        n += size
        batch_no += 1
    return snapshot(source)


def reseal(log: Sequence[StoredEvent], *, key: bytes | None = None) -> list[StoredEvent]:
    """The log with ``prev_hash`` and ``hash`` recomputed along the chain: a forgery that
    the hash chain alone cannot tell from the real thing (without the key)."""
    forged = []
    prev_hash = GENESIS_HASH
    for event in log:
        digest = chain_hash(
            prev_hash,
            position=event.position,
            stream_id=event.stream_id,
            version=event.version,
            event=event,
            recorded_at=event.recorded_at,
            key=key,
        )
        forged.append(attrs.evolve(event, prev_hash=prev_hash, hash=digest))
        prev_hash = digest
    return forged


def assert_empty(store: EventStore, log: Sequence[StoredEvent] = ()) -> None:
    """The store holds nothing: no events, no streams, none of ``log``'s ids."""
    assert store.last_position() == 0
    assert snapshot(store) == []
    assert store.count_streams("") == 0
    for event in log:
        assert store.stream_version(event.stream_id) == 0
        assert store.get_event(event.event_id) is None


def names_position(error: BaseException, position: int) -> bool:
    return re.search(rf"\bposition {position}\b", str(error)) is not None


class EventStoreContract:
    """Behaviour every :class:`~action_ledger.store.EventStore` backend must show."""

    @pytest.fixture
    def make_store(self) -> StoreFactory:
        pytest.skip("this backend provides no make_store factory")

    @pytest.fixture
    def store(self) -> EventStore:
        raise NotImplementedError("a contract subclass must provide a `store` fixture")

    # -- shape and emptiness -----------------------------------------------------------------

    def test_store_satisfies_the_protocol(self, store: EventStore) -> None:
        """The backend is recognised as an ``EventStore`` (runtime-checkable protocol)."""
        assert isinstance(store, EventStore)

    def test_new_store_is_empty(self, store: EventStore) -> None:
        """A fresh store has no events, no streams, last position 0 and stream versions 0."""
        assert store.last_position() == 0
        assert store.stream_version("action:ACT-2021-001") == 0
        assert store.read_stream("action:ACT-2021-001") == []
        assert list(store.read_all()) == []
        assert store.count_streams("") == 0

    # -- appending ---------------------------------------------------------------------------

    def test_append_to_new_stream_returns_positions_1_to_n(self, store: EventStore) -> None:
        """The first append of three events to a new stream returns positions (1, 2, 3)."""
        assert store.append("action:A", new_events("a", 3), 0) == (1, 2, 3)

    def test_append_gives_versions_1_to_n(self, store: EventStore) -> None:
        """Events appended to a new stream get versions 1..n in batch order."""
        store.append("action:A", new_events("a", 4), 0)
        stored = store.read_stream("action:A")
        assert [e.version for e in stored] == [1, 2, 3, 4]
        assert ids(stored) == ids(new_events("a", 4))

    def test_second_append_continues_versions(self, store: EventStore) -> None:
        """A second append at the current version continues the stream's versions and positions."""
        store.append("action:A", new_events("a", 2), 0)
        assert store.append("action:A", new_events("b", 2), 2) == (3, 4)
        assert [e.version for e in store.read_stream("action:A")] == [1, 2, 3, 4]

    def test_global_positions_gap_free_across_streams(self, store: EventStore) -> None:
        """Positions are global, gap-free and follow commit order across interleaved streams."""
        assert store.append("action:A", new_events("a1", 2), 0) == (1, 2)
        assert store.append("action:B", new_events("b1", 1), 0) == (3,)
        assert store.append("action:A", new_events("a2", 1), 2) == (4,)
        assert store.append("meeting:M", new_events("m1", 3), 0) == (5, 6, 7)
        log = snapshot(store)
        assert [e.position for e in log] == list(range(1, 8))
        assert [e.stream_id for e in log] == ["action:A"] * 2 + ["action:B", "action:A"] + [
            "meeting:M"
        ] * 3
        assert [e.version for e in log] == [1, 2, 1, 3, 1, 2, 3]

    def test_last_position_follows_appends(self, store: EventStore) -> None:
        """``last_position`` is the position of the last stored event."""
        store.append("action:A", new_events("a", 2), 0)
        assert store.last_position() == 2
        store.append("action:B", new_events("b", 3), 0)
        assert store.last_position() == 5

    def test_stream_version_is_per_stream(self, store: EventStore) -> None:
        """``stream_version`` counts only that stream's events (0 for an unknown stream)."""
        store.append("action:A", new_events("a", 2), 0)
        store.append("action:B", new_events("b", 3), 0)
        store.append("action:A", new_events("c", 1), 2)
        assert store.stream_version("action:A") == 3
        assert store.stream_version("action:B") == 3
        assert store.stream_version("action:C") == 0

    def test_get_event_finds_a_stored_event_by_id(self, store: EventStore) -> None:
        """``get_event`` returns the stored envelope with that id, or ``None`` for an unknown id."""
        store.append("action:A-1", new_events("a", 2), 0)
        store.append("action:B-1", new_events("b", 1), 0)
        found = store.get_event(event_id("a-2"))
        assert found is not None
        assert (found.stream_id, found.version, found.position) == ("action:A-1", 2, 2)
        assert found == list(store.read_all())[1]
        assert store.get_event(event_id("never-stored")) is None

    def test_count_streams_by_prefix(self, store: EventStore) -> None:
        """``count_streams`` counts distinct streams whose ids start with the prefix."""
        for stream in (
            "action:ACT-2021-001",
            "action:ACT-2021-002",
            "action:ACT-2022-001",
            "meeting:2021-10-04",
        ):
            store.append(stream, new_events(stream, 2), 0)
        store.append("action:ACT-2021-001", [new_event("more")], 2)
        assert store.count_streams("action:") == 3
        assert store.count_streams("action:ACT-2021-") == 2
        assert store.count_streams("meeting:") == 1
        assert store.count_streams("") == 4
        assert store.count_streams("action:ACT-2023-") == 0
        assert store.count_streams("action:ACT-2021-001") == 1

    def test_envelope_fields_are_stored_verbatim(self, store: EventStore) -> None:
        """Every field of the appended envelope comes back unchanged (including non-ASCII text)."""
        event = new_event(
            "x",
            event_type="action.updated",
            schema_version=3,
            data='{"note":"Briefing note — “Op Sceptre” £5k","n":1}',
            occurred_at="2018-04-23T09:15:00.123456Z",
            actor="T/Ch Supt Ömer",
        )
        store.append("action:A", [event], 0)
        (stored,) = store.read_stream("action:A")
        for field in ("event_id", "event_type", "schema_version", "data", "occurred_at", "actor"):
            assert getattr(stored, field) == getattr(event, field), field
        assert stored.stream_id == "action:A"

    def test_read_stream_and_read_all_agree(self, store: EventStore) -> None:
        """The same stored events come back from ``read_stream`` and ``read_all``."""
        store.append("action:A", new_events("a", 2), 0)
        store.append("action:B", new_events("b", 2), 0)
        log = snapshot(store)
        assert store.read_stream("action:A") == [e for e in log if e.stream_id == "action:A"]
        assert store.read_stream("action:B") == [e for e in log if e.stream_id == "action:B"]

    # -- optimistic concurrency --------------------------------------------------------------

    def test_stale_expected_version_raises_concurrency_error(self, store: EventStore) -> None:
        """Appending with an expected version behind the stream raises ``ConcurrencyError``."""
        store.append("action:A", new_events("a", 2), 0)
        with pytest.raises(ConcurrencyError) as caught:
            store.append("action:A", [new_event("late")], 1)
        assert caught.value.expected == 1
        assert caught.value.actual == 2
        assert caught.value.stream_id == "action:A"

    def test_concurrency_error_message_names_both_versions(self, store: EventStore) -> None:
        """The concurrency error's message states the expected and the actual version."""
        store.append("action:A", new_events("a", 7), 0)
        with pytest.raises(ConcurrencyError) as caught:
            store.append("action:A", [new_event("late")], 4)
        message = str(caught.value)
        assert "7" in message
        assert "4" in message
        assert "action:A" in message

    def test_expected_version_ahead_raises_concurrency_error(self, store: EventStore) -> None:
        """An expected version beyond the stream's version is refused too."""
        store.append("action:A", new_events("a", 2), 0)
        with pytest.raises(ConcurrencyError) as caught:
            store.append("action:A", [new_event("early")], 5)
        assert (caught.value.expected, caught.value.actual) == (5, 2)

    def test_new_stream_with_nonzero_expected_version_fails(self, store: EventStore) -> None:
        """A stream that does not exist is at version 0, so expecting 1 fails with actual 0."""
        with pytest.raises(ConcurrencyError) as caught:
            store.append("action:NEW", [new_event("n")], 1)
        assert (caught.value.expected, caught.value.actual) == (1, 0)
        assert store.last_position() == 0

    def test_concurrency_error_is_an_action_ledger_error(self, store: EventStore) -> None:
        """``ConcurrencyError`` can be caught as ``ActionLedgerError``."""
        store.append("action:A", [new_event("a")], 0)
        with pytest.raises(ActionLedgerError):
            store.append("action:A", [new_event("b")], 0)

    def test_stale_append_leaves_store_unchanged(self, store: EventStore) -> None:
        """After a refused stale append the log, versions and positions are exactly as before."""
        store.append("action:A", new_events("a", 2), 0)
        store.append("action:B", new_events("b", 1), 0)
        before = snapshot(store)
        with pytest.raises(ConcurrencyError):
            store.append("action:A", new_events("stale", 3), 1)
        assert snapshot(store) == before
        assert store.last_position() == 3
        assert store.stream_version("action:A") == 2
        # The refused ids were not stored: they can be appended properly now.
        assert store.append("action:A", new_events("stale", 3), 2) == (4, 5, 6)

    # -- idempotency and duplicates ----------------------------------------------------------

    def test_resending_a_batch_returns_the_original_positions(self, store: EventStore) -> None:
        """Re-sending the same batch (same event ids) is a no-op returning its first positions."""
        batch = new_events("a", 3)
        first = store.append("action:A", batch, 0)
        before = snapshot(store)
        assert store.append("action:A", batch, 0) == first
        assert snapshot(store) == before

    def test_resend_with_stale_version_is_still_a_noop(self, store: EventStore) -> None:
        """A retry is recognised even though its expected version has since become stale."""
        store.append("action:B", new_events("b", 2), 0)
        batch = new_events("a", 2)
        first = store.append("action:A", batch, 0)
        store.append("action:A", new_events("later", 3), 2)
        before = snapshot(store)
        assert store.append("action:A", batch, 0) == first == (3, 4)
        assert snapshot(store) == before
        assert store.stream_version("action:A") == 5

    def test_resend_of_an_older_batch_in_the_middle_of_a_stream(self, store: EventStore) -> None:
        """A retry of a batch that is neither first nor last in its stream is a no-op too."""
        store.append("action:A", new_events("a1", 1), 0)
        middle = new_events("a2", 2)
        assert store.append("action:A", middle, 1) == (2, 3)
        store.append("action:A", new_events("a3", 1), 3)
        assert store.append("action:A", middle, 1) == (2, 3)
        assert store.last_position() == 4

    def test_partial_overlap_raises_and_writes_nothing(self, store: EventStore) -> None:
        """A batch whose ids are partly stored already raises ``DuplicateEventError``."""
        store.append("action:A", new_events("a", 2), 0)
        before = snapshot(store)
        mixed = [new_event("a-2"), new_event("fresh")]
        with pytest.raises(DuplicateEventError):
            store.append("action:A", mixed, 2)
        assert snapshot(store) == before
        # "fresh" was not stored by the failed append.
        assert store.append("action:A", [new_event("fresh")], 2) == (3,)

    def test_superset_of_a_stored_batch_is_a_duplicate(self, store: EventStore) -> None:
        """Re-sending a stored batch with an extra new event is a partial overlap, not a retry."""
        batch = new_events("a", 2)
        store.append("action:A", batch, 0)
        with pytest.raises(DuplicateEventError):
            store.append("action:A", [*batch, new_event("extra")], 0)
        assert store.last_position() == 2

    def test_same_ids_to_another_stream_raise_duplicate(self, store: EventStore) -> None:
        """Sending stored event ids to a different stream raises ``DuplicateEventError``."""
        batch = new_events("a", 2)
        store.append("action:A", batch, 0)
        before = snapshot(store)
        with pytest.raises(DuplicateEventError):
            store.append("action:B", batch, 0)
        assert snapshot(store) == before
        assert store.stream_version("action:B") == 0

    def test_same_ids_in_another_order_raise_duplicate(self, store: EventStore) -> None:
        """Re-sending a stored batch in a different order is not a retry: it is refused."""
        batch = new_events("a", 3)
        store.append("action:A", batch, 0)
        with pytest.raises(DuplicateEventError):
            store.append("action:A", list(reversed(batch)), 0)
        assert store.last_position() == 3

    def test_batch_repeating_an_id_raises_duplicate(self, store: EventStore) -> None:
        """A batch that contains the same event id twice raises ``DuplicateEventError``."""
        with pytest.raises(DuplicateEventError):
            store.append("action:A", [new_event("a"), new_event("b"), new_event("a")], 0)
        assert store.last_position() == 0
        assert store.stream_version("action:A") == 0

    def test_empty_batch_raises_validation_error(self, store: EventStore) -> None:
        """Appending an empty batch raises ``ValidationError`` and stores nothing."""
        with pytest.raises(ValidationError):
            store.append("action:A", [], 0)
        assert store.last_position() == 0
        assert store.count_streams("") == 0

    def test_empty_stream_id_raises_validation_error(self, store: EventStore) -> None:
        """Appending to an empty stream id raises ``ValidationError``."""
        with pytest.raises(ValidationError):
            store.append("", [new_event("a")], 0)
        assert store.last_position() == 0

    def test_duplicate_event_error_is_an_action_ledger_error(self, store: EventStore) -> None:
        """``DuplicateEventError`` can be caught as ``ActionLedgerError``."""
        store.append("action:A", [new_event("a")], 0)
        with pytest.raises(ActionLedgerError):
            store.append("action:B", [new_event("a")], 0)

    # -- append_many -------------------------------------------------------------------------

    def test_append_many_returns_gap_free_positions_per_batch(self, store: EventStore) -> None:
        """``append_many`` stores the batches in order, positions gap-free after the log's last,
        and returns each batch's positions."""
        store.append("meeting:M", [new_event("m")], 0)
        result = store.append_many(
            [
                ("action:A", new_events("a", 2), 0),
                ("action:B", new_events("b", 1), 0),
                ("meeting:M", new_events("c", 3), 1),
            ]
        )
        assert result == [(2, 3), (4,), (5, 6, 7)]
        log = snapshot(store)
        assert [e.position for e in log] == list(range(1, 8))
        assert [(e.stream_id, e.version) for e in log[1:]] == [
            ("action:A", 1),
            ("action:A", 2),
            ("action:B", 1),
            ("meeting:M", 2),
            ("meeting:M", 3),
            ("meeting:M", 4),
        ]
        assert verify_chain(store.read_all(), key=store.key).ok

    def test_append_many_stale_later_batch_stores_nothing(self, store: EventStore) -> None:
        """A stale version in the last batch raises ``ConcurrencyError`` for it, and no event of
        the good batches before it is stored."""
        store.append("meeting:M", new_events("m", 2), 0)
        before = snapshot(store)
        good = [("action:A", new_events("a", 2), 0), ("action:B", new_events("b", 3), 0)]
        with pytest.raises(ConcurrencyError) as caught:
            store.append_many([*good, ("meeting:M", [new_event("stale")], 1)])
        assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == (
            "meeting:M",
            1,
            2,
        )
        assert snapshot(store) == before
        assert store.stream_version("action:A") == 0
        assert store.stream_version("action:B") == 0
        assert store.get_event(event_id("a-1")) is None
        assert store.append_many(good) == [(3, 4), (5, 6, 7)]

    def test_append_many_stream_twice_continues_its_version(self, store: EventStore) -> None:
        """A stream named twice: the second batch expects the version the first one left."""
        store.append("action:A", [new_event("a")], 0)
        result = store.append_many(
            [
                ("action:A", new_events("b", 2), 1),
                ("action:B", [new_event("x")], 0),
                ("action:A", new_events("c", 1), 3),
            ]
        )
        assert result == [(2, 3), (4,), (5,)]
        assert [e.version for e in store.read_stream("action:A")] == [1, 2, 3, 4]

    def test_append_many_stream_twice_at_the_version_read_before(self, store: EventStore) -> None:
        """Both batches of a stream expecting the version read before the call: the second
        is stale, as it would be in successive appends, and nothing is stored."""
        store.append("action:A", [new_event("a")], 0)
        with pytest.raises(ConcurrencyError) as caught:
            store.append_many(
                [("action:A", new_events("b", 2), 1), ("action:A", new_events("c", 1), 1)]
            )
        assert (caught.value.expected, caught.value.actual) == (1, 3)
        assert store.last_position() == 1

    def test_append_many_exact_retry_inside_is_a_noop(self, store: EventStore) -> None:
        """A batch that is an exact retry of a stored one returns its original positions, even
        at a stale version, while the new batches around it are stored once each."""
        first = store.append("action:A", new_events("a", 2), 0)
        store.append("action:A", [new_event("later")], 2)
        result = store.append_many(
            [
                ("action:B", new_events("b", 2), 0),
                ("action:A", new_events("a", 2), 0),
                ("action:C", new_events("c", 1), 0),
            ]
        )
        assert result == [(4, 5), first, (6,)]
        log = snapshot(store)
        assert [(e.stream_id, e.version) for e in log] == [
            ("action:A", 1),
            ("action:A", 2),
            ("action:A", 3),
            ("action:B", 1),
            ("action:B", 2),
            ("action:C", 1),
        ]
        assert verify_chain(log, key=store.key).ok

    def test_append_many_same_batch_twice_in_one_call(self, store: EventStore) -> None:
        """The same batch twice in one call: the second is a retry of the first."""
        batch = new_events("a", 2)
        assert store.append_many([("action:A", batch, 0), ("action:A", batch, 0)]) == [
            (1, 2),
            (1, 2),
        ]
        assert store.last_position() == 2

    def test_append_many_whole_call_retried(self, store: EventStore) -> None:
        """Re-sending a whole call returns the original positions and stores nothing more."""
        batches = [
            ("action:A", new_events("a", 2), 0),
            ("action:B", new_events("b", 1), 0),
            ("action:A", new_events("c", 2), 2),
        ]
        first = store.append_many(batches)
        before = snapshot(store)
        assert store.append_many(batches) == first == [(1, 2), (3,), (4, 5)]
        assert snapshot(store) == before

    @pytest.mark.parametrize(
        "batches",
        [
            # an id repeated across two batches of the call
            [("action:B", new_events("b", 2), 0), ("action:C", [new_event("b-2")], 0)],
            # a stored id, in a later batch, sent to another stream
            [("action:B", new_events("b", 1), 0), ("action:C", [new_event("a-1")], 0)],
            # a later batch with one stored id and one new one
            [
                ("action:B", new_events("b", 1), 0),
                ("action:A", [new_event("a-2"), new_event("x")], 2),
            ],
            # a stored batch re-sent in another order
            [("action:B", new_events("b", 1), 0), ("action:A", new_events("a", 2)[::-1], 0)],
        ],
    )
    def test_append_many_duplicate_ids_refused(
        self, store: EventStore, batches: list[tuple[str, list[NewEvent], int]]
    ) -> None:
        """Event ids stored already, or earlier in the call, other than as an exact retry of a
        batch, raise ``DuplicateEventError`` and store nothing of any batch."""
        store.append("action:A", new_events("a", 2), 0)
        before = snapshot(store)
        with pytest.raises(DuplicateEventError):
            store.append_many(batches)
        assert snapshot(store) == before
        assert store.stream_version("action:B") == 0
        assert store.append("action:B", new_events("b", 2), 0) == (3, 4)

    @pytest.mark.parametrize(
        ("batches", "error"),
        [
            (
                [("action:B", [new_event("b")], 0), ("action:A", [new_event("s")], 1)],
                ConcurrencyError,
            ),
            (
                [("action:B", [new_event("b")], 0), ("action:C", [new_event("a-1")], 0)],
                DuplicateEventError,
            ),
            ([("action:B", [new_event("b")], 0), ("action:C", [], 0)], ValidationError),
            ([("action:B", [new_event("b")], 0), ("", [new_event("c")], 0)], ValidationError),
            (
                [
                    ("action:B", [new_event("b")], 0),
                    ("action:C", [new_event("c"), new_event("c")], 0),
                ],
                DuplicateEventError,
            ),
            # the first failing batch's error, as successive appends would raise it
            ([("action:A", [new_event("z")], 0), ("action:C", [], 0)], ConcurrencyError),
            (
                [
                    ("action:B", [new_event("a-1"), new_event("y")], 0),
                    ("action:A", [new_event("z")], 0),
                ],
                DuplicateEventError,
            ),
        ],
    )
    def test_append_many_leaves_the_store_unchanged_after_any_error(
        self,
        store: EventStore,
        batches: list[tuple[str, list[NewEvent], int]],
        error: type[Exception],
    ) -> None:
        """Whatever the error, it is the first failing batch's, and the log, versions, ids and
        streams are exactly as before the call."""
        store.append("action:A", new_events("a", 2), 0)
        before = snapshot(store)
        with pytest.raises(error):
            store.append_many(batches)
        assert snapshot(store) == before
        assert store.last_position() == 2
        assert store.count_streams("") == 1
        for stream in ("action:B", "action:C"):
            assert store.stream_version(stream) == 0
        for name in ("b", "c", "y", "z"):
            assert store.get_event(event_id(name)) is None

    def test_append_many_of_nothing(self, store: EventStore) -> None:
        """An empty list of batches stores nothing and returns an empty list."""
        assert store.append_many([]) == []
        assert store.last_position() == 0

    @pytest.mark.parametrize(
        "retry",
        [
            ("action:B", new_events("b", 1), 0),  # of a batch earlier in the call
            ("meeting:X", [new_event("x")], 0),  # of a stored batch, at a stale version
            ("meeting:X", [new_event("x")], 1),  # of a stored batch, at the current version
        ],
    )
    def test_append_many_matches_successive_appends(
        self, make_store: StoreFactory, retry: tuple[str, list[NewEvent], int]
    ) -> None:
        """``append_many`` stores exactly what successive appends to the reference store do:
        same positions, versions, recorded times (one clock reading per appended batch) and
        hashes."""
        batches = [
            ("action:A", new_events("a", 2), 0),
            ("action:B", new_events("b", 1), 0),
            ("action:A", new_events("c", 3), 2),
            retry,
            ("meeting:M", new_events("m", 2), 0),
        ]
        step = dt.timedelta(seconds=90)
        store = make_store(clock=StepClock(step=step))
        reference = MemoryEventStore(clock=StepClock(step=step))
        store.append("meeting:X", [new_event("x")], 0)
        reference.append("meeting:X", [new_event("x")], 0)
        assert store.append_many(batches) == [reference.append(*batch) for batch in batches]
        assert snapshot(store) == snapshot(reference)
        assert len({e.recorded_at for e in snapshot(store)}) == 5

    # -- reading one stream ------------------------------------------------------------------

    def test_read_stream_returns_only_that_stream_in_version_order(self, store: EventStore) -> None:
        """``read_stream`` returns one stream's events, in version order, skipping others."""
        store.append("action:A", new_events("a1", 2), 0)
        store.append("action:B", new_events("b1", 2), 0)
        store.append("action:A", new_events("a2", 2), 2)
        stored = store.read_stream("action:A")
        assert [e.version for e in stored] == [1, 2, 3, 4]
        assert [e.position for e in stored] == [1, 2, 5, 6]
        assert ids(stored) == ids(new_events("a1", 2) + new_events("a2", 2))

    @pytest.mark.parametrize(("up_to", "expected"), [(0, 0), (1, 1), (3, 3), (5, 5), (9, 5)])
    def test_read_stream_up_to_version(self, store: EventStore, up_to: int, expected: int) -> None:
        """``up_to_version`` returns versions 1..up_to (all of them when beyond the end)."""
        store.append("action:A", new_events("a", 3), 0)
        store.append("action:B", new_events("b", 2), 0)
        store.append("action:A", new_events("c", 2), 3)
        stored = store.read_stream("action:A", up_to_version=up_to)
        assert [e.version for e in stored] == list(range(1, expected + 1))

    def test_read_unknown_stream_is_empty(self, store: EventStore) -> None:
        """Reading a stream that has no events returns an empty list."""
        store.append("action:A", [new_event("a")], 0)
        assert store.read_stream("action:B") == []
        assert store.read_stream("action:") == []

    # -- reading the global log --------------------------------------------------------------

    def _fill(self, store: EventStore, count: int = 13) -> list[StoredEvent]:
        """Append ``count`` events spread over three streams, in batches of 1 and 2."""
        streams = ["action:A", "action:B", "meeting:M"]
        n = 0
        batch_no = 0
        while n < count:
            stream = streams[batch_no % 3]
            size = min(1 + batch_no % 2, count - n)
            store.append(stream, new_events(f"fill-{batch_no}", size), store.stream_version(stream))
            n += size
            batch_no += 1
        return snapshot(store)

    def test_read_all_is_in_position_order(self, store: EventStore) -> None:
        """``read_all`` yields every event once, positions 1..n ascending."""
        log = self._fill(store)
        assert [e.position for e in log] == list(range(1, 14))
        assert len({e.event_id for e in log}) == 13

    @pytest.mark.parametrize("after", [0, 1, 5, 12, 13, 20])
    def test_read_all_after(self, store: EventStore, after: int) -> None:
        """``read_all(after=k)`` yields the events at positions k+1 onwards."""
        self._fill(store)
        assert [e.position for e in store.read_all(after=after)] == list(range(after + 1, 14))

    @pytest.mark.parametrize("limit", [0, 1, 4, 13, 50])
    def test_read_all_limit(self, store: EventStore, limit: int) -> None:
        """``read_all(limit=k)`` yields at most k events from the start."""
        self._fill(store)
        assert [e.position for e in store.read_all(limit=limit)] == list(
            range(1, min(limit, 13) + 1)
        )

    @pytest.mark.parametrize("page_size", [1, 2, 3, 5, 13, 14, 1000])
    def test_read_all_page_size_does_not_change_the_result(
        self, store: EventStore, page_size: int
    ) -> None:
        """Reading in pages of any size (including 1) yields the same whole log."""
        log = self._fill(store)
        assert list(store.read_all(page_size=page_size)) == log

    @pytest.mark.parametrize("page_size", [0, -1])
    def test_read_all_bad_page_size_never_drops_events(
        self, store: EventStore, page_size: int
    ) -> None:
        """A page size below 1 is refused (``ValidationError``) or ignored, never an empty log."""
        log = self._fill(store)
        try:
            got = list(store.read_all(page_size=page_size))
        except ValidationError:
            return
        assert got == log, "an empty log here would also verify as ok with 0 events checked"

    @pytest.mark.parametrize(
        ("after", "limit", "page_size"),
        [
            (0, 5, 2),  # limit ends mid-page
            (0, 6, 3),  # limit ends on a page boundary
            (1, 7, 3),  # after and limit both off-boundary
            (3, 4, 1),
            (2, 11, 4),  # limit reaches exactly the end
            (2, 30, 4),  # limit beyond the end
            (10, 5, 2),  # fewer left than the limit
            (4, 1, 5),
        ],
    )
    def test_read_all_limit_across_page_boundaries(
        self, store: EventStore, after: int, limit: int, page_size: int
    ) -> None:
        """``after`` and ``limit`` give the same slice of the log whatever the page size."""
        log = self._fill(store)
        got = list(store.read_all(after=after, limit=limit, page_size=page_size))
        assert got == log[after : after + limit]

    def test_read_all_is_an_iterator(self, store: EventStore) -> None:
        """``read_all`` returns a one-pass iterator that resumes where ``islice`` stopped."""
        self._fill(store)
        it = store.read_all(page_size=2)
        assert isinstance(it, Iterator)
        assert not isinstance(it, (list, tuple))
        assert iter(it) is it
        assert [e.position for e in itertools.islice(it, 3)] == [1, 2, 3]
        assert next(it).position == 4
        assert [e.position for e in it] == list(range(5, 14))
        assert list(it) == []

    def test_read_all_is_a_generator(self, store: EventStore) -> None:
        """``read_all`` is a generator, so nothing is read before the first item is asked for."""
        self._fill(store, 3)
        assert inspect.isgenerator(store.read_all())

    def test_read_all_reads_nothing_until_iterated(self, store: EventStore) -> None:
        """An iterator created before an append still sees the event: it had read nothing yet."""
        it = store.read_all(page_size=1)
        store.append("action:A", new_events("a", 2), 0)
        assert [e.position for e in it] == [1, 2]

    def test_islice_of_a_large_log_takes_only_what_it_needs(self, store: EventStore) -> None:
        """Taking the first item of a paged read of a bigger log yields just that item."""
        self._fill(store, 13)
        first = list(itertools.islice(store.read_all(page_size=1), 1))
        assert [e.position for e in first] == [1]

    # -- recorded_at -------------------------------------------------------------------------

    def test_recorded_at_comes_from_the_store_clock(self, make_store: StoreFactory) -> None:
        """``recorded_at`` is the injected clock's instant, converted to canonical UTC text."""
        london = pendulum.datetime(2021, 10, 4, 14, 5, 6, 789, tz="Europe/London")
        store = make_store(clock=lambda: london)
        store.append("action:A", [new_event("a")], 0)
        (stored,) = store.read_stream("action:A")
        assert stored.recorded_at == "2021-10-04T13:05:06.000789Z"

    def test_recorded_at_is_canonical_utc_text(self, store: EventStore) -> None:
        """With the default clock, ``recorded_at`` is UTC text ending in Z that round-trips."""
        before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        store.append("action:A", [new_event("a")], 0)
        after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        (stored,) = store.read_stream("action:A")
        text = stored.recorded_at
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", text), text
        moment = dt.datetime.fromisoformat(text)
        assert moment.utcoffset() == dt.timedelta(0)
        assert format_utc(moment) == text
        assert before <= moment <= after

    def test_recorded_at_is_not_occurred_at(self, make_store: StoreFactory) -> None:
        """The store sets ``recorded_at`` itself and leaves ``occurred_at`` as given."""
        store = make_store(clock=StepClock())
        store.append("action:A", [new_event("a", occurred_at="2018-04-23T09:00:00.000000Z")], 0)
        (stored,) = store.read_stream("action:A")
        assert stored.occurred_at == "2018-04-23T09:00:00.000000Z"
        assert stored.recorded_at == format_utc(T0)

    def test_one_batch_shares_one_recorded_at(self, make_store: StoreFactory) -> None:
        """All events of one append share the same ``recorded_at``."""
        store = make_store(clock=StepClock(step=dt.timedelta(seconds=5)))
        store.append("action:A", new_events("a", 4), 0)
        assert {e.recorded_at for e in store.read_stream("action:A")} == {format_utc(T0)}

    def test_recorded_at_advances_with_the_clock(self, make_store: StoreFactory) -> None:
        """Later appends with a later clock get later ``recorded_at`` values."""
        store = make_store(clock=StepClock(step=dt.timedelta(minutes=1)))
        store.append("action:A", [new_event("a")], 0)
        store.append("action:B", [new_event("b")], 0)
        first, second = snapshot(store)
        assert first.recorded_at == format_utc(T0)
        assert second.recorded_at == format_utc(T0 + dt.timedelta(minutes=1))

    def test_recorded_at_never_decreases_when_clock_goes_back(
        self, make_store: StoreFactory
    ) -> None:
        """If the clock jumps backwards, ``recorded_at`` stays at the latest value stored."""
        store = make_store(clock=StepClock(step=dt.timedelta(hours=-1)))
        for n in range(4):
            store.append(
                f"action:{n % 2}", [new_event(f"e{n}")], store.stream_version(f"action:{n % 2}")
            )
        recorded = [e.recorded_at for e in snapshot(store)]
        assert recorded == [format_utc(T0)] * 4
        assert recorded == sorted(recorded)

    def test_recorded_at_is_monotonic_under_a_jittery_clock(self, make_store: StoreFactory) -> None:
        """Under a clock that goes back and forth, ``recorded_at`` is non-decreasing."""
        offsets = [0, 30, -600, 45, 44, -3600, 90, 89]
        moments = iter(T0 + dt.timedelta(seconds=s) for s in offsets)
        store = make_store(clock=lambda: next(moments))
        for n in range(len(offsets)):
            store.append("action:A", [new_event(f"e{n}")], n)
        recorded = [e.recorded_at for e in snapshot(store)]
        assert recorded == sorted(recorded)
        assert recorded[-1] == format_utc(T0 + dt.timedelta(seconds=90))
        assert recorded[2] == format_utc(T0 + dt.timedelta(seconds=30))

    # -- the hash chain ----------------------------------------------------------------------

    def test_verify_empty_log(self, store: EventStore) -> None:
        """Verifying an empty log is ok, checks 0 events and reports the genesis head."""
        report = verify_chain(store.read_all(), key=store.key)
        assert report.ok
        assert report.checked == 0
        assert report.head_hash == GENESIS_HASH

    def test_verify_fresh_log_is_ok(self, store: EventStore) -> None:
        """A log written only through the store verifies, with the last hash as the head."""
        log = self._fill(store)
        report = verify_chain(store.read_all(), key=store.key)
        assert report.ok, report.reason
        assert report.checked == 13
        assert report.first_bad_position is None
        assert report.reason is None
        assert report.head_hash == log[-1].hash

    def test_first_event_links_to_genesis(self, store: EventStore) -> None:
        """The first event's ``prev_hash`` is ``GENESIS_HASH``."""
        store.append("action:A", [new_event("a")], 0)
        (first,) = snapshot(store)
        assert first.prev_hash == GENESIS_HASH

    def test_each_prev_hash_is_the_previous_hash(self, store: EventStore) -> None:
        """Event n's ``prev_hash`` is event n-1's ``hash``, across batches and streams."""
        log = self._fill(store)
        for before, after in itertools.pairwise(log):
            assert after.prev_hash == before.hash

    def test_hashes_are_distinct_sha256_hex(self, store: EventStore) -> None:
        """Every hash is 64 lowercase hex digits, and no two events share one."""
        log = self._fill(store)
        assert all(HEX64.fullmatch(e.hash) for e in log)
        assert len({e.hash for e in log}) == len(log)

    def test_hash_is_the_chain_hash_of_the_event(self, store: EventStore) -> None:
        """Each stored hash equals ``chain_hash`` recomputed over the stored envelope."""
        log = self._fill(store, 5)
        for event in log:
            assert event.hash == chain_hash(
                event.prev_hash,
                position=event.position,
                stream_id=event.stream_id,
                version=event.version,
                event=event,
                recorded_at=event.recorded_at,
                key=store.key,
            )

    def test_hashes_match_the_reference_store(self, make_store: StoreFactory) -> None:
        """Given the same clock and appends, the backend's log equals the in-memory reference's."""
        store = make_store(clock=StepClock())
        reference = MemoryEventStore(clock=StepClock())
        for target in (store, reference):
            target.append("action:A", new_events("a", 2), 0)
            target.append("meeting:M", new_events("m", 3), 0)
            target.append("action:A", new_events("b", 1), 2)
        assert snapshot(store) == snapshot(reference)

    def test_store_exposes_its_key(self, make_store: StoreFactory) -> None:
        """The store's ``key`` attribute is the key it was opened with (``None`` by default)."""
        assert make_store().key is None
        assert make_store(key=b"secret").key == b"secret"

    def test_keyed_hashes_differ_from_unkeyed(self, make_store: StoreFactory) -> None:
        """With an HMAC key, the same appends at the same times produce different hashes."""
        plain = make_store(clock=StepClock())
        keyed = make_store(key=b"opcc-register-key", clock=StepClock())
        for target in (plain, keyed):
            target.append("action:A", new_events("a", 3), 0)
        plain_log, keyed_log = snapshot(plain), snapshot(keyed)
        assert [e.recorded_at for e in plain_log] == [e.recorded_at for e in keyed_log]
        assert all(p.hash != k.hash for p, k in zip(plain_log, keyed_log, strict=True))
        assert keyed_log[0].prev_hash == GENESIS_HASH

    def test_keyed_log_verifies_with_its_key(self, make_store: StoreFactory) -> None:
        """A keyed log verifies when checked with the same key."""
        store = make_store(key=b"opcc-register-key")
        self._fill(store, 6)
        report = verify_chain(store.read_all(), key=b"opcc-register-key")
        assert report.ok, report.reason
        assert report.checked == 6

    def test_keyed_log_fails_with_the_wrong_key_at_position_1(
        self, make_store: StoreFactory
    ) -> None:
        """Verifying a keyed log with the wrong key fails at position 1 with a reason."""
        store = make_store(key=b"opcc-register-key")
        self._fill(store, 6)
        report = verify_chain(store.read_all(), key=b"not-the-key")
        assert not report.ok
        assert report.first_bad_position == 1
        assert report.reason
        assert report.head_hash == GENESIS_HASH

    def test_keyed_log_fails_without_a_key_at_position_1(self, make_store: StoreFactory) -> None:
        """Verifying a keyed log as if it were unkeyed fails at position 1."""
        store = make_store(key=b"opcc-register-key")
        self._fill(store, 3)
        report = verify_chain(store.read_all())
        assert not report.ok
        assert report.first_bad_position == 1

    def test_published_head_stays_valid_as_the_log_grows(self, store: EventStore) -> None:
        """A head hash published earlier is still found after later appends."""
        store.append("action:A", new_events("a", 3), 0)
        head = verify_chain(store.read_all(), key=store.key).head_hash
        store.append("action:B", new_events("b", 3), 0)
        report = verify_chain(store.read_all(), key=store.key, head=head)
        assert report.ok, report.reason
        assert report.head_hash != head

    def test_unknown_head_fails_verification(self, store: EventStore) -> None:
        """A published head that is not in the log makes verification fail with a reason."""
        store.append("action:A", new_events("a", 3), 0)
        report = verify_chain(store.read_all(), key=store.key, head="f" * 64)
        assert not report.ok
        assert report.reason
        assert "head" in report.reason

    # -- restore -----------------------------------------------------------------------------

    def test_restore_keeps_every_event_unchanged(self, store: EventStore) -> None:
        """A restored log reads back exactly as exported: positions, versions, recorded times
        and hashes; and returns how many events it restored."""
        log = sealed_log(20)
        assert store.restore(log) == 20
        assert snapshot(store) == log
        assert store.last_position() == 20
        assert store.count_streams("") == 4
        assert store.count_streams("action:") == 3
        for stream in ("action:A", "action:B", "action:C", "meeting:M"):
            expected = [e for e in log if e.stream_id == stream]
            assert store.read_stream(stream) == expected
            assert store.stream_version(stream) == len(expected)
        assert store.get_event(log[7].event_id) == log[7]

    def test_restore_keeps_the_published_head(self, store: EventStore) -> None:
        """The head hash published before the backup still verifies on the restored store."""
        log = sealed_log(12)
        head = verify_chain(log).head_hash
        store.restore(iter(log))
        report = verify_chain(store.read_all(), key=store.key, head=head)
        assert report.ok, report.reason
        assert (report.checked, report.head_hash) == (12, log[-1].hash)

    def test_restore_of_nothing(self, store: EventStore) -> None:
        """Restoring no events returns 0 and leaves an empty store that appends normally."""
        assert store.restore([]) == 0
        assert_empty(store)
        assert store.append("action:A", [new_event("a")], 0) == (1,)

    def test_append_after_restore_continues_the_log(self, make_store: StoreFactory) -> None:
        """After a restore, appends continue positions, versions and the chain, and
        ``recorded_at`` does not go below the restored log's last, even on a slow clock."""
        log = sealed_log(9)
        store = make_store(clock=StepClock(start=T0 - dt.timedelta(days=1)))
        store.restore(log)
        version = store.stream_version("action:A")
        assert store.append("action:A", new_events("after", 2), version) == (10, 11)
        new = snapshot(store)[9:]
        assert [e.version for e in new] == [version + 1, version + 2]
        assert new[0].prev_hash == log[-1].hash
        assert new[0].recorded_at == log[-1].recorded_at
        report = verify_chain(store.read_all(), key=store.key, head=log[-1].hash)
        assert report.ok, report.reason

    def test_restore_with_the_same_key(self, make_store: StoreFactory) -> None:
        """A keyed log restores into a store with the same key, and verifies with it."""
        log = sealed_log(6, key=b"opcc-register-key")
        store = make_store(key=b"opcc-register-key")
        assert store.restore(log) == 6
        assert verify_chain(store.read_all(), key=b"opcc-register-key").ok

    @pytest.mark.parametrize("key", [b"not-the-key", None])
    def test_restore_with_another_key_is_refused(
        self, make_store: StoreFactory, key: bytes | None
    ) -> None:
        """A keyed log restored under another key (or none) fails at position 1 and leaves the
        store empty."""
        log = sealed_log(6, key=b"opcc-register-key")
        store = make_store(key=key)
        with pytest.raises(IntegrityError) as caught:
            store.restore(log)
        assert names_position(caught.value, 1), caught.value
        assert "hash" in str(caught.value)
        assert_empty(store, log)

    def test_restore_into_a_store_with_events_is_refused(self, store: EventStore) -> None:
        """Restoring into a store that holds events raises ``StoreError`` saying the register
        must be empty, and changes nothing."""
        store.append("action:A", new_events("a", 2), 0)
        before = snapshot(store)
        with pytest.raises(StoreError, match="empty"):
            store.restore(sealed_log(3))
        assert snapshot(store) == before

    @pytest.mark.parametrize(
        ("tamper", "position", "words"),
        [
            (lambda log: log[:4] + log[5:], 5, "position"),  # an event removed
            (lambda log: [*log[:3], log[4], log[3], *log[5:]], 4, "position"),  # two swapped
            (lambda log: log[1:], 1, "position"),  # the first removed
            (lambda log: [*log[:3], log[2], *log[3:]], 4, "position"),  # one repeated
            (
                lambda log: reseal([*log[:6], attrs.evolve(log[6], version=log[6].version + 1)]),
                7,
                "version",
            ),
            (lambda log: [*log[:5], attrs.evolve(log[5], prev_hash=log[3].hash)], 6, "prev_hash"),
            (lambda log: [*log[:5], attrs.evolve(log[5], hash="f" * 64), *log[6:]], 6, "hash"),
            (
                lambda log: [*log[:8], attrs.evolve(log[8], data='{"name":"x"}'), *log[9:]],
                9,
                "hash",
            ),
            (
                lambda log: reseal(
                    [*log[:8], attrs.evolve(log[8], recorded_at="2021-10-04T13:00:00.000000Z")]
                ),
                9,
                "recorded_at",
            ),
            (
                lambda log: reseal([*log[:8], attrs.evolve(log[8], event_id=log[2].event_id)]),
                9,
                "event id",
            ),
        ],
        ids=[
            "removed",
            "swapped",
            "first-removed",
            "repeated",
            "version-skip",
            "prev-hash",
            "hash",
            "edited-data",
            "recorded-at-back",
            "repeated-id",
        ],
    )
    def test_restore_refuses_a_damaged_log(
        self,
        store: EventStore,
        tamper: Callable[[list[StoredEvent]], list[StoredEvent]],
        position: int,
        words: str,
    ) -> None:
        """Each kind of damage raises ``IntegrityError`` naming the position and what is wrong,
        and leaves the store empty (so the good log can then be restored)."""
        log = sealed_log(12)
        damaged = tamper(log)
        with pytest.raises(IntegrityError) as caught:
            store.restore(damaged)
        assert names_position(caught.value, position), caught.value
        assert words in str(caught.value)
        assert_empty(store, damaged)
        assert store.restore(log) == 12

    def test_restore_of_a_large_log_is_all_or_nothing(self, store: EventStore) -> None:
        """A problem near the end of a log of thousands of events leaves the store empty."""
        log = sealed_log(2_500)
        damaged = [*log[:2_345], attrs.evolve(log[2_345], data="{}"), *log[2_346:]]
        with pytest.raises(IntegrityError) as caught:
            store.restore(iter(damaged))
        assert names_position(caught.value, 2_346), caught.value
        assert_empty(store, log[:3])
        assert store.restore(iter(log)) == 2_500
        assert snapshot(store) == log

    def test_restore_finds_an_id_repeated_far_apart(self, store: EventStore) -> None:
        """An event id used again thousands of events later is found, both positions named."""
        log = sealed_log(2_200)
        damaged = reseal([*log[:2_099], attrs.evolve(log[2_099], event_id=log[9].event_id)])
        with pytest.raises(IntegrityError) as caught:
            store.restore(damaged)
        assert names_position(caught.value, 2_100), caught.value
        assert names_position(caught.value, 10), caught.value
        assert_empty(store, log[:3])

    def test_restore_reports_the_first_problem(self, store: EventStore) -> None:
        """With a repeated id and, later, an edited event, the repeated id is reported."""
        source = sealed_log(1_600)
        log = reseal(
            [
                *source[:1_499],
                attrs.evolve(source[1_499], event_id=source[0].event_id),
                *source[1_500:],
            ]
        )
        log[1_549] = attrs.evolve(log[1_549], actor="someone else")  # after the resealing
        with pytest.raises(IntegrityError) as caught:
            store.restore(log)
        assert names_position(caught.value, 1_500), caught.value
        assert "event id" in str(caught.value)
        assert_empty(store)

    def test_restore_stores_nothing_when_the_source_fails(self, store: EventStore) -> None:
        """An error raised by the events' iterable part-way (a bad line in a backup file)
        propagates and leaves the store empty."""
        log = sealed_log(1_500)

        def events() -> Iterator[StoredEvent]:
            yield from log[:1_234]
            raise ValidationError("line 1236 is not JSON")

        with pytest.raises(ValidationError, match="line 1236"):
            store.restore(events())
        assert_empty(store, log[:3])

    # -- the model property ------------------------------------------------------------------

    # The factory fixture is function-scoped but every example makes (and closes) its own
    # store; and one inherited method running on several backend classes is the point of a
    # contract suite, so both health checks are expected here.
    @settings(
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ]
    )
    @given(
        ops=st.lists(
            st.one_of(
                st.tuples(st.just("append"), st.integers(0, 2), st.integers(1, 4), st.booleans()),
                st.tuples(st.just("retry"), st.integers(0, 1_000)),
                st.tuples(st.just("partial"), st.integers(0, 1_000)),
            ),
            max_size=25,
        )
    )
    def test_any_sequence_of_appends_matches_a_simple_model(
        self, make_store: StoreFactory, ops: list[tuple[Any, ...]]
    ) -> None:
        """Appends, stale appends, retries and partial overlaps leave exactly the model's log."""
        store = make_store(clock=StepClock(step=dt.timedelta(seconds=-7)))
        try:
            self._run_model(store, ops)
        finally:
            store.close()

    def _run_model(self, store: EventStore, ops: list[tuple[Any, ...]]) -> None:
        streams = ["action:A", "action:B", "meeting:M"]
        model: list[tuple[str, str]] = []
        done: list[tuple[str, list[NewEvent], int, tuple[int, ...]]] = []
        names = itertools.count()
        for op in ops:
            if op[0] == "append":
                _, index, size, stale = op
                stream = streams[index]
                current = sum(1 for s, _ in model if s == stream)
                batch = [new_event(f"model-{next(names)}") for _ in range(size)]
                if stale:
                    wrong = current - 1 if current else current + 1
                    with pytest.raises(ConcurrencyError) as caught:
                        store.append(stream, batch, wrong)
                    assert (caught.value.expected, caught.value.actual) == (wrong, current)
                else:
                    positions = store.append(stream, batch, current)
                    start = len(model) + 1
                    assert positions == tuple(range(start, start + size))
                    model.extend((stream, e.event_id) for e in batch)
                    done.append((stream, batch, current, positions))
            elif done:
                stream, batch, expected, positions = done[op[1] % len(done)]
                if op[0] == "retry":
                    assert store.append(stream, batch, expected) == positions
                else:
                    overlap = [batch[0], new_event(f"model-{next(names)}")]
                    current = sum(1 for s, _ in model if s == stream)
                    with pytest.raises(DuplicateEventError):
                        store.append(stream, overlap, current)
        log = snapshot(store)
        assert [(e.stream_id, e.event_id) for e in log] == model
        assert [e.position for e in log] == list(range(1, len(model) + 1))
        assert store.last_position() == len(model)
        for stream in streams:
            versions = [e.version for e in log if e.stream_id == stream]
            assert versions == list(range(1, len(versions) + 1))
            assert store.stream_version(stream) == len(versions)
            assert ids(store.read_stream(stream)) == [i for s, i in model if s == stream]
        assert store.count_streams("") == len({s for s, _ in model})
        recorded = [e.recorded_at for e in log]
        assert recorded == sorted(recorded)
        report = verify_chain(store.read_all(page_size=3), key=store.key)
        assert report.ok, report.reason
        assert report.checked == len(model)
