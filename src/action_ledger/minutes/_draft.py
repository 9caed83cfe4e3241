"""The draft file: a :class:`MinutesDraft` as TOML a person reads, edits and reviews.

The file is written in one fixed layout (so ``dump_draft(load_draft(text)) == text`` for any
text ``dump_draft`` wrote, and ``load_draft(dump_draft(d)) == d``): a ``format`` line, the
notes' ``file`` and ``sha256``, a ``[meeting]`` table, then one ``[[actions]]`` and one
``[[matters]]`` table per entry. ``None`` values are left out; a proposal below
:data:`LOW_CONFIDENCE` gets a ``# CHECK:`` comment above it. Values are read back through
cattrs, so a bad file is a :class:`~action_ledger.ValidationError` naming the entry
(``actions[3].owners``) and its line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, get_args

import attrs
import cattrs
import tomli_w
from cattrs.cols import homogenous_tuple_structure_factory

from .._values import Attendee, check_meeting_id
from ..exceptions import ValidationError
from ._model import (
    LOW_CONFIDENCE,
    Decision,
    DraftAction,
    DraftMatter,
    DraftMeeting,
    MinutesDraft,
    SourceRef,
)

__all__ = ["FORMAT", "dump_draft", "load_draft", "preview", "read_draft", "write_draft"]

#: The first line of every draft file: what it is, and the layout's version.
FORMAT = "action-ledger minutes draft 1"

_DECISIONS: tuple[str, ...] = get_args(Decision)
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _strict(kind: type[Any], accepted: str) -> Any:
    def structure(value: object, _: object) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise ValueError(f"{value!r} is not {accepted}")
        if kind is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, kind):
            raise ValueError(f"{value!r} is not {accepted}")
        return value

    return structure


def _make_converter() -> cattrs.Converter:
    """Strict for untrusted text: no ``str(1)``, ``bool("no")`` or a string read as a list."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(str, _strict(str, "text"))
    converter.register_structure_hook(int, _strict(int, "a whole number"))
    converter.register_structure_hook(float, _strict(float, "a number"))
    converter.register_structure_hook(bool, _strict(bool, "true or false"))

    def listed(kind: Any) -> Any:
        each = homogenous_tuple_structure_factory(kind, converter)  # names the bad index

        def structure(value: object, _: object) -> tuple[Any, ...]:
            if not isinstance(value, list):
                raise ValueError(f"{value!r} is not a list")
            return tuple(each(value, kind))

        return structure

    def same(kind: Any) -> Callable[[Any], bool]:
        return lambda t: bool(t == kind)

    for kind in (tuple[str, ...], tuple[Attendee, ...]):
        converter.register_structure_hook_func(same(kind), listed(kind))
    return converter


_CONVERTER = _make_converter()


def _value(value: Any) -> str:
    """One TOML value, inline (strings escaped by tomli-w)."""
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {_value(v)}" for k, v in value.items() if v is not None)
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value})[len("v = ") :].rstrip("\n")


def _pairs(data: dict[str, Any], multiline: Iterable[str] = ()) -> list[str]:
    lines = []
    for key, value in data.items():
        if value is None:
            continue
        if key in multiline and value:
            lines.append(f"{key} = [")
            lines.extend(f"    {_value(v)}," for v in value)
            lines.append("]")
        else:
            lines.append(f"{key} = {_value(value)}")
    return lines


def _check_note(confidence: float, what: str) -> list[str]:
    if confidence >= LOW_CONFIDENCE:
        return []
    return [f"# CHECK: {what} (confidence {confidence:.2f}, below {LOW_CONFIDENCE})"]


def _matter_note(matter: DraftMatter) -> str:
    if matter.action_id is None:
        return "no open action in the register matches this matter"
    return f"weak match to {matter.action_id}"


def dump_draft(draft: MinutesDraft) -> str:
    """The draft as TOML text, in the draft file's fixed layout.

    Args:
        draft: the draft to write.

    Returns:
        The text; :func:`load_draft` reads it back as an equal draft.
    """
    data = _CONVERTER.unstructure(draft)
    lines = [
        f"format = {_value(FORMAT)}",
        f"file = {_value(draft.file)}",
        f"sha256 = {_value(draft.sha256)}",
        "",
    ]
    lines += _check_note(draft.meeting.confidence, "the meeting's details")
    lines.append("[meeting]")
    lines += _pairs(data["meeting"], multiline=("attendance", "apologies"))
    for action, raw in zip(draft.actions, data["actions"], strict=True):
        lines.append("")
        lines += _check_note(action.confidence, "this action as read")
        lines.append("[[actions]]")
        lines += _pairs(raw)
    for matter, raw in zip(draft.matters, data["matters"], strict=True):
        lines.append("")
        lines += _check_note(min(matter.confidence, 1.0), _matter_note(matter))
        lines.append("[[matters]]")
        lines += _pairs(raw)
    return "\n".join(lines) + "\n"


# -- reading ---------------------------------------------------------------------------------


def _entry_lines(text: str) -> dict[str, int]:
    """Where each entry and key starts in the file: ``"actions[3].owners"`` -> line (1-based)."""
    where: dict[str, int] = {}
    table = ""
    counts: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines: TOML ends lines at \n
        stripped = line.strip()
        header = re.fullmatch(r"\[\[\s*([A-Za-z_]+)\s*\]\]", stripped)
        if header:
            name = header[1]
            index = counts.get(name, 0)
            counts[name] = index + 1
            table = f"{name}[{index}]"
            where.setdefault(table, number)
            continue
        header = re.fullmatch(r"\[\s*([A-Za-z_]+)\s*\]", stripped)
        if header:
            table = header[1]
            where.setdefault(table, number)
            continue
        key = re.match(r"([A-Za-z_0-9]+)\s*=", stripped)
        if key and not line.startswith((" ", "\t")):
            where.setdefault(f"{table}.{key[1]}" if table else key[1], number)
    return where


def _locate(path: str, where: dict[str, int]) -> int | None:
    """The line of the most specific known prefix of ``path`` (``meeting.attendance[2].role``
    -> the line of ``meeting.attendance``)."""
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    best = None
    name = ""
    for part in parts:
        name = name + part if part.startswith("[") or not name else f"{name}.{part}"
        if name in where:
            best = where[name]
    return best


def _bad(name: str, path: str, message: str, where: dict[str, int]) -> ValidationError:
    line = _locate(path, where)
    at = f" (line {line})" if line is not None else ""
    return ValidationError(
        f"{name}: {path or 'the top level'}{at}: {message}", field=path or None, value=line
    )


_ACCEPTED = {
    "format": f"the text {FORMAT!r}",
    "sha256": "64 lower-case hex digits",
    "confidence": "a number from 0 to 1",
    "match_score": "a number from 0 to 1",
    "decision": ", ".join(_DECISIONS),
    "owners": 'a list of role codes, e.g. ["CC", "PCC"]',
    "line": "a whole number from 1",
    "page": "a whole number from 1",
    "superseded_by": "the index (from 0) of an action of this draft",
}


def _entry_type(path: str) -> type[Any]:
    """The class of the entry at a path of the file (``matters[2].source`` -> SourceRef)."""
    last = path.rpartition(".")[2].partition("[")[0]
    known: dict[str, type[Any]] = {
        "": MinutesDraft,
        "meeting": DraftMeeting,
        "actions": DraftAction,
        "matters": DraftMatter,
        "source": SourceRef,
        "attendance": Attendee,
        "apologies": Attendee,
    }
    return known.get(last, MinutesDraft)


def _cattrs_path(path: str) -> str:
    """cattrs' ``$.actions[3].owners`` as ``actions[3].owners``."""
    return path.removeprefix("$").removeprefix(".")


def _structure(data: dict[str, Any], name: str, where: dict[str, int]) -> MinutesDraft:
    try:
        return _CONVERTER.structure(data, MinutesDraft)
    except cattrs.BaseValidationError as exc:
        problems = []
        for message in cattrs.transform_error(exc):
            what, _, path = message.rpartition(" @ ")
            path = _cattrs_path(path)
            field = path.rpartition(".")[2].partition("[")[0]
            accepted = _ACCEPTED.get(field)
            if what.startswith("extra fields found"):
                names = [a.name for a in attrs.fields(_entry_type(path))]
                accepted = "only " + ", ".join(names if path else ["format", *names])
            elif what.startswith("unknown error"):
                what = "this value is not accepted"
            problems.append((path, what + (f"; give {accepted}" if accepted else "")))
        path, what = problems[0]
        error = _bad(name, path, what, where)
        if len(problems) > 1:
            more = "; ".join(str(_bad(name, p, w, where)) for p, w in problems[1:])
            error = ValidationError(f"{error}; {more}", field=path, value=error.value)
        raise error from None


def _check(draft: MinutesDraft, name: str, where: dict[str, int]) -> None:
    """Values the types alone do not check: ranges, choices, ids, indices."""

    def fail(path: str, got: object, accepted: str) -> ValidationError:
        return _bad(name, path, f"{got!r} is not accepted; give {accepted}", where)

    if not _SHA256.fullmatch(draft.sha256):
        raise fail("sha256", draft.sha256, _ACCEPTED["sha256"])
    try:
        check_meeting_id(draft.meeting.meeting_id)
    except ValidationError as exc:
        raise _bad(name, "meeting.meeting_id", str(exc), where) from None
    entries: list[tuple[str, Any]] = [("meeting", draft.meeting)]
    entries += [(f"actions[{n}]", a) for n, a in enumerate(draft.actions)]
    entries += [(f"matters[{n}]", m) for n, m in enumerate(draft.matters)]
    for path, entry in entries:
        if not 0 <= entry.confidence <= 1:
            raise fail(f"{path}.confidence", entry.confidence, _ACCEPTED["confidence"])
        source: SourceRef = entry.source
        if source.line < 1:
            raise fail(f"{path}.source.line", source.line, _ACCEPTED["line"])
        if source.page is not None and source.page < 1:
            raise fail(f"{path}.source.page", source.page, _ACCEPTED["page"])
    for n, matter in enumerate(draft.matters):
        path = f"matters[{n}]"
        if matter.decision not in _DECISIONS:
            raise fail(f"{path}.decision", matter.decision, _ACCEPTED["decision"])
        if matter.match_score is not None and not 0 <= matter.match_score <= 1:
            raise fail(f"{path}.match_score", matter.match_score, _ACCEPTED["match_score"])
        if matter.decision == "close-superseded":
            if matter.superseded_by is None or not 0 <= matter.superseded_by < len(draft.actions):
                raise fail(
                    f"{path}.superseded_by",
                    matter.superseded_by,
                    f"the index (0 to {len(draft.actions) - 1}) of the action of this draft "
                    "that supersedes it"
                    if draft.actions
                    else "an action of this draft (it has none: add one, or decide "
                    "keep-open or close-completed)",
                )
        elif matter.superseded_by is not None:
            raise fail(
                f"{path}.superseded_by",
                matter.superseded_by,
                'nothing unless decision = "close-superseded"',
            )
        if matter.raised_at is not None:
            try:
                check_meeting_id(matter.raised_at)
            except ValidationError as exc:
                raise _bad(name, f"{path}.raised_at", str(exc), where) from None


def check_draft(draft: MinutesDraft, name: str = "draft") -> MinutesDraft:
    """A draft object built in code, checked as strictly as a draft file's text is: each field
    of the type it is declared with (through the same converter), then :func:`_check`."""
    try:
        data = _CONVERTER.unstructure(draft)
    except Exception as exc:  # a field holding junk cattrs cannot take apart
        raise ValidationError(
            f"{name}: a field holds a value of the wrong type ({exc}); give text, numbers, "
            "lists and Attendee values as the draft's fields declare",
            field="draft",
        ) from None
    if not isinstance(data, dict):
        raise ValidationError(f"{name}: {draft!r:.60} is not a MinutesDraft", field="draft")
    checked = _structure(data, name, {})
    _check(checked, name, {})
    return checked


def load_draft(text: str, *, name: str = "draft") -> MinutesDraft:
    """Read a draft file's text.

    Args:
        text: the TOML text (as :func:`dump_draft` writes it, edited or not).
        name: what to call the file in error messages (its path).

    Returns:
        The draft.

    Raises:
        ValidationError: the text is not TOML, not a draft, or an entry holds a bad value;
            the message names the entry (``actions[3].owners``), its line, and what is
            accepted.
    """
    if not isinstance(text, str):
        raise ValidationError(
            f"{name}: {text!r:.60} is not a draft file's text (str)", field="draft", value=text
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{name}: not a TOML file: {exc}", field="draft") from None
    where = _entry_lines(text)
    found = data.pop("format", None)
    if found != FORMAT:
        raise _bad(name, "format", f"{found!r} is not accepted; give {FORMAT!r}", where)
    draft = _structure(data, name, where)
    _check(draft, name, where)
    return draft


def write_draft(path: str | Path, draft: MinutesDraft) -> None:
    """Write ``draft`` to the file ``path`` (UTF-8), replacing it."""
    Path(path).write_text(dump_draft(draft), encoding="utf-8")


def read_draft(path: str | Path) -> MinutesDraft:
    """Read the draft file ``path``.

    Raises:
        ValidationError: the file cannot be read, or is not a good draft (see
            :func:`load_draft`).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            f"cannot read the draft file {str(path)!r}: {exc}", field="draft", value=str(path)
        ) from None
    return load_draft(text, name=str(path))


# -- the preview -----------------------------------------------------------------------------


def _where(source: SourceRef) -> str:
    page = f" p.{source.page}" if source.page is not None else ""
    return f"{source.file}{page} line {source.line}"


def _flag(confidence: float) -> str:
    return f"  [CHECK: confidence {confidence:.2f}]" if confidence < LOW_CONFIDENCE else ""


def _people(people: tuple[Attendee, ...]) -> list[str]:
    return [
        "    "
        + p.name
        + (f", {p.capacity}" if p.capacity else "")
        + (f" ({p.role})" if p.role else "")
        for p in people
    ] or ["    (none)"]


def preview(draft: MinutesDraft) -> str:
    """A readable summary of a draft for the terminal: the meeting, who attended, the actions
    with their owners and due words, and each matter with its match and decision;
    low-confidence proposals are marked ``[CHECK: …]``."""
    m = draft.meeting
    lines = [
        f"Meeting {m.meeting_id}: {m.title}{_flag(m.confidence)}",
        f"  held {m.held_at} (Europe/London)"
        + (f", {m.kind}" if m.kind else "")
        + (f", at {m.venue}" if m.venue else ""),
    ]
    if m.chair:
        lines.append(f"  chair: {m.chair}")
    if m.minutes_by:
        lines.append(f"  minutes by: {m.minutes_by}")
    lines.append(f"  from {draft.file} (sha256 {draft.sha256[:12]}…)")
    lines.append(f"  attendance ({len(m.attendance)}):")
    lines += _people(m.attendance)
    lines.append(f"  apologies ({len(m.apologies)}):")
    lines += _people(m.apologies)
    lines.append(f"\nActions raised ({len(draft.actions)}):")
    for n, a in enumerate(draft.actions):
        head = f"  [{n}] " + (f"{a.item} " if a.item else "") + a.text
        lines.append(head + _flag(a.confidence))
        lines.append(
            "      owners: "
            + (", ".join(a.owners) or "(none)")
            + (f"; due: {a.due}" if a.due else "")
            + (f"; id: {a.action_id}" if a.action_id else "")
            + f"; {_where(a.source)}"
        )
    lines.append(f"\nMatters brought forward ({len(draft.matters)}):")
    for n, mt in enumerate(draft.matters):
        lines.append(f"  [{n}] {mt.text}{_flag(mt.confidence)}")
        if mt.action_id is not None:
            score = f" (score {mt.match_score:.2f})" if mt.match_score is not None else ""
            match = f"matches {mt.action_id}{score}"
        else:
            match = "no match: recorded as a new action" + (
                f" of {mt.raised_at}" if mt.raised_at else ""
            )
        decision = mt.decision + (
            f" by [{mt.superseded_by}]" if mt.superseded_by is not None else ""
        )
        lines.append(f"      {match}; decision: {decision}; {_where(mt.source)}")
        lines.append(f"      outcome: {mt.outcome}")
    return "\n".join(lines) + "\n"
