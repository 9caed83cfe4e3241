"""A bad-input campaign: generated malformed values, given to every keyword command method of
:class:`Ledger`, to the command classes and to the ``action-ledger`` program, raise only typed
errors (or one ``error:`` line and a documented exit code) and leave the register unchanged.

The tally (inputs tried, typed errors, accepted, tracebacks) is printed at the end of the
module; for the figures of issue 13 run it in the ``ci`` profile::

    HYPOTHESIS_PROFILE=ci .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_bad_input.py
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from action_ledger import ActionLedgerError, Attendee, Ledger, ValidationError
from action_ledger._clock import FIRST_YEAR, LAST_YEAR
from action_ledger.cli import EXIT_CODES, main, visible
from action_ledger.commands import (
    CloseAction,
    RaiseAction,
    RecordMeeting,
    ReopenAction,
    RevisitAction,
    UpdateAction,
)
from action_ledger.exceptions import RuleViolationError
from action_ledger.testing import strategies

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
BATCH = 20 if CI else 8  # bad inputs per generated example: one seeded ledger serves a batch
CLI_EXAMPLES = 600 if CI else 25

TALLY: Counter[str] = Counter()


@pytest.fixture(autouse=True, scope="module")
def _print_tally(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    line = (
        f"bad-input campaign: API {TALLY['api']} inputs, {TALLY['api typed']} typed errors, "
        f"{TALLY['api accepted']} accepted, {TALLY['api untyped']} tracebacks; "
        f"CLI {TALLY['cli']} inputs, {TALLY['cli error line']} 'error:' lines, "
        f"{TALLY['cli accepted']} accepted, {TALLY['cli untyped']} tracebacks"
    )
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown even when the tests pass
            reporter.write_line("")
            reporter.write_line(line)


# -- a small register to be bad to -------------------------------------------------------------

MEETING = "2021-10-04"
HELD = "2021-10-04T13:30"
EVENT = str(uuid.UUID(int=7))


def _seed(ledger: Ledger) -> None:
    """A meeting, two open actions (A-001, A-003) and a closed one (A-002)."""
    ledger.record_meeting(MEETING, title="Monthly Assurance Meeting", held_at=HELD, actor="seed")
    for action_id in ("A-001", "A-002", "A-003"):
        ledger.raise_action(
            action_id=action_id, text="Share findings.", owners=["CC"], meeting=MEETING,
            actor="seed",
        )  # fmt: skip
    ledger.close_action("A-002", resolution="completed", note="Done.", actor="seed")


def _snapshot(ledger: Ledger) -> tuple[object, ...]:
    return ledger.head(), ledger.register(), ledger.meetings()


def _seeded() -> Ledger:
    ledger = Ledger.open(":memory:")
    _seed(ledger)
    return ledger


def _attempt(ledger: Ledger, before: tuple[object, ...], call: Callable[[], object]) -> str:
    """Make one call: "accepted", or "typed" when it raised an ActionLedgerError and changed
    nothing. Anything else fails the test (and counts as a traceback)."""
    TALLY["api"] += 1
    try:
        call()
    except ActionLedgerError:
        TALLY["api typed"] += 1
        assert _snapshot(ledger) == before, "a refused call changed the register"
        return "typed"
    except Exception:
        TALLY["api untyped"] += 1
        raise
    TALLY["api accepted"] += 1
    return "accepted"


# -- the API: tagged malformed input -------------------------------------------------------


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases=st.lists(strategies.invalid_inputs(), min_size=BATCH // 2, max_size=BATCH))
def test_every_tagged_malformed_input_raises_its_validation_error(
    cases: list[strategies.InvalidInput],
) -> None:
    """Each malformed value (``strategies.invalid_inputs``, with lone surrogates, years out of
    range, repeated London hours, non-lists and blank ids among them) raises a
    ``ValidationError`` for the field its tag names, and the register is unchanged."""
    with _seeded() as ledger:
        before = _snapshot(ledger)
        for case in cases:
            event(case.rule)
            TALLY["api"] += 1
            try:
                case.call(ledger)
            except ValidationError as exc:
                TALLY["api typed"] += 1
                field = exc.field
            except ActionLedgerError as exc:
                TALLY["api typed"] += 1
                raise AssertionError(f"{case.rule}: not a ValidationError: {exc!r}") from exc
            except Exception:
                TALLY["api untyped"] += 1
                raise
            else:
                raise AssertionError(f"{case.rule}: {case.method}{case.arguments} was accepted")
            if case.rule != "fields:unknown":
                assert field == case.rule.partition(":")[0], case.rule
            assert _snapshot(ledger) == before


# -- the API: anything in any keyword --------------------------------------------------------


def _junk() -> st.SearchStrategy[Any]:
    """Values of every shape: wrong types, odd text, moments of every kind, nested junk."""
    odd_text = st.text(
        alphabet=st.characters(codec=None, exclude_categories=()), max_size=30
    ) | st.sampled_from(("", " ", "a\ud800", "\x1b[31m", "\u202e", "\x00", "x" * 5000))
    moments = st.one_of(
        st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
        st.datetimes(timezones=st.timezones()),
        st.sampled_from(
            (
                "0001-01-01T00:00+01:00",
                "9999-12-31T23:59-12:00",
                "2021-10-31T01:30",
                "2021-03-28T01:30",
                "2021-10-04",
                "1899-12-31T23:00Z",
                "2200-01-01T00:00Z",
            )
        ),
    )
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.binary(max_size=10),
        odd_text,
        moments,
        st.dates(),
        st.uuids(),
        st.just(object()),
        st.just(math.inf),
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.text(max_size=5), inner, max_size=2)
            | st.tuples(inner, inner)
            | st.frozensets(st.integers(), max_size=2)
        ),
        max_leaves=5,
    )


WHEN = {"actor": "Jackie Irvin", "occurred_at": "2021-11-01T10:00Z"}
VALID_CALLS: dict[str, dict[str, Any]] = {
    "record_meeting": {
        "meeting_id": "2021-11-01",
        "title": "Monthly Assurance Meeting November 2021",
        "held_at": "2021-11-01T13:30",
        "actor": "Jackie Irvin",
        "kind": "Holding to account",
        "venue": "Hindlip",
        "chair": "John Campion",
        "minutes_by": "Jackie Irvin",
        "attendance": [Attendee(name="Pippa Mills", capacity="Chief Constable", role="CC")],
        "apologies": [],
        "event_id": str(uuid.UUID(int=1)),
        "occurred_at": "2021-11-01T13:30",
        "source": "notes-2021-11-01.docx",
        "source_sha256": "0123456789abcdef" * 4,
    },
    "raise_action": {
        **WHEN,
        "text": "Share the findings.",
        "owners": ["CC"],
        "meeting": MEETING,
        "item": "2.1",
        "source": "meeting",
        "due": "within two weeks",
        "follows": ["A-001"],
        "restricted": False,
        "action_id": "A-100",
        "event_id": str(uuid.UUID(int=2)),
    },
    "update_action": {
        **WHEN,
        "action_id": "A-001",
        "note": "Timeline agreed.",
        "source": "briefing note",
        "meeting": MEETING,
        "text": "Share the findings with the PCC.",
        "owners": ["DCC"],
        "due": "2021-12-01",
        "reason": "Reassigned.",
        "restricted": False,
        "event_id": str(uuid.UUID(int=3)),
    },
    "revisit_action": {
        **WHEN,
        "action_id": "A-001",
        "meeting": MEETING,
        "outcome": "Findings due this month.",
        "item": "2.2",
        "assured": True,
        "next_revisit": "in 6 months",
        "event_id": str(uuid.UUID(int=4)),
    },
    "close_action": {
        **WHEN,
        "action_id": "A-001",
        "resolution": "superseded",
        "note": "Replaced.",
        "meeting": MEETING,
        "item": "2.3",
        "superseded_by": "A-003",
        "event_id": str(uuid.UUID(int=5)),
    },
    "reopen_action": {
        **WHEN,
        "action_id": "A-002",
        "reason": "Slipped.",
        "meeting": MEETING,
        "event_id": str(uuid.UUID(int=6)),
    },
}
COMMAND_CLASSES = {
    "record_meeting": RecordMeeting,
    "raise_action": RaiseAction,
    "update_action": UpdateAction,
    "revisit_action": RevisitAction,
    "close_action": CloseAction,
    "reopen_action": ReopenAction,
}


def _as_command(method: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``method``, as its command class takes them."""
    fields = {"event_id": str(uuid.UUID(int=9)), **arguments}
    if method == "record_meeting":
        fields.setdefault("occurred_at", fields["held_at"])
    return fields


@st.composite
def _junk_calls(
    draw: st.DrawFn, methods: tuple[str, ...] = (*VALID_CALLS, "correct_event")
) -> tuple[str, str, dict[str, Any]]:
    """A keyword method (or ``correct_event``) with its arguments, one of them junk."""
    method = draw(st.sampled_from(methods))
    if method == "correct_event":
        arguments: dict[str, Any] = {
            "action_id": "A-001",
            "corrects": EVENT,
            "reason": "Minuted wrongly.",
            "actor": "Jackie Irvin",
            "corrected_at": "2021-11-01T10:00Z",
            "text": "Share the findings.",
            "owners": ["DCC"],
        }
    else:
        arguments = dict(VALID_CALLS[method])
    keyword = draw(st.sampled_from(sorted(arguments)))
    arguments[keyword] = draw(_junk())
    return method, keyword, arguments


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(calls=st.lists(_junk_calls(), min_size=BATCH // 2, max_size=BATCH))
def test_any_value_in_any_keyword_is_accepted_or_refused_with_a_typed_error(
    calls: list[tuple[str, str, dict[str, Any]]],
) -> None:
    """Whatever value a keyword method gets in one keyword, it either records it or raises an
    ``ActionLedgerError`` (never ``TypeError``, ``OverflowError``, ``UnicodeEncodeError``…),
    and a refused call leaves the register unchanged."""
    with _seeded() as ledger:
        for method, keyword, arguments in calls:
            before = _snapshot(ledger)
            call = getattr(ledger, method)
            outcome = _attempt(ledger, before, lambda c=call, a=arguments: c(**a))
            event(f"{method}.{keyword}: {outcome}")


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(calls=st.lists(_junk_calls(tuple(COMMAND_CLASSES)), min_size=BATCH // 2, max_size=BATCH))
def test_command_classes_accept_or_refuse_any_value_with_a_typed_error(
    calls: list[tuple[str, str, dict[str, Any]]],
) -> None:
    """A command class given any value in one field raises ``ValidationError`` or makes a
    command that the ledger then carries out or refuses with an ``ActionLedgerError``."""
    with _seeded() as ledger:
        for method, _keyword, arguments in calls:
            fields = _as_command(method, arguments)
            before = _snapshot(ledger)
            make = COMMAND_CLASSES[method]
            outcome = _attempt(ledger, before, lambda m=make, f=fields: ledger.execute(m(**f)))
            event(f"{COMMAND_CLASSES[method].__name__}: {outcome}")


# -- the API: the behaviours issue 13 asked for, by example ----------------------------------


@pytest.mark.parametrize(
    ("call", "field", "words"),
    [
        ({"text": "a\ud800"}, "text", "lone surrogate"),
        ({"occurred_at": "0001-01-01T00:00+01:00"}, "occurred_at", "1900-2199"),
        ({"occurred_at": "2999-01-01T10:00Z"}, "occurred_at", "1900-2199"),
        ({"follows": None}, "follows", "not a list"),
        ({"event_id": ""}, "event_id", "not a UUID"),
        ({"actor": " "}, "actor", "empty"),
        ({"occurred_at": "2021-10-31T01:30"}, "occurred_at", "2021-10-31T01:30+01:00"),
        ({"occurred_at": "2021-03-28T01:30"}, "occurred_at", "does not exist"),
        ({"due": "2200-01-01"}, "due", "1900-2199"),
        ({"due": "by 1 June 2999"}, "due", "1900-2199"),
        ({"due": "within 999 years"}, "due", "1900-2199"),
    ],
)
def test_issue_13_inputs_are_refused_with_what_is_accepted(
    call: dict[str, Any], field: str, words: str
) -> None:
    """Each bad value the issue found raises a ValidationError naming the field and what is
    accepted, and stores nothing."""
    with _seeded() as ledger:
        before = _snapshot(ledger)
        arguments = {"text": "Share.", "owners": ["CC"], "actor": "Jackie Irvin", **call}
        with pytest.raises(ValidationError) as caught:
            ledger.raise_action(**arguments)
        assert caught.value.field == field
        assert words in str(caught.value)
        assert _snapshot(ledger) == before


def test_record_meeting_refuses_none_for_attendance() -> None:
    """``attendance=None`` is a ValidationError, not a TypeError."""
    with (
        _seeded() as ledger,
        pytest.raises(ValidationError, match="attendance: None is not a list"),
    ):
        ledger.record_meeting(
            "2021-11-01", title="T", held_at="2021-11-01T10:00", actor="x", attendance=None
        )


def test_an_ambiguous_london_time_names_both_offsets() -> None:
    """The repeated hour of 31 October 2021 is refused, offering BST and GMT; with an offset
    each is accepted as its own instant."""
    with _seeded() as ledger:
        with pytest.raises(ValidationError) as caught:
            ledger.raise_action(text="T", owners=["CC"], actor="x", occurred_at="2021-10-31T01:30")
        assert "+01:00" in str(caught.value)
        assert "+00:00" in str(caught.value)
        for offset, utc_hour in (("+01:00", 0), ("+00:00", 1)):
            new = ledger.raise_action(
                text="T", owners=["CC"], actor="x", occurred_at=f"2021-10-31T01:30{offset}"
            )
            assert ledger.get(new).raised_at == pendulum.datetime(2021, 10, 31, utc_hour, 30)


@pytest.mark.parametrize(
    ("held_at", "accepted"),
    [
        (f"{FIRST_YEAR}-01-01T12:00", True),
        (f"{LAST_YEAR}-12-31T12:00", True),
        (f"{FIRST_YEAR - 1}-12-31T12:00", False),
        (f"{LAST_YEAR + 1}-01-01T12:00", False),
    ],
)
def test_meetings_are_accepted_in_the_documented_years_only(held_at: str, accepted: bool) -> None:
    """Meetings (and so the ids of actions raised at them) are held in 1900-2199."""
    meeting_id = held_at[:10]
    with Ledger.open(":memory:") as ledger:
        if accepted:
            ledger.record_meeting(meeting_id, title="T", held_at=held_at, actor="x")
            new = ledger.raise_action(text="T", owners=["CC"], meeting=meeting_id, actor="x")
            assert new == f"ACT-{held_at[:4]}-001"
        else:
            with pytest.raises(ValidationError, match="1900-2199"):
                ledger.record_meeting(meeting_id, title="T", held_at=held_at, actor="x")
            assert list(ledger.events()) == []


def test_an_empty_event_id_is_refused_not_replaced() -> None:
    """``event_id=""`` is refused by every keyword method, not replaced by a new id."""
    with _seeded() as ledger:
        before = _snapshot(ledger)
        for method, arguments in VALID_CALLS.items():
            with pytest.raises(ValidationError, match="event_id"):
                getattr(ledger, method)(**{**arguments, "event_id": ""})
        with pytest.raises(ValidationError, match="event_id"):
            ledger.correct_event("A-001", EVENT, reason="r", actor="x", event_id="", text="T")
        assert _snapshot(ledger) == before


def test_the_campaigns_calls_are_accepted_without_junk() -> None:
    """The campaign's calls, before a junk value goes in, are accepted on the seeded register
    (so a refusal in the campaign is the junk value's doing)."""
    with _seeded() as ledger:
        for method, arguments in VALID_CALLS.items():
            getattr(ledger, method)(**arguments)
        with pytest.raises(RuleViolationError):
            ledger.reopen_action("A-002", reason="again", actor="x")  # reopened already


# -- the CLI ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, tuple[object, ...]]:
    db = str(tmp_path_factory.mktemp("bad-cli") / "register.db")
    with Ledger.open(db, create=True) as ledger:
        _seed(ledger)
        return db, _snapshot(ledger)


def _blank() -> st.SearchStrategy[str]:
    return st.sampled_from(("", " ", "\t", " \n "))


def _bad_moments() -> st.SearchStrategy[str]:
    """Text that no command takes as a moment."""
    far = st.integers(1, FIRST_YEAR - 2) | st.integers(LAST_YEAR + 2, 9999)
    return st.one_of(
        st.sampled_from(
            ("yesterday", "2021-10-04 at 10", "2021-02-30T10:00", "0001-01-01T00:00+01:00")
        ),
        st.sampled_from(("2021-10-31T01:30", "2021-03-28T01:30", "2019-10-27T01:05")),
        far.map(lambda year: f"{year:04d}-06-01T10:00"),
    )


def _bad_dates() -> st.SearchStrategy[str]:
    far = st.integers(1000, FIRST_YEAR - 1) | st.integers(LAST_YEAR + 1, 9999)
    return st.one_of(
        st.sampled_from(("2021-02-30", "2022-13-01", "by 31 April 2022", "by 30 February")),
        far.map(lambda year: f"{year}-06-01"),
        far.map(lambda year: f"by 1 June {year}"),
    )


def _bad_texts() -> st.SearchStrategy[str]:
    surrogate = st.builds(
        "{}{}".format,
        st.text(max_size=5),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    )
    return st.one_of(_blank(), surrogate, st.just("x" * 2001))


def _bad_meetings() -> st.SearchStrategy[str]:
    return st.sampled_from(("0001-01-01", "2999-10-04", "2021-10-4", "04/10/2021", "2021-02-30"))


def _bad_action_ids() -> st.SearchStrategy[str]:
    return st.sampled_from(("", "A 001", "-A", "Ä-1", "A" * 65, "A-404"))


@st.composite
def _bad_invocations(draw: st.DrawFn) -> list[str]:
    """A command line with one bad value, which must fail with an ``error:`` line."""
    kind = draw(
        st.sampled_from(
            ("actor", "raise", "update", "revisit", "close", "reopen", "meeting", "query")
        )
    )
    if kind == "actor":
        return ["--actor", draw(_blank()), "raise", "Share.", "--owner", "CC"]
    head = ["--actor", "Test Officer"]
    if kind == "raise":
        option, value = draw(
            st.sampled_from(
                ("TEXT", "--owner", "--due", "--occurred-at", "--meeting", "--follows")
            ).flatmap(
                lambda o: st.tuples(
                    st.just(o),
                    {
                        "TEXT": _bad_texts(),
                        "--owner": _bad_texts(),
                        "--due": _bad_dates(),
                        "--occurred-at": _bad_moments(),
                        "--meeting": _bad_meetings() | st.just("2021-10-05"),
                        "--follows": _bad_action_ids(),
                    }[o],
                )
            )
        )
        if option == "TEXT":
            return [*head, "raise", "--owner", "CC", "--", value]
        return [*head, "raise", "Share.", "--owner", "CC", option, value]
    if kind == "update":
        action = draw(st.sampled_from(("A-001", "A-002")))
        if action == "A-002":  # closed: refused by the rules, whatever the note
            return [*head, "update", action, "--note", "More."]
        option = draw(st.sampled_from(("--note", "--occurred-at", "--due")))
        value = {"--note": _bad_texts(), "--occurred-at": _bad_moments(), "--due": _bad_dates()}
        extra = ["--reason", "Moved."] if option == "--due" else []
        rest = [] if option == "--note" else ["--note", "More."]
        return [*head, "update", action, option, draw(value[option]), *rest, *extra]
    if kind == "revisit":
        meeting, outcome, revisit = MEETING, "Discussed.", "in 6 months"
        which = draw(st.integers(0, 2))
        if which == 0:
            meeting = draw(_bad_meetings())
        elif which == 1:
            outcome = draw(_bad_texts())
        else:
            revisit = draw(_bad_dates())
        return [
            *head, "revisit", "A-001", "--meeting", meeting, "--outcome", outcome,
            "--next-revisit", revisit,
        ]  # fmt: skip
    if kind == "close":
        if draw(st.booleans()):
            return [
                *head,
                "close",
                "A-001",
                "--resolution",
                "completed",
                "--note",
                draw(_bad_texts()),
            ]
        return [
            *head, "close", "A-001", "--resolution", "superseded", "--note", "Replaced.",
            "--superseded-by", draw(_bad_action_ids()),
        ]  # fmt: skip
    if kind == "reopen":
        if draw(st.booleans()):
            return [*head, "reopen", "A-001", "--reason", "Open already."]
        return [*head, "reopen", "A-002", "--reason", draw(_bad_texts())]
    if kind == "meeting":
        meeting_id, held_at, title = "2021-11-01", "2021-11-01T10:00", "Meeting"
        which = draw(st.integers(0, 3))
        if which == 0:
            meeting_id = draw(_bad_meetings())
        elif which == 1:
            held_at = draw(_bad_moments())
        elif which == 2:
            title = draw(_bad_texts())
        else:
            return [
                *head, "meeting", "add", meeting_id, "--title", title, "--held-at", held_at,
                "--attendee", draw(_bad_texts()),
            ]  # fmt: skip
        return [*head, "meeting", "add", meeting_id, "--title", title, "--held-at", held_at]
    verb = draw(st.sampled_from(("agenda", "overdue", "show", "list")))
    if verb == "agenda":
        return [*head, "agenda", draw(st.sampled_from(("2021-02-30", "2022-13-01", "4/10/21")))]
    if verb == "overdue":
        return [*head, "overdue", draw(st.sampled_from(("2021-02-30", "soon", "")))]
    if verb == "show":
        return [*head, "show", "--", draw(_bad_action_ids().filter(bool))]
    return [*head, "list", "--as-of", draw(st.sampled_from(("2021-10-31T01:30", "never")))]


def _check_cli(db: str, before: tuple[object, ...], args: list[str]) -> None:
    TALLY["cli"] += 1
    result = CliRunner().invoke(main, ["--db", db, *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        TALLY["cli untyped"] += 1
        raise AssertionError(f"{args!r} raised {result.exception!r}") from result.exception
    assert "Traceback" not in result.output
    assert result.exit_code in set(EXIT_CODES.values()) - {0}, (args, result.output)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, (args, result.stderr)
    TALLY["cli error line"] += 1
    event(f"exit {result.exit_code}")
    with Ledger.open(db) as ledger:
        assert _snapshot(ledger) == before, f"{args!r} changed the register"


@settings(
    max_examples=CLI_EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(args=_bad_invocations())
def test_the_cli_answers_bad_input_with_one_error_line_and_changes_nothing(
    cli_db: tuple[str, tuple[object, ...]], args: list[str]
) -> None:
    """A command line with a bad value prints one ``error:`` line, exits with a documented
    non-zero code, prints no traceback and leaves the register as it was."""
    _check_cli(*cli_db, args)


@settings(
    max_examples=max(CLI_EXAMPLES // 5, 10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    content=st.binary(max_size=60).map(lambda b: b"ref,meeting,item,action\n," + b + b"\xff\n"),
)
def test_a_csv_import_that_is_not_utf8_is_refused(
    cli_db: tuple[str, tuple[object, ...]], content: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A CSV file that is not UTF-8 is refused with the byte and its offset, not a traceback."""
    path = tmp_path_factory.mktemp("csv") / "tracker.csv"
    path.write_bytes(content)
    db, before = cli_db
    _check_cli(db, before, ["--actor", "Test Officer", "import", "--format", "csv", str(path)])


def test_a_blank_actor_is_refused_and_records_nothing(
    cli_db: tuple[str, tuple[object, ...]],
) -> None:
    """``--actor ''`` is refused (exit 2) instead of being recorded as the login name."""
    db, before = cli_db
    result = CliRunner().invoke(main, ["--db", db, "--actor", "", "raise", "T", "--owner", "CC"])
    assert result.exit_code == EXIT_CODES["invalid input"]
    assert result.stderr.startswith("error: --actor '' is blank")
    with Ledger.open(db) as ledger:
        assert _snapshot(ledger) == before


# -- terminal output -----------------------------------------------------------------------------

UNSAFE = st.sampled_from(
    ["\x1b", "\x07", "\x08", "\r", "\x00", "\x7f", "\x9b", "\u202e", "\u2066", "\u200f", "\u2028"]
)


@settings(
    max_examples=max(CLI_EXAMPLES // 10, 10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    text=st.lists(
        st.sampled_from(("Share", " ", "[31m", "]0;owned", "findings")) | UNSAFE,
        min_size=1,
        max_size=8,
    )
    .map("".join)
    .filter(
        lambda t: (
            t.strip() and any(c in t for c in "\x1b\x07\x08\r\x00\x7f\x9b\u202e\u2066\u200f\u2028")
        )
    )
)
def test_stored_control_characters_are_printed_escaped(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    """Text holding ESC, other controls or bidi overrides is stored as given, printed by
    ``list`` and ``show`` as visible escapes (never raw), and given exactly by ``--json``."""
    db = str(tmp_path_factory.mktemp("escapes") / "register.db")
    with Ledger.open(db, create=True) as ledger:
        ledger.raise_action(action_id="A-001", text=text, owners=["CC"], actor=text.strip() or "x")
        stored = ledger.get("A-001").text
    for verb in (["list"], ["show", "A-001"]):
        result = CliRunner().invoke(main, ["--db", db, *verb])
        assert result.exit_code == 0, result.output
        assert visible(result.output) == result.output  # nothing unsafe left
        assert "\\x1b" in result.output or "\x1b" not in stored
    result = CliRunner().invoke(main, ["--db", db, "show", "A-001", "--json"])
    import json

    assert json.loads(result.output)["action"]["text"] == stored


def test_visible_escapes_exactly_the_unsafe_characters() -> None:
    """Controls and bidi overrides become escapes; newlines, tabs and other text stay."""
    assert visible("a\x1b[31mb\u202ec\n\td é ✓") == "a\\x1b[31mb\\u202ec\n\td é ✓"


# -- the surfaces added since: meetings corrected, drafts, erasure, scopes, keys, signing -------


def _draft() -> Any:
    """The draft read from the first seed's notes (the register's seed meeting is another)."""
    from action_ledger.minutes import parse_minutes

    notes = SEEDS / "000_2baf813e9778e477.txt"
    return parse_minutes(
        notes.read_text(encoding="utf-8").splitlines(), file=notes.name, sha256="0" * 64
    )


SEEDS: Path | None = Path(__file__).resolve().parent.parent / "benchmarks" / "minutes_gold"


def _new_surface_calls(ledger: Ledger, junk: Any) -> list[tuple[str, Callable[[], object]]]:
    """Each newer API surface, given ``junk`` in one argument."""
    import attrs

    from action_ledger import (
        AccessPolicy,
        ErasurePolicy,
        Keyring,
        Scope,
        SubjectKeys,
        key_id,
        signing,
    )
    from action_ledger.minutes import load_draft, parse_minutes, read_minutes

    m = MEETING
    calls: list[tuple[str, Callable[[], object]]] = [
        ("correct_meeting.meeting_id",
         lambda: ledger.correct_meeting(junk, reason="r", actor="a", title="T")),
        ("correct_meeting.title",
         lambda: ledger.correct_meeting(m, reason="r", actor="a", title=junk)),
        ("correct_meeting.reason",
         lambda: ledger.correct_meeting(m, reason=junk, actor="a", title="T2")),
        ("correct_meeting.held_at",
         lambda: ledger.correct_meeting(m, reason="r", actor="a", held_at=junk)),
        ("correct_meeting.attendance",
         lambda: ledger.correct_meeting(m, reason="r", actor="a", attendance=junk)),
        ("correct_meeting.corrected_at",
         lambda: ledger.correct_meeting(m, reason="r", actor="a", title="T3", corrected_at=junk)),
        ("apply.draft", lambda: ledger.apply(junk, actor="a")),
        ("load_draft", lambda: load_draft(junk)),
        ("load_draft.toml", lambda: load_draft(f'format = "{junk!s:.40}"\n[meeting]\nx = 1\n')),
        ("parse_minutes", lambda: parse_minutes(junk, file="f.txt", sha256="0" * 64)),
        ("parse_minutes.line", lambda: parse_minutes([junk], file="f.txt", sha256="0" * 64)),
        ("read_minutes", lambda: read_minutes(junk)),
        ("erase.subject", lambda: ledger.erase(junk, actor="a", reason="r")),
        ("reader.scope", lambda: ledger.reader(junk)),
        ("writer.actor", lambda: ledger.writer(junk)),
        ("writer.scope", lambda: ledger.writer("a", junk)),
        ("AccessPolicy.scopes", lambda: AccessPolicy(scopes=junk)),
        ("AccessPolicy.roles", lambda: AccessPolicy(roles=junk)),
        ("AccessPolicy.default", lambda: AccessPolicy(default=junk)),
        ("Scope.name", lambda: Scope(junk)),
        ("Keyring", lambda: Keyring(junk)),
        ("Keyring.parse", lambda: Keyring.parse(junk, source="keys")),
        ("key_id", lambda: key_id(junk)),
        ("Ledger.open.key", lambda: Ledger.open(":memory:", key=junk).close()),
        ("Ledger.open.keys", lambda: Ledger.open(":memory:", keys=junk).close()),
        ("Ledger.open.erasure",
         lambda: Ledger.open(":memory:", keys=SubjectKeys(), erasure=junk).close()),
        ("SubjectKeys.path", lambda: SubjectKeys(junk, create=False).close()),
        ("ErasurePolicy", lambda: ErasurePolicy(restricted=junk, names=junk)),
        ("rotate_key", lambda: ledger.rotate_key(junk)),
        ("SignedHead.loads", lambda: signing.SignedHead.loads(junk)),
        ("SignedHead.loads.json",
         lambda: signing.SignedHead.loads(json.dumps({"head": str(junk)}, default=repr))),
        ("verify_signed_head", lambda: signing.verify_signed_head(junk, junk)),
        ("sign_head", lambda: signing.sign_head(junk, junk, signer="OPCC")),
        ("verify.head", lambda: ledger.verify(head=junk)),
        ("verify.read_models", lambda: ledger.verify(read_models=junk)),
        ("owners_named.names", lambda: ledger.owners_named(junk, MEETING)),
        ("owners_named.on_date", lambda: ledger.owners_named(["CC"], junk)),
        ("owner_for.name", lambda: ledger.owner_for(junk, MEETING)),
        ("owner_for.on_date", lambda: ledger.owner_for("CC", junk)),
        ("holder.role", lambda: ledger.holder(junk, MEETING)),
        ("holder.on_date", lambda: ledger.holder("CC", junk)),
        ("agenda", lambda: ledger.agenda(junk)),
        ("overdue", lambda: ledger.overdue(junk)),
        ("as_of", lambda: ledger.as_of(junk)),
    ]  # fmt: skip
    if SEEDS is not None:
        draft = _draft()
        first = draft.actions[0]
        for name in ("text", "owners", "due", "item", "action_id", "confidence"):
            changed = attrs.evolve(draft, actions=(attrs.evolve(first, **{name: junk}),))
            calls.append((f"apply.actions.{name}", lambda d=changed: ledger.apply(d, actor="a")))
        for name in ("meeting_id", "title", "held_at", "attendance", "chair"):
            changed = attrs.evolve(draft, meeting=attrs.evolve(draft.meeting, **{name: junk}))
            calls.append((f"apply.meeting.{name}", lambda d=changed: ledger.apply(d, actor="a")))
    return calls


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(values=st.lists(_junk() | st.text(max_size=40), min_size=1, max_size=max(BATCH // 8, 1)))
def test_the_newer_surfaces_accept_or_refuse_any_value_with_a_typed_error(
    values: list[Any],
) -> None:
    """Meeting corrections, drafts (objects, TOML text, notes), erasure, scopes, policies,
    keys, signed heads, ``verify``, owners, holders and English dates: any value either is
    accepted or raises an ``ActionLedgerError``, and a refused call changes nothing."""
    with _seeded() as ledger:
        for junk in values:
            for name, call in _new_surface_calls(ledger, junk):
                outcome = _attempt(ledger, _snapshot(ledger), call)
                event(f"{name}: {outcome}")


@pytest.mark.parametrize(
    ("name", "junk"),
    [
        ("AccessPolicy.scopes", None),
        ("AccessPolicy.scopes", "public"),
        ("AccessPolicy.roles", None),
        ("AccessPolicy.roles", "x"),
        ("reader.scope", (1, {})),
        ("writer.scope", [1]),
        ("AccessPolicy.default", {}),
        ("Keyring", None),
        ("Keyring.parse", None),
        ("key_id", None),
        ("key_id", "text"),
        ("apply.draft", None),
        ("apply.draft", "a\x00b"),
        ("apply.meeting.held_at", None),
        ("load_draft", None),
        ("load_draft", dt.datetime(2021, 1, 1)),
        ("parse_minutes", None),
        ("read_minutes", None),
        ("SignedHead.loads", None),
        ("owners_named.names", None),
        ("verify.read_models", [{}]),
        ("Ledger.open.erasure", "names"),
        ("Ledger.open.keys", ("x" * 5000,)),
        ("SubjectKeys.path", "a\x00b"),
        ("verify_signed_head", "a\x00b"),
        ("sign_head", "a\x00b"),
    ],
)
def test_values_the_campaign_found_are_refused_with_a_typed_error(name: str, junk: Any) -> None:
    """Regression: each of these raised ``TypeError``, ``AttributeError``, ``ValueError`` or
    ``OSError``; now each is an ``ActionLedgerError`` naming the value, and stores nothing."""
    with _seeded() as ledger:
        before = _snapshot(ledger)
        (call,) = [c for n, c in _new_surface_calls(ledger, junk) if n == name]
        with pytest.raises(ActionLedgerError) as caught:
            call()
        assert _snapshot(ledger) == before
        assert str(caught.value)


# -- the CLI: the commands and options added since -------------------------------------------


def _cli_junk() -> st.SearchStrategy[str]:
    """Junk for a command-line value: any text, blanks, odd dates and ids, long runs."""
    return st.one_of(
        st.text(max_size=30).filter(lambda t: "\x00" not in t),
        _blank(),
        _bad_dates(),
        _bad_moments(),
        _bad_action_ids(),
        st.sampled_from(("public", "opcc", "action:A-001", "CC", "-x", "--help", "x" * 3000)),
    )


def _env_junk() -> st.SearchStrategy[str]:
    """Junk an environment variable can hold (no NUL, no lone surrogate)."""
    return st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
    ) | st.sampled_from(("", " ", "opcc,public", "x" * 300))


def _junk_file_content() -> st.SearchStrategy[bytes]:
    """The bytes of a junk file: random bytes, TOML-ish and JSON-ish text, PEM-ish text."""
    texty = st.one_of(
        st.just('format = "action-ledger minutes draft 1"\n'),
        st.just("[meeting]\nmeeting_id = 1\n"),
        st.just('{"head": "00", "position": -1}'),
        st.just("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        st.just("Monthly Assurance Meeting\nDate: 31 February 2021\nACTION: CC to\n"),
        st.text(max_size=60),
    )
    return st.one_of(
        st.binary(max_size=80),
        st.lists(texty, min_size=1, max_size=3).map(lambda parts: "".join(parts).encode()),
    )


@st.composite
def _newer_invocations(draw: st.DrawFn, files: Path) -> tuple[list[str], dict[str, str]]:
    """A command line (and environment) using a command or option added since, with junk in
    one place: an argument, an option, a file's content or an environment variable."""
    junk = draw(_cli_junk())

    def junk_file(suffix: str) -> str:
        path = files / f"{uuid.uuid4().hex}{suffix}"
        path.write_bytes(draw(_junk_file_content()))
        return str(path)

    head = ["--actor", "Test Officer"]
    kind = draw(
        st.sampled_from(
            (
                "meeting correct", "meeting show", "meeting list", "holder", "import notes",
                "import draft", "erase", "new-key", "rotate-key", "sign-key new", "sign-head",
                "verify", "export", "global", "env",
            )
        )
    )  # fmt: skip
    env: dict[str, str] = {}
    if kind == "meeting correct":
        which = draw(st.sampled_from(("id", "reason", "title", "held-at", "attendee", "chair")))
        args = ["meeting", "correct", junk if which == "id" else MEETING]
        args += ["--reason", junk if which == "reason" else "Minuted wrongly."]
        option = {"id": "--title", "reason": "--title"}.get(which, f"--{which}")
        args += [option, "A new title" if which in ("id", "reason") else junk]
        return [*head, *args], env
    if kind == "meeting show":
        return [*head, "meeting", "show", "--", junk], env
    if kind == "meeting list":
        return ["--scope", junk, "meeting", "list"], env
    if kind == "holder":
        role, on = draw(st.sampled_from(((junk, MEETING), ("CC", junk))))
        return ["holder", "--", role, on], env
    if kind == "import notes" and SEEDS is not None and draw(st.booleans()):
        lines = (SEEDS / "000_2baf813e9778e477.txt").read_text(encoding="utf-8").splitlines()
        lines[draw(st.integers(0, len(lines) - 1))] = junk  # one line of real notes made junk
        notes = files / f"{uuid.uuid4().hex}.txt"
        notes.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        draft = str(files / f"{uuid.uuid4().hex}.toml")
        return [*head, "import", "--format", "minutes", str(notes), "--output", draft], env
    if kind == "import draft" and SEEDS is not None and draw(st.booleans()):
        from action_ledger.minutes import dump_draft

        lines = dump_draft(_draft()).splitlines()
        valued = [n for n, line in enumerate(lines) if " = " in line]
        n = draw(st.sampled_from(valued))
        value = draw(
            st.sampled_from(('1', '-1', '1e999', 'true', '[]', '{}', '"2021-02-30"', '""', '"'))
            | _cli_junk().map(json.dumps)
        )  # fmt: skip
        lines[n] = f"{lines[n].partition(' = ')[0]} = {value}"
        path = files / f"{uuid.uuid4().hex}.toml"
        path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        return [*head, "import", "--format", "minutes", "--apply", str(path)], env
    if kind == "import notes":
        suffix = draw(st.sampled_from((".txt", ".docx", ".pdf", ".doc")))
        draft = str(files / f"{uuid.uuid4().hex}.toml")
        return [*head, "import", "--format", "minutes", junk_file(suffix), "--output", draft], env
    if kind == "import draft":
        return [*head, "import", "--format", "minutes", "--apply", junk_file(".toml")], env
    if kind == "erase":
        if draw(st.booleans()):
            return [*head, "erase", "--reason", "Request 12.", "--", junk], env
        return [*head, "erase", "--person", junk, "--reason", "Request 12."], env
    if kind == "new-key":
        return ["new-key", "--to", str(files / "missing-dir" / f"k{uuid.uuid4().hex}")], env
    if kind == "rotate-key":
        return [*head, "--key-file", junk_file(".keys"), "rotate-key"], env
    if kind == "sign-key new":
        return ["sign-key", "new", "--to", str(files / "no" / "such" / "dir" / "key.pem")], env
    if kind == "sign-head":
        if draw(st.booleans()):
            return ["sign-head", "--key", junk_file(".pem"), "--signer", "OPCC"], env
        return ["sign-head", "--key", str(files / "absent.pem"), "--signer", junk], env
    if kind == "verify":
        which = draw(st.integers(0, 2))
        if which == 0:
            return ["verify", "--head", junk], env
        signed, public = junk_file(".json"), junk_file(".pub")
        if which == 1:
            return ["verify", "--signed-head", signed, "--public-key", public], env
        return ["verify", "--signed-head", signed], env
    if kind == "export":
        return ["export", "--format", "html", "--signed-head", junk_file(".json")], env
    if kind == "global":
        option = draw(st.sampled_from(("--scope", "--keys", "--key-file", "--seal-names")))
        if option == "--scope":
            return ["--scope", junk, *head, "raise", "Share.", "--owner", "CC"], env
        if option == "--keys":
            return ["--keys", junk_file(".keys.db"), *head, "list"], env
        if option == "--key-file":
            return ["--key-file", junk_file(".keys"), *head, "list"], env
        return ["--seal-names", *head, "raise", "Share.", "--owner", "CC"], env
    name = draw(
        st.sampled_from(
            ("ACTION_LEDGER_SCOPE", "ACTION_LEDGER_KEY", "ACTION_LEDGER_KEY_FILE",
             "ACTION_LEDGER_KEYS")
        )
    )  # fmt: skip
    env[name] = draw(_env_junk())
    return [*head, "raise", "Share.", "--owner", "CC"], env


def _check_newer_cli(
    db: str, before: tuple[object, ...], args: list[str], env: dict[str, str]
) -> None:
    """No traceback, a documented exit code, one ``error:`` line when refused, and the
    register unchanged."""
    TALLY["cli"] += 1
    result = CliRunner().invoke(main, ["--db", db, *args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        TALLY["cli untyped"] += 1
        raise AssertionError(f"{args!r} {env!r} raised {result.exception!r}") from result.exception
    assert "Traceback" not in result.output
    assert result.exit_code in set(EXIT_CODES.values()), (args, env, result.output)
    if result.exit_code == 0:
        TALLY["cli accepted"] += 1
    else:
        # click's own refusals (a usage error, a file it cannot open) say "Error: "
        lines = [line for line in result.stderr.splitlines() if line.lower().startswith("error: ")]
        assert len(lines) == 1, (args, env, result.stderr)
        TALLY["cli error line"] += 1
    event(f"{args[0] if args[0] != '--actor' else args[2]}: exit {result.exit_code}")
    if result.exit_code != 0:  # an accepted command (a raise with a junk-but-valid scope) may write
        with Ledger.open(db) as ledger:
            assert _snapshot(ledger) == before, f"{args!r} {env!r} changed the register"


@settings(
    max_examples=CLI_EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_the_newer_commands_answer_bad_input_without_a_traceback(
    cli_db: tuple[str, tuple[object, ...]],
    tmp_path_factory: pytest.TempPathFactory,
    data: st.DataObject,
) -> None:
    """``meeting correct|list|show``, ``holder``, ``import --format minutes`` (junk notes and
    drafts), ``erase``, ``new-key``, ``rotate-key``, ``sign-key new``, ``sign-head``,
    ``verify --head/--signed-head/--public-key``, ``export --signed-head``, the global
    ``--scope``, ``--keys``, ``--key-file`` and ``--seal-names`` and junk in their environment
    variables: no traceback, a documented exit code, one ``error:`` line when refused, and the
    register as it was."""
    files = tmp_path_factory.getbasetemp() / "newer-cli"
    files.mkdir(exist_ok=True)
    args, env = data.draw(_newer_invocations(files))
    db = files / f"{uuid.uuid4().hex}.db"  # a copy each: an accepted command may write to it
    shutil.copyfile(cli_db[0], db)
    _check_newer_cli(str(db), cli_db[1], args, env)
