"""Meeting notes as text: lines with their page and line numbers, from .txt, .docx or .pdf.

Word and PDF are read with python-docx and pypdf (the ``minutes`` extra), imported only when
such a file is read. Every failure is a typed error naming the file.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from ..exceptions import MissingDependencyError, NotFoundError, ValidationError

__all__ = ["NotesLine", "NotesText", "read_notes"]

_EXTRA = "pip install 'action-ledger[minutes]'"
_SUFFIXES = (".txt", ".docx", ".pdf")
_COLUMN_GAP = re.compile(r" {4,}")  # between columns of a PDF page laid out as text


@attrs.frozen
class NotesLine:
    """One line of a meeting's notes as read.

    Attributes:
        text: the line's text; table cells (and columns of plain text) are separated by tabs.
        line: its 1-based number in the text as read.
        page: its page (PDF pages, or form-feed pages of plain text), or ``None``.
    """

    text: str
    line: int
    page: int | None = None


@attrs.frozen
class NotesText:
    """A notes file read into lines.

    Attributes:
        file: the file's name, without directories.
        sha256: the SHA-256 (hex) of the file's bytes.
        lines: its lines, in order.
    """

    file: str
    sha256: str
    lines: tuple[NotesLine, ...]


def read_notes(path: str | Path) -> NotesText:
    """Read a notes file (``.txt`` in UTF-8, ``.docx``, or ``.pdf`` with a text layer).

    Args:
        path: the file to read.

    Returns:
        Its lines with page and line numbers, its name and its SHA-256.

    Raises:
        NotFoundError: the file does not exist.
        ValidationError: the file is empty, not UTF-8 text, binary, damaged, a PDF without a
            text layer, or of a kind other than .txt, .docx and .pdf.
        MissingDependencyError: python-docx or pypdf is needed and not installed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValidationError(
            f"cannot read meeting notes from {path.name!r}: the file kind {suffix or '(none)'!r}"
            f" is not one of {', '.join(_SUFFIXES)}",
            field="file",
            value=str(path),
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"meeting notes {str(path)!r} do not exist") from None
    except IsADirectoryError:
        raise ValidationError(
            f"meeting notes {str(path)!r} is a directory, not a file", field="file", value=str(path)
        ) from None
    except OSError as error:
        raise ValidationError(
            f"cannot read meeting notes {str(path)!r}: {error.strerror or error}",
            field="file",
            value=str(path),
        ) from None
    if not data.strip():
        raise ValidationError(
            f"meeting notes {path.name!r} are empty: nothing to read", field="file", value=str(path)
        )
    if suffix == ".txt":
        pages = _text_pages(data, path.name)
    elif suffix == ".docx":
        pages = [_docx_lines(data, path.name)]
    else:
        pages = _pdf_pages(data, path.name)
    lines = tuple(_numbered(pages, paged=suffix == ".pdf" or len(pages) > 1))
    if not any(line.text.strip() for line in lines):
        raise ValidationError(
            f"meeting notes {path.name!r} hold no text", field="file", value=str(path)
        )
    return NotesText(file=path.name, sha256=hashlib.sha256(data).hexdigest(), lines=lines)


def _numbered(pages: list[list[str]], *, paged: bool) -> Iterator[NotesLine]:
    number = 0
    for page_number, page in enumerate(pages, start=1):
        for text in page:
            number += 1
            yield NotesLine(text=text, line=number, page=page_number if paged else None)


def _text_pages(data: bytes, name: str) -> list[list[str]]:
    if b"\x00" in data:
        offset = data.index(b"\x00")
        raise ValidationError(
            f"meeting notes {name!r} look binary (a NUL byte at offset {offset}): a .txt file "
            "must be UTF-8 text",
            field="file",
            value=name,
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        bad = data[error.start : error.start + 1]
        raise ValidationError(
            f"meeting notes {name!r} are not UTF-8: byte 0x{bad.hex()} at offset {error.start}"
            " cannot be decoded; save the file as UTF-8 text",
            field="file",
            value=name,
        ) from None
    return [page.splitlines() for page in text.split("\f")]


def _import(module: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise MissingDependencyError(
            f"reading this kind of meeting notes needs the {module.split('.')[0]!r} library: "
            f"{_EXTRA}"
        ) from None


def _damaged(name: str, kind: str, error: Exception) -> ValidationError:
    return ValidationError(
        f"meeting notes {name!r} are not a readable {kind} file ({type(error).__name__}: "
        f"{error}); save them again as {kind}, or as UTF-8 text (.txt)",
        field="file",
        value=name,
    )


def _docx_lines(data: bytes, name: str) -> list[str]:
    docx = _import("docx")
    table_class = _import("docx.table").Table
    paragraph_class = _import("docx.text.paragraph").Paragraph
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:  # python-docx raises many kinds for a damaged package
        raise _damaged(name, "Word (.docx)", error) from None
    lines: list[str] = []
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.extend(paragraph_class(element, document).text.splitlines() or [""])
        elif tag == "tbl":
            for row in table_class(element, document).rows:
                lines.extend(_row_lines(row))
    return lines


def _row_lines(row: Any) -> list[str]:
    """A table row as lines: one line, cells joined by tabs, when each cell is one paragraph;
    otherwise the text cells' paragraphs in order, the last cell (the owner column) on the
    last line and the first (the item number) on the first."""
    cells: list[list[str]] = []
    seen: set[int] = set()
    for cell in row.cells:
        if id(cell._tc) in seen:  # a merged cell is repeated once per grid column
            continue
        seen.add(id(cell._tc))
        cells.append([p.text for p in cell.paragraphs if p.text.strip()] or [""])
    if all(len(paragraphs) <= 1 for paragraphs in cells):
        return ["\t".join(paragraphs[0] for paragraphs in cells)]
    first, last = cells[0], cells[-1]
    middle = [text for paragraphs in cells[1:-1] for text in paragraphs] if len(cells) > 2 else []
    if len(cells) == 2:
        return [*first[:-1], first[-1] + "\t" + " ".join(last)]
    out = list(middle) or [""]
    out[0] = "\t".join(first) + "\t" + out[0]
    out[-1] = out[-1] + "\t" + " ".join(last)
    return out


def _pdf_pages(data: bytes, name: str) -> list[list[str]]:
    pypdf = _import("pypdf")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        # layout mode keeps columns apart (the owner column on the right) as runs of spaces
        texts = [page.extract_text(extraction_mode="layout") or "" for page in reader.pages]
    except Exception as error:  # pypdf raises many kinds for a damaged file
        raise _damaged(name, "PDF", error) from None
    if not any(text.strip() for text in texts):
        raise ValidationError(
            f"meeting notes {name!r} are a PDF without a text layer (scanned pages?): run OCR "
            "on it first, or give the notes as .docx or .txt",
            field="file",
            value=name,
        )
    return [[_COLUMN_GAP.sub("\t", line).rstrip() for line in text.splitlines()] for text in texts]
