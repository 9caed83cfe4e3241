"""Tests for events ⇄ envelopes (``action_ledger._codec``): round trips, canonical JSON,
unreadable envelopes, and upcasting of envelopes written by an older version of the library."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from action_ledger import Ledger, MemoryEventStore, Owner
from action_ledger._codec import (
    CONVERTER,
    EVENT_TYPES,
    canonical_json,
    decode,
    encode,
    stream_of,
)
from action_ledger._decider import INITIAL_ACTION, evolve
from action_ledger._due import Due
from action_ledger._projections import action_from_row, action_row, meeting_from_row
from action_ledger.events import ActionRaised, ActionUpdated, Event, MeetingEvent
from action_ledger.exceptions import IntegrityError
from action_ledger.store import GENESIS_HASH, NewEvent, StoredEvent, chain_hash, verify_chain
from action_ledger.testing import strategies

FIXTURE = Path(__file__).parent / "fixtures" / "events_v1.jsonl"
CANONICAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def stored(
    new: NewEvent,
    *,
    stream_id: str,
    position: int = 1,
    version: int = 1,
    recorded_at: str = "2024-01-01T00:00:00.000000Z",
) -> StoredEvent:
    """The envelope ``new`` as a store would hold it at ``position`` / ``version``."""
    return StoredEvent(
        position=position,
        stream_id=stream_id,
        version=version,
        event_id=new.event_id,
        event_type=new.event_type,
        schema_version=new.schema_version,
        data=new.data,
        occurred_at=new.occurred_at,
        recorded_at=recorded_at,
        actor=new.actor,
        prev_hash=GENESIS_HASH,
        hash=chain_hash(
            GENESIS_HASH,
            position=position,
            stream_id=stream_id,
            version=version,
            event=new,
            recorded_at=recorded_at,
        ),
    )


def _stream(event: Event) -> str:
    if isinstance(event, MeetingEvent):
        return f"meeting:{event.meeting_id}"
    return f"action:{event.action_id}"


def _in_zone(event: Event, zone: str) -> Event:
    """The same event with every moment expressed in ``zone``."""
    changes: dict[str, Any] = {"occurred_at": event.occurred_at.in_tz(zone)}
    if isinstance(event, MeetingEvent) and event.held_at is not None:
        changes["held_at"] = event.held_at.in_tz(zone)
    corrections = getattr(event, "corrections", None)
    if corrections is not None and corrections.occurred_at is not None:
        changes["corrections"] = attrs.evolve(
            corrections, occurred_at=corrections.occurred_at.in_tz(zone)
        )
    return attrs.evolve(event, **changes)


# -- round trips -----------------------------------------------------------------------------


def test_every_event_type_has_a_strategy() -> None:
    """The strategies cover exactly the event classes the codec knows."""
    assert set(strategies.EVENT_STRATEGIES) == {cls for cls, _ in EVENT_TYPES.values()}


@pytest.mark.parametrize("cls", list(strategies.EVENT_STRATEGIES), ids=lambda c: c.__name__)
@given(data=st.data())
def test_decode_of_a_stored_encoding_is_the_event(cls: type[Any], data: st.DataObject) -> None:
    """``decode(stored(encode(e))) == e`` for every event type, at any position and version."""
    event = data.draw(strategies.EVENT_STRATEGIES[cls](), label="event")
    position = data.draw(st.integers(1, 10**9), label="position")
    version = data.draw(st.integers(1, 10**6), label="version")
    new = encode(event)
    assert stream_of(event) == _stream(event)
    assert decode(stored(new, stream_id=_stream(event), position=position, version=version)) == (
        event
    )


@given(strategies.events())
def test_the_trusted_decode_equals_the_strict_converter(event: Event) -> None:
    """Stored events are read with msgspec (no cattrs re-validation); what it builds is what
    the strict converter, kept for backups and outside data, builds from the same data."""
    new = encode(event)
    data = json.loads(new.data)
    data.update(event_id=new.event_id, actor=new.actor, occurred_at=new.occurred_at)
    prefix, _, subject = _stream(event).partition(":")
    data["meeting_id" if prefix == "meeting" else "action_id"] = subject
    strict = CONVERTER.structure(data, type(event))
    assert decode(stored(new, stream_id=_stream(event))) == strict == event


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@given(event=strategies.events(), data=st.data())
def test_damaged_stored_data_is_an_integrity_error_or_an_event(
    event: Event, data: st.DataObject
) -> None:
    """Any key of the stored data replaced by any JSON value, or dropped, or a key added: the
    trusted decode gives an event or an ``IntegrityError``, never another exception."""
    new = encode(event)
    fields = json.loads(new.data)
    key = data.draw(st.sampled_from([*sorted(fields), "extra"]), label="key")
    if data.draw(st.booleans(), label="drop") and key in fields:
        del fields[key]
    else:
        fields[key] = data.draw(_JSON_VALUES, label="value")
    damaged = attrs.evolve(new, data=json.dumps(fields))
    try:
        decoded = decode(stored(damaged, stream_id=_stream(event)))
    except IntegrityError:
        return
    assert type(decoded) is type(event)


@given(
    event=strategies.actions_raised(),
    key=st.sampled_from(["owners", "status", "raised_at", "id"]),
    value=_JSON_VALUES,
)
def test_an_edited_read_model_row_is_an_integrity_error(
    event: ActionRaised, key: str, value: Any
) -> None:
    """A row's ``data`` column edited into something that is not an action is refused with an
    ``IntegrityError`` that says to rebuild (never a raw decoding error)."""
    action = evolve(INITIAL_ACTION, event).action
    assert action is not None
    row = json.loads(action_row(action, 1)["data"])
    assert action_from_row(json.dumps(row)) == action
    row[key] = value
    try:
        edited = action_from_row(json.dumps(row))
    except IntegrityError as exc:
        message = str(exc)
    else:  # read only if it is an action: written back, it is the edited row, nothing invented
        assert json.loads(action_row(edited, 1)["data"]) == row
        return
    assert "rebuild" in message


def test_an_edited_meetings_row_is_an_integrity_error() -> None:
    with pytest.raises(IntegrityError, match=r"meetings row cannot be read.*rebuild"):
        meeting_from_row('{"id": 5}')


@given(strategies.events())
def test_the_envelope_carries_the_provenance_outside_the_data(event: Event) -> None:
    """Id, actor and occurred time are envelope fields; the stream id is not repeated in data."""
    new = encode(event)
    data = json.loads(new.data)
    assert (new.event_id, new.actor) == (event.event_id, event.actor)
    assert EVENT_TYPES[new.event_type] == (type(event), new.schema_version)
    assert {"event_id", "actor", "occurred_at", "action_id", "meeting_id"}.isdisjoint(data)


# -- canonical JSON --------------------------------------------------------------------------


def _times_and_dates(value: Any, key: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _times_and_dates(v, k)
    elif isinstance(value, list):
        for v in value:
            found += _times_and_dates(v, key)
    elif key in ("held_at", "occurred_at", "on"):
        found.append((key, value))
    return found


@given(strategies.events())
def test_canonical_json_is_sorted_and_compact(event: Event) -> None:
    """The data is JSON with sorted keys, no spaces between tokens and UTF-8 kept as text."""
    new = encode(event)
    parsed = json.loads(new.data)
    assert new.data == json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert new.data == canonical_json(parsed)


@given(strategies.events())
def test_canonical_times_are_utc_with_microseconds(event: Event) -> None:
    """Moments are written ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` and dates ``YYYY-MM-DD``."""
    new = encode(event)
    assert CANONICAL_TIME.fullmatch(new.occurred_at)
    for key, value in _times_and_dates(json.loads(new.data)):
        if value is None:
            continue
        pattern = ISO_DATE if key == "on" else CANONICAL_TIME
        assert pattern.fullmatch(value), (key, value)


@given(strategies.events(), st.sampled_from(strategies.TIME_ZONES))
def test_equal_events_encode_to_the_same_bytes_whatever_their_time_zone(
    event: Event, zone: str
) -> None:
    """An event whose moments are given in another time zone encodes to the same envelope."""
    # Not ``moved == event``: Python never finds a repeated (fold=1) wall time equal to
    # another zone's time (PEP 495), though the instant is the same.
    moved = _in_zone(event, zone)
    assert moved.occurred_at.timestamp() == event.occurred_at.timestamp()
    assert encode(moved) == encode(event)


def test_the_canonical_form_of_a_raised_action_is_stable() -> None:
    """The bytes hashed for a known event do not change between versions of the library."""
    event = ActionRaised(
        event_id="00000000-0000-0000-0000-000000000002",
        actor="Charity Pearce",
        occurred_at=pendulum.datetime(2021, 10, 4, 13, 30, tz="Europe/London"),
        action_id="ACT-2021-005",
        text="T/Ch Supt to find out timeline for homicide review analysis.",
        owners=(Owner(role="T/Ch Supt"), Owner(role="CC", person="Pippa Mills")),
        meeting="2021-10-04",
        item="2.3",
        source="meeting",
        due=Due(on=pendulum.date(2021, 10, 18), text="Within two weeks"),
    )
    assert encode(event) == NewEvent(
        event_id="00000000-0000-0000-0000-000000000002",
        event_type="action.raised",
        schema_version=2,
        data=(
            '{"due":{"on":"2021-10-18","text":"Within two weeks"},"follows":[],"item":"2.3",'
            '"meeting":"2021-10-04","owners":[{"person":null,"role":"T/Ch Supt"},'
            '{"person":"Pippa Mills","role":"CC"}],"restricted":false,"source":"meeting",'
            '"text":"T/Ch Supt to find out timeline for homicide review analysis."}'
        ),
        occurred_at="2021-10-04T12:30:00.000000Z",
        actor="Charity Pearce",
    )


# -- unreadable envelopes --------------------------------------------------------------------

_UPDATE = encode(
    ActionUpdated(
        event_id="00000000-0000-0000-0000-000000000003",
        actor="Charity Pearce",
        occurred_at=pendulum.datetime(2021, 10, 1, 8, tz="UTC"),
        action_id="ACT-2021-001",
        note="Written update provided in advance of the meeting.",
        source="written update",
    )
)


UNREADABLE: dict[str, dict[str, Any]] = {
    "unknown-type": {"event_type": "action.deleted"},
    "newer-version": {"schema_version": 2},
    "newer-raised-version": {"event_type": "action.raised", "schema_version": 3},
    "version-without-upcaster": {"event_type": "action.raised", "schema_version": 0},
    "garbage-json": {"data": "{not json"},
    "empty-data": {"data": ""},
    "data-not-an-object": {"data": "[]"},
    "unknown-key": {"data": _UPDATE.data[:-1] + ',"colour":"blue"}'},
    "missing-keys": {"data": '{"source":"email"}'},
    "wrong-type": {"data": _UPDATE.data.replace('"owners":null', '"owners":5')},
    "bad-time": {"occurred_at": "yesterday"},
}


def _damaged(**changes: Any) -> StoredEvent:
    return attrs.evolve(stored(_UPDATE, stream_id="action:ACT-2021-001", position=7), **changes)


@pytest.mark.parametrize("changes", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_an_unreadable_envelope_raises_integrity_error(changes: dict[str, Any]) -> None:
    """An unknown type, a newer schema version or damaged data raises ``IntegrityError``."""
    with pytest.raises(IntegrityError):
        decode(_damaged(**changes))


@pytest.mark.parametrize(
    ("case", "shown"),
    [
        ("unknown-type", "unknown event type 'action.deleted'"),
        ("newer-version", "schema version 2 is newer"),
        ("newer-raised-version", "schema version 3 is newer"),
        ("version-without-upcaster", "no upcaster for action.raised version 0"),
        ("unknown-key", "colour"),
    ],
    ids=["unknown-type", "newer-version", "newer-raised-version", "no-upcaster", "unknown-key"],
)
def test_an_unreadable_envelope_error_says_what_is_wrong(case: str, shown: str) -> None:
    """The ``IntegrityError`` names the unknown type, the version or the unknown key."""
    with pytest.raises(IntegrityError) as info:
        decode(_damaged(**UNREADABLE[case]))
    assert shown in str(info.value)


def test_integrity_error_names_the_position_and_type() -> None:
    """The error for damaged data says where in the log it is and what type it claims to be."""
    with pytest.raises(IntegrityError, match=r"position 42 \(action\.updated v1\)"):
        decode(_damaged(position=42, data="{"))


# -- upcasting: envelopes written by v0.0 ----------------------------------------------------


def fixture_rows() -> list[StoredEvent]:
    """The stored envelopes of ``fixtures/events_v1.jsonl``, in position order."""
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    return [StoredEvent(**json.loads(line)) for line in lines if line.strip()]


def test_the_v1_fixture_is_an_intact_hash_chain() -> None:
    """The fixture's hashes are right: ``verify_chain`` over its rows is ok."""
    rows = fixture_rows()
    report = verify_chain(rows)
    assert (report.ok, report.checked, report.first_bad_position) == (True, len(rows), None)
    assert report.head_hash == rows[-1].hash


def test_a_changed_fixture_row_breaks_the_chain_there() -> None:
    """Editing the data of the second fixture row makes ``verify_chain`` fail at position 2."""
    rows = fixture_rows()
    rows[1] = attrs.evolve(rows[1], data=rows[1].data.replace("PCC / CC", "CC"))
    report = verify_chain(rows)
    assert (report.ok, report.first_bad_position) == (False, 2)


def test_the_v1_fixture_holds_old_raised_envelopes() -> None:
    """The fixture is what v0.0 wrote: ``action.raised`` v1 with one ``owner`` and due words."""
    raised = [r for r in fixture_rows() if r.event_type == "action.raised"]
    assert raised
    for row in raised:
        data = json.loads(row.data)
        assert row.schema_version == 1 < EVENT_TYPES["action.raised"][1]
        assert "owner" in data
        assert {"owners", "follows", "restricted", "source"}.isdisjoint(data)
        assert data["due"] is None or isinstance(data["due"], str)


def test_a_v1_raised_event_is_upcast_on_decode() -> None:
    """A v1 raise decodes with ``"PCC / CC"`` split into two owners and the due words kept
    without a guessed date."""
    row = next(r for r in fixture_rows() if r.stream_id == "action:ACT-2018-001")
    assert decode(row) == ActionRaised(
        event_id=row.event_id,
        actor="Jackie Irvin",
        occurred_at=pendulum.datetime(2018, 4, 23, 9, 30, tz="UTC"),
        action_id="ACT-2018-001",
        text="Headlines from Durham work to be shared with PCC.",
        owners=(Owner(role="PCC"), Owner(role="CC")),
        meeting="2018-04-23",
        item="2.1.1",
        source="meeting",
        due=Due(on=None, text="Within two weeks"),
        follows=(),
        restricted=False,
    )


def test_a_v1_raised_event_without_due_words_has_no_due() -> None:
    """A v1 raise whose due was null decodes with neither a date nor words."""
    row = next(r for r in fixture_rows() if r.stream_id == "action:ACT-2018-002")
    event = decode(row)
    assert isinstance(event, ActionRaised)
    assert (event.owners, event.due) == ((Owner(role="CC"),), Due(on=None, text=None))


def test_an_upcast_event_encodes_at_the_current_version() -> None:
    """Re-encoding an upcast event writes the current schema version, which decodes the same."""
    for row in fixture_rows():
        event = decode(row)
        new = encode(event)
        assert new.schema_version == EVENT_TYPES[row.event_type][1]
        assert decode(stored(new, stream_id=row.stream_id)) == event


def test_a_store_of_v1_envelopes_reads_as_the_current_register() -> None:
    """v1 envelopes appended to a ``MemoryEventStore`` as they are read back, through the
    Ledger, as actions with owners, due words and their later events applied."""
    store = MemoryEventStore()
    for row in fixture_rows():
        envelope = NewEvent(
            event_id=row.event_id,
            event_type=row.event_type,
            schema_version=row.schema_version,
            data=row.data,
            occurred_at=row.occurred_at,
            actor=row.actor,
        )
        store.append(row.stream_id, [envelope], row.version - 1)
    ledger = Ledger(store)
    first = ledger.get("ACT-2018-001")
    assert first.owners == (Owner(role="PCC"), Owner(role="CC"))
    assert (first.due_on, first.due_text, first.source) == (None, "Within two weeks", "meeting")
    assert first.last_update == "Briefing note received: the Durham headlines were shared."
    second = ledger.get("ACT-2018-002")
    assert (second.status, second.resolution) == ("closed", "completed")
    assert [a.id for a in ledger.register(owner="pcc")] == ["ACT-2018-001"]
    assert [e.event_type for e in ledger.history("ACT-2018-001")] == ["raised", "updated"]
    assert ledger.meeting("2018-04-23").title == "Monthly Assurance Meeting April 2018"
    assert ledger.verify().ok


def test_an_update_stored_before_restricted_notes_existed_reads_as_not_restricted() -> None:
    """An ``action.updated`` envelope without the ``restricted`` key (stored before the field
    existed) decodes with ``restricted=False``; a restricted one keeps it, and shows it in
    the audit trail."""
    with Ledger.open(":memory:") as ledger:
        action_id = ledger.raise_action(
            text="Share the Durham headlines.",
            owners=["CC"],
            actor="JI",
            occurred_at="2018-04-23T10:00",
        )
        ledger.update_action(
            action_id,
            note="Shared in confidence.",
            source="email",
            actor="JI",
            restricted=True,
            occurred_at="2018-05-01T10:00",
        )
        stored = ledger.store.read_stream(f"action:{action_id}")[-1]
        assert decode(stored).restricted is True  # type: ignore[union-attr]
        old_data = json.loads(stored.data)
        del old_data["restricted"]
        older = attrs.evolve(stored, data=canonical_json(old_data))
        assert decode(older).restricted is False  # type: ignore[union-attr]
        assert "restricted" in ledger.history(action_id)[-1].summary
