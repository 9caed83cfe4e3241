"""action_ledger: an event-sourced, tamper-evident action register for an OPCC.

Start with :class:`Ledger`::

    from action_ledger import Ledger
    ledger = Ledger.open("register.db")
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._access import DEFAULT_POLICY, AccessPolicy, Reader, Scope, Writer
from ._decider import Action, Context, Meeting, decide, evolve
from ._due import Due, MeetingWords, due_both, meeting_words, resolve_due
from ._erasure import ERASED, ErasurePolicy, SubjectKeys
from ._history import AuditEntry
from ._keys import KeyRecord, Keyring, KeySchedule, key_id
from ._ledger import Ledger
from ._memory import MemoryEventStore
from ._projections import Change, Delete, Projection, Put, Replace, Table
from ._readmodel import ReadModel
from ._sqlite import SQLiteEventStore
from ._subscriptions import Subscription
from ._values import Attendee, Owner
from ._views import Agenda, AsOfView, ChainLink, DueStatus, Link, RegisterView, RoleHolder
from .exceptions import (
    ActionLedgerError,
    ConcurrencyError,
    ConnectionLostError,
    DuplicateEventError,
    IntegrityError,
    KeyMismatchError,
    MissingDependencyError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolationError,
    SignatureError,
    StoreError,
    ValidationError,
)
from .store import EventStore, NewEvent, RowDifference, StoredEvent, VerifyReport

try:
    __version__ = version("action-ledger")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "DEFAULT_POLICY",
    "ERASED",
    "AccessPolicy",
    "Action",
    "ActionLedgerError",
    "Agenda",
    "AsOfView",
    "Attendee",
    "AuditEntry",
    "ChainLink",
    "Change",
    "ConcurrencyError",
    "ConnectionLostError",
    "Context",
    "Delete",
    "Due",
    "DueStatus",
    "DuplicateEventError",
    "ErasurePolicy",
    "EventStore",
    "IntegrityError",
    "KeyMismatchError",
    "KeyRecord",
    "KeySchedule",
    "Keyring",
    "Ledger",
    "Link",
    "Meeting",
    "MeetingWords",
    "MemoryEventStore",
    "MissingDependencyError",
    "NewEvent",
    "NotFoundError",
    "Owner",
    "PermissionDeniedError",
    "Projection",
    "Put",
    "ReadModel",
    "Reader",
    "RegisterView",
    "Replace",
    "RoleHolder",
    "RowDifference",
    "RuleViolationError",
    "SQLiteEventStore",
    "Scope",
    "SignatureError",
    "StoreError",
    "StoredEvent",
    "SubjectKeys",
    "Subscription",
    "Table",
    "ValidationError",
    "VerifyReport",
    "Writer",
    "__version__",
    "decide",
    "due_both",
    "evolve",
    "key_id",
    "meeting_words",
    "resolve_due",
]
