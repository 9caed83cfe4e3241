"""Subscriptions: deliver the log to an embedding tool, from a checkpoint, then live."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from .events import Event
from .store import StoredEvent

if TYPE_CHECKING:  # pragma: no cover
    from ._ledger import Ledger

Handler = Callable[[StoredEvent, Event], object]
"""A subscriber: called with each stored envelope and its decoded event, in log order."""


class Subscription:
    """A background thread delivering every event after a position to a handler.

    Made by :meth:`Ledger.subscribe`. Delivery is at least once and in log order: a tool keeps
    the last ``stored.position`` it handled and subscribes again ``after`` it. Use it as a
    context manager, or call :meth:`stop`.

    Attributes:
        position: the position of the last event the handler returned from.
        error: what the handler raised, if it did (the subscription then stops; the event
            that failed is delivered again by a subscription resumed from :attr:`position`).
    """

    def __init__(
        self, ledger: Ledger, handler: Handler, *, after: int = 0, poll_interval: float = 0.5
    ) -> None:
        self.position = after
        self.error: BaseException | None = None
        self._ledger = ledger
        self._handler = handler
        self._poll = poll_interval
        self._stopping = threading.Event()
        self._progress = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="action-ledger-subscription")
        self._thread.daemon = True
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                for stored, event in self._ledger.events(after=self.position):
                    if self._stopping.is_set():
                        return
                    self._handler(stored, event)
                    with self._progress:
                        self.position = stored.position
                        self._progress.notify_all()
                self._ledger.wait_for_events(self.position, self._poll)
        except BaseException as exc:
            self.error = exc
        finally:
            with self._progress:
                self._progress.notify_all()

    @property
    def running(self) -> bool:
        """Whether the delivery thread is still going."""
        return self._thread.is_alive()

    def wait_for(self, position: int, timeout: float = 10.0) -> bool:
        """Wait until the handler has handled the event at ``position`` (or the subscription
        stopped); return whether it has."""
        with self._progress:
            return (
                self._progress.wait_for(
                    lambda: self.position >= position or not self._thread.is_alive(), timeout
                )
                and self.position >= position
            )

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop delivering (after the event being handled, if any) and wait for the thread."""
        self._stopping.set()
        self._thread.join(timeout)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
