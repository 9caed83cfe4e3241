"""Tests for subscriptions and following the log (``action_ledger._subscriptions`` and
``Ledger.subscribe`` / ``Ledger.follow``): every event delivered once, in position order, from
a checkpoint and then live (from this ledger and from another one on the same file); a failing
handler stops with its error and is redelivered the failed event on resumption; stopping; and
``follow`` ending after an idle timeout."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from action_ledger import Ledger, StoredEvent, Subscription
from action_ledger.events import Event

ACTOR = "Charity Pearce"
POLL = 0.05


@pytest.fixture(params=["memory", "sqlite"])
def ledger_backend(request: pytest.FixtureRequest) -> str:
    """Each test runs on a fresh register (the plugin's ``ledger`` fixture), in memory and in a
    SQLite file."""
    return str(request.param)


def raise_actions(ledger: Ledger, count: int) -> list[str]:
    """Raise ``count`` actions (one event each)."""
    return [
        ledger.raise_action(
            text=f"Action {n}.", owners=["CC"], actor=ACTOR, occurred_at="2021-10-04T13:30"
        )
        for n in range(count)
    ]


class Recorder:
    """A handler that keeps what it was given (thread-safe)."""

    def __init__(self) -> None:
        self.seen: list[tuple[StoredEvent, Event]] = []
        self._lock = threading.Lock()

    def __call__(self, stored: StoredEvent, event: Event) -> None:
        with self._lock:
            self.seen.append((stored, event))

    @property
    def positions(self) -> list[int]:
        with self._lock:
            return [s.position for s, _ in self.seen]


def all_event_ids(ledger: Ledger) -> list[str]:
    """The event ids of the whole log, in position order."""
    return [s.event_id for s in ledger.store.read_all()]


# -- subscribe ------------------------------------------------------------------------------------


def test_subscribe_delivers_existing_events_then_new_ones_in_order(ledger: Ledger) -> None:
    """From position 0, the handler gets every stored event, then each appended one, in
    position order, each once, with the event decoded."""
    raise_actions(ledger, 3)
    recorder = Recorder()
    with ledger.subscribe(recorder, after=0, poll_interval=POLL) as subscription:
        assert subscription.wait_for(3, timeout=2)
        assert recorder.positions == [1, 2, 3]
        raise_actions(ledger, 2)
        assert subscription.wait_for(5, timeout=2)
        assert subscription.position == 5
        assert subscription.running
    assert recorder.positions == [1, 2, 3, 4, 5]
    assert [s.event_id for s, _ in recorder.seen] == all_event_ids(ledger)
    assert all(event.event_id == stored.event_id for stored, event in recorder.seen)
    assert subscription.error is None


def test_subscribe_after_a_position_resumes_after_it(ledger: Ledger) -> None:
    """``after=N`` delivers only the events after position N."""
    raise_actions(ledger, 4)
    recorder = Recorder()
    with ledger.subscribe(recorder, after=2, poll_interval=POLL) as subscription:
        assert subscription.wait_for(4, timeout=2)
        raise_actions(ledger, 1)
        assert subscription.wait_for(5, timeout=2)
    assert recorder.positions == [3, 4, 5]


def test_subscribe_on_an_empty_log_waits_for_the_first_event(ledger: Ledger) -> None:
    """A subscription to an empty register delivers the first event when it is appended, and
    ``wait_for`` says ``False`` while it has not come."""
    recorder = Recorder()
    with ledger.subscribe(recorder, poll_interval=POLL) as subscription:
        assert not subscription.wait_for(1, timeout=0.1)
        assert (subscription.position, subscription.running) == (0, True)
        raise_actions(ledger, 1)
        assert subscription.wait_for(1, timeout=2)
    assert recorder.positions == [1]


def test_subscribe_sees_another_ledgers_appends_within_the_poll_interval(tmp_path: Path) -> None:
    """Events appended by another Ledger on the same file reach the subscriber within a few
    poll intervals, in order, none lost or repeated."""
    path = tmp_path / "shared.db"
    with Ledger.open(path) as reader, Ledger.open(path) as writer:
        raise_actions(writer, 2)
        recorder = Recorder()
        with reader.subscribe(recorder, poll_interval=POLL) as subscription:
            assert subscription.wait_for(2, timeout=2)
            raise_actions(writer, 3)
            started = time.monotonic()
            assert subscription.wait_for(5, timeout=2)
            assert time.monotonic() - started < 0.5
        assert recorder.positions == [1, 2, 3, 4, 5]
        assert [s.event_id for s, _ in recorder.seen] == all_event_ids(writer)


def test_a_failing_handler_stops_the_subscription_with_its_error(ledger: Ledger) -> None:
    """When the handler raises, the subscription stops; ``error`` is the exception and
    ``position`` the last event handled; resuming from it redelivers the failed event."""
    raise_actions(ledger, 4)
    boom = RuntimeError("the reporting database is down")
    calls: list[int] = []

    def handler(stored: StoredEvent, event: Event) -> None:
        calls.append(stored.position)
        if stored.position == 3:
            raise boom

    failed = ledger.subscribe(handler, poll_interval=POLL)
    assert not failed.wait_for(3, timeout=2)
    failed.stop()
    assert not failed.running
    assert failed.error is boom
    assert failed.position == 2
    assert calls == [1, 2, 3]

    recorder = Recorder()
    with ledger.subscribe(recorder, after=failed.position, poll_interval=POLL) as resumed:
        assert resumed.wait_for(4, timeout=2)
    assert recorder.positions == [3, 4]  # at least once: event 3 again
    assert resumed.error is None


def test_stop_ends_the_thread_and_delivery(ledger: Ledger) -> None:
    """After ``stop`` the thread has ended and later events are not delivered."""
    raise_actions(ledger, 1)
    recorder = Recorder()
    subscription = ledger.subscribe(recorder, poll_interval=POLL)
    assert subscription.wait_for(1, timeout=2)
    subscription.stop()
    assert not subscription.running
    raise_actions(ledger, 2)
    time.sleep(3 * POLL)  # give a wrongly living thread the chance to deliver
    assert recorder.positions == [1]
    assert subscription.error is None


def test_stop_waits_for_the_event_being_handled_and_delivers_no_more(ledger: Ledger) -> None:
    """``stop`` during a slow handler lets that event finish, then delivers nothing more."""
    raise_actions(ledger, 3)
    entered, release = threading.Event(), threading.Event()
    recorder = Recorder()

    def slow(stored: StoredEvent, event: Event) -> None:
        entered.set()
        assert release.wait(2)
        recorder(stored, event)

    subscription = ledger.subscribe(slow, poll_interval=POLL)
    assert entered.wait(2)
    stopper = threading.Thread(target=subscription.stop)
    stopper.start()
    time.sleep(POLL)  # stop() is now waiting for the handler
    release.set()
    stopper.join(2)
    assert not stopper.is_alive()
    assert not subscription.running
    assert recorder.positions == [1]
    assert (subscription.position, subscription.error) == (1, None)


def test_a_subscription_is_a_context_manager(ledger: Ledger) -> None:
    """Leaving the ``with`` block stops the subscription."""
    raise_actions(ledger, 1)
    with ledger.subscribe(Recorder(), poll_interval=POLL) as subscription:
        assert isinstance(subscription, Subscription)
        assert subscription.running
    assert not subscription.running


# -- follow ---------------------------------------------------------------------------------------


def test_follow_yields_existing_events_then_ends_when_idle(ledger: Ledger) -> None:
    """With an idle timeout, ``follow`` yields the log after ``after`` and then ends."""
    raise_actions(ledger, 3)
    started = time.monotonic()
    followed = list(ledger.follow(after=0, idle_timeout=0.2))
    assert time.monotonic() - started < 1
    assert [s.position for s, _ in followed] == [1, 2, 3]
    assert [e.event_id for _, e in followed] == all_event_ids(ledger)
    assert [s.position for s, _ in ledger.follow(after=2, idle_timeout=0.2)] == [3]
    assert list(ledger.follow(after=3, idle_timeout=0.1)) == []


def test_follow_yields_events_appended_while_following(ledger: Ledger) -> None:
    """Events appended by another thread while following are yielded as they come, in order."""
    raise_actions(ledger, 1)
    followed: list[int] = []

    def append_later() -> None:
        for _ in range(2):
            time.sleep(POLL)
            raise_actions(ledger, 1)

    writer = threading.Thread(target=append_later)
    started = time.monotonic()
    for stored, _ in ledger.follow(after=0, poll_interval=POLL, idle_timeout=0.4):
        followed.append(stored.position)
        if stored.position == 1:
            writer.start()
    writer.join(2)
    assert followed == [1, 2, 3]
    assert time.monotonic() - started < 1.5
