"""Events ⇄ envelopes: one cattrs converter, canonical JSON, and upcasting of old versions.

The canonical form (sorted keys, no spaces, UTF-8, UTC times with microseconds and ``Z``,
dates as ``YYYY-MM-DD``) makes hashes stable across machines and Python versions. An event
stored under an older schema version is upgraded on read by the upcasters registered here.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
import msgspec
import pendulum

from ._clock import format_utc, parse_utc
from ._erasure import ErasurePolicy, SubjectKeys, open_fields, seal_fields
from .events import (
    ActionClosed,
    ActionCorrected,
    ActionRaised,
    ActionReopened,
    ActionRevisited,
    ActionUpdated,
    Event,
    MeetingCorrected,
    MeetingEvent,
    MeetingRecorded,
)
from .exceptions import IntegrityError, ValidationError
from .store import NewEvent, StoredEvent

ACTION_PREFIX = "action:"
MEETING_PREFIX = "meeting:"

# tag -> (class, current schema version)
EVENT_TYPES: Mapping[str, tuple[type[Any], int]] = {
    "meeting.recorded": (MeetingRecorded, 1),
    "meeting.corrected": (MeetingCorrected, 1),
    "action.raised": (ActionRaised, 2),
    "action.updated": (ActionUpdated, 1),
    "action.revisited": (ActionRevisited, 1),
    "action.closed": (ActionClosed, 1),
    "action.reopened": (ActionReopened, 1),
    "action.corrected": (ActionCorrected, 1),
}
_TAGS = {cls: tag for tag, (cls, _) in EVENT_TYPES.items()}
_ENVELOPE_FIELDS = ("event_id", "actor", "occurred_at", "action_id", "meeting_id")

_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _split_owner(text: str) -> list[dict[str, Any]]:
    parts = [p.strip() for p in text.replace(",", "/").split("/")]
    return [{"role": p, "person": None} for p in parts if p]


def _raised_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 stored one ``owner`` string ("PCC / CC") and the due words as ``due`` text only."""
    upgraded = {k: v for k, v in data.items() if k not in ("owner", "due")}
    upgraded["owners"] = _split_owner(data["owner"])
    # v1 kept only words; they are carried over as words, never turned into a guessed date.
    upgraded["due"] = {"on": None, "text": data.get("due")}
    upgraded.setdefault("follows", [])
    upgraded.setdefault("restricted", False)
    upgraded.setdefault("source", "meeting" if data.get("meeting") else None)
    return upgraded


UPCASTERS: Mapping[tuple[str, int], Upcaster] = {
    ("action.raised", 1): _raised_v1_to_v2,
}


def make_converter() -> cattrs.Converter:
    """The converter for events and envelope data: pendulum values as canonical ISO text,
    unknown keys rejected, tuples for sequences."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_unstructure_hook(pendulum.DateTime, format_utc)
    converter.register_structure_hook(pendulum.DateTime, lambda v, _: parse_utc(v))
    converter.register_unstructure_hook(pendulum.Date, lambda d: d.isoformat())
    converter.register_structure_hook(pendulum.Date, lambda v, _: pendulum.Date.fromisoformat(v))
    converter.register_unstructure_hook(_dt.date, lambda d: d.isoformat())
    return converter


CONVERTER = make_converter()


def canonical_json(value: object) -> str:
    """Canonical JSON text: sorted keys, compact, UTF-8 kept, no NaN."""
    return _CANONICAL.encode(value)


def stream_of(event: Event) -> str:
    """The stream an event belongs to: ``action:<id>`` or ``meeting:<id>``."""
    if isinstance(event, MeetingEvent):
        return MEETING_PREFIX + event.meeting_id
    return ACTION_PREFIX + event.action_id


def encode(
    event: Event,
    *,
    keys: SubjectKeys | None = None,
    policy: ErasurePolicy | None = None,
    restricted: bool | None = None,
) -> NewEvent:
    """An event as an envelope to append.

    Args:
        keys: the subject keys to seal erasable fields with (none sealed without them).
        policy: which fields to seal (see :class:`~action_ledger.ErasurePolicy`).
        restricted: whether the event's text is restricted; by default the event's own
            ``restricted`` flag (a correction of a restricted action must say so).
    """
    tag = _TAGS[type(event)]
    data = CONVERTER.unstructure(event)
    for name in _ENVELOPE_FIELDS:
        data.pop(name, None)
    if keys is not None and policy is not None:
        seal_fields(
            tag,
            event.event_id,
            data,
            keys=keys,
            policy=policy,
            action_id=getattr(event, "action_id", None),
            restricted=bool(
                getattr(event, "restricted", False) if restricted is None else restricted
            ),
        )
    return NewEvent(
        event_id=event.event_id,
        event_type=tag,
        schema_version=EVENT_TYPES[tag][1],
        data=canonical_json(data),
        occurred_at=format_utc(event.occurred_at),
        actor=event.actor,
    )


def upcast(event_type: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade ``data`` from ``schema_version`` to the current version of ``event_type``."""
    if event_type not in EVENT_TYPES:
        raise IntegrityError(
            f"unknown event type {event_type!r}; known types: {', '.join(EVENT_TYPES)}"
        )
    current = EVENT_TYPES[event_type][1]
    if schema_version > current:
        raise IntegrityError(
            f"{event_type} schema version {schema_version} is newer than this library "
            f"understands ({current}); upgrade action_ledger"
        )
    while schema_version < current:
        step = UPCASTERS.get((event_type, schema_version))
        if step is None:
            raise IntegrityError(f"no upcaster for {event_type} version {schema_version}")
        try:
            data = step(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IntegrityError(
                f"{event_type} version {schema_version} data cannot be upgraded: missing or "
                f"malformed {exc}"
            ) from exc
        schema_version += 1
    return data


def trusted_hook(kind: type[Any], value: Any) -> Any:
    """msgspec's hook for the pendulum types of stored values (written by this library)."""
    if kind is pendulum.DateTime:
        return parse_utc(value)
    if kind is pendulum.Date:
        return pendulum.Date.fromisoformat(value)
    raise NotImplementedError(f"no decoder for {kind!r}")  # pragma: no cover - no such field


# The names each event type accepts: stored data with any other key is refused, as the strict
# converter refuses it (msgspec itself ignores unknown keys of attrs classes).
_FIELDS = {
    tag: frozenset(a.name for a in attrs.fields(cls)) for tag, (cls, _) in EVENT_TYPES.items()
}
_JSON_OBJECT = msgspec.json.Decoder(dict[str, Any])


def decode(stored: StoredEvent, keys: SubjectKeys | None = None) -> Event:
    """The domain event of a stored envelope (upcast to the current schema).

    Sealed (erasable) fields are opened with ``keys``; a field whose key was erased, or
    read without a key store, reads as :data:`~action_ledger.ERASED`.

    Stored events are read on the *trusted* path: the hash chain vouches for what was written,
    and it was written from a checked event, so the data is converted with msgspec (types
    checked, no re-validation through cattrs): about three times faster than the strict
    converter, which stays for backups, CSV and anything else from outside.

    Raises:
        IntegrityError: the envelope cannot be read as an event.
    """
    data = _load(stored)
    if '"sealed"' in stored.data:
        open_fields(stored.event_type, stored.event_id, data, keys)
    known = EVENT_TYPES.get(stored.event_type)
    if known is None or known[1] != stored.schema_version:
        data = upcast(stored.event_type, stored.schema_version, data)
    cls = EVENT_TYPES[stored.event_type][0]
    unknown = data.keys() - _FIELDS[stored.event_type]
    if unknown:
        raise IntegrityError(
            f"event at position {stored.position} ({stored.event_type} v{stored.schema_version}) "
            f"cannot be read: unknown keys {', '.join(sorted(map(repr, unknown)))}"
        )
    try:
        data["event_id"] = stored.event_id
        data["actor"] = stored.actor
        data["occurred_at"] = stored.occurred_at
        if stored.stream_id.startswith(MEETING_PREFIX):
            data["meeting_id"] = stored.stream_id[len(MEETING_PREFIX) :]
        else:
            data["action_id"] = stored.stream_id[len(ACTION_PREFIX) :]
        event: Event = msgspec.convert(data, cls, dec_hook=trusted_hook)
    except msgspec.ValidationError as exc:
        raise IntegrityError(
            f"event at position {stored.position} ({stored.event_type} v{stored.schema_version}) "
            f"cannot be read: {exc}"
        ) from exc
    except (ValueError, TypeError, KeyError, ValidationError) as exc:
        raise IntegrityError(
            f"event at position {stored.position} ({stored.event_type} v{stored.schema_version}) "
            f"cannot be read: {exc}"
        ) from exc
    return event


def _load(stored: StoredEvent) -> dict[str, Any]:
    try:
        return _JSON_OBJECT.decode(stored.data)
    except msgspec.ValidationError as exc:
        raise IntegrityError(
            f"event at position {stored.position} ({stored.event_type} "
            f"v{stored.schema_version}) has data that is not a JSON object: {exc}"
        ) from exc
    except msgspec.DecodeError as exc:
        raise IntegrityError(
            f"event at position {stored.position} ({stored.event_type} "
            f"v{stored.schema_version}) has data that is not JSON: {exc}"
        ) from exc
