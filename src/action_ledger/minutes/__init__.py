"""Import a meeting's notes: read them into a draft a person reviews, then apply it.

``read_minutes(path)`` reads plain text, Word (.docx) or PDF (text layer) notes into a
:class:`MinutesDraft`; nothing is written until the reviewed draft is applied with
``ledger.apply(draft)`` (or ``action-ledger import --format minutes --apply DRAFT``).
"""

from __future__ import annotations

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
    "LOW_CONFIDENCE",
    "Decision",
    "DraftAction",
    "DraftMatter",
    "DraftMeeting",
    "MinutesDraft",
    "NotesLine",
    "NotesText",
    "SourceRef",
    "normalise_code",
    "parse_minutes",
    "read_minutes",
    "read_notes",
]
