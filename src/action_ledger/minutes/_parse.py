"""Meeting notes → a draft: the meeting, the actions raised, the matters brought forward.

The reader handles the layout of OPCC notes rather than any one file: a header of labelled
fields (``Date:``, ``Chair:``, ``Minutes:``, ``Venue``, ``Attendance:``/``Present:``,
``Apologies:``), numbered agenda items, ``ACTION:`` lines and ``Actions:`` lists, owners in a
right-hand (tab-separated) column, in brackets or after ``Owner:``, and a section of outstanding
matters / matters arising. Page furniture ("Page 2 of 5") is dropped, wrapped lines are joined,
and look-alike letters in role codes (Cyrillic "СС") are read as Latin. Where the reader had to
guess, the proposal's confidence is lowered (below :data:`LOW_CONFIDENCE` it is flagged).

Each rule is one of the format, not of a file: attendance in any of the clerks' layouts
("Name – Capacity (CODE), Chair", ``Name | Role`` tables, aligned columns), action logs as
pipe or tab tables at the end, numbered actions ("ACTION 2023/16:") with "Owner: … Due: …"
lines, people named as owners by the roles the attendance gives them, and earlier actions
brought forward by number, in tables with a status column, or in running prose.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from .._values import Attendee
from ..exceptions import ValidationError
from ._model import Decision, DraftAction, DraftMatter, DraftMeeting, MinutesDraft, SourceRef
from ._read import NotesLine, read_notes

__all__ = ["normalise_code", "parse_minutes", "read_minutes"]

# Cyrillic and Greek capitals (and a few small letters) that look like Latin ones.
_LOOKALIKES = str.maketrans(
    "АВСЕНІЈКМОРТХУЅаеорсхуіјѕΑΒΕΗΙΚΜΝΟΡΤΧΥΖοιϹϲ",
    "ABCEHIJKMOPTXYSaeopcxyijsABEHIKMNOPTXYZoiCc",
)
_COMMON_CODES = (
    "PCC", "DPCC", "CC", "DCC", "ACC", "T/ACC", "T/DCC", "CEx", "CEO", "CFO", "T/Ch Supt",
    "Ch Supt", "T/Supt", "Supt", "DBS", "PM", "OPCC", "Treasurer",
)  # fmt: skip
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})\s?(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b\.?(?:,?\s+(\d{{4}}))?", re.I
)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_TIME = re.compile(
    r"(?<![\d.:/])(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s?m\b\.?|(?<![\d.:/])(\d{1,2})[:.](\d{2})(?![\d.:/])",
    re.I,
)
_FURNITURE = re.compile(r"^\s*(?:-\s*)?page\s+\d+\s*(?:(?:of|or|/)\s*\d+)?\s*(?:-\s*)?$", re.I)
_TAGS = re.compile(r"</?[a-z]{1,6}>", re.I)
_LABEL = re.compile(
    r"^[-•*·]?\s*(?P<label>date of (?:the )?meeting|meeting date|date(?: and time|\s*/\s*time)?|"
    r"(?:start\s+)?time|start|chair(?:ed by)?|minutes(?: by| taken by)?|held on|"
    r"minute[- ]taker|notes(?: taken)?(?: by)?|clerk|secretary|venue|location|present|"
    r"attendance|attendees|"
    r"(?:(?:officers|others|also)\s+)?in attendance|(?:(?:board|panel|committee)\s+)?members"
    r"(?:\s+present)?|"
    r"also\s+present|apologies(?: received)?|"
    r"meeting type|type)\b\s*(?P<colon>:)?\s*(?P<rest>.*)$",
    re.I,
)
_PEOPLE = ("attendance", "apologies")
_NO_COLON_OK = {"venue", "chair", "date", "apologies", "attendance", "present", "attendees"}
_HEADING = re.compile(r"^(?P<number>\d{1,2}(?:\.\d{1,2})*)(?P<dot>[.)])?(?:\s+|$)(?P<rest>.*)$")
_MATTERS = re.compile(
    r"outstanding\s+(?:matters|actions)|matters\s+arising|brought\s+forward|previous\s+actions|"
    r"actions?\s+(?:log|update|tracker)s?\b|review\s+of\s+actions|"
    r"previous\s+(?:notes|minutes)\s+and\s+actions|"
    r"actions\s+(?:from|of)\s+(?:the\s+)?(?:last|previous|preceding|\w+)\s+"
    r"(?:meeting|board|panel|committee|session)",
    re.I,
)
_ACTION_LABEL = re.compile(
    r"^(?:[-•*·]\s*)?(?:\d+[.:)]\s*)?(?:(?:agreed\s+)?(?:action(?:\s+point)?s?|ap(?=\s*\d)|"
    r"(?:(?:a?c)?t)?ions?\s+arising)"  # "ions arising:" is "Actions arising:" cut by a column
    r"|agreed(?=\s*:))"  # "AGREED: The DCC will …": what the meeting agreed someone does
    r"\s*(?P<ref>\d+(?:[/.]\d+)*)?\s*(?:\((?P<owner>[^()]{1,30})\))?\s*[:\-–—]\s*(?P<rest>.*)$",
    re.I,
)
# an earlier action brought forward by its number: "Action 1 – CC to …", "ACTION 2023/14 – …:
# completed", "• Action 1 (DCC – topic): complete"
_MATTER_REF = re.compile(
    r"^(?:[-•*·]\s*)?(?:(?:action(?:\s+point)?\s+(?:no\.?\s*)?|ap\s*)(?P<ref>\d+(?:[/.]\d+)*)\s*"
    r"(?:\((?P<topic>[^()]{1,150})\))?\s*(?:[:–—-]\s*|\s(?-i:(?=[A-Z])))"
    # "23/33(a)  ACC to …", "PAP/24/02 – …": a bare reference with a slash, as the log numbers
    r"|(?P<bare>(?:[A-Z]{1,6}/)?\d{1,4}/\d{1,4}(?:\([a-z]\))?)(?:\s*[:–—-]\s*|\s+(?-i:(?=[A-Z]))))"
    r"(?P<rest>.*)$",
    re.I,
)
# the same in running prose: "action 22/47 (review of the model) was reported as complete."
_PROSE_REF = re.compile(
    r"\baction\s+(?P<ref>\d+(?:[/.]\d+)*)\s*\((?P<topic>[^()]{3,200})\)\s*(?P<rest>[^.]*\.?)"
    # "(action 12: CC to publish the data) had been completed": the topic inside the bracket
    r"|\(\s*action\s+(?:[A-Z]{1,6}/)?\d+(?:[/.]\d+)*\s*[:–—-]\s*(?P<inner>[^()]{3,200})\)"
    r"\s*(?P<after>[^.]*\.?)",
    re.I,
)
_OUTCOME_LABEL = re.compile(r"^(?:outcome|update|status|progress|response)\s*:\s*", re.I)
_STATUS_SPLIT = re.compile(
    r"^(?P<text>.*?\S)\s*(?:[:;]|\s[–—-])\s*(?P<outcome>(?:(?:complete|completed|closed|ongoing|open|"
    r"discharged|superseded)(?=\s*(?:[.,;–—-]|$))|remains\s+open|carried\s+forward)(?:.*))$",
    re.I | re.S,
)
_PREVIOUS_MINUTES = re.compile(r"^(?:the\s+)?(?:minutes|notes)\s+(?:of|from)\b", re.I)
_BULLET = re.compile(r"^(?:[-•*·–]|\(?\d{1,2}[.):]|\(?[a-z][.)])\s+")
_ENUMERATOR = re.compile(r"^(?:[-•*·–]\s*|\(?\d{1,2}\s*[.):]\s*|\(?[a-z][.)]\s+)")
_ACTIONISH = re.compile(r"\b(?:to|will|should|must|agreed|shall)\b", re.I)
_NONE = re.compile(r"^(?:none|nil|n/a|there were none|no matters)\b\.?", re.I)
_CLOSED = re.compile(
    r"(?:(?:^|[.;:]\s+)(?:complete|completed|closed)\b|"
    r"\b(?:reported|confirmed|noted|marked|agreed)\s+as\s+(?:complete|completed|closed)\b)|"
    r"\b(?:(?:can|could|to)\s+be\s+closed|agreed\s+(?:as\s+)?(?:complete|completed|closed)|"
    r"(?:is|was|now|been)\s+(?:complete|completed|closed|discharged)|discharged|"
    r"action\s+(?:complete|completed|closed)|^(?:complete|completed|closed)\b|"
    r"agreed\s+to\s+close|removed\s+from\s+the\s+(?:action\s+)?(?:log|tracker|register)|"
    r"no\s+further\s+action)",
    re.I,
)
_OPEN = re.compile(
    r"\b(?:remain(?:s)?\s+open|keep\s+open|not\s+(?:yet\s+)?(?:complete|closed)|"
    r"^ongoing|carried\s+forward|^in\s+progress)",
    re.I,
)
_DUE_FIELD = re.compile(
    r"[\s;,.(–-]*\b(?:due|deadline|by when|target date)\s*:\s*(?P<due>[^)]+?)\)?\s*$", re.I
)
_OWNER_LINE = re.compile(
    r"^(?:owners?|lead|responsible)\s*:\s*(?P<owners>.+?)"
    r"(?:\s*[;,]?\s+(?:due|deadline|by when|target date)\s*:\s*(?P<due>.+))?$",
    re.I,
)
# an owner and the due words in one trailing bracket: "(Lead: CFO / CC; to open in January)"
_LEAD_BRACKET = re.compile(
    r"\s*\(\s*(?:owners?|lead(?:\s+officer)?|responsible(?:\s+officer)?|by whom|action)\s*:\s*"
    r"(?P<owners>[^;,()]+?)(?:\s*[;,]\s*(?:(?:due|by when|deadline)\s*:\s*)?(?P<due>[^;()]+?))?"
    r"\s*\)\s*\.?\s*$",
    re.I,
)
# the owner and due after a dash at the end: "… to the Board. – DCC, March 2024"
_DASH_OWNER = re.compile(
    r"(?<=[.\w)])\s+[–—-]\s+(?P<owners>[^,–—()]{1,40}?)(?:,\s*(?P<due>[^,–—()]{1,40}?))?\s*\.?$"
)
_OWNER_FIELD = re.compile(
    r"[\s;,.(–-]*\b(?:owners?|lead|responsible)\s*:\s*(?P<owners>[^);]+?)\)?\s*[.;]?\s*$", re.I
)
_DUE_WORDS = (
    re.compile(
        r"^(revisit(?:ed)?\s+in\s+(?:\w+\s+){1,2}?(?:days?|weeks?|months?|years?)(?:'s?)?"
        r"(?:\s+time)?)",
        re.I,
    ),
    re.compile(
        r"\b((?:with)?in\s+(?:the\s+next\s+)?(?:\w+\s+){0,1}(?:days?|weeks?|months?)"
        r"(?:'\s*time)?)(?=[\s.,;]|$)",
        re.I,
    ),
    re.compile(
        rf"\b(by\s+(?:the\s+)?(?:end\s+of\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?(?:{_MONTH})"
        r"(?:\s+\d{4})?)\b",
        re.I,
    ),
    re.compile(
        r"\b((?:to|at)\s+the\s+(?:next\s+|\w+\s+)?(?:holding\s+to\s+account|performance|"
        r"assurance)(?:\s+meeting)?)",
        re.I,
    ),
    re.compile(r"\b(for\s+the\s+next\s+\d+(?:\s+to\s+\d+)?\s+(?:weeks|months))", re.I),
    re.compile(
        rf"\b((?:at|by|to)\s+the\s+(?:next|{_MONTH})\s+(?:meeting|board|committee|panel))", re.I
    ),
)  # fmt: skip
_ACTION_REF = re.compile(
    r"^(?:(?:action|ref\.?)\s*(?:no\.?\s*)?[\w/-]*\d[\w/-]*|[A-Z]{1,6}/\d+(?:/\d+)+)\s*[:–—-]\s*",
    re.I,
)  # "Action 3 – ", "PAP/24/05 – ": the number the earlier action is known by
_STRAY_OWNERS = re.compile(r"^([A-Z][A-Za-z]{1,4}(?:\s+/\s+[A-Z][A-Za-z]{1,4})+)\s+(?=[a-z])")
_REFERENCE = re.compile(
    r"^(?:ref(?:erence)?|agenda\s+item|item)\.?\s*(?:no\.?\s*)?(\d[\w/.-]*)\s*[:.–—-]?\s*(.*)$",
    re.I,
)
_CODED_REFERENCE = re.compile(
    r"^((?!ACTION\b|REF\b|ITEM\b)[A-Z]{2,6}\s+\d{1,4}/\d{1,4})\s+([A-Z][^.]*)$"
)
_TITLED = r"\b(?:meeting|board|panel|committee|forum|notes|minutes)\b"
_TITLE_TAIL = re.compile(
    r"\s*[–—-]?\s*(?:meeting\s+)?(?:notes|minutes)(?:\s+of\s+(?:the\s+)?meeting)?\s*$", re.I
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_CAPACITY_WORDS = {
    "police", "deputy", "chief", "assistant", "director", "senior", "head", "policy",
    "detective", "temporary", "acting", "superintendent", "supt", "supt.", "ch", "inspector",
    "treasurer", "finance", "commissioner", "interim", "executive", "principal", "programme",
    "communications", "business", "strategic", "officer", "manager", "independent", "member",
    "t/ch", "t/supt", "t/acc", "t/dcc", "chair", "vice", "clerk", "lead", "analyst",
    "sergeant", "constable", "partnership", "office", "governance", "head,", "the",
}  # fmt: skip


def normalise_code(code: str) -> str:
    """A role code with look-alike letters (Cyrillic, Greek) replaced by Latin ones and
    spaces tidied: ``"СС"`` (Cyrillic) → ``"CC"``, ``"T/Ch  Supt."`` → ``"T/Ch Supt"``."""
    code = unicodedata.normalize("NFKC", code.translate(_LOOKALIKES)).translate(_LOOKALIKES)
    return re.sub(r"\s+", " ", code).strip().rstrip(".").strip()


def read_minutes(path: str | Path, *, meeting_id: str | None = None) -> MinutesDraft:
    """Read a meeting's notes (.txt, .docx or .pdf) into a draft for review.

    Args:
        path: the notes file.
        meeting_id: the meeting's id in the register; the meeting's date (``YYYY-MM-DD``) when
            not given.

    Returns:
        The draft: the meeting, the actions raised and the matters brought forward, each
        with its source (file, page, line) and a confidence.

    Raises:
        NotFoundError: the file does not exist.
        ValidationError: the file cannot be read as notes (see :func:`read_notes`), or the
            notes give no meeting date.
        MissingDependencyError: a .docx or .pdf needs python-docx or pypdf, not installed.
    """
    if not isinstance(path, str | os.PathLike):
        raise ValidationError(
            f"path: {path!r:.60} is not a notes file's path", field="path", value=path
        )
    notes = read_notes(path)
    return parse_minutes(notes.lines, file=notes.file, sha256=notes.sha256, meeting_id=meeting_id)


@attrs.define
class _Row:
    number: int  # 1-based line number
    page: int | None
    text: str  # cleaned, cells joined by single tabs, owner cell removed
    cells: list[str]
    owner_cell: list[str] | None = None
    owner_text: str | None = None  # the owner cell as written
    numbered: bool = False  # the owner cell numbers its owners ("1.PCC 2.CC 3.CC")
    due_cell: str | None = None  # a due column right of the owner column
    heading: str | None = None  # an accepted agenda number
    heading_text: str = ""
    absorbed: bool = False  # the text of the heading on the line above


@attrs.define(eq=False)
class _Action:
    text: str
    row: _Row
    item: str | None
    owners: list[str] = attrs.Factory(list)
    owner_how: str = "none"  # column, field, subject, line, mention, none
    due: str | None = None
    numbered_owners: bool = False
    matter: int | None = None
    ref: str | None = None  # the number the notes give it ("Action 5", "ACTION 2023/16")
    item_guessed: bool = False  # the item found from the words of the minutes
    unlabelled: bool = False  # read as an action from its lead column alone, with no label


@attrs.define(eq=False)
class _Matter:
    text: str
    row: _Row
    item: str | None
    outcome: list[str] = attrs.Factory(list)
    bullet: str = ""  # the kind of enumerator that started it ("a)", "1.", "-"), if any
    owners: list[str] = attrs.Factory(list)  # named beside its number ("Action 1 (DCC – …)")
    in_prose: bool = False  # found in running text rather than listed


def parse_minutes(
    lines: Iterable[str | NotesLine],
    *,
    file: str,
    sha256: str,
    meeting_id: str | None = None,
) -> MinutesDraft:
    """Read notes already split into lines into a draft (see :func:`read_minutes`).

    Args:
        lines: the notes' lines, as text (numbered from 1, no pages) or as
            :class:`NotesLine` values with their page and line numbers.
        file: the notes' file name, kept on every source.
        sha256: the SHA-256 (hex) of the notes' bytes.
        meeting_id: the meeting's id; its date (``YYYY-MM-DD``) when not given.

    Returns:
        The draft.

    Raises:
        ValidationError: the notes give no meeting date (or an impossible one).
    """
    if isinstance(lines, str | bytes) or not isinstance(lines, Iterable):
        raise ValidationError(
            f"lines: {lines!r:.60} is not a list of the notes' lines (text or NotesLine)",
            field="lines",
            value=lines,
        )
    numbered = [
        line if isinstance(line, NotesLine) else NotesLine(text=str(line), line=index)
        for index, line in enumerate(lines, start=1)
    ]
    numbered, log = _action_log(numbered)
    rows = _rows(numbered)
    header_end = _mark_headings(rows)
    known = _Known()
    meeting = _meeting(rows[:header_end], rows, file, known, meeting_id)
    known.people = {p.name: p.role for p in (*meeting.attendance, *meeting.apologies) if p.role}
    known.posts = {
        p.capacity.lower(): p.role
        for p in (*meeting.attendance, *meeting.apologies)
        if p.role and p.capacity
    }
    raw_actions, matters = _body(rows[header_end:], known)
    actions = [a for action in raw_actions for a in _split_numbered(action)]
    reviewed = [entry for entry in log if entry.status is not None]
    log = [entry for entry in log if entry.status is None]
    if reviewed:  # a table of earlier actions with their status: matters brought forward
        matters = [*matters, *_reviewed_matters(reviewed, rows)]  # actions index the first
    if log:
        actions = _merge_log(log, actions, rows[header_end:], known)
    return MinutesDraft(
        file=file,
        sha256=sha256,
        meeting=meeting,
        actions=tuple(_draft_action(a, file, known) for a in actions),
        matters=tuple(_draft_matter(m, i, actions, file, known) for i, m in enumerate(matters)),
    )


# --- lines -------------------------------------------------------------------------------


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u00a0", " ")
    text = _TAGS.sub("", text)
    text = re.sub(r"[ \u2000-\u200b]+", " ", text)
    return text


def _rows(lines: Iterable[str | NotesLine]) -> list[_Row]:
    rows: list[_Row] = []
    for index, line in enumerate(lines, start=1):
        if isinstance(line, NotesLine):
            raw, number, page = line.text, line.line, line.page
        else:
            raw, number, page = str(line), index, None
        raw = re.sub(r"(?<=\S) {4,}(?=\S)", "\t", raw)  # columns aligned with spaces
        raw = _clean(raw)
        if _FURNITURE.match(raw.replace("\t", " ")):
            continue
        cells = [cell.strip() for cell in raw.split("\t")]
        cells = [cell for cell in cells if cell]
        if len(cells) > 1 and cells[-1].upper() in {
            "ACTION",
            "ACTIONS",
            "OWNER",
            "LEAD",
            "BY WHOM",
        }:
            cells.pop()  # the owner column's heading
        if (
            len(cells) > 2
            and re.fullmatch(r"(?i)open|new|not started|in progress", cells[-1])
            and _owner_list(cells[-2]) is not None
        ):
            cells.pop()  # a status column saying only that the action is new
        due_cell = None
        if len(cells) > 2 and _is_due(cells[-1]) and _owner_list(cells[-2]) is not None:
            due_cell = cells.pop()
        if len(cells) > 1 and cells[-1] and len(cells[-1]) <= 40:
            owners = _owner_list(cells[-1])
            row = _Row(number, page, "\t".join(cells[:-1]), cells[:-1])
            if owners is not None:
                row.owner_cell = owners
                row.owner_text = cells[-1]
                row.numbered = bool(re.match(r"^\s*\d", cells[-1]))
                row.due_cell = due_cell
                rows.append(row)
                continue
        rows.append(_Row(number, page, "\t".join(cells), cells))
    return rows


def _mark_headings(rows: list[_Row]) -> int:
    """Mark agenda headings (numbers that never go backwards) and return where the header ends."""
    candidates: list[tuple[int, str, str]] = []
    absorbs: dict[int, int] = {}  # a number alone on its line: its heading on the next line
    for index, row in enumerate(rows):
        if not row.cells:
            continue
        first = row.cells[0]
        match = _HEADING.match(first) if len(row.cells) == 1 else None
        if match and not match["rest"] and (match["dot"] or "." in match["number"]):
            following = next(
                (i for i in range(index + 1, min(index + 4, len(rows))) if rows[i].cells), None
            )
            if following is not None and not _HEADING.match(rows[following].text):
                absorbs[index] = following
                candidates.append((index, match["number"], rows[following].text.replace("\t", " ")))
            continue
        if len(row.cells) > 1 and re.fullmatch(r"\d{1,2}(?:\.\d{1,2})*[.)]?", first):
            number, rest = first.rstrip(".)"), " ".join(row.cells[1:])
        elif match:
            number, rest = match["number"], match["rest"]
            plain = "." not in number
            # "18 months" (a wrapped line) is not item 18: a plain number needs a dot or a
            # heading-like text after it
            if plain and not match["dot"] and not (rest[:1].isupper() or not rest):
                continue
            if plain and not rest[:1].isupper():
                continue
        else:
            continue
        if int(number.split(".")[0]) > 30 or _DAY_MONTH.match(row.text.replace("\t", " ")):
            continue  # "12 March 2024, 10:00" is a date, not item 12
        candidates.append((index, number, rest))
    # Agenda numbers never go backwards: "1. Demand" under item 2.1 is a sub-heading, and so is
    # "3. Visibility" when a later "2.2" follows. Numbers quoted under the outstanding matters
    # (an earlier meeting's) do not count.
    accepted: list[tuple[int, str, str]] = []
    top, in_matters = 0, False
    for position, (index, number, rest) in enumerate(candidates):
        head = int(number.split(".")[0])
        if "." in number:
            if not in_matters:
                top = max(top, head)
            accepted.append((index, number, rest))
            continue
        later = [int(n.split(".")[0]) for _, n, _ in candidates[position + 1 :] if "." in n]
        if head <= top or any(t < head for t in later):
            continue
        top, in_matters = head, bool(_MATTERS.search(rest))
        accepted.append((index, number, rest))
    for index, number, rest in accepted:
        rows[index].heading = number
        rows[index].heading_text = rest
        if index in absorbs:
            rows[absorbs[index]].absorbed = True
    for row in rows:  # "Ref 03/21/06/2023": items named by a reference rather than numbered
        reference = _REFERENCE.match(row.text.replace("\t", " "))
        if reference and row.heading is None:
            row.heading, row.heading_text = reference[1], reference[2]
    # "SPCB 22/53  Neighbourhood policing": minutes numbered with the body's prefix; a prefix
    # used once ("PCC 2024/25 budget …" wrapped) is text, not a numbering
    coded = [(row, _CODED_REFERENCE.match(row.text.replace("\t", " "))) for row in rows]
    prefixes = [match[1].split()[0] for _, match in coded if match]
    for row, match in coded:
        if match and row.heading is None and prefixes.count(match[1].split()[0]) >= 2:
            row.heading, row.heading_text = match[1], match[2]
    header_end = len(rows)
    for index, row in enumerate(rows):
        if (
            row.heading is not None
            or re.match(r"^(?:no\.?|item)\s*\t|^(?:no\.?|ref\.?)\s+item\b", row.text, re.I)
            or (  # an unnumbered matters heading ("Matters arising from the meeting of …")
                _MATTERS.search(row.text)
                and len(row.cells) == 1
                and len(row.text.split()) <= 12
                and not re.search(r"[.!?:;,]$", row.text.strip())
            )
            or _ACTION_LABEL.match(row.text.replace("\t", " ").strip())
        ):
            header_end = index
            break
    return header_end


# --- action logs --------------------------------------------------------------------------

_LOG_TEXT = {"action", "actions", "action agreed", "agreed action", "description"}
_LOG_REF = {"action no", "no", "ref", "ref no", "action ref", "#", "action number", "number"}
_LOG_ITEM = {"minute", "minute no", "minute ref", "item", "item no", "agenda item", "min", "para"}
_LOG_OWNER = {"owner", "owners", "lead", "by whom", "responsible", "action owner", "who"}
_LOG_DUE = {"due", "due date", "deadline", "by when", "target date", "date due", "when"}
_LOG_OTHER = {"status", "update", "progress", "comments"}


@attrs.define
class _LogEntry:
    line: NotesLine
    text: str
    ref: str | None
    item: str | None
    owners: str
    due: str | None
    status: str | None = None  # an earlier action's progress ("Complete", "Ongoing – …")


def _log_cells(text: str) -> tuple[str, list[str]]:
    """A line's cells, split on pipes ("a | b | c") or tabs, and the separator used."""
    text = _clean(text).strip()
    if text.count("|") >= 2:
        return "|", [c.strip() for c in text.strip("|").split("|")]
    return "\t", [c.strip() for c in text.split("\t")]


def _action_log(lines: list[NotesLine]) -> tuple[list[NotesLine], list[_LogEntry]]:
    """An action log laid out as a table ("Action No | Minute | Action | Owner | Due", or
    tab-separated "Ref  Action  Owner  Deadline"; a numbered or minute column tells it from an
    item's own action table): its rows as entries, and the lines with the table blanked out
    (its rows are not minutes text)."""
    entries: list[_LogEntry] = []
    out = list(lines)
    index = 0
    while index < len(lines):
        separator, cells = _log_cells(lines[index].text)
        names = [re.sub(r"\(s\)|[:.]", "", c.lower()).strip() for c in cells]  # "Owner(s)"
        columns = _LOG_TEXT | _LOG_REF | _LOG_ITEM | _LOG_OWNER | _LOG_DUE | _LOG_OTHER
        if not (
            len(cells) >= 3
            and all(n in columns for n in names)
            and any(n in _LOG_TEXT for n in names)
            and any(n in _LOG_OWNER for n in names)
            # a log numbers its actions or cites their minutes; a table without either, in
            # an item's text, is that item's actions (read with the body), unless it reports
            # their progress (checked below)
            and any(n in _LOG_REF | _LOG_ITEM | _LOG_OTHER for n in names)
        ):
            index += 1
            continue

        def column(kinds: set[str], names: list[str] = names) -> int | None:
            return next((i for i, n in enumerate(names) if n in kinds), None)

        text_at = next(i for i, n in enumerate(names) if n in _LOG_TEXT)
        owner_at = next(i for i, n in enumerate(names) if n in _LOG_OWNER)
        ref_at, item_at, due_at = column(_LOG_REF), column(_LOG_ITEM), column(_LOG_DUE)
        status_at = column(_LOG_OTHER)
        start, table_at = len(entries), index
        out[index] = attrs.evolve(lines[index], text="")
        index += 1
        while index < len(lines):
            line = lines[index]
            if not line.text.strip() or _FURNITURE.match(line.text.replace("\t", " ")):
                if line.text.strip():
                    index += 1
                    continue
                break
            row_separator, row = _log_cells(line.text)
            if len(cells) - 1 <= len(row) < len(cells) and row[-1] and text_at < len(row) - 1:
                row.append("")  # an empty last cell ("no due date") the line does not show
            if row_separator != separator or len(row) != len(cells):
                break
            if all(re.fullmatch(r":?-{2,}:?", cell) for cell in row):  # "|---|---|"
                out[index] = attrs.evolve(line, text="")
                index += 1
                continue
            numbered_at = ref_at if ref_at is not None else item_at
            if (
                entries[start:]
                and any(row)
                and (
                    (numbered_at is not None and not row[numbered_at])
                    or (row[text_at] and all(not c for i, c in enumerate(row) if i != text_at))
                )
            ):  # cells wrapped onto a row of their own (no number): the entry above runs on
                last = entries[-1]
                last.text = f"{last.text} {row[text_at]}".strip()
                last.owners = f"{last.owners} {row[owner_at]}".strip()
                if due_at is not None and row[due_at]:
                    last.due = f"{last.due or ''} {row[due_at]}".strip()
                if status_at is not None and row[status_at]:
                    last.status = f"{last.status or ''} {row[status_at]}".strip()
                out[index] = attrs.evolve(line, text="")
                index += 1
                continue
            entries.append(
                _LogEntry(
                    line=line,
                    text=row[text_at],
                    ref=row[ref_at] or None if ref_at is not None else None,
                    item=row[item_at] or None if item_at is not None else None,
                    owners=row[owner_at],
                    due=row[due_at] or None if due_at is not None else None,
                )
            )
            if status_at is not None:
                entries[-1].status = row[status_at]
            out[index] = attrs.evolve(line, text="")
            index += 1
        # a status column reporting progress ("Complete", "Ongoing") reviews earlier actions;
        # one saying "Open" / "New" of every row lists the actions raised
        table = entries[start:]
        if not any(
            e.status and (_CLOSED.search(e.status) or _OPEN.search(e.status)) for e in table
        ):
            if ref_at is None and item_at is None:  # "Action | Owner | Status" with no progress
                del entries[start:]  # an item's own action table: the body reads it
                out[table_at:index] = lines[table_at:index]
                continue
            for entry in table:
                entry.status = None
    return out, entries


def _reviewed_matters(entries: list[_LogEntry], rows: list[_Row]) -> list[_Matter]:
    """The rows of a table reviewing earlier actions, as matters with their status as the
    outcome, under the item the table is in."""
    matters: list[_Matter] = []
    for entry in entries:
        item = None
        for row in rows:
            if row.number > entry.line.line:
                break
            if row.heading is not None:
                item = row.heading
        row = _Row(entry.line.line, entry.line.page, entry.text, [entry.text])
        matter = _Matter(entry.text, row, item, outcome=[entry.status or ""])
        found = _owner_list(entry.owners)
        matter.owners = found or []
        matters.append(matter)
    return matters


_STOP = {
    "the", "and", "for", "with", "that", "this", "from", "have", "been", "were", "was",
    "will", "would", "their", "them", "they", "into", "onto", "about", "which", "also",
}  # fmt: skip


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2 and w not in _STOP}


def _merge_log(
    log: list[_LogEntry], body: list[_Action], rows: list[_Row], known: _Known
) -> list[_Action]:
    """The log's entries as the actions raised, each with the item under which the minutes
    raised it; a body action the log repeats is dropped (the log's words are kept)."""
    windows: list[tuple[str | None, set[str]]] = []  # (item, words) of each three-line run
    item: str | None = None
    texts: list[tuple[str | None, str]] = []
    cited: dict[str, str | None] = {}  # "(Action 3)" in the minutes: the item that raised it
    for row in rows:
        if row.heading is not None:
            item = row.heading
        if row.text.strip():
            texts.append((item, row.text))
        for ref in re.findall(
            r"\(\s*action\s+(?:no\.?\s*)?((?:[A-Z]{1,6}[/ -]?)?\d+(?:[/.]\d+)*)\s*\)",
            row.text,
            re.I,
        ):  # "(action 3)", "(action PAP/24/07)"
            cited.setdefault(ref, item)
    for at, (item, _) in enumerate(texts):
        run = " ".join(t for i, t in texts[at : at + 3] if i == item)
        windows.append((item, _words(run)))
    actions: list[_Action] = []
    for entry in log:
        row = _Row(entry.line.line, entry.line.page, entry.text, [entry.text])
        owners, sure = _log_owners(entry.owners, known)
        action = _Action(text=entry.text, row=row, item=entry.item, owners=owners)
        action.owner_how = "column" if sure else "mention"
        action.due = entry.due
        action.ref = entry.ref
        if action.item is None:
            same = [a for a in body if entry.ref and a.ref == entry.ref]
            if same:
                action.item = same[0].item
            elif entry.ref and entry.ref in cited:
                action.item = cited[entry.ref]
            else:  # the item whose minutes share the most words with the entry
                wanted = _words(entry.text)
                best = max(windows, key=lambda w: len(wanted & w[1]), default=(None, set()))
                if wanted and len(wanted & best[1]) >= max(2, len(wanted) // 2):
                    action.item, action.item_guessed = best[0], True
        actions.append(action)
    for action in body:
        words = _words(action.text)
        repeated = any(
            (entry.ref and action.ref == entry.ref)
            or len(words & _words(entry.text)) >= 0.6 * min(len(words), len(_words(entry.text)))
            for entry in log
        )
        if not repeated:
            actions.append(action)
    return sorted(actions, key=lambda a: a.row.number)


def _posts(cell: str, known: _Known) -> list[str] | None:
    """Owners in brackets that name posts or people the attendance lists ("[Head of Finance]",
    "[CEx / Head of Estates]"), or ``None`` when any part is not one."""
    owners, sure = _log_owners(cell, known)
    return owners if sure and owners else None


def _log_owners(cell: str, known: _Known) -> tuple[list[str], bool]:
    """An owner cell's owners ("CEx / DCC", "DCC and Head of Corporate Communications",
    "Sarah Okafor"): role codes, the posts the attendance gives as roles, and the roles of
    people named; whether every part was recognised."""
    owners: list[str] = []
    sure = True
    for part in re.split(r"\s+/\s+|\s*[,;&]\s*|\s+and\s+", normalise_code(cell)):
        part = part.strip(" .")
        if not part:
            continue
        code = _owner_list(part)
        if part in known.people:  # a person named: the role the attendance gives them
            owners.append(known.people[part])
        elif part.lower() in known.posts:  # "Chief Constable" written out: the listed role
            owners.append(known.posts[part.lower()])
        elif code is not None:
            owners.extend(code)
        elif any(part.lower() == c.lower() for c in known.codes):
            owners.append(known.canonical(part))
        else:
            owners.append(part)
            sure = False
    return owners, sure


# --- role codes --------------------------------------------------------------------------


@attrs.define
class _Known:
    codes: list[str] = attrs.Factory(lambda: list(_COMMON_CODES))
    people: dict[str, str] = attrs.Factory(dict)  # name → role, from the attendance
    posts: dict[str, str] = attrs.Factory(dict)  # capacity (lower case) → role, likewise

    def add(self, code: str) -> None:
        if code not in self.codes:
            self.codes.append(code)

    def pattern(self) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(c) for c in sorted(self.codes, key=len, reverse=True))
        return re.compile(rf"(?<![\w/])({alternatives})(?![\w/])")

    def mentioned(self, text: str) -> list[str]:
        found: list[str] = []
        for match in self.pattern().finditer(normalise_code(text)):
            if match[1] not in found:
                found.append(match[1])
        return found

    def subject(self, text: str) -> list[str]:
        """Owners named as the sentence's subject: "The DCC to review…", "PCC and CC to…";
        people the attendance lists ("Sarah Okafor and Neil Burrows to…") by their roles."""
        text = normalise_code(text)
        for name in sorted(self.people, key=len, reverse=True):
            text = re.sub(rf"^((?:.*?\s)?){re.escape(name)}\b", rf"\g<1>{self.people[name]}", text)
        codes = "|".join(re.escape(c) for c in sorted(self.codes, key=len, reverse=True))
        match = re.match(
            rf"^(?:the\s+)?((?:{codes})(?:(?:\s*(?:,|&|and)\s*|\s+/\s+)(?:the\s+)?(?:{codes}))*)(?:'s)?"
            rf"(?![\w/])(?=.*\b(?:to|will|should|must|agreed|committed)\b)",
            text,
            re.I,
        )
        if not match:
            return []
        parts = re.split(r"\s*(?:,|&|\band\b)\s*(?:the\s+)?|\s+/\s+", match[1])
        return [self.canonical(c) for c in parts if c]

    def canonical(self, code: str) -> str:
        for known in self.codes:
            if known.lower() == code.lower():
                return known
        return code


_CODE_TOKEN = re.compile(r"(?:T/)?(?:[A-Z][A-Za-z]*[A-Z][A-Za-z]*|Ch Supt|Supt)")


def _is_due(cell: str) -> bool:
    """Whether a table cell holds due words or a date ("30 Sept 2022", "Next meeting")."""
    return len(cell) <= 40 and bool(
        _DAY_MONTH.search(cell)
        or _NUMERIC_DATE.search(cell)
        or _ISO_DATE.search(cell)
        or any(p.search(cell) for p in _DUE_WORDS)
        or re.fullmatch(r"(?:next\s+meeting|ongoing|asap|immediate(?:ly)?|tbc)\.?", cell, re.I)
    )


def _owner_list(cell: str) -> list[str] | None:
    """The owners in an owner cell ("CC", "PCC / CC", "1.PCC 2.CC 3.CC"), or ``None`` when
    the cell is not a list of role codes."""
    text = normalise_code(cell)
    parts = (
        [p for p in re.split(r"\s*\d+\s*[.)]\s*", text) if p]
        if re.match(r"^\d+\s*[.)]", text)
        else None
    )
    if parts is None:
        parts = [p for p in re.split(r"\s*(?:,|&|;|\band\b|\s/\s)\s*", text) if p]
    owners: list[str] = []
    for part in parts:
        part = part.strip(" .")
        known = next((c for c in _COMMON_CODES if c.lower() == part.lower()), None)
        if known:
            owners.append(known)
        elif re.fullmatch(
            r"[A-Z][A-Za-z]{0,2}[A-Z]{1,4}|(?:T/)?[A-Z][A-Za-z]*(?: [A-Z][a-z]{2,4})?", part
        ) and (sum(ch.isupper() for ch in part) >= 2 and len(part) <= 12):
            owners.append(part)
        else:
            return None
    return owners or None


# --- the header --------------------------------------------------------------------------


_PEOPLE_COLUMNS = {
    "name", "capacity", "role", "post", "position", "title", "job", "code", "organisation",
    "organization", "initials",
}  # fmt: skip


def _meeting(
    header: list[_Row], rows: list[_Row], file: str, known: _Known, meeting_id: str | None
) -> DraftMeeting:
    fields: dict[str, tuple[str, _Row]] = {}
    people: dict[str, list[tuple[str, _Row]]] = {"attendance": [], "apologies": []}
    titles: list[
        tuple[str, _Row]
    ] = []  # lines before the first field: the title, perhaps a letterhead
    block: str | None = None
    after_date = False  # the lines just after an unlabelled date line: its time, its venue
    guessed: set[str] = set()  # fields read from unlabelled lines
    for row in header:
        if not row.cells:
            after_date = False
            continue
        # the header's lines whole: "Location:  MS Teams" is no owner column
        row_cells = [*row.cells, *([row.owner_text] if row.owner_text else [])]
        text = " ".join(row_cells)
        words = re.findall(r"[a-z]+", text.lower())
        if words[:1] == ["name"] and set(words) <= _PEOPLE_COLUMNS:
            continue  # "Name | Role | Code": a people table's header
        # "Date: 22/01/2024      Time: 14:00      Venue: Teams": several fields on one line
        segments = re.split(
            r"\s+(?=(?:(?:start\s+)?time|venue|location|chair)\s*:)", text, flags=re.I
        )
        if len(segments) > 1 and all(_labels(segment) for segment in segments):
            for segment in segments:
                for label, rest in _labels(segment):
                    key = _field_key(label)
                    if key not in people and key not in fields and rest:
                        fields[key] = (rest, row)
            block = None
            continue
        for label, rest in _labels(text):
            key = _field_key(label)
            if key in people:
                block = key
                if rest and not _NONE.match(rest):
                    people[key].append((rest, row))
            else:
                block = None
                if key not in fields and rest:
                    fields[key] = (rest, row)
            break
        else:
            if block is not None and not _is_person_line(text):
                block = None  # minutes text after a one-line list, not people
            if block is not None:
                people[block].append(("\t".join(row_cells), row))  # name, capacity, code columns
            elif "time" not in fields and _is_time_only(text):
                fields["time"] = (text, row)  # "09:30 – 11:45" on its own line
            elif not fields and (
                not (_DAY_MONTH.search(text) or _NUMERIC_DATE.search(text))
                # "Minutes of the meeting held on 21/11/2023": the date line once a title is read
                or (
                    re.search(_TITLED, text, re.I)
                    and not any(re.search(_TITLED, t, re.I) for t, _ in titles)
                )
            ):
                titles.append((text, row))
            elif "date" not in fields and (_DAY_MONTH.search(text) or _NUMERIC_DATE.search(text)):
                fields["date"] = (text, row)
                after_date = True
            elif after_date and "venue" not in fields and not _TIME.search(text):
                fields["venue"] = (text, row)  # the place on the line after the date
                guessed.add("venue")
    title = next((t for t in titles if re.search(_TITLED, t[0], re.I)), None)
    title = title or (titles[0] if titles else None)
    body_text = "\n".join(r.text for r in rows[len(header) :])
    marked: dict[str, list[set[str]]] = {"attendance": [], "apologies": []}
    attendance = _attendees(people["attendance"], body_text, known, marked["attendance"])
    apologies = _attendees(people["apologies"], body_text, known, marked["apologies"])
    confidence = 1.0 if not guessed else 0.8
    title_text = _title(title[0]) if title else ""
    if "date" in fields:
        when_text, when_row = fields["date"]
    else:
        candidate = next(
            (
                (r.text, r)
                for r in rows[:40]
                if _DAY_MONTH.search(r.text) or _NUMERIC_DATE.search(r.text)
            ),
            None,
        )
        if candidate is None:
            raise ValidationError(
                f"notes {file!r} give no meeting date: expected a line such as "
                "'Date: Monday 4 October 2021, 13:30'",
                field="date",
                value=None,
            )
        when_text, when_row = candidate
        confidence = min(confidence, 0.8)
    if "time" in fields:
        when_text = when_text + " " + fields["time"][0]
    title_year = re.search(r"\b(19|20)\d{2}\b", title_text)
    years = [int(y) for r in rows for y in re.findall(r"\b(?:19|20)\d{2}\b", r.text)]
    date, time, how = _when(when_text, int(title_year[0]) if title_year else None, file, years)
    if how == "year-from-title":
        confidence = min(confidence, 0.85)
    elif how == "year-from-text":
        confidence = min(confidence, 0.65)
    if time is None:
        confidence = min(confidence, 0.9)
    if not title_text:
        title_text = f"Meeting {date.isoformat()}"
        confidence = min(confidence, 0.6)
    minutes_by = fields.get("minutes", (None, None))[0]
    if minutes_by:
        minutes_by = minutes_by.rstrip(" .")  # "Minute taker: Jodie Marsh, …, OPCC."
    for person, marks in zip(attendance, marked["attendance"], strict=True):
        if "minutes" in marks and minutes_by is None:
            minutes_by = ", ".join(p for p in (person.name, person.capacity) if p)
    chair = _chair_name(fields.get("chair", (None, None))[0])
    for person, marks in zip(attendance, marked["attendance"], strict=True):
        if "chair" in marks and chair is None:
            chair = person.name
    for index, person in enumerate(attendance):
        said = re.match(r"(?i)chair\b\s*[–—,-]?\s*", person.capacity or "")
        if chair is None and said:
            chair = person.name
            attendance[index] = attrs.evolve(
                person, capacity=(person.capacity or "")[said.end() :] or None
            )
    venue = fields.get("venue", (None, None))[0]
    if minutes_by and venue is None:
        split = re.split(r"\s+venue\b\s*:?\s*", minutes_by, maxsplit=1, flags=re.I)
        if len(split) == 2:
            minutes_by, venue = split
    if venue:
        venue = re.sub(r"\s*\((?:also|and)\b[^()]*\)\s*$", "", venue)  # "(also webcast)"
        venue = re.sub(r"\s+[–—-]\s+", ", ", venue).strip(" ,")
        # "Meeting Room 1.38 Hindlip": the building after the room's number, as in an address
        venue = re.sub(r"\b((?i:room)\s+\d[\d.]*[A-Za-z]?)\s+(?=[A-Z])", r"\1, ", venue)
    kind = fields.get("type", (None, None))[0]
    if kind is None and any(
        r.heading is not None and "holding to account" in r.heading_text.lower() for r in rows
    ):
        kind = "Holding to account"
    return DraftMeeting(
        meeting_id=meeting_id or date.isoformat(),
        title=title_text,
        held_at=date.isoformat() + (f"T{time}" if time else ""),
        source=_source(file, when_row),
        confidence=round(confidence, 2),
        kind=kind,
        venue=venue or None,
        chair=chair,
        minutes_by=minutes_by or None,
        attendance=tuple(attendance),
        apologies=tuple(apologies),
    )


def _title(text: str) -> str:
    """The meeting's name: without "Minutes of the" / "– Meeting Notes" (words that only say
    what the document is), and in title case when printed in capitals."""
    text = _TITLE_TAIL.sub("", text).strip(" –—-")
    text = re.sub(
        r"^(?:minutes|notes)\s+of\s+(?:the\s+)?(?:meeting\s+of\s+(?:the\s+)?)?",
        "",
        text,
        flags=re.I,
    )
    if text.upper() == text and any(ch.isalpha() for ch in text):
        small = {"and", "of", "the", "to", "for", "in", "on", "at", "a", "an", "by", "with"}
        words = text.lower().split(" ")
        text = " ".join(
            w if (i and w in small) else w[:1].upper() + w[1:] for i, w in enumerate(words)
        )
    return text.strip()


def _chair_name(text: str | None) -> str | None:
    """ "Andrew Kilbride, Police and Crime Commissioner (PCC)" → "Andrew Kilbride"."""
    text = _without_role(text)
    if text is None:
        return None
    text = _HONORIFIC.sub("", text.strip())  # "Cllr Jo Hale": the name alone
    return re.split(r"\s*(?:,|\s[–—-]\s|\t|\s\|\s)\s*", text, maxsplit=1)[0].strip() or None


def _is_time_only(text: str) -> bool:
    """Whether a line holds only a time or a time range ("09:30 – 11:45", "from 2pm to 4pm")."""
    if not _TIME.search(text):
        return False
    rest = re.sub(r"\b(?:from|to|until|till|start|finish)\b", "", _TIME.sub("", text), flags=re.I)
    return not re.sub(r"[\s–—\-,:()]", "", rest)


_COLUMN_WORDS = {
    "item", "items", "discussion", "lead", "leads", "action", "actions", "owner", "owners",
    "no", "ref", "minute", "minutes", "due", "agenda", "notes", "by", "whom", "date", "subject",
}  # fmt: skip


def _is_person_line(text: str) -> bool:
    """Whether a line under "Present:" / "Apologies:" can list people (a name, its capacity):
    not a numbered heading or a sentence of the minutes."""
    first = text.strip().split(" ", 1)[0]
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
    if not words or words <= _COLUMN_WORDS:  # a table's header or a rule ("-----  ----")
        return False
    return not (
        re.search(r"\d", re.sub(r"\([^()]*\)", "", text))
        or (first[:1].islower() and not text.startswith(("of ", "and ")))
        or (len(text.split()) > 16 and "(" not in text)
        or re.search(r"[.;:]\s+[A-Z][a-z]+\s+[a-z]+", text)
    )


def _without_role(name: str | None) -> str | None:
    """ "Sarah Jones (PCC)" → "Sarah Jones": the chair is a person."""
    return re.sub(r"\s*\([^()]{1,20}\)\s*$", "", name) if name else name


def _labels(text: str) -> list[tuple[str, str]]:
    match = _LABEL.match(text)
    if not match:
        return []
    label = match["label"].lower()
    if not match["colon"] and _field_key(label) == "time" and re.match(r"\d", match["rest"]):
        return [(label, match["rest"].strip())]  # "Time    10:00": a column, not a colon
    if not match["colon"] and label == "members":
        return []  # "Members of the public asked …"
    if (
        not match["colon"]
        and label not in _NO_COLON_OK
        and not label.endswith(" by")
        and not (_field_key(label) in _PEOPLE and not match["rest"])  # "Officers in attendance"
    ):
        return []
    if not match["colon"] and not match["rest"] and _field_key(label) not in _PEOPLE:
        return []  # a bare "Attendance" or "Apologies" line heads its list; others need more
    if not match["colon"] and label in {"date", "chair"} and not match["rest"][:1].isupper():
        return []
    return [(label, match["rest"].strip())]


def _field_key(label: str) -> str:
    if label.startswith(
        ("present", "attend", "in attendance", "board", "members", "also", "officers", "others")
    ) or label.endswith("members present"):
        return "attendance"
    if label.startswith("apolog"):
        return "apologies"
    if label.startswith("chair"):
        return "chair"
    if label.startswith(("minute", "notes", "clerk", "secretary")):
        return "minutes"
    if label in {"venue", "location"}:
        return "venue"
    if label in {"meeting type", "type"}:
        return "type"
    if label == "held on":
        return "date"
    if (label.endswith("time") or label == "start") and not label.startswith("date"):
        return "time"
    return "date"


_HONORIFIC = re.compile(
    r"^(?:Cllr|Councillor|Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sir|Dame|Revd?|Lord|Lady)\.?\s+"
    r"(?=[A-Z])"
)
_MARKER = re.compile(
    r"(?:\s*[,–—-]\s*|\s*\(\s*)(?P<mark>chair(?:ing)?|in\s+the\s+chair|minutes|"
    r"minute[- ]taker|notes|note[- ]taker)\s*\)?\s*$",
    re.I,
)


def _attendees(
    entries: list[tuple[str, _Row]], body: str, known: _Known, marks: list[set[str]] | None = None
) -> list[Attendee]:
    """The people listed under "Present:" or "Apologies:"; ``marks`` gets, for each, the
    markers the notes give them ("chair", "minutes")."""
    texts: list[str] = []
    joined: list[tuple[str, _Row]] = []
    for text, row in entries:
        if (
            joined
            and ";" in joined[-1][0]
            and not re.search(r"[;.)\]]$", joined[-1][0])
            and not _labels(" ".join(row.cells))  # "In attendance: …" starts its own list
        ):
            # "Present: A – PCC [PCC]; B –\nChief Constable [CC]; …": a paragraph wrapped anywhere
            joined[-1] = (f"{joined[-1][0]} {text.strip()}", joined[-1][1])
        else:
            joined.append((text.strip(), row))
    for text, _row in joined:
        text = re.sub(r"^[-•*·]\s+", "", text)  # a bulleted list of people
        text = re.sub(r"\[([^\[\]]{1,20})\]", r"(\1)", text)  # "[CODE]" as "(CODE)"
        # "Force:   Richard Omondi, …": a group's label before its first person
        text = re.sub(r"^[A-Z][A-Za-z]{1,15}(?: [A-Za-z]{1,15})?:\s+(?=[A-Z])", "", text.strip())
        text = re.sub(r" {3,}|\s+\|\s*", "\t", text).strip("\t |")  # aligned or piped columns
        if texts and (
            texts[-1].count("(") > texts[-1].count(")") or re.fullmatch(r"\([^()]*\)", text)
        ):
            texts[-1] += " " + text  # "Tom Brody (Head / of Corporate Communications)"
            continue
        if (
            texts
            and "(" not in texts[-1]
            and "(" in text
            and _split_name(text.split("\t")[0])[0] == ""
        ):
            texts[-1] += " " + text  # a capacity wrapped onto the next line
            continue
        for part in re.split(
            r"(?<=\))\s*(?:[,;]|\band\b)\s*(?!\s*(?:chair|minutes|notes)\b)|\s*;\s*",
            re.sub(r"(?i)^(?:were\s+)?(?:received\s+)?from\s+", "", text),  # "Apologies were …"
            flags=re.I,
        ):
            if part.strip():
                texts.append(part.strip())
    people: list[Attendee] = []
    for text in texts:
        if _NONE.match(text):
            continue
        text = text.rstrip(" .")
        text = _HONORIFIC.sub("", text)  # "Cllr", "Dr": the name is recorded without them
        found: set[str] = set()
        while marker := _MARKER.search(text):
            mark = marker["mark"].lower()
            found.add("chair" if "chair" in mark else "minutes")
            text = text[: marker.start()].strip()
        inside = re.search(r"\s*\((?:minutes|minute[- ]taker|notes|note[- ]taker)\)", text, re.I)
        if inside:  # "Tom Brown (minutes) – Secretary"
            found.add("minutes")
            text = (text[: inside.start()] + text[inside.end() :]).strip()
        role = None
        match = re.search(r"\(([^()]{1,40})\)\s*$", text)
        if match and not re.search(r"[A-Z]", match[1]):
            match = None
        inner = re.match(r"^([^()\t]+?)\s*\(([^()]{1,20})\)\s*[–—-]?\s*(.*)$", text)
        if match:
            role = normalise_code(match[1])
            text = text[: match.start()].strip()
        elif inner:
            # "Gareth Boulton (GB) – Chief Executive Officer": initials after the name
            note = inner[2].strip()
            role = normalise_code(note) if re.search(r"[A-Z]", note) else None
            text = f"{inner[1]}\t{inner[3]}"
        code_first = re.match(
            r"^([^–—,()]{2,12}?)\s+[–—-]\s+([A-Z][a-z]+(?: [A-Z][a-z'-]+){1,2})$", text
        )
        if role is None and code_first and _owner_list(code_first[1]) == [code_first[1]]:
            role, text = normalise_code(code_first[1]), code_first[2]  # "PCC – Ann Lee"
        if "\t" in text:
            name, capacity = (p.strip() for p in text.split("\t", 1))
            *said, last = capacity.split("\t")
            if role is None and said and len(last) <= 20:  # "Name  Capacity  CODE" columns
                role, capacity = normalise_code(last.strip()), "\t".join(said)
        else:
            name, capacity = _split_name(text)
        # "… Ch Insp": a two-word code ("Ch Supt", "Det Insp") or one word; ", OPCC" is the office
        tail = re.match(r"^(.*[^\s,])\s+([A-Z][a-z]{1,2}\s+[A-Z][a-z]{2,4}\.?)$", capacity)
        if not (tail and _owner_list(tail[2]) == [tail[2]]):
            tail = re.match(r"^(.*[^\s,])\s+(\S+)$", capacity)
        if role is None and tail and _owner_list(tail[2]) == [tail[2]] and tail[2] != "OPCC":
            # "Chief Constable CC": the code column collapsed onto the capacity (a PDF's text)
            role, capacity = normalise_code(tail[2]), tail[1]
        if not name or (not (role or capacity.strip()) and len(name.split()) < 2):
            continue  # "Minutes", a heading, is not a person
        tidy = re.sub(r"\s+", " ", capacity.replace("\t", " ")).strip(" ,–-") or None
        if role is None and tidy and _owner_list(tidy) == [tidy] and not tidy.startswith("OP"):
            role, tidy = tidy, None  # "Ann Lee, PCC": the code given as the capacity
        if role and _initials(name) == role.upper().replace(".", ""):
            role = _role_used_for(tidy, body) or role
        if role:
            known.add(role)
        try:
            people.append(Attendee(name=name, capacity=tidy, role=role))
        except (ValueError, TypeError):
            continue
        if marks is not None:
            marks.append(found)
    return people


def _split_name(text: str) -> tuple[str, str]:
    for separator in (" – ", " — ", " - ", ", "):
        if separator in text:
            head = text.split(separator, 1)[0]
            name, capacity = _split_name(head) if " " in head.strip() else (head, "")
            if name and capacity and head.startswith(name):
                return name, text[len(name) :].strip()  # "Gary Holt Superintendent, Head of …"
            if name and capacity:  # "Supt Bob Khan – Head of Contact": the rank, then the name
                return name, text.split(separator, 1)[1].strip()
            name, capacity = text.split(separator, 1)
            return name.strip(), capacity.strip()
    words = text.split()
    for index, word in enumerate(words):
        if index and (
            word.lower() in _CAPACITY_WORDS
            or "/" in word
            or word[:1].islower()
            or (len(word) > 1 and word.isupper())  # "ACC", "DCI"
        ):
            return " ".join(words[:index]), " ".join(words[index:])
        if index == 0 and word.lower() in _CAPACITY_WORDS - {"lead", "chair"}:
            # "Chief Constable Laura Whitcombe": the rank first, the name after it
            lead = 0
            while lead < len(words) and words[lead].lower() in _CAPACITY_WORDS:
                lead += 1
            rest = words[lead:]
            if 2 <= len(rest) <= 3 and all(
                w[:1].isupper() and not w.isupper() and w.lower() not in _CAPACITY_WORDS
                for w in rest
            ):
                return " ".join(rest), " ".join(words[:lead])
            return "", text
    return text, ""


def _initials(name: str) -> str:
    return "".join(word[0] for word in name.split() if word[:1].isalpha()).upper()


def _role_used_for(capacity: str | None, body: str) -> str | None:
    """The code the notes use for a person listed with their initials ("Senior Policy
    Manager (JI)", called "the PM" in the text)."""
    if not capacity:
        return None
    acronym = "".join(w[0] for w in capacity.split() if w[:1].isupper())
    for start in range(len(acronym) - 1):
        code = acronym[start:]
        if re.search(rf"\b[Tt]he {code}\b", body):
            return code
    return None


def _year_by_weekday(text: str, day: int, month: int, years: list[int]) -> int | None:
    """The year, of those the notes mention (most often first), on which the day falls on the
    weekday the date line names ("Friday 26 October"); ``None`` without a weekday."""
    weekday = re.search(r"\b(mon|tues|wednes|thurs|fri|satur|sun)day\b", text, re.I)
    if weekday is None:
        return None
    wanted = ["mon", "tues", "wednes", "thurs", "fri", "satur", "sun"].index(weekday[1].lower())
    for year in sorted(set(years), key=lambda y: (-years.count(y), years.index(y))):
        try:
            if dt.date(year, month, day).weekday() == wanted:
                return year
        except ValueError:
            continue
    return None


def _when(
    text: str, title_year: int | None, file: str, other_years: list[int]
) -> tuple[dt.date, str | None, str]:
    """The date and time in a 'Date:' line; how the year was found."""
    how = "given"
    date: dt.date | None = None
    rest = text
    for pattern in (_ISO_DATE, _DAY_MONTH, _NUMERIC_DATE):
        match = pattern.search(text)
        if not match:
            continue
        try:
            if pattern is _ISO_DATE:
                date = dt.date(int(match[1]), int(match[2]), int(match[3]))
            else:
                if pattern is _DAY_MONTH:
                    day, month = int(match[1]), _MONTHS[match[2].lower()]
                else:
                    day, month = int(match[1]), int(match[2])
                year_text = match[3]
                if year_text is None:
                    if title_year is None:
                        title_year = _year_by_weekday(text, day, month, other_years)
                        how = "year-from-text"
                    if title_year is None:
                        raise ValidationError(
                            f"notes {file!r}: the meeting date {match[0]!r} has no year and "
                            "the title gives none: add the year to the date line",
                            field="date",
                            value=match[0],
                        )
                    year, how = title_year, how if how != "given" else "year-from-title"
                else:
                    year = int(year_text) + (2000 if len(year_text) == 2 else 0)
                date = dt.date(year, month, day)
        except ValueError:
            raise ValidationError(
                f"notes {file!r}: the meeting date {match[0]!r} is not a real date",
                field="date",
                value=match[0],
            ) from None
        rest = text[: match.start()] + " " + text[match.end() :]
        break
    if date is None:
        raise ValidationError(
            f"notes {file!r}: no meeting date in {text!r}: expected e.g. 'Monday 4 October 2021'",
            field="date",
            value=text,
        )
    time = None
    match = _TIME.search(rest)
    if match:
        if match[1] is not None:
            hour, minute, half = int(match[1]), int(match[2] or 0), match[3].lower()
            if half == "p" and hour < 12:
                hour += 12
            elif half == "a" and hour == 12:
                hour = 0
        else:
            hour, minute = int(match[4]), int(match[5])
        if hour < 24 and minute < 60:
            time = f"{hour:02d}:{minute:02d}"
    return date, time, how


# --- the body ----------------------------------------------------------------------------


def _body(rows: list[_Row], known: _Known) -> tuple[list[_Action], list[_Matter]]:
    actions: list[_Action] = []
    matters: list[_Matter] = []
    item: str | None = None
    in_matters = False
    matter: _Matter | None = None
    pending: _Action | None = None  # the action whose text may continue on the next line
    listing = False  # under an "Actions:" label, each paragraph is an action
    list_owned = False
    blank = True
    prose: list[tuple[str, _Row]] = []  # running text under the matters heading
    unnumbered_matters = False  # the matters heading had no number: the next heading ends it
    for row in rows:
        if row.owner_cell is None and len(row.cells) > 1 and row.cells[-1] in known.people:
            # a person the attendance lists, alone in the last column: the owner column
            row.owner_cell, row.cells = [row.cells[-1]], row.cells[:-1]
            row.text = "\t".join(row.cells)
        text = row.text.replace("\t", " ").strip()
        if row.absorbed:
            continue
        if not text:
            blank = True
            if pending is not None and not listing:
                pending = None
            continue
        # a wrapped line of the action being read
        if (
            pending is not None
            and not blank
            and row.heading is None
            and len(row.cells) == 1
            and len(text.split()) <= 30
            and not (row.owner_cell and pending.owner_how == "column")  # a new row of a table
            and not _ACTION_LABEL.match(text)
            and not _BULLET.match(text)
            and not re.match(r"^[A-Z]{3,}\s*:", text)  # "RESOLVED:", "NOTED:": a new entry
            and (not re.search(r"[.!?:]\)?$", pending.text) or text[:1].islower())
            and not _labels(text)
            and _owner_list(text) is None  # a line of role codes is an owner column, not a wrap
        ):
            pending.text = f"{pending.text} {text}"
            if row.owner_cell:
                _set_owners(pending, row)
            blank = False
            continue
        owner_line = _OWNER_LINE.match(text)
        if pending is not None and owner_line:  # "Owner: Supt    Due: 16 November 2023"
            owners, sure = _log_owners(owner_line["owners"], known)
            if pending.owner_how != "column" and owners:
                pending.owners, pending.owner_how = owners, "field" if sure else "mention"
            pending.due = (owner_line["due"] or "").strip(" .") or pending.due
            pending = None
            blank = False
            continue
        # a wrapped line of a matter's text (before its outcome)
        if (
            matter is not None
            and not matter.outcome
            and not blank
            and row.heading is None
            and not re.search(r"[.!?:]\)?$", matter.text)
            # the sentence runs on: a small or numeric word next, or the line ended mid-phrase
            and (
                not text[:1].isupper()
                or re.search(r"\b(?:the|of|to|and|a|an|in|for|on|at|by|with|from)$", matter.text)
            )
            and not _OUTCOME_LABEL.match(text)
            and not _BULLET.match(text)
            and not _ACTION_LABEL.match(text)
            and not _MATTER_REF.match(text)
            and not _labels(text)
        ):
            matter.text = f"{matter.text} {text}"
            continue
        after_blank, blank = blank, False
        if (
            row.heading is None
            and after_blank
            and pending is None
            and len(row.cells) == 1
            and len(text.split()) <= 12
            and text[:1].isupper()
            and not re.search(r"[.!?:;,]$", text)
            and not _labels(text)
        ):  # an unnumbered heading: "Matters arising from the meeting of 16 May 2023"
            if _MATTERS.search(text):
                _prose_matters(prose, matters, item)
                in_matters, unnumbered_matters, matter = True, True, None
                continue
            if unnumbered_matters:
                _prose_matters(prose, matters, item)
                in_matters, unnumbered_matters, matter = False, False, None
        if row.heading is not None:
            unnumbered_matters = False
            _prose_matters(prose, matters, item)
            pending, listing = None, False
            item = row.heading
            heading_text = row.heading_text.replace("\t", " ").strip()
            if _MATTERS.search(heading_text):
                in_matters, matter = True, None
                continue
            if "." not in row.heading:
                in_matters, matter = False, None
            elif in_matters and _NONE.match(heading_text):
                matter = None
                continue
            elif in_matters and _PREVIOUS_MINUTES.match(heading_text):
                matter = None  # "The minutes of the last meeting were agreed": not a matter
                continue
            elif in_matters:
                matter = _numbered_matter(heading_text, row, item) or _Matter(
                    _ENUMERATOR.sub("", heading_text), row, item
                )
                matters.append(matter)
                continue
            label = _ACTION_LABEL.match(heading_text)
            if (
                label is None
                and row.owner_cell
                and not in_matters
                and len(re.findall(r"\b[a-z][a-z'-]*\b", heading_text)) >= 3
            ):  # "1.2 | Publish the waiting times on the website. | CC": a numbered action row
                pending = _new_action(heading_text, row, item, matter, actions, matters)
                pending.unlabelled = True
                _set_owners(pending, row)
                continue
            if label is None:
                continue
            text = heading_text
        standalone = _owner_list(text) if len(text) <= 30 else None
        if standalone is not None and row.owner_cell is None:
            _claim(actions[-3:], standalone, known)
            continue
        stray = _STRAY_OWNERS.match(text)
        if stray and row.owner_cell is None and (found := _owner_list(stray[1])) is not None:
            # "PCC / CC function is needed…": the owner column run into a line of text
            _claim(actions[-3:], found, known)
            text = text[stray.end(1) :].strip()
        if _is_table_header(row.cells) or re.fullmatch(
            r"(?:agreed\s+)?actions(?:\s+agreed|\s+arising)?", text, re.I
        ):  # an "Action | Owner" table's header, or a bare "Actions" heading over a list
            pending, listing, list_owned = None, True, False
            continue
        numbered_matter = _numbered_matter(text, row, item) if in_matters else None
        if numbered_matter is not None:
            pending = None
            matter = numbered_matter
            matters.append(matter)
            continue
        label = _ACTION_LABEL.match(text)
        if (
            label is not None
            and re.match(r"^(?:[-•*·]\s*)?(?:\d+[.:)]\s*)?agreed\s*:", text, re.I)
            and re.search(
                r"^\s*that\b|\b(?:be|was|were|is|are)\s+(?:noted|approved|agreed|accepted|"
                r"endorsed|adopted|received)\b",
                label["rest"],
                re.I,
            )
            and not re.search(
                r"\b(?:will|should|must|shall)\b|\(\s*(?:lead|owner)", label["rest"], re.I
            )
        ):
            label = None  # "AGREED: that the report be noted": a decision, not an action
        if label is not None:
            rest = _ENUMERATOR.sub("", label["rest"].strip()).strip()
            if not rest or _NONE.fullmatch(rest):
                pending, listing, list_owned = None, bool(not rest), False
                continue
            listing = bool(re.match(r"^(?:actions|agreed actions)\b", text, re.I))
            pending = _new_action(rest, row, item, matter, actions, matters)
            pending.ref = label["ref"]
            if row.owner_cell:
                _set_owners(pending, row)
            elif label["owner"] and (named := _owner_list(label["owner"])) is not None:
                pending.owners, pending.owner_how = named, "field"
            continue
        if listing:
            entry = _ENUMERATOR.sub("", text).strip()
            if (
                _ACTIONISH.search(entry)
                and len(entry.split()) <= 90
                and not (list_owned and row.owner_cell is None)
            ):
                pending = _new_action(entry, row, item, matter, actions, matters)
                if row.owner_cell:
                    _set_owners(pending, row)
                    list_owned = True
                continue
            listing = False
        pending = None
        if (
            row.owner_cell
            and not in_matters
            and len(text.split()) >= 4
            and text[:1].isupper()
            and not _labels(text)
            # a sentence, not a person and their post ("Ann Lee Police and Crime Commissioner")
            and len(re.findall(r"\b[a-z][a-z'-]*\b", text)) >= 3
        ):  # "Item | Discussion | Lead": a sentence with an entry in the lead column
            entry = _ENUMERATOR.sub("", text).strip()
            pending = _new_action(entry, row, item, matter, actions, matters)
            pending.unlabelled = True
            _set_owners(pending, row)
            continue
        bullet = _bullet_kind(text)
        if (
            in_matters
            and bullet
            and not _NONE.match(_ENUMERATOR.sub("", text))
            and not _PREVIOUS_MINUTES.match(_ENUMERATOR.sub("", text))
            and (matter is None or bullet == matter.bullet)  # the next matter of the list
        ):
            matter = _Matter(_ENUMERATOR.sub("", text), row, item, bullet=bullet)
            matters.append(matter)
            continue
        if in_matters and matter is not None:
            matter.outcome.append(_OUTCOME_LABEL.sub("", text))
        elif in_matters:
            prose.append((text, row))
    _prose_matters(prose, matters, item)
    return actions, matters


def _numbered_matter(text: str, row: _Row, item: str | None) -> _Matter | None:
    """An earlier action brought forward by its number ("Action 1 – CC to …"), with the owner
    and topic in brackets ("Action 1 (DCC – knife crime patrols): complete"), if it is one."""
    found = _MATTER_REF.match(text)
    if found is None:
        return None
    matter = _Matter(found["rest"], row, item)
    topic = found["topic"]
    if topic and len(found["rest"].split()) >= 4 and (named := _owner_list(topic)) is not None:
        matter.owners = named  # "AP1 (DCC) Provide the timetable …": the owner in brackets
        return matter
    if topic:
        said = re.match(r"^([^–—-]{1,20}?)\s+[–—-]\s+(.*)$", topic)
        if said and (named := _owner_list(said[1])) is not None:
            matter.owners, topic = named, said[2]
        matter.text = topic
        if found["rest"]:
            matter.outcome.append(found["rest"])
    return matter


def _prose_matters(prose: list[tuple[str, _Row]], matters: list[_Matter], item: str | None) -> None:
    """Matters told in running prose under the matters heading: "action 22/47 (review of the
    model) was reported as complete and closed"; the prose read is then cleared."""
    text = " ".join(t for t, _ in prose)
    for found in _PROSE_REF.finditer(text):
        row = prose[0][1]
        at = 0
        for line, line_row in prose:  # the line where the mention starts
            if at + len(line) >= found.start():
                row = line_row
                break
            at += len(line) + 1
        topic, rest = found["topic"] or found["inner"], found["rest"] or found["after"] or ""
        matter = _Matter(topic.strip(), row, item, in_prose=True)
        outcome = re.sub(r"^(?:was|is|ha[sd]\s+been)\s+", "", rest.strip())
        matter.outcome.append(outcome[:1].upper() + outcome[1:])
        matters.append(matter)
    prose.clear()


def _bullet_kind(text: str) -> str:
    """The kind of a line's enumerator: "a)" and "b)" are one kind, "1." and "2." another."""
    match = _BULLET.match(text)
    if not match:
        return ""
    return re.sub(r"[a-z]", "a", re.sub(r"\d+", "1", match[0].strip()))


def _is_table_header(cells: list[str]) -> bool:
    """An action table's header row: "Action | Owner | Due"."""
    words = {c.lower().rstrip(":s").strip() for c in cells}
    columns = {
        "action", "owner", "lead", "due", "due date", "deadline", "by when", "no", "ref",
        "statu",  # "Status" with its final s stripped like the plurals
    }  # fmt: skip
    return len(cells) > 1 and "action" in words and words <= columns


def _new_action(
    text: str,
    row: _Row,
    item: str | None,
    matter: _Matter | None,
    actions: list[_Action],
    matters: list[_Matter],
) -> _Action:
    action = _Action(text=text, row=row, item=item)
    if matter is not None:
        action.matter = matters.index(matter)
    actions.append(action)
    return action


def _set_owners(action: _Action, row: _Row) -> None:
    action.owners = list(row.owner_cell or ())
    action.owner_how = "column"
    action.due = action.due or row.due_cell
    action.numbered_owners = row.numbered and len(action.owners) > 1


def _claim(actions: Sequence[_Action], owners: list[str], known: _Known) -> None:
    """A line holding only role codes (an owner column read out of place): it confirms an
    action whose subject is those owners, or else goes to the first action naming none."""
    candidates = [a for a in actions if a.owner_how == "none"]
    for action in candidates:
        if sorted(known.subject(action.text)) == sorted(owners):
            action.owners, action.owner_how = list(owners), "line"
            return
    for action in candidates:
        if not known.subject(action.text):
            action.owners, action.owner_how = list(owners), "line"
            return


def _split_numbered(action: _Action) -> list[_Action]:
    """One paragraph beside "1.PCC 2.CC 3.CC": as many actions as owners, one per sentence;
    a paragraph numbering its actions ("… the Panel. 2: The CC to confirm …"): one per number,
    each with its numbered owner, or else the owners its words name."""
    numbered = re.split(r"(?<=[.;])\s+\d{1,2}\s*[:.)]\s+(?=[A-Z])", action.text)
    if len(numbered) > 1:
        if len(numbered) == len(action.owners) and action.owner_how in {"column", "line"}:
            owners = [[owner] for owner in action.owners]
            how = action.owner_how
        else:
            owners, how = [[] for _ in numbered], "none"
        return [
            attrs.evolve(action, text=part, owners=found, owner_how=how, numbered_owners=False)
            for part, found in zip(numbered, owners, strict=True)
        ]
    if not action.numbered_owners:
        return [action]
    sentences = [s for s in _SENTENCE.split(action.text) if s.strip()]
    if len(sentences) != len(action.owners):
        return [action]
    return [
        attrs.evolve(action, text=sentence, owners=[owner], numbered_owners=False)
        for sentence, owner in zip(sentences, action.owners, strict=True)
    ]


def _source(file: str, row: _Row) -> SourceRef:
    return SourceRef(file=file, line=row.number, page=row.page)


def _draft_action(action: _Action, file: str, known: _Known) -> DraftAction:
    text = action.text.strip()
    owners = [known.people.get(o, o) for o in action.owners]  # a person named: their role
    how = action.owner_how
    due = action.due
    lead = _LEAD_BRACKET.search(text)
    if lead:  # "… text relay. (Lead: Gary Holt; by 30 November 2023)"
        found_owners, sure = _log_owners(lead["owners"], known)
        if sure and found_owners:
            text = text[: lead.start()].strip()
            due = (lead["due"] or "").strip(" .") or due
            if how != "column":
                owners, how = found_owners, "field"
    dash = None if lead else _DASH_OWNER.search(text)
    if dash:
        found_owners, sure = _log_owners(dash["owners"], known)
        if sure and found_owners:
            text = text[: dash.start()].strip()
            due = (dash["due"] or "").strip(" .") or due
            if how != "column":
                owners, how = found_owners, "field"
    match = _DUE_FIELD.search(text)
    if match:
        due, text = match["due"].strip(" ."), text[: match.start()].strip()
    match = _OWNER_FIELD.search(text)
    if match and (found := _owner_list(match["owners"])) is not None:
        text = text[: match.start()].strip()
        if how not in {"column"}:
            owners, how = found, "field"
    match = re.search(r"\s*[(\[]([^()\[\]]{1,40})[)\]]\s*\.?$", text)
    if match and (found := _owner_list(match[1]) or _posts(match[1], known)) is not None:
        text = (text[: match.start()].strip() + ("." if text.endswith(".") else "")).strip()
        if how not in {"column"}:
            owners, how = found, "field"
    if due is None:
        for pattern in _DUE_WORDS:
            found_due = pattern.search(text)
            if found_due:
                due = found_due[1].strip()
                break
    if how == "none":
        subject = known.subject(text)
        if subject:
            owners, how = subject, "subject"
        else:
            mentioned = known.mentioned(text)
            if mentioned:
                owners, how = mentioned, "mention"
    confidence = {"column": 1.0, "field": 1.0, "subject": 0.9, "line": 0.8, "mention": 0.6}.get(
        how, 0.4
    )
    if action.item is None or action.item_guessed:
        confidence -= 0.1
    if action.unlabelled:  # an action only by the lead column beside it: check it
        confidence = min(confidence, 0.9)
    return DraftAction(
        text=text,
        source=_source(file, action.row),
        confidence=round(confidence, 2),
        owners=tuple(dict.fromkeys(normalise_code(known.people.get(o, o)) for o in owners)),
        item=action.item,
        due=due,
    )


def _superseding_by_item(outcome: str, actions: list[_Action]) -> list[int]:
    """The action an outcome says replaces the matter, named by the item or minute that raised
    it ("superseded by the new action under item 5", "superseded by action 23/43(a)": the
    first, or the lettered, action of that item); the last mention is the most specific."""
    if not re.search(r"(?i)\b(?:superseded|replaced)\s+by\b", outcome):
        return []
    mentions = re.findall(
        r"(?i)\b(?:item|minute|action)\s+((?:[A-Z]{1,6}\s+)?\d+(?:[/.]\d+)*)(?:\(([a-z])\))?",
        outcome,
    )
    for number, letter in reversed(mentions):
        under = [
            i
            for i, action in enumerate(actions)
            if action.item is not None
            and (action.item == number or action.item.endswith((" " + number, "/" + number)))
        ]
        if letter and len(under) > ord(letter.lower()) - ord("a"):
            return [under[ord(letter.lower()) - ord("a")]]
        if under:
            wanted = _words(outcome)
            return [max(under, key=lambda i: len(wanted & _words(actions[i].text)))]
    return []


def _draft_matter(
    matter: _Matter, index: int, actions: list[_Action], file: str, known: _Known
) -> DraftMatter:
    text = _ACTION_REF.sub("", matter.text.strip())
    outcome = " ".join(matter.outcome).strip()
    status = _STATUS_SPLIT.match(text)
    if status:  # "CC to provide the survey results: completed, circulated on 2 October."
        text = status["text"]
        said = status["outcome"].strip()
        outcome = (said[:1].upper() + said[1:] + " " + outcome).strip()
    if not outcome:
        # "Action 12 – CFO to present the report. Complete.": the outcome on the same line
        first, *rest = _SENTENCE.split(text)
        said = " ".join(rest)
        if rest and (
            _CLOSED.search(said)
            or _OPEN.search(said)
            or re.match(r"(?i)update|ongoing", said)
            or re.search(r"(?i)\bsuperseded\b", said)
        ):
            text, outcome = first, said
    decision: Decision = "keep-open"
    raised = [i for i, action in enumerate(actions) if action.matter == index]
    superseded_by = None
    named = re.search(
        r"\bsuperseded\s+by\s+(?:new\s+)?(?:action\s+)?((?:[A-Z]{1,6}/)?\d+(?:[/.]\d+)*)",
        outcome,
        re.I,
    )
    by_ref = [i for i, a in enumerate(actions) if named and a.ref == named[1]]
    by_item = [] if by_ref else _superseding_by_item(outcome, actions)
    if by_ref:  # "Closed – superseded by action 5"
        decision, superseded_by, confidence = "close-superseded", by_ref[0], 0.9
    elif by_item:  # "superseded by the new action under item 5", "by action 23/43(a)"
        decision, superseded_by, confidence = "close-superseded", by_item[0], 0.8
    elif raised:
        # a new action raised under the matter replaces it
        decision, superseded_by, confidence = "close-superseded", raised[0], 0.8
    elif _OPEN.search(outcome):
        confidence = 0.9
    elif _CLOSED.search(outcome):
        decision, confidence = "close-completed", 0.85
    elif outcome:
        confidence = 0.8
    else:
        confidence = 0.5
    if matter.in_prose:
        confidence = min(confidence, 0.7)  # read out of running text: check it
    return DraftMatter(
        text=text,
        outcome=outcome,
        source=_source(file, matter.row),
        decision=decision,
        confidence=confidence,
        superseded_by=superseded_by,
        owners=tuple(matter.owners or known.subject(text)),
        item=matter.item,
    )
