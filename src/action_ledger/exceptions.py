"""The exceptions action_ledger raises on purpose.

Every one derives from :class:`ActionLedgerError`, so a caller can catch the whole family with
one ``except``. Each message says what was wrong, with the offending value, and what is accepted.
"""

from __future__ import annotations

__all__ = [
    "ActionLedgerError",
    "ConcurrencyError",
    "DuplicateEventError",
    "IntegrityError",
    "NotFoundError",
    "RuleViolationError",
    "StoreError",
    "ValidationError",
]


class ActionLedgerError(Exception):
    """The root of every error action_ledger raises on purpose."""


class ValidationError(ActionLedgerError, ValueError):
    """A value is malformed: not a real date, empty text, an unknown field or choice.

    Attributes:
        field: the name of the offending field, where one is known.
        value: the offending value.
    """

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class RuleViolationError(ActionLedgerError):
    """A command breaks a business rule of the register (``decide`` rejected it).

    Attributes:
        subject: the action or meeting id the command was about.
        rule: a short stable name of the rule, e.g. ``"closed-action-is-final"``.
        value: the offending value.
    """

    def __init__(self, message: str, *, subject: str, rule: str, value: object = None) -> None:
        super().__init__(message)
        self.subject = subject
        self.rule = rule
        self.value = value


class NotFoundError(ActionLedgerError, LookupError):
    """An action, meeting or event that was named does not exist."""


class ConcurrencyError(ActionLedgerError):
    """An append was made against a stale stream version.

    Attributes:
        stream_id: the stream appended to.
        expected: the version the caller expected.
        actual: the version the store holds.
    """

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not the expected {expected}: "
            "someone else changed it; reload and try again"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class DuplicateEventError(ActionLedgerError):
    """Some, but not all, event ids of an append are already stored (or stored elsewhere).

    Re-sending exactly the events of an earlier append is a safe no-op; this error means the
    batch overlaps an earlier one only partly, which a retry never produces.
    """


class IntegrityError(ActionLedgerError):
    """Stored data is damaged: a hash does not match, or an envelope cannot be read."""


class StoreError(ActionLedgerError):
    """The event store could not be opened or used (a bad path, URL or connection)."""
