"""Import a meeting's notes: read them into a draft a person reviews, then apply it.

``read_minutes(path)`` reads plain text, Word (.docx) or PDF (text layer) notes into a
:class:`MinutesDraft`; nothing is written until the reviewed draft is applied with
``ledger.apply(draft)`` (or ``action-ledger import --format minutes --apply DRAFT``).
"""

from __future__ import annotations

from ._apply import AppliedDraft
from ._draft import FORMAT, dump_draft, load_draft, preview, read_draft, write_draft
from ._match import MATCH_THRESHOLD, match_matters, similarity
from ._model import (
    LOW_CONFIDENCE,
    Decision,
    DraftAction,
    DraftMatter,
    DraftMeeting,
    MinutesDraft,
    SourceRef,
)
from ._parse import normalise_code, parse_minutes, read_minutes
from ._read import NotesLine, NotesText, read_notes

__all__ = [
    "FORMAT",
    "LOW_CONFIDENCE",
    "MATCH_THRESHOLD",
    "AppliedDraft",
    "Decision",
    "DraftAction",
    "DraftMatter",
    "DraftMeeting",
    "MinutesDraft",
    "NotesLine",
    "NotesText",
    "SourceRef",
    "dump_draft",
    "load_draft",
    "match_matters",
    "normalise_code",
    "parse_minutes",
    "preview",
    "read_draft",
    "read_minutes",
    "read_notes",
    "similarity",
    "write_draft",
]
