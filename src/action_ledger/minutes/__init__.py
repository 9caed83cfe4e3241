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
    "SourceRef",
    "dump_draft",
    "load_draft",
    "match_matters",
    "preview",
    "read_draft",
    "similarity",
    "write_draft",
]
