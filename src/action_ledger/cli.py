"""``action-ledger``: the command-line program, a thin shell over :class:`Ledger`.

Each command opens the register named by ``--db`` and calls one Ledger method. A user mistake
prints one line saying what to do, never a traceback; exit codes are stable for scripts.
"""

from __future__ import annotations

import getpass
import io
import json
import os
import re
import secrets
import shutil
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import click
import pendulum

from ._access import DEFAULT_POLICY, Reader, Scope
from ._clock import (
    LONDON,
    MIDDAY,
    bare_date,
    local_date,
    moment_on,
    system_clock,
    to_date,
    to_register_moment,
)
from ._decider import Action, Meeting
from ._due import due_both
from ._erasure import ErasurePolicy, SubjectKeys
from ._history import AuditEntry, show
from ._keys import Keyring, key_id
from ._ledger import Ledger, open_store
from ._readmodel import Progress
from ._values import Attendee, Owner, check_meeting_id
from ._views import Agenda, ChainLink, DueStatus, RegisterView
from .events import MeetingCorrected
from .exceptions import (
    ActionLedgerError,
    ConcurrencyError,
    IntegrityError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolationError,
    ValidationError,
)
from .signing import SignedHead, generate_signing_key, sign_head, verify_signed_head
from .store import EventStore, StoredEvent, keys_of, verify_chain

__all__ = ["EXIT_CODES", "main"]

#: Exit codes scripts can rely on.
EXIT_CODES = {
    "ok": 0,
    "error": 1,
    "invalid input": 2,
    "rule rejected": 3,
    "conflict": 4,
    "verify failed": 5,
    "not found": 6,
    "permission denied": 7,
}
DB_ENV = "ACTION_LEDGER_DB"
KEYS_ENV = "ACTION_LEDGER_KEYS"
ACTOR_ENV = "ACTION_LEDGER_ACTOR"
SCHEMA_ENV = "ACTION_LEDGER_SCHEMA"
KEY_FILE_ENV = "ACTION_LEDGER_KEY_FILE"
KEY_ENV = "ACTION_LEDGER_KEY"
PASSPHRASE_ENV = "ACTION_LEDGER_SIGNING_PASSPHRASE"
SCOPE_ENV = "ACTION_LEDGER_SCOPE"


def _exit_code(error: ActionLedgerError) -> int:
    if isinstance(error, ValidationError):
        return EXIT_CODES["invalid input"]
    if isinstance(error, RuleViolationError):
        return EXIT_CODES["rule rejected"]
    if isinstance(error, ConcurrencyError):
        return EXIT_CODES["conflict"]
    if isinstance(error, NotFoundError):
        return EXIT_CODES["not found"]
    if isinstance(error, IntegrityError):
        return EXIT_CODES["verify failed"]
    if isinstance(error, PermissionDeniedError):
        return EXIT_CODES["permission denied"]
    return EXIT_CODES["error"]


@attrs.define
class _Settings:
    db: str
    login: str | None  # the login name, when it can be read
    explicit_actor: str | None = None
    schema: str = "action_ledger"
    key_file: str | None = None
    scope: Scope = attrs.field(factory=DEFAULT_POLICY.scope)

    @property
    def keyring(self) -> Keyring | None:
        """The chain keys: ``--key-file`` (or its variable), else ``$ACTION_LEDGER_KEY`` (keys
        separated by spaces, oldest first), else none. Never a command-line value: it would
        be visible to every user of the machine and kept in shell histories.

        Raises:
            ValidationError: the file cannot be read or holds no usable key.
        """
        if self.key_file:
            return Keyring.read(self.key_file)
        text = os.environ.get(KEY_ENV, "")
        if text.strip():
            return Keyring.parse("\n".join(text.split()), source=f"${KEY_ENV}")
        return None

    keys: str | None = None  # the subject key store: seal erasable fields, open sealed ones
    seal_names: bool = False

    @property
    def actor(self) -> str:
        """Who is recording: ``--actor`` (or its variable), else the login name. Every
        command that changes the register asks for it first.

        Raises:
            PermissionDeniedError: the ``--scope`` may not change the register.
            ValidationError: neither is known (the login name cannot be read here).
        """
        self.check_write()
        actor = self.explicit_actor or self.login
        if not actor:
            raise ValidationError(
                "cannot tell who is recording: the login name cannot be read here; give "
                f"--actor 'Jackie Irvin' (or set {ACTOR_ENV})",
                field="actor",
            )
        return actor

    def check_write(self) -> None:
        """Raise :class:`PermissionDeniedError` unless the ``--scope`` may write."""
        if not self.scope.write:
            raise PermissionDeniedError(
                f"scope {self.scope.name!r} may not change the register; give --scope opcc "
                f"or secretariat (or set {SCOPE_ENV}) to record changes"
            )


def _require_write(ctx: click.Context) -> None:
    """Exit (7) before anything is opened or written unless the ``--scope`` may write."""
    try:
        ctx.obj.check_write()
    except PermissionDeniedError as error:
        _show(f"error: {error}", err=True)
        ctx.exit(_exit_code(error))


def _login_name() -> str | None:
    try:
        return getpass.getuser() or None
    except (OSError, KeyError, ImportError):  # no USER/LOGNAME and no password entry
        return None


def _policy(keys: SubjectKeys | None, seal_names: bool) -> ErasurePolicy | None:
    """The policy to open with: the key store's, else restricted text (and names if asked)."""
    if keys is None:
        return None
    recorded = keys.policy()
    if recorded is not None and (recorded.names or not seal_names):
        return recorded
    return ErasurePolicy(restricted=True, names=seal_names)


@contextmanager
def _ledger(ctx: click.Context, *, create: bool = False) -> Iterator[Ledger]:
    """The register of ``--db``; one that does not exist is refused unless ``create``
    (``init``, ``demo``, ``import``), so a mistyped path is an error, not a new file."""
    settings: _Settings = ctx.obj
    try:
        keys = None if settings.keys is None else SubjectKeys(settings.keys, create=create)
        with _progress("Bringing the read models up to date") as progress:
            ledger = Ledger.open(
                settings.db,
                progress=progress,
                schema=settings.schema,
                create=create,
                key=settings.keyring,
                keys=keys,
                erasure=_policy(keys, settings.seal_names),
            )
        with ledger:
            yield ledger
    except ActionLedgerError as error:
        _show(f"error: {error}", err=True)
        ctx.exit(_exit_code(error))


# C0 and C1 controls but newline and tab, bidi marks and overrides, line/paragraph separators,
# and lone surrogates: printed raw they could recolour, retitle, move or reorder the terminal.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def visible(text: str) -> str:
    """``text`` as it is safe to print to a terminal: each control character, bidi control
    or lone surrogate in it shown as its Python escape (ESC as ``\\x1b``, RLO as ``\\u202e``)."""
    return _UNSAFE.sub(lambda found: found[0].encode("unicode_escape").decode("ascii"), text)


def _show(text: str, *, err: bool = False) -> None:
    """Print stored text (or a message quoting it) to the terminal, escaped by :func:`visible`."""
    click.echo(visible(text), err=err)


def _not_utf8(source: str, error: UnicodeDecodeError) -> ValidationError:
    return ValidationError(
        f"{source} is not UTF-8 text: byte {error.object[error.start]:#04x} at offset "
        f"{error.start} cannot be read; save the file as UTF-8 (in Excel: 'CSV UTF-8')",
        field="source",
        value=source,
    )


def _utf8(source: str, handle: Any) -> io.StringIO:
    """The whole text of an import file, refused with a clear error unless it is UTF-8."""
    try:
        return io.StringIO(handle.read(), newline="")
    except UnicodeDecodeError as error:
        raise _not_utf8(source, error) from None


def _width() -> int:
    return min(shutil.get_terminal_size((100, 24)).columns, 120)


def _due(action: Action) -> str:
    if action.due_on is None:
        return action.due_text or "-"
    return action.due_on.isoformat()


def render_register(actions: Sequence[Action]) -> str:
    """The register as a readable list: a heading line per action, then its text."""
    if not actions:
        return "(no actions)"
    width = _width()
    lines = []
    for a in actions:
        status = a.status if a.resolution is None else f"{a.status} ({a.resolution})"
        where = f"{a.meeting} item {a.item}" if a.meeting and a.item else (a.meeting or "-")
        due = _due(a) + (f" ({a.due_text})" if a.due_on is not None and a.due_text else "")
        lines.append(
            f"{a.id}  {status:<20} {where:<22} owners: {', '.join(map(str, a.owners))}"
            f"  due: {due}" + ("  [restricted]" if a.restricted else "")
        )
        lines.extend(
            textwrap.wrap(a.text, width - 4, initial_indent="    ", subsequent_indent="    ")
        )
    return "\n".join(lines)


def _dated(text: str | None, moment: Any) -> str:
    """A note with the London date it was given, or ``-``."""
    if text is None:
        return "-"
    return f"{moment.in_tz(LONDON).date().isoformat()}: {text}" if moment is not None else text


def _revisit_line(action: Action) -> str:
    """When and where the action was last revisited, and whether the PCC was assured."""
    if action.last_revisited_at is None:
        return ""
    day = action.last_revisited_at.in_tz(LONDON).date().isoformat()
    where = action.last_revisit_meeting
    assured = {True: "; the PCC was assured", False: "; the PCC was not assured"}
    if where is None:
        when = day
    elif where == day:  # the meeting id is its date: say it once
        when = f"at the meeting of {day}"
    else:
        when = f"{day} at meeting {where}"
    return when + assured.get(action.assured, "")  # type: ignore[arg-type]


def render_action(action: Action) -> str:
    """One action's state, field by field."""
    fields = [
        ("Action", action.id),
        ("Text", action.text),
        ("Owners", ", ".join(map(str, action.owners))),
        ("Status", action.status + (f" ({action.resolution})" if action.resolution else "")),
        (
            "Due",
            f"{show(action.due_on) or '-'}" + (f"  ({action.due_text})" if action.due_text else ""),
        ),
        (
            "Raised",
            f"{show(action.raised_at)}"
            + (f" at meeting {action.meeting}" if action.meeting else "")
            + (f" item {action.item}" if action.item else ""),
        ),
        ("Source", action.source or "-"),
        ("Follows", ", ".join(action.follows) or "-"),
        ("Superseded by", action.superseded_by or "-"),
        ("Last update", _dated(action.last_update, action.last_updated_at)),
        ("Last revisited", _revisit_line(action) or "-"),
        ("Outcome", action.last_outcome or "-"),
        ("Closed", show(action.closed_at) or "-"),
        ("Restricted", "yes" if action.restricted else "no"),
    ]
    width = max(len(k) for k, _ in fields)
    out = []
    for key, value in fields:
        wrapped = textwrap.wrap(value, _width() - width - 2) or ["-"]
        out.append(f"{key.ljust(width)}  {wrapped[0]}")
        out.extend(" " * (width + 2) + line for line in wrapped[1:])
    return "\n".join(out)


def render_history(entries: Sequence[AuditEntry]) -> str:
    """An audit trail: one paragraph per event, changes old → new."""
    out = []
    for e in entries:
        head = (
            f"#{e.position} v{e.version} {e.event_type.upper()}  occurred {show(e.occurred_at)}"
            f"  recorded {show(e.recorded_at)}  by {e.actor}"
        )
        out.append(head)
        out.extend(
            textwrap.wrap(e.summary, _width() - 4, initial_indent="    ", subsequent_indent="    ")
        )
        for name, (old, new) in e.changes.items() if e.event_type != "raised" else ():
            out.append(f"    {name.replace('_', ' ')}: {old or '-'} → {new or '-'}")
        if e.corrected_by:
            out.append(f"    corrected later by {', '.join(c[:8] for c in e.corrected_by)}")
        out.append(f"    event {e.event_id}  hash {e.hash[:16]}…")
    return "\n".join(out)


def _json_default(value: object) -> object:
    if attrs.has(type(value)):
        return attrs.asdict(value)  # type: ignore[arg-type]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "items"):
        return dict(value.items())
    return str(value)


def _echo_json(value: object) -> None:
    click.echo(json.dumps(value, default=_json_default, indent=2, ensure_ascii=False))


def _as_json(value: object) -> object:
    return json.loads(json.dumps(value, default=_json_default))


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group(
    epilog="Exit codes: 0 ok, 1 error, 2 invalid input, 3 rule rejected, 4 conflict, "
    "5 verify failed, 6 not found, 7 permission denied."
)
@click.option(
    "--db",
    envvar=DB_ENV,
    default="register.db",
    show_default=True,
    help=f"The register: a SQLite file (or ':memory:'). Also ${DB_ENV}.",
)
@click.option(
    "--actor",
    envvar=ACTOR_ENV,
    default=None,
    help=f"Who is recording (defaults to your login name). Also ${ACTOR_ENV}.",
)
@click.option(
    "--schema",
    envvar=SCHEMA_ENV,
    default="action_ledger",
    show_default=True,
    help=f"For a postgresql:// register: the schema holding it. Also ${SCHEMA_ENV}.",
)
@click.option(
    "--key-file",
    envvar=KEY_FILE_ENV,
    default=None,
    type=click.Path(dir_okay=False),
    help=f"A keyed register's key file: one key a line, oldest first (see new-key). Also "
    f"${KEY_FILE_ENV}; or the keys themselves in ${KEY_ENV}.",
)
@click.option(
    "--scope",
    envvar=SCOPE_ENV,
    default=DEFAULT_POLICY.default,
    show_default=True,
    help="Whose view: public or force (read-only; public sees no restricted matter), opcc or "
    f"secretariat (the register's keepers: see and change everything). Also ${SCOPE_ENV}.",
)
@click.option(
    "--keys",
    envvar=KEYS_ENV,
    default=None,
    help="The subject key store (a SQLite file kept apart from the register, made by init): "
    f"restricted text is sealed under it, so that it can be erased. Also ${KEYS_ENV}.",
)
@click.option(
    "--seal-names",
    is_flag=True,
    help="With --keys: seal personal names (owners, attendees) too.",
)
@click.version_option(package_name="action-ledger")
@click.pass_context
def main(
    ctx: click.Context,
    db: str,
    actor: str | None,
    schema: str,
    key_file: str | None,
    scope: str,
    keys: str | None,
    seal_names: bool,
) -> None:
    """Keep an OPCC action register: every change is an event; history is never lost.

    \b
    Example:
        action-ledger --db register.db demo
        action-ledger list --status open --owner CC
    """
    if actor is not None and not actor.strip():
        # Never replaced silently: an empty --actor is a mistake, not a request for the default.
        _show(
            f"error: --actor {actor!r} is blank: give who is recording, e.g. "
            "--actor 'Jackie Irvin', or leave --actor out to record your login name",
            err=True,
        )
        ctx.exit(EXIT_CODES["invalid input"])
    try:
        chosen = DEFAULT_POLICY.scope(scope)
    except ValidationError as error:
        _show(f"error: --scope: {error}", err=True)
        ctx.exit(EXIT_CODES["invalid input"])
    ctx.obj = _Settings(
        db=db,
        login=_login_name(),
        explicit_actor=actor,
        schema=schema,
        key_file=key_file,
        scope=chosen,
        keys=keys,
        seal_names=seal_names,
    )


@main.group()
def meeting() -> None:
    """Record, correct, list and show meetings."""


def _attendee(text: str) -> Attendee:
    name, _, rest = text.partition(",")
    capacity, _, role = rest.partition("(")
    return Attendee(
        name=name.strip(),
        capacity=capacity.strip() or None,
        role=role.rstrip(") ").strip() or None,
    )


@meeting.command("add")
@click.argument("meeting_id")
@click.option("--title", required=True, help="e.g. 'Monthly Assurance Meeting October 2021'.")
@click.option("--held-at", required=True, help="Europe/London time, e.g. 2021-10-04T13:30.")
@click.option("--kind", help="Meeting type, e.g. 'Holding to account'.")
@click.option("--venue")
@click.option("--chair")
@click.option("--minutes-by")
@click.option(
    "--attendee",
    "attendance",
    multiple=True,
    help="'Name, Capacity (ROLE)'; repeat for each person.",
)
@click.option("--apology", "apologies", multiple=True, help="As --attendee, for apologies.")
@json_option
@click.pass_context
def meeting_add(
    ctx: click.Context,
    meeting_id: str,
    title: str,
    held_at: str,
    kind: str | None,
    venue: str | None,
    chair: str | None,
    minutes_by: str | None,
    attendance: tuple[str, ...],
    apologies: tuple[str, ...],
    as_json: bool,
) -> None:
    """Record a meeting; MEETING_ID is its date, e.g. 2021-10-04.

    \b
    Example:
        action-ledger meeting add 2021-10-04 --title "Monthly Assurance Meeting October 2021" \\
            --held-at 2021-10-04T13:30 --attendee "Pippa Mills, Chief Constable (CC)"
    """
    with _ledger(ctx) as ledger:
        recorded = ledger.record_meeting(
            meeting_id,
            title=title,
            held_at=held_at,
            kind=kind,
            venue=venue,
            chair=chair,
            minutes_by=minutes_by,
            attendance=[_attendee(a) for a in attendance],
            apologies=[_attendee(a) for a in apologies],
            actor=ctx.obj.actor,
        )
        if as_json:
            _echo_json(recorded)
        else:
            _show(f"recorded meeting {recorded.id}: {recorded.title}")


@meeting.command("correct")
@click.argument("meeting_id")
@click.option("--reason", required=True, help="Why the record was wrong.")
@click.option("--title", help="The corrected title.")
@click.option("--held-at", help="The corrected time, Europe/London, on the meeting's date.")
@click.option("--kind", help="The corrected meeting type.")
@click.option("--venue", help="The corrected venue.")
@click.option("--chair", help="The corrected chair.")
@click.option("--minutes-by", help="The corrected minute-taker.")
@click.option(
    "--attendee",
    "attendance",
    multiple=True,
    help="'Name, Capacity (ROLE)'; repeat for each person: replaces the whole attendance.",
)
@click.option(
    "--apology", "apologies", multiple=True, help="As --attendee: replaces the apologies."
)
@click.option("--no-apologies", is_flag=True, help="Correct the apologies to none.")
@json_option
@click.pass_context
def meeting_correct(
    ctx: click.Context,
    meeting_id: str,
    reason: str,
    title: str | None,
    held_at: str | None,
    kind: str | None,
    venue: str | None,
    chair: str | None,
    minutes_by: str | None,
    attendance: tuple[str, ...],
    apologies: tuple[str, ...],
    no_apologies: bool,
    as_json: bool,
) -> None:
    """Correct MEETING_ID's record where it was entered wrongly; history keeps both.

    Give only what was wrong. The time may change, not the date (the id is the date).

    \b
    Example:
        action-ledger meeting correct 2021-10-04 --venue "Willison Room" \\
            --reason "Minuted in the wrong room"
    """
    with _ledger(ctx) as ledger:
        if no_apologies and apologies:
            raise ValidationError(
                "give --apology or --no-apologies, not both", field="apologies", value=apologies
            )
        corrected = ledger.correct_meeting(
            meeting_id,
            reason=reason,
            title=title,
            held_at=held_at,
            kind=kind,
            venue=venue,
            chair=chair,
            minutes_by=minutes_by,
            attendance=[_attendee(a) for a in attendance] if attendance else None,
            apologies=[_attendee(a) for a in apologies] if apologies or no_apologies else None,
            actor=ctx.obj.actor,
        )
        if as_json:
            _echo_json(corrected)
        else:
            _show(f"corrected meeting {corrected.id}: {corrected.title}")


def _person(person: Attendee) -> str:
    role = f" ({person.role})" if person.role else ""
    return person.name + (f", {person.capacity}" if person.capacity else "") + role


def render_meetings(meetings: Sequence[Meeting]) -> str:
    """The recorded meetings, one line each, in date order."""
    if not meetings:
        return "(no meetings)"
    return "\n".join(
        f"{m.id:<22} {m.held_at.in_tz(LONDON).format('YYYY-MM-DD HH:mm')}  "
        f"{m.kind or '-':<20} {m.title}"
        for m in meetings
    )


def render_meeting(meeting: Meeting, corrections: Sequence[MeetingCorrected]) -> str:
    """One meeting's record: when, where, who chaired and minuted, who attended (with their
    capacity and role code) and sent apologies, and its corrections."""
    lines = [
        f"Meeting     {meeting.id}",
        f"Title       {meeting.title}",
        f"Held        {meeting.held_at.in_tz(LONDON).format('YYYY-MM-DD HH:mm')} (Europe/London)",
        f"Type        {meeting.kind or '-'}",
        f"Venue       {meeting.venue or '-'}",
        f"Chair       {meeting.chair or '-'}",
        f"Minutes by  {meeting.minutes_by or '-'}",
        f"Attendance  ({len(meeting.attendance)})",
    ]
    lines.extend(f"    {_person(p)}" for p in meeting.attendance)
    lines.append(f"Apologies   ({len(meeting.apologies)})")
    lines.extend(f"    {_person(p)}" for p in meeting.apologies)
    if meeting.source is not None:  # imported from the meeting's notes: which file, exactly
        lines.append(f"Notes       {meeting.source}")
        if meeting.source_sha256 is not None:
            lines.append(f"    sha256 {meeting.source_sha256}")
    if corrections:
        lines.append("Corrections (oldest first)")
        for fix in corrections:
            lines.append(
                f"    {show(fix.occurred_at)} by {fix.actor}: {', '.join(fix.fields())} "
                f"— {fix.reason}"
            )
    return "\n".join(lines)


@meeting.command("list")
@json_option
@click.pass_context
def meeting_list(ctx: click.Context, as_json: bool) -> None:
    """List the recorded meetings in date order.

    \b
    Example:
        action-ledger meeting list
    """
    with _ledger(ctx) as ledger:
        found = ledger.meetings()
        if as_json:
            _echo_json(list(found))
        else:
            _show(render_meetings(found))


@meeting.command("show")
@click.argument("meeting_id")
@json_option
@click.pass_context
def meeting_show(ctx: click.Context, meeting_id: str, as_json: bool) -> None:
    """Print one meeting: time, type, venue, chair, minute-taker, attendance and apologies
    (with capacities and role codes), and any corrections of its record.

    \b
    Example:
        action-ledger meeting show 2021-10-04
    """
    with _ledger(ctx) as ledger:
        found = ledger.meeting(meeting_id)
        corrections = ledger.meeting_corrections(meeting_id)
        if as_json:
            _echo_json({"meeting": _as_json(found), "corrections": _as_json(list(corrections))})
        else:
            _show(render_meeting(found, corrections))


@main.command()
@click.argument("role")
@click.argument("on_date")
@json_option
@click.pass_context
def holder(ctx: click.Context, role: str, on_date: str, as_json: bool) -> None:
    """Print who held ROLE on ON_DATE, from the recorded meetings' attendance lists.

    ROLE is a role code (CC, PCC, DCC…, any case); ON_DATE is YYYY-MM-DD. The answer is the
    person listed in that role at the last recorded meeting on or before the date.

    \b
    Example:
        action-ledger holder CC 2021-10-04
    """
    with _ledger(ctx) as ledger:
        found = ledger.holder(role, on_date)
        if found is None:
            raise NotFoundError(
                f"no meeting recorded on or before {on_date} lists anyone as {role!r} in its "
                "attendance or apologies (`action-ledger meeting show` shows who is listed)"
            )
        if as_json:
            _echo_json(found)
        else:
            how = "attended" if found.present else "sent apologies to"
            _show(
                f"{found.role} on {on_date}: {found.name}"
                + (f", {found.capacity}" if found.capacity else "")
                + f" ({how} meeting {found.meeting})"
            )


@main.command("raise")
@click.argument("text")
@click.option(
    "--owner",
    "owners",
    multiple=True,
    required=True,
    help="Role code, person or capacity (e.g. CC, 'Pippa Mills', 'Chief Constable'); repeatable.",
)
@click.option("--meeting", help="The meeting id that raised it.")
@click.option("--item", help="Its agenda item, e.g. 2.9.")
@click.option(
    "--due",
    help="A date (YYYY-MM-DD) or the words as minuted; words naming a meeting ('next "
    "meeting', 'the July holding to account') take that meeting's date once it is recorded.",
)
@click.option(
    "--due-on",
    help="A due date (YYYY-MM-DD) to keep with the --due words, which then are not resolved.",
)
@click.option("--source", help="Where it came from, when not a meeting.")
@click.option("--follows", multiple=True, help="An earlier action it follows on from.")
@click.option("--restricted", is_flag=True, help="Exempt from publication.")
@click.option("--id", "action_id", help="Your own action id (default: next ACT-<year>-<n>).")
@click.option(
    "--occurred-at",
    help="When it was raised: a London date-time, or a date (then the time of --meeting "
    "that day, else midday). Default: the meeting's time, or now.",
)
@json_option
@click.pass_context
def raise_(
    ctx: click.Context,
    text: str,
    owners: tuple[str, ...],
    meeting: str | None,
    item: str | None,
    due: str | None,
    due_on: str | None,
    source: str | None,
    follows: tuple[str, ...],
    restricted: bool,
    action_id: str | None,
    occurred_at: str | None,
    as_json: bool,
) -> None:
    """Raise an action and print its id.

    \b
    Example:
        action-ledger raise "T/Ch Supt to find out timeline for homicide review analysis." \\
            --owner "T/Ch Supt" --meeting 2021-10-04 --item 2.3 --due "within two weeks"
    """
    with _ledger(ctx) as ledger:
        when, said = _occurred_at(ledger, occurred_at, meeting)
        new_id = ledger.raise_action(
            text=text,
            owners=_owners(ledger, owners, meeting, occurred_at),
            meeting=meeting,
            item=item,
            due=due if due_on is None else due_both(due_on, due),
            source=source,
            follows=list(follows),
            restricted=restricted,
            action_id=action_id,
            occurred_at=when,
            actor=ctx.obj.actor,
        )
        _note(said)
        if as_json:
            _echo_json(ledger.get(new_id))
        else:
            click.echo(new_id)


def _occurred_at(
    ledger: Ledger, occurred_at: str | None, meeting: str | None
) -> tuple[str | pendulum.DateTime | None, str | None]:
    """``--occurred-at`` as the Ledger takes it, and what to tell the user about it.

    A date without a time (``2022-08-25``, ``25/08/2022``, ``25 August 2022``) means the
    time of ``--meeting`` that day when the meeting is recorded, else midday, Europe/London;
    the note says which.
    """
    day = None if occurred_at is None else bare_date(occurred_at)
    if day is None:
        return occurred_at, None
    held = None
    if meeting is not None:
        try:
            held = ledger.meeting(meeting).held_at
        except NotFoundError:
            held = None  # the command itself says the meeting is not recorded
    if held is None:
        at, why = MIDDAY, "midday, as no time was given"
    else:
        at, why = held.in_tz(LONDON).time(), f"the time of meeting {meeting}, as no time was given"
    moment = moment_on(day, at, field="occurred_at")
    return (
        moment,
        f"occurred at {moment.in_tz(LONDON).format('YYYY-MM-DD HH:mm')} London time ({why})",
    )


def _note(text: str | None) -> None:
    if text is not None:
        _show(text, err=True)


def _owners(
    ledger: Ledger, owners: Sequence[str], meeting: str | None, occurred_at: str | None
) -> list[Owner]:
    """The owners typed (role codes, people or capacities), mapped through the attendance
    lists on the date concerned: the meeting's, else ``--occurred-at``'s, else today. A name
    no attendance knows is kept as a role code, with a warning."""
    if meeting is not None:
        day = to_date(check_meeting_id(meeting)[:10], field="meeting")
    elif occurred_at is not None:
        bare = bare_date(occurred_at)  # a date alone (see _occurred_at)
        day = (
            local_date(to_register_moment(occurred_at, field="occurred_at"))
            if bare is None
            else pendulum.Date(bare.year, bare.month, bare.day)
        )
    else:
        day = local_date(system_clock())
    found = ledger.owners_named(list(owners), day, unknown="keep")
    known = {role.casefold() for role in ledger.roles()}
    for owner in found:
        if owner.role.casefold() not in known:
            _show(
                f"warning: owner {owner.role!r} is in no recorded meeting's attendance "
                f"(known role codes: {', '.join(ledger.roles()) or 'none yet'}); "
                "recorded as a new role code",
                err=True,
            )
    return list(found)


def _report(action: Action, as_json: bool) -> None:
    if as_json:
        _echo_json(action)
    else:
        click.echo(f"{action.id}: {action.status}, version {action.version}")


@main.command()
@click.argument("action_id")
@click.option("--note", required=True, help="The progress reported.")
@click.option(
    "--source",
    default="written update",
    show_default=True,
    type=click.Choice(["written update", "briefing note", "verbal", "email", "meeting", "other"]),
)
@click.option("--meeting", help="The meeting it was reported at, if any.")
@click.option("--text", help="New action text (needs --reason).")
@click.option(
    "--owner",
    "owners",
    multiple=True,
    help="New owner(s): role code, person or capacity (needs --reason).",
)
@click.option("--due", help="New due date or words (needs --reason).")
@click.option("--reason", help="Why the text, owners or due date changed.")
@click.option(
    "--occurred-at",
    help="When the update was received: a London date-time, or a date (then the time of "
    "--meeting that day, else midday). Default: the time of --meeting, else now.",
)
@click.option("--restricted", is_flag=True, help="Keep the note out of anything published.")
@json_option
@click.pass_context
def update(
    ctx: click.Context,
    action_id: str,
    note: str,
    source: str,
    meeting: str | None,
    text: str | None,
    owners: tuple[str, ...],
    due: str | None,
    reason: str | None,
    occurred_at: str | None,
    restricted: bool,
    as_json: bool,
) -> None:
    """Record progress on an action, optionally changing it.

    \b
    Example:
        action-ledger update ACT-2021-004 --note "Timeline agreed" --source "briefing note"
    """
    with _ledger(ctx) as ledger:
        when, said = _occurred_at(ledger, occurred_at, meeting)
        action = ledger.update_action(
            action_id,
            note=note,
            source=source,
            meeting=meeting,
            text=text,
            owners=_owners(ledger, owners, meeting, occurred_at) if owners else None,
            due=due,
            reason=reason,
            restricted=restricted,
            occurred_at=when,
            actor=ctx.obj.actor,
        )
        _note(said)
        _report(action, as_json)


@main.command()
@click.argument("action_id")
@click.option("--meeting", required=True, help="The meeting id it was discussed at.")
@click.option("--outcome", required=True, help="What was said or decided.")
@click.option("--item", help="The agenda item.")
@click.option("--assured/--not-assured", default=None, help="Whether the PCC was assured.")
@click.option("--next-revisit", help="A date or words, e.g. 'in 6 months'.")
@json_option
@click.pass_context
def revisit(
    ctx: click.Context,
    action_id: str,
    meeting: str,
    outcome: str,
    item: str | None,
    assured: bool | None,
    next_revisit: str | None,
    as_json: bool,
) -> None:
    """Record that an action was discussed at a meeting.

    \b
    Example:
        action-ledger revisit ACT-2021-002 --meeting 2021-10-04 --item 2.2 \\
            --outcome "Review findings due this month" --not-assured
    """
    with _ledger(ctx) as ledger:
        action = ledger.revisit_action(
            action_id,
            meeting=meeting,
            outcome=outcome,
            item=item,
            assured=assured,
            next_revisit=next_revisit,
            actor=ctx.obj.actor,
        )
        _report(action, as_json)


@main.command()
@click.argument("action_id")
@click.option(
    "--resolution",
    required=True,
    type=click.Choice(["completed", "superseded", "withdrawn"]),
)
@click.option("--note", required=True, help="Why it is closed.")
@click.option("--meeting", help="The meeting that agreed it.")
@click.option("--superseded-by", help="The action replacing it (with --resolution superseded).")
@json_option
@click.pass_context
def close(
    ctx: click.Context,
    action_id: str,
    resolution: str,
    note: str,
    meeting: str | None,
    superseded_by: str | None,
    as_json: bool,
) -> None:
    """Close an action.

    \b
    Example:
        action-ledger close ACT-2021-004 --resolution completed \\
            --note "Agreed as completed and can be closed" --meeting 2021-10-04
    """
    with _ledger(ctx) as ledger:
        action = ledger.close_action(
            action_id,
            resolution=resolution,  # type: ignore[arg-type]
            note=note,
            meeting=meeting,
            superseded_by=superseded_by,
            actor=ctx.obj.actor,
        )
        _report(action, as_json)


@main.command()
@click.argument("action_id")
@click.option("--reason", required=True, help="Why it is brought back.")
@click.option("--meeting", help="The meeting that reopened it.")
@json_option
@click.pass_context
def reopen(
    ctx: click.Context, action_id: str, reason: str, meeting: str | None, as_json: bool
) -> None:
    """Reopen a closed action.

    \b
    Example:
        action-ledger reopen ACT-2021-004 --reason "Timeline slipped"
    """
    with _ledger(ctx) as ledger:
        action = ledger.reopen_action(
            action_id, reason=reason, meeting=meeting, actor=ctx.obj.actor
        )
        _report(action, as_json)


def _view(
    ledger: Ledger, as_of: str | None = None, axis: str = "recorded", *, publishable: bool = False
) -> RegisterView:
    """The register (now, or as of a moment) as the ``--scope`` may see it; an output for the
    public (``publishable``, or a scope without the right to restricted matter) is read only
    from tables checked against the log."""
    scope: Scope = click.get_current_context().obj.scope
    view: RegisterView = ledger
    if as_of is None:
        if publishable or not scope.restricted:  # never publish from tables edited behind the log
            from .exports import check_published_tables

            check_published_tables(ledger)
    else:
        view = ledger.as_of(as_of, axis="occurred" if axis == "occurred" else "recorded")
    return view if scope.restricted else Reader(view, scope)


as_of_option = click.option(
    "--as-of",
    help="Answer as the register stood then: a date (end of that day) or a London date-time.",
)
axis_option = click.option(
    "--axis",
    type=click.Choice(["recorded", "occurred"]),
    default="recorded",
    show_default=True,
    help="With --as-of: what the register said then (recorded), or what had happened by then "
    "as known now (occurred).",
)


publishable_option = click.option(
    "--publishable",
    is_flag=True,
    help="As a reader without the right to restricted matters sees it: no restricted "
    "action, note, changed field or link.",
)


@main.command("list")
@click.option("--status", type=click.Choice(["open", "closed"]), help="Only these.")
@click.option(
    "--owner",
    help="Only actions of this role code, person (and the roles they held when the action "
    "was raised) or capacity.",
)
@click.option("--meeting", help="Only actions raised at this meeting.")
@click.option("--raised-from", help="Raised on or after this date (YYYY-MM-DD).")
@click.option("--raised-to", help="Raised on or before this date (YYYY-MM-DD).")
@click.option(
    "--restricted/--publishable",
    default=None,
    help="Only restricted actions; or only publishable ones, as a reader without the right "
    "sees them (no restricted note, changed field or link).",
)
@click.option("--text", help="Only actions whose text contains these words.")
@as_of_option
@axis_option
@json_option
@click.pass_context
def list_(
    ctx: click.Context,
    status: str | None,
    owner: str | None,
    meeting: str | None,
    raised_from: str | None,
    raised_to: str | None,
    restricted: bool | None,
    text: str | None,
    as_of: str | None,
    axis: str,
    as_json: bool,
) -> None:
    """Print the register (filtered; or as it stood at a past moment).

    \b
    Example:
        action-ledger list --status open --owner CC
        action-ledger list --as-of 2019-01-01 --axis occurred
    """
    with _ledger(ctx) as ledger:
        actions = _view(ledger, as_of, axis, publishable=restricted is False).register(
            status=status,
            owner=owner,
            meeting=meeting,
            raised_from=raised_from,
            raised_to=raised_to,
            restricted=restricted,
            text=text,
        )
        if as_json:
            _echo_json(list(actions))
        else:
            _show(render_register(actions))


@main.command("show")
@click.argument("action_id")
@json_option
@click.pass_context
def show_action(ctx: click.Context, action_id: str, as_json: bool) -> None:
    """Print one action and its audit trail.

    \b
    Example:
        action-ledger show ACT-2021-001
    """
    with _ledger(ctx) as ledger:
        _print_action(_view(ledger), action_id, as_json)


def _print_action(view: RegisterView, action_id: str, as_json: bool) -> None:
    """One action and its audit trail, as the view sees them."""
    action = view.get(action_id)
    entries = view.history(action_id)
    if as_json:
        _echo_json({"action": _as_json(action), "history": _as_json(list(entries))})
    else:
        _show(render_action(action))
        click.echo("\nHistory (oldest first):")
        _show(render_history(entries))


@main.command()
@click.argument("subject", required=False)
@click.option("--person", help="Erase the person of this name (instead of a SUBJECT).")
@click.option("--reason", required=True, help="Why (e.g. the request it answers); no names.")
@json_option
@click.pass_context
def erase(
    ctx: click.Context, subject: str | None, person: str | None, reason: str, as_json: bool
) -> None:
    """Erase a subject: destroy its key, so its sealed fields read "[erased]" everywhere.

    SUBJECT is action:<action id> (a restricted action's text and notes) or a person's
    subject; or give --person NAME. Needs --keys. The log is unchanged and still verifies.

    \b
    Example:
        action-ledger --keys keys.db erase action:ACT-2021-004 --reason "SAR 2024-17"
        action-ledger --keys keys.db erase --person "Jane Doe" --reason "SAR 2024-18"
    """
    with _ledger(ctx) as ledger:
        if (subject is None) == (person is None):
            raise ValidationError(
                "erase: give either SUBJECT (e.g. action:ACT-2021-004) or --person NAME",
                field="subject",
                value=subject,
            )
        if person is not None:
            if ledger.keys is None:
                raise ValidationError(
                    "erase --person needs the key store: give --keys PATH",
                    field="keys",
                )
            subject = ledger.keys.find_person(person)
            if subject is None:
                raise NotFoundError(
                    f"no key for a person named {person!r} in the key store (never "
                    "sealed, or erased already)"
                )
        assert subject is not None
        destroyed = ledger.erase(subject, actor=ctx.obj.actor, reason=reason)
        if as_json:
            _echo_json({"subject": subject, "destroyed": destroyed})
        elif destroyed:
            _show(f"erased {subject}: its key is destroyed; the log still verifies")
        else:
            _show(f"{subject} has no key (erased already, or never sealed): nothing to do")


@main.command()
@click.option(
    "--head",
    help="A head hash published earlier (all 64 characters), that must still be in the log.",
)
@click.option(
    "--chain-only",
    is_flag=True,
    help="Check the hash chain only, not that the read-model tables are the fold of the log.",
)
@click.option(
    "--signed-head",
    type=click.Path(dir_okay=False),
    help="A signed head published earlier (see sign-head): its signature must check with "
    "--public-key, and the log must hold that head at its position.",
)
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False),
    help="The signer's public key (PEM), for --signed-head.",
)
@json_option
@click.pass_context
def verify(
    ctx: click.Context,
    head: str | None,
    chain_only: bool,
    signed_head: str | None,
    public_key: str | None,
    as_json: bool,
) -> None:
    """Check the hash chain and the read models; exit 5 if anything was altered, removed or
    reordered.

    Every read-model table (actions, owners, audit_trail, meetings, attendance, links) is
    compared with the fold of the verified log; the rows that differ are listed, and
    `action-ledger rebuild` repairs them.

    With --signed-head and --public-key, also check a signed head: its signature, and that
    the chain up to its position ends at its head (events appended since are not covered).

    \b
    Example:
        action-ledger verify --head 3f1a…
        action-ledger verify --signed-head head.json --public-key opcc-signing.pem.pub
    """
    if (signed_head is None) != (public_key is None):
        raise click.UsageError(
            "--signed-head and --public-key go together: a signed head is checked with the "
            "signer's public key"
        )
    with _ledger(ctx) as ledger, _progress("Checking the hash chain") as progress:
        report = ledger.verify(head=head, progress=progress, read_models=not chain_only)
        keyed = _key_summary(ledger.store)
        signed = None
        if signed_head is not None and public_key is not None and report.ok:
            signed = _verified_signed_head(ctx, ledger, signed_head, public_key)
    if as_json:
        extra = {} if signed is None else {"signed_head": attrs.asdict(signed)}
        _echo_json({**attrs.asdict(report), **extra})
    elif report.ok:
        tables = "; the read models are the fold of the log" if report.read_models_checked else ""
        click.echo(f"ok: {report.checked} events checked; head {report.head_hash}{tables}{keyed}")
        if signed is not None:
            _show(
                f"signed head ok: position {signed.position}, head {signed.head}, signed by "
                f"{signed.signer} at {signed.signed_at} with key {signed.key}"
            )
    elif report.difference_count:
        click.echo(
            f"FAILED: {report.difference_count} read-model row(s) differ from the fold of "
            f"the log ({report.checked} events checked):",
            err=True,
        )
        for difference in report.differences:
            click.echo(f"  {difference}", err=True)
        hidden = report.difference_count - len(report.differences)
        if hidden > 0:
            click.echo(f"  … and {hidden} more", err=True)
        click.echo("repair: action-ledger rebuild", err=True)
    else:
        where = (
            "" if report.first_bad_position is None else f" at position {report.first_bad_position}"
        )
        click.echo(f"FAILED{where}: {report.reason} ({report.checked} events read)", err=True)
    if not report.ok:
        ctx.exit(EXIT_CODES["verify failed"])


def _read_signed_head(ctx: click.Context, path: str) -> SignedHead:
    """The signed head in the file ``path``; a bad file is printed and exits 2."""
    try:
        with open(path, encoding="utf-8") as handle:
            return SignedHead.loads(handle.read())
    except UnicodeDecodeError as error:
        _show(f"error: {_not_utf8(path, error)}", err=True)
    except OSError as error:
        raise click.FileError(path, hint=error.strerror or str(error)) from None
    except ActionLedgerError as error:
        _show(f"error: {error}", err=True)
    ctx.exit(EXIT_CODES["invalid input"])


def _verified_signed_head(
    ctx: click.Context, ledger: Ledger, path: str, public_key: str
) -> SignedHead:
    """The signed head in ``path``, checked with ``public_key`` against ``ledger``; a failure
    is printed and exits (5 for a signature that does not check out, 2 for a bad file)."""
    signed = _read_signed_head(ctx, path)
    try:
        verify_signed_head(signed, public_key, ledger)
    except ActionLedgerError as error:
        prefix = "FAILED: signed head: " if isinstance(error, IntegrityError) else "error: "
        _show(f"{prefix}{error}", err=True)
        ctx.exit(_exit_code(error))
    return signed


def _key_summary(store: EventStore) -> str:
    """``"; keyed: key ID from position 1, …"`` for a keyed register, else nothing."""
    schedule = keys_of(store)
    if schedule is None or not schedule.keyed:
        return ""
    keys = ", ".join(f"key {r.key_id} from position {r.from_position}" for r in schedule.records)
    return f"; keyed: {keys}"


def render_agenda(agenda: Agenda) -> str:
    """The matters arising for a meeting, as a policy officer reads them."""
    lines = [f"Matters arising for a meeting on {agenda.date.isoformat()}"]
    if agenda.previous_meeting is not None:
        m = agenda.previous_meeting
        notes = f"; from {m.source} (sha256 {m.source_sha256})" if m.source else ""
        lines.append(f"(previous meeting: {m.id}, {m.title}{notes})")
    due = agenda.due
    lines.append(f"\nOutstanding ({len(agenda.outstanding)}; {len(due)} due by the meeting):")
    for a in agenda.outstanding:
        flag = "DUE " if a in due else "    "
        lines.append(f"  {flag}{a.id}  due {_due(a)}  owners: {', '.join(map(str, a.owners))}")
        lines.extend(
            textwrap.wrap(a.text, _width() - 8, initial_indent=" " * 8, subsequent_indent=" " * 8)
        )
        if a.last_update:
            lines.extend(_indented(f"last update {_dated(a.last_update, a.last_updated_at)}"))
        if a.last_revisited_at is not None:
            lines.extend(
                _indented(
                    f"last revisited {_revisit_line(a)}"
                    + (f": {a.last_outcome}" if a.last_outcome else "")
                )
            )
    lines.append(f"\nClosed since the previous meeting, for noting ({len(agenda.closed_since)}):")
    for a in agenda.closed_since:
        lines.extend(
            textwrap.wrap(
                f"{a.id}  {a.resolution}: {a.text}",
                _width() - 2,
                initial_indent="  ",
                subsequent_indent=" " * 8,
            )
        )
    return "\n".join(lines)


def _indented(text: str) -> list[str]:
    return textwrap.wrap(text, _width() - 8, initial_indent=" " * 8, subsequent_indent=" " * 10)


def render_rag(statuses: Sequence[DueStatus]) -> str:
    """Open actions with their RAG status."""
    if not statuses:
        return "(none)"
    lines = []
    for s in statuses:
        left = (
            f"{s.days_overdue} days overdue"
            if s.rag == "red"
            else ("no due date" if s.days_left is None else f"due in {s.days_left} days")
        )
        lines.append(
            f"{s.rag.upper():<6}{s.action.id}  due {_due(s.action)}  {left}  "
            f"owners: {', '.join(map(str, s.action.owners))}"
        )
    return "\n".join(lines)


def render_chain(chain: Sequence[ChainLink]) -> str:
    """A chain of linked actions, oldest first, with the decisions that linked them."""
    lines = []
    for link in chain:
        a = link.action
        lines.extend(
            textwrap.wrap(
                f"{a.id}  {a.status}  raised {a.raised_at.in_tz(LONDON).date()}: {a.text}",
                _width(),
                subsequent_indent="    ",
            )
        )
        for d in link.links:
            verb = "follows" if d.kind == "follows" else "superseded by"
            day = d.occurred_at.in_tz(LONDON).date().isoformat()
            if d.meeting is None:
                when = day
            elif d.meeting == day:  # the meeting id is its date: say it once
                when = f"at the meeting of {day}"
            else:
                when = f"{day} at meeting {d.meeting}"
            lines.append(f"    {d.action} {verb} {d.other} — {when} (event {d.event_id[:8]})")
    return "\n".join(lines)


@main.command()
@click.argument("meeting_date")
@publishable_option
@as_of_option
@axis_option
@json_option
@click.pass_context
def agenda(
    ctx: click.Context,
    meeting_date: str,
    publishable: bool,
    as_of: str | None,
    axis: str,
    as_json: bool,
) -> None:
    """Print the outstanding matters / matters arising for a meeting on MEETING_DATE.

    \b
    Example:
        action-ledger agenda 2021-10-04
    """
    with _ledger(ctx) as ledger:
        found = _view(ledger, as_of, axis, publishable=publishable).agenda(
            meeting_date, publishable=publishable
        )
        if as_json:
            _echo_json(found)
        else:
            _show(render_agenda(found))


@main.command()
@click.argument("on_date", required=False)
@click.option(
    "--amber-days",
    type=int,
    default=14,
    show_default=True,
    help="Open actions due within this many days are amber.",
)
@click.option("--all", "show_all", is_flag=True, help="Every open action with its RAG status.")
@publishable_option
@as_of_option
@axis_option
@json_option
@click.pass_context
def overdue(
    ctx: click.Context,
    on_date: str | None,
    amber_days: int,
    show_all: bool,
    publishable: bool,
    as_of: str | None,
    axis: str,
    as_json: bool,
) -> None:
    """Print the open actions past their due date on ON_DATE (default today).

    \b
    Example:
        action-ledger overdue 2021-10-04 --all --amber-days 28
    """
    with _ledger(ctx) as ledger:
        view = _view(ledger, as_of, axis, publishable=publishable)
        found = (view.rag if show_all else view.overdue)(
            on_date, amber_days=amber_days, publishable=publishable
        )
        if as_json:
            _echo_json(list(found))
        else:
            _show(render_rag(found))


@main.command()
@click.argument("action_id")
@json_option
@click.pass_context
def chain(ctx: click.Context, action_id: str, as_json: bool) -> None:
    """Print the actions linked to ACTION_ID (follows / superseded by), oldest first.

    \b
    Example:
        action-ledger chain ACT-2021-001
    """
    with _ledger(ctx) as ledger:
        found = _view(ledger).chain(action_id)
        if as_json:
            _echo_json(list(found))
        else:
            _show(render_chain(found))


@contextmanager
def _progress(label: str) -> Iterator[Progress]:
    """A progress bar on stderr, driven by a ``progress(done, total)`` callback; shown only
    for work of more than a few thousand events."""
    bar: Any = None
    seen = 0

    def progress(done: int, total: int) -> None:
        nonlocal bar, seen
        if bar is None:
            if total < 5000:
                return
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(done - seen)
        seen = done

    try:
        yield progress
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


@main.command()
@click.option(
    "--keyed",
    is_flag=True,
    help="Seal the hash chain with the key of --key-file (HMAC): a keyed register is opened "
    "only with its key.",
)
@click.pass_context
def init(ctx: click.Context, keyed: bool) -> None:
    """Create an empty register file (nothing happens to one that exists).

    With a key (--key-file), the new register is keyed: its hash chain is an HMAC under the
    key, and it is opened only with that key.

    \b
    Example:
        action-ledger --db register.db init
        action-ledger new-key --to register.key
        action-ledger --db keyed.db --key-file register.key init --keyed
    """
    db = ctx.obj.db
    if keyed and not _has_key(ctx):
        _show(
            "error: init --keyed needs a key: make one with 'action-ledger new-key --to "
            f"register.key', then give --key-file register.key (or set {KEY_FILE_ENV})",
            err=True,
        )
        ctx.exit(EXIT_CODES["invalid input"])
    existed = db != ":memory:" and Path(db).exists()
    with _ledger(ctx, create=True) as ledger:
        count = ledger.store.last_position()
        schedule = keys_of(ledger.store)
    kind = "register"
    if schedule is not None and schedule.keyed:
        kind = f"keyed register (current key {schedule.records[-1].key_id})"
    if existed:
        click.echo(f"{db} is already a {kind} ({count} events); nothing changed")
    else:
        click.echo(f"created an empty {kind} in {db}")


def _has_key(ctx: click.Context) -> bool:
    settings: _Settings = ctx.obj
    return bool(settings.key_file) or bool(os.environ.get(KEY_ENV, "").strip())


@main.command("new-key")
@click.option(
    "--to",
    "key_file",
    type=click.Path(dir_okay=False),
    help="Add the key as the last line of this key file (made readable by you alone if new), "
    "instead of printing it.",
)
@click.pass_context
def new_key(ctx: click.Context, key_file: str | None) -> None:
    """Make a new random chain key (256 bits): print it, or add it to a key file.

    Keep the key file private and backed up apart from the register: without it a keyed
    register can be neither written nor verified. Adding a key to the key file of a keyed
    register is the first step of a rotation (then: rotate-key).

    \b
    Example:
        action-ledger new-key --to register.key
        action-ledger --db register.db --key-file register.key init --keyed
    """
    key = secrets.token_urlsafe(32)
    if key_file is None:
        click.echo(key)
        return
    try:
        existing = Keyring.read(key_file) if Path(key_file).exists() else None
        fd = os.open(key_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(key + "\n")
    except ActionLedgerError as error:
        _show(f"error: {error}", err=True)
        ctx.exit(_exit_code(error))
    except OSError as error:
        raise click.FileError(key_file, hint=error.strerror or str(error)) from None
    count = 1 if existing is None else len(existing.keys) + 1
    click.echo(
        f"added key {key_id(key.encode())} to {key_file} ({count} "
        f"{'key' if count == 1 else 'keys'}; the last one seals new events)"
    )


@main.command("rotate-key")
@click.pass_context
def rotate_key(ctx: click.Context) -> None:
    """Start sealing with the newest key of the key file (its last line).

    The key before it must be the register's current key. Events already stored keep the
    key that sealed them (nothing is rewritten); keep the old keys in the key file: verify
    needs them. Whoever holds only an old key cannot seal events after the rotation.

    \b
    Example:
        action-ledger new-key --to register.key
        action-ledger --key-file register.key rotate-key
    """
    settings: _Settings = ctx.obj
    try:
        settings.check_write()  # a rotation changes the register: keepers only
        keyring = settings.keyring
        if keyring is None or len(keyring.keys) < 2:
            raise ValidationError(
                "rotate-key needs the key file with the register's current key and, on the "
                "last line, the new one: add it with 'action-ledger new-key --to KEYFILE' and "
                "give --key-file KEYFILE",
                field="key",
            )
        with Ledger.open(
            settings.db, schema=settings.schema, create=False, key=Keyring(keyring.keys[:-1])
        ) as ledger:
            record = ledger.rotate_key(keyring.current)
    except ActionLedgerError as error:
        _show(f"error: {error}", err=True)
        ctx.exit(_exit_code(error))
    click.echo(
        f"rotated: events from position {record.from_position} on are sealed with key "
        f"{record.key_id}; keep the older keys in the key file, verify needs them"
    )


@main.group("sign-key")
def sign_key() -> None:
    """Ed25519 signing keys, to sign published heads (see sign-head)."""


@sign_key.command("new")
@click.option(
    "--to",
    "private_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The private key file to write (PEM, readable by you alone); never overwritten.",
)
@click.option(
    "--public",
    "public_file",
    type=click.Path(dir_okay=False),
    help="The public key file to write (PEM), to publish [default: the --to file + '.pub'].",
)
@click.option(
    "--encrypt",
    is_flag=True,
    help=f"Encrypt the private key with a passphrase: ${PASSPHRASE_ENV}, else asked for.",
)
@click.pass_context
def sign_key_new(
    ctx: click.Context, private_file: str, public_file: str | None, encrypt: bool
) -> None:
    """Make a new Ed25519 key pair: a private key to sign heads, and its public key, which
    anyone checking a signed head needs.

    Keep the private key with the person or office that vouches for the register, apart from
    the register and its chain key; publish the public key (or its fingerprint).

    \b
    Example:
        action-ledger sign-key new --to opcc-signing.pem
    """
    passphrase = None
    if encrypt:
        passphrase = os.environ.get(PASSPHRASE_ENV) or click.prompt(
            "Passphrase for the private key", hide_input=True, confirmation_prompt=True
        )
    try:
        print_ = generate_signing_key(private_file, public_file, passphrase=passphrase)
    except ActionLedgerError as error:
        _show(f"error: {error}", err=True)
        ctx.exit(_exit_code(error))
    public = public_file or f"{private_file}.pub"
    _show(
        f"wrote the private key to {private_file} and the public key to {public} "
        f"(fingerprint {print_})"
    )


@main.command("sign-head")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(dir_okay=False),
    help=f"The signer's private key (PEM; see sign-key new). An encrypted one's passphrase: "
    f"${PASSPHRASE_ENV}, else asked for.",
)
@click.option("--signer", required=True, help="Who vouches for the head, e.g. 'OPCC'.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (default stdout).")
@click.pass_context
def sign_head_(ctx: click.Context, key_file: str, signer: str, output: str | None) -> None:
    """Sign the register's head: verify its hash chain, then write a signed head (JSON) to
    publish beside the action log, checked later with verify --signed-head.

    The signature covers the events up to the head, not those appended after it.

    \b
    Example:
        action-ledger sign-head --key opcc-signing.pem --signer OPCC --output head.json
    """
    passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        encrypted = b"ENCRYPTED" in Path(key_file).read_bytes()
    except OSError as error:
        raise click.FileError(key_file, hint=error.strerror or str(error)) from None
    if encrypted and passphrase is None:
        passphrase = click.prompt("Passphrase for the private key", hide_input=True, err=True)
    with _ledger(ctx) as ledger:
        try:
            signed = sign_head(ledger, key_file, signer=signer, passphrase=passphrase)
        except ActionLedgerError as error:
            _show(f"error: {error}", err=True)
            ctx.exit(_exit_code(error))
    with _output(output) as out:
        out.write(signed.dumps())
    _show(
        f"signed the head at position {signed.position} ({signed.head}) as {signed.signer} "
        f"with key {signed.key}" + (f"; wrote {output}" if output else ""),
        err=True,
    )


@main.command()
@click.argument("action_id")
@click.argument("event_id")
@click.option("--reason", required=True, help="Why the event was wrong.")
@click.option("--text", help="The corrected action text (of a raise or update).")
@click.option("--owner", "owners", multiple=True, help="The corrected owner(s); repeatable.")
@click.option("--due", help="The corrected due date or words.")
@click.option("--meeting", help="The corrected meeting id (of a raise).")
@click.option("--item", help="The corrected agenda item.")
@click.option("--note", help="The corrected note (of an update or close).")
@click.option("--outcome", help="The corrected outcome (of a revisit).")
@click.option("--assured/--not-assured", default=None, help="The corrected assurance.")
@click.option(
    "--occurred-at",
    help="When the corrected event really happened: a London date-time, or a date (then "
    "the time of --meeting that day, else midday).",
)
@json_option
@click.pass_context
def correct(
    ctx: click.Context,
    action_id: str,
    event_id: str,
    reason: str,
    text: str | None,
    owners: tuple[str, ...],
    due: str | None,
    meeting: str | None,
    item: str | None,
    note: str | None,
    outcome: str | None,
    assured: bool | None,
    occurred_at: str | None,
    as_json: bool,
) -> None:
    """Correct an event of ACTION_ID entered wrongly; both stay in its history.

    EVENT_ID is the event's id from `show` (its first 8 characters are enough).

    \b
    Example:
        action-ledger correct ACT-2018-005 84623f12 --owner DCC --reason "Minuted wrongly"
    """
    fields: dict[str, Any] = {
        "text": text,
        "owners": list(owners) or None,
        "due": due,
        "meeting": meeting,
        "item": item,
        "note": note,
        "outcome": outcome,
        "assured": assured,
        "occurred_at": occurred_at,
    }
    given = {k: v for k, v in fields.items() if v is not None}
    with _ledger(ctx) as ledger:
        if not given:
            raise ValidationError(
                "give at least one corrected value (--text, --owner, --due, --meeting, "
                "--item, --note, --outcome, --assured/--not-assured or --occurred-at)",
                field="fields",
            )
        full = _event_id_of(ledger, action_id, event_id)
        said = None
        if occurred_at is not None:
            given["occurred_at"], said = _occurred_at(ledger, occurred_at, meeting)
        action = ledger.correct_event(action_id, full, reason=reason, actor=ctx.obj.actor, **given)
        _note(said)
        _report(action, as_json)


def _event_id_of(ledger: Ledger, action_id: str, prefix: str) -> str:
    """The full id of the action's event that ``prefix`` starts (at least 8 characters)."""
    ids = [entry.event_id for entry in ledger.history(action_id)]
    found = [i for i in ids if i.startswith(prefix.strip().lower())]
    if len(prefix.strip()) < 8 or len(found) != 1:
        raise ValidationError(
            f"event {prefix!r} does not name one event of {action_id}: give its id, or at "
            "least its first 8 characters, as `show` prints them",
            field="event_id",
            value=prefix,
        )
    return found[0]


@main.command()
@click.argument("action_id", required=False)
@click.option(
    "--as-of",
    help="As the register stood then: a date (end of that day) or a London date-time. "
    "Default: now.",
)
@axis_option
@json_option
@click.pass_context
def history(
    ctx: click.Context, action_id: str | None, as_of: str | None, axis: str, as_json: bool
) -> None:
    """Print ACTION_ID and its audit trail (as `show` does), or without ACTION_ID the
    register; with --as-of, as either stood at a past moment.

    \b
    Example:
        action-ledger history ACT-2018-005
        action-ledger history ACT-2018-005 --as-of 2018-12-31 --axis occurred
        action-ledger history --as-of 2022-03-01
    """
    with _ledger(ctx) as ledger:
        view = _view(ledger, as_of, axis)
        if action_id is None:
            actions = view.register()
            if as_json:
                _echo_json(list(actions))
            else:
                _show(render_register(actions))
            return
        _print_action(view, action_id, as_json)


@main.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "markdown", "csv", "events"]),
    required=True,
    help="html/markdown: the published action log; csv: the register for a spreadsheet; "
    "events: the whole event log as JSON Lines (a backup).",
)
@click.option("--meeting", help="Only the actions raised at this meeting (html, markdown, csv).")
@click.option("--raised-from", help="Only actions raised on or after this date.")
@click.option("--raised-to", help="Only actions raised on or before this date.")
@click.option("--title", help="The title of a published log.")
@click.option(
    "--publishable",
    is_flag=True,
    help="csv: only what may be published (html and markdown always are).",
)
@click.option(
    "--signed-head",
    type=click.Path(dir_okay=False),
    help="html: show this signed head (see sign-head) in the footer; it must be of the "
    "register's current head.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (default stdout).")
@click.pass_context
def export(
    ctx: click.Context,
    fmt: str,
    meeting: str | None,
    raised_from: str | None,
    raised_to: str | None,
    title: str | None,
    publishable: bool,
    signed_head: str | None,
    output: str | None,
) -> None:
    """Publish the action log, write the register as CSV, or back up the event log.

    Published logs (html, markdown) leave out restricted actions, restricted notes, the
    changes made in restricted updates and links to restricted actions, and end with the
    register's head hash and event count, for `verify --head`. The CSV holds everything
    (with a `restricted` column) unless `--publishable` is given; then it leaves out what
    the published logs leave out. With --signed-head (html), the page's footer also shows who
    signed its head, and the signed head to check with verify --signed-head.

    \b
    Example:
        action-ledger export --format html --meeting 2021-10-04 --output action-log.html
        action-ledger export --format html --signed-head head.json --output action-log.html
        action-ledger export --format csv --publishable --output tracker.csv
        action-ledger export --format events --output backup.jsonl
    """
    from . import exports
    from ._backup import export_events

    if publishable and fmt == "events":
        raise click.UsageError(
            "--publishable: the event log is the whole register and cannot be made "
            "publishable; publish with --format html, markdown or csv"
        )
    if signed_head is not None and fmt != "html":
        raise click.UsageError(
            "--signed-head: only the html page shows a signed head; for markdown, publish "
            "the signed head file beside the page"
        )
    signed = None if signed_head is None else _read_signed_head(ctx, signed_head)
    with _ledger(ctx) as ledger, _output(output) as out:
        scope: Scope = ctx.obj.scope
        if fmt == "events" and not scope.restricted:
            raise PermissionDeniedError(
                f"scope {scope.name!r} may not export the event log (it holds restricted "
                "matters); publish with --format html, markdown or csv"
            )
        publishable = publishable or not scope.restricted
        if fmt == "events":
            with _progress("Exporting the event log") as progress:
                count = export_events(ledger.store, out, progress=progress)
            if output:
                click.echo(f"exported {count} events to {output}", err=True)
            return
        selection = {"meeting": meeting, "raised_from": raised_from, "raised_to": raised_to}
        if fmt == "csv":
            only = {"restricted": False} if publishable else {}
            what = f"{exports.write_csv(ledger, out, **selection, **only)} actions"
        else:
            if fmt == "html":
                page = exports.publish_html(ledger, title=title, signed_head=signed, **selection)
            else:
                page = exports.publish_markdown(ledger, title=title, **selection)
            out.write(page)
            what = f"the {fmt} action log"
        if output:
            click.echo(f"wrote {what} to {output}", err=True)


@contextmanager
def _output(path: str | None) -> Iterator[Any]:
    if path is None:
        yield sys.stdout
        return
    try:
        handle = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise click.FileError(path, hint=exc.strerror or str(exc)) from None
    with handle:
        yield handle


@main.command("import")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "events", "minutes"]),
    required=True,
    help="csv: new actions and updates in the export's columns (all or nothing); events: "
    "restore a JSON Lines backup into an empty register; minutes: a meeting's notes, read "
    "into a draft to review (--output), then recorded (--apply).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="minutes: write the draft read from the notes to this file (TOML), to review.",
)
@click.option(
    "--apply",
    "apply_draft",
    type=click.Path(exists=True, dir_okay=False),
    help="minutes: record this reviewed draft file (all or nothing; again records nothing).",
)
@click.argument("source", type=click.Path(exists=True, dir_okay=False), required=False)
@json_option
@click.pass_context
def import_(
    ctx: click.Context,
    fmt: str,
    source: str | None,
    output: str | None,
    apply_draft: str | None,
    as_json: bool,
) -> None:
    """Import a spreadsheet of new actions and updates, restore an event-log backup, or
    import a meeting's notes (read into a draft to review, then applied).

    \b
    Example:
        action-ledger import --format csv tracker.csv
        action-ledger --db restored.db import --format events backup.jsonl
        action-ledger import --format minutes notes-2021-10.docx --output draft.toml
        action-ledger import --format minutes --apply draft.toml
    """
    _require_write(ctx)
    from . import exports
    from ._backup import import_events

    if fmt == "minutes":
        _import_minutes(ctx, source, output, apply_draft, as_json)
        return
    if source is None or output is not None or apply_draft is not None:
        raise click.UsageError(
            f"--format {fmt} takes the file to import (SOURCE) and no --output or --apply "
            "(those are for --format minutes)"
        )
    with _ledger(ctx, create=True) as ledger, open(source, encoding="utf-8", newline="") as handle:
        if fmt == "events":
            with _progress("Restoring the event log") as progress:
                try:
                    report = import_events(ledger.store, handle, progress=progress)
                except UnicodeDecodeError as error:
                    raise _not_utf8(source, error) from None
            ledger.refresh()
            if as_json:
                _echo_json(report)
            else:
                click.echo(
                    f"restored {report.checked} events; hash chain "
                    f"{'ok' if report.ok else 'FAILED'}; head {report.head_hash}"
                )
            if not report.ok:
                ctx.exit(EXIT_CODES["verify failed"])
            return
        result = exports.import_csv(ledger, _utf8(source, handle), actor=ctx.obj.actor)
        if as_json:
            _echo_json(result)
        else:
            click.echo(
                f"{result.rows} rows: raised {len(result.raised)} "
                f"({', '.join(result.raised) or '-'}), updated {len(result.updated)} "
                f"({', '.join(result.updated) or '-'})"
            )


def _import_minutes(
    ctx: click.Context,
    notes: str | None,
    output: str | None,
    draft_file: str | None,
    as_json: bool,
) -> None:
    """``import --format minutes``: NOTES --output DRAFT, or --apply DRAFT."""
    from .minutes import match_matters, preview, write_draft

    if (notes is None) == (draft_file is None) or (notes is not None) != (output is not None):
        raise click.UsageError(
            "--format minutes takes either the notes and --output DRAFT (to write a draft to "
            "review) or --apply DRAFT alone (to record a reviewed draft), e.g. "
            "'import --format minutes notes.docx --output draft.toml'"
        )
    if draft_file is not None:
        with _ledger(ctx, create=True) as ledger:
            result = ledger.apply(draft_file, actor=ctx.obj.actor)
            if as_json:
                _echo_json(result)
                return
            if result.events == 0:
                _show(
                    f"nothing new: {draft_file} was applied already (meeting {result.meeting_id})"
                )
                return
            meeting = ledger.meeting(result.meeting_id)
            lines = [
                f"recorded {result.events} events: meeting {meeting.id} ({meeting.title}) "
                f"from {meeting.source} (sha256 {meeting.source_sha256})",
                f"raised {len(result.raised)}: {', '.join(result.raised) or '-'}",
            ]
            if result.brought_forward:
                lines.append(
                    f"brought forward as new actions {len(result.brought_forward)}: "
                    + ", ".join(result.brought_forward)
                )
            lines.append(f"revisited {len(result.revisited)}: {', '.join(result.revisited) or '-'}")
            lines.append(f"closed {len(result.closed)}: {', '.join(result.closed) or '-'}")
            _show("\n".join(lines))
        return
    assert notes is not None
    assert output is not None
    with _ledger(ctx) as ledger:
        try:
            from .minutes._parse import read_minutes  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise ValidationError(
                "reading meeting notes needs action_ledger.minutes._parse, which this "
                "installation lacks; write the draft by hand and use --apply DRAFT",
                field="format",
            ) from None
        draft = match_matters(read_minutes(notes), ledger)
        try:
            write_draft(output, draft)
        except OSError as error:
            raise ValidationError(
                f"cannot write the draft to {output!r}: {error.strerror}; give a writable path",
                field="output",
                value=output,
            ) from None
        if as_json:
            _echo_json(draft)
        else:
            _show(
                preview(draft) + f"\nwrote the draft to {output}: review it, then "
                f"'action-ledger import --format minutes --apply {output}'"
            )


@main.command()
@click.option("--from", "source", required=True, help="The register to copy: a file or URL.")
@click.option("--to", "target", required=True, help="An empty register: a file or URL.")
@click.option("--from-schema", help="The source's PostgreSQL schema (default: --schema).")
@click.option("--to-schema", help="The target's PostgreSQL schema (default: --schema).")
@json_option
@click.pass_context
def copy(
    ctx: click.Context,
    source: str,
    target: str,
    from_schema: str | None,
    to_schema: str | None,
    as_json: bool,
) -> None:
    """Copy a register, chain intact, into an empty one (SQLite ⇄ PostgreSQL).

    The source's chain is verified first; the events are restored with their positions,
    times and hashes; the target's chain is verified and must end at the same head.

    \b
    Example:
        action-ledger copy --from register.db --to postgresql://opcc@db/registers
        action-ledger copy --from postgresql://opcc@db/registers --to backup.db
    """
    _require_write(ctx)
    schema = ctx.obj.schema
    try:
        key = ctx.obj.keyring
        source_store = open_store(source, schema=from_schema or schema, create=False, key=key)
        try:
            target_store = open_store(target, schema=to_schema or schema, key=key)
            try:
                result = _copy(source_store, target_store, source, target)
            finally:
                target_store.close()
        finally:
            source_store.close()
        # Builds its tables.
        with Ledger.open(target, schema=to_schema or schema, key=key) as copied:
            copied.register()
    except ActionLedgerError as error:
        _show(f"error: {error}", err=True)
        ctx.exit(_exit_code(error))
    if as_json:
        _echo_json(result)
    else:
        click.echo(
            f"copied {result['events']} events from {source} to {target}; head "
            f"{result['head']} verified at both ends"
        )


def _copy(
    source: EventStore, target: EventStore, source_name: str, target_name: str
) -> dict[str, Any]:
    with _progress(f"Checking {source_name}") as progress:
        before = verify_chain(_each(source, progress), key=source.key, keys=keys_of(source))
    if not before.ok:
        raise IntegrityError(
            f"{source_name} does not verify (position {before.first_bad_position}: "
            f"{before.reason}); nothing was copied"
        )
    with _progress(f"Copying to {target_name}") as progress:
        schedule = keys_of(source)
        if schedule is not None and keys_of(target) is not None:
            restore: Any = target.restore  # the backends' restore takes the key records
            restore(_each(source, progress), keys=schedule.records)
        else:
            target.restore(_each(source, progress))
    with _progress(f"Checking {target_name}") as progress:
        after = verify_chain(_each(target, progress), key=target.key, keys=keys_of(target))
    if not after.ok or (after.checked, after.head_hash) != (before.checked, before.head_hash):
        raise IntegrityError(
            f"{target_name} does not end at the source's head after the copy: "
            f"{after.checked} events, head {after.head_hash}, {after.reason or 'chain ok'}"
        )
    return {
        "events": after.checked,
        "head": after.head_hash,
        "from": source_name,
        "to": target_name,
    }


def _each(store: EventStore, progress: Progress) -> Iterator[StoredEvent]:
    total = store.last_position()
    progress(0, total)
    for done, stored in enumerate(store.read_all(), 1):
        if done % 1000 == 0:
            progress(done, total)
        yield stored
    progress(total, total)


@main.command()
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    """Rebuild every read-model table from the event log, with a progress bar.

    \b
    Example:
        action-ledger --db register.db rebuild
    """
    with _ledger(ctx) as ledger, _progress("Rebuilding the read models") as progress:
        applied = ledger.rebuild(progress=progress)
        click.echo(
            f"rebuilt: {applied} events applied; read models at position "
            f"{ledger.read_model.position}"
        )


@main.command()
@click.option("--fresh", is_flag=True, help="Delete the register file first, if it exists.")
@click.option("--action", "action_id", default=None, help="Whose audit trail to print.")
@click.pass_context
def demo(ctx: click.Context, fresh: bool, action_id: str | None) -> None:
    """Build a register from three real West Mercia meetings and print it.

    \b
    Example:
        action-ledger --db demo.db demo --fresh
    """
    from ._examples import west_mercia

    _require_write(ctx)
    db = ctx.obj.db
    if fresh and db != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)
    with _ledger(ctx, create=True) as ledger:
        if ledger.store.last_position():
            click.echo(f"error: {db} is not empty; use --fresh to rebuild it", err=True)
            ctx.exit(EXIT_CODES["invalid input"])
        west_mercia.record(ledger, actor=ctx.obj.explicit_actor or "Jackie Irvin")
        meetings = ledger.meetings()
        click.echo(f"Recorded {len(meetings)} meetings into {db}:")
        for m in meetings:
            click.echo(f"  {m.id}  {m.title} (chair {m.chair})")
        click.echo("\nThe register:")
        _show(render_register(ledger.register()))
        superseded = [a for a in ledger.register() if a.resolution == "superseded"]
        chosen = action_id or (superseded[0].id if superseded else ledger.register()[0].id)
        click.echo(f"\nAudit trail of {chosen}:")
        _show(render_action(ledger.get(chosen)))
        click.echo("")
        _show(render_history(ledger.history(chosen)))
        report = ledger.verify()
        click.echo(
            f"\nHash chain: {'ok' if report.ok else 'FAILED'}, {report.checked} events, "
            f"head {report.head_hash}"
        )
        click.echo(f"\nTry: action-ledger --db {db} show {chosen}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
