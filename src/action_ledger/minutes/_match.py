"""Match each matter brought forward to the open action of the register it refers to.

The notes restate an earlier action in their own words ("Two actions arising from the March 21
meeting on SOC…"), so a match is a judgement: the text similarity (rapidfuzz's token-set
ratio when installed, else :mod:`difflib`), nudged up when the owners or the earlier meeting
agree. A weak match lowers the matter's confidence so the draft flags it; no match leaves
``action_id`` as ``None`` (``apply`` then records the matter as a new action before revisiting
it).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence

import attrs

from .._clock import local_date
from .._decider import Action
from .._views import RegisterView
from ._model import LOW_CONFIDENCE, DraftMatter, MinutesDraft

__all__ = ["MATCH_THRESHOLD", "match_matters", "similarity"]

#: A matter is matched to an action only when the score is at least this.
MATCH_THRESHOLD = 0.6
#: The score an owner in common, or the same earlier meeting, adds (each).
_BONUS = 0.05
_WORD = re.compile(r"\w+")


def _normal(text: str) -> str:
    text = re.sub(r"^\s*action\s*:\s*", "", text, flags=re.IGNORECASE)
    return " ".join(_WORD.findall(text.lower()))


def _difflib_score(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _scorer() -> Callable[[str, str], float]:
    try:
        from rapidfuzz import fuzz
    except ImportError:  # the `minutes` extra is not installed: the slower standard library
        return _difflib_score
    return lambda a, b: fuzz.token_set_ratio(a, b) / 100.0


_SCORE = _scorer()


def similarity(a: str, b: str) -> float:
    """How alike two action texts are, from 0 (nothing in common) to 1 (the same words),
    ignoring case, punctuation and an ``ACTION:`` label."""
    return _SCORE(_normal(a), _normal(b))


def _score(matter: DraftMatter, words: str, action: Action, action_words: str) -> float:
    score = _SCORE(words, action_words)
    roles = {o.role.casefold() for o in action.owners}
    if any(o.casefold() in roles for o in matter.owners):
        score += _BONUS
    if matter.raised_at is not None and matter.raised_at == action.meeting:
        score += _BONUS
    return min(score, 1.0)


def _matched(matter: DraftMatter, action: Action, score: float) -> DraftMatter:
    confidence = matter.confidence if score >= LOW_CONFIDENCE else min(matter.confidence, score)
    return attrs.evolve(
        matter,
        action_id=action.id,
        raised_at=action.meeting,
        match_score=round(score, 4),
        confidence=confidence,
    )


def match_matters(draft: MinutesDraft, ledger: RegisterView) -> MinutesDraft:
    """The draft with each matter matched to an open action of ``ledger``.

    Only actions raised on or before the meeting's date are candidates. A matter that names its
    action already (``action_id`` set by the reader or an officer)
    keeps it, and gets that action's meeting as ``raised_at``. The others are matched
    greedily, best score first, each action to at most one matter. A match scoring below
    :data:`~action_ledger.minutes.LOW_CONFIDENCE` lowers the matter's confidence to the score;
    a matter with no match (best score below :data:`MATCH_THRESHOLD`) keeps ``action_id=None``
    and has its confidence lowered, so the draft flags it for review.

    Args:
        draft: the draft read from the notes.
        ledger: the register (or an as-of view of it).

    Returns:
        A new draft; ``draft`` is unchanged.
    """
    held_on = draft.meeting.meeting_id[:10]
    # A matter brought forward to this meeting was raised before it (or at it, by id).
    open_actions: Sequence[Action] = [
        a for a in ledger.register(status="open") if local_date(a.raised_at).isoformat() <= held_on
    ]
    by_id = {a.id: a for a in open_actions}
    matters = list(draft.matters)
    taken = {m.action_id for m in matters if m.action_id is not None}
    candidates: list[tuple[float, int, Action]] = []
    normal = {a.id: _normal(a.text) for a in open_actions}  # once, not once per matter
    for n, matter in enumerate(matters):
        if matter.action_id is not None:
            known = by_id.get(matter.action_id)
            if known is not None and matter.raised_at is None:
                matters[n] = attrs.evolve(matter, raised_at=known.meeting)
            continue
        words = _normal(matter.text)
        for action in open_actions:
            if action.id in taken:
                continue
            score = _score(matter, words, action, normal[action.id])
            if score >= MATCH_THRESHOLD:
                candidates.append((score, n, action))
    done: set[int] = set()
    for score, n, action in sorted(candidates, key=lambda c: (-c[0], c[1], c[2].id)):
        if n in done or action.id in taken:
            continue
        matters[n] = _matched(matters[n], action, score)
        done.add(n)
        taken.add(action.id)
    for n, matter in enumerate(matters):
        if matter.action_id is None:
            matters[n] = attrs.evolve(
                matter, confidence=min(matter.confidence, MATCH_THRESHOLD - 0.1)
            )
    return attrs.evolve(draft, matters=tuple(matters))
