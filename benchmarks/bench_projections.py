"""Persisted read models at 1,000,000 events: rebuild speed and memory, query latency.

Generates a realistic register (see "The register" below) of 1,000,000 events in 100,000
actions (``--events N`` / ``--actions A`` change it; ``--quick`` uses 100,000 events), plus a
10,000-event register for the small size, then measures:

* **rebuild of all read models from zero**, events/s, in a **fresh subprocess**: a caught-up
  ``Ledger.open(path)``, then ``ledger.rebuild()`` (drop every read-model table, build them
  again from the whole log), timed alone. Beside it, in its own fresh subprocess, the
  eventsourcing library's *decoded notification-log read* of a log with the same number of
  events: ``app.recorder.select_notifications(start, limit=1000)`` pages over the whole log,
  each notification turned into a domain event with ``app.mapper.to_domain_event(n)``, nothing
  folded. Target: ours ≥ 1.5× theirs. Also reported: the catch-up that the first
  ``Ledger.open(path)`` after generation does (from an empty read model, in a subprocess of its
  own, before the rebuild's).
* **peak RSS of a rebuild** (``ru_maxrss`` in the subprocess, cross-checked with ``VmHWM``) at
  every generated size (10,000, 100,000 and 1,000,000 events): it must be bounded, not
  proportional to the log. Target: < 100 MB and roughly flat.
* **query latency**, p50 and p99, at 10,000 and at 1,000,000 events: ``get``, ``history``,
  ``as_of(mid-span, axis="occurred").get`` and ``as_of(now, axis="recorded").get`` on random
  existing actions (target: p50 < 2 ms at 1,000,000 events); ``agenda(date)`` and
  ``overdue(date)`` on the date of the next meeting after the register's last one (reported
  with the number of actions they return; no target). ``get`` is set beside eventsourcing's
  ``app.repository.get(id)`` on its log of the same size.

The register: monthly meetings (``MeetingRecorded`` in ``meeting:<date>`` streams, first
Monday of the month, 120 of them from January 2015); each meeting raises its share of the
actions; an action then gets updates (now and then changing its due date or owners) and
revisits at later meetings over its life (log-normal, median ~2.5 months), and most are closed
(completed, withdrawn or superseded); some stay open because they were raised recently, a few
because they were forgotten. Events are appended in the order they occurred, so the events of
an action lie close together in the log, as in a real register. About 10 events per action.

Generation appends with ``ledger.store.append_many`` (one event per batch, 2,000 events per
transaction) on a ``Ledger`` opened with ``synchronous="NORMAL"`` on a fresh file, so its
catch-up on open is trivial. ``append_many`` does not update the read models: they stay empty
until the next ``Ledger.open`` catches them up (measured) and are then rebuilt (measured).
Peak RSS comes from subprocesses started through a tiny launcher, as in ``bench_replay_1m``
(Linux carries ``ru_maxrss`` over ``fork`` + ``exec``). Databases go to a temporary directory unless
``--keep PATH`` is given (the largest register at PATH, the others beside it; reused if
present, without regenerating).

Run: ``python benchmarks/bench_projections.py [--quick] [--events N] [--actions A]
[--samples K] [--keep PATH] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import heapq
import itertools
import json
import math
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common as c
import pendulum

from action_ledger import Ledger
from action_ledger._clock import UTC, format_utc
from action_ledger._codec import ACTION_PREFIX, MEETING_PREFIX, encode
from action_ledger._due import Due
from action_ledger._projections import action_from_row
from action_ledger._values import Attendee, Owner
from action_ledger.events import (
    ActionClosed,
    ActionRaised,
    ActionRevisited,
    ActionUpdated,
    Event,
    MeetingRecorded,
)

RSS_LIMIT_MB = 100.0
LATENCY_LIMIT_MS = 2.0
REBUILD_TARGET = 1.5
SMALL_EVENTS = 10_000
APPEND_CHUNK = 2_000  # events per append_many transaction while generating
ES_EVENTS_PER_ACTION = 10

# -- the generated register ------------------------------------------------------------------

MEETINGS = 120  # monthly, from January 2015 (fewer for a very small register)
FIRST_MONTH = (2015, 1)
STUCK = 0.025  # share of actions that are forgotten: never closed, no events after a while
LIFE_MEDIAN_DAYS = 75.0  # an action's life, raise to close: log-normal
LIFE_SIGMA = 0.9
DAY = 86_400

ROLES = (
    ("PCC", "Police and Crime Commissioner", "John Campion"),
    ("DPCC", "Deputy Police and Crime Commissioner", "Tracey Onslow"),
    ("CEx", "Chief Executive, OPCC", "Andy Champness"),
    ("CC", "Chief Constable", "Pippa Mills"),
    ("DCC", "Deputy Chief Constable", "Julian Moss"),
    ("ACC", "Assistant Chief Constable", "Rachel Jones"),
    ("T/ACC", "Temporary Assistant Chief Constable", "Grant Wilson"),
    ("Ch Supt", "Chief Superintendent", "Sue Thomas"),
    ("CFO", "Chief Finance Officer", "Rachel Hartland"),
)
OWNER_ROLES = ("CC", "DCC", "ACC", "T/ACC", "Ch Supt", "CFO", "CEx", "PCC")
VERBS = (
    "report on",
    "provide an update on",
    "review",
    "present a plan for",
    "share the findings of",
    "bring a paper on",
    "confirm the timescales for",
    "assure the PCC on",
)
TOPICS = (
    "the homicide review timeline",
    "stop and search disproportionality",
    "101 call handling times",
    "the rural crime strategy",
    "officer wellbeing and sickness absence",
    "domestic abuse repeat victimisation",
    "the custody inspection recommendations",
    "the estates rationalisation programme",
    "fleet replacement costs",
    "serious organised crime disruption",
    "the victim satisfaction survey",
    "the digital evidence backlog",
    "neighbourhood policing vacancies",
    "the HMICFRS areas for improvement",
    "use of force recording",
)
ACTORS = ("Jackie Irvin", "Sam Weller", "Priya Shah")
_FILLER = (
    "The force reports progress against the plan agreed at the meeting; the lead officer "
    "will brief the PCC and the next step is recorded in the minutes."
)


@dataclass(frozen=True)
class MeetingPlan:
    id: str
    held: int  # epoch seconds
    date: pendulum.Date


def _moment(ts: int) -> pendulum.DateTime:
    d = _dt.datetime.fromtimestamp(ts, _dt.UTC)
    return pendulum.DateTime(d.year, d.month, d.day, d.hour, d.minute, d.second, tzinfo=UTC)


def _day_of(ts: int) -> pendulum.Date:
    d = _moment(ts).in_tz("Europe/London")
    return pendulum.Date(d.year, d.month, d.day)


def _first_monday(year: int, month: int) -> pendulum.Date:
    first = pendulum.Date(year, month, 1)
    return first.add(days=(7 - first.weekday()) % 7)


def _meetings(n: int) -> list[MeetingPlan]:
    year, month = FIRST_MONTH
    found = []
    for _ in range(n):
        day = _first_monday(year, month)
        held = pendulum.datetime(day.year, day.month, day.day, 10, 30, tz="Europe/London")
        found.append(MeetingPlan(id=day.isoformat(), held=int(held.timestamp()), date=day))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


class Register:
    """A generated register: the plan of every action, and its events in occurred order.

    Deterministic for a seed (except the event ids, which are random UUIDs). Memory stays
    bounded while the events are produced: only the future events of the actions still active
    are held (in a heap ordered by occurred time), as small tuples.
    """

    def __init__(self, n_events: int, n_actions: int, seed: int) -> None:
        rng = random.Random(seed)
        self.rng = rng
        n_meetings = max(1, min(MEETINGS, n_events // 50))
        self.meetings = _meetings(n_meetings)
        self.n_events, self.n_actions = n_events, n_actions
        self.end = self.meetings[-1].held + 20 * DAY  # nothing occurs after this
        action_events = n_events - n_meetings
        m = len(self.meetings)
        a = n_actions
        self.meeting_of = [i * m // a for i in range(a)]
        self.first_of_meeting = [math.ceil(k * a / m) for k in range(m + 1)]
        self.ids: list[str] = []
        per_year: dict[int, int] = {}
        for i in range(a):
            year = self.meetings[self.meeting_of[i]].date.year
            per_year[year] = per_year.get(year, 0) + 1
            self.ids.append(f"ACT-{year}-{per_year[year]:05d}")
        # Raised at its meeting, 2 s apart in agenda order; when its activity ends, and
        # whether it ends with a close.
        self.raised = [
            self.meetings[k].held + 60 + 2 * (i - self.first_of_meeting[k])
            for i, k in enumerate(self.meeting_of)
        ]
        self.window_end: list[int] = []
        self.closed: list[bool] = []
        self.stuck: list[bool] = []
        for i in range(a):
            life = int(
                min(900.0, max(7.0, rng.lognormvariate(math.log(LIFE_MEDIAN_DAYS), LIFE_SIGMA)))
                * DAY
            )
            stuck = rng.random() < STUCK
            self.stuck.append(stuck)
            ends = self.raised[i] + life
            self.closed.append(not stuck and ends <= self.end)
            self.window_end.append(min(ends, self.end))
        # Events per action: the raise (and close) plus extra events, more for longer lives;
        # the total is exactly n_events.
        base = [1 + int(closed) for closed in self.closed]
        extra = action_events - sum(base)
        if extra < 0:
            raise SystemExit(
                f"{n_events:,} events are too few for {n_actions:,} actions and "
                f"{n_meetings} meetings (each action needs 1-2 events)"
            )
        weights = [
            min(8.0, max(0.3, (self.window_end[i] - self.raised[i]) / (30 * DAY))) for i in range(a)
        ]
        self.extra = [0] * a
        for i in rng.choices(range(a), weights=weights, k=extra):
            self.extra[i] += 1

    # -- events, in occurred order ----------------------------------------------------------

    def events(self) -> Iterator[Event]:
        """Every event of the register, meeting by meeting, in the order they occurred."""
        heap: list[tuple[Any, ...]] = []
        seq = itertools.count()
        i = 0
        for k, meeting in enumerate(self.meetings):
            while heap and heap[0][0] < meeting.held:
                yield self._build(heapq.heappop(heap))
            yield self._meeting_event(k, meeting)
            while i < self.n_actions and self.meeting_of[i] == k:
                yield self._raise(i)
                for entry in self._future(i):
                    heapq.heappush(heap, (entry[0], next(seq), *entry[1:]))
                i += 1
        while heap:
            yield self._build(heapq.heappop(heap))

    def _meeting_event(self, k: int, meeting: MeetingPlan) -> MeetingRecorded:
        rng = self.rng
        people = [Attendee(name=n, capacity=cap, role=r) for r, cap, n in ROLES]
        rng.shuffle(people)
        absent = rng.randrange(0, 3)
        return MeetingRecorded(
            event_id=str(uuid.uuid4()),
            actor=ACTORS[k % len(ACTORS)],
            occurred_at=_moment(meeting.held),
            meeting_id=meeting.id,
            title=f"Monthly Assurance Meeting {meeting.date.format('MMMM YYYY')}",
            held_at=_moment(meeting.held),
            kind="Holding to account",
            venue="Meeting Room 1.38, Hindlip",
            chair="John Campion",
            minutes_by="Jackie Irvin, Policy Officer, OPCC",
            attendance=tuple(people[absent:]),
            apologies=tuple(people[:absent]),
        )

    def _raise(self, i: int) -> ActionRaised:
        rng = self.rng
        meeting = self.meetings[self.meeting_of[i]]
        roles = rng.sample(OWNER_ROLES, 2 if rng.random() < 0.25 else 1)
        owners = tuple(Owner(role=r) for r in roles)
        if rng.random() < (0.5 if self.stuck[i] else 0.12):  # forgotten ones: vaguer words
            due = Due(on=None, text=rng.choice(("By the next meeting", "Ongoing")))
        else:
            weeks = rng.choice((2, 4, 6, 8, 12, 16, 26))
            due = Due(on=meeting.date.add(weeks=weeks), text=f"Within {weeks} weeks")
        return ActionRaised(
            event_id=str(uuid.uuid4()),
            actor=ACTORS[i % len(ACTORS)],
            occurred_at=_moment(self.raised[i]),
            action_id=self.ids[i],
            text=f"{rng.choice(ROLES[3:6])[1]} to {rng.choice(VERBS)} {rng.choice(TOPICS)} "
            f"({self.ids[i]}).",
            owners=owners,
            meeting=meeting.id,
            item=f"{rng.randrange(1, 6)}.{rng.randrange(1, 10)}",
            source="meeting",
            due=due,
        )

    def _future(self, i: int) -> list[tuple[Any, ...]]:
        """The later events of action ``i``: (time, kind, action, detail) tuples."""
        rng = self.rng
        start, end = self.raised[i], self.window_end[i]
        extra = self.extra[i]
        meetings = []
        k = self.meeting_of[i] + 1
        while k < len(self.meetings) and self.meetings[k].held + 600 < end:
            meetings.append(k)
            k += 1
        n_revisits = min(len(meetings), round(extra * rng.uniform(0.2, 0.6)))
        found: list[tuple[Any, ...]] = [
            (self.meetings[k].held + 600 + i % 3000, "revisited", i, k)
            for k in sorted(rng.sample(meetings, n_revisits))
        ]
        lo, hi = start + 3600, max(start + 3601, end - 120)
        found += [(rng.randrange(lo, hi), "updated", i, None) for _ in range(extra - n_revisits)]
        if self.closed[i]:
            found.append((end, "closed", i, None))
        return found

    def _build(self, entry: tuple[Any, ...]) -> Event:
        ts, _, kind, i, detail = entry
        rng = self.rng
        at = _moment(ts)
        aid = self.ids[i]
        actor = ACTORS[(i + ts) % len(ACTORS)]
        event_id = str(uuid.uuid4())
        if kind == "updated":
            note = f"[{aid}] {_FILLER}"[: rng.randrange(80, 200)]
            roll = rng.random()
            if roll < 0.07:
                weeks = rng.choice((4, 8, 12))
                return ActionUpdated(
                    event_id=event_id,
                    actor=actor,
                    occurred_at=at,
                    action_id=aid,
                    note=note,
                    source="written update",
                    due=Due(on=_day_of(ts).add(weeks=weeks), text=f"Within {weeks} weeks"),
                    reason="Extension agreed by the PCC",
                )
            if roll < 0.09:
                return ActionUpdated(
                    event_id=event_id,
                    actor=actor,
                    occurred_at=at,
                    action_id=aid,
                    note=note,
                    source="written update",
                    owners=(Owner(role=rng.choice(OWNER_ROLES)),),
                    reason="Portfolio changed hands",
                )
            return ActionUpdated(
                event_id=event_id,
                actor=actor,
                occurred_at=at,
                action_id=aid,
                note=note,
                source=rng.choice(("written update", "email", "verbal update")),
            )
        if kind == "revisited":
            return ActionRevisited(
                event_id=event_id,
                actor=actor,
                occurred_at=at,
                action_id=aid,
                meeting=self.meetings[detail].id,
                outcome=rng.choice(
                    (
                        "Progress noted; the PCC asked for a further update.",
                        "Discussed; timescales confirmed by the lead officer.",
                        "The PCC was not yet assured and asked for evidence of impact.",
                    )
                ),
                item=f"{rng.randrange(1, 6)}.{rng.randrange(1, 10)}",
                assured=rng.choice((True, False, None)),
            )
        roll = rng.random()
        superseded_by = None
        if roll < 0.04:
            k = max(j for j in range(len(self.meetings)) if self.meetings[j].held + 3600 <= ts)
            other = self.first_of_meeting[k]
            other = other + 1 if other == i else other
            if other < self.first_of_meeting[k + 1] and other < self.n_actions and other != i:
                superseded_by = self.ids[other]
        return ActionClosed(
            event_id=event_id,
            actor=actor,
            occurred_at=at,
            action_id=aid,
            resolution="superseded"
            if superseded_by
            else ("withdrawn" if roll > 0.94 else "completed"),
            note="Closed: the update provided gives the assurance sought.",
            superseded_by=superseded_by,
        )


def _stream(event: Event) -> str:
    if isinstance(event, MeetingRecorded):
        return MEETING_PREFIX + event.meeting_id
    return ACTION_PREFIX + event.action_id


def generate(path: Path, n_events: int, n_actions: int, seed: int) -> dict[str, Any]:
    """Write a generated register into a new file at ``path`` (store.append_many, NORMAL)."""
    print(
        f"generating {n_events:,} events ({n_actions:,} actions) into {path.name} "
        "(store.append_many, synchronous=NORMAL) …",
        flush=True,
    )
    started = time.perf_counter()
    register = Register(n_events, n_actions, seed)
    appended = 0.0
    versions: dict[str, int] = {}
    done = 0
    with Ledger.open(path, synchronous="NORMAL") as ledger:
        if ledger.store.last_position():
            raise SystemExit(f"{path} is not empty; remove it or use --keep to reuse it")
        append_many = ledger.store.append_many  # type: ignore[attr-defined]
        events = register.events()
        while True:
            chunk = list(itertools.islice(events, APPEND_CHUNK))
            if not chunk:
                break
            t0 = time.perf_counter()
            batches = []
            for event in chunk:
                sid = _stream(event)
                version = versions.get(sid, 0)
                batches.append((sid, [encode(event)], version))
                versions[sid] = version + 1
            append_many(batches)
            appended += time.perf_counter() - t0
            done += len(chunk)
            if done % 100_000 < APPEND_CHUNK and n_events >= 200_000:
                print(f"  … {done:,} events", file=sys.stderr, flush=True)
        assert ledger.store.last_position() == n_events, ledger.store.last_position()
    wall = time.perf_counter() - started
    return {
        "events": n_events,
        "actions": n_actions,
        "meetings": len(register.meetings),
        "append_s": appended,
        "wall_s": wall,
        "events_per_s": n_events / appended,
        "synchronous": "NORMAL",
    }


def es_generate(path: Path, n_events: int) -> dict[str, Any]:
    """The eventsourcing log of ``n_events`` (raised + 9 updated per aggregate), chunk by chunk."""
    n_actions = n_events // ES_EVENTS_PER_ACTION
    print(f"eventsourcing: importing {n_actions * ES_EVENTS_PER_ACTION:,} events …", flush=True)
    app = c.es_open(path)
    try:
        seconds = 0.0
        for lo in range(0, n_actions, c.CHUNK_STREAMS):
            hi = min(lo + c.CHUNK_STREAMS, n_actions)
            seconds += c.es_import(app, c.es_batch(lo, hi, ES_EVENTS_PER_ACTION))
        settings = c.es_settings(app)
    finally:
        app.close()
    events = n_actions * ES_EVENTS_PER_ACTION
    return {"events": events, "actions": n_actions, "import_s": seconds, "settings": settings}


# -- subprocess measurements ------------------------------------------------------------------


def _read_model_state(path: str) -> dict[str, int]:
    """Rows in the read-model tables and the lowest checkpoint, read with plain sqlite3."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        found = {}
        for table in ("actions", "audit_trail", "meetings"):
            try:
                found[table] = conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]
            except sqlite3.OperationalError:  # not created yet
                found[table] = 0
        try:
            found["open"] = conn.execute(
                "SELECT count(*) FROM actions WHERE status = 'open'"
            ).fetchone()[0]
            found["checkpoint"] = conn.execute(
                "SELECT coalesce(min(position), 0) FROM read_model_checkpoints"
            ).fetchone()[0]
        except sqlite3.OperationalError:
            found["open"] = found["checkpoint"] = 0
        return found
    finally:
        conn.close()


def _locality(path: Path) -> dict[str, int]:
    """How far apart an action's first and last events lie in the log (positions)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        spans = sorted(
            span
            for (span,) in conn.execute(
                "SELECT max(position) - min(position) FROM events "
                "WHERE stream_id >= ? AND stream_id < ? GROUP BY stream_id",
                (ACTION_PREFIX, ACTION_PREFIX + "\U0010ffff"),
            )
        )
    finally:
        conn.close()
    n = max(1, len(spans))
    return {
        q: spans[min(n - 1, int(n * f))] if spans else 0 for q, f in (("p50", 0.5), ("p90", 0.9))
    }


def _child(mode: str, path: str) -> None:
    """In a fresh subprocess: one measurement, printed as JSON on stdout."""
    result: dict[str, Any] = {"mode": mode}
    if mode in ("open", "rebuild"):
        # "open": Ledger.open catches the read models up from their checkpoint (from zero on
        # a freshly generated file). "rebuild": open (nothing to catch up any more), then
        # ledger.rebuild(): drop every read-model table and build it again from the whole log.
        result["before"] = _read_model_state(path)
        t0 = time.perf_counter()
        with Ledger.open(path) as ledger:
            result["open_s"] = time.perf_counter() - t0
            result["log_events"] = ledger.store.last_position()
            if mode == "rebuild":
                t0 = time.perf_counter()
                result["events"] = ledger.rebuild()
                result["seconds"] = time.perf_counter() - t0
        result["after"] = _read_model_state(path)
    elif mode == "es_read":
        app = c.es_open(path)
        try:
            t0 = time.perf_counter()
            events = 0
            start = 1
            while True:
                notifications = app.recorder.select_notifications(start=start, limit=1000)
                for n in notifications:
                    app.mapper.to_domain_event(n)
                events += len(notifications)
                if len(notifications) < 1000:
                    break
                start = notifications[-1].id + 1
            result["seconds"] = time.perf_counter() - t0
            result["events"] = events
        finally:
            app.close()
    elif mode == "baseline":  # the interpreter, the imports and an open, caught-up Ledger
        with Ledger.open(path) as ledger:
            result["log_events"] = ledger.store.last_position()
    else:
        raise SystemExit(f"unknown child mode {mode!r}")
    result["peak_rss_mb"] = c.peak_rss_mb()
    result["vm_hwm_mb"] = c.vm_hwm_mb()
    print(json.dumps(result))


# -- latency -----------------------------------------------------------------------------------


def _timed(fn: Callable[[Any], object], args: Sequence[Any], warm: int = 10) -> list[float]:
    """Seconds per call of ``fn`` on each of ``args[warm:]``, after calls on ``args[:warm]``."""
    for a in args[:warm]:
        fn(a)
    times = []
    for a in args[warm:]:
        t0 = time.perf_counter()
        fn(a)
        times.append(time.perf_counter() - t0)
    return times


def _repeated(
    fn: Callable[[], object], *, least: int = 5, most: int = 30, budget_s: float = 6.0
) -> list[float]:
    fn()  # warm up
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < most and (len(times) < least or time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _summary(times: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": c.percentile(times, 50) * 1e3,
        "p99_ms": c.percentile(times, 99) * 1e3,
        "n": len(times),
    }


def latencies(path: Path, es_path: Path | None, n_samples: int, seed: int) -> dict[str, Any]:
    """p50/p99 of each query on the register at ``path`` (and ES get on ``es_path``)."""
    rng = random.Random(seed)
    out: dict[str, Any] = {}
    with Ledger.open(path) as ledger:
        conn = ledger.store.db.conn  # type: ignore[attr-defined]
        starts = conn.execute(
            "SELECT stream_id, occurred_at FROM events WHERE version = 1 AND stream_id >= ? "
            "AND stream_id < ?",
            (ACTION_PREFIX, ACTION_PREFIX + "\U0010ffff"),
        ).fetchall()
        held = [
            r[0]
            for r in conn.execute(
                "SELECT occurred_at FROM events WHERE stream_id >= ? AND stream_id < ? "
                "ORDER BY occurred_at",
                (MEETING_PREFIX, MEETING_PREFIX + "\U0010ffff"),
            )
        ]
        first, last = pendulum.parse(held[0]), pendulum.parse(held[-1])
        mid = first.add(seconds=int((last - first).total_seconds() // 2))
        mid_text = format_utc(mid)
        ids = [sid[len(ACTION_PREFIX) :] for sid, _ in starts]
        before_mid = [sid[len(ACTION_PREFIX) :] for sid, at in starts if at < mid_text]

        def picks(pool: list[str]) -> list[str]:
            # A fresh sample per query: reusing one would find the rows of the second query
            # already in SQLite's page cache, and flatter it.
            return [rng.choice(pool) for _ in range(n_samples + 10)]

        year, month = last.year, last.month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        day = _first_monday(year, month)
        now = pendulum.now("UTC")
        out["mid"] = mid.to_iso8601_string()
        out["day"] = day.isoformat()

        out["get"] = _summary(_timed(ledger.get, picks(ids)))
        out["history"] = _summary(_timed(ledger.history, picks(ids)))
        out["as_of_occurred_get"] = _summary(
            _timed(lambda a: ledger.as_of(mid, axis="occurred").get(a), picks(before_mid))
        )
        out["as_of_recorded_get"] = _summary(
            _timed(lambda a: ledger.as_of(now, axis="recorded").get(a), picks(ids))
        )
        # The first call in a process decodes every row; later ones find the decoded actions
        # of unchanged rows memoised (action_from_row): both are reported.
        action_from_row.cache_clear()
        t0 = time.perf_counter()
        agenda = ledger.agenda(day)
        cold_ms = (time.perf_counter() - t0) * 1000
        out["agenda"] = _summary(_repeated(lambda: ledger.agenda(day)))
        out["agenda"]["cold_ms"] = cold_ms
        out["agenda"].update(
            outstanding=len(agenda.outstanding),
            due=len(agenda.due),
            closed_since=len(agenda.closed_since),
        )
        action_from_row.cache_clear()
        t0 = time.perf_counter()
        overdue = ledger.overdue(day)
        cold_ms = (time.perf_counter() - t0) * 1000
        out["overdue"] = _summary(_repeated(lambda: ledger.overdue(day)))
        out["overdue"]["cold_ms"] = cold_ms
        open_now = ledger.register(status="open")
        out["overdue"].update(returned=len(overdue), open=len(open_now))
        out["actions"] = len(ids)
    if es_path is not None:
        app = c.es_open(es_path)
        try:
            count = app.recorder.max_notification_id() // ES_EVENTS_PER_ACTION
            es_picks = [c.es_id(c.action_id(rng.randrange(count))) for _ in range(n_samples + 10)]
            out["es_get"] = _summary(_timed(app.repository.get, es_picks))
        finally:
            app.close()
    return out


# -- the run ------------------------------------------------------------------------------------


def _size_path(base: Path, events: int, big: int) -> Path:
    return base if events == big else base.with_name(f"{base.name}.{events}-events.db")


def _ms(s: dict[str, float]) -> str:
    return f"{s['p50_ms']:.3f} / {s['p99_ms']:.3f} ms"


def run(
    *,
    n_events: int = 1_000_000,
    n_actions: int | None = None,
    n_samples: int = 500,
    seed: int = 11,
    keep: str | None = None,
) -> dict[str, Any]:
    """Generate (or reuse) the registers, measure, print the table, return the figures."""
    env = c.environment()
    c.print_environment(env)
    actions = n_actions or n_events // 10
    small = min(SMALL_EVENTS, n_events)
    sizes = sorted({small, max(small, n_events // 10), n_events})
    scale = {n: max(1, round(actions * n / n_events)) for n in sizes}
    print(
        f"bench_projections: registers of {', '.join(f'{n:,}' for n in sizes)} events "
        f"({', '.join(f'{scale[n]:,}' for n in sizes)} actions); {n_samples} samples per query",
        flush=True,
    )
    generated: dict[int, dict[str, Any] | None] = {}
    es_generated: dict[int, dict[str, Any] | None] = {}
    opens: dict[int, dict[str, Any]] = {}
    rebuilds: dict[int, dict[str, Any]] = {}
    lat: dict[int, dict[str, Any]] = {}
    with c.temp_dir() as tmp:
        base = Path(keep) if keep else tmp / "projections.db"
        paths = {n: _size_path(base, n, n_events) for n in sizes}
        es_paths = {
            n: base.with_name(f"{base.name}.eventsourcing-{n}.db") for n in (small, n_events)
        }
        for n in sizes:
            if keep and paths[n].exists():
                print(f"reusing {paths[n]} (--keep; not regenerated)", flush=True)
                generated[n] = None
            else:
                generated[n] = generate(paths[n], n, scale[n], seed)
        for n in sorted(es_paths):
            if keep and es_paths[n].exists():
                print(f"reusing {es_paths[n]} (--keep; not regenerated)", flush=True)
                es_generated[n] = None
            else:
                es_generated[n] = es_generate(es_paths[n], n)
        sizes_mb = {n: c.file_mb(paths[n]) for n in sizes}
        locality = _locality(paths[n_events])

        print("measuring in fresh subprocesses: open (catch-up), rebuild …", flush=True)
        for n in sizes:
            opens[n] = c.measure_in_child(__file__, "open", paths[n])
            rebuilds[n] = c.measure_in_child(__file__, "rebuild", paths[n])
            print(
                f"  {n:,} events: open {opens[n]['open_s']:.1f} s "
                f"({opens[n]['peak_rss_mb']:.1f} MB), rebuild {rebuilds[n]['seconds']:.1f} s "
                f"({rebuilds[n]['peak_rss_mb']:.1f} MB)",
                flush=True,
            )
        print("eventsourcing: decoded notification-log read …", flush=True)
        es_read = c.measure_in_child(__file__, "es_read", es_paths[n_events])
        baseline = c.measure_in_child(__file__, "baseline", paths[n_events])
        sizes_mb_after = {n: c.file_mb(paths[n]) for n in sizes}

        print("query latency …", flush=True)
        for n in sorted({small, n_events}):
            lat[n] = latencies(paths[n], es_paths[n], n_samples, seed)

    big = n_events
    rows: list[c.Row] = []
    ours_rate = rebuilds[big]["events"] / rebuilds[big]["seconds"]
    theirs_rate = es_read["events"] / es_read["seconds"]
    rows.append(
        c.speed_row(
            f"rebuild all read models from zero, {big:,} events (theirs: decoded log read)",
            ours_rate,
            theirs_rate,
            "events/s",
            REBUILD_TARGET,
        )
    )
    first_open = opens[big]["before"]["checkpoint"] == 0
    rows.append(
        c.info_row(
            f"catch-up on Ledger.open, {big:,} events"
            + (" (read models empty)" if first_open else " (already caught up)"),
            f"{big / opens[big]['open_s']:,.0f} events/s ({opens[big]['open_s']:.1f} s)",
        )
    )
    for n in sizes:
        r = rebuilds[n]
        theirs = "—"
        if n == big:
            theirs = f"{es_read['peak_rss_mb']:.1f} MB (read only)"
        rows.append(
            c.Row(
                operation=f"rebuild peak RSS, {n:,} events",
                ours=f"{r['peak_rss_mb']:.1f} MB ({r['seconds']:.1f} s, "
                f"{r['events'] / r['seconds']:,.0f} ev/s)",
                theirs=theirs,
                ratio=None,
                target=f"< {RSS_LIMIT_MB:g} MB",
                met=r["peak_rss_mb"] < RSS_LIMIT_MB and r["events"] == n,
                ours_value=r["peak_rss_mb"],
                theirs_value=es_read["peak_rss_mb"] if n == big else None,
                unit="MB",
            )
        )
    queries = (
        ("get", "get(id)"),
        ("history", "history(id)"),
        ("as_of_occurred_get", 'as_of(mid-span, "occurred").get(id)'),
        ("as_of_recorded_get", 'as_of(now, "recorded").get(id)'),
    )
    for key, label in queries:
        for n in sorted(lat):
            s = lat[n][key]
            es = lat[n].get("es_get") if key == "get" else None
            rows.append(
                c.Row(
                    operation=f"{label} p50 / p99, {n:,} events",
                    ours=_ms(s),
                    theirs=f"{_ms(es)} (repository.get)" if es else "—",
                    ratio=es["p50_ms"] / s["p50_ms"] if es else None,
                    target=f"p50 < {LATENCY_LIMIT_MS:g} ms" if n == big else "—",
                    met=s["p50_ms"] < LATENCY_LIMIT_MS if n == big else None,
                    ours_value=s["p50_ms"],
                    theirs_value=es["p50_ms"] if es else None,
                    unit="ms",
                )
            )
    for n in sorted(lat):
        s = lat[n]["agenda"]
        rows.append(
            c.info_row(
                f"agenda({lat[n]['day']}) p50 / p99, {n:,} events",
                f"{_ms(s)}; first call {s['cold_ms']:.1f} ms ({s['outstanding']:,} outstanding, "
                f"{s['closed_since']:,} closed since)",
                target="report",
            )
        )
    for n in sorted(lat):
        s = lat[n]["overdue"]
        rows.append(
            c.info_row(
                f"overdue({lat[n]['day']}) p50 / p99, {n:,} events",
                f"{_ms(s)}; first call {s['cold_ms']:.1f} ms ({s['returned']:,} overdue of "
                f"{s['open']:,} open)",
                target="report",
            )
        )
    gen_big = generated.get(big)
    if gen_big is not None:
        rows.append(
            c.info_row(
                "generation: store.append_many, synchronous=NORMAL",
                f"{gen_big['events_per_s']:,.0f} events/s ({gen_big['append_s']:.1f} s)",
                (
                    f"{es_generated[big]['events'] / es_generated[big]['import_s']:,.0f} events/s"
                    if es_generated.get(big)
                    else "—"
                ),
            )
        )

    growth = {
        key: lat[big][key]["p50_ms"] / lat[small][key]["p50_ms"]
        for key, _ in queries
        if small != big
    }
    rows.append(
        c.info_row(
            "catch-up on Ledger.open: peak RSS, " + " / ".join(f"{n:,}" for n in sizes) + " events",
            " / ".join(f"{opens[n]['peak_rss_mb']:.1f}" for n in sizes) + " MB",
        )
    )
    rb = rebuilds[big]["after"]
    notes = [
        f"register: {rb['actions']:,} actions, {rb['open']:,} open "
        f"({rb['open'] / max(1, rb['actions']):.1%}), {big:,} events "
        f"({rb['meetings']} monthly meetings from 2015-01, "
        f"{(big - rb['meetings']) / max(1, rb['actions']):.1f} events per action), "
        f"{sizes_mb_after[big]:,.0f} MB with read "
        f"models ({sizes_mb[big]:,.0f} MB before the rebuild); an action's first and last "
        f"events lie {locality['p50']:,} positions apart in the log at the median "
        f"({locality['p90']:,} at p90)",
        "generation: Ledger.open(fresh file, synchronous=NORMAL) + ledger.store.append_many, one "
        f"event per batch, {APPEND_CHUNK:,} events per transaction; append_many does not touch "
        "the read models (they stay empty until the next catch-up or rebuild)",
        "each size in two fresh subprocesses (via a launcher): 'open' = Ledger.open(path), "
        "whose catch-up builds the read models from their checkpoint (zero after generation); "
        "then 'rebuild' = Ledger.open(path) (nothing left to catch up) + ledger.rebuild() (drop "
        "every read-model table, build again from the whole log), timed alone; peak RSS = "
        "ru_maxrss of the subprocess (VmHWM "
        + " / ".join(f"{rebuilds[n]['vm_hwm_mb']:.1f}" for n in sizes)
        + f" MB); baseline (imports + an open, caught-up Ledger) {baseline['peak_rss_mb']:.1f} MB",
        f"eventsourcing: {es_read['events']:,} events = {es_read['events'] // 10:,} aggregates "
        "× (1 Raised + 9 Updated), the _common shape (not this register's shape); read in a "
        "fresh subprocess: select_notifications(start, limit=1000) pages + "
        "mapper.to_domain_event, nothing folded",
        f"latency: {n_samples} random existing actions per query, a fresh sample for each query "
        "(after 10 warm-up calls on other actions); "
        "as_of(mid-span, occurred) samples actions raised before "
        f"{lat[big]['mid'][:10]}; agenda/overdue: 5–30 calls on the next meeting's date "
        "(the register's 'today'); the get column for eventsourcing is "
        "app.repository.get(id) on its log of the same size",
    ]
    if growth:
        notes.append(
            f"p50 at {big:,} ÷ p50 at {small:,} events: "
            + ", ".join(f"{k} {v:.2f}×" for k, v in growth.items())
        )
    c.print_table(f"bench_projections — read models at {big:,} events", rows, notes)
    return {
        "environment": env,
        "parameters": {
            "events": n_events,
            "actions": actions,
            "sizes": sizes,
            "samples": n_samples,
            "seed": seed,
            "kept": keep,
        },
        "generated": {str(k): v for k, v in generated.items()},
        "eventsourcing_generated": {str(k): v for k, v in es_generated.items()},
        "file_mb": {str(k): v for k, v in sizes_mb_after.items()},
        "locality": locality,
        "open": {str(k): v for k, v in opens.items()},
        "rebuild": {str(k): v for k, v in rebuilds.items()},
        "eventsourcing_read": es_read,
        "baseline": baseline,
        "latency": {str(k): v for k, v in lat.items()},
        "rows": c.rows_json(rows),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100,000 events, 200 samples")
    parser.add_argument("--events", type=int, help="events in the largest register (1,000,000)")
    parser.add_argument("--actions", type=int, help="actions in it (default: events / 10)")
    parser.add_argument("--samples", type=int, help="calls per one-action query (default 500)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", metavar="PATH", help="keep the databases here; reuse if present")
    parser.add_argument("--json", metavar="PATH", help="save the figures as JSON")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def sizes_for(args: argparse.Namespace) -> dict[str, Any]:
    """Sizes from the flags (``--quick`` shrinks the defaults)."""
    return {
        "n_events": int(args.events or (100_000 if args.quick else 1_000_000)),
        "n_actions": args.actions,
        "n_samples": int(args.samples or (200 if args.quick else 500)),
        "seed": args.seed,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    figures = run(**sizes_for(args), keep=args.keep)
    if args.json:
        c.write_json(args.json, {"bench_projections": figures})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
