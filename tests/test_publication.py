"""Restricted means restricted: the one definition of an action's public form
(``action_ledger._publication``), the law over generated registers, and each leak found
before (issue 13) as a test of its own."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings

from action_ledger import IntegrityError, Ledger, ValidationError
from action_ledger._publication import public_action, public_events
from action_ledger.cli import main
from action_ledger.commands import Command
from action_ledger.events import ActionEvent, ActionRaised, ActionUpdated
from action_ledger.exports import (
    CSV_COLUMNS,
    import_csv,
    publish_html,
    publish_markdown,
    write_csv,
)
from action_ledger.testing.laws import (
    MARK,
    LawViolation,
    check_restricted,
    mark_restricted,
    public_outputs,
)
from action_ledger.testing.strategies import RegisterModel, histories

ACTOR = "Charity Pearce"
GENERATED = "2022-02-01T09:00:00Z"
SECRET_TEXT = "SECRET-TEXT: covert deployment plan"
SECRET_NOTE = "SECRET-NOTE: informant named in briefing"
SECRET_OWNER = "DCI: Hidden Person"
PUBLIC_NOTE = "Written update received; work under way"


# -- the law ------------------------------------------------------------------------------------

LAW_RUNS: list[int] = []


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories())
def test_no_public_output_shows_restricted_matter(history: list[Command]) -> None:
    """Over generated registers (restricted actions and updates about half the time), no
    output for a reader without the right shows a restricted action, note, changed value or
    link, nor depends on one (the law ``restricted-stays-restricted``)."""
    model = RegisterModel.replay(history)
    restricted = [e for e in model.events if getattr(e, "restricted", False)]
    event(f"restricted actions: {sum(isinstance(e, ActionRaised) for e in restricted)}")
    event(f"restricted updates: {sum(isinstance(e, ActionUpdated) for e in restricted)}")
    with Ledger.open(":memory:") as ledger:
        ledger.execute_many(history)
        compared = check_restricted(ledger, model)
    assert compared >= 5
    LAW_RUNS.append(compared)


def test_the_law_ran_on_registers_with_restricted_matter() -> None:
    """The law's examples ran (this test runs after it, in file order) and say how many."""
    if not LAW_RUNS:
        pytest.skip("the law did not run in this session")
    print(f"\nrestricted-stays-restricted: {len(LAW_RUNS)} examples, 0 leaks")


# -- the registers of the unit tests ------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> str:
    """The path of the test register's SQLite file."""
    return str(tmp_path / "register.db")


@pytest.fixture
def ledger(db: str) -> Iterator[Ledger]:
    """A register with every kind of restricted matter, each beside public matter:

    - ACT-2021-001, public, with a public update, then a restricted one that changed its
      text, owners and due date (to an earlier date);
    - ACT-2021-002, restricted;
    - ACT-2021-003, public, following 001 and 002, closed as superseded by 002.
    """
    opened = Ledger.open(db)
    opened.record_meeting(
        "2021-10-04",
        title="Monthly Assurance Meeting October 2021",
        held_at="2021-10-04T13:30",
        actor=ACTOR,
    )
    public = opened.raise_action(
        text="Find out the timeline for the homicide review analysis",
        owners=["CC"],
        meeting="2021-10-04",
        item="2.9",
        due="2021-11-01",
        actor=ACTOR,
    )
    opened.update_action(
        public,
        note=PUBLIC_NOTE,
        source="written update",
        occurred_at="2021-10-10T10:00",
        actor=ACTOR,
    )
    opened.update_action(
        public,
        note=SECRET_NOTE,
        source="briefing note",
        text=SECRET_TEXT,
        owners=[SECRET_OWNER],
        due="2021-10-06",
        reason="operational sensitivity",
        restricted=True,
        occurred_at="2021-10-12T10:00",
        actor=ACTOR,
    )
    secret = opened.raise_action(
        text="SECRET-ACTION: review Op Vesta",
        owners=["CC"],
        meeting="2021-10-04",
        restricted=True,
        actor=ACTOR,
    )
    follower = opened.raise_action(
        text="Report on the review that follows earlier work",
        owners=["PCC"],
        meeting="2021-10-04",
        follows=[public, secret],
        actor=ACTOR,
    )
    opened.close_action(
        follower,
        resolution="superseded",
        superseded_by=secret,
        note="Replaced by a new action",
        occurred_at="2021-10-20T10:00",
        actor=ACTOR,
    )
    yield opened
    opened.close()


def _ids(ledger: Ledger) -> tuple[str, str, str]:
    public, secret, follower = (a.id for a in ledger.register())
    return public, secret, follower


# -- the definition -------------------------------------------------------------------------------


def test_the_public_form_takes_out_each_kind_of_restricted_matter(ledger: Ledger) -> None:
    """The public form of an action keeps its public text, owners, due date and note where a
    restricted update changed them, and drops links to a restricted action; a restricted
    action has none."""
    public, _secret, follower = _ids(ledger)
    forms = {a.id: a for a in ledger.public_forms(ledger.register())}
    assert sorted(forms) == [public, follower]
    assert ledger.get(public).text == SECRET_TEXT  # the working register has it
    first = forms[public]
    assert first.text == "Find out the timeline for the homicide review analysis"
    assert [str(o) for o in first.owners] == ["CC"]
    assert first.due_on is not None
    assert first.due_on.isoformat() == "2021-11-01"
    assert first.last_update == PUBLIC_NOTE
    assert first.version == 2  # the public events only
    third = forms[follower]
    assert third.follows == (public,)
    assert third.superseded_by is None
    assert third.resolution == "superseded"


def test_a_corrected_restricted_update_stays_out() -> None:
    """A correction of a restricted update is as restricted as the update."""
    with Ledger.open(":memory:") as ledger:
        action = ledger.raise_action(text="Public text", owners=["CC"], actor=ACTOR)
        ledger.update_action(
            action, note="secret first", source="verbal", restricted=True, actor=ACTOR
        )
        update = ledger.history(action)[-1].event_id
        ledger.correct_event(
            action, update, reason="typo", note="SECRET corrected note", actor=ACTOR
        )
        stream = [e for _, e in _all_events(ledger) if isinstance(e, ActionEvent)]
        assert [type(e) for e in public_events(stream)] == [ActionRaised]
        form = public_action(stream, restricted=set())
        assert form is not None
        assert form.last_update is None
        assert "SECRET" not in publish_markdown(ledger, generated_at=GENERATED)


def test_a_row_edited_to_look_publishable_is_still_left_out(ledger: Ledger, db: str) -> None:
    """The public form comes from the stream: a restricted action whose table row was
    edited to say publishable is not in a public query, and publishing refuses the edited
    table, naming the row."""
    _, secret, _ = _ids(ledger)
    with sqlite3.connect(db) as edit:
        edit.execute("UPDATE actions SET restricted = 0 WHERE id = ?", [secret])
    edit.close()
    assert secret not in [a.id for a in ledger.register(restricted=False)]
    with pytest.raises(IntegrityError, match=rf"actions \[{secret}\] restricted: expected 1"):
        publish_html(ledger, generated_at=GENERATED)


# -- each leak of issue 13 ------------------------------------------------------------------------


def _leaks(text: str, ledger: Ledger) -> list[str]:
    _, secret, _ = _ids(ledger)
    found = [s for s in (SECRET_TEXT, SECRET_NOTE, "Hidden Person", "SECRET-ACTION") if s in text]
    return found + ([secret] if secret in text else [])


def test_register_restricted_false_carries_no_restricted_note_or_link(ledger: Ledger) -> None:
    """``register(restricted=False)`` gives public forms: no restricted ``last_update``,
    text, owner or due date, and no restricted id in ``follows`` or ``superseded_by``."""
    public, secret, follower = _ids(ledger)
    actions = ledger.register(restricted=False)
    assert [a.id for a in actions] == [public, follower]
    assert all(a.last_update != SECRET_NOTE for a in actions)
    assert all(secret not in a.follows and a.superseded_by != secret for a in actions)
    assert actions[0].text != SECRET_TEXT


def test_register_restricted_false_filters_on_what_it_shows(ledger: Ledger) -> None:
    """Filtering publishable actions by owner or text matches their public form, so a
    filter cannot tell a reader what a restricted update said."""
    public, _, _ = _ids(ledger)
    assert ledger.register(owner="DCI") != ()  # the working register answers
    assert ledger.register(restricted=False, owner="DCI") == ()
    assert ledger.register(restricted=False, text="covert") == ()
    assert [a.id for a in ledger.register(restricted=False, text="homicide")] == [public]
    assert [a.id for a in ledger.register(restricted=False, owner="cc")] == [public]


def test_list_publishable_json_carries_no_restricted_matter(ledger: Ledger, db: str) -> None:
    """``list --publishable --json`` (and the text listing) show only public forms."""
    runner = CliRunner()
    for args in (["list", "--publishable", "--json"], ["list", "--publishable"]):
        result = runner.invoke(main, ["--db", db, *args])
        assert result.exit_code == 0, result.output
        assert _leaks(result.output, ledger) == []
    listed = json.loads(runner.invoke(main, ["--db", db, "list", "--publishable", "--json"]).output)
    assert [a["last_update"] for a in listed] == [PUBLIC_NOTE, None]


def test_html_and_markdown_publish_no_change_made_in_a_restricted_update(
    ledger: Ledger,
) -> None:
    """A text, owner or due date changed inside a restricted update is not published; the
    values before it are, with the public note."""
    for page in (
        publish_html(ledger, generated_at=GENERATED),
        publish_markdown(ledger, generated_at=GENERATED),
    ):
        assert _leaks(page, ledger) == []
        assert "homicide review analysis" in page
        assert "2021-11-01" in page
        assert "2021-10-06" not in page
        assert PUBLIC_NOTE in page
        assert "Closed (superseded)" in page


def test_csv_has_a_restricted_column_and_publishable_csv_holds_none(ledger: Ledger) -> None:
    """The working CSV marks each action restricted or not; with ``restricted=False`` it
    holds only public forms."""
    public, secret, follower = _ids(ledger)
    assert CSV_COLUMNS[-1] == "restricted"
    full = io.StringIO()
    write_csv(ledger, full)
    rows = {r["ref"]: r for r in csv.DictReader(io.StringIO(full.getvalue()))}
    assert {k: r["restricted"] for k, r in rows.items()} == {
        public: "no",
        secret: "yes",
        follower: "no",
    }
    assert rows[public]["latest update"] == SECRET_NOTE  # the working register
    published = io.StringIO()
    assert write_csv(ledger, published, restricted=False) == 2
    assert _leaks(published.getvalue(), ledger) == []


def test_cli_exports_publishable_csv(ledger: Ledger, db: str) -> None:
    """``export --format csv --publishable`` leaves out what a published log leaves out;
    without the flag, the export holds everything; an events export cannot be publishable."""
    runner = CliRunner()
    public_csv = runner.invoke(main, ["--db", db, "export", "--format", "csv", "--publishable"])
    assert public_csv.exit_code == 0, public_csv.output
    assert _leaks(public_csv.output, ledger) == []
    full_csv = runner.invoke(main, ["--db", db, "export", "--format", "csv"])
    assert SECRET_NOTE in full_csv.output
    refused = runner.invoke(main, ["--db", db, "export", "--format", "events", "--publishable"])
    assert refused.exit_code == 2
    assert "cannot be made publishable" in refused.output


def test_agenda_and_overdue_for_a_reader_without_the_right(ledger: Ledger) -> None:
    """With ``publishable=True`` the agenda and the overdue and RAG views hold public forms,
    judged by the public due date (the restricted one made the action overdue earlier)."""
    public, secret, follower = _ids(ledger)
    assert [s.action.id for s in ledger.overdue("2021-10-08")] == [public]  # restricted due
    assert ledger.overdue("2021-10-08", publishable=True) == ()
    assert [s.action.id for s in ledger.overdue("2021-11-02", publishable=True)] == [public]
    rag = ledger.rag("2021-10-08", publishable=True)
    assert [(s.action.id, s.rag) for s in rag] == [(public, "green"), (follower, "green")]
    assert rag[0].action.text != SECRET_TEXT
    assert rag[0].days_left == 24
    agenda = ledger.agenda("2021-11-01", publishable=True)
    assert secret not in [a.id for a in agenda.outstanding]
    assert all(a.last_update != SECRET_NOTE for a in agenda.outstanding)
    assert agenda.due == agenda.outstanding[:1]


def test_cli_agenda_and_overdue_publishable(ledger: Ledger, db: str) -> None:
    """``agenda --publishable`` and ``overdue --publishable`` (text and JSON) show no
    restricted matter."""
    runner = CliRunner()
    for args in (
        ["agenda", "2021-11-01", "--publishable"],
        ["agenda", "2021-11-01", "--publishable", "--json"],
        ["overdue", "2021-11-02", "--publishable", "--all"],
        ["overdue", "2021-11-02", "--publishable", "--json"],
    ):
        result = runner.invoke(main, ["--db", db, *args])
        assert result.exit_code == 0, result.output
        assert _leaks(result.output, ledger) == []


# -- the CSV's restricted column on import ------------------------------------------------------


def test_import_reads_the_restricted_column_and_files_without_it(ledger: Ledger) -> None:
    """A new row marked ``yes`` is raised restricted; a file without the column raises
    publishable actions; an export reads back as no change."""
    full = io.StringIO()
    write_csv(ledger, full)
    unchanged = import_csv(ledger, io.StringIO(full.getvalue()), actor=ACTOR)
    assert unchanged.raised == ()
    assert unchanged.updated == ()
    rows = (
        "meeting,item,action,owner,due,latest update,restricted,ref\r\n"
        "2021-10-04,3.1,A restricted new action,CC,,,yes,\r\n"
        "2021-10-04,3.2,A public new action,CC,,,,\r\n"
    )
    raised = import_csv(ledger, io.StringIO(rows), actor=ACTOR).raised
    assert [ledger.get(a).restricted for a in raised] == [True, False]
    old_style = "ref,meeting,item,action,owner,due,latest update\r\n,2021-10-04,3.3,Old,CC,,\r\n"
    (old,) = import_csv(ledger, io.StringIO(old_style), actor=ACTOR).raised
    assert ledger.get(old).restricted is False


def test_import_refuses_a_changed_or_unreadable_restricted_cell(ledger: Ledger) -> None:
    """An existing action's ``restricted`` cell must say what the register says, and a new
    row's must be yes or no; nothing is stored otherwise."""
    public, _, _ = _ids(ledger)
    full = io.StringIO()
    write_csv(ledger, full)
    lines = full.getvalue().splitlines()
    assert lines[1].startswith(public)
    assert lines[1].endswith(",no")
    lines[1] = lines[1][: -len("no")] + "yes"
    with pytest.raises(ValidationError, match="restricted differs from the register"):
        import_csv(ledger, io.StringIO("\r\n".join(lines) + "\r\n"), actor=ACTOR)
    bad = "ref,meeting,action,owner,due,latest update,item,restricted\r\n,,X,CC,,,,maybe\r\n"
    with pytest.raises(ValidationError, match="'maybe' is not yes or no"):
        import_csv(ledger, io.StringIO(bad), actor=ACTOR)
    assert len(ledger.register()) == 3


# -- the law can fail -----------------------------------------------------------------------------


def test_the_law_finds_a_leak(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the public form bypassed (the full register published), the law names the leak."""
    from action_ledger import _views

    model = RegisterModel()
    model.events.extend(e for _, e in _all_events(ledger))  # type: ignore[misc]
    monkeypatch.setattr(_views.RegisterView, "public_forms", lambda self, actions: tuple(actions))
    with pytest.raises(LawViolation, match="restricted-stays-restricted"):
        check_restricted(ledger, model)


def test_marking_replaces_every_restricted_value(ledger: Ledger) -> None:
    """``mark_restricted`` marks the restricted action (and links to it) and the restricted
    update, and leaves the public events alone."""
    events = [e for _, e in _all_events(ledger)]
    marked = mark_restricted(events)
    assert len(marked) == len(events)
    changed = [m for e, m in zip(events, marked, strict=True) if e != m]
    kinds = sorted(type(m).__name__ for m in changed)
    assert kinds == ["ActionClosed", "ActionRaised", "ActionRaised", "ActionUpdated"]
    update = next(m for m in changed if isinstance(m, ActionUpdated))
    assert update.note.startswith(MARK)
    assert update.text is not None
    assert MARK in update.text
    outputs = public_outputs(ledger)
    assert "html" in outputs
    assert "csv --publishable" in outputs


def _all_events(ledger: Ledger) -> list[tuple[int, object]]:
    from action_ledger._codec import decode

    return [(s.position, decode(s)) for s in ledger.store.read_all()]


def test_publishable_must_be_a_boolean(ledger: Ledger) -> None:
    """``publishable`` accepts only ``True`` or ``False``: a truthy string is not taken as
    either."""
    for ask in (ledger.agenda, ledger.overdue, ledger.rag):
        with pytest.raises(ValidationError, match="publishable: 'no' is not True or False"):
            ask("2021-11-01", publishable="no")  # type: ignore[operator]
