"""Erasure without breaking the chain: sealed fields, the subject key store, ``Ledger.erase``."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pendulum
import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("cryptography", reason="erasure needs the 'erasure' extra (cryptography)")

from action_ledger import (
    ERASED,
    Attendee,
    ErasurePolicy,
    IntegrityError,
    Ledger,
    StoreError,
    SubjectKeys,
    ValidationError,
)
from action_ledger._backup import export_events, import_events
from action_ledger._codec import decode, encode, stream_of
from action_ledger._erasure import open_text, seal_text
from action_ledger.cli import main
from action_ledger.events import ActionRaised, ActionUpdated, Event
from action_ledger.exports import publish_html, publish_markdown, write_csv
from action_ledger.store import GENESIS_HASH, NewEvent, StoredEvent
from action_ledger.testing import strategies

# Distinctive words: letters only, with a prefix no other output holds, so "absent" means
# "not leaked" (hashes are hex, ids are ACT-…, the library's words are English).
WORD = st.text(alphabet="bcdfghjklmnpqrstvwxz", min_size=12, max_size=12).map(lambda s: "Zq" + s)


@st.composite
def _actions(draw: st.DrawFn) -> list[dict[str, object]]:
    """2-4 actions, every word in them distinct (none a part of another: same length)."""
    count = draw(st.integers(min_value=2, max_value=4))
    words = draw(st.lists(WORD, min_size=3 * count, max_size=3 * count, unique=True))
    return [
        {
            "text": words[3 * i],
            "person": words[3 * i + 1],
            "restricted": draw(st.booleans()),
            "note": draw(st.sampled_from([None, words[3 * i + 2]])),
        }
        for i in range(count)
    ]


ACTIONS = _actions()


def _stored(new: NewEvent, *, stream_id: str) -> StoredEvent:
    """``new`` as a store would hold it first in its stream (no chain needed here)."""
    return StoredEvent(
        position=1,
        stream_id=stream_id,
        version=1,
        event_id=new.event_id,
        event_type=new.event_type,
        schema_version=new.schema_version,
        data=new.data,
        occurred_at=new.occurred_at,
        recorded_at="2024-01-01T00:00:00.000000Z",
        actor=new.actor,
        prev_hash=GENESIS_HASH,
        hash=GENESIS_HASH,
    )


def _open(folder: Path, backend: str, keys: SubjectKeys | None, **options: object) -> Ledger:
    target = ":memory:" if backend == "memory" else str(folder / "register.db")
    return Ledger.open(target, keys=keys, **options)  # type: ignore[arg-type]


def _fill(ledger: Ledger, actions: list[dict[str, object]]) -> list[str]:
    ids = []
    for spec in actions:
        action_id = ledger.raise_action(
            text=f"Review {spec['text']}",
            owners=[f"CC: {spec['person']}"],
            restricted=bool(spec["restricted"]),
            actor="officer",
        )
        if spec["note"] is not None:
            ledger.update_action(
                action_id,
                note=f"Briefing {spec['note']}",
                source="briefing note",
                restricted=bool(spec["restricted"]),
                actor="officer",
            )
        ids.append(action_id)
    return ids


def _outputs(ledger: Ledger, ids: list[str]) -> Iterator[tuple[str, str]]:
    """Every output a reader or a file can see, as text (named)."""
    yield "register", repr(ledger.register())
    for action_id in ids:
        yield f"get {action_id}", repr(ledger.get(action_id))
        yield f"history {action_id}", repr(ledger.history(action_id))
    for table in ("actions", "owners", "audit_trail"):
        yield table, repr(ledger.read_model.select(f"SELECT * FROM {table}"))
    with ledger.as_of(pendulum.now("UTC")) as view:
        yield "as_of register", repr(view.register())
        for action_id in ids:
            yield f"as_of history {action_id}", repr(view.history(action_id))
    yield "html", publish_html(ledger)
    yield "markdown", publish_markdown(ledger)
    out = io.StringIO()
    write_csv(ledger, out)
    yield "csv", out.getvalue()
    backup = io.StringIO()
    export_events(ledger.store, backup)
    yield "backup", backup.getvalue()


def test_sealed_text_opens_with_its_key_only() -> None:
    """A sealed value opens with its subject's key and binding; altered, it is refused."""
    keys = SubjectKeys()
    sealed = seal_text(keys, "action:A-1", "plain words", "event-1.text")
    assert "plain words" not in repr(sealed)
    assert open_text(keys, sealed, "event-1.text") == "plain words"
    with pytest.raises(IntegrityError, match="does not open"):
        open_text(keys, sealed, "event-2.text")  # moved to another event
    assert open_text(None, sealed, "event-1.text") == ERASED
    keys.erase("action:A-1")
    assert open_text(keys, sealed, "event-1.text") == ERASED


@given(text=st.text(max_size=300))
def test_seal_open_round_trip(text: str) -> None:
    """Any text comes back exactly from sealing and opening."""
    keys = SubjectKeys()
    assert open_text(keys, seal_text(keys, "person:ab", text, "e.note"), "e.note") == text


def test_destroyed_key_is_gone_from_the_key_store_file(tmp_path: Path) -> None:
    """After erase, neither the key's bytes nor the person's name are in the key store file."""
    path = tmp_path / "keys.db"
    with SubjectKeys(path) as keys:
        subject = keys.person("Zqnamexyz")
        key = keys.key(subject)
        assert key is not None
        key_id, _ = keys.key_for("action:A-1")
        assert keys.key_for("action:A-1")[0] == key_id
        assert keys.erase(subject) is True
        assert keys.erase("action:A-2") is False
        assert keys.key(subject) is None
        assert keys.find_person("Zqnamexyz") is None
        assert keys.subjects() == ("action:A-1",)
    raw = path.read_bytes()
    assert key not in raw
    assert b"Zqnamexyz" not in raw
    with SubjectKeys(path) as keys:  # the erasure is noted, by subject id only
        assert [e[0] for e in keys.erasures()] == [subject, "action:A-2"]


def test_person_subject_names_no_one() -> None:
    """A person's subject id is random: it holds nothing of the name, and is stable."""
    keys = SubjectKeys()
    subject = keys.person("Pippa Mills")
    assert "pippa" not in subject.lower()
    assert "mills" not in subject.lower()
    assert keys.person("Pippa Mills") == subject
    assert keys.person("John Campion") != subject


def test_missing_key_store_is_a_typed_error(tmp_path: Path) -> None:
    """A key store path that does not exist is refused (not read as an empty one)."""
    with pytest.raises(StoreError, match="does not exist"):
        Ledger.open(":memory:", keys=tmp_path / "missing-keys.db")
    assert not (tmp_path / "missing-keys.db").exists()


def test_erasure_policy_without_keys_is_refused() -> None:
    """A policy needs a key store; erase needs one too."""
    with pytest.raises(ValidationError, match="needs a key store"):
        Ledger.open(":memory:", erasure=ErasurePolicy())
    with Ledger.open(":memory:") as ledger, pytest.raises(ValidationError, match="without a key"):
        ledger.erase("action:ACT-1", actor="dpo", reason="request 1")


@pytest.mark.parametrize("subject", ["", "ACT-1", "person", "Pippa Mills", None, 3])
def test_bad_subject_is_refused(subject: object) -> None:
    """An erase names an action or person subject; anything else is refused, nothing erased."""
    keys = SubjectKeys()
    with Ledger.open(":memory:", keys=keys, erasure=ErasurePolicy()) as ledger:
        action_id = ledger.raise_action(text="Zqsecret", owners=["CC"], restricted=True, actor="a")
        with pytest.raises(ValidationError, match="subject"):
            ledger.erase(subject, actor="dpo", reason="request 1")  # type: ignore[arg-type]
        assert ledger.get(action_id).text == "Zqsecret"


def test_without_a_policy_nothing_is_sealed() -> None:
    """A register opened without a policy stores text as before (no key made)."""
    keys = SubjectKeys()
    with Ledger.open(":memory:", keys=keys) as ledger:
        ledger.raise_action(text="Zqplain", owners=["CC: Zqname"], restricted=True, actor="a")
        (stored,) = ledger.store.read_all()
    assert "Zqplain" in stored.data
    assert "Zqname" in stored.data
    assert keys.subjects() == ()


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@settings(max_examples=12)
@given(actions=ACTIONS, which=st.integers(min_value=0, max_value=3), person=st.booleans())
def test_erased_plaintext_is_in_no_output(
    backend: str, actions: list[dict[str, object]], which: int, person: bool
) -> None:
    """After erasing a subject, no output holds its plaintext; the chain still verifies; the
    other subjects read as before."""
    chosen = actions[which % len(actions)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        keys = SubjectKeys(folder / "keys.db")
        ledger = _open(folder, backend, keys, erasure=ErasurePolicy(names=True))
        ids = _fill(ledger, actions)
        raw = "".join(s.data for s in ledger.store.read_all())
        for spec in actions:  # nothing erasable is stored in plain text
            assert str(spec["person"]) not in raw
            if spec["restricted"]:
                assert str(spec["text"]) not in raw
        # the tables, with sealed fields opened, are the fold of the log read with the keys
        assert ledger.verify().ok
        action_id = ids[actions.index(chosen)]
        if person:
            subject = keys.find_person(str(chosen["person"]))
            assert subject is not None
            gone = [str(chosen["person"])]
        else:
            subject = "action:" + action_id
            gone = [str(chosen["text"])] + ([str(chosen["note"])] if chosen["note"] else [])
            if not chosen["restricted"]:
                gone = []  # an unrestricted action's text is not sealed: nothing to erase
        had_key = person or bool(chosen["restricted"])  # an open action's text has no key
        assert ledger.erase(subject, actor="dpo", reason="UK GDPR request 42") is had_key
        assert ledger.verify().ok
        for name, text in _outputs(ledger, ids):
            for word in gone:
                assert word not in text, f"{word!r} still in {name}"
        for spec, other in zip(actions, ids, strict=True):
            action = ledger.get(other)
            erased_text = not person and other == action_id and bool(spec["restricted"])
            assert action.text == (ERASED if erased_text else f"Review {spec['text']}")
            erased_name = person and spec is chosen
            assert action.owners[0].person == (ERASED if erased_name else spec["person"])
        ledger.close()
        keys.close()
        if backend == "sqlite":
            data = (folder / "register.db").read_bytes()
            wal = folder / "register.db-wal"
            data += wal.read_bytes() if wal.exists() else b""
            for word in gone:
                assert word.encode() not in data


def test_restore_without_the_key_store_reads_erased(tmp_path: Path) -> None:
    """A backup holds ciphertext only; restored without the key store, sealed fields read
    erased; with it, they read as written."""
    keys = SubjectKeys(tmp_path / "keys.db")
    with Ledger.open(":memory:", keys=keys, erasure=ErasurePolicy(names=True)) as ledger:
        action_id = ledger.raise_action(
            text="Zqhidden", owners=["CC: Zqperson"], restricted=True, actor="a"
        )
        backup = io.StringIO()
        export_events(ledger.store, backup)
    assert "Zqhidden" not in backup.getvalue()
    assert "Zqperson" not in backup.getvalue()
    bare = Ledger.open(":memory:")
    import_events(bare.store, io.StringIO(backup.getvalue()))
    bare.rebuild()
    assert bare.get(action_id).text == ERASED
    assert bare.get(action_id).owners[0].person == ERASED
    assert bare.verify().ok
    keyed = Ledger.open(":memory:", keys=keys)
    import_events(keyed.store, io.StringIO(backup.getvalue()))
    keyed.rebuild()
    assert keyed.get(action_id).text == "Zqhidden"


def test_meeting_names_are_sealed_and_erased() -> None:
    """Attendees', apologies', chair and minute-taker names are sealed under the names policy."""
    keys = SubjectKeys()
    with Ledger.open(":memory:", keys=keys, erasure=ErasurePolicy(names=True)) as ledger:
        ledger.record_meeting(
            "2021-10-04",
            title="Monthly Assurance Meeting",
            held_at="2021-10-04T10:00",
            chair="Zqchair",
            minutes_by="Zqminutes",
            attendance=[Attendee(name="Zqchair"), Attendee(name="Zqattendee")],
            apologies=[Attendee(name="Zqapology")],
            actor="officer",
        )
        (stored,) = ledger.store.read_all()
        for name in ("Zqchair", "Zqminutes", "Zqattendee", "Zqapology"):
            assert name not in stored.data
        assert ledger.meeting("2021-10-04").chair == "Zqchair"
        subject = keys.find_person("Zqchair")
        assert subject is not None
        ledger.erase(subject, actor="dpo", reason="request 7")
        meeting = ledger.meeting("2021-10-04")
        assert meeting.chair == ERASED
        assert [a.name for a in meeting.attendance] == [ERASED, "Zqattendee"]
        rows = repr(ledger.read_model.select("SELECT * FROM attendance"))
        assert "Zqchair" not in rows
        assert "Zqattendee" in rows


def test_names_in_a_meeting_correction_are_sealed_and_erased() -> None:
    """A correction of a meeting's chair or attendance seals the names it gives, as the record
    does: the log never holds them in plain text, and erasing the person erases them."""
    keys = SubjectKeys()
    with Ledger.open(":memory:", keys=keys, erasure=ErasurePolicy(names=True)) as ledger:
        ledger.record_meeting(
            "2021-10-04",
            title="Monthly Assurance Meeting",
            held_at="2021-10-04T10:00",
            chair="Zqfirst",
            actor="officer",
        )
        ledger.correct_meeting(
            "2021-10-04",
            reason="the chair was minuted wrongly",
            chair="Zqsecond",
            attendance=[Attendee(name="Zqsecond"), Attendee(name="Zqother")],
            actor="officer",
        )
        raw = "".join(s.data for s in ledger.store.read_all())
        for name in ("Zqfirst", "Zqsecond", "Zqother"):
            assert name not in raw
        assert ledger.meeting("2021-10-04").chair == "Zqsecond"
        subject = keys.find_person("Zqsecond")
        assert subject is not None
        ledger.erase(subject, actor="dpo", reason="request 8")
        meeting = ledger.meeting("2021-10-04")
        assert meeting.chair == ERASED
        assert [a.name for a in meeting.attendance] == [ERASED, "Zqother"]
        assert ledger.verify().ok


def test_correction_of_restricted_text_is_sealed() -> None:
    """A correction of a restricted action's text is sealed under the action's subject."""
    keys = SubjectKeys()
    with Ledger.open(":memory:", keys=keys, erasure=ErasurePolicy()) as ledger:
        action_id = ledger.raise_action(text="Zqfirst", owners=["CC"], restricted=True, actor="a")
        (raised,) = ledger.store.read_all()
        ledger.correct_event(action_id, raised.event_id, reason="typo", text="Zqsecond", actor="a")
        assert "Zqsecond" not in "".join(s.data for s in ledger.store.read_all())
        assert ledger.get(action_id).text == "Zqsecond"
        ledger.erase("action:" + action_id, actor="dpo", reason="request 9")
        assert ledger.get(action_id).text == ERASED
        assert "Zqsecond" not in repr(ledger.history(action_id))
        assert "Zqfirst" not in repr(ledger.history(action_id))


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["--actor", "Data Officer", *args])


def test_cli_erase_a_restricted_action(tmp_path: Path) -> None:
    """``--keys`` seals restricted text; ``erase`` destroys the key; ``show`` reads erased;
    ``verify`` still passes."""
    db, keys = str(tmp_path / "register.db"), str(tmp_path / "keys.db")
    base = ["--db", db, "--keys", keys]
    assert _cli(*base, "--seal-names", "init").exit_code == 0
    raised = _cli(
        *base,
        "raise",
        "Zqrestricted",
        "--owner",
        "CC: Zqowner",
        "--restricted",
        "--json",
    )
    assert raised.exit_code == 0, raised.output
    action_id = json.loads(raised.stdout)["id"]
    assert "Zqrestricted" in _cli(*base, "show", action_id).output
    erased = _cli(*base, "erase", f"action:{action_id}", "--reason", "SAR 2024-17")
    assert erased.exit_code == 0, erased.output
    assert "erased" in erased.output
    shown = _cli(*base, "show", action_id)
    assert "Zqrestricted" not in shown.output
    assert ERASED in shown.output
    by_name = _cli(*base, "erase", "--person", "Zqowner", "--reason", "SAR 2024-18")
    assert by_name.exit_code == 0, by_name.output
    assert "Zqowner" not in _cli(*base, "show", action_id).output
    assert _cli("--db", db, "verify").exit_code == 0
    again = _cli(*base, "erase", f"action:{action_id}", "--reason", "SAR 2024-17")
    assert again.exit_code == 0
    assert "nothing to do" in again.output
    assert "Zqrestricted" not in Path(db).read_bytes().decode("latin-1")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["erase", "action:ACT-1", "--reason", "r"], "does not exist"),
        (["erase", "--reason", "r"], "give either SUBJECT"),
        (["erase", "Pippa Mills", "--reason", "r"], "is not valid"),
        (["erase", "--person", "Nobody", "--reason", "r"], "no key for a person"),
    ],
)
def test_cli_erase_refusals(tmp_path: Path, args: list[str], says: str) -> None:
    """A missing key store, no subject, a bad subject or an unknown person: a typed error
    message and a non-zero exit, no traceback."""
    db, keys = str(tmp_path / "register.db"), str(tmp_path / "keys.db")
    assert _cli("--db", db, "init").exit_code == 0
    if says != "does not exist":
        assert _cli("--db", db, "--keys", keys, "init").exit_code == 0
    result = _cli("--db", db, "--keys", keys, *args)
    assert result.exit_code != 0
    assert says in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_postgres_register_erases_like_sqlite(
    postgres_dsn: str, pg_schema: Callable[[], str], tmp_path: Path
) -> None:
    """On PostgreSQL too: sealed in the log, read with the key, erased everywhere after
    ``erase`` (read-model rows included); the chain still verifies."""
    keys = SubjectKeys(tmp_path / "keys.db")
    schema = pg_schema()
    policy = ErasurePolicy(names=True)
    with Ledger.open(postgres_dsn, schema=schema, keys=keys, erasure=policy) as ledger:
        action_id = ledger.raise_action(
            text="Zqpgsecretword", owners=["CC: Zqpgpersonname"], restricted=True, actor="a"
        )
        ledger.update_action(
            action_id, note="Zqpgnoteword", source="email", restricted=True, actor="a"
        )
        assert "Zqpgsecretword" not in "".join(s.data for s in ledger.store.read_all())
        assert ledger.get(action_id).text == "Zqpgsecretword"
        ledger.erase(f"action:{action_id}", actor="dpo", reason="request 3")
        assert ledger.verify().ok
        texts = [text for _, text in _outputs(ledger, [action_id])]
        assert not any("Zqpgsecretword" in t or "Zqpgnoteword" in t for t in texts)
        assert any("Zqpgpersonname" in t for t in texts)  # another subject: unaffected
    with Ledger.open(postgres_dsn, schema=schema, keys=keys) as reopened:  # another writer
        assert reopened.get(action_id).text == ERASED
        assert reopened.get(action_id).owners[0].person == "Zqpgpersonname"


def test_every_text_of_a_restricted_action_is_sealed() -> None:
    """Revisit outcomes, closing notes, reopening reasons and unrestricted updates of a
    restricted action are sealed under its subject too."""
    keys = SubjectKeys()
    with Ledger.open(":memory:", keys=keys, erasure=ErasurePolicy()) as ledger:
        ledger.record_meeting(
            "2021-10-04", title="Monthly Assurance Meeting", held_at="2021-10-04T10:00", actor="a"
        )
        action_id = ledger.raise_action(
            text="Zqtextword", owners=["CC"], restricted=True, meeting="2021-10-04", actor="a"
        )
        ledger.update_action(action_id, note="Zqupdateword", source="email", actor="a")
        ledger.revisit_action(action_id, meeting="2021-10-04", outcome="Zqoutcomeword", actor="a")
        ledger.close_action(action_id, resolution="completed", note="Zqclosingword", actor="a")
        ledger.reopen_action(action_id, reason="Zqreasonword", actor="a")
        words = ("Zqtextword", "Zqupdateword", "Zqoutcomeword", "Zqclosingword", "Zqreasonword")
        log = "".join(s.data for s in ledger.store.read_all())
        assert not [w for w in words if w in log]
        shown = repr(ledger.history(action_id))
        assert all(w in shown for w in words)
        ledger.erase(f"action:{action_id}", actor="dpo", reason="request 5")
        shown = repr(ledger.history(action_id)) + repr(ledger.get(action_id))
        assert not [w for w in words if w in shown]


def test_what_is_sealed_after_an_erasure_is_readable() -> None:
    """An erased subject sealed again gets a new key: the new text reads, the old stays erased."""
    keys = SubjectKeys()
    with Ledger.open(":memory:", keys=keys, erasure=ErasurePolicy()) as ledger:
        action_id = ledger.raise_action(
            text="Zqbeforeword", owners=["CC"], restricted=True, actor="a"
        )
        ledger.erase(f"action:{action_id}", actor="dpo", reason="request 6")
        ledger.update_action(action_id, note="Zqafterword", source="email", actor="a")
        assert ledger.get(action_id).text == ERASED
        assert ledger.get(action_id).last_update == "Zqafterword"
        assert ledger.verify().ok
        ledger.rebuild()
        assert ledger.get(action_id).last_update == "Zqafterword"


def test_the_key_store_records_the_policy_for_every_writer(tmp_path: Path) -> None:
    """The first writer's policy is recorded in the key store; a later writer given only the
    key store applies it; a different policy is refused, and nothing is written."""
    db, path = tmp_path / "register.db", tmp_path / "keys.db"
    with Ledger.open(db, keys=path, erasure=ErasurePolicy(names=True)):
        pass
    with Ledger.open(db, keys=path) as later:
        assert later.erasure == ErasurePolicy(names=True)
        later.raise_action(text="Zqlaterword", owners=["CC: Zqlatername"], actor="a")
        assert "Zqlatername" not in "".join(s.data for s in later.store.read_all())
    with pytest.raises(ValidationError, match="differs from the policy"):
        Ledger.open(db, keys=path, erasure=ErasurePolicy(names=False))
    with SubjectKeys(path) as keys:
        assert keys.policy() == ErasurePolicy(names=True)


def test_cli_seal_names_against_a_recorded_policy_is_refused(tmp_path: Path) -> None:
    """``--seal-names`` on a key store that records a policy without names: exit 2, a
    message, no traceback."""
    base = ["--db", str(tmp_path / "register.db"), "--keys", str(tmp_path / "keys.db")]
    assert _cli(*base, "init").exit_code == 0
    refused = _cli(*base, "--seal-names", "raise", "Zqword", "--owner", "CC: Zqname")
    assert refused.exit_code == 2
    assert "differs from the policy" in refused.output
    assert "Traceback" not in refused.output


def test_a_key_store_failure_is_a_typed_error() -> None:
    """A SQLite failure of the key store (here: it is closed) is a StoreError naming it."""
    keys = SubjectKeys()
    keys.close()
    with pytest.raises(StoreError, match="key store ':memory:' failed in key_for"):
        keys.key_for("action:A-1")


def test_erase_says_when_the_read_models_could_not_be_rebuilt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the rebuild after destroying the key fails, erase says so and how to finish."""
    keys = SubjectKeys()
    with Ledger.open(":memory:", keys=keys, erasure=ErasurePolicy()) as ledger:
        action_id = ledger.raise_action(text="Zqword", owners=["CC"], restricted=True, actor="a")

        def broken(**_: object) -> int:
            raise StoreError("disk full")

        monkeypatch.setattr(ledger, "rebuild", broken)
        with pytest.raises(StoreError, match="action-ledger rebuild"):
            ledger.erase(f"action:{action_id}", actor="dpo", reason="request 8")
        monkeypatch.undo()
        ledger.rebuild()
        assert ledger.get(action_id).text == ERASED


def test_two_people_of_one_name_share_a_subject(tmp_path: Path) -> None:
    """Two key-store handles asking for the same name get the same subject."""
    path = tmp_path / "keys.db"
    with SubjectKeys(path) as first, SubjectKeys(path) as second:
        assert first.person("Zqsamename") == second.person("Zqsamename")


@settings(max_examples=40)
@given(event=strategies.events(), restricted=st.booleans())
def test_sealed_encoding_decodes_to_the_event(event: Event, restricted: bool) -> None:
    """``decode(encode(e, sealed)) == e`` for every event, whatever is sealed; without the
    keys, the sealed fields (and only they) read erased."""
    keys = SubjectKeys()
    new = encode(event, keys=keys, policy=ErasurePolicy(names=True), restricted=restricted)
    if restricted and isinstance(event, ActionRaised | ActionUpdated):
        assert '"sealed"' in new.data  # a restricted text is sealed
    envelope = _stored(new, stream_id=stream_of(event))
    assert decode(envelope, keys) == event
    unsealed = decode(envelope, None)
    if '"sealed"' not in new.data:
        assert unsealed == event
    else:
        assert ERASED in repr(unsealed)
