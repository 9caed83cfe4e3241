"""Signed heads: an Ed25519 signature over a register's head round-trips, refuses any change to
its fields, another key and a register rewritten before it, and still verifies a register that
grew after it; the command line makes keys, signs heads and checks them."""

from __future__ import annotations

import base64
import builtins
import html
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from action_ledger import (
    IntegrityError,
    Ledger,
    MissingDependencyError,
    SignatureError,
    ValidationError,
)
from action_ledger.cli import EXIT_CODES, PASSPHRASE_ENV, main
from action_ledger.signing import (
    SignedHead,
    fingerprint,
    generate_signing_key,
    load_private_key,
    load_public_key,
    sign_head,
    verify_signed_head,
)
from action_ledger.store import GENESIS_HASH, NewEvent, chain_hash

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
HEAD = (7, "ab" * 32)
SIGNED = sign_head(HEAD, KEY, signer="OPCC for West Mercia", at="2021-10-04T13:30:00+01:00")


def grow(ledger: Ledger, count: int) -> None:
    for n in range(count):
        ledger.raise_action(text=f"Action number {n}.", owners=["CC"], actor="Jackie Irvin")


@pytest.fixture
def register(tmp_path: Path) -> Iterator[tuple[Path, Ledger]]:
    path = tmp_path / "register.db"
    with Ledger.open(path) as ledger:
        grow(ledger, 4)
        yield path, ledger


def test_a_signed_head_round_trips_through_its_published_form() -> None:
    """dumps then loads gives the same signed head, and it verifies with the signer's key."""
    text = SIGNED.dumps()
    assert json.loads(text)["signer"] == "OPCC for West Mercia"
    loaded = SignedHead.loads(text)
    assert loaded == SIGNED
    assert loaded.signed_at == "2021-10-04T12:30:00Z"
    assert loaded.key == fingerprint(KEY.public_key())
    verify_signed_head(loaded, KEY.public_key())


@given(
    signer=st.text(min_size=1, max_size=40).map(str.strip).filter(bool),
    position=st.integers(1, 10**9),
    head=st.binary(min_size=32, max_size=32).map(bytes.hex),
)
def test_any_signed_head_round_trips(signer: str, position: int, head: str) -> None:
    """Every head, position and signer name survives dumps/loads and verifies."""
    try:
        signed = sign_head((position, head), KEY, signer=signer, at="2024-01-01T00:00:00Z")
    except ValidationError:  # a name that is not real text (a lone surrogate) is refused
        return
    loaded = SignedHead.loads(signed.dumps())
    assert loaded == signed
    verify_signed_head(loaded, KEY.public_key())


def _other_value(name: str, value: Any, data: st.DataObject) -> Any:
    if name == "position":
        return data.draw(st.integers(1, 10**9).filter(lambda p: p != value))
    if name in ("head", "key"):
        return data.draw(st.binary(min_size=32, max_size=32).map(bytes.hex).filter(value.__ne__))
    if name == "signed_at":
        moment = data.draw(st.datetimes().filter(lambda d: d.year >= 1900))
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if name == "signature":
        raw = bytearray(base64.b64decode(value))
        index = data.draw(st.integers(0, 63))
        raw[index] ^= data.draw(st.integers(1, 255))
        return base64.b64encode(bytes(raw)).decode()
    return data.draw(st.text(min_size=1, max_size=30).map(str.strip).filter(bool))


@given(
    name=st.sampled_from(["head", "position", "signer", "signed_at", "key", "signature"]),
    data=st.data(),
)
def test_any_change_to_a_field_or_the_signature_is_refused(name: str, data: st.DataObject) -> None:
    """Changing any one field of a published signed head, or its signature, fails to verify."""
    value = getattr(SIGNED, name)
    changed = _other_value(name, value, data)
    if changed == value:
        return
    document = json.loads(SIGNED.dumps())
    document[name] = changed
    try:
        altered = SignedHead.loads(json.dumps(document))
    except ValidationError:  # malformed (a blank or surrogate name): refused on reading
        return
    with pytest.raises(SignatureError) as caught:
        verify_signed_head(altered, KEY.public_key())
    assert caught.value.part == ("key" if name == "key" else "signature")


def test_the_wrong_public_key_is_refused() -> None:
    """A signed head checked with another public key fails, naming both fingerprints."""
    with pytest.raises(SignatureError) as caught:
        verify_signed_head(SIGNED, OTHER.public_key())
    assert caught.value.part == "key"
    assert fingerprint(OTHER.public_key()) in str(caught.value)
    assert SIGNED.key in str(caught.value)


def test_a_signature_by_another_key_under_the_right_fingerprint_is_refused() -> None:
    """A forger who signs with their own key but writes the signer's fingerprint fails."""
    forged = sign_head(HEAD, OTHER, signer=SIGNED.signer, at="2021-10-04T13:30:00+01:00")
    forged = attrs.evolve(forged, key=SIGNED.key)
    with pytest.raises(SignatureError) as caught:
        verify_signed_head(forged, KEY.public_key())
    assert caught.value.part == "signature"


def test_a_register_verifies_its_signed_head_and_still_does_after_it_grows(
    register: tuple[Path, Ledger],
) -> None:
    """The head signed covers what precedes it: events appended later leave it valid."""
    _, ledger = register
    signed = sign_head(ledger, KEY, signer="OPCC")
    assert (signed.position, signed.head) == ledger.head()
    verify_signed_head(signed, KEY.public_key(), ledger)
    grow(ledger, 3)
    assert ledger.head()[0] > signed.position
    verify_signed_head(signed, KEY.public_key(), ledger)


def _rehash_from(conn: sqlite3.Connection, position: int) -> None:
    """Recompute every plain hash from ``position`` on, as a forger covering tracks would."""
    columns = "position stream_id version event_id event_type schema_version data occurred_at"
    names = [*columns.split(), "recorded_at", "actor"]
    rows = conn.execute(
        f"SELECT {', '.join(names)} FROM events WHERE position >= ? ORDER BY position",
        (position,),
    ).fetchall()
    (prev,) = conn.execute(
        "SELECT hash FROM events WHERE position = ?", (position - 1,)
    ).fetchone() or (GENESIS_HASH,)
    for values in rows:
        v = dict(zip(names, values, strict=True))
        event = NewEvent(
            event_id=v["event_id"],
            event_type=v["event_type"],
            schema_version=v["schema_version"],
            data=v["data"],
            occurred_at=v["occurred_at"],
            actor=v["actor"],
        )
        new = chain_hash(
            prev,
            position=v["position"],
            stream_id=v["stream_id"],
            version=v["version"],
            event=event,
            recorded_at=v["recorded_at"],
        )
        conn.execute(
            "UPDATE events SET prev_hash = ?, hash = ? WHERE position = ?",
            (prev, new, v["position"]),
        )
        prev = new


@pytest.mark.parametrize(
    ("rehash", "part"), [(False, "chain"), (True, "head")], ids=["edited", "edited-and-rehashed"]
)
def test_a_register_altered_before_the_signed_position_is_refused(
    tmp_path: Path, rehash: bool, part: str
) -> None:
    """An edit before the signed position fails the chain; one re-hashed to cover its tracks
    leaves a valid chain with another head, and fails the head."""
    path = tmp_path / "register.db"
    with Ledger.open(path) as ledger:
        grow(ledger, 4)
        signed = sign_head(ledger, KEY, signer="OPCC")
        grow(ledger, 2)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE events SET actor = 'intruder' WHERE position = 2")
        if rehash:
            _rehash_from(conn, 2)
    conn.close()
    with Ledger.open(path) as ledger, pytest.raises(SignatureError) as caught:
        verify_signed_head(signed, KEY.public_key(), ledger)
    assert caught.value.part == part
    assert str(signed.position) in str(caught.value)


def test_an_edit_after_the_signed_position_is_not_the_signed_heads_business(
    tmp_path: Path,
) -> None:
    """An edit after the signed position leaves the signed head valid (verify finds it)."""
    path = tmp_path / "register.db"
    with Ledger.open(path) as ledger:
        grow(ledger, 3)
        signed = sign_head(ledger, KEY, signer="OPCC")
        grow(ledger, 2)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE events SET actor = 'intruder' WHERE position = 5")
    conn.close()
    with Ledger.open(path) as ledger:
        verify_signed_head(signed, KEY.public_key(), ledger)
        assert not ledger.verify().ok


def test_a_register_cut_back_before_the_signed_position_is_refused() -> None:
    """A register holding fewer events than the signed position fails the head."""
    with Ledger.open(":memory:") as ledger:
        grow(ledger, 2)
        short = sign_head((5, ledger.head()[1]), KEY, signer="OPCC")
        with pytest.raises(SignatureError) as caught:
            verify_signed_head(short, KEY.public_key(), ledger)
        assert caught.value.part == "head"
        assert "holds 2 events" in str(caught.value)


def test_another_register_is_refused() -> None:
    """A signed head of one register does not verify another."""
    with Ledger.open(":memory:") as first, Ledger.open(":memory:") as second:
        grow(first, 3)
        grow(second, 3)
        signed = sign_head(first, KEY, signer="OPCC")
        with pytest.raises(SignatureError) as caught:
            verify_signed_head(signed, KEY.public_key(), second)
        assert caught.value.part == "head"


def test_signing_refuses_a_broken_chain_and_an_empty_register(tmp_path: Path) -> None:
    """A signer never vouches for a register whose chain fails, or for no events."""
    with Ledger.open(":memory:") as empty, pytest.raises(ValidationError, match="position"):
        sign_head(empty, KEY, signer="OPCC")
    path = tmp_path / "register.db"
    with Ledger.open(path) as ledger:
        grow(ledger, 3)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE events SET actor = 'intruder' WHERE position = 1")
    conn.close()
    with Ledger.open(path) as ledger, pytest.raises(SignatureError) as caught:
        sign_head(ledger, KEY, signer="OPCC")
    assert caught.value.part == "chain"


@pytest.mark.parametrize(
    ("signer", "head"),
    [("", HEAD), ("   ", HEAD), ("OPCC", (0, "ab" * 32)), ("OPCC", (1, "AB" * 32))],
)
def test_sign_head_refuses_bad_input(signer: str, head: tuple[int, str]) -> None:
    """A blank signer, a position before 1 or a head that is not a hash is refused."""
    with pytest.raises(ValidationError):
        sign_head(head, KEY, signer=signer)


def _bad_documents() -> st.SearchStrategy[str]:
    good = json.loads(SIGNED.dumps())
    replacement = st.one_of(
        st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)
    )
    changed = st.builds(
        lambda name, value: json.dumps({**good, name: value}),
        st.sampled_from(sorted(good)),
        replacement,
    )
    dropped = st.sampled_from(sorted(good)).map(
        lambda name: json.dumps({k: v for k, v in good.items() if k != name})
    )
    extra = st.just(json.dumps({**good, "note": "x"}))
    return st.one_of(changed, dropped, extra, st.text(max_size=20), st.just("[]"))


@given(text=_bad_documents())
def test_a_malformed_signed_head_is_refused_on_reading(text: str) -> None:
    """Anything but a well-formed signed head is a ValidationError naming what is wrong; a
    well-formed one that is not the document signed fails to verify."""
    try:
        loaded = SignedHead.loads(text)
    except ValidationError as error:
        message = str(error)
    else:
        if loaded != SIGNED:  # well formed, but not what was signed
            with pytest.raises(SignatureError):
                verify_signed_head(loaded, KEY.public_key())
        return
    assert "signed head" in message


def test_key_files_are_written_private_and_read_back(tmp_path: Path) -> None:
    """The private key file is mode 0600 and encrypted with the passphrase; neither file is
    ever overwritten; the keys read back sign and verify."""
    private, public = tmp_path / "s.pem", tmp_path / "s.pem.pub"
    print_ = generate_signing_key(private, passphrase="correct horse battery")
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert b"ENCRYPTED" in private.read_bytes()
    assert fingerprint(load_public_key(public)) == print_
    with pytest.raises(ValidationError, match="passphrase"):
        load_private_key(private)
    with pytest.raises(ValidationError, match="passphrase is wrong"):
        load_private_key(private, passphrase="wrong horse")
    key = load_private_key(private, passphrase="correct horse battery")
    verify_signed_head(sign_head(HEAD, key, signer="OPCC"), public)
    before = private.read_bytes()
    with pytest.raises(ValidationError, match="never overwritten"):
        generate_signing_key(private)
    assert private.read_bytes() == before
    with pytest.raises(ValidationError, match="not a PEM public key"):
        load_public_key(private)
    with pytest.raises(ValidationError, match="cannot read"):
        load_public_key(tmp_path / "missing.pem")


def test_missing_cryptography_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the cryptography library, signing says which extra to install."""
    real_import = builtins.__import__

    def no_cryptography(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("cryptography"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cryptography)
    with pytest.raises(MissingDependencyError, match=r"action-ledger\[signing\]"):
        sign_head(HEAD, KEY, signer="OPCC")
    with pytest.raises(MissingDependencyError, match=r"action-ledger\[signing\]"):
        verify_signed_head(SIGNED, KEY.public_key())


def run(db: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", db, "--actor", "Test Officer", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_the_command_line_makes_keys_signs_and_verifies_heads(tmp_path: Path) -> None:
    """sign-key new, sign-head and verify --signed-head work together; a tampered signed
    head, another public key and a rewritten register exit 5 with one line, no traceback."""
    db = str(tmp_path / "register.db")
    private, public = str(tmp_path / "s.pem"), str(tmp_path / "s.pem.pub")
    head_file = str(tmp_path / "head.json")
    assert run(db, "demo")[0] == 0
    code, out, _ = run(db, "sign-key", "new", "--to", private)
    assert code == 0
    assert public in out
    assert run(db, "sign-key", "new", "--to", private)[0] == EXIT_CODES["invalid input"]
    code, _, err = run(db, "sign-head", "--key", private, "--signer", "OPCC", "-o", head_file)
    assert code == 0
    assert "signed the head at position" in err
    signed = SignedHead.loads(Path(head_file).read_text())
    with Ledger.open(db) as ledger:
        assert (signed.position, signed.head) == ledger.head()

    code, out, _ = run(db, "verify", "--signed-head", head_file, "--public-key", public)
    assert code == 0
    assert "signed head ok" in out
    assert signed.signer in out
    code, out, _ = run(db, "verify", "--json", "--signed-head", head_file, "--public-key", public)
    assert code == 0
    assert json.loads(out)["signed_head"]["head"] == signed.head

    run(db, "sign-key", "new", "--to", str(tmp_path / "t.pem"))
    code, _, err = run(
        db, "verify", "--signed-head", head_file, "--public-key", str(tmp_path / "t.pem.pub")
    )
    assert code == EXIT_CODES["verify failed"]
    assert "public key given" in err
    assert "Traceback" not in err

    altered = tmp_path / "altered.json"
    altered.write_text(signed.dumps().replace('"OPCC"', '"PCC"'))
    code, _, err = run(db, "verify", "--signed-head", str(altered), "--public-key", public)
    assert code == EXIT_CODES["verify failed"]
    assert "altered" in err

    code, _, err = run(db, "verify", "--signed-head", head_file)
    assert code == 2
    assert "--public-key" in err
    (tmp_path / "bad.json").write_text("{}")
    bad = str(tmp_path / "bad.json")
    code, _, err = run(db, "verify", "--signed-head", bad, "--public-key", public)
    assert code == EXIT_CODES["invalid input"]
    assert "missing" in err


def test_the_command_line_encrypts_and_uses_a_passphrase(tmp_path: Path) -> None:
    """--encrypt takes the passphrase from its variable; sign-head reads it back from there."""
    db = str(tmp_path / "register.db")
    private = str(tmp_path / "s.pem")
    env = {PASSPHRASE_ENV: "a long passphrase"}
    run(db, "demo")
    assert run(db, "sign-key", "new", "--to", private, "--encrypt", env=env)[0] == 0
    assert b"ENCRYPTED" in Path(private).read_bytes()
    code, out, _ = run(db, "sign-head", "--key", private, "--signer", "OPCC", env=env)
    assert code == 0
    verify_signed_head(SignedHead.loads(out), private + ".pub")
    code, _, err = run(
        db, "sign-head", "--key", private, "--signer", "OPCC", env={PASSPHRASE_ENV: "wrong one"}
    )
    assert code == EXIT_CODES["invalid input"]
    assert "passphrase" in err


def test_signature_error_is_an_integrity_error() -> None:
    """Callers catching IntegrityError (and the CLI's exit 5) cover signed heads too."""
    assert issubclass(SignatureError, IntegrityError)


def test_the_published_page_carries_a_signed_head_of_its_own_head(tmp_path: Path) -> None:
    """export --format html --signed-head shows the signer and the signed head, which reads
    back and verifies; a signed head of another head, or for markdown, is refused."""
    db = str(tmp_path / "register.db")
    private, public = str(tmp_path / "s.pem"), str(tmp_path / "s.pem.pub")
    head_file, page = str(tmp_path / "head.json"), tmp_path / "log.html"
    run(db, "demo")
    run(db, "sign-key", "new", "--to", private)
    run(db, "sign-head", "--key", private, "--signer", "OPCC <West Mercia>", "-o", head_file)
    code, _, _ = run(
        db, "export", "--format", "html", "--signed-head", head_file, "--output", str(page)
    )
    assert code == 0
    text = page.read_text()
    assert "signed by OPCC &lt;West Mercia&gt;" in text
    embedded = html.unescape(text.split('<pre id="signed-head">', 1)[1].split("</pre>", 1)[0])
    signed = SignedHead.loads(embedded)
    assert signed == SignedHead.loads(Path(head_file).read_text())
    with Ledger.open(db) as ledger:
        verify_signed_head(signed, public, ledger)
        assert f"head hash <code>{signed.head}</code>" in text
        grow(ledger, 1)
    code, _, err = run(db, "export", "--format", "html", "--signed-head", head_file)
    assert code == EXIT_CODES["invalid input"]
    assert "sign the current head" in err
    code, _, err = run(db, "export", "--format", "markdown", "--signed-head", head_file)
    assert code == 2
    assert "beside the page" in err


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])
@pytest.mark.parametrize("key", [None, b"a-chain-key-of-the-opcc-register"], ids=["plain", "keyed"])
def test_every_backend_signs_and_verifies_its_head(
    ledger_factory: Any, backend: str, key: bytes | None
) -> None:
    """On each backend, plain or keyed, a signed head verifies against its register, also
    after the register grew, and not against a register with other events."""
    ledger = ledger_factory(backend, key=key)
    grow(ledger, 3)
    signed = sign_head(ledger, KEY, signer="OPCC")
    assert signed.position == 3
    grow(ledger, 2)
    verify_signed_head(signed, KEY.public_key(), ledger)
    other = ledger_factory(backend, key=key)
    grow(other, 5)
    with pytest.raises(SignatureError) as caught:
        verify_signed_head(signed, KEY.public_key(), other)
    assert caught.value.part == "head"
