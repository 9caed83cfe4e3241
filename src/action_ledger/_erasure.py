"""Erasure without breaking the chain: fields sealed under per-subject keys kept outside the log.

A field that may have to be erased (a restricted action's text, a restricted update's note and
changed text, and where the OPCC chooses, personal names) is stored in the event data as a
*sealed* value, ``{"sealed": <subject>, "key": <key id>, "v": 1, "ct": <base64 nonce +
AES-GCM ciphertext>}``,
so the hash chain covers the ciphertext. The key of each subject lives in a
:class:`SubjectKeys` store, a separate SQLite file. Erasing a subject destroys its key: the
chain still verifies, and every sealed value of that subject reads as :data:`ERASED`.

Subjects: ``action:<action id>`` for the restricted text of one action (an action id names no
one), and ``person:<random hex>`` for one person's name (the id is random, so it says nothing
about the person; the key store alone maps the name to it, and forgets the name on erasure).
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs

from .exceptions import IntegrityError, MissingDependencyError, StoreError, ValidationError

__all__ = ["ERASED", "ErasurePolicy", "SubjectKeys"]

ERASED = "[erased]"
"""What an erased field reads as, in every output."""

_NONCE = 12
_F = TypeVar("_F", bound=Callable[..., Any])


def _guarded(method: _F) -> _F:
    """One caller at a time on the connection; a SQLite failure as a typed StoreError."""

    @functools.wraps(method)
    def guarded(self: SubjectKeys, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise StoreError(
                    f"key store {self.path!r} failed in {method.__name__}: {exc}; nothing was "
                    "changed by this call: check the file (permissions, disk space, a lock) "
                    "and try again"
                ) from None

    return guarded  # type: ignore[return-value]


_VERSION = 1


@attrs.frozen(kw_only=True)
class ErasurePolicy:
    """Which fields are sealed under a subject key, so that they can be erased later.

    Attributes:
        restricted: seal, under the action's subject ``action:<id>``, the text of a
            restricted update (its note and changed text), and every text of a restricted
            action: its text, and the notes, outcomes and reasons of its updates, revisits,
            closing, reopenings and corrections.
        names: seal personal names (owners' ``person``; attendees' and apologies' ``name``;
            a meeting's ``chair`` and ``minutes_by``), each under that person's subject.
    """

    restricted: bool = True
    names: bool = False


def _aesgcm(key: bytes) -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import (  # type: ignore[import-not-found,unused-ignore]
            AESGCM,
        )
    except ImportError as exc:  # pragma: no cover - cryptography is the "erasure" extra
        raise MissingDependencyError(
            f"erasure needs cryptography: pip install 'action-ledger[erasure]' ({exc})"
        ) from None
    return AESGCM(key)


class SubjectKeys:
    """Per-subject AES-256 keys in a SQLite file kept apart from the register.

    The file is opened with ``PRAGMA secure_delete = ON`` and vacuumed after every erasure,
    so a destroyed key is overwritten with zeros in the file, not merely unlinked from it.
    Copies made before an erasure (backups of this file, snapshots of the disk) still hold
    the key: they must follow the same retention policy as the erasure itself.

    Args:
        path: the key store's file (created if missing), or ``":memory:"``.
        create: ``False`` refuses a path that does not exist yet (a typo is an error, not an
            empty key store that would read every sealed field as erased).

    Raises:
        StoreError: the file cannot be opened, or is missing and ``create`` is ``False``.
    """

    def __init__(self, path: str | Path = ":memory:", *, create: bool = True) -> None:
        if not isinstance(path, str | os.PathLike) or "\x00" in str(path):
            raise ValidationError(
                f"keys: {path!r:.60} is not a key store's path (or ':memory:')",
                field="keys",
                value=path,
            )
        text = str(path)
        try:
            exists = text == ":memory:" or Path(text).exists()
        except OSError as error:
            raise StoreError(f"key store {text!r:.80}: {error.strerror or error}") from None
        if not create and not exists:
            raise StoreError(
                f"key store {text!r} does not exist: give the path of the register's key "
                "store, or create=True to start a new one"
            )
        try:
            self._db = sqlite3.connect(text, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA secure_delete = ON")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS subject_keys (key_id TEXT PRIMARY KEY, "
                "subject TEXT NOT NULL UNIQUE, key BLOB NOT NULL, label TEXT UNIQUE)"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS erasure_policy ("
                "one INTEGER PRIMARY KEY CHECK (one = 1), restricted INTEGER NOT NULL, "
                "names INTEGER NOT NULL)"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS erasures ("
                "subject TEXT NOT NULL, erased_at TEXT NOT NULL, actor TEXT NOT NULL, "
                "reason TEXT NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise StoreError(f"key store {text!r} cannot be opened: {exc}") from None
        self.path = text
        self._lock = threading.RLock()

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def __enter__(self) -> SubjectKeys:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @_guarded
    def policy(self) -> ErasurePolicy | None:
        """The erasure policy recorded for the register, or ``None`` if none is."""
        row = self._db.execute("SELECT restricted, names FROM erasure_policy").fetchone()
        return None if row is None else ErasurePolicy(restricted=bool(row[0]), names=bool(row[1]))

    @_guarded
    def set_policy(self, policy: ErasurePolicy) -> None:
        """Record ``policy`` for the register: every writer given this key store applies it."""
        self._db.execute(
            "INSERT OR REPLACE INTO erasure_policy (one, restricted, names) VALUES (1, ?, ?)",
            (int(policy.restricted), int(policy.names)),
        )

    # Keys are read from the file each time, never cached: an erasure made by another
    # process takes effect at once.

    @_guarded
    def key(self, subject: str) -> bytes | None:
        """The key of ``subject``, or ``None`` when it was erased (or never made)."""
        row = self._db.execute(
            "SELECT key FROM subject_keys WHERE subject = ?", (subject,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    @_guarded
    def key_by_id(self, key_id: str) -> bytes | None:
        """The key called ``key_id``, or ``None`` when it was destroyed."""
        row = self._db.execute(
            "SELECT key FROM subject_keys WHERE key_id = ?", (key_id,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    @_guarded
    def key_for(self, subject: str) -> tuple[str, bytes]:
        """The key id and key of ``subject``, made (random, 256 bits) if it has none yet.

        A subject erased earlier gets a new key (with a new id): what is sealed after an
        erasure is readable; what was sealed before it stays erased.
        """
        select = "SELECT key_id, key FROM subject_keys WHERE subject = ?"
        row = self._db.execute(select, (subject,)).fetchone()
        if row is None:  # a write (and its sync) only for a new key
            self._db.execute(
                "INSERT OR IGNORE INTO subject_keys (key_id, subject, key) VALUES (?, ?, ?)",
                (secrets.token_hex(8), subject, secrets.token_bytes(32)),
            )
            row = self._db.execute(select, (subject,)).fetchone()
        return str(row[0]), bytes(row[1])

    @_guarded
    def person(self, name: str) -> str:
        """The subject of the person called ``name`` (``person:<random hex>``), made if new."""
        row = self._db.execute(
            "SELECT subject FROM subject_keys WHERE label = ?", (name,)
        ).fetchone()
        if row is not None:
            return str(row[0])
        self._db.execute(  # OR IGNORE: another process may have made it meanwhile
            "INSERT OR IGNORE INTO subject_keys (key_id, subject, key, label) VALUES (?, ?, ?, ?)",
            (secrets.token_hex(8), "person:" + secrets.token_hex(8), secrets.token_bytes(32), name),
        )
        row = self._db.execute(
            "SELECT subject FROM subject_keys WHERE label = ?", (name,)
        ).fetchone()
        return str(row[0])

    @_guarded
    def find_person(self, name: str) -> str | None:
        """The subject of the person called ``name``, or ``None`` if none (or erased)."""
        row = self._db.execute(
            "SELECT subject FROM subject_keys WHERE label = ?", (name,)
        ).fetchone()
        return None if row is None else str(row[0])

    @_guarded
    def subjects(self) -> tuple[str, ...]:
        """The subjects that still have a key, sorted."""
        return tuple(
            r[0] for r in self._db.execute("SELECT subject FROM subject_keys ORDER BY subject")
        )

    @_guarded
    def erase(self, subject: str, *, at: str = "", actor: str = "", reason: str = "") -> bool:
        """Destroy the key of ``subject`` (and the name it was made for): overwritten,
        deleted, and the file vacuumed; the erasure is noted (subject, time, actor, reason:
        no personal data) in the ``erasures`` table. Returns whether there was a key to
        destroy."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self._db.execute("DELETE FROM subject_keys WHERE subject = ?", (subject,))
            destroyed = cursor.rowcount > 0
            self._db.execute(
                "INSERT INTO erasures (subject, erased_at, actor, reason) VALUES (?, ?, ?, ?)",
                (subject, at, actor, reason),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("VACUUM")
        return destroyed

    @_guarded
    def erasures(self) -> tuple[tuple[str, str, str, str], ...]:
        """The erasures made, oldest first: ``(subject, erased_at, actor, reason)``."""
        rows = self._db.execute(
            "SELECT subject, erased_at, actor, reason FROM erasures ORDER BY rowid"
        )
        return tuple((str(a), str(b), str(c), str(d)) for a, b, c, d in rows)


def check_subject(value: object) -> str:
    """A subject id: ``action:<id>`` or ``person:<hex>``."""
    if not isinstance(value, str) or not value.startswith(("action:", "person:")):
        raise ValidationError(
            f"subject {value!r} is not valid: give 'action:<action id>' or 'person:<id>' "
            "(SubjectKeys.find_person gives a person's subject)",
            field="subject",
            value=value,
        )
    return value


def seal_text(keys: SubjectKeys, subject: str, text: str, aad: str) -> dict[str, Any]:
    """``text`` sealed under the key of ``subject``, bound to ``aad`` (event id and field)."""
    nonce = secrets.token_bytes(_NONCE)
    key_id, key = keys.key_for(subject)
    sealed = _aesgcm(key).encrypt(nonce, text.encode(), aad.encode())
    return {
        "sealed": subject,
        "key": key_id,
        "v": _VERSION,
        "ct": base64.b64encode(nonce + sealed).decode(),
    }


def open_text(keys: SubjectKeys | None, value: dict[str, Any], aad: str) -> str:
    """The plain text of a sealed value, or :data:`ERASED` when its key is gone."""
    try:
        subject = value["sealed"]
        key_id = value["key"]
        blob = base64.b64decode(value["ct"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"sealed value {value!r} is malformed: {exc}") from None
    key = None if keys is None else keys.key_by_id(key_id)
    if key is None:
        return ERASED
    try:
        plain: bytes = _aesgcm(key).decrypt(blob[:_NONCE], blob[_NONCE:], aad.encode())
    except Exception as exc:  # cryptography's InvalidTag: altered ciphertext or wrong key
        raise IntegrityError(
            f"sealed value of subject {subject!r} ({aad}) does not open with its key: "
            f"{type(exc).__name__}"
        ) from None
    return plain.decode()


# Where sealable text sits in the JSON data of each event type: (path, kind). A path is a
# list of keys; "*" walks a list. kind "restricted" follows the restricted policy (subject:
# the action), "name" the names policy (subject: the person).
_PATHS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "action.raised": ((("text",), "restricted"), (("owners", "*", "person"), "name")),
    "action.updated": (
        (("note",), "restricted"),
        (("text",), "restricted"),
        (("owners", "*", "person"), "name"),
    ),
    "action.revisited": ((("outcome",), "restricted"),),
    "action.closed": ((("note",), "restricted"),),
    "action.reopened": ((("reason",), "restricted"),),
    "action.corrected": (
        (("corrections", "text"), "restricted"),
        (("corrections", "note"), "restricted"),
        (("corrections", "outcome"), "restricted"),
        (("corrections", "owners", "*", "person"), "name"),
    ),
    "meeting.recorded": (
        (("chair",), "name"),
        (("minutes_by",), "name"),
        (("attendance", "*", "name"), "name"),
        (("apologies", "*", "name"), "name"),
    ),
}
_PATHS["meeting.corrected"] = _PATHS["meeting.recorded"]  # the same names, corrected


def _walk(data: Any, path: tuple[str, ...], where: str, change: Callable[[Any, str], Any]) -> None:
    """Apply ``change(value, where)`` to the values at ``path`` (in place)."""
    if not path or data is None:
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(data, list):
            for i, item in enumerate(data):
                if rest:
                    _walk(item, rest, f"{where}[{i}]", change)
                else:
                    data[i] = change(item, f"{where}[{i}]")
        return
    if not isinstance(data, dict) or head not in data:
        return
    if rest:
        _walk(data[head], rest, f"{where}.{head}", change)
    elif data[head] is not None:
        data[head] = change(data[head], f"{where}.{head}")


def seal_fields(
    event_type: str,
    event_id: str,
    data: dict[str, Any],
    *,
    keys: SubjectKeys,
    policy: ErasurePolicy,
    action_id: str | None,
    restricted: bool,
) -> None:
    """Seal, in place, the fields of ``data`` the policy says may have to be erased.

    Args:
        restricted: whether the text fields of this event are restricted (a restricted
            raise or update, or a correction of a restricted action).
    """
    for path, kind in _PATHS.get(event_type, ()):
        if kind == "restricted" and not (policy.restricted and restricted and action_id):
            continue
        if kind == "name" and not policy.names:
            continue

        def change(value: Any, where: str, kind: str = kind) -> Any:
            if not isinstance(value, str):
                return value
            subject = f"action:{action_id}" if kind == "restricted" else keys.person(value)
            return seal_text(keys, subject, value, event_id + where)

        _walk(data, path, "", change)


def open_fields(
    event_type: str, event_id: str, data: dict[str, Any], keys: SubjectKeys | None
) -> None:
    """Replace, in place, every sealed value of ``data`` by its text (or :data:`ERASED`)."""
    for path, _kind in _PATHS.get(event_type, ()):

        def change(value: Any, where: str) -> Any:
            if isinstance(value, dict) and "sealed" in value:
                return open_text(keys, value, event_id + where)
            return value

        _walk(data, path, "", change)
