"""The notes reader: .txt, .docx and .pdf notes into a draft of the meeting, its actions and
matters."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from action_ledger import ActionLedgerError, MissingDependencyError, NotFoundError, ValidationError
from action_ledger.minutes import (
    LOW_CONFIDENCE,
    MinutesDraft,
    NotesLine,
    normalise_code,
    parse_minutes,
    read_minutes,
    read_notes,
)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "benchmarks" / "minutes_gold"  # the three West Mercia notes, beside their gold
GOLD = ROOT / "benchmarks" / "minutes_gold"
FIXTURES = Path(__file__).parent / "fixtures" / "minutes"
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed notes are not here")


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_minutes", ROOT / "benchmarks" / "bench_minutes.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _actions(draft: MinutesDraft) -> list[tuple[str, tuple[str, ...], str | None, str | None]]:
    return [(a.text, a.owners, a.item, a.due) for a in draft.actions]


def _matters(draft: MinutesDraft) -> list[tuple[str, str, str, int | None, str | None]]:
    return [(m.text, m.outcome, m.decision, m.superseded_by, m.item) for m in draft.matters]


def _meeting(draft: MinutesDraft) -> tuple[Any, ...]:
    m = draft.meeting
    return (
        m.meeting_id,
        m.title,
        m.held_at,
        m.venue,
        m.chair,
        m.minutes_by,
        m.attendance,
        m.apologies,
    )


# --- the seeds ---------------------------------------------------------------------------


@needs_seeds
@pytest.mark.parametrize("gold_path", sorted(GOLD.glob("*.toml")), ids=lambda p: p.stem)
def test_seed_meeting_date_time_and_attendance_are_exact(gold_path: Path) -> None:
    """Each seed's meeting date, London time, title, chair and attendance are read as the gold
    draft has them."""
    gold = tomllib.loads(gold_path.read_text(encoding="utf-8"))
    draft = read_minutes(SEEDS / gold["file"])
    fields = _bench()._fields(draft.meeting, gold["meeting"])
    assert {k: v for k, v in fields.items() if k != "venue"} == dict.fromkeys(
        ["date", "time", "title", "chair", "minutes_by", "attendance", "apologies"], True
    )
    assert draft.meeting.meeting_id == gold["meeting"]["meeting_id"]
    assert (
        draft.sha256
        == gold["sha256"]
        == hashlib.sha256((SEEDS / gold["file"]).read_bytes()).hexdigest()
    )


@needs_seeds
def test_seed_actions_reach_the_precision_and_recall_targets() -> None:
    """Over the three seeds, actions raised are read with precision and recall of at least 0.9."""
    bench = _bench()
    counts = [0, 0, 0]
    for gold_path in sorted(GOLD.glob("*.toml")):
        gold = tomllib.loads(gold_path.read_text(encoding="utf-8"))
        n_read, n_gold, _, right = bench.score(read_minutes(SEEDS / gold["file"]), gold)["actions"]
        counts = [counts[0] + n_read, counts[1] + n_gold, counts[2] + right]
    assert counts[2] / counts[0] >= 0.9, counts  # precision
    assert counts[2] / counts[1] >= 0.9, counts  # recall


@needs_seeds
def test_october_2021_matters_and_lookalike_owners() -> None:
    """The October 2021 notes: "13:30 pm" and no year, Cyrillic "СС" owners, a matter superseded by
    the action raised under it."""
    draft = read_minutes(SEEDS / "003_df0ae72fa1b1b368.txt")
    assert draft.meeting.held_at == "2021-10-04T13:30"
    assert draft.meeting.confidence < 1.0  # the year came from the title
    assert draft.actions[0].owners == ("CC",)
    assert draft.actions[-1].owners == ("CC",)
    assert [(m.item, m.decision, m.superseded_by) for m in draft.matters] == [
        ("1.2", "close-superseded", 0),
        ("2.2", "keep-open", None),
    ]
    assert "Any decision would be fed into the governance board." in draft.matters[1].outcome
    assert "Page" not in draft.matters[1].outcome


@needs_seeds
def test_april_2018_numbered_owner_column_splits_one_paragraph_into_three_actions() -> None:
    """A paragraph beside "1.PCC 2.CC 3.CC" is three actions, owned in that order, with their due
    words."""
    draft = read_minutes(SEEDS / "000_2baf813e9778e477.txt")
    assert [(a.owners, a.due) for a in draft.actions[1:]] == [
        (("PCC",), "for the next 12 to 18 months"),
        (("CC",), None),
        (("CC",), "to the July holding to account"),
    ]
    assert all(a.source.line == 89 for a in draft.actions[1:])


# --- synthetic layouts -------------------------------------------------------------------


EXPECTED: dict[str, dict[str, Any]] = {
    "governance_board_refs.txt": {
        "meeting": (
            "2024-09-12",  # no year: 12 September is a Thursday in 2024, the year the notes name
            "Anyshire Governance Board",
            "2024-09-12T10:00",
            "Board Room, Headquarters",  # the unlabelled line after the date line
            "Sarah Jones",  # "(SJ) Chair – Police & Crime Commissioner"
            "Tom Brown, Secretary",  # "(minutes) – Secretary"
            ("PCC", "MG", "LW", None),  # SJ is "the PCC" in the text; the others go by initials
            ("DP",),
        ),
        "actions": [
            (
                "LW to publish the decision record within two weeks.",
                ("LW",),
                "03/12/09/2024",
                "within two weeks",
            ),
            (
                "MG to bring a revised fleet plan to the October board.",
                ("MG",),
                "04/12/09/2024",
                "to the October board",
            ),
        ],
        "matters": [],
    },
    "committee_lettered_matters.txt": {
        "meeting": (
            "2023-11-14",
            "Joint Audit Committee",
            "2023-11-14T14:00",
            None,
            None,
            None,
            ("PCC", "CC", "CFO"),
            ("DCC", "ACC"),
        ),
        "actions": [
            (
                "CFO to circulate the audit plan by 1 December 2023.",
                ("CFO",),
                "2",
                "by 1 December 2023",
            ),
            (
                "The CC and CFO to meet the auditors within two weeks.",
                ("CC", "CFO"),
                "2",
                "within two weeks",
            ),
            ("PCC to write to the Home Office", ("PCC",), "2", None),
        ],
        "matters": [
            ("1", "close-completed", None, ("CFO",)),
            ("1", "keep-open", None, ("CC",)),
        ],
    },
    "action_table_due_column.txt": {
        "meeting": (
            "2024-02-07",
            "Quarterly Performance and Accountability Board",
            "2024-02-07T09:30",
            "Force Headquarters, Room 4",
            "Sarah Jones",
            "Tom Brown",
            ("PCC", "CC", "CFO"),
            ("DCC",),
        ),
        "actions": [
            (
                "Provide a revised capital programme profile by 31 March 2024.",
                ("CFO",),
                "1.2",
                "by 31 March 2024",
            ),
            ("The CC to review overtime spend in the control room", ("CC",), "2.1", "Next meeting"),
            (
                "The CFO to circulate the reserves strategy to the board",
                ("CFO",),
                "2.1",
                "29 February 2024",
            ),
        ],
        "matters": [
            ("1.1", "close-completed", None, ("CC",)),
            ("1.2", "close-superseded", 0, ("CFO",)),
        ],
    },
    "present_matters_arising.txt": {
        "meeting": (
            "2022-08-25",
            "Performance Meeting",
            "2022-08-25T10:00",
            "Conference Room 2, Headquarters",
            "Jane Doe",
            "Sam Clerk, Policy Officer",
            ("PCC", "CC", "DCC"),
            (),
        ),
        "actions": [
            (
                "The CC to publish the agreed neighbourhood policing charter by 30 September 2022",
                ("CC",),
                "1.3",
                "by 30 September 2022",
            ),
            (
                "Provide a breakdown of rural patrol hours for the last quarter",
                ("DCC",),
                "2.1",
                None,
            ),
            (
                "Write to parish councils about the new contact numbers",
                ("PCC",),
                "2.1",
                "31 October 2022",
            ),
        ],
        "matters": [
            ("1.1", "close-completed", None, ("CC",)),
            ("1.2", "keep-open", None, ("DCC",)),
            ("1.3", "close-superseded", 0, ("PCC", "CC")),
        ],
    },
    "word_table_actions_list.txt": {
        "meeting": (
            "2023-03-03",
            "Monthly Holding to Account Meeting – March 2023",  # capitals read in title case
            "2023-03-03T10:00",
            "Willison Room",
            "John Campion",
            "Charity Pearce",
            ("PCC", "CC", "ACC"),
            ("DCC",),
        ),
        "actions": [
            ("The ACC to provide casualty figures for the A49 corridor", ("ACC",), "2", None),
            ("The CC to brief the PCC on the safer roads partnership review", ("CC",), "2", None),
            (
                "The CC to share the VAWG delivery plan with the PCC within two weeks",
                ("CC",),
                "3",
                "within two weeks",
            ),
            (
                "Revisit in 3 months to review progress on the street safety scheme",
                ("PCC", "CC"),
                "3",
                "Revisit in 3 months",
            ),
        ],
        "matters": [],
    },
    "columns_lookalikes.txt": {
        "meeting": (
            "2024-05-14",
            "Holding to Account - Meeting Notes 2024",
            "2024-05-14T14:30",
            "Room 1.38",
            "John Campion",
            "Jackie Irvin, Senior Policy Manager",
            ("PCC", "CC"),
            ("DPCC",),
        ),
        "actions": [
            (
                "The CC to set out the rural crime team's results for the last twelve months, "
                "including farm thefts, at the July holding to account.",
                ("CC",),
                "2.1",
                "at the July holding to account",
            ),
            ("DCC to confirm the date of the next custody inspection.", ("DCC",), "2.2", None),
        ],
        "matters": [("1.1", "keep-open", None, ())],
    },
    # issue 14, round 3: layouts read by rule, written after the test set was scored
    "scrutiny_agreed_leads.txt": {  # collapsed PDF columns, "AGREED:", "(Lead: X; due)"
        "meeting": (
            "2024-04-03",
            "Force Scrutiny Meeting",
            "2024-04-03T13:30",
            "Conference Room B, Harwick Fire and Police HQ, Station Lane, Harwick",
            "Olivia Grant",
            "Aaron Price, Scrutiny Officer, OPFCC",
            ("PFCC", "CC", "ACC", "Ch Insp"),
            ("CFO",),
        ),
        "actions": [
            (
                "The ACC will review investigator caseloads in Eastgate and report the findings "
                "to the PFCC.",
                ("ACC",),
                "2",
                "by the end of May",
            ),
            (
                "Publish the ward surgery timetable on the force website.",
                ("Ch Insp",),
                "3",
                "June meeting",
            ),
        ],
        "matters": [("1", "close-completed", None, ("CC",)), ("1", "keep-open", None, ("ACC",))],
    },
    "panel_rank_first_tracker.txt": {  # ranks before names, coded refs, a wrapped tracker
        "meeting": (
            "2024-03-12",
            "Southvale Police and Crime Panel – Accountability Session",
            "2024-03-12T10:30",
            "Meeting Room 4, Southvale County Hall, Bridge Street, Southvale",
            "Robert Hale",
            "Kevin Dunn, Panel Support Officer",
            ("PCP", "PCC", "CC", "Det Ch Supt", None),
            ("ACC",),
        ),
        "actions": [
            (
                "Provide knife crime figures for under-18s by district",
                ("Det Ch Supt",),
                "2",
                "May Panel",
            ),
            (
                "Publish a revised commissioning plan covering serious violence prevention",
                ("PCC",),
                "2",
                "30/06/2024",
            ),
        ],
        "matters": [
            ("1", "close-completed", None, ("CC",)),
            ("1", "close-superseded", 1, ("PCC",)),
        ],
    },
    "paragraph_present_lead_column.txt": {  # a semicolon paragraph, a Lead column, prose matter
        "meeting": (
            "2024-02-06",
            "Public Assurance Meeting",
            "2024-02-06T14:00",
            "Main Hall, Ashdown Community Centre, Mill Road, Ashdown",
            "Carol Main",
            "Nina Ross, Engagement Officer, OPCC",
            ("PCC", "CC", "DCC", "CEx"),
            ("CFO",),
        ),
        "actions": [
            (
                "Publish the A21 average speed camera timetable on the force website.",
                ("CC",),
                "1",
                None,
            ),
            (
                "Ravi Kapoor to arrange a meeting with community leaders to discuss reporting "
                "routes by the end of March.",
                ("CEx",),
                "2",
                "by the end of March",
            ),
        ],
        "matters": [(None, "close-completed", None, ("DCC",))],
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_synthetic_layouts_read_as_expected(name: str) -> None:
    """Other plausible layouts (Present:, Matters Arising, ACTIONS: lists, owners in brackets,
    Owner:, 10am, 2.30pm) read into the expected draft."""
    draft = read_minutes(FIXTURES / name)
    expected = EXPECTED[name]
    m = draft.meeting
    got = (m.meeting_id, m.title, m.held_at, m.venue, m.chair, m.minutes_by)
    assert got == expected["meeting"][:6]
    assert tuple(a.role for a in m.attendance) == expected["meeting"][6]
    assert tuple(a.role for a in m.apologies) == expected["meeting"][7]
    assert _actions(draft) == expected["actions"]
    assert [(x.item, x.decision, x.superseded_by, x.owners) for x in draft.matters] == expected[
        "matters"
    ]


def test_year_from_the_title_and_lookalike_roles_in_attendance() -> None:
    """A date without a year takes the title's year (with lower confidence); Cyrillic and Greek
    letters in role codes read as Latin."""
    draft = read_minutes(FIXTURES / "columns_lookalikes.txt")
    assert draft.meeting.confidence < 1.0
    assert [p.role for p in draft.meeting.attendance + draft.meeting.apologies] == [
        "PCC",
        "CC",
        "DPCC",
    ]
    assert draft.meeting.apologies[0].capacity == "Deputy Police and Crime Commissioner"


def test_guessed_owners_lower_the_confidence_and_are_flagged() -> None:
    """Owners not in a column or field come from the text with less confidence; mentioned or
    missing owners are flagged."""
    lines = [
        "Meeting 2023",
        "Date: 1 March 2023 10:00",
        "1. Item one",
        "ACTION: Review the estates strategy.",
        "",
        "ACTION: A report on estates costs for the PCC and CC.",
        "",
        "ACTION: The DCC to review custody.",
        "",
        "ACTION: Review the fleet.\tACC",
    ]
    draft = parse_minutes(lines, file="n.txt", sha256="0" * 64)
    confidences = [a.confidence for a in draft.actions]
    assert [a.owners for a in draft.actions] == [(), ("PCC", "CC"), ("DCC",), ("ACC",)]
    # no owner, and owners merely mentioned, are both flagged; a subject is a fair guess
    assert (
        confidences[0] < confidences[1] < LOW_CONFIDENCE <= confidences[2] < confidences[3] == 1.0
    )


def test_meeting_id_given_or_from_the_date() -> None:
    """The meeting id defaults to the date; a given id is kept."""
    lines = ["Assurance meeting", "Date: Thursday 25 August 2022, 10:00"]
    assert parse_minutes(lines, file="n.txt", sha256="0").meeting.meeting_id == "2022-08-25"
    given_id = parse_minutes(lines, file="n.txt", sha256="0", meeting_id="2022-08-25-mam")
    assert given_id.meeting.meeting_id == "2022-08-25-mam"


@pytest.mark.parametrize(
    ("when", "held_at"),
    [
        ("Date: Thursday 25 August 2022, 10:00", "2022-08-25T10:00"),
        ("Date: 25/08/2022 at 10am", "2022-08-25T10:00"),
        ("Date: 25 Aug 2022 10.00", "2022-08-25T10:00"),
        ("Date: Monday 4th October 2021, 13:30 pm", "2021-10-04T13:30"),
        ("Date: 21 st October 2021; 1:30 pm – 3 pm", "2021-10-21T13:30"),
        ("Date: 2022-08-25 12 am", "2022-08-25T00:00"),
        ("Date: 25 August 2022", "2022-08-25"),
    ],
)
def test_dates_and_times_as_minuted(when: str, held_at: str) -> None:
    """Dates and times in their minuted forms read to London ISO text (a date alone without a
    time)."""
    draft = parse_minutes(["Meeting", when], file="n.txt", sha256="0")
    assert draft.meeting.held_at == held_at


@pytest.mark.parametrize(
    "when", ["Date: 31 February 2022", "Date: to be confirmed", "Date: 4 October"]
)
def test_impossible_or_missing_dates_are_validation_errors(when: str) -> None:
    """An impossible date, no date, or a date without a year (and none in the title) is a
    ValidationError."""
    with pytest.raises(ValidationError, match="date"):
        parse_minutes(["Notes", when, "1. Item"], file="n.txt", sha256="0")


# --- Word and PDF ------------------------------------------------------------------------


def _docx_from_text(text: str, path: Path) -> None:
    """Header lines as paragraphs; the body (from the first numbered item) as a two-column
    table, text and owner, as OPCC notes are typed in Word."""
    document = docx.Document()
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^(?:No\.\t|1\.\t)", line))
    for line in lines[:start]:
        document.add_paragraph(line)
    table = document.add_table(rows=0, cols=2)
    for line in lines[start:]:
        cells = [c.strip() for c in line.split("\t") if c.strip()]
        owner = ""
        if len(cells) > 1 and re.fullmatch(r"[СCPDAT/h SuptΡ&.\d]{2,12}", cells[-1]):
            owner = cells.pop()
        row = table.add_row().cells
        row[0].text = "\t".join(cells)
        row[1].text = owner
    document.save(str(path))


@needs_seeds
def test_docx_notes_read_like_the_text_notes(tmp_path: Path) -> None:
    """The October 2021 notes typed in Word (owners in a table's right-hand column) read into the
    same draft as the text."""
    source = SEEDS / "003_df0ae72fa1b1b368.txt"
    path = tmp_path / "notes.docx"
    _docx_from_text(source.read_text(encoding="utf-8"), path)
    from_docx, from_text = read_minutes(path), read_minutes(source)
    assert _meeting(from_docx) == _meeting(from_text)
    assert _actions(from_docx) == _actions(from_text)
    assert _matters(from_docx) == _matters(from_text)
    assert from_docx.file == "notes.docx"
    assert from_docx.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def _pdf(pages: list[list[str]]) -> bytes:
    """A small PDF: Helvetica text placed with Tm and shown with Tj, a line per text line, its
    tab-separated cells set apart as columns (the last, a short owner code, far right)."""
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    for number, lines in enumerate(pages):
        body = ["BT /F1 10 Tf"]
        for row, line in enumerate(lines):
            x, y = 40.0, 800 - 12 * row
            cells = line.split("\t")
            for index, cell in enumerate(cells):
                if cell:
                    raw = cell.encode("cp1252")
                    text = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
                    body.append(f"1 0 0 1 {x:.0f} {y} Tm (" + text.decode("latin-1") + ") Tj")
                gap = 60 if index == len(cells) - 2 and len(cells[-1]) <= 12 else 30
                x += 5.6 * len(cell) + gap
        body.append("ET")
        stream = "\n".join(body).encode("latin-1")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * number)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for index, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % index + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_pdf_notes_read_like_the_text_notes_with_pages(tmp_path: Path) -> None:
    """Notes printed to a three-page PDF (with "Page N of 3" furniture) read into the same draft,
    each source naming its page."""
    source = FIXTURES / "present_matters_arising.txt"
    lines = source.read_text(encoding="utf-8").splitlines()
    pages = [lines[:14], lines[14:22], lines[22:]]
    path = tmp_path / "notes.pdf"
    path.write_bytes(_pdf([[*page, f"Page {n} of 3"] for n, page in enumerate(pages, start=1)]))
    from_pdf, from_text = read_minutes(path), read_minutes(source)
    assert _meeting(from_pdf) == _meeting(from_text)
    assert _actions(from_pdf) == _actions(from_text)
    assert _matters(from_pdf) == _matters(from_text)
    assert [a.source.page for a in from_pdf.actions] == [2, 3, 3]
    assert from_pdf.meeting.source.page == 1


@needs_seeds
def test_seed_pdf_reads_like_the_text_with_columns_and_pages(tmp_path: Path) -> None:
    """The October 2021 notes as a five-page PDF (columns placed apart, "Page N of 5" at each
    foot) read into the same draft as the text: owners from the right-hand column, pages on
    every source."""
    source = SEEDS / "003_df0ae72fa1b1b368.txt"
    # Helvetica cannot show Cyrillic, so the PDF has the Latin "CC" the text disguises
    text = source.read_text(encoding="utf-8").replace("СС", "CC")
    lines = [line for line in text.splitlines() if not line.startswith("Page 2 or 5")]
    size = -(-len(lines) // 5)
    pages = [
        [*lines[i : i + size], f"Page {i // size + 1} of 5"] for i in range(0, len(lines), size)
    ]
    path = tmp_path / "notes.pdf"
    path.write_bytes(_pdf(pages))
    from_pdf, from_text = read_minutes(path), read_minutes(source)
    assert _meeting(from_pdf) == _meeting(from_text)
    assert _actions(from_pdf) == _actions(from_text)
    assert _matters(from_pdf) == _matters(from_text)
    assert [a.source.page for a in from_pdf.actions] == [2, 3, 3, 5]


def test_pdf_without_a_text_layer_is_a_clear_error(tmp_path: Path) -> None:
    """A PDF whose pages hold no text (a scan) is a ValidationError asking for OCR."""
    path = tmp_path / "scan.pdf"
    path.write_bytes(_pdf([[], []]))
    with pytest.raises(ValidationError, match="text layer"):
        read_minutes(path)


@pytest.mark.parametrize(("suffix", "module"), [(".pdf", "pypdf"), (".docx", "docx")])
def test_missing_library_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, module: str
) -> None:
    """Without python-docx or pypdf, reading such notes says which extra to install."""
    path = tmp_path / f"notes{suffix}"
    path.write_bytes(b"something")
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(
        MissingDependencyError, match=re.escape("pip install 'action-ledger[minutes]'")
    ):
        read_minutes(path)


# --- bad files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b" \n\n\t\n", "empty"),
        ("binary.txt", b"Meeting\x00\x01\x02", "NUL byte at offset 7"),
        (
            "latin1.txt",
            "Meeting notes\nDate: 1 March 2023 caf\u00e9".encode("latin-1"),
            "byte 0xe9 at offset 36",
        ),
        ("notes.rtf", b"{\\rtf1 notes}", "'.rtf' is not one of .txt, .docx, .pdf"),
        ("damaged.docx", b"PK\x03\x04 not really a zip", "not a readable Word"),
        ("damaged.pdf", b"%PDF-1.4 garbage", "not a readable PDF|text layer"),
        ("nodate.txt", b"Some notes\nwith no date at all\n", "no meeting date"),
    ],
)
def test_bad_files_are_validation_errors(
    tmp_path: Path, name: str, data: bytes, match: str
) -> None:
    """Empty, binary, non-UTF-8, unsupported, damaged and dateless notes are ValidationErrors
    naming the file or value."""
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ValidationError, match=match):
        read_minutes(path)


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    """Notes that do not exist are a NotFoundError naming the path."""
    with pytest.raises(NotFoundError, match=r"nowhere\.txt"):
        read_minutes(tmp_path / "nowhere.txt")


def test_read_notes_numbers_lines_and_form_feed_pages(tmp_path: Path) -> None:
    """Plain text with form feeds has pages; lines are numbered through the whole text."""
    path = tmp_path / "n.txt"
    path.write_bytes(b"a\nb\fc\n")
    notes = read_notes(path)
    assert notes.lines == (NotesLine("a", 1, 1), NotesLine("b", 2, 1), NotesLine("c", 3, 2))


# --- laws --------------------------------------------------------------------------------

_SYNTHETIC = sorted(FIXTURES.glob("*.txt"))


def _outcome(draft: MinutesDraft) -> tuple[Any, ...]:
    return (_meeting(draft), _actions(draft), _matters(draft))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(_SYNTHETIC),
    positions=st.lists(st.integers(min_value=0, max_value=60), max_size=6),
    total=st.integers(min_value=1, max_value=9),
    word=st.sampled_from(["of", "or"]),
)
def test_page_furniture_anywhere_changes_nothing(
    path: Path, positions: list[int], total: int, word: str
) -> None:
    """Lines "Page n of m" (or "Page n or m") inserted anywhere leave the draft as it was."""
    lines = path.read_text(encoding="utf-8").splitlines()
    noisy = list(lines)
    for n, position in enumerate(sorted(positions, reverse=True), start=1):
        noisy.insert(min(position, len(noisy)), f"Page {n} {word} {total}")
    assert _outcome(parse_minutes(noisy, file="n", sha256="0")) == _outcome(
        parse_minutes(lines, file="n", sha256="0")
    )


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(_SYNTHETIC), data=st.data())
def test_wrapping_an_action_line_changes_nothing(path: Path, data: st.DataObject) -> None:
    """An action line broken at a space inside a sentence (as a narrow column wraps it), not
    leaving role codes alone on the second line, is read as the same action."""
    lines = path.read_text(encoding="utf-8").splitlines()
    label = re.compile(r"\b(?:ACTION|Action)(?: \([^)]*\))?:")
    candidates = [i for i, line in enumerate(lines) if label.search(line)]
    if not candidates:
        return  # actions only in a tracker, a lead column or "AGREED:": no labelled line
    index = data.draw(st.sampled_from(candidates))
    # the owner column stays beside the first part, as a narrow text column wraps under it
    cells = lines[index].split("\t")
    owner = cells.pop() if len(cells) > 1 and normalise_code(cells[-1]) in _CODES else ""
    lead = "\t".join(cells[:-1])
    text = cells[-1]
    spaces = [
        m.start()
        for m in re.finditer(r" ", text)
        if m.start() > text.index(":")  # after the label
        and text[m.start() - 1] not in ".!?:"
        and not re.match(r"[\d\-•*]", text[m.start() + 1 :])
    ]
    if not spaces:
        return
    cut = data.draw(st.sampled_from(spaces))
    if normalise_code(text[cut + 1 :]) in _CODES:
        return  # role codes alone on a line are an owner column, not a wrapped line
    first = (lead + "\t" if cells[:-1] else "") + text[:cut] + ("\t" + owner if owner else "")
    wrapped = [*lines[:index], first, text[cut + 1 :], *lines[index + 1 :]]
    assert _actions(parse_minutes(wrapped, file="n", sha256="0")) == _actions(
        parse_minutes(lines, file="n", sha256="0")
    )


_CODES = {"CC", "DCC", "PCC", "ACC", "PCC / CC"}
_LATIN_TO_LOOKALIKE = {
    "C": "СϹ",
    "P": "РΡ",
    "A": "АΑ",
    "E": "ЕΕ",
    "T": "ТΤ",
    "x": "х",
    "S": "Ѕ",
    "o": "о",
}


@given(
    code=st.sampled_from(["CC", "PCC", "DPCC", "DCC", "ACC", "CEx", "T/Ch Supt", "DBS"]),
    data=st.data(),
)
def test_lookalike_letters_normalise_to_latin(code: str, data: st.DataObject) -> None:
    """Any Cyrillic or Greek look-alike letters in a role code normalise to the Latin code."""
    disguised = "".join(
        data.draw(st.sampled_from(ch + _LATIN_TO_LOOKALIKE.get(ch, ""))) for ch in code
    )
    assert normalise_code(disguised) == code


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=80), max_size=30))
def test_any_text_gives_a_draft_or_a_typed_error(lines: list[str]) -> None:
    """Whatever the lines, the reader returns a draft or raises an ActionLedgerError, never
    anything else."""
    with contextlib.suppress(ActionLedgerError):
        parse_minutes(lines, file="n.txt", sha256="0")


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".txt", ".docx", ".pdf"]))
def test_any_bytes_give_a_draft_or_a_typed_error(tmp_path: Path, data: bytes, suffix: str) -> None:
    """Whatever a file holds, reading it returns a draft or raises an ActionLedgerError."""
    path = tmp_path / f"notes{suffix}"
    path.write_bytes(data)
    with contextlib.suppress(ActionLedgerError):
        read_minutes(path)


def test_docx_cells_with_several_paragraphs_keep_document_order(tmp_path: Path) -> None:
    """A Word table row whose text cell holds several paragraphs reads as lines in order, the
    item number on the first and the owner column on the last; paragraphs around the table
    stay where they are."""
    document = docx.Document()
    document.add_paragraph("Assurance Meeting May 2022")
    document.add_paragraph("Date: 9 May 2022, 10:00")
    table = document.add_table(rows=1, cols=3)
    number, body, owner = table.rows[0].cells
    number.text = "2.1"
    body.text = "Demand"
    body.add_paragraph("The PCC asked about demand.")
    body.add_paragraph("ACTION: The CC to report on 101 demand.")
    owner.text = "CC"
    document.add_paragraph("Next meeting: June")
    path = tmp_path / "notes.docx"
    document.save(str(path))
    texts = [line.text for line in read_notes(path).lines]
    assert texts == [
        "Assurance Meeting May 2022",
        "Date: 9 May 2022, 10:00",
        "2.1\tDemand",
        "The PCC asked about demand.",
        "ACTION: The CC to report on 101 demand.\tCC",
        "Next meeting: June",
    ]
    draft = read_minutes(path)
    assert _actions(draft) == [("The CC to report on 101 demand.", ("CC",), "2.1", None)]
    assert draft.actions[0].confidence == 1.0
    assert draft.actions[0].source.line == 5


def test_year_from_the_weekday_when_the_title_has_none() -> None:
    """Without a year in the date or the title, the year the notes mention on which the named
    weekday falls is taken, flagged as a guess."""
    lines = [
        "Assurance notes",
        "Date: Friday 26 October @ 10:00",
        "1. Item",
        "The review will report in 2019; the plan was agreed in 2018.",
    ]
    meeting = parse_minutes(lines, file="n.txt", sha256="0").meeting
    assert meeting.held_at == "2018-10-26T10:00"  # a Friday in 2018, not in 2019
    assert meeting.confidence < LOW_CONFIDENCE


def test_a_title_holding_the_date() -> None:
    """A title line that holds the date ("Monthly Assurance Meeting – 4 October 2021") is the
    title and gives the date."""
    lines = ["Monthly Assurance Meeting – 4 October 2021", "Chair: John Campion"]
    meeting = parse_minutes(lines, file="n.txt", sha256="0").meeting
    assert (meeting.title, meeting.held_at) == (
        "Monthly Assurance Meeting – 4 October 2021",
        "2021-10-04",
    )


def test_owner_column_run_into_a_line_of_text() -> None:
    """Codes run into the start of a later line of text ("PCC / CC function is needed…", the
    owner column merged by the extraction) are the owners of the action without any."""
    lines = [
        "Assurance meeting 2018",
        "Date: 26 October 2018",
        "2.1\tDemand",
        "ACTION: A meeting to be arranged for the PCC, CC and ACC to discuss Specials.",
        "",
        "The PCC asked about duties. The central duties",
        "",
        "PCC / CC function is needed, but there is a disconnect.",
    ]
    action = parse_minutes(lines, file="n.txt", sha256="0").actions[0]
    assert action.owners == ("PCC", "CC")
    assert LOW_CONFIDENCE <= action.confidence < 1.0


def test_owner_line_right_under_an_action_is_not_part_of_its_text() -> None:
    """A line holding only role codes right under an action (no full stop, no blank line) is
    its owner, not a wrapped line of its text."""
    lines = [
        "Meeting 2023",
        "Date: 1 March 2023",
        "1. Item",
        "ACTION: Review the custody estate",
        "DCC",
    ]
    action = parse_minutes(lines, file="n.txt", sha256="0").actions[0]
    assert (action.text, action.owners) == ("Review the custody estate", ("DCC",))


def test_item_number_alone_on_its_line() -> None:
    """An item number alone on its line ("4.", then "MATTERS ARISING" below) heads the item
    named on the next line, and that line is not read again as text."""
    lines = [
        "Police and Crime Panel",
        "Date: Thursday, 16th November, 2017 10.30 am",
        "4.",
        "",
        "MATTERS ARISING FROM THE MINUTES",
        "4.1",
        "Minute 6 - Annual Report",
        "The work is progressing. The matter can be closed.",
        "5.",
        "POLICE AND CRIME PLAN",
        "ACTION: The CEx to circulate the revised plan.",
    ]
    draft = parse_minutes(lines, file="n.txt", sha256="0")
    assert draft.meeting.held_at == "2017-11-16T10:30"
    assert [(m.item, m.text, m.outcome, m.decision) for m in draft.matters] == [
        (
            "4.1",
            "Minute 6 - Annual Report",
            "The work is progressing. The matter can be closed.",
            "close-completed",
        )
    ]
    assert _actions(draft) == [("The CEx to circulate the revised plan.", ("CEx",), "5", None)]


# --- issue 14: the format, not three files ----------------------------------------------------


def _draft(lines: list[str]) -> MinutesDraft:
    return parse_minutes(lines, file="n.txt", sha256="0")


_PEOPLE_HEAD = [
    "Anyshire Policing Board",
    "Date: Tuesday 5 March 2024, 10:00",
    "Present:",
    "Ann Lee, Police and Crime Commissioner (PCC)",
    "Bob Khan, Chief Constable (CC)",
    "Cara Wood, Deputy Chief Constable (DCC)",
    "Dan Ross, Head of Estates (Head of Estates)",
    "Eve Hart, Chief Executive (CEx)",
    "",
]


def test_an_action_log_table_at_the_end_gives_the_actions_in_its_words() -> None:
    """A pipe-separated log ("No | Minute | Action | Owner | Due") is the record of actions:
    its minute column is the item, "CEx / DCC" two owners, its due cell the due; the body's
    "(Action 1)" paragraph is not read a second time."""
    lines = [
        *_PEOPLE_HEAD,
        "1. Custody",
        "1.1 The CC agreed to review the custody staffing rota for the summer. (Action 1)",
        "2. Finance",
        "2.1 The CEx and the DCC are to agree the audit plan. (Action 2)",
        "",
        "ACTION LOG",
        "No | Minute | Action | Owner | Due",
        "1 | 1.1 | Review the custody staffing rota | CC | June 2024",
        "2 | 2.1 | Agree the audit plan | CEx / DCC | 30/04/2024",
        "",
    ]
    draft = _draft(lines)
    assert _actions(draft) == [
        ("Review the custody staffing rota", ("CC",), "1.1", "June 2024"),
        ("Agree the audit plan", ("CEx", "DCC"), "2.1", "30/04/2024"),
    ]
    assert [a.source.line for a in draft.actions] == [17, 18]
    assert all(a.confidence == 1.0 for a in draft.actions)


def test_a_markdown_log_with_a_person_as_owner() -> None:
    """A log with outer pipes, a "|---|" rule, "Owner(s)" and "Minute ref" headings; a person
    named as owner is given their role, and the body's "ACTION 9:" is the log's action 9."""
    lines = [
        *_PEOPLE_HEAD,
        "2. Fleet",
        "ACTION 9: Bob Khan to share the charging plan with the panel.",
        "3. Finance",
        "3.1 Ann Lee asked for a reserves forecast. (Action 10)",
        "Action Log",
        "| Ref | Minute ref | Action | Owner(s) | Target date |",
        "|-----|-----|-----|-----|-----|",
        "| 9 | 2 | Share the charging plan | CC | September 2024 |",
        "| 10 | 3.1 | Provide a reserves forecast | Eve Hart | July 2024 |",
    ]
    assert _actions(_draft(lines)) == [
        ("Share the charging plan", ("CC",), "2", "September 2024"),
        ("Provide a reserves forecast", ("CEx",), "3.1", "July 2024"),
    ]


def test_a_tab_separated_log_finds_each_item_from_the_minutes_words() -> None:
    """A "Ref Action Owner Deadline" log with no minute column: each action's item is the one
    whose minutes share its words (a guess, so its confidence is lower); a post the attendance
    gives as a role ("Head of Estates") and a Cyrillic code ("СС") are owners."""
    lines = [
        *_PEOPLE_HEAD,
        "Item 1 – Estates",
        "• The PCC asked for the condition survey of the northern stations.",
        "Item 2 – Road safety",
        "• Agreed to publish the speed camera enforcement figures each quarter.",
        "",
        "Actions agreed",
        "Ref\tAction\tOwner\tDeadline",
        "7\tCondition survey of the northern stations\tHead of Estates\tMay meeting",
        "8\tPublish speed camera enforcement figures quarterly\tСС and DCC\tApril 2024",
        "",
    ]
    draft = _draft(lines)
    assert _actions(draft) == [
        ("Condition survey of the northern stations", ("Head of Estates",), "1", "May meeting"),
        (
            "Publish speed camera enforcement figures quarterly",
            ("CC", "DCC"),
            "2",
            "April 2024",
        ),
    ]
    assert all(LOW_CONFIDENCE <= a.confidence < 1.0 for a in draft.actions)


def test_a_log_row_with_an_empty_last_cell_is_still_a_row() -> None:
    lines = [
        *_PEOPLE_HEAD,
        "1. Finance",
        "1.1 The CFO presented the outturn.",
        "Ref\tMinute\tAction\tOwner\tDue",
        "1\t1.1\tPublish the outturn\tCEx\t",
        "2\t1.1\tBrief the panel\tCC\tMay",
    ]
    assert _actions(_draft(lines)) == [
        ("Publish the outturn", ("CEx",), "1.1", None),
        ("Brief the panel", ("CC",), "1.1", "May"),
    ]


def test_a_table_in_an_items_text_without_numbers_is_not_a_log() -> None:
    """An "Action | Owner" table inside an item (no number or minute column) stays that
    item's actions, read in place."""
    lines = [
        *_PEOPLE_HEAD,
        "1. Finance",
        "Action\tOwner\tDue",
        "The CFO to circulate the reserves strategy\tCEx\tNext meeting",
        "2. Any other business",
    ]
    assert _actions(_draft(lines)) == [
        ("The CFO to circulate the reserves strategy", ("CEx",), "1", "Next meeting")
    ]


def test_a_referenced_action_with_an_owner_and_due_line() -> None:
    """ "ACTION 2024/07: …" wrapped over lines, then "Owner: X    Due: Y": one action, its
    owner and due from that line, the label and reference dropped from its text."""
    lines = [
        *_PEOPLE_HEAD,
        "3. Public contact",
        "ACTION 2024/07: Bob Khan to share the winter plan for the contact centre, including",
        "the web chat channel.",
        "Owner: CC    Due: 16 May 2024",
        "",
        "ACTION 2024/08: Head of Estates to cost the lift repairs.",
        "Owner: Head of Estates / CEx",
    ]
    assert _actions(_draft(lines)) == [
        (
            "Bob Khan to share the winter plan for the contact centre, including the web chat "
            "channel.",
            ("CC",),
            "3",
            "16 May 2024",
        ),
        ("Head of Estates to cost the lift repairs.", ("Head of Estates", "CEx"), "3", None),
    ]


def test_people_named_as_owners_take_their_roles_from_the_attendance() -> None:
    """ "Ann Lee and Dan Ross to …": the owners are the roles the attendance gives them."""
    lines = [*_PEOPLE_HEAD, "4. Budget", "ACTION: Ann Lee and Dan Ross to agree the estates plan."]
    assert _draft(lines).actions[0].owners == ("PCC", "Head of Estates")


def test_an_owner_in_square_brackets_ends_a_wrapped_action() -> None:
    """ "… on the website. [Head of Estates]": a post (or posts) the attendance lists, in
    brackets at the end, is the owner and leaves the text; other brackets stay text."""
    lines = [
        *_PEOPLE_HEAD,
        "1. Estates",
        "ACTION: The CEx and the estates team to publish the survey of",
        "the stations on the website. [Head of Estates]",
        "ACTION: Review the lift contract [CEx / Head of Estates]",
        "ACTION: Review the boiler contract (subject to funding)",
    ]
    assert [(a.text, a.owners) for a in _draft(lines).actions] == [
        ("The CEx and the estates team to publish the survey of the stations on the website.",
         ("Head of Estates",)),
        ("Review the lift contract", ("CEx", "Head of Estates")),
        ("Review the boiler contract (subject to funding)", ()),
    ]  # fmt: skip


def test_numbered_actions_in_one_paragraph_are_split() -> None:
    """ "Actions arising: 1: … 2: …" beside a "1.CEx 2.CC" owner cell: two actions, each
    with its numbered owner; without an owner cell each takes the owner its words name."""
    owned = [
        *_PEOPLE_HEAD,
        "2.1\tBudget",
        "\tActions arising: 1: Options for the gap to be presented. 2: The CC to confirm "
        "officer numbers.\t1.CEx 2.CC",
    ]
    assert [(a.text, a.owners) for a in _draft(owned).actions] == [
        ("Options for the gap to be presented.", ("CEx",)),
        ("The CC to confirm officer numbers.", ("CC",)),
    ]
    plain = [
        *_PEOPLE_HEAD,
        "2.1 Budget",
        "Actions arising: 1: The CEx to present options. 2: The DCC to confirm numbers.",
    ]
    assert [(a.text, a.owners) for a in _draft(plain).actions] == [
        ("The CEx to present options.", ("CEx",)),
        ("The DCC to confirm numbers.", ("DCC",)),
    ]


def test_matters_arising_by_action_number_with_outcomes() -> None:
    """Earlier actions under "Matters arising" by number, wrapped, each with its outcome:
    complete, ongoing (carried forward), superseded by a numbered action raised later."""
    lines = [
        *_PEOPLE_HEAD,
        "1  Matters arising",
        "Action 1 – CC to set out the custody estate plan for the",
        "northern stations.",
        "Outcome: Complete. The plan was circulated.",
        "",
        "Action 2 – DCC to report on detentions under section 136 in",
        "custody.",
        "Outcome: Ongoing – carried forward to April.",
        "",
        "Action 3 – CEx to model the precept options.",
        "Outcome: Closed – superseded by action 9.",
        "",
        "2  Budget",
        "Action 9 – Ann Lee to prepare a savings plan for the May board.",
    ]
    draft = _draft(lines)
    assert _matters(draft) == [
        (
            "CC to set out the custody estate plan for the northern stations.",
            "Complete. The plan was circulated.",
            "close-completed",
            None,
            "1",
        ),
        (
            "DCC to report on detentions under section 136 in custody.",
            "Ongoing – carried forward to April.",
            "keep-open",
            None,
            "1",
        ),
        (
            "CEx to model the precept options.",
            "Closed – superseded by action 9.",
            "close-superseded",
            0,
            "1",
        ),
    ]
    assert _actions(draft) == [
        ("Ann Lee to prepare a savings plan for the May board.", ("PCC",), "2", None)
    ]


@pytest.mark.parametrize(
    ("line", "text", "outcome", "decision"),
    [
        (
            "ACTION 2023/14 – CC to provide the survey results: completed, circulated in May.",
            "CC to provide the survey results",
            "Completed, circulated in May.",
            "close-completed",
        ),
        (
            "• Action 1 (DCC – hotspot patrol evaluation): complete, report received.",
            "hotspot patrol evaluation",
            "complete, report received.",
            "close-completed",
        ),
        (
            "• Action 2 (CEx – reserves strategy): ongoing – carried forward.",
            "reserves strategy",
            "ongoing – carried forward.",
            "keep-open",
        ),
    ],
)
def test_a_matter_line_with_its_outcome_after_a_colon(
    line: str, text: str, outcome: str, decision: str
) -> None:
    """A numbered earlier action with its outcome on the same line, after a colon."""
    lines = [*_PEOPLE_HEAD, "1. Previous actions", line, "2. Finance", "Nothing to report."]
    matter = _draft(lines).matters[0]
    assert (matter.text, matter.outcome, matter.decision) == (text, outcome, decision)


def test_a_bracketed_owner_beside_a_matter_number_is_its_owner() -> None:
    lines = [*_PEOPLE_HEAD, "1. Matters arising", "• Action 1 (DCC – patrol review): complete."]
    assert _draft(lines).matters[0].owners == ("DCC",)


def test_a_numbered_paragraph_bringing_an_action_forward() -> None:
    """ "2.2 Action 3 (ACC – topic): outcome" under "Minutes and matters arising": the topic is
    the matter, the bracketed code its owner; "In progress" keeps it open."""
    lines = [
        *_PEOPLE_HEAD,
        "2. Minutes and matters arising",
        "2.1 The minutes of the meeting held on 13 March 2024 were approved.",
        "2.2 Action 3 (CC – hate crime reporting): The data was provided. Action closed.",
        "2.3 Action 4 (CEx – victims' survey): In progress; to return in May.",
        "3. Finance",
    ]
    assert [(m.text, m.owners, m.decision, m.item) for m in _draft(lines).matters] == [
        ("hate crime reporting", ("CC",), "close-completed", "2.2"),
        ("victims' survey", ("CEx",), "keep-open", "2.3"),
    ]


def test_matters_under_actions_from_the_last_meeting() -> None:
    lines = [
        *_PEOPLE_HEAD,
        "1. Actions from the last meeting",
        "Action 7 – CEx to report on the insurance renewal: complete.",
        "Action 8 – CC to review the telematics data. Ongoing.",
        "2. Fleet",
    ]
    assert [(m.text, m.decision) for m in _draft(lines).matters] == [
        ("CEx to report on the insurance renewal", "close-completed"),
        ("CC to review the telematics data.", "keep-open"),
    ]


def test_matters_told_in_running_prose() -> None:
    """ "The action tracker was reviewed: action 22/47 (…) was reported as complete …": a
    matter for each numbered action in the text, with a lower confidence."""
    lines = [
        *_PEOPLE_HEAD,
        "ABC 24/11   Notes of the previous meeting and action tracker",
        "The notes were approved. The tracker was reviewed: action 24/02 (review of the",
        "patrol model) was reported as complete. Action 24/05 (CC to report on licensing)",
        "remains open.",
        "ABC 24/12   Finance",
        "ACTION: CEx to circulate the budget.",
    ]
    draft = _draft(lines)
    assert [(m.text, m.decision, m.item) for m in draft.matters] == [
        ("review of the patrol model", "close-completed", "ABC 24/11"),
        ("CC to report on licensing", "keep-open", "ABC 24/11"),
    ]
    assert all(m.confidence < 1.0 for m in draft.matters)
    assert _actions(draft) == [("CEx to circulate the budget.", ("CEx",), "ABC 24/12", None)]


def test_the_approval_of_the_previous_minutes_is_not_a_matter() -> None:
    lines = [
        *_PEOPLE_HEAD,
        "2. Minutes of the previous meeting and action log",
        "2.1 The minutes of the meeting held on 10/02/2024 were agreed as a true record.",
        "• Notes of 10/02/2024 agreed.",
        "3. Finance",
    ]
    assert _draft(lines).matters == ()


@pytest.mark.parametrize(
    ("head", "chair", "minutes_by"),
    [
        (  # "Name – Capacity (CODE), Chair" under a bare heading, "(minutes)"
            [
                "Attendees",
                "Ann Lee – Police and Crime Commissioner (PCC), Chair",
                "Bob Khan – Chief Constable (CC)",
                "Gil Fox – Governance Officer, OPCC (minutes)",
            ],
            "Ann Lee",
            "Gil Fox, Governance Officer, OPCC",
        ),
        (  # "Name, Capacity (CODE) – Chair" under "Present:" and "Also present:", "(notes)"
            [
                "Board members present:",
                "Ann Lee, Police and Crime Commissioner (PCC) – Chair",
                "Bob Khan, Chief Constable (CC)",
                "Also present:",
                "Gil Fox, Governance Officer, OPCC (notes)",
            ],
            "Ann Lee",
            "Gil Fox, Governance Officer, OPCC",
        ),
        (  # a "Name | Role" table with a header row and "(minute taker)"
            [
                "Attendees:",
                "Name | Role",
                "Ann Lee | Police and Crime Commissioner (PCC) – Chair",
                "Bob Khan | Chief Constable (CC)",
                "Gil Fox | Governance Officer, OPCC (minute taker)",
            ],
            "Ann Lee",
            "Gil Fox, Governance Officer, OPCC",
        ),
        (  # space-aligned columns, "(CODE) (Chair)"
            [
                "Present",
                "Ann Lee          Police and Crime Commissioner (PCC) (Chair)",
                "Bob Khan         Chief Constable (CC)",
                "Gil Fox          Governance Officer, OPCC (minutes)",
            ],
            "Ann Lee",
            "Gil Fox, Governance Officer, OPCC",
        ),
        (  # the minute taker under their own label, not in the attendance
            [
                "Present:",
                "Ann Lee, Police and Crime Commissioner (PCC) (Chair)",
                "Bob Khan, Chief Constable (CC)",
                "Gil Fox, Governance Officer, OPCC",
                "Clerk: Gil Fox, OPCC",
            ],
            "Ann Lee",
            "Gil Fox, OPCC",
        ),
    ],
)
def test_attendance_layouts_read_the_same_people(
    head: list[str], chair: str, minutes_by: str
) -> None:
    """The same three people, however the clerk lays out the list: name, capacity without the
    code or markers, the code as role; the chair and minute taker from their markers."""
    lines = ["Anyshire Policing Board", "Date: Tuesday 5 March 2024, 10:00", *head, "1. Welcome"]
    meeting = _draft(lines).meeting
    assert [(p.name, p.capacity, p.role) for p in meeting.attendance] == [
        ("Ann Lee", "Police and Crime Commissioner", "PCC"),
        ("Bob Khan", "Chief Constable", "CC"),
        ("Gil Fox", "Governance Officer, OPCC", None),
    ]
    assert (meeting.chair, meeting.minutes_by) == (chair, minutes_by)


_NAMES = st.sampled_from(["Ann Lee", "Bob Khan", "Cara Wood-Smith", "Dan O'Neill", "Eve Hart"])
_CAPACITIES = st.sampled_from(
    ["Chief Constable", "Deputy Chief Constable", "Chief Finance Officer, OPCC", "Head of Estates"]
)
_ROLE_CODES = st.sampled_from(["CC", "DCC", "CFO", "T/ACC", "HoE", "Ch Supt"])


@given(
    people=st.lists(st.tuples(_NAMES, _CAPACITIES, _ROLE_CODES), min_size=1, max_size=5),
    layout=st.sampled_from(["{n} – {c} ({r})", "{n}, {c} ({r})", "{n} | {c} ({r})"]),
    label=st.sampled_from(["Present:", "Attendees", "Attendance:", "Board members present:"]),
    chair=st.integers(min_value=0, max_value=4),
    marker=st.sampled_from([", Chair", " – Chair", " (Chair)"]),
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_an_attendance_line_reads_back_as_written(
    people: list[tuple[str, str, str]], layout: str, label: str, chair: int, marker: str
) -> None:
    """Law: whatever the layout and label, each "Name – Capacity (CODE)" line reads back as
    (name, capacity, code), and the one marked as chair is the chair."""
    chair %= len(people)
    lines = ["Anyshire Policing Board", "Date: 5 March 2024", label]
    for index, (name, capacity, code) in enumerate(people):
        line = layout.format(n=name, c=capacity, r=code)
        lines.append(line + (marker if index == chair else ""))
    lines += ["", "1. Welcome"]
    meeting = _draft(lines).meeting
    assert [(p.name, p.capacity, p.role) for p in meeting.attendance] == people
    assert meeting.chair == people[chair][0]


def test_a_wrapped_bracket_in_an_attendance_list_is_joined() -> None:
    """ "Tom Brody (Head / of Corporate Communications)": the bracket runs on to the next
    line; the post in brackets is the role."""
    lines = [
        "Anyshire Policing Board",
        "Date: 22/01/2024",
        "Attendance: Ann Lee (PCC), Bob Khan (CC), Tom Brody (Head",
        "of Corporate Communications)",
        "",
        "Apologies: Eve Hart (CEx)",
        "",
        "Notes: Jade Kemp, OPCC",
        "",
        "Item 1 – Welcome",
    ]
    meeting = _draft(lines).meeting
    assert [(p.name, p.capacity, p.role) for p in meeting.attendance] == [
        ("Ann Lee", None, "PCC"),
        ("Bob Khan", None, "CC"),
        ("Tom Brody", None, "Head of Corporate Communications"),
    ]
    assert [(p.name, p.role) for p in meeting.apologies] == [("Eve Hart", "CEx")]
    assert meeting.minutes_by == "Jade Kemp, OPCC"


def test_a_one_line_apologies_field_ends_at_the_minutes_text() -> None:
    """ "Apologies: X" then a coded minute heading and its text: the text is not people."""
    lines = [
        "Anyshire Policing Board",
        "Date: 8 November 2022",
        "Chaired by: Ann Lee, Police and Crime Commissioner",
        "Apologies: Eve Hart, Chief Executive (CEx)",
        "",
        "ABC 22/51   Declarations of interest",
        "None were declared on 11 October 2022.",
    ]
    meeting = _draft(lines).meeting
    assert [p.name for p in meeting.apologies] == ["Eve Hart"]
    assert meeting.chair == "Ann Lee"
    assert meeting.held_at == "2022-11-08"


def test_a_table_header_row_is_not_an_apology() -> None:
    lines = [
        "Board",
        "Date: 4 December 2023",
        "Apologies: Eve Hart (CEx)",
        "No. Item",
        "1. Welcome",
    ]
    assert [p.name for p in _draft(lines).meeting.apologies] == ["Eve Hart"]


@pytest.mark.parametrize(
    ("head", "held_at", "venue", "sure"),
    [
        (["Date: 22/01/2024      Time: 14:00 – 16:00      Venue: Microsoft Teams"],
         "2024-01-22T14:00", "Microsoft Teams", True),
        (["Wednesday 6th September 2023", "09:30 – 11:45", "Boardroom, Newtown"],
         "2023-09-06T09:30", "Boardroom, Newtown", False),
        (["Date: Thursday 19 October 2023", "Time: 2:00 pm – 4:15 pm", "Venue: Room 4"],
         "2023-10-19T14:00", "Room 4", True),
        (["Held on: 14/06/2023 at 10.30am", "Location: Room A"], "2023-06-14T10:30", "Room A",
         True),
        (["Date: 12 March 2024", "Start: 10:00", "Finish: 12:00"], "2024-03-12T10:00", None, True),
        (["12 March 2024, 10:00-12:00"], "2024-03-12T10:00", None, True),
        (["Date/Time: 12/03/2024 10:00"], "2024-03-12T10:00", None, True),
        (["Date: 12 March 2024", "from 2pm to 4pm"], "2024-03-12T14:00", None, True),
        (["10:00 – 12:00", "Date: 12 March 2024"], "2024-03-12T10:00", None, True),
    ],
)  # fmt: skip
def test_date_time_and_venue_however_laid_out(
    head: list[str], held_at: str, venue: str | None, sure: bool
) -> None:
    """The start of a time range; labels sharing a line; an unlabelled time and place on the
    lines under an unlabelled date (the place a guess: lower confidence)."""
    meeting = _draft(
        ["Policing Board", *head, "", "Present:", "Ann Lee (PCC)", "1. Welcome"]
    ).meeting
    assert (meeting.held_at, meeting.venue) == (held_at, venue)
    assert (meeting.confidence == 1.0) == sure


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("Minutes of the Police and Crime Commissioner's Accountability Meeting",
         "Police and Crime Commissioner's Accountability Meeting"),
        ("HOLDING TO ACCOUNT MEETING – MINUTES", "Holding to Account Meeting"),
        ("Notes of the PCC / Chief Constable Performance Meeting",
         "PCC / Chief Constable Performance Meeting"),
        ("THEMATIC MEETING – ESTATES AND CUSTODY", "Thematic Meeting – Estates and Custody"),
        ("AUDIT PANEL – NOTES OF MEETING", "Audit Panel"),
        ("Assurance Meeting April 2018 – Meeting Notes", "Assurance Meeting April 2018"),
    ],
)  # fmt: skip
def test_the_title_names_the_meeting_only(line: str, title: str) -> None:
    """No "Minutes of the" / "– MINUTES" (they say what the document is); capitals in title
    case."""
    assert _draft([line, "Date: 5 March 2024", "1. Welcome"]).meeting.title == title


def test_a_prefix_used_once_is_not_a_minute_numbering() -> None:
    """ "PCC 2024/25 budget …" on a wrapped line is text: minute references ("ABC 24/11") are a
    numbering the notes repeat."""
    lines = [
        *_PEOPLE_HEAD,
        "1. Budget",
        "The budget was discussed and the",
        "PCC 2024/25 Budget was set.",
        "ACTION: CFO to publish the budget.",
    ]
    assert _actions(_draft(lines)) == [("CFO to publish the budget.", ("CFO",), "1", None)]


def test_a_long_attendance_line_of_names_stays_in_the_list() -> None:
    lines = [
        "Board",
        "Date: 5 March 2024",
        "Present:",
        "Ann Lee (PCC), Bob Khan (CC), Cara Wood (DCC), Dan Ross (ACC), Eve Hart (CFO), Gil Fox",
        "(CEx)",
        "1. Welcome",
    ]
    attendance = _draft(lines).meeting.attendance
    assert [(p.name, p.role) for p in attendance][-1] == ("Gil Fox", "CEx")
    assert len(attendance) == 6


def test_a_colon_in_a_matter_splits_off_only_a_status() -> None:
    """ "…: completed" is an outcome; "report on: open data" is not a status."""
    lines = [*_PEOPLE_HEAD, "2. Matters arising", "2.1 CC to report on: open data progress."]
    matter = _draft(lines).matters[0]
    assert (matter.text, matter.outcome) == ("CC to report on: open data progress.", "")


def test_a_log_without_a_minute_column_takes_the_item_citing_its_number() -> None:
    """ "(Action 4)" in an item's minutes: the log's action 4 was raised under that item (not
    a guess from words, so full confidence)."""
    lines = [
        *_PEOPLE_HEAD,
        "1. Finance",
        "1.1 The CFO presented the outturn. The PCC asked for the overtime breakdown. (Action 4)",
        "2. Estates",
        "2.1 The estates plan was noted.",
        "Action Log",
        "No.\tAction\tOwner\tDue date",
        "4\tBreakdown of overtime for the estates plan\tBob Khan\tSeptember meeting",
    ]
    action = _draft(lines).actions[0]
    assert (action.item, action.owners, action.confidence) == ("1.1", ("CC",), 1.0)


def test_a_table_of_earlier_actions_with_their_status_is_the_matters() -> None:
    """Under "Matters arising", "Ref | Action | Owner | Status" with progress in the status
    column: each row is a matter (its status the outcome), not an action raised; a bare
    "Actions" heading over a numbered list gives the actions raised."""
    lines = [
        *_PEOPLE_HEAD,
        "1. Matters arising",
        "Ref | Action | Owner | Status",
        "12 | DCC to review the licensing backlog | DCC | Complete",
        "13 | CEx to report on capital slippage | CEx | Ongoing – to June board",
        "",
        "2. Road safety",
        "The CC presented the report.",
        "Actions",
        "1. CC to provide speed enforcement data by area.",
        "2. DCC and CEx to cost the road safety campaign.",
    ]
    draft = _draft(lines)
    assert [(m.text, m.outcome, m.decision, m.item, m.owners) for m in draft.matters] == [
        ("DCC to review the licensing backlog", "Complete", "close-completed", "1", ("DCC",)),
        (
            "CEx to report on capital slippage",
            "Ongoing – to June board",
            "keep-open",
            "1",
            ("CEx",),
        ),
    ]
    assert _actions(draft) == [
        ("CC to provide speed enforcement data by area.", ("CC",), "2", None),
        ("DCC and CEx to cost the road safety campaign.", ("DCC", "CEx"), "2", None),
    ]


def test_a_log_whose_status_only_says_open_lists_actions_raised() -> None:
    lines = [
        *_PEOPLE_HEAD,
        "1. Finance",
        "1.1 The CFO presented the outturn.",
        "Ref | Minute | Action | Owner | Status",
        "1 | 1.1 | Publish the outturn | CEx | Open",
    ]
    draft = _draft(lines)
    assert _actions(draft) == [("Publish the outturn", ("CEx",), "1.1", None)]
    assert draft.matters == ()


_FRAGMENTS = st.sampled_from(
    [
        "Action 1 (", "DCC – ", "): complete", "Ref | Action | Owner | Due", "| a | b |",
        "|---|---|", "1 | 2.1 | x | CC | 1/1/2024", "Owner: CC    Due: now", "ACTION 2023/1:",
        "Matters arising", "1.", "2.1", "ABC 1/2 Title", "Present:", "Apologies:", "(minutes)",
        "Name | Role", "\t", " ", "Outcome: Closed – superseded by action 1", "Actions",
        "action 1 (x) was complete.", "Actions arising: 1: a. 2: b.", "1.CFO 2.CC", "(Action 1)",
        "09:30 – 10:00", "Status", "Ongoing", "[CC]", "Chair", "(", ")", ":", "–",
    ]
)  # fmt: skip


@given(st.lists(st.lists(_FRAGMENTS, min_size=1, max_size=4).map("".join), max_size=15))
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_layout_fragments_in_any_order_never_crash_the_reader(body: list[str]) -> None:
    """Law: lines built from the layouts' pieces (log rows, matter labels, owner lines) in any
    order give a draft or a typed error, never another exception."""
    with contextlib.suppress(ActionLedgerError):
        _draft(["Board", "Date: 1 March 2024", *body])


@pytest.mark.parametrize(
    ("line", "venue"),
    [
        ("Venue Meeting Room 1.38 Hindlip", "Meeting Room 1.38, Hindlip"),
        ("Venue: Meeting Room 1.38 – Hindlip", "Meeting Room 1.38, Hindlip"),
        ("Location: Room 4, Force Headquarters", "Room 4, Force Headquarters"),
        ("Venue: Committee Room A, Kingsmead", "Committee Room A, Kingsmead"),
        ("Venue: Room 12 (virtual link available)", "Room 12 (virtual link available)"),
    ],
)
def test_a_venue_reads_as_an_address(line: str, venue: str) -> None:
    """The building after a room number is set off by a comma, as a dash is."""
    assert _draft(["Board", "Date: 5 March 2024", line, "1. Welcome"]).meeting.venue == venue


def test_a_semicolon_list_with_codes_as_capacities() -> None:
    """ "Present: Ann Lee, PCC (Chair); Bob Khan, Chief Constable; …": one person per
    semicolon; a code given as the capacity is the role; an office ("OPCC") stays a capacity."""
    lines = [
        "Executive Board",
        "Date: Monday 3 June 2024, 9.30am",
        "Present: Ann Lee, PCC (Chair); Bob Khan, Chief Constable; Cara Wood, DCC",
        "In attendance: Eve Hart, OPCC (minutes)",
        "1. Welcome",
    ]
    meeting = _draft(lines).meeting
    assert [(p.name, p.capacity, p.role) for p in meeting.attendance] == [
        ("Ann Lee", None, "PCC"),
        ("Bob Khan", "Chief Constable", None),
        ("Cara Wood", None, "DCC"),
        ("Eve Hart", "OPCC", None),
    ]
    assert (meeting.chair, meeting.minutes_by) == ("Ann Lee", "Eve Hart, OPCC")


def test_action_points_and_their_short_forms() -> None:
    """ "Action point 4 – … – complete." under the matters; "AP2 –" as an action label."""
    lines = [
        *_PEOPLE_HEAD,
        "1. Matters arising",
        "1.1 Action point 4 – DCC to review the custody rota – complete.",
        "2. Performance",
        "2.2 AP2 – CEx to confirm the overtime budget by the end of June.",
    ]
    draft = _draft(lines)
    assert [(m.text, m.decision) for m in draft.matters] == [
        ("DCC to review the custody rota", "close-completed")
    ]
    assert _actions(draft) == [
        ("CEx to confirm the overtime budget by the end of June.", ("CEx",), "2.2",
         "by the end of June"),
    ]  # fmt: skip


def test_a_log_cell_wrapped_onto_its_own_row_runs_on_and_coded_refs_are_cited() -> None:
    """A Markdown tracker whose Action cell wraps onto a row with every other cell empty: one
    entry, its owner from the first row; "(action PAP/24/07)" in an item cites it."""
    lines = [
        *_PEOPLE_HEAD,
        "Item 3 – Contact",
        "The DCC agreed to share the results (action PAP/24/07).",
        "Item 4 – Custody",
        "The custody report was noted.",
        "",
        "| Action No | Action | Owner | Due |",
        "|---|---|---|---|",
        "| PAP/24/07 | Share the quarterly retail crime results with the | DCC | Quarterly |",
        "|           | Business Crime Partnership                        |     |           |",
    ]
    draft = _draft(lines)
    assert _actions(draft) == [
        (
            "Share the quarterly retail crime results with the Business Crime Partnership",
            ("DCC",),
            "3",
            "Quarterly",
        )
    ]


def test_a_matter_known_by_a_coded_ref_is_superseded_by_the_action_it_names() -> None:
    """ "PAP/24/05 – CC to …. The Panel agreed this is superseded by PAP/24/09": the ref is
    not text, the sentence after is the outcome, and the action numbered PAP/24/09 replaces it."""
    lines = [
        *_PEOPLE_HEAD,
        "1. Review of the action tracker",
        "  • PAP/24/05 – CC to present the arrest rate by district. The Panel",
        "    agreed this is superseded by PAP/24/09 and closed it.",
        "2. Domestic abuse",
        "The CC presented the report.",
        "| Action No | Action | Owner | Due |",
        "|---|---|---|---|",
        "| PAP/24/09 | Review the response to domestic abuse | CC | December |",
    ]
    matter = _draft(lines).matters[0]
    assert (matter.text, matter.decision, matter.superseded_by) == (
        "CC to present the arrest rate by district.",
        "close-superseded",
        0,
    )


def test_an_agreed_label_with_a_lead_and_due_bracket_is_an_action() -> None:
    """ "AGREED: The force will … (Lead: Bob Khan; April 2024 meeting)": the label and the
    bracket are not text; a person named as lead is their attendance role; the rest is due."""
    lines = [
        *_PEOPLE_HEAD,
        "1. Neighbourhood policing",
        "The PCC asked why PCSOs were leaving.",
        "AGREED: The force will carry out exit interviews with PCSOs who leave and present the",
        "themes to the PCC. (Lead: Bob Khan; April 2024 meeting)",
        "AGREED: The CEx and the DCC will design a bidding round. (Lead: CEx / DCC; to",
        "open in January 2024)",
    ]
    assert _actions(_draft(lines)) == [
        (
            "The force will carry out exit interviews with PCSOs who leave and present the "
            "themes to the PCC.",
            ("CC",),
            "1",
            "April 2024 meeting",
        ),
        (
            "The CEx and the DCC will design a bidding round.",
            ("CEx", "DCC"),
            "1",
            "to open in January 2024",
        ),
    ]


@pytest.mark.parametrize(
    ("line", "person"),
    [
        # columns collapsed to single spaces (a PDF's text): the code is the last word
        ("Amira Haddad Chief Constable CC", ("Amira Haddad", "Chief Constable", "CC")),
        (
            "Gary Holt Superintendent, Head of Contact Management Supt",
            ("Gary Holt", "Superintendent, Head of Contact Management", "Supt"),
        ),
        # space-aligned columns: the third is the code, whatever it says
        (
            "  Karen Mills      Head of Estates and Facilities      Head of Estates",
            ("Karen Mills", "Head of Estates and Facilities", "Head of Estates"),
        ),
        ("  Ben Ashdown      Temporary Assistant Chief Constable      T/ACC", None),
        # an office after a comma is part of the capacity, not a code
        ("Yusuf Ali, Scrutiny Officer, OPFCC", ("Yusuf Ali", "Scrutiny Officer, OPFCC", None)),
    ],
)
def test_an_attendance_line_ending_in_a_code_column(
    line: str, person: tuple[str, str, str | None] | None
) -> None:
    if person is None:
        person = ("Ben Ashdown", "Temporary Assistant Chief Constable", "T/ACC")
    lines = ["Anyshire Policing Board", "Date: Tuesday 5 March 2024, 10:00", "Attendees", line]
    (read,) = _draft(lines).meeting.attendance
    assert (read.name, read.capacity, read.role) == person


def test_a_people_list_stops_at_a_table_header_or_rule_and_notes_taken_by_is_a_label() -> None:
    lines = [
        "Anyshire Policing Board",
        "Date: Tuesday 5 March 2024, 10:00",
        "Notes taken by Sophie Kerr, Office Manager, OPCC",
        "Apologies",
        "Dawn Pickering Chief Executive, OPCC CEx",
        "Item   Discussion      Lead",
        "-----  -------------   ------",
        "1      Welcome",
    ]
    meeting = _draft(lines).meeting
    assert [(p.name, p.capacity, p.role) for p in meeting.apologies] == [
        ("Dawn Pickering", "Chief Executive, OPCC", "CEx")
    ]
    assert meeting.minutes_by == "Sophie Kerr, Office Manager, OPCC"


def test_a_sentence_with_an_entry_in_the_lead_column_is_an_action() -> None:
    """An "Item  Discussion  Lead" agenda pasted as aligned text: no "ACTION:" label, only a
    lead beside the sentence's first line; it wraps; a person named as lead is their role;
    discussion lines with no lead are not actions."""
    lines = [
        *_PEOPLE_HEAD,
        "Item   Discussion                                                  Lead",
        "2      Estates",
        "2.1    Marden police station",
        "       The CC explained that the building needs repairs.",
        "       Dan Ross to bring the revised Marden options appraisal,      Dan Ross",
        "       including co-location, to the PCC by the end of June.",
        "2.2    Fleet",
        "       CC and DCC to agree the vehicle replacement schedule.        CC / DCC",
    ]
    assert _actions(_draft(lines)) == [
        (
            "Dan Ross to bring the revised Marden options appraisal, including co-location, "
            "to the PCC by the end of June.",
            ("Head of Estates",),
            "2.1",
            "by the end of June",
        ),
        ("CC and DCC to agree the vehicle replacement schedule.", ("CC", "DCC"), "2.2", None),
    ]


def test_a_semicolon_paragraph_of_people_wrapped_mid_entry_with_square_codes() -> None:
    """ "Present:" as one paragraph, wrapped anywhere: entries split on semicolons, "[CODE]"
    is the role, "Dr" is dropped, "(chairing)" marks the chair, a closing full stop goes; an
    unlabelled "14/11/2023 – 9.30am to 11.30am" line is the date and time, the line under it
    the venue (without its "(also webcast)" note)."""
    lines = [
        "PUBLIC ACCOUNTABILITY MEETING",
        "14/11/2023 – 9.30am to 11.30am",
        "Council Chamber, Guildhall, Wisbury (also webcast)",
        "",
        "Present: Dr Anita Sharma – Police and Crime Commissioner [PCC] (chairing); Paul Redfern –",
        "Chief Constable [CC]; Imran Sheikh – Assistant",
        "Chief Constable [ACC].",
        "Minute taker: Jodie Marsh, Engagement Officer, OPCC.",
        "",
        "Matters arising from the meeting of 16 May 2023",
        "None.",
    ]
    meeting = _draft(lines).meeting
    assert [(p.name, p.capacity, p.role) for p in meeting.attendance] == [
        ("Anita Sharma", "Police and Crime Commissioner", "PCC"),
        ("Paul Redfern", "Chief Constable", "CC"),
        ("Imran Sheikh", "Assistant Chief Constable", "ACC"),
    ]
    assert (meeting.chair, meeting.minutes_by, meeting.held_at, meeting.venue) == (
        "Anita Sharma",
        "Jodie Marsh, Engagement Officer, OPCC",
        "2023-11-14T09:30",
        "Council Chamber, Guildhall, Wisbury",
    )


def test_people_under_unlabelled_headings_group_labels_and_ranks_before_names() -> None:
    """ "Board members present" / "Officers in attendance" head lists without a colon; "Force:"
    before a person is a group label; "Chief Constable Laura Whitcombe (CC)" gives the rank
    first; "Cllr" is dropped; a dated "Minutes of the meeting held on …" line under the title
    is the date line, the venue under it."""
    lines = [
        "STRATEGIC POLICING AND CRIME BOARD",
        "Minutes of the meeting held on 21/11/2023, commencing 14:00",
        "Committee Room 2, Civic Centre, Aldermoor",
        "",
        "Board members present",
        "Cllr Yasmin Rahman, Deputy Mayor for Policing and Crime (DMPC) – Chair",
        "",
        "Officers in attendance",
        "Chief Constable Laura Whitcombe (CC)",
        "Force:     Owen Pryce, Deputy Chief Constable (DCC)",
        "Bethany Cole, Governance Officer (minutes)",
        "",
        "Apologies",
        "Temporary Assistant Chief Constable Ruth Adeyemi (T/ACC)",
    ]
    meeting = _draft(lines).meeting
    assert [(p.name, p.capacity, p.role) for p in meeting.attendance] == [
        ("Yasmin Rahman", "Deputy Mayor for Policing and Crime", "DMPC"),
        ("Laura Whitcombe", "Chief Constable", "CC"),
        ("Owen Pryce", "Deputy Chief Constable", "DCC"),
        ("Bethany Cole", "Governance Officer", None),
    ]
    assert [(p.name, p.capacity, p.role) for p in meeting.apologies] == [
        ("Ruth Adeyemi", "Temporary Assistant Chief Constable", "T/ACC")
    ]
    assert (meeting.chair, meeting.minutes_by, meeting.venue, meeting.held_at) == (
        "Yasmin Rahman",
        "Bethany Cole, Governance Officer",
        "Committee Room 2, Civic Centre, Aldermoor",
        "2023-11-21T14:00",
    )
    assert meeting.title == "Strategic Policing and Crime Board"


def test_earlier_actions_by_bare_ref_or_ap_with_owner_and_superseded_by_an_items_action() -> None:
    """Under "Actions from the previous Board": "AP3 (CFO) Set out …" (the owner bracketed, no
    separator) and "23/36(a)  DCC to …" (a bare slash reference) are matters; "superseded by the
    new action under item 2" and "superseded by action 3/2(b)" name the action replacing them
    by the item that raised it."""
    lines = [
        *_PEOPLE_HEAD,
        "1. Actions from the previous Board",
        "AP3 (CFO) Set out options for the use of the proceeds of crime fund.",
        "Closed. Superseded by the new proceeds of crime action under item 2.",
        "23/36(a)  DCC to present a recovery plan for 101 call handling.",
        "          Status: Closed – superseded by action 3(b).",
        "23/37(a)  CC to report on knife crime.",
        "          Status: Complete.",
        "2. Finance",
        "ACTION: CC to publish the budget. (CC)",
        "ACTION: CEx to design a proceeds of crime bidding round. (CEx)",
        "3. Contact",
        "Agreed actions:",
        "(a) DCC to publish 999 answer times.",
        "(b) DCC to review the contact model.",
    ]
    draft = _draft(lines)
    assert [(m.text, m.owners, m.decision, m.superseded_by) for m in draft.matters] == [
        (
            "Set out options for the use of the proceeds of crime fund.",
            ("CFO",),
            "close-superseded",
            1,
        ),
        ("DCC to present a recovery plan for 101 call handling.", ("DCC",), "close-superseded", 3),
        ("CC to report on knife crime.", ("CC",), "close-completed", None),
    ]


def test_an_unnumbered_matters_heading_and_an_action_named_inside_a_bracket() -> None:
    """ "Matters arising from the meeting of 16 May 2023" with no number heads the matters
    (and its date is not the meeting's); "(action 12: CC to publish …) had been completed; …"
    is a matter told in prose; the next unnumbered heading ends the matters."""
    lines = [
        *_PEOPLE_HEAD,
        "Matters arising from the meeting of 16 May 2023",
        "The PCC confirmed that the only outstanding action from May (action 12: CC to publish the",
        "data by ward) had been completed; the data was published in August.",
        "",
        "Question 1 (from a resident)",
        "The CC said that action 7 (the survey) was complete.",
    ]
    draft = _draft(lines)
    assert draft.meeting.held_at == "2024-03-05T10:00"
    assert [(m.text, m.outcome, m.decision, m.item) for m in draft.matters] == [
        (
            "CC to publish the data by ward",
            "Completed; the data was published in August.",
            "close-completed",
            None,
        )
    ]


def test_a_listed_person_alone_in_the_last_column_owns_the_sentence_beside_them() -> None:
    """The lead column holds a name the attendance lists (any length, unlike a role code):
    the action is theirs, by their role; "Panel members present" heads a list; a two-word
    code ("Ch Insp") after a collapsed capacity is the role."""
    lines = [
        "Anyshire Panel",
        "Date: Tuesday 5 March 2024, 10:00",
        "Panel members present",
        "Ravi Kapoor Chief Executive, OPCC CEx",
        "Tom Whitby Chief Inspector, Neighbourhood Policing Ch Insp",
        "",
        "Item   Discussion                                                  Lead",
        "1      Hate crime",
        "       Ravi Kapoor to arrange a meeting with community leaders.     Ravi Kapoor",
    ]
    draft = _draft(lines)
    assert [(p.name, p.capacity, p.role) for p in draft.meeting.attendance] == [
        ("Ravi Kapoor", "Chief Executive, OPCC", "CEx"),
        ("Tom Whitby", "Chief Inspector, Neighbourhood Policing", "Ch Insp"),
    ]
    assert _actions(draft) == [
        ("Ravi Kapoor to arrange a meeting with community leaders.", ("CEx",), "1", None)
    ]


def test_agreed_decisions_and_people_beside_codes_are_not_actions() -> None:
    """ "AGREED: that the report be noted" records a decision (no one is to do anything); a
    person and their post beside a code column in the body is not a sentence; an action read
    from its lead column alone is flagged a little below a labelled one."""
    lines = [
        *_PEOPLE_HEAD,
        "1. Finance",
        "AGREED: that the outturn report be noted.",
        "Frank Lowe Police and Crime Commissioner      PCC",
        "Publish the outturn report on the OPCC website.      CEx",
        "ACTION: CC to review overtime. (CC)",
    ]
    draft = _draft(lines)
    assert [(a.text, a.owners, a.confidence) for a in draft.actions] == [
        ("Publish the outturn report on the OPCC website.", ("CEx",), 0.9),
        ("CC to review overtime.", ("CC",), 1.0),
    ]


def test_a_tracker_row_without_a_number_continues_every_cell_of_the_entry_above() -> None:
    """Owner and due cells wrap too ("DCC /" over "Ch Supt", "End of" over "September"): a row
    with an empty number cell runs every cell of the entry above on."""
    lines = [
        *_PEOPLE_HEAD,
        "Item 3 – Contact",
        "The DCC agreed to share the results (action PAP/24/07).",
        "",
        "| Action No | Action                                   | Owner    | Due          |",
        "|-----------|------------------------------------------|----------|--------------|",
        "| PAP/24/07 | Share the quarterly retail crime results | DCC /    | End of       |",
        "|           | with the Business Crime Partnership      | CEx      | September    |",
    ]
    assert _actions(_draft(lines)) == [
        (
            "Share the quarterly retail crime results with the Business Crime Partnership",
            ("DCC", "CEx"),
            "3",
            "End of September",
        )
    ]


@pytest.mark.parametrize(
    ("line", "action"),
    [
        (
            "ACTION: The DCC to review the contact model. – DCC, March 2024",
            ("The DCC to review the contact model.", ("DCC",), "March 2024"),
        ),
        (  # a post written out is the role the attendance gives it
            "ACTION: The CC to attend the ward panel. – Chief Constable, December 2023",
            ("The CC to attend the ward panel.", ("CC",), "December 2023"),
        ),
        (
            "AGREED: The DCC will publish the 101 data. (Owner: DCC, by 30 June 2024)",
            ("The DCC will publish the 101 data.", ("DCC",), "by 30 June 2024"),
        ),
        (
            "AGREED: Review patrols (Lead officer: Bob Khan; due: May meeting).",
            ("Review patrols", ("CC",), "May meeting"),
        ),
        (  # a dash inside the sentence is not an owner: "CC" is not listed as "the force"
            "ACTION: CC to review the model – the force's largest change.",
            ("CC to review the model – the force's largest change.", ("CC",), None),
        ),
    ],
)
def test_owner_and_due_after_a_dash_or_in_a_lead_bracket(
    line: str, action: tuple[str, tuple[str, ...], str | None]
) -> None:
    (read,) = _draft([*_PEOPLE_HEAD, "1. Contact", line]).actions
    assert (read.text, read.owners, read.due) == action


def test_the_chair_line_drops_an_honorific_and_a_bracketed_owner_needs_a_sentence() -> None:
    """ "Chair: Cllr Jo Hale, Panel Chair" is Jo Hale; "AP4 (DCC) Report …" has its owner in
    the bracket, while "Action 3 (CC): complete" keeps its outcome apart from any text."""
    lines = [
        "Anyshire Panel",
        "Date: Tuesday 5 March 2024, 10:00",
        "Chair: Cllr Jo Hale, Panel Chair",
        "1. Matters arising",
        "Action 3 (CC): complete",
        "AP4 (DCC) Report the number of officers trained in first aid.",
        "Ongoing.",
    ]
    draft = _draft(lines)
    assert draft.meeting.chair == "Jo Hale"
    assert [(m.text, m.outcome, m.owners) for m in draft.matters][1] == (
        "Report the number of officers trained in first aid.",
        "Ongoing.",
        ("DCC",),
    )
    assert draft.matters[0].outcome == "complete"


def test_header_values_like_codes_a_name_role_code_header_and_apologies_in_prose() -> None:
    """ "Location:<TAB>MS Teams" keeps its value (two capitals are not an owner column in the
    header); "Name | Role | Code" heads a people table; "Apologies were received from X (CFO)
    and Y (DCC)." lists two people."""
    lines = [
        "Anyshire Assurance Board",
        "Date:\t5 March 2024",
        "Time:\t10:00 – 12:00",
        "Location:\tMS Teams",
        "",
        "Present",
        "Name\tRole\tCode",
        "Ann Lee\tPolice and Crime Commissioner\tPCC",
        "Apologies were received from Sam Hyde (CFO) and Leah Moss (DCC).",
        "",
        "1. Welcome",
    ]
    meeting = _draft(lines).meeting
    assert meeting.venue == "MS Teams"
    assert [(p.name, p.capacity, p.role) for p in meeting.attendance] == [
        ("Ann Lee", "Police and Crime Commissioner", "PCC")
    ]
    assert [(p.name, p.role) for p in meeting.apologies] == [
        ("Sam Hyde", "CFO"),
        ("Leah Moss", "DCC"),
    ]


def test_a_person_in_an_owner_bracket_is_their_role_and_a_capitals_label_ends_a_wrap() -> None:
    lines = [
        *_PEOPLE_HEAD,
        "1) Contact",
        "Action: The CC to brief the Panel on drones [Bob Khan].",
        "Action 7: CFO to circulate the budget  Owner: CC  Due: April",
        "RESOLVED: that the outturn be noted.",
    ]
    assert [(a.text, a.owners, a.due) for a in _draft(lines).actions] == [
        ("The CC to brief the Panel on drones.", ("CC",), None),
        ("CFO to circulate the budget", ("CC",), "April"),
    ]


def test_a_numbered_row_with_an_owner_cell_is_an_action_under_its_own_number() -> None:
    """ "No. | Item | Action Owner" with one row per paragraph: a numbered row whose owner cell
    is filled is an action (its number the item); rows with an empty owner cell are minutes."""
    lines = [
        *_PEOPLE_HEAD,
        "No.\tItem\tAction Owner",
        "1.\tContact\t",
        "1.1\tThe CC presented the report on 101 waiting times.\t",
        "1.2\tPublish the 101 waiting times on the force website.\tCC",
        "2.\tFinance\t",
        "2.1\tThe budget was noted.\t",
    ]
    assert [(a.text, a.owners, a.item, a.confidence) for a in _draft(lines).actions] == [
        ("Publish the 101 waiting times on the force website.", ("CC",), "1.2", 0.9)
    ]


@pytest.mark.parametrize(
    ("header", "held_at"),
    [
        (["Date\t6 March 2024", "Time\t10:00"], "2024-03-06T10:00"),  # label columns, no colon
        (["Meeting held: 06.03.2024 14:00"], "2024-03-06T14:00"),
        (["Wednesday, 6th March 2024 at 2.00 pm"], "2024-03-06T14:00"),
        (["Date: 2024-03-06", "Time: 14.30–16.00"], "2024-03-06T14:30"),
    ],
)
def test_date_and_time_in_other_header_layouts(header: list[str], held_at: str) -> None:
    lines = ["Performance Board", *header, "", "1. Welcome", "The Chair welcomed all."]
    assert _draft(lines).meeting.held_at == held_at


@pytest.mark.parametrize(
    ("people", "read"),
    [
        (["PCC – Ann Lee", "CC – Bob Khan"], [("Ann Lee", None, "PCC"), ("Bob Khan", None, "CC")]),
        (
            ["• Ann Lee, Police and Crime Commissioner (PCC)", "• Bob Khan, Chief Constable (CC)"],
            [
                ("Ann Lee", "Police and Crime Commissioner", "PCC"),
                ("Bob Khan", "Chief Constable", "CC"),
            ],
        ),
        (
            ["Supt Bob Khan – Head of Contact (Supt)"],
            [("Bob Khan", "Head of Contact", "Supt")],
        ),
    ],
)
def test_people_with_the_code_first_bulleted_or_ranked_before_a_dash(
    people: list[str], read: list[tuple[str, str | None, str | None]]
) -> None:
    lines = [
        "Performance Board",
        "Date: 6 March 2024, 10:00",
        "Present:",
        *people,
        "",
        "1. Welcome",
    ]
    assert [(p.name, p.capacity, p.role) for p in _draft(lines).meeting.attendance] == read


def test_a_table_reporting_progress_without_numbers_is_the_matters_and_one_without_is_not() -> None:
    """ "Action | Owner | Update" with "Complete" / "Ongoing – …" reviews earlier actions even
    with no number column; the same table saying only "Open" inside an item is that item's
    actions, read with the body."""
    lines = [
        *_PEOPLE_HEAD,
        "1. Matters arising",
        "Action\tOwner\tUpdate",
        "CC to review the patrol plan\tCC\tComplete",
        "DCC to write to the Minister\tDCC\tOngoing – awaiting reply",
        "2. Finance",
        "Action\tOwner\tStatus",
        "CEx to publish the budget\tCEx\tOpen",
    ]
    draft = _draft(lines)
    assert [(m.text, m.decision, m.owners) for m in draft.matters] == [
        ("CC to review the patrol plan", "close-completed", ("CC",)),
        ("DCC to write to the Minister", "keep-open", ("DCC",)),
    ]
    assert [(a.owners, a.item) for a in draft.actions] == [(("CEx",), "2")]
