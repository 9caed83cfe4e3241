"""Tests for publishing the action log (HTML, Markdown) and the spreadsheet (CSV export and
all-or-nothing import), on the West Mercia example and on small registers built by hand."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from action_ledger import (
    Ledger,
    NotFoundError,
    Owner,
    RuleViolationError,
    ValidationError,
)
from action_ledger._examples.west_mercia import record
from action_ledger.exports import (
    BORDER_COLOUR,
    COLOUR_PAIRS,
    CSV_COLUMNS,
    PAGE_BACKGROUND,
    STRIPE_BACKGROUND,
    CsvImport,
    import_csv,
    publish_html,
    publish_markdown,
    write_csv,
)
from action_ledger.testing.strategies import owner_lists, texts

ACTOR = "Charity Pearce"
UTC = pendulum.UTC
GENERATED = "2022-02-01T09:00:00Z"
RECEIVED = "2022-01-20T09:00:00Z"
SECRET_ACTION = "SECRET-ACTION: covert deployment plan for Op Vesta"
SECRET_NOTE = "SECRET-NOTE: informant named in briefing"
SCRIPT_TEXT = "Check <script>alert('x')</script> & report | back"


class Clock:
    """A clock the test sets by hand (``recorded_at`` and default ``occurred_at`` come from it)."""

    def __init__(self, now: str) -> None:
        self.set(now)

    def set(self, now: str) -> None:
        """Move the clock to ``now`` (an ISO 8601 instant with an offset)."""
        parsed = pendulum.parse(now)
        assert isinstance(parsed, pendulum.DateTime)
        self.now = parsed.in_tz(UTC)

    def __call__(self) -> pendulum.DateTime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """The clock of the test registers: after every event of the West Mercia example."""
    return Clock("2022-01-10T12:00:00Z")


@pytest.fixture
def ledger(tmp_path: Path, clock: Clock) -> Iterator[Ledger]:
    """The West Mercia example in a SQLite register."""
    opened = Ledger.open(tmp_path / "register.db", clock=clock)
    record(opened)
    yield opened
    opened.close()


@pytest.fixture
def published(ledger: Ledger) -> Ledger:
    """The example plus a restricted action, a restricted note (later than a public one) and
    an action whose text holds markup, pipes and an ampersand."""
    ledger.raise_action(
        text=SECRET_ACTION,
        owners=["CC"],
        meeting="2021-10-04",
        item="2.4",
        restricted=True,
        actor=ACTOR,
    )
    ledger.update_action(
        "ACT-2021-002",
        note=SECRET_NOTE,
        source="briefing note",
        restricted=True,
        occurred_at="2021-11-01T10:00",
        actor=ACTOR,
    )
    ledger.raise_action(
        text=SCRIPT_TEXT, owners=["CC: Pippa Mills", "PCC"], meeting="2021-10-04", actor=ACTOR
    )
    return ledger


# -- HTML -------------------------------------------------------------------------------------


class Page(HTMLParser):
    """What a screen reader would find in a published page: its language, title, tables with
    their captions, column and row headers and cells, and every piece of text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.title = ""
        self.tables: list[dict[str, Any]] = []
        self.text: list[str] = []
        self.codes: list[str] = []
        self.data_values: list[str] = []
        self._open: list[str] = []
        self._th_scope: str | None = None
        self._cell = ""
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag not in ("meta", "br"):
            self._open.append(tag)
        if tag == "html":
            self.lang = found.get("lang")
        elif tag == "table":
            self.tables.append({"caption": "", "cols": [], "rows": [], "cells": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["cells"].append(0)
        elif tag in ("th", "td"):
            self._th_scope = found.get("scope") if tag == "th" else None
            self._cell = ""
            if self.tables:
                self.tables[-1]["cells"][-1] += 1
        elif tag == "data":
            self.data_values.append(found.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        assert self._open[-1:] == [tag], f"</{tag}> closes {self._open[-1:]}"
        self._open.pop()
        if tag == "th" and self.tables:
            key = {"col": "cols", "row": "rows"}.get(self._th_scope or "")
            assert key is not None, f"a <th> without scope=col or scope=row: {self._cell!r}"
            self.tables[-1][key].append(self._cell)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if "title" in self._open:
            self.title += data
        if "caption" in self._open:
            self.tables[-1]["caption"] += data
        if "th" in self._open or "td" in self._open:
            self._cell += data
        if "code" in self._open:
            self.codes.append(data)


def test_html_is_one_accessible_document(published: Ledger) -> None:
    """The page declares its language and charset, has a title, and every table has a
    caption, column headers scoped to columns and each ref as a row header."""
    text = publish_html(published, generated_at=GENERATED)
    assert text.startswith("<!DOCTYPE html>\n")
    assert '<meta charset="utf-8">' in text
    for outside in ("<link", "<script", "src="):
        assert outside not in text
    page = Page(text)
    assert page.lang == "en-GB"
    assert page.title == "Action log"
    # Three meetings, "Other sources", and the actions from elsewhere revisited in October 2021.
    assert len(page.tables) == 5
    for table in page.tables:
        assert table["caption"].strip()
        assert len(table["cols"]) in (9, 5)
        assert table["cols"][0] == "Ref"
        assert all(n == len(table["cols"]) for n in table["cells"])  # header and data rows
    actions = [table for table in page.tables if len(table["cols"]) == 9]
    assert len(actions) == 4
    refs = [ref for table in actions for ref in table["rows"]]
    expected = [a.id for a in published.register(restricted=False)]
    assert sorted(refs) == sorted(expected)
    assert len(refs) == 15


def test_html_leaves_out_restricted_actions_and_notes(published: Ledger) -> None:
    """A restricted action and a restricted note appear nowhere in the page, and the latest
    update shown is the latest one that may be published."""
    text = publish_html(published, generated_at=GENERATED)
    secret_id = published.register(restricted=True)[0].id
    assert "SECRET" not in text
    assert secret_id not in text
    rows = re.findall(r'<tr><th scope="row">ACT-2021-002</th>.*?</tr>', text)
    row = next((r for r in rows if "status-open" in r), None)
    assert row is not None
    assert "2021-10-01: Written update provided in advance of the meeting" in row
    assert published.get("ACT-2021-002").last_update == SECRET_NOTE  # the register keeps it


def test_html_escapes_every_text(published: Ledger) -> None:
    """Markup in an action's text is shown as text, never run."""
    text = publish_html(published, generated_at=GENERATED)
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; report | back" in text
    page = Page(text)
    assert SCRIPT_TEXT in page.text


def test_html_footer_names_the_head_to_verify(published: Ledger) -> None:
    """The footer gives the event count and head hash of the register shown, when it was
    generated, and the verify command; the register verifies against that head."""
    text = publish_html(published, generated_at=GENERATED)
    count, head = published.head()
    page = Page(text)
    assert page.data_values == [str(count)]
    assert head in page.codes
    assert f"action-ledger verify --head {head}" in page.codes
    assert f'<time datetime="{GENERATED}">{GENERATED}</time> (UTC)' in text
    assert published.verify(head=head).ok
    published.update_action("ACT-2018-001", note="Shared.", source="email", actor=ACTOR)
    assert published.verify(head=head).ok  # later events keep the published head
    assert publish_html(published, generated_at=GENERATED) != text


def test_html_is_deterministic_and_exact(published: Ledger) -> None:
    """The same register and generated_at give the same page, byte for byte."""
    first = publish_html(published, generated_at=GENERATED)
    assert publish_html(published, generated_at=pendulum.datetime(2022, 2, 1, 9, tz=UTC)) == first
    assert (
        '<tr><th scope="row">ACT-2021-001</th>'
        "<td>March 2021 holding to account meeting on SOC (minutes not held in this "
        "register)</td>"
        "<td>Revisit in 6 months to see how SOC activity across the 4P&#x27;s is balanced. "
        "(a greater focus on prevent activity was anticipated).</td>"
        "<td>CC</td><td>2021-09-01 (Revisit in 6 months)</td>"
        '<td><span class="status-closed">Closed (superseded by ACT-2021-003)</span></td>'
        "<td>2021-10-01: Written update provided in advance of the meeting: it evidenced force "
        "activity across all 4Ps.</td>"
        "<td>2021-10-04 (meeting 2021-10-04): The written update evidenced force activity "
        "across all 4Ps. The PCC asked if there was an opportunity to reassure the public about "
        "action taken to disrupt criminal groups. The CC responded that regardless of what "
        "public feedback is about they need to publicise good work throughout the criminal "
        "justice process.</td><td>2021-10-04</td></tr>"
    ) in first
    assert (
        '<h2 id="meeting-2018-04-23">Monthly Assurance Meeting April 2018, 23 April 2018</h2>'
    ) in first


def test_select_one_meeting(published: Ledger) -> None:
    """``meeting=`` publishes that meeting's publishable actions only, titled after it."""
    page = Page(publish_html(published, meeting="2018-10-26", generated_at=GENERATED))
    assert page.title == "Action log: Monthly Assurance Meeting October 2018"
    assert [t["rows"] for t in page.tables] == [
        ["ACT-2018-005", "ACT-2018-006", "ACT-2018-007", "ACT-2018-008"]
    ]
    october_2021 = Page(publish_html(published, meeting="2021-10-04", generated_at=GENERATED))
    table, revisited = october_2021.tables
    assert "ACT-2021-003" in table["rows"]
    assert len(table["rows"]) == 5  # four minuted actions and the <script> one, not the secret
    # The actions raised elsewhere that the meeting revisited, with what it said.
    assert revisited["rows"] == ["ACT-2021-001", "ACT-2021-002"]
    assert revisited["cols"] == ["Ref", "Item", "Action", "Outcome", "PCC assured"]
    assert any("sight of the review findings this month" in t for t in october_2021.text)


def test_select_a_date_range(published: Ledger) -> None:
    """``raised_from``/``raised_to`` select by the date raised; a custom title is used."""
    page = Page(
        publish_html(
            published,
            raised_from="2018-01-01",
            raised_to="2018-12-31",
            title="Actions of 2018",
            generated_at=GENERATED,
        )
    )
    assert page.title == "Actions of 2018"
    assert [len(t["rows"]) for t in page.tables] == [4, 4]
    spring_2021 = Page(
        publish_html(
            published, raised_from="2021-03-01", raised_to="2021-03-31", generated_at=GENERATED
        )
    )
    revisited, table = spring_2021.tables  # revisited in October 2021; raised elsewhere
    assert table["rows"] == ["ACT-2021-001", "ACT-2021-002"]
    assert table["cols"][1] == "Source"
    assert revisited["rows"] == ["ACT-2021-001", "ACT-2021-002"]
    assert "Other sources" in spring_2021.text


def test_a_meeting_without_publishable_actions(ledger: Ledger) -> None:
    """A selected meeting with nothing to publish still gets its heading, and no table."""
    ledger.record_meeting(
        "2022-01-05", title="Thematic meeting January 2022", held_at="2022-01-05T10:00", actor=ACTOR
    )
    text = publish_html(ledger, meeting="2022-01-05", generated_at=GENERATED)
    assert "<table" not in text
    assert "Thematic meeting January 2022, 5 January 2022" in text
    assert "No actions to publish from this meeting." in text


def test_selection_errors(ledger: Ledger) -> None:
    """An unrecorded meeting, or a date that does not exist, is refused."""
    with pytest.raises(NotFoundError):
        publish_html(ledger, meeting="2019-01-01")
    with pytest.raises(ValidationError, match="2021-02-30"):
        publish_markdown(ledger, raised_from="2021-02-30")


# -- colours ----------------------------------------------------------------------------------


def relative_luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of a ``#rrggbb`` colour."""
    channels = []
    for start in (1, 3, 5):
        c = int(colour[start : start + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula() -> None:
    """The contrast function gives WCAG's known values."""
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#777777") == pytest.approx(1)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("name", sorted(COLOUR_PAIRS))
def test_every_colour_pair_meets_wcag_aa(name: str) -> None:
    """Every text/background pair the page uses has a contrast of at least 4.5:1."""
    text, background = COLOUR_PAIRS[name]
    assert contrast(text, background) >= 4.5, (name, contrast(text, background))


def test_borders_are_visible() -> None:
    """Table rules stand out at least 3:1 from the backgrounds they divide (non-text contrast)."""
    for background in (PAGE_BACKGROUND, STRIPE_BACKGROUND):
        assert contrast(BORDER_COLOUR, background) >= 3


def test_css_uses_only_the_checked_pairs(ledger: Ledger) -> None:
    """Every CSS rule that sets a background sets a text colour too, and the two are one of
    the checked pairs; no colour is used that is not in a checked pair (or the border)."""
    text = publish_html(ledger, generated_at=GENERATED)
    (css,) = re.findall(r"<style>(.*?)</style>", text, re.S)
    pairs = set(COLOUR_PAIRS.values())
    allowed = {c for pair in pairs for c in pair} | {BORDER_COLOUR}
    assert set(re.findall(r"#[0-9a-fA-F]{3,6}\b", css)) <= allowed
    rules = re.findall(r"([^{}]+)\{([^}]*)\}", css)
    assert rules
    for selector, body in rules:
        declarations = dict(d.split(":", 1) for d in body.split(";") if d)
        if "background" in declarations:
            pair = (declarations.get("color"), declarations["background"])
            assert pair in pairs, (selector, pair)
    assert 'style="' not in text  # no colours outside the checked stylesheet


# -- Markdown ---------------------------------------------------------------------------------


def markdown_cells(line: str) -> list[str]:
    """The cells of a Markdown table row, honouring backslash escapes."""
    assert line.startswith("| "), line
    assert line.endswith(" |"), line
    cells, cell, chars = [], "", iter(line[1:-1])
    for char in chars:
        if char == "\\":
            cell += char + next(chars)
        elif char == "|":
            cells.append(cell.strip())
            cell = ""
        else:
            cell += char
    cells.append(cell.strip())
    return cells


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Each run of table lines, as rows of cells."""
    tables: list[list[list[str]]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append(markdown_cells(line))
        previous = line
    return tables


def test_markdown_tables_are_well_formed(published: Ledger) -> None:
    """One table per meeting, each row with as many cells as the header, a delimiter row, and
    pipes, markup and HTML in text escaped."""
    text = publish_markdown(published, generated_at=GENERATED)
    tables = markdown_tables(text)
    assert len(tables) == 5  # as the HTML: with the actions revisited in October 2021
    for rows in tables:
        assert rows[1] == ["---"] * len(rows[0])
        assert {len(r) for r in rows} == {len(rows[0])} <= {9, 5}
    refs = [row[0] for rows in tables if len(rows[0]) == 9 for row in rows[2:]]
    assert len(refs) == 15
    assert "SECRET" not in text
    assert "<script>" not in text
    script_id = published.register(text="<script>")[0].id
    row = next(r for rows in tables for r in rows if r[0] == script_id)
    assert row[2] == "Check &lt;script&gt;alert('x')&lt;/script&gt; & report \\| back"
    assert row[3] == "CC: Pippa Mills, PCC"


def test_markdown_headings_and_footer(published: Ledger) -> None:
    """Meetings are headings with their dates, other sources last, and the footer is the
    HTML's: event count, head hash, time and the verify command."""
    text = publish_markdown(published, generated_at=GENERATED)
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# Action log",
        "## Monthly Assurance Meeting April 2018, 23 April 2018",
        "## Monthly Assurance Meeting October 2018, 26 October 2018",
        "## Monthly Assurance Meeting October 2021, 4 October 2021",
        "## Other sources",
    ]
    count, head = published.head()
    assert (
        f"Generated from the register at event count {count} with head hash `{head}` at "
        f"{GENERATED} (UTC)."
    ) in text
    assert text.endswith(
        f"To check that the register still holds this state, run: "
        f"`action-ledger verify --head {head}`\n"
    )
    assert publish_markdown(published, generated_at=GENERATED) == text


def test_markdown_keeps_line_breaks_inside_cells(ledger: Ledger) -> None:
    """A note over several lines stays in one cell, its lines joined by <br>."""
    ledger.update_action(
        "ACT-2018-001", note="First line.\nSecond | line.", source="email", actor=ACTOR
    )
    text = publish_markdown(ledger, meeting="2018-04-23", generated_at=GENERATED)
    (rows,) = markdown_tables(text)
    assert rows[2][6] == "2022-01-10: First line.<br>Second \\| line."


# -- CSV export -------------------------------------------------------------------------------


def read_csv(text: str) -> list[dict[str, str]]:
    """The rows of a CSV text, by column."""
    return list(csv.DictReader(io.StringIO(text, newline="")))


def exported(view: Any, **filters: Any) -> str:
    """The CSV text ``write_csv`` writes."""
    out = io.StringIO(newline="")
    write_csv(view, out, **filters)
    return out.getvalue()


def test_csv_has_the_trackers_columns(ledger: Ledger) -> None:
    """The header is the tracker's; owners, due, status and date closed are as minuted; the
    meeting id and the source, the due date and its words, each date, the RAG and the latest
    outcome each have their own column."""
    out = io.StringIO(newline="")
    assert write_csv(ledger, out) == 14
    rows = read_csv(out.getvalue())
    assert tuple(rows[0]) == CSV_COLUMNS
    by_ref = {r["ref"]: r for r in rows}
    assert by_ref["ACT-2018-005"]["owner"] == "PCC, CC"
    assert by_ref["ACT-2018-002"]["due"] == "2019-10-23"
    assert by_ref["ACT-2018-002"]["due words"] == "for the next 12 to 18 months"
    assert by_ref["ACT-2018-004"]["due"] == ""
    assert by_ref["ACT-2018-004"]["due words"] == "to the July holding to account"
    closed = by_ref["ACT-2021-001"]
    assert closed["status"] == "closed (superseded by ACT-2021-003)"
    assert closed["date closed"] == "2021-10-04"
    assert closed["meeting"] == ""
    assert closed["source"].startswith("March 2021 holding to account meeting on SOC")
    assert closed["date raised"] == "2021-03-01"
    assert closed["rag"] == ""
    assert closed["revisited at"] == "2021-10-04"
    assert closed["date revisited"] == "2021-10-04"
    assert closed["latest outcome"].startswith("The written update evidenced force activity")
    assert by_ref["ACT-2021-005"]["status"] == "open"
    assert by_ref["ACT-2021-005"]["meeting"] == "2021-10-04"
    assert by_ref["ACT-2021-005"]["source"] == ""
    assert by_ref["ACT-2021-005"]["item"] == "2.3"
    assert {r["rag"] for r in rows if r["status"] == "open"} <= {"red", "amber", "green"}
    assert by_ref["ACT-2018-002"]["rag"] == "red"


def test_csv_filters(ledger: Ledger) -> None:
    """The register's filters select the rows."""
    assert [r["ref"] for r in read_csv(exported(ledger, status="closed"))] == ["ACT-2021-001"]
    assert len(read_csv(exported(ledger, meeting="2018-04-23"))) == 4
    with pytest.raises(ValidationError):
        exported(ledger, status="pending")


def test_an_as_of_view_exports(ledger: Ledger, clock: Clock) -> None:
    """An as-of view writes the register as it stood: the update recorded later is not in it."""
    clock.set("2022-01-15T12:00:00Z")
    ledger.update_action(
        "ACT-2021-002", note="Review findings seen by the CC.", source="email", actor=ACTOR
    )
    then = {r["ref"]: r for r in read_csv(exported(ledger.as_of("2022-01-12")))}
    now = {r["ref"]: r for r in read_csv(exported(ledger))}
    assert then["ACT-2021-002"]["latest update"].startswith("Written update provided")
    assert now["ACT-2021-002"]["latest update"] == "Review findings seen by the CC."
    before_october = read_csv(exported(ledger.as_of("2021-09-30", axis="occurred")))
    assert len(before_october) == 10
    assert {r["status"] for r in before_october} == {"open"}


def test_formulas_are_not_run_by_a_spreadsheet(ledger: Ledger) -> None:
    """A cell a spreadsheet would run as a formula starts with an apostrophe, which the import
    takes off again (so the round trip changes nothing)."""
    ledger.raise_action(text='=HYPERLINK("http://x")', owners=["CC"], actor=ACTOR)
    ledger.raise_action(text="'=already quoted", owners=["CC"], actor=ACTOR)
    text = exported(ledger)
    cells = [r["action"] for r in read_csv(text)]
    assert '\'=HYPERLINK("http://x")' in cells
    assert "''=already quoted" in cells
    before = ledger.head()
    result = import_csv(ledger, io.StringIO(text, newline=""), actor=ACTOR)
    assert (result.raised, result.updated) == ((), ())
    assert ledger.head() == before


# -- CSV import -------------------------------------------------------------------------------


def rows_of(ledger: Ledger) -> list[list[str]]:
    """The exported register as rows of cells, header first."""
    return [list(r) for r in csv.reader(io.StringIO(exported(ledger), newline=""))]


def as_csv(rows: list[list[str]]) -> io.StringIO:
    """Rows of cells as a CSV text stream."""
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    out.seek(0)
    return out


def new_row(**cells: str) -> list[str]:
    """A row in the tracker's columns, empty where not given."""
    return [cells.get(c.replace(" ", "_"), "") for c in CSV_COLUMNS]


def snapshot(ledger: Ledger) -> tuple[Any, ...]:
    """Everything an import could change: the head, the register and the read model."""
    return ledger.head(), ledger.register(), ledger.read_model.position, ledger.meetings()


def test_round_trip_changes_nothing(ledger: Ledger) -> None:
    """Importing the file just exported into the same register stores nothing."""
    before = snapshot(ledger)
    result = import_csv(ledger, io.StringIO(exported(ledger), newline=""), actor=ACTOR)
    assert result == CsvImport(raised=(), updated=(), rows=14)
    assert snapshot(ledger) == before


def test_an_edited_update_becomes_one_update(ledger: Ledger) -> None:
    """A changed latest-update cell records one written update; the rest are skipped."""
    rows = rows_of(ledger)
    note = "Headlines shared with the PCC by email on 3 May 2018;\nno further action."
    rows[1][CSV_COLUMNS.index("latest update")] = note
    count, _ = ledger.head()
    result = import_csv(ledger, as_csv(rows), actor=ACTOR, received_at=RECEIVED)
    assert result == CsvImport(raised=(), updated=("ACT-2018-001",), rows=14)
    assert ledger.head()[0] == count + 1
    action = ledger.get("ACT-2018-001")
    assert action.last_update == note
    assert action.last_updated_at == pendulum.parse(RECEIVED)
    entry = ledger.history("ACT-2018-001")[-1]
    assert entry.event_type == "updated"
    assert entry.actor == ACTOR
    assert "written update" in entry.summary
    assert ledger.register(text="Headlines")[0].last_update == note  # read model caught up
    # ... and importing the same file again is now a no-op.
    assert import_csv(ledger, as_csv(rows), actor=ACTOR).updated == ()


def test_new_rows_become_new_actions_with_the_next_ids(ledger: Ledger) -> None:
    """Rows without a ref are raised, numbered on from the register's ids of their year."""
    rows = rows_of(ledger)
    rows.append(
        new_row(
            meeting="2021-10-04",
            item="2.5",
            action="DCC to circulate the workforce vulnerability training plan.",
            owner="DCC: Julian Moss, CC",
            due="Within two weeks",
        )
    )
    rows.append(
        new_row(
            meeting="Written request from the Police and Crime Panel",
            action="Provide the panel with the VRR figures.",
            owner="PCC",
            due="2022-03-31",
            status="open",
            latest_update="Figures requested from the force.",
        )
    )
    result = import_csv(ledger, as_csv(rows), actor=ACTOR, received_at=RECEIVED)
    assert result == CsvImport(raised=("ACT-2021-007", "ACT-2022-001"), updated=(), rows=16)
    training = ledger.get("ACT-2021-007")
    assert training.meeting == "2021-10-04"
    assert training.item == "2.5"
    assert training.owners == (Owner(role="DCC", person="Julian Moss"), Owner(role="CC"))
    assert training.due_text == "Within two weeks"
    assert training.due_on == pendulum.date(2021, 10, 18)
    assert training.raised_at == ledger.meeting("2021-10-04").held_at
    panel = ledger.get("ACT-2022-001")
    assert panel.meeting is None
    assert panel.source == "Written request from the Police and Crime Panel"
    assert panel.due_on == pendulum.date(2022, 3, 31)
    assert panel.last_update == "Figures requested from the force."
    assert [e.event_type for e in ledger.history("ACT-2022-001")] == ["raised", "updated"]
    # The ledger numbers on after the import.
    assert ledger.raise_action(text="Next.", owners=["CC"], actor=ACTOR) == "ACT-2022-002"
    assert import_csv(ledger, io.StringIO(exported(ledger), newline=""), actor=ACTOR) == CsvImport(
        raised=(), updated=(), rows=17
    )


def test_new_ids_skip_ids_already_taken(ledger: Ledger) -> None:
    """A caller's own id in the numbering is not reused."""
    ledger.raise_action(
        text="Own id.", owners=["CC"], meeting="2021-10-04", action_id="ACT-2021-007", actor=ACTOR
    )
    rows = [list(CSV_COLUMNS), new_row(meeting="2021-10-04", action="A.", owner="CC")]
    rows.append(new_row(meeting="2021-10-04", action="B.", owner="CC"))
    result = import_csv(ledger, as_csv(rows), actor=ACTOR)
    assert result.raised == ("ACT-2021-008", "ACT-2021-009")


def test_bad_rows_are_all_reported_and_nothing_is_stored(ledger: Ledger) -> None:
    """Three bad rows among good ones: each is named by its spreadsheet row number (a cell
    over two lines is still one row), and the register is as it was."""
    rows = rows_of(ledger)
    rows[2][CSV_COLUMNS.index("latest update")] = "A good update."
    rows.append(
        new_row(
            meeting="2021-10-04",
            action="A good new action.",
            owner="CC",
            latest_update="Over\ntwo lines.",
        )
    )  # row 16
    rows.append(new_row(meeting="2021-11-01", action="At an unknown meeting.", owner="CC"))
    rows.append(new_row(meeting="2021-10-04", action="Bad due.", owner="CC", due="2021-02-30"))
    rows.append(new_row(meeting="2021-10-04", action="", owner="CC"))  # row 19
    before = snapshot(ledger)
    with pytest.raises(ValidationError) as raised:
        import_csv(ledger, as_csv(rows), actor=ACTOR)
    message = str(raised.value)
    problems = [line for line in message.splitlines() if line.startswith("row ")]
    assert [p.split(":")[0] for p in problems] == ["row 17", "row 18", "row 19"]
    assert "'2021-11-01' is not a recorded meeting" in problems[0]
    assert "2021-02-30" in problems[1]
    assert "action: must not be empty" in problems[2]
    assert "nothing was imported" in message
    assert raised.value.value == tuple(problems)
    assert snapshot(ledger) == before
    assert ledger.get("ACT-2018-002").last_update is None


def test_rows_that_cannot_be_recorded(ledger: Ledger) -> None:
    """An update to a closed action, an unknown or repeated ref, an edit of another column,
    a removed update, a new row given as closed, and an item without a meeting are refused."""
    rows = rows_of(ledger)
    column = CSV_COLUMNS.index
    by_ref = {r[0]: r for r in rows}
    by_ref["ACT-2021-001"][column("latest update")] = "After it was closed."
    by_ref["ACT-2018-003"][column("owner")] = "DCC"
    by_ref["ACT-2021-002"][column("latest update")] = ""
    rows.append(list(by_ref["ACT-2018-001"]))
    rows.append(new_row(ref="ACT-2030-001", action="Unknown.", owner="CC"))
    rows.append(new_row(action="Closed already.", owner="CC", status="closed (completed)"))
    rows.append(new_row(item="2.1", action="No meeting.", owner="CC"))
    with pytest.raises(ValidationError) as raised:
        import_csv(ledger, as_csv(rows), actor=ACTOR)
    problems = dict(
        line.split(": ", 1) for line in str(raised.value).splitlines() if line.startswith("row")
    )
    assert set(problems) == {f"row {n}" for n in (4, 10, 11, 16, 17, 18, 19)}
    assert "closed action" in problems["row 10"]
    assert "owner differs from the register" in problems["row 4"]
    assert "cannot be removed" in problems["row 11"]
    assert "also on row 2" in problems["row 16"]
    assert "not in the register" in problems["row 17"]
    assert "raised open" in problems["row 18"]
    assert "without a meeting" in problems["row 19"]


def test_the_header_must_be_the_trackers(ledger: Ledger) -> None:
    """Unknown and missing columns are named, with the expected ones; nothing is stored."""
    rows = rows_of(ledger)
    rows[0][CSV_COLUMNS.index("owner")] = "owners"
    rows[0].append("colour")
    before = snapshot(ledger)
    with pytest.raises(ValidationError) as raised:
        import_csv(ledger, as_csv(rows), actor=ACTOR)
    message = str(raised.value)
    assert "unknown columns 'owners', 'colour'" in message
    assert "missing columns 'owner'" in message
    assert ", ".join(CSV_COLUMNS) in message
    assert snapshot(ledger) == before
    with pytest.raises(ValidationError, match="empty"):
        import_csv(ledger, io.StringIO(""), actor=ACTOR)


def test_the_header_is_read_as_a_spreadsheet_writes_it(ledger: Ledger) -> None:
    """A byte-order mark, other capitals and column order are accepted; the optional columns
    may be left out; blank rows are skipped."""
    order = ["\ufeffAction", "Owner", "Ref", "Meeting", "Item", "Due", "Latest Update"]
    rows = [order, ["New from a spreadsheet.", "CC", "", "2021-10-04", "", "", ""], [], [""]]
    result = import_csv(ledger, as_csv(rows), actor=ACTOR)
    assert result == CsvImport(raised=("ACT-2021-007",), updated=(), rows=1)


def test_too_many_cells(ledger: Ledger) -> None:
    """A row with more cells than the header has columns is refused."""
    rows = [list(CSV_COLUMNS), [*new_row(meeting="2021-10-04", action="A.", owner="CC"), "x"]]
    with pytest.raises(ValidationError, match=f"row 2: {len(CSV_COLUMNS) + 1} cells"):
        import_csv(ledger, as_csv(rows), actor=ACTOR)


def _import_with_a_writer_first(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, other_writer: Callable[[], object]
) -> tuple[list[list[str]], list[int]]:
    """The rows of an import that updates ACT-2018-001 and raises a new action, and a
    ledger whose next append lets ``other_writer`` change the register first (once)."""
    rows = rows_of(ledger)
    rows[1][CSV_COLUMNS.index("latest update")] = "From the spreadsheet."
    rows.append(new_row(meeting="2021-10-04", action="New.", owner="CC"))
    append = ledger.read_model.append
    interfered: list[int] = []

    def interfere(*args: Any, **kwargs: Any) -> Any:
        if not interfered:  # the import's append: another writer gets in first
            interfered.append(1)
            other_writer()
        return append(*args, **kwargs)

    monkeypatch.setattr(ledger.read_model, "append", interfere)
    return rows, interfered


def test_a_concurrent_change_is_decided_again_and_the_import_recorded_whole(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If another writer changes an action between the checks and the append, the import is
    decided again on the fresh state (execute_many's retry) and recorded whole, after the
    other writer's event."""
    rows, interfered = _import_with_a_writer_first(
        ledger,
        monkeypatch,
        lambda: ledger.update_action(
            "ACT-2018-001", note="Meanwhile.", source="email", actor=ACTOR
        ),
    )
    count, _ = ledger.head()
    result = import_csv(ledger, as_csv(rows), actor=ACTOR)
    assert interfered
    assert result.raised
    assert result.updated == ("ACT-2018-001",)
    assert ledger.head()[0] == count + 3  # the other writer's update, the import's two
    last_two = [e.summary for e in ledger.history("ACT-2018-001")][-2:]
    assert last_two[0].endswith("Meanwhile.")
    assert last_two[1].endswith("From the spreadsheet.")
    assert ledger.get("ACT-2018-001").last_update == "From the spreadsheet."
    assert len(ledger.register()) == 15


def test_a_concurrent_change_that_refuses_a_row_stores_nothing_of_the_import(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If another writer closes an action the import updates, the import decided again is
    refused as a whole (all or nothing); only the other writer's event is stored."""
    rows, interfered = _import_with_a_writer_first(
        ledger,
        monkeypatch,
        lambda: ledger.close_action(
            "ACT-2018-001", resolution="withdrawn", note="No.", actor=ACTOR
        ),
    )
    count, _ = ledger.head()
    with pytest.raises(RuleViolationError, match="nothing was recorded") as caught:
        import_csv(ledger, as_csv(rows), actor=ACTOR)
    assert interfered
    assert caught.value.rule == "all-or-nothing"
    assert "ACT-2018-001" in str(caught.value)
    assert "closed" in str(caught.value)
    assert ledger.head()[0] == count + 1
    assert ledger.get("ACT-2018-001").status == "closed"
    assert len(ledger.register()) == 14


def test_unreadable_csv(ledger: Ledger) -> None:
    """A record the csv module cannot read is reported with its row number."""
    text = ",".join(CSV_COLUMNS) + "\r\n" + "x" * (csv.field_size_limit() + 1) + "\r\n"
    with pytest.raises(ValidationError, match="row 2: not readable as CSV"):
        import_csv(ledger, io.StringIO(text, newline=""), actor=ACTOR)


# -- a property ---------------------------------------------------------------------------------

_register = st.lists(
    st.tuples(texts(), owner_lists(), st.none() | texts(), st.booleans()),
    min_size=1,
    max_size=6,
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(_register)
def test_csv_reads_back_as_the_register(
    actions: list[tuple[str, tuple[Owner, ...], str | None, bool]],
) -> None:
    """For any register, the CSV parses back to the same refs, texts, owners, status and
    latest updates, and importing it changes nothing."""
    ledger = Ledger.open(":memory:", clock=Clock("2022-01-10T12:00:00Z"))
    ledger.record_meeting("2021-10-04", title="MAM", held_at="2021-10-04T13:30", actor=ACTOR)
    for text, owners, note, close in actions:
        action_id = ledger.raise_action(
            text=text, owners=list(owners), meeting="2021-10-04", actor=ACTOR
        )
        if note is not None:
            ledger.update_action(action_id, note=note, source="verbal", actor=ACTOR)
        if close:
            ledger.close_action(action_id, resolution="completed", note="Done.", actor=ACTOR)
    text = exported(ledger)
    rows = read_csv(text)
    register = ledger.register()
    assert [r["ref"] for r in rows] == [a.id for a in register]
    for row, action in zip(rows, register, strict=True):
        formula = action.text.lstrip("'").startswith(("=", "+", "-", "@"))
        assert row["action"] == ("'" if formula else "") + action.text
        assert row["owner"] == ", ".join(map(str, action.owners))
        assert row["status"] == ("open" if action.status == "open" else "closed (completed)")
    before = snapshot(ledger)
    result = import_csv(ledger, io.StringIO(text, newline=""), actor=ACTOR)
    assert result == CsvImport(raised=(), updated=(), rows=len(actions))
    assert snapshot(ledger) == before
