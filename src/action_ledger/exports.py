"""Publishing the action log, and the register as a spreadsheet.

*Publishing* (:func:`publish_html`, :func:`publish_markdown`) turns the register into the
action log an OPCC puts on its website: one table per meeting, each action in its public
form (restricted actions, restricted updates and links to restricted actions left out; see
:meth:`RegisterView.public_forms`), and a footer giving the register's head (event count and
chain hash) so a reader can later check, with ``action-ledger verify --head H``, that the
register still holds what was published.

*The spreadsheet* (:func:`write_csv`, :func:`import_csv`) is the working register in the
columns of an OPCC action tracker. By default it holds restricted actions and notes (its
``restricted`` column marks the actions); written with ``restricted=False`` it is publishable.
An import adds new actions (rows without a ref) and new progress updates (an edited
"latest update" cell); it is checked row by row and stores all of it in one transaction,
or nothing.
"""

from __future__ import annotations

import csv
import datetime as _dt
import html
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TextIO

import attrs
import pendulum

from ._clock import LONDON, UTC, local_date, to_datetime
from ._codec import ACTION_PREFIX, decode
from ._decider import Action, ActionState, Context, Meeting, decide, evolve, fold
from ._due import check_due_words
from ._history import values_in_effect
from ._ledger import Ledger
from ._publication import public_events
from ._values import (
    MAX_SHORT,
    MAX_TEXT,
    Attendee,
    check_action_id,
    check_meeting_id,
    check_optional_text,
    check_text,
    parse_owners,
)
from ._views import DateInput, RegisterView
from .commands import RaiseAction, UpdateAction
from .events import ActionEvent, ActionRevisited, Event, MeetingEvent
from .exceptions import (
    IntegrityError,
    NotFoundError,
    RuleViolationError,
    StoreError,
    ValidationError,
)
from .signing import SignedHead

__all__ = [
    "BORDER_COLOUR",
    "CLOSED_BACKGROUND",
    "CLOSED_TEXT",
    "COLOUR_PAIRS",
    "CSV_COLUMNS",
    "CSV_ECHO_COLUMNS",
    "CSV_OPTIONAL_COLUMNS",
    "FOOTER_TEXT",
    "HEADER_BACKGROUND",
    "HEADER_TEXT",
    "OPEN_BACKGROUND",
    "OPEN_TEXT",
    "PAGE_BACKGROUND",
    "PAGE_TEXT",
    "PUBLISHED_TABLES",
    "STRIPE_BACKGROUND",
    "CsvImport",
    "check_published_tables",
    "import_csv",
    "publish_html",
    "publish_markdown",
    "write_csv",
]

# -- colours ---------------------------------------------------------------------------------
# Each text colour is used only on the background it is paired with in COLOUR_PAIRS; every
# pair meets WCAG 2.2 AA for normal text (contrast at least 4.5:1; the tests compute it).

PAGE_TEXT = "#1b1b1b"
PAGE_BACKGROUND = "#ffffff"
STRIPE_BACKGROUND = "#f1f3f6"
HEADER_TEXT = "#ffffff"
HEADER_BACKGROUND = "#1d3557"
OPEN_TEXT = "#7a3b00"
OPEN_BACKGROUND = "#fff1d6"
CLOSED_TEXT = "#1b5e20"
CLOSED_BACKGROUND = "#e4f2e5"
FOOTER_TEXT = "#4a4a4a"
BORDER_COLOUR = "#767676"
"""Table rules: not text, but at least 3:1 against the page (WCAG 1.4.11)."""

COLOUR_PAIRS: Mapping[str, tuple[str, str]] = {
    "page": (PAGE_TEXT, PAGE_BACKGROUND),
    "striped row": (PAGE_TEXT, STRIPE_BACKGROUND),
    "column headers": (HEADER_TEXT, HEADER_BACKGROUND),
    "open status": (OPEN_TEXT, OPEN_BACKGROUND),
    "closed status": (CLOSED_TEXT, CLOSED_BACKGROUND),
    "footer": (FOOTER_TEXT, PAGE_BACKGROUND),
}
"""Every (text, background) colour pair the HTML uses, by what it colours."""

_CSS = (
    "body{font-family:Arial,Helvetica,sans-serif;line-height:1.45;margin:1.5rem;"
    f"color:{PAGE_TEXT};background:{PAGE_BACKGROUND}}}"
    "table{border-collapse:collapse;width:100%;margin:0 0 2rem}"
    "caption{text-align:left;font-weight:bold;padding:0 0 .5rem}"
    f"th,td{{border:1px solid {BORDER_COLOUR};padding:.4rem .5rem;text-align:left;"
    "vertical-align:top}"
    f"thead th{{color:{HEADER_TEXT};background:{HEADER_BACKGROUND}}}"
    f"tbody tr:nth-child(even){{color:{PAGE_TEXT};background:{STRIPE_BACKGROUND}}}"
    "tbody th{white-space:nowrap}"
    f".status-open{{color:{OPEN_TEXT};background:{OPEN_BACKGROUND};padding:0 .25rem}}"
    f".status-closed{{color:{CLOSED_TEXT};background:{CLOSED_BACKGROUND};padding:0 .25rem}}"
    f"footer{{color:{FOOTER_TEXT};background:{PAGE_BACKGROUND};"
    f"border-top:1px solid {BORDER_COLOUR};margin-top:2rem;padding-top:1rem}}"
    "code{overflow-wrap:anywhere}"
)

# -- the published log -----------------------------------------------------------------------

_OTHER_SOURCES = "Other sources"
_COLUMNS = (
    "Ref",
    "Item",
    "Action",
    "Owner",
    "Due",
    "Status",
    "Latest update",
    "Latest outcome",
    "Date closed",
)
_OTHER_COLUMNS = ("Ref", "Source", *_COLUMNS[2:])
_REVISIT_COLUMNS = ("Ref", "Item", "Action", "Outcome", "PCC assured")
_PUBLISH_ATTEMPTS = 10

Moment = str | _dt.datetime


@attrs.frozen(kw_only=True)
class _Row:
    """One published action, every cell as plain text."""

    ref: str
    item: str
    text: str
    owners: str
    due: str
    status: str
    open: bool
    update: str
    outcome: str
    closed: str


@attrs.frozen(kw_only=True)
class _Revisit:
    """An action raised elsewhere, revisited at a meeting: what that meeting said."""

    ref: str
    item: str
    text: str
    outcome: str
    assured: str


@attrs.frozen(kw_only=True)
class _Group:
    """The actions raised at one meeting (or, with no meeting, from other sources), and the
    actions raised elsewhere that it revisited."""

    meeting: Meeting | None
    rows: tuple[_Row, ...]
    revisits: tuple[_Revisit, ...] = ()


@attrs.frozen(kw_only=True)
class _Log:
    """Everything a published log shows, taken at one head of the register."""

    title: str
    groups: tuple[_Group, ...]
    count: int
    head: str
    generated_at: pendulum.DateTime


def _long_date(day: _dt.date) -> str:
    return pendulum.date(day.year, day.month, day.day).format("D MMMM YYYY", locale="en")


def _utc_text(moment: pendulum.DateTime) -> str:
    return moment.in_tz(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _due_cell(action: Action) -> str:
    if action.due_on is None:
        return action.due_text or ""
    on = action.due_on.isoformat()
    return f"{on} ({action.due_text})" if action.due_text else on


def _closed_cell(action: Action) -> str:
    return "" if action.closed_at is None else local_date(action.closed_at).isoformat()


def _action_events(events: Iterable[Event]) -> list[ActionEvent]:
    chosen = []
    for event in events:
        assert not isinstance(event, MeetingEvent)
        chosen.append(event)
    return chosen


def _stream(ledger: Ledger, action_id: str) -> list[ActionEvent]:
    return _action_events(
        decode(s, ledger.keys) for s in ledger.store.read_stream(ACTION_PREFIX + action_id)
    )


def _update_cell(action: Action) -> str:
    """The latest update note, with its date (in a public form: the latest public one)."""
    if action.last_update is None or action.last_updated_at is None:
        return ""
    return f"{local_date(action.last_updated_at).isoformat()}: {action.last_update}"


def _outcome_cell(action: Action) -> str:
    """The outcome of the latest revisit, with its date and meeting."""
    if action.last_outcome is None or action.last_revisited_at is None:
        return ""
    where = action.last_revisit_meeting
    return (
        local_date(action.last_revisited_at).isoformat()
        + (f" (meeting {where})" if where else "")
        + f": {action.last_outcome}"
    )


_ASSURED = {True: "Yes", False: "No", None: "Not recorded"}


def _revisits(ledger: Ledger, action: Action) -> Iterator[tuple[str, _Revisit]]:
    """Each revisit of a public action at a meeting other than the one that raised it, as
    (meeting id, row): its values as corrected, from the events a public reader may see."""
    events = public_events(_stream(ledger, action.id))
    for event in events:
        if not isinstance(event, ActionRevisited):
            continue
        values = values_in_effect(events, event.event_id)
        meeting = values.get("meeting", event.meeting)
        if meeting == action.meeting:
            continue
        yield (
            meeting,
            _Revisit(
                ref=action.id,
                item=values.get("item") or "",
                text=action.text,
                outcome=values.get("outcome", event.outcome),
                assured=_ASSURED[values.get("assured")],
            ),
        )


def _status_cell(action: Action) -> str:
    if action.status == "open":
        return "Open"
    if action.resolution == "superseded" and action.superseded_by is not None:
        return f"Closed (superseded by {action.superseded_by})"
    return f"Closed ({action.resolution})"


def _row(action: Action) -> _Row:
    """A published row, from an action's public form (``register(restricted=False)``)."""
    return _Row(
        ref=action.id,
        item=(action.item or "") if action.meeting is not None else (action.source or ""),
        text=action.text,
        owners=", ".join(map(str, action.owners)),
        due=_due_cell(action),
        status=_status_cell(action),
        open=action.status == "open",
        update=_update_cell(action),
        outcome=_outcome_cell(action),
        closed=_closed_cell(action),
    )


def _default_title(
    meeting: Meeting | None, raised_from: DateInput | None, raised_to: DateInput | None
) -> str:
    if meeting is not None:
        return f"Action log: {meeting.title}"
    start = None if raised_from is None else str(raised_from)
    end = None if raised_to is None else str(raised_to)
    if start and end:
        return f"Action log: actions raised from {start} to {end}"
    if start:
        return f"Action log: actions raised on or after {start}"
    if end:
        return f"Action log: actions raised on or before {end}"
    return "Action log"


def _collect(
    ledger: Ledger,
    *,
    meeting: str | None,
    raised_from: DateInput | None,
    raised_to: DateInput | None,
    title: str | None,
    generated_at: Moment | None,
) -> _Log:
    """Read what a published log shows, at one head of the register.

    The head is read before and after the content; if another writer appended in between,
    the content is read again, so the footer's head is exactly the state shown.
    """
    when = (
        pendulum.now(UTC)
        if generated_at is None
        else to_datetime(generated_at, field="generated_at")
    )
    chosen = None if meeting is None else ledger.meeting(meeting)
    if title is not None:
        title = check_text("title", title, limit=MAX_SHORT)
    for _ in range(_PUBLISH_ATTEMPTS):
        count, head = ledger.head()
        check_published_tables(ledger)
        actions = ledger.register(
            meeting=meeting, raised_from=raised_from, raised_to=raised_to, restricted=False
        )
        meetings = {m.id: m for m in ledger.meetings()}
        by_meeting: dict[str | None, list[_Row]] = {}
        for action in actions:
            by_meeting.setdefault(action.meeting, []).append(_row(action))
        # What each meeting said of the actions raised elsewhere: of the selected actions,
        # or with a meeting chosen, of every public action.
        revisited: dict[str, list[_Revisit]] = {}
        for action in actions if chosen is None else ledger.register(restricted=False):
            for meeting_id, revisit in _revisits(ledger, action):
                if chosen is None or meeting_id == chosen.id:
                    revisited.setdefault(meeting_id, []).append(revisit)
        if ledger.head() == (count, head):
            break
    else:
        raise StoreError(
            f"the register changed during each of {_PUBLISH_ATTEMPTS} attempts to read it "
            "for publishing; try again when it is quieter"
        )
    groups = [
        _Group(
            meeting=m,
            rows=tuple(by_meeting.get(m.id, ())),
            revisits=tuple(revisited.get(m.id, ())),
        )
        for m in meetings.values()
        if m.id in by_meeting or m.id in revisited or (chosen is not None and m.id == chosen.id)
    ]
    if None in by_meeting:
        groups.append(_Group(meeting=None, rows=tuple(by_meeting[None])))
    return _Log(
        title=title or _default_title(chosen, raised_from, raised_to),
        groups=tuple(groups),
        count=count,
        head=head,
        generated_at=when,
    )


PUBLISHED_TABLES = ("actions", "meetings")
"""The projections whose tables a published output reads (to choose and order the actions
and to head the meetings; each action's content is folded from its stream)."""


def check_published_tables(ledger: Ledger, projections: Sequence[str] = PUBLISHED_TABLES) -> None:
    """Refuse to publish from tables that are not the fold of the verified log.

    Runs :meth:`Ledger.verify` on the hash chain and the tables of ``projections``, so that
    an edited, inserted or deleted row is never published under a valid head hash. Its cost
    is that of a verify of the chain and of those projections (see the audit how-to).

    Raises:
        IntegrityError: the chain is broken, or a table differs from the fold of the log
            (the message names the first row; ``action-ledger rebuild`` repairs the tables).
    """
    report = ledger.verify(read_models=projections)
    if report.ok:
        return
    if report.difference_count:
        raise IntegrityError(f"refusing to publish: {report.reason}")
    where = "" if report.first_bad_position is None else f" at position {report.first_bad_position}"
    raise IntegrityError(
        f"refusing to publish: the log fails verification{where}: {report.reason}; "
        "see action-ledger verify"
    )


def _heading(group: _Group) -> str:
    if group.meeting is None:
        return _OTHER_SOURCES
    return f"{group.meeting.title}, {_long_date(group.meeting.date)}"


def _people(people: Sequence[Attendee]) -> str:
    return "; ".join(
        p.name
        + (f", {p.capacity}" if p.capacity else "")
        + (f" ({p.role})" if p.role and p.role != p.capacity else "")
        for p in people
    )


def _who(meeting: Meeting) -> list[str]:
    """The meeting's chair, attendance and apologies as minuted, one line each."""
    lines = []
    if meeting.chair:
        lines.append(f"Chair: {meeting.chair}.")
    if meeting.attendance:
        lines.append(f"Present: {_people(meeting.attendance)}.")
    if meeting.apologies:
        lines.append(f"Apologies: {_people(meeting.apologies)}.")
    return lines


def _revisit_caption(meeting: Meeting) -> str:
    return (
        f"Actions raised elsewhere and revisited at the {meeting.title} "
        f"({_long_date(meeting.date)}), with what the meeting said"
    )


def _caption(group: _Group) -> str:
    if group.meeting is None:
        return "Actions not raised at a meeting, with their source"
    return f"Actions raised at the {group.meeting.title} ({_long_date(group.meeting.date)})"


_INTRO = (
    "Restricted actions and restricted updates are not published. Dates are "
    "Europe/London calendar dates (YYYY-MM-DD)."
)


def _verify_command(log: _Log) -> str:
    return f"action-ledger verify --head {log.head}"


def publish_html(
    ledger: Ledger,
    *,
    meeting: str | None = None,
    raised_from: DateInput | None = None,
    raised_to: DateInput | None = None,
    title: str | None = None,
    generated_at: Moment | None = None,
    signed_head: SignedHead | None = None,
) -> str:
    """The action log as one self-contained HTML page, for publication.

    One table per meeting (title and date as its heading and caption), oldest meeting first;
    actions raised elsewhere follow under "Other sources". Each row gives the ref (the row
    header), agenda item (or source), action, owners, due (date and words as minuted), status
    (with resolution or successor), the latest publishable update and the date closed.
    Each action is shown in its public form (:meth:`RegisterView.public_forms`): restricted
    actions, restricted update notes, the text, owners and due dates changed in restricted
    updates, and links to restricted actions are left out. The footer gives the head
    of the register the page shows and the command that checks it. The page is readable
    without its CSS; the CSS is inline, in colour pairs that meet WCAG 2.2 AA.

    Args:
        ledger: the register.
        meeting: only the actions raised at this meeting (its table is shown even if empty).
        raised_from, raised_to: only the actions raised on or after / on or before these
            Europe/London dates.
        title: the page title; by default one naming the selection.
        generated_at: the time the footer gives (UTC now by default); the same register and
            the same ``generated_at`` give the same page.
        signed_head: a signed head of the register's current head
            (:func:`action_ledger.signing.sign_head`), shown in the footer with who signed
            it and when, and its published form (``<pre id="signed-head">``), so a reader
            can check who vouched for the page's head.

    Returns:
        The HTML document.

    Raises:
        NotFoundError: ``meeting`` is not recorded.
        ValidationError: a malformed meeting id, date, title or ``generated_at``; a
            ``signed_head`` of another head than the one the page shows.
        StoreError: the register kept changing while it was read.
    """
    log = _collect(
        ledger,
        meeting=meeting,
        raised_from=raised_from,
        raised_to=raised_to,
        title=title,
        generated_at=generated_at,
    )
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(log.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{e(log.title)}</h1>",
        f"<p>{e(_INTRO)}</p>",
    ]
    if not log.groups:
        out.append("<p>There are no actions to publish for this selection.</p>")
    for number, group in enumerate(log.groups, start=1):
        anchor = f"meeting-{group.meeting.id}" if group.meeting else "other-sources"
        out.append(f'<section aria-labelledby="{e(anchor)}">')
        out.append(f'<h2 id="{e(anchor)}">{e(_heading(group))}</h2>')
        if group.meeting is not None:
            held = group.meeting.held_at.in_tz(LONDON)
            out.append(
                f'<p>Held <time datetime="{e(held.isoformat())}">'
                f"{e(_long_date(held.date()))} at {held.strftime('%H:%M')}</time>"
                f" (meeting {e(group.meeting.id)}).</p>"
            )
            out.extend(f"<p>{e(line)}</p>" for line in _who(group.meeting))
        if not group.rows:
            out.append("<p>No actions to publish from this meeting.</p>")
        else:
            headers = _COLUMNS if group.meeting is not None else _OTHER_COLUMNS
            out.append(f'<table id="table-{number}">')
            out.append(f"<caption>{e(_caption(group))}</caption>")
            out.append(
                "<thead><tr>"
                + "".join(f'<th scope="col">{e(h)}</th>' for h in headers)
                + "</tr></thead>"
            )
            out.append("<tbody>")
            for row in group.rows:
                status_class = "status-open" if row.open else "status-closed"
                cells = [row.item, row.text, row.owners, row.due]
                out.append(
                    f'<tr><th scope="row">{e(row.ref)}</th>'
                    + "".join(f"<td>{_html_text(c)}</td>" for c in cells)
                    + f'<td><span class="{status_class}">{e(row.status)}</span></td>'
                    + f"<td>{_html_text(row.update)}</td><td>{_html_text(row.outcome)}</td>"
                    + f"<td>{e(row.closed)}</td></tr>"
                )
            out.append("</tbody>")
            out.append("</table>")
        if group.revisits and group.meeting is not None:
            out.append(f'<table id="revisited-{number}">')
            out.append(f"<caption>{e(_revisit_caption(group.meeting))}</caption>")
            out.append(
                "<thead><tr>"
                + "".join(f'<th scope="col">{e(h)}</th>' for h in _REVISIT_COLUMNS)
                + "</tr></thead>"
            )
            out.append("<tbody>")
            for visit in group.revisits:
                cells = [visit.item, visit.text, visit.outcome, visit.assured]
                out.append(
                    f'<tr><th scope="row">{e(visit.ref)}</th>'
                    + "".join(f"<td>{_html_text(c)}</td>" for c in cells)
                    + "</tr>"
                )
            out.append("</tbody>")
            out.append("</table>")
        out.append("</section>")
    generated = _utc_text(log.generated_at)
    out += [
        "</main>",
        "<footer>",
        f'<p>Generated from the register at event count <data value="{log.count}">'
        f"{log.count}</data> with head hash <code>{e(log.head)}</code> at "
        f'<time datetime="{generated}">{generated}</time> (UTC).</p>',
        "<p>To check that the register still holds this state, run: "
        f"<code>{e(_verify_command(log))}</code></p>",
        *_signed_footer(log, signed_head),
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(out) + "\n"


def _signed_footer(log: _Log, signed: SignedHead | None) -> list[str]:
    """The footer's lines for a signed head of the page's head (none without one)."""
    if signed is None:
        return []
    if (signed.position, signed.head) != (log.count, log.head):
        raise ValidationError(
            f"the signed head is of position {signed.position} (head {signed.head}), but the "
            f"page shows the register at event count {log.count} (head {log.head}): sign "
            "the current head (action-ledger sign-head) and publish again",
            field="signed_head",
            value=signed.head,
        )
    e = html.escape
    return [
        f"<p>This head was signed by {e(signed.signer)} at "
        f'<time datetime="{e(signed.signed_at)}">{e(signed.signed_at)}</time> with the '
        f"Ed25519 key of fingerprint <code>{e(signed.key)}</code>. To check the signature, "
        "save the signed head below as <code>head.json</code> and run "
        "<code>action-ledger verify --signed-head head.json --public-key KEY.pub</code> "
        "with the signer's public key.</p>",
        f'<pre id="signed-head">{e(signed.dumps())}</pre>',
    ]


def _html_text(text: str) -> str:
    """Escaped text, its line breaks kept."""
    return "<br>".join(html.escape(line) for line in text.splitlines()) if text else ""


# Markdown: characters that would change a table cell's meaning or start markup.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|])")
_ENTITY_LIKE = re.compile(r"&(?=#?[0-9A-Za-z]+;)")


def _md(text: str) -> str:
    """Text safe in a Markdown table cell or heading: markup characters and pipes escaped,
    HTML neutralised, line breaks as ``<br>``."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = _ENTITY_LIKE.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    return "<br>".join(text.splitlines())


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def publish_markdown(
    ledger: Ledger,
    *,
    meeting: str | None = None,
    raised_from: DateInput | None = None,
    raised_to: DateInput | None = None,
    title: str | None = None,
    generated_at: Moment | None = None,
) -> str:
    """The action log as Markdown: the content of :func:`publish_html`, one pipe table per
    meeting (pipes, markup characters and HTML in cells escaped; line breaks as ``<br>``),
    and the same footer.

    Args:
        ledger: the register.
        meeting: only the actions raised at this meeting.
        raised_from, raised_to: only the actions raised on or after / on or before these
            Europe/London dates.
        title: the document title; by default one naming the selection.
        generated_at: the time the footer gives (UTC now by default).

    Returns:
        The Markdown document.

    Raises:
        NotFoundError: ``meeting`` is not recorded.
        ValidationError: a malformed meeting id, date, title or ``generated_at``.
        StoreError: the register kept changing while it was read.
    """
    log = _collect(
        ledger,
        meeting=meeting,
        raised_from=raised_from,
        raised_to=raised_to,
        title=title,
        generated_at=generated_at,
    )
    out = [f"# {_md(log.title)}", "", _md(_INTRO), ""]
    if not log.groups:
        out += ["There are no actions to publish for this selection.", ""]
    for group in log.groups:
        out += [f"## {_md(_heading(group))}", ""]
        if group.meeting is not None:
            held = group.meeting.held_at.in_tz(LONDON)
            out += [
                f"Held {_long_date(held.date())} at {held.strftime('%H:%M')} "
                f"(meeting {_md(group.meeting.id)}).",
                "",
            ]
            for line in _who(group.meeting):
                out += [_md(line), ""]
        if not group.rows:
            out += ["No actions to publish from this meeting.", ""]
        else:
            headers = _COLUMNS if group.meeting is not None else _OTHER_COLUMNS
            out.append(_md_row(headers))
            out.append(_md_row(["---"] * len(headers)))
            for row in group.rows:
                cells = (
                    row.ref,
                    row.item,
                    row.text,
                    row.owners,
                    row.due,
                    row.status,
                    row.update,
                    row.outcome,
                    row.closed,
                )
                out.append(_md_row([_md(c) for c in cells]))
            out.append("")
        if group.revisits and group.meeting is not None:
            out += [_md(_revisit_caption(group.meeting)) + ":", ""]
            out.append(_md_row(_REVISIT_COLUMNS))
            out.append(_md_row(["---"] * len(_REVISIT_COLUMNS)))
            for visit in group.revisits:
                visited = (visit.ref, visit.item, visit.text, visit.outcome, visit.assured)
                out.append(_md_row([_md(c) for c in visited]))
            out.append("")
    out += [
        "---",
        "",
        f"Generated from the register at event count {log.count} with head hash "
        f"`{log.head}` at {_utc_text(log.generated_at)} (UTC).",
        "",
        f"To check that the register still holds this state, run: `{_verify_command(log)}`",
    ]
    return "\n".join(out) + "\n"


# -- the spreadsheet -------------------------------------------------------------------------

CSV_COLUMNS = (
    "ref",
    "meeting",
    "source",
    "item",
    "date raised",
    "action",
    "owner",
    "due",
    "due words",
    "rag",
    "status",
    "latest update",
    "date updated",
    "latest outcome",
    "date revisited",
    "revisited at",
    "date closed",
    "restricted",
)
"""The spreadsheet's columns, in the order :func:`write_csv` writes them."""

CSV_ECHO_COLUMNS = (
    "date raised",
    "rag",
    "date updated",
    "latest outcome",
    "date revisited",
    "revisited at",
)
"""Columns that only echo the register (or, for ``rag``, the day it was written): an import
reads nothing from them and checks nothing against them."""

CSV_OPTIONAL_COLUMNS = ("source", "due words", "status", "date closed", "restricted")
"""Columns :func:`import_csv` can do without, besides :data:`CSV_ECHO_COLUMNS`: a file
written before they existed (with a meeting's id or the source in ``meeting``, and the due
date or words in ``due``) still imports; ``status`` and ``date closed`` only echo the
register; a file without ``restricted`` raises its new actions publishable."""

# The columns of an existing action's row that must still say what the register says (its
# ref names it; a new latest update is what the row records; the echoes are not read).
_CHECKED_COLUMNS = tuple(
    c for c in CSV_COLUMNS if c not in ("ref", "latest update", *CSV_ECHO_COLUMNS)
)

_YES = ("yes", "y", "true", "1")
_NO = ("no", "n", "false", "0", "")


def _restricted_cell(cell: str) -> bool | None:
    """A ``restricted`` cell as a flag (``None`` when it is neither yes nor no)."""
    word = cell.strip().casefold()
    return True if word in _YES else False if word in _NO else None


# A cell a spreadsheet would run as a formula is written with a leading apostrophe (as
# spreadsheets themselves do), and read back without it; apostrophes already there are kept.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _protect(cell: str) -> str:
    return "'" + cell if cell.lstrip("'").startswith(_FORMULA_START) else cell


def _unprotect(cell: str) -> str:
    return (
        cell[1:] if cell.startswith("'") and cell.lstrip("'").startswith(_FORMULA_START) else cell
    )


def _csv_status(action: Action) -> str:
    if action.status == "open":
        return "open"
    if action.resolution == "superseded" and action.superseded_by:
        return f"closed (superseded by {action.superseded_by})"
    return f"closed ({action.resolution})"


def _day(moment: pendulum.DateTime | None) -> str:
    return "" if moment is None else local_date(moment).isoformat()


def _csv_cells(action: Action, rag: str = "") -> dict[str, str]:
    return {
        "ref": action.id,
        "meeting": action.meeting or "",
        "source": "" if action.meeting else (action.source or ""),
        "item": action.item or "",
        "date raised": _day(action.raised_at),
        "action": action.text,
        "owner": ", ".join(map(str, action.owners)),
        "due": action.due_on.isoformat() if action.due_on else "",
        "due words": action.due_text or "",
        "rag": rag,
        "status": _csv_status(action),
        "latest update": action.last_update or "",
        "date updated": _day(action.last_updated_at),
        "latest outcome": action.last_outcome or "",
        "date revisited": _day(action.last_revisited_at),
        "revisited at": action.last_revisit_meeting or "",
        "date closed": _closed_cell(action),
        "restricted": "yes" if action.restricted else "no",
    }


def write_csv(view: RegisterView, out: TextIO, **register_filters: Any) -> int:
    """Write the register as CSV in the columns of an OPCC action tracker (:data:`CSV_COLUMNS`).

    ``meeting`` is the id of the meeting that raised the action, ``source`` where it came
    from otherwise; ``owner`` is as minuted (``"CC: Pippa Mills, PCC"``); ``due`` the due
    date when there is one, ``due words`` the words as minuted; ``rag`` ``red``, ``amber``
    (due within 14 days) or ``green`` for an open action on the day the view answers for
    (today, or an as-of view's day), empty for a closed one; ``status`` ``"open"``,
    ``"closed (completed)"``, ``"closed (superseded by ACT-2021-013)"`` or ``"closed
    (withdrawn)"``; ``latest outcome`` what was said at the latest revisit, ``revisited at``
    that meeting's id; each date (``date raised``, ``date updated``, ``date revisited``,
    ``date closed``) a Europe/London date in its own column; ``restricted`` ``"yes"`` or
    ``"no"``. By default the file is the working register,
    restricted actions and notes included. With ``restricted=False`` it is publishable: each
    action in its public form (:meth:`RegisterView.public_forms`: no restricted action, note,
    changed field or link). A cell that a spreadsheet would run as a formula gets a leading
    apostrophe, which :func:`import_csv` removes.

    Args:
        view: the register, or an as-of view of it.
        out: a text stream (open files with ``newline=""``).
        register_filters: the filters of :meth:`RegisterView.register` (``status``,
            ``owner``, ``meeting``, ``raised_from``, ``raised_to``, ``restricted``, ``text``).

    Returns:
        The number of actions written (rows after the header).

    Raises:
        ValidationError: a malformed filter.
    """
    if isinstance(view, Ledger):  # an as-of view builds its tables from the log itself
        check_published_tables(view, ("actions", "owners"))
    actions = view.register(**register_filters)
    # Judged as the rows show the actions: a public form's due date may differ.
    publishable = register_filters.get("restricted") is False
    rags = {s.action.id: s.rag for s in view.rag(publishable=publishable)}
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for action in actions:
        cells = _csv_cells(action, rags.get(action.id, "") if action.status == "open" else "")
        writer.writerow([_protect(cells[c]) for c in CSV_COLUMNS])
    return len(actions)


@attrs.frozen(kw_only=True)
class CsvImport:
    """What :func:`import_csv` stored.

    Attributes:
        raised: the ids of the new actions, in the order of their rows.
        updated: the ids of the existing actions given a new update, in row order.
        rows: how many data rows were read (blank rows not counted).
    """

    raised: tuple[str, ...]
    updated: tuple[str, ...]
    rows: int


def _header(names: Sequence[str]) -> list[str]:
    """The column names, normalised; or a ValidationError naming what is wrong."""
    columns = [" ".join(n.replace("\ufeff", "").split()).casefold() for n in names]
    unknown = [n for n in columns if n not in CSV_COLUMNS]
    missing = [
        c
        for c in CSV_COLUMNS
        if c not in columns and c not in CSV_OPTIONAL_COLUMNS and c not in CSV_ECHO_COLUMNS
    ]
    repeated = sorted({n for n in columns if columns.count(n) > 1 and n in CSV_COLUMNS})
    problems = []
    if unknown:
        problems.append(f"unknown columns {', '.join(map(repr, unknown))}")
    if missing:
        problems.append(f"missing columns {', '.join(map(repr, missing))}")
    if repeated:
        problems.append(f"repeated columns {', '.join(map(repr, repeated))}")
    if problems:
        raise ValidationError(
            f"row 1 (the header): {'; '.join(problems)}. The expected columns are "
            f"{', '.join(CSV_COLUMNS)} ({', '.join(CSV_OPTIONAL_COLUMNS + CSV_ECHO_COLUMNS)} "
            "may be left out)",
            field="header",
            value=list(names),
        )
    return columns


def _records(source: TextIO) -> Iterator[tuple[int, list[str]]]:
    """The CSV records with their spreadsheet row numbers (the header is row 1)."""
    reader = csv.reader(source)
    row = 0
    try:
        for row, record in enumerate(reader, start=1):
            yield row, record
    except csv.Error as exc:
        raise ValidationError(
            f"row {row + 1}: not readable as CSV ({exc}); nothing was imported",
            field="csv",
        ) from exc


def _same_text(a: str, b: str, *, fold: bool = False) -> bool:
    """Equal but for spacing (and, with ``fold``, case)."""
    a, b = " ".join(a.split()), " ".join(b.split())
    return a.casefold() == b.casefold() if fold else a == b


def _note(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


class _Import:
    """The import's working state: the streams read, the events decided, the problems found."""

    def __init__(self, ledger: Ledger, actor: str, when: pendulum.DateTime) -> None:
        self.ledger = ledger
        self.actor = actor
        self.when = when
        self.states: dict[str, ActionState] = {}
        self.commands: list[RaiseAction | UpdateAction] = []
        self.meetings: dict[str, Meeting | None] = {}
        self.next_number: dict[str, int] = {}
        self.problems: list[str] = []
        self.raised: list[str] = []
        self.updated: list[str] = []
        self.seen_refs: dict[str, int] = {}

    def state(self, action_id: str) -> ActionState:
        if action_id not in self.states:
            events = _stream(self.ledger, action_id)
            state = fold(events)
            self.states[action_id] = state
        return self.states[action_id]

    def meeting(self, meeting_id: str) -> Meeting | None:
        if meeting_id not in self.meetings:
            try:
                self.meetings[meeting_id] = self.ledger.meeting(meeting_id)
            except NotFoundError:
                self.meetings[meeting_id] = None
        return self.meetings[meeting_id]

    def context(self) -> Context:
        return Context(meetings={k: m for k, m in self.meetings.items() if m is not None})

    def new_id(self, when: pendulum.DateTime) -> str:
        # As Ledger.raise_action numbers them: the next ACT-<year>-<nnn> of the year, skipping
        # ids taken already (by a caller's own id, or earlier in this import).
        prefix = f"{self.ledger.id_prefix}-{local_date(when).year}-"
        number = self.next_number.get(prefix)
        if number is None:
            number = self.ledger.store.count_streams(ACTION_PREFIX + prefix)
        while True:
            number += 1
            chosen = f"{prefix}{number:03d}"
            if chosen not in self.states and self.state(chosen).action is None:
                self.next_number[prefix] = number
                return chosen

    def apply(self, action_id: str, command: RaiseAction | UpdateAction) -> None:
        """Decide the command against the in-memory state; keep its events."""
        state = self.state(action_id)
        events = _action_events(decide(command, state, self.context()))
        for event in events:
            state = evolve(state, event)
        self.states[action_id] = state
        self.commands.append(command)

    def row(self, number: int, cells: Mapping[str, str]) -> None:
        """Check one row and decide what it records; add its problems."""
        ref = cells.get("ref", "")
        if ref:
            self.existing(number, ref, cells)
        else:
            self.new(number, cells)

    def existing(self, number: int, ref: str, cells: Mapping[str, str]) -> None:
        try:
            action_id = check_action_id(ref)
        except ValidationError as exc:
            self.problems.append(f"row {number}: ref: {exc}")
            return
        if action_id in self.seen_refs:
            self.problems.append(
                f"row {number}: ref {action_id} is also on row {self.seen_refs[action_id]}; "
                "give each action one row"
            )
            return
        self.seen_refs[action_id] = number
        action = self.state(action_id).action
        if action is None or action_id in self.raised:
            self.problems.append(
                f"row {number}: ref {action_id!r} is not in the register; leave the ref empty "
                "to raise a new action"
            )
            return
        expected = _csv_cells(action)
        changed = [
            column
            for column in _CHECKED_COLUMNS
            if column in cells and not _matches(column, cells[column], expected, action)
        ]
        if changed:
            self.problems.append(
                f"row {number}: {action_id}: {', '.join(changed)} "
                f"{'differs' if len(changed) == 1 else 'differ'} from the register; an "
                "import records only new actions and new updates, so put the register's values "
                "back and make the change with the update, close or correct commands"
            )
            return
        note = _note(cells.get("latest update", ""))
        current = _note(action.last_update or "")
        if note == current:
            return
        if not note:
            self.problems.append(
                f"row {number}: {action_id}: the latest update is empty but the register has "
                f"one ({current[:60]!r}); an update cannot be removed, so put it back"
            )
            return
        try:
            command = UpdateAction(
                event_id=str(uuid.uuid4()),
                actor=self.actor,
                occurred_at=self.when,
                action_id=action_id,
                note=note,
                source="written update",
            )
            self.apply(action_id, command)
        except (ValidationError, RuleViolationError, NotFoundError) as exc:
            self.problems.append(f"row {number}: latest update: {exc}")
            return
        self.updated.append(action_id)

    def new(self, number: int, cells: Mapping[str, str]) -> None:
        problems: list[str] = []

        def check(column: str, run: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return run(*args, **kwargs)
            except ValidationError as exc:
                problems.append(f"{column}: {exc}")
                return None

        status = cells.get("status", "")
        if status and not _same_text(status, "open", fold=True):
            problems.append(
                f"status: {status!r}: a new action is raised open; leave it empty or 'open', "
                "and close the action after the import"
            )
        if cells.get("date closed", ""):
            problems.append("date closed: a new action is raised open; leave it empty")
        meeting_cell = cells.get("meeting", "")
        source_cell = cells.get("source", "")
        meeting_id = source = None
        if re.match(r"\d{4}-", meeting_cell):
            meeting_id = check("meeting", check_meeting_id, meeting_cell)
        elif meeting_cell:  # a file from before the source column: the source is here
            source = check("meeting", check_text, "source", meeting_cell, limit=MAX_SHORT)
        if source_cell:
            if source is not None:
                problems.append(
                    f"source: {source_cell!r} given, and {meeting_cell!r} in meeting is not a "
                    "meeting id; give a meeting id in meeting, or only the source"
                )
            source = check("source", check_text, "source", source_cell, limit=MAX_SHORT)
        text = check("action", check_text, "action", cells.get("action", ""), limit=MAX_TEXT)
        owner_cell = cells.get("owner", "")
        owners = check("owner", parse_owners, [o for o in owner_cell.split(",") if o.strip()])
        item = check("item", check_optional_text, "item", cells.get("item") or None, limit=20)
        due_cell = cells.get("due", "")
        words_cell = cells.get("due words", "")
        due = check("due", check_due_words, due_cell) if due_cell else None
        if words_cell:  # the words as minuted, resolved against the meeting date
            due = check("due words", check_due_words, words_cell)
        note = _note(cells.get("latest update", ""))
        restricted = _restricted_cell(cells.get("restricted", ""))
        if restricted is None:
            problems.append(
                f"restricted: {cells.get('restricted')!r} is not yes or no (leave it empty for no)"
            )
        meeting = None if meeting_id is None else self.meeting(meeting_id)
        if meeting_id is not None and meeting is None:
            problems.append(
                f"meeting: {meeting_id!r} is not a recorded meeting; record the meeting first "
                "(or check the id: the meeting date YYYY-MM-DD, e.g. 2021-10-04)"
            )
        if problems:
            self.problems.append(f"row {number}: " + "; ".join(problems))
            return
        when = meeting.held_at if meeting is not None else self.when
        action_id = self.new_id(when)
        try:
            self.apply(
                action_id,
                RaiseAction(
                    event_id=str(uuid.uuid4()),
                    actor=self.actor,
                    occurred_at=when,
                    action_id=action_id,
                    text=text,
                    owners=owners,
                    meeting=meeting_id,
                    item=item,
                    source=source,
                    due=due,
                    restricted=bool(restricted),
                ),
            )
            if note:
                self.apply(
                    action_id,
                    UpdateAction(
                        event_id=str(uuid.uuid4()),
                        actor=self.actor,
                        occurred_at=max(self.when, when),
                        action_id=action_id,
                        note=note,
                        source="written update",
                    ),
                )
        except (ValidationError, RuleViolationError, NotFoundError) as exc:
            self.problems.append(f"row {number}: {exc}")
            self.commands = [c for c in self.commands if c.action_id != action_id]
            self.states.pop(action_id, None)
            return
        self.raised.append(action_id)


def _matches(column: str, cell: str, expected: Mapping[str, str], action: Action) -> bool:
    """Whether a cell of an existing action's row says what the register says."""
    if _same_text(cell, expected[column], fold=column == "status"):
        return True
    if column == "owner":
        try:
            return parse_owners([o for o in cell.split(",") if o.strip()]) == action.owners
        except ValidationError:
            return False
    if column == "due":
        return _same_text(cell, _due_cell(action)) or _same_text(cell, action.due_text or "")
    if column == "meeting":  # a file from before the source column holds the source here
        return action.meeting is None and _same_text(cell, action.source or "")
    if column == "restricted":
        return _restricted_cell(cell) == action.restricted
    return False


def import_csv(
    ledger: Ledger,
    source: TextIO,
    *,
    actor: str,
    received_at: Moment | None = None,
) -> CsvImport:
    """Read a spreadsheet in the columns of :func:`write_csv` into the register, all or nothing.

    - A row with an empty ``ref`` raises a new action: ``meeting`` (a recorded meeting's id)
      or ``source`` (where an action from elsewhere came from; in a file without that column,
      ``meeting`` may hold it), ``item``, ``action``, ``owner`` (``"CC: Pippa Mills,
      PCC"``), ``due`` (a date; or the words as minuted) or ``due words`` (resolved against
      the meeting date; they take precedence over ``due``) and ``restricted``
      (``yes`` raises it restricted; empty or ``no``, or no such column, publishable). It gets
      the next ``ACT-<year>-<nnn>`` id. A ``latest update`` given with it is recorded as its
      first update.
    - A row whose ``ref`` exists and whose ``latest update`` differs from the action's records
      that note as a written update; a row the same as the register is skipped. Other columns
      of such a row must still say what the register says, except those of
      :data:`CSV_ECHO_COLUMNS` (the dates, RAG and latest outcome), which are not read.

    Every row is checked, and every command decided against the register's current state,
    before anything is stored; then the commands are recorded together by
    :meth:`~action_ledger.Ledger.execute_many`: all their events and read-model rows in one
    transaction. If another writer changes an action meanwhile, they are decided again on
    its fresh state.

    Args:
        ledger: the register to import into.
        source: the CSV text (open files with ``newline=""``).
        actor: who records the import.
        received_at: when the updates were received (and when actions from other sources
            were raised); now (UTC) by default.

    Returns:
        The ids raised and updated, and the number of rows read.

    Raises:
        ValidationError: the header has unknown or missing columns, or some rows are wrong;
            the message lists each bad row as ``row N: …`` (the header is row 1). Nothing is
            stored.
        RuleViolationError: another writer took a new action's id (or changed an action so
            that a row no longer applies) after the file was checked; nothing is stored:
            import again.
        ConcurrencyError: other writers kept changing the actions (the retry budget was
            spent); nothing is stored.
    """
    actor = check_text("actor", actor, limit=MAX_SHORT)
    when = (
        pendulum.now(UTC) if received_at is None else to_datetime(received_at, field="received_at")
    )
    records = _records(source)
    first = next(records, None)
    if first is None:
        raise ValidationError(
            f"the file is empty; expected a header row with the columns {', '.join(CSV_COLUMNS)}",
            field="header",
        )
    columns = _header(first[1])
    work = _Import(ledger, actor, when)
    rows = 0
    for number, record in records:
        if not any(cell.strip() for cell in record):
            continue
        rows += 1
        if len(record) > len(columns):
            work.problems.append(
                f"row {number}: {len(record)} cells, but the header has {len(columns)} columns"
            )
            continue
        cells = {c: _unprotect(v).strip() for c, v in zip(columns, record, strict=False)}
        work.row(number, cells)
    if work.problems:
        listed = "\n".join(work.problems)
        raise ValidationError(
            f"nothing was imported: {len(work.problems)} of {rows} rows have problems:\n{listed}",
            field="rows",
            value=tuple(work.problems),
        )
    if work.commands:
        ledger.execute_many(work.commands)
    return CsvImport(raised=tuple(work.raised), updated=tuple(work.updated), rows=rows)
