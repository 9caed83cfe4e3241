"""Chain keys: which HMAC key seals which part of the log, recorded with the register.

A plain register's chain is SHA-256; a keyed register's is HMAC-SHA-256. A keyed register
records, for each key it has used, a :class:`KeyRecord`: the key's id (derived from the key,
revealing nothing of it), the position from which it seals the log, and a check value (an
HMAC under the key of its id and that position), so that a wrong key is refused before
anything is written, and a rotation cannot be moved along the log without the new key.
Rotating starts a new key at the next position; the events before keep the key that sealed
them, so history is never rewritten.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from .exceptions import IntegrityError, KeyMismatchError, StoreError, ValidationError

__all__ = ["KeyRecord", "KeySchedule", "Keyring", "key_id"]

# A key read from a file or the environment must be at least this long: the check value of a
# short key would let it be guessed offline.
MIN_TEXT_KEY = 16
_ID_LABEL = b"action_ledger key id"


def key_id(key: bytes) -> str:
    """The public id of a key: 16 hex digits of an HMAC under the key of a fixed label.

    It names the key in the register, in backups and in messages without revealing it.

    Raises:
        ValidationError: ``key`` is not non-empty bytes.
    """
    key = _checked_key(key)
    return hmac.new(key, _ID_LABEL, hashlib.sha256).hexdigest()[:16]


def _check(key: bytes, from_position: int) -> str:
    label = f"action_ledger chain key {key_id(key)} from position {from_position}"
    return hmac.new(key, label.encode(), hashlib.sha256).hexdigest()


def _checked_key(key: object) -> bytes:
    if not isinstance(key, bytes) or not key:
        raise ValidationError(
            f"a chain key must be non-empty bytes, not {type(key).__name__} {key!r:.20}",
            field="key",
        )
    return key


def _keys(values: Iterable[bytes] | bytes) -> tuple[bytes, ...]:
    if isinstance(values, str) or not isinstance(values, bytes | Iterable):
        raise ValidationError(
            f"a keyring takes a key (bytes) or a list of keys, not {type(values).__name__} "
            f"{values!r:.20}",
            field="key",
        )
    keys = (values,) if isinstance(values, bytes) else tuple(values)
    if not keys:
        raise ValidationError("a keyring needs at least one key", field="key")
    ids = [key_id(_checked_key(k)) for k in keys]
    if len(set(ids)) != len(ids):
        raise ValidationError("a keyring holds the same key twice", field="key")
    return keys


@attrs.frozen(kw_only=True)
class KeyRecord:
    """One chain key of a register, as the register records it.

    Attributes:
        key_id: the key's id (:func:`key_id`).
        from_position: the first position it seals; it seals every event until the next key's.
        check: HMAC-SHA-256 under the key of its id and ``from_position`` (hex): proves
            a key given is this one, and fixes where the rotation to it happened.
    """

    key_id: str
    from_position: int
    check: str

    @classmethod
    def make(cls, key: bytes, from_position: int) -> KeyRecord:
        """The record of ``key`` sealing the log from ``from_position``."""
        return cls(
            key_id=key_id(key), from_position=from_position, check=_check(key, from_position)
        )

    def matches(self, key: bytes) -> bool:
        """Whether ``key`` is this record's key, at this record's position."""
        return hmac.compare_digest(_check(key, self.from_position), self.check)


@attrs.frozen
class Keyring:
    """The chain keys of a register, oldest first; the last seals new events.

    ``Keyring(b"...")`` is a keyring of one key. Keep old keys after a rotation: verifying
    the events they sealed needs them.

    Attributes:
        keys: the keys, oldest first.
    """

    keys: tuple[bytes, ...] = attrs.field(converter=_keys)

    @property
    def current(self) -> bytes:
        """The newest key: the one that seals new events."""
        return self.keys[-1]

    def find(self, wanted: str) -> bytes | None:
        """The key with id ``wanted``, or ``None``."""
        return next((k for k in self.keys if key_id(k) == wanted), None)

    @classmethod
    def parse(cls, text: str, *, source: str) -> Keyring:
        """The keyring in a key file's text: one key a line, oldest first; blank lines and
        lines starting with ``#`` are ignored. A key is the line's text (UTF-8), at least 16
        characters (``action-ledger new-key`` makes one).

        Raises:
            ValidationError: no key, or a key that is too short or repeated (named by line
                number, never by its text).
        """
        if not isinstance(text, str):
            raise ValidationError(
                f"{source}: a key file's text must be str, not {type(text).__name__}", field="key"
            )
        keys = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if len(line) < MIN_TEXT_KEY or any(c.isspace() for c in line):
                raise ValidationError(
                    f"{source}, line {number}: a key must be one word of at least "
                    f"{MIN_TEXT_KEY} characters; make one with 'action-ledger new-key'",
                    field="key",
                )
            keys.append(line.encode())
        if not keys:
            raise ValidationError(
                f"{source} holds no key: add one with 'action-ledger new-key --to FILE'",
                field="key",
            )
        try:
            return cls(tuple(keys))
        except ValidationError as exc:
            raise ValidationError(f"{source}: {exc}", field="key") from None

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Keyring:
        """The keyring in a key file (see :meth:`parse`).

        Raises:
            ValidationError: the file cannot be read, or holds no usable key.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(
                f"cannot read the key file {os.fspath(path)!r}: {exc}; give a text file with "
                "one key a line",
                field="key",
            ) from None
        return cls.parse(text, source=f"the key file {os.fspath(path)!r}")


def as_keyring(key: bytes | Keyring | None) -> Keyring | None:
    """The keyring a store was given (``key=``): none, one key, or a :class:`Keyring`."""
    if key is None or isinstance(key, Keyring):
        return key
    return Keyring(_checked_key(key))


@attrs.frozen(kw_only=True)
class KeySchedule:
    """Which key seals which positions: a register's :class:`KeyRecord` list with the keys
    that were given for them. Empty for a plain (SHA-256) register.

    Attributes:
        records: the register's keys, in position order (the first from position 1).
        secrets: the keys given, by id (a key not given cannot be used to check its events).
    """

    records: tuple[KeyRecord, ...] = ()
    secrets: tuple[tuple[str, bytes], ...] = ()

    @property
    def keyed(self) -> bool:
        """Whether the register is keyed (HMAC) rather than plain."""
        return bool(self.records)

    @property
    def current(self) -> bytes | None:
        """The key that seals new events (``None``: a plain register)."""
        if not self.records:
            return None
        return self.secret(self.records[-1].key_id)

    def secret(self, wanted: str) -> bytes | None:
        """The key with id ``wanted``, if it was given."""
        return next((k for i, k in self.secrets if i == wanted), None)

    def key_ids(self) -> tuple[str, ...]:
        """The ids of the register's keys, oldest first."""
        return tuple(r.key_id for r in self.records)

    def with_record(self, record: KeyRecord, key: bytes) -> KeySchedule:
        """This schedule with ``key`` sealing from ``record.from_position`` on (replacing a
        key that sealed nothing: one recorded from the same position)."""
        kept = tuple(r for r in self.records if r.from_position < record.from_position)
        return KeySchedule(records=(*kept, record), secrets=(*self.secrets, (record.key_id, key)))

    @classmethod
    def of(cls, key: bytes | None) -> KeySchedule:
        """One key for the whole log (or none: plain)."""
        if key is None:
            return cls()
        return cls(records=(KeyRecord.make(key, 1),), secrets=((key_id(key), key),))


class KeyCursor:
    """The key of each position, for a walk forward through the log (constant time each)."""

    def __init__(self, schedule: KeySchedule) -> None:
        self._schedule = schedule
        self._index = 0

    def key_at(self, position: int) -> tuple[bytes | None, str | None]:
        """The key sealing ``position`` (``None``: plain), or a problem in a sentence."""
        records = self._schedule.records
        if not records:
            return None, None
        while self._index + 1 < len(records) and records[self._index + 1].from_position <= position:
            self._index += 1
        record = records[self._index]
        key = self._schedule.secret(record.key_id)
        if key is None:
            return None, (
                f"the event was sealed with key {record.key_id} (from position "
                f"{record.from_position}), which was not given: give the keyring holding it"
            )
        return key, None


def check_records(records: Sequence[KeyRecord], where: str) -> None:
    """Refuse a damaged list of key records (one that does not start at position 1, or
    whose positions do not increase)."""
    positions = [r.from_position for r in records]
    if records and (positions[0] != 1 or positions != sorted(set(positions))):
        raise IntegrityError(
            f"{where} records its chain keys from positions {positions}: the first must be "
            "from position 1 and each later one further on; the key records were altered"
        )


def open_schedule(
    given: bytes | Keyring | None,
    records: Sequence[KeyRecord],
    *,
    first_hash_plain: bool | None,
    first_sealed_by: Iterable[bytes] = (),
    where: str,
) -> tuple[KeySchedule, tuple[KeyRecord, ...] | None]:
    """Bind the keys given to a register's recorded ones, refusing a mismatch.

    Args:
        given: the ``key=`` the store was opened with.
        records: the key records the register holds.
        first_hash_plain: for a register without records, whether its first event's hash
            is plain SHA-256 (``None``: it has no events).
        first_sealed_by: for such a register, the keys given whose HMAC seals its first event.
        where: the register, for messages.

    Returns:
        The schedule, and the records to store now (``None``: none): a new register opened
        with a key, or one written with a key before the register recorded it.

    Raises:
        KeyMismatchError: no key for a keyed register, a key for a plain one, the wrong key,
            or a keyring whose newest key the register does not know.
        IntegrityError: a key record that was altered.
    """
    keyring = as_keyring(given)
    check_records(records, where)
    adopt: tuple[KeyRecord, ...] | None = None
    if not records:
        if keyring is None:
            return KeySchedule(), None
        if first_hash_plain is None:
            adopt = (KeyRecord.make(keyring.current, 1),)
        else:
            sealer = next(iter(first_sealed_by), None)
            if sealer is not None:  # keyed before the register recorded its keys
                adopt = (KeyRecord.make(sealer, 1),)
            elif first_hash_plain:
                raise KeyMismatchError(
                    f"{where} is a plain register (its hash chain has no key): open it "
                    "without a key (a plain register with events cannot become keyed)"
                )
            else:
                raise KeyMismatchError(
                    f"{where}: the key given (id {key_id(keyring.current)}) does not seal its "
                    "first event: give the key it was written with"
                )
        records = adopt
    current = records[-1]
    if keyring is None:
        raise KeyMismatchError(
            f"{where} is keyed (HMAC, current key id {current.key_id}) but no key was given: "
            "give its key file with --key-file PATH or ACTION_LEDGER_KEY_FILE (in Python: key=)"
        )
    secrets: list[tuple[str, bytes]] = []
    for record in records:
        key = keyring.find(record.key_id)
        if key is None:
            continue
        if not record.matches(key):
            raise IntegrityError(
                f"{where}: the record of chain key {record.key_id} (from position "
                f"{record.from_position}) does not match the key: the key records were altered"
            )
        secrets.append((record.key_id, key))
    if secrets and secrets[-1][0] != current.key_id:
        retired = next(r for r in records if r.key_id == secrets[-1][0])
        raise KeyMismatchError(
            f"the key given (id {retired.key_id}) is a retired key of {where}: since position "
            f"{current.from_position} it is sealed with key {current.key_id}; give the key file "
            "that holds that key (after the older ones)"
        )
    if not secrets:
        ids = ", ".join(key_id(k) for k in keyring.keys)
        raise KeyMismatchError(
            f"{where} is sealed with key {current.key_id}, and the key given (id {ids}) is "
            "not it: give that key"
        )
    known = {r.key_id for r in records}
    newer = [key_id(k) for k in keyring.keys[keyring.keys.index(secrets[-1][1]) + 1 :]]
    if any(i not in known for i in newer):
        raise KeyMismatchError(
            f"the newest key given (id {newer[-1]}) is not in {where}, whose current key is "
            f"{current.key_id}: if it was just added to the key file, run 'action-ledger "
            "rotate-key'; otherwise the register was rolled back to before a rotation"
        )
    return KeySchedule(records=tuple(records), secrets=tuple(secrets)), adopt


def plan_rotation(
    schedule: KeySchedule, stored: Sequence[KeyRecord], last_position: int, new_key: bytes
) -> KeyRecord:
    """The record of a rotation to ``new_key`` at the next position.

    Args:
        schedule: the keys the store was opened with.
        stored: the key records the register holds now (read in the rotation's transaction).
        last_position: the log's last position now.

    Raises:
        KeyMismatchError: the register's keys changed since it was opened, or a plain
            register with events (its history is sealed without a key).
        ValidationError: the new key was used by this register before.
    """
    new_key = _checked_key(new_key)
    if tuple(stored) != schedule.records:
        raise StoreError(
            "the register's chain keys changed since it was opened (another process rotated "
            "them): open it again with the current key file"
        )
    if not schedule.keyed and last_position:
        raise KeyMismatchError(
            f"this register is plain and holds {last_position} events, sealed without a key: "
            "it cannot become keyed without rewriting them; make a new keyed register instead"
        )
    if key_id(new_key) in schedule.key_ids():
        raise ValidationError(
            f"key {key_id(new_key)} has sealed this register before: a rotation needs a new "
            "key (make one with 'action-ledger new-key')",
            field="key",
        )
    # A current key that has sealed nothing yet (an empty register) is replaced.
    return KeyRecord.make(new_key, last_position + 1)


def restore_schedule(
    schedule: KeySchedule, given: bytes | Keyring | None, records: Sequence[KeyRecord], where: str
) -> KeySchedule:
    """The schedule to restore a backup with ``records`` under, into an empty store opened
    with ``given`` (whose own schedule is ``schedule``).

    Raises:
        KeyMismatchError: a keyed backup and no key, a plain backup and a key, or one of
            the backup's keys not given.
        IntegrityError: a record that does not match its key.
    """
    keyring = as_keyring(given)
    if not records:
        if keyring is not None:
            raise KeyMismatchError(
                f"the backup is plain (sealed without a key) but {where} was opened with a key: "
                "open it without a key"
            )
        return KeySchedule()
    if keyring is None:
        raise KeyMismatchError(
            f"the backup is keyed (key ids {', '.join(r.key_id for r in records)}) but {where} "
            "was opened without a key: give its key file"
        )
    restored, _ = open_schedule(keyring, records, first_hash_plain=None, where="the backup")
    missing = [r for r in restored.records if restored.secret(r.key_id) is None]
    if missing:
        raise KeyMismatchError(
            f"the backup's key {missing[0].key_id} (sealing from position "
            f"{missing[0].from_position}) was not given: open {where} with the key file "
            "holding every key of the backup, oldest first"
        )
    return restored
