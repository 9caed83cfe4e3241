"""The exceptions action_ledger raises on purpose.

Every one derives from :class:`ActionLedgerError`, so a caller can catch the whole family with
one ``except``. Each message says what was wrong, with the offending value, and what is accepted.
"""

from __future__ import annotations

__all__ = [
    "ActionLedgerError",
    "ConcurrencyError",
    "ConnectionLostError",
    "DuplicateEventError",
    "IntegrityError",
    "KeyMismatchError",
    "MissingDependencyError",
    "NotFoundError",
    "PermissionDeniedError",
    "RuleViolationError",
    "SignatureError",
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

    A :class:`~action_ledger.Ledger` re-decides a command that lost a race on fresh state
    and retries it with jittered backoff, so this reaches its caller only when the retry
    budget is spent or retries were turned off; ``attempts`` and ``budget`` then say so.

    Attributes:
        stream_id: the stream appended to.
        expected: the version the caller expected.
        actual: the version the store holds.
        attempts: how many times the Ledger tried the command (``None`` from a store).
        budget: the Ledger's retry budget in seconds (``None`` from a store).
    """

    def __init__(
        self,
        stream_id: str,
        expected: int,
        actual: int,
        *,
        attempts: int | None = None,
        budget: float | None = None,
    ) -> None:
        message = (
            f"stream {stream_id!r} is at version {actual}, not the expected {expected}: "
            "someone else changed it"
        )
        if attempts is None:
            message += "; reload and try again"
        elif budget is not None and budget <= 0:
            message += (
                "; retries are turned off (retry_budget=0), so the command was tried once: "
                "try it again, or open the ledger with a retry budget"
            )
        else:
            message += (
                f"; gave up after {attempts} attempts in the {budget:g} s retry budget, as "
                "other writers kept changing it: try again later, or give the ledger a larger "
                "retry_budget"
            )
        super().__init__(message)
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        self.attempts = attempts
        self.budget = budget


class DuplicateEventError(ActionLedgerError):
    """Some, but not all, event ids of an append are already stored (or stored elsewhere).

    Re-sending exactly the events of an earlier append is a safe no-op; this error means the
    batch overlaps an earlier one only partly, which a retry never produces.
    """


class PermissionDeniedError(ActionLedgerError):
    """The reader's or writer's scope has not the right asked for: a change by a read-only
    scope, restricted matters asked of a scope without the right, or a command recorded by
    another actor than the writer's. Nothing is written."""


class IntegrityError(ActionLedgerError):
    """Stored data is damaged: a hash does not match, or an envelope cannot be read."""


class SignatureError(IntegrityError):
    """A signed head does not check out.

    Attributes:
        part: which part failed: ``"key"`` (signed with another key than the public key
            given), ``"signature"`` (the signature does not match the fields: one was
            changed, or the signature itself), ``"chain"`` (the register's chain up to the
            signed position does not verify), ``"head"`` (the register does not hold the
            signed head at its position: it was rewritten or cut back).
    """

    def __init__(self, message: str, *, part: str) -> None:
        super().__init__(message)
        self.part = part


class StoreError(ActionLedgerError):
    """The event store could not be opened or used (a bad path, URL or connection)."""


class KeyMismatchError(StoreError):
    """A register's chain key and the key given do not agree: a keyed register opened without
    its key or with another one, a plain register opened with a key, or a key file whose
    newest key the register does not know. Raised before anything is read or written."""


class ConnectionLostError(StoreError):
    """The connection to the database server was lost (or could not be made again) while a
    request was under way. Retrying is safe, and a :class:`~action_ledger.Ledger` retries a
    command itself within its retry budget, with the same event id.

    Attributes:
        committed: ``False`` when the server certainly did not commit the request (it was
            lost before the ``COMMIT`` was sent, so the server rolled it back); ``None`` when
            it was lost while committing, so it may or may not be stored. Either way,
            re-sending the same events (the same event ids) settles it: an append that was
            stored is a no-op that returns its positions.
    """

    def __init__(self, message: str, *, committed: bool | None) -> None:
        super().__init__(message)
        self.committed = committed


class MissingDependencyError(ActionLedgerError, ImportError):
    """An optional library a feature needs is not installed (the message names the extra
    to install, e.g. ``pip install 'action-ledger[minutes]'``)."""
