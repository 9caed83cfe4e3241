"""Signed published heads: an Ed25519 signature by a named signer over a register's head.

A published head hash proves that the events up to it are unchanged; it does not say who
vouched for it. A :class:`SignedHead` does: it holds the head hash, its position, the
signer's name, the signing time and the fingerprint of the signer's public key, with an
Ed25519 signature over a canonical text of those fields. Publish it beside the action log
(:meth:`SignedHead.dumps`); anyone with the signer's public key can check it
(:func:`verify_signed_head`), and, with a copy of the register, that the register still
holds that head.

A signed head protects what precedes it only: events appended after it are not covered, so a
register that grew since still verifies it. It proves who vouched for a head, not that the
signer's private key was not stolen.

Needs the ``cryptography`` library: ``pip install 'action-ledger[signing]'``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

from ._clock import UTC, system_clock, to_datetime
from ._values import MAX_SHORT, check_text
from .exceptions import MissingDependencyError, SignatureError, ValidationError
from .store import keys_of, verify_chain

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from ._ledger import Ledger

__all__ = [
    "SignatureError",
    "SignedHead",
    "fingerprint",
    "generate_signing_key",
    "load_private_key",
    "load_public_key",
    "sign_head",
    "verify_signed_head",
]

EXTRA = "pip install 'action-ledger[signing]'"
FORMAT = "action_ledger signed head 1"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_FIELDS = ("format", "head", "position", "signer", "signed_at", "key", "signature")


def _require() -> None:
    """Raise :class:`MissingDependencyError` when ``cryptography`` is not installed."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            f"signing heads needs the 'cryptography' library: {EXTRA}"
        ) from None


def _raw_public(key: Ed25519PublicKey) -> bytes:
    _require()
    from cryptography.hazmat.primitives import serialization as ser

    raw: bytes = key.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
    return raw


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """The fingerprint of a public key: SHA-256 of its 32 raw bytes, in hex (64 digits).

    It names the key in a signed head and in messages.
    """
    return hashlib.sha256(_raw_public(public_key)).hexdigest()


def _passphrase(value: bytes | str | None) -> bytes | None:
    if value is None:
        return None
    data = value.encode() if isinstance(value, str) else value
    if not isinstance(data, bytes) or not data:
        raise ValidationError(
            "a passphrase must be non-empty text or bytes", field="passphrase", value=None
        )
    return data


def generate_signing_key(
    private_path: str | os.PathLike[str],
    public_path: str | os.PathLike[str] | None = None,
    *,
    passphrase: bytes | str | None = None,
) -> str:
    """Make a new Ed25519 key pair and write it as PEM files.

    The private key (PKCS #8, encrypted with ``passphrase`` if given) is written readable by
    its owner alone (mode 0600); the public key (SubjectPublicKeyInfo) beside it, to publish.
    Neither file may exist already: a key is never overwritten.

    Args:
        private_path: the private key file.
        public_path: the public key file; ``<private_path>.pub`` by default.
        passphrase: encrypts the private key file.

    Returns:
        The public key's :func:`fingerprint`.

    Raises:
        ValidationError: a file exists already or cannot be written, or an empty passphrase.
        MissingDependencyError: ``cryptography`` is not installed.
    """
    _require()
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519

    secret = _passphrase(passphrase)
    private = Path(private_path)
    public = Path(public_path) if public_path is not None else Path(f"{private}.pub")
    if private == public:
        raise ValidationError(
            f"the private and public key files must differ, not both {str(private)!r}",
            field="public_path",
            value=str(public),
        )
    for path in (private, public):
        if path.exists():
            raise ValidationError(
                f"{str(path)!r} exists already: a key file is never overwritten; choose "
                "another name, or move the old one away first",
                field="path",
                value=str(path),
            )
    key = ed25519.Ed25519PrivateKey.generate()
    encryption = ser.NoEncryption() if secret is None else ser.BestAvailableEncryption(secret)
    private_pem = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, encryption)
    public_pem = key.public_key().public_bytes(
        ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo
    )
    written: list[Path] = []
    try:
        for path, data, mode in ((private, private_pem, 0o600), (public, public_pem, 0o644)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            written.append(path)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
    except OSError as error:
        for path in written:  # all or nothing: no private key without its public half
            path.unlink(missing_ok=True)
        raise ValidationError(
            f"cannot write the key file {error.filename!r}: {error.strerror or error}",
            field="path",
            value=error.filename,
        ) from None
    return fingerprint(key.public_key())


def _read(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except (OSError, ValueError) as error:  # ValueError: a NUL in the path
        raise ValidationError(
            f"cannot read the {what} file {str(path)!r:.80}: "
            f"{getattr(error, 'strerror', None) or error}",
            field="path",
            value=str(path),
        ) from None


def load_private_key(
    path: str | os.PathLike[str], *, passphrase: bytes | str | None = None
) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PEM file (as :func:`generate_signing_key` writes it).

    Raises:
        ValidationError: the file cannot be read, is not an Ed25519 private key, or is
            encrypted and the passphrase is missing or wrong.
        MissingDependencyError: ``cryptography`` is not installed.
    """
    _require()
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519

    data = _read(path, "private key")
    try:
        key = ser.load_pem_private_key(data, password=_passphrase(passphrase))
    except TypeError:  # encrypted without a passphrase, or a passphrase for a plain key
        hint = (
            "it is encrypted: give its passphrase"
            if passphrase is None
            else "it is not encrypted: give no passphrase"
        )
        raise ValidationError(
            f"cannot read the private key {str(path)!r}: {hint}", field="passphrase"
        ) from None
    except ValueError:
        raise ValidationError(
            f"cannot read the private key {str(path)!r}: not a PEM private key, or the "
            "passphrase is wrong; make one with 'action-ledger sign-key new --to FILE'",
            field="key",
            value=str(path),
        ) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValidationError(
            f"{str(path)!r} holds a {type(key).__name__}, not an Ed25519 private key",
            field="key",
            value=str(path),
        )
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """The Ed25519 public key in a PEM file (as :func:`generate_signing_key` writes it).

    Raises:
        ValidationError: the file cannot be read or is not an Ed25519 public key.
        MissingDependencyError: ``cryptography`` is not installed.
    """
    _require()
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519

    data = _read(path, "public key")
    try:
        key = ser.load_pem_public_key(data)
    except ValueError:
        raise ValidationError(
            f"cannot read the public key {str(path)!r}: not a PEM public key",
            field="key",
            value=str(path),
        ) from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ValidationError(
            f"{str(path)!r} holds a {type(key).__name__}, not an Ed25519 public key",
            field="key",
            value=str(path),
        )
    return key


def _signed_time(value: object) -> str:
    moment = value if isinstance(value, pendulum.DateTime) else to_datetime(value, field="at")
    return moment.in_tz(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.frozen(kw_only=True)
class SignedHead:
    """A register head vouched for by a named signer with an Ed25519 key.

    Attributes:
        head: the chain hash of the event at ``position`` (64 hex digits).
        position: the number of events the head covers (the last position).
        signer: who vouched for it, e.g. ``"OPCC for West Mercia"``.
        signed_at: when, in UTC, to the second (``YYYY-MM-DDTHH:MM:SSZ``).
        key: the :func:`fingerprint` of the public key that checks the signature.
        signature: the Ed25519 signature over :meth:`message`, in base64.
    """

    head: str
    position: int
    signer: str
    signed_at: str
    key: str
    signature: str

    def message(self) -> bytes:
        """The canonical text signed: the format name and every field but the signature,
        as JSON with sorted keys and no spaces (UTF-8)."""
        return _message(self.head, self.position, self.signer, self.signed_at, self.key)

    def dumps(self) -> str:
        """The signed head as a small JSON document, to publish beside the action log."""
        fields = {
            "format": FORMAT,
            "head": self.head,
            "position": self.position,
            "signer": self.signer,
            "signed_at": self.signed_at,
            "key": self.key,
            "signature": self.signature,
        }
        return json.dumps(fields, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def loads(cls, text: str) -> SignedHead:
        """Read a signed head written by :meth:`dumps`.

        Raises:
            ValidationError: not such a document: not JSON, a field missing, unknown or of
                the wrong form (the message names it).
        """
        if not isinstance(text, str | bytes):
            raise _bad("signed head", text, "the JSON text that SignedHead.dumps writes")
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ValidationError(
                f"a signed head must be JSON: {error}", field="signed head"
            ) from None
        if not isinstance(data, dict):
            raise ValidationError(
                f"a signed head must be a JSON object, not {type(data).__name__}",
                field="signed head",
            )
        unknown = sorted(set(data) - set(_FIELDS))
        missing = [name for name in _FIELDS if name not in data]
        if unknown or missing:
            raise ValidationError(
                f"a signed head has the fields {', '.join(_FIELDS)}; "
                + "; ".join(
                    part
                    for part in (
                        f"unknown: {', '.join(unknown)}" if unknown else "",
                        f"missing: {', '.join(missing)}" if missing else "",
                    )
                    if part
                ),
                field="signed head",
            )
        if data["format"] != FORMAT:
            raise _bad("format", data["format"], repr(FORMAT))
        return _checked(cls, data)


def _bad(name: str, value: object, accepted: str) -> ValidationError:
    return ValidationError(
        f"signed head field {name!r}: {value!r:.80} is not {accepted}", field=name, value=value
    )


def _checked(cls: type[SignedHead], data: dict[str, Any]) -> SignedHead:
    head, position, signer = data["head"], data["position"], data["signer"]
    signed_at, key, signature = data["signed_at"], data["key"], data["signature"]
    if not isinstance(head, str) or not _HEX64.fullmatch(head):
        raise _bad("head", head, "a chain hash (64 lower-case hex digits)")
    if type(position) is not int or position < 1:
        raise _bad("position", position, "a position (a whole number from 1)")
    try:
        trimmed = check_text("signer", signer, limit=MAX_SHORT) == signer
    except ValidationError:
        trimmed = False
    if not trimmed:
        raise _bad("signer", signer, f"a name (non-empty, trimmed, at most {MAX_SHORT} chars)")
    if not isinstance(signed_at, str) or not _TIME.fullmatch(signed_at):
        raise _bad("signed_at", signed_at, "a UTC time such as 2021-10-04T13:30:00Z")
    try:
        to_datetime(signed_at, field="signed_at", local=False)
    except ValidationError:
        raise _bad("signed_at", signed_at, "a real UTC time") from None
    if not isinstance(key, str) or not _HEX64.fullmatch(key):
        raise _bad("key", key, "a key fingerprint (64 lower-case hex digits)")
    if not isinstance(signature, str):
        raise _bad("signature", signature, "base64 text")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise _bad("signature", signature, "base64 text") from None
    if len(raw) != 64 or base64.b64encode(raw).decode() != signature:
        raise _bad("signature", signature, "an Ed25519 signature (64 bytes in base64)")
    return cls(
        head=head,
        position=position,
        signer=signer,
        signed_at=signed_at,
        key=key,
        signature=signature,
    )


def _message(head: str, position: int, signer: str, signed_at: str, key: str) -> bytes:
    fields = {
        "format": FORMAT,
        "head": head,
        "key": key,
        "position": position,
        "signed_at": signed_at,
        "signer": signer,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _private(
    key: Ed25519PrivateKey | str | os.PathLike[str], passphrase: bytes | str | None
) -> Ed25519PrivateKey:
    if isinstance(key, str | os.PathLike):
        return load_private_key(key, passphrase=passphrase)
    _require()
    from cryptography.hazmat.primitives.asymmetric import ed25519

    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValidationError(
            f"private_key: expected an Ed25519 private key or its PEM file, not "
            f"{type(key).__name__}",
            field="private_key",
        )
    return key


def _public(key: Ed25519PublicKey | str | os.PathLike[str]) -> Ed25519PublicKey:
    if isinstance(key, str | os.PathLike):
        return load_public_key(key)
    _require()
    from cryptography.hazmat.primitives.asymmetric import ed25519

    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ValidationError(
            f"public_key: expected an Ed25519 public key or its PEM file, not {type(key).__name__}",
            field="public_key",
        )
    return key


def _check_register(ledger: Ledger, position: int, head: str) -> None:
    """That the register's chain up to ``position`` verifies and ends at ``head``."""
    store = ledger.store
    report = verify_chain(store.read_all(limit=position), key=store.key, keys=keys_of(store))
    if not report.ok:
        raise SignatureError(
            f"the register's hash chain fails at position {report.first_bad_position}, "
            f"before the signed head at position {position}: {report.reason}",
            part="chain",
        )
    if report.checked < position:
        raise SignatureError(
            f"the register holds {report.checked} events, but the head was signed at "
            f"position {position}: events were removed from its end",
            part="head",
        )
    if report.head_hash != head:
        raise SignatureError(
            f"the register's event at position {position} has hash {report.head_hash}, not "
            f"the signed head {head}: the register was rewritten",
            part="head",
        )


def sign_head(
    ledger_or_head: Ledger | tuple[int, str],
    private_key: Ed25519PrivateKey | str | os.PathLike[str],
    *,
    signer: str,
    at: object = None,
    passphrase: bytes | str | None = None,
) -> SignedHead:
    """Sign a register's head.

    Args:
        ledger_or_head: a register (its current head is signed, after its chain up to it is
            verified: a signer never vouches for a broken chain), or a head as
            :meth:`Ledger.head` gives it: ``(position, hash)``.
        private_key: the signer's Ed25519 private key, or its PEM file.
        signer: who vouches for the head, e.g. ``"OPCC for West Mercia"``.
        at: the signing time (an aware moment or ISO 8601 text; now by default), kept to
            the second.
        passphrase: the private key file's passphrase, if it is encrypted.

    Returns:
        The signed head.

    Raises:
        ValidationError: an empty register, a malformed head, signer, time or key.
        SignatureError: the register's chain does not verify up to its head.
        MissingDependencyError: ``cryptography`` is not installed.
    """
    key = _private(private_key, passphrase)
    name = check_text("signer", signer, limit=MAX_SHORT)
    signed_at = _signed_time(system_clock() if at is None else at)
    if isinstance(ledger_or_head, tuple):
        position, head = ledger_or_head
        ledger = None
    else:
        ledger = ledger_or_head
        position, head = ledger.head()
    if type(position) is not int or position < 1:
        raise ValidationError(
            f"a signed head needs a position from 1 (a register with events), not {position!r}",
            field="position",
            value=position,
        )
    if not isinstance(head, str) or not _HEX64.fullmatch(head):
        raise ValidationError(
            f"head: {head!r:.80} is not a chain hash (64 lower-case hex digits)",
            field="head",
            value=head,
        )
    if ledger is not None:
        _check_register(ledger, position, head)
    print_ = fingerprint(key.public_key())
    message = _message(head, position, name, signed_at, print_)
    return SignedHead(
        head=head,
        position=position,
        signer=name,
        signed_at=signed_at,
        key=print_,
        signature=base64.b64encode(key.sign(message)).decode(),
    )


def verify_signed_head(
    signed: SignedHead,
    public_key: Ed25519PublicKey | str | os.PathLike[str],
    ledger: Ledger | None = None,
) -> None:
    """Check a signed head: its signature under ``public_key``, and, given a register, that
    the register's chain up to the signed position verifies and ends at the signed head.

    Events appended after the signed position are not covered: a register that grew since
    it was signed still verifies.

    Args:
        signed: the signed head (:meth:`SignedHead.loads` reads a published one).
        public_key: the signer's Ed25519 public key, or its PEM file.
        ledger: a register to check against it.

    Raises:
        SignatureError: which part failed (its ``part``): the key, the signature, the chain
            or the head.
        ValidationError: the public key cannot be read.
        MissingDependencyError: ``cryptography`` is not installed.
    """
    _require()
    from cryptography.exceptions import InvalidSignature

    key = _public(public_key)
    given = fingerprint(key)
    if given != signed.key:
        raise SignatureError(
            f"the head was signed with key {signed.key}, but the public key given is {given}",
            part="key",
        )
    try:
        key.verify(base64.b64decode(signed.signature), signed.message())
    except (InvalidSignature, ValueError, binascii.Error):
        raise SignatureError(
            f"the signature of the head at position {signed.position} by {signed.signer!r} "
            "does not match its fields: the signed head was altered",
            part="signature",
        ) from None
    if ledger is not None:
        _check_register(ledger, signed.position, signed.head)
