"""3. A simulated week: ``python -m bench soak`` (README "Proof", bench/RESULTS.md "Soak").

N patients (default 10,000: regimens 21/28, 14/21, continuous and a custom one; seven time
zones; five dose times) live D simulated days (default 7) through the real code on one
database: the planner (``Materialiser``), the outbox, the ``Dispatcher`` sending to an
in-process channel that records every hand-over, ``Conversation`` answering every text,
``CareTeam`` for the nurses, the confirmations sweep. The clock is the project's
``ManualClock`` (every service takes ``now`` from its clock), moved from one due time or
scripted event to the next, never through real waiting. Patients answer reminders (seeded
RNG) with TAKEN on time or hours late, MISSED, LATER, questions, NEXT and red flags; nurses
pause and resume, delay cycles and end courses; the service is restarted twice, mid-day (every
in-process object and the engine dropped, rebuilt on the same database after five minutes of
downtime). Checked afterwards (bench/soak_report.py): the safety invariants over every send
(bench/invariants.py, shared with the state machine), every due message sent once or expired,
every red flag alerted, RSS per simulated day.
"""

from __future__ import annotations

import heapq
import io
import itertools
import random
import sys
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.invariants import History, SentChecker, check_reply
from bench.memstat import MB, breakdown, deep_size
from bot.conversation.alerts import NurseAlerts
from bot.conversation.conversation import Conversation
from messages.render import render_for
from scheduler.domain.localtime import zone
from scheduler.domain.model import PlanSettings
from scheduler.domain.outbox import OutboxRow
from scheduler.ports import Address, ManualClock, Outgoing
from scheduler.services.care import CareError, CareTeam
from scheduler.services.confirmations import Confirmations
from scheduler.services.dispatch import Dispatcher
from scheduler.services.materialise import Materialiser
from scheduler.store import tables as t
from scheduler.store.audit import SqlAlchemyAudit
from scheduler.store.db import PLANNING_CACHE_KIB, is_sqlite, make_engine
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.outbox.rows import _row
from scheduler.store.repository import SqlAlchemyCourseRepository

START = datetime(2026, 6, 10, 0, 0, tzinfo=UTC)  # a Wednesday, far from any DST change
PLAN_EVERY = timedelta(hours=4)  # the planning pass and sweep (the service: every minute)
DOWNTIME = timedelta(minutes=5)
SAMPLE_EVERY = timedelta(hours=6)  # the process's RSS, every 6 simulated hours
TEAM_PHONE = "+441632960999"
TAKEN = ("TAKEN", "taken", "done", "Taken thanks", "took it")
MISSED = ("MISSED", "forgot", "I missed it today")
QUESTIONS = ("can I take it with food?", "what are the side effects?", "can I drink alcohol?",
             "NEXT", "ok thanks")  # fmt: skip
RED_FLAGS = ("temp 39, shivering", "I have a fever and chills", "chest pain and short of breath",
             "my leg is swollen and painful")  # fmt: skip
# Per patient and simulated day.
QUESTION_RATE, RED_FLAG_RATE = 0.03, 0.001
PAUSE_RATE, DELAY_RATE, END_RATE = 0.002, 0.002, 0.001


@dataclass(frozen=True, slots=True)
class Handed:
    message: Outgoing
    at: datetime


class SendCounts:
    """Hand-overs per outbox row id, one byte a row id (the ids count up from 1): a week at
    10,000 patients is about 100 KB, where a ``Counter`` of 84,000 ints grew the soak's own
    memory by ~8 MB and blurred the service's in the RSS it measures."""

    def __init__(self) -> None:
        self.counts = bytearray()

    def add(self, row_id: int) -> None:
        if row_id >= len(self.counts):
            self.counts.extend(bytes(max(row_id + 1 - len(self.counts), len(self.counts))))
        self.counts[row_id] = min(self.counts[row_id] + 1, 255)

    def __getitem__(self, row_id: int) -> int:
        return self.counts[row_id] if row_id < len(self.counts) else 0

    def items(self) -> Iterator[tuple[int, int]]:
        """(row id, hand-overs) for every row handed over at least once."""
        return ((i, n) for i, n in enumerate(self.counts) if n)


class SoakChannel:
    """The provider's side, outliving every restart: counts hand-overs per outbox row and
    keeps the deliveries not yet checked."""

    name = "sms"

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.sends = SendCounts()
        self.fresh: list[Handed] = []  # not yet checked
        self.total = 0

    async def send(self, message: Outgoing) -> str:
        self.sends.add(int(message.ref))
        self.fresh.append(Handed(message, self.clock.now()))
        self.total += 1
        return f"SM{message.ref}"


@dataclass
class Service:
    """Every in-process object of the running service; a restart builds a new one."""

    engine: AsyncEngine
    courses: SqlAlchemyCourseRepository
    outbox: SqlAlchemyOutbox
    materialiser: Materialiser
    care: CareTeam
    conversation: Conversation
    dispatcher: Dispatcher
    confirmations: Confirmations

    @classmethod
    def build(
        cls, url: str, clock: ManualClock, channel: SoakChannel, cache_kib: int = PLANNING_CACHE_KIB
    ) -> Service:
        # Planning in this process, as the service with PLAN_PROCESSES=0: 8 MiB a connection.
        engine = make_engine(url, cache_kib=cache_kib)
        courses, outbox = SqlAlchemyCourseRepository(engine), SqlAlchemyOutbox(engine)
        settings = PlanSettings()
        materialiser = Materialiser(courses, outbox, settings, render=render_for)
        care = CareTeam(courses, outbox, materialiser, clock, SqlAlchemyAudit(engine))
        alerts = NurseAlerts(engine, clock, out=io.StringIO())
        conversation = Conversation(courses, care, clock, settings, alerts, outbox,
                                    serial=is_sqlite(engine), team_phone=TEAM_PHONE)  # fmt: skip

        def resolve(p: Any) -> tuple[SoakChannel, Address] | None:
            return (channel, Address(p.channel, p.phone)) if p.phone else None

        dispatcher = Dispatcher(outbox, courses, resolve=resolve, clock=clock)
        confirmations = Confirmations(courses, alerts.alert)
        return cls(engine, courses, outbox, materialiser, care, conversation, dispatcher,
                   confirmations)  # fmt: skip


@dataclass
class Tally:
    """What happened, for the summary (bench/soak_report.py)."""

    sent_by_kind: Counter[str] = field(default_factory=Counter)
    doses_sent: Counter[str] = field(default_factory=Counter)  # dose reminders, by patient
    sent_by_day: dict[int, Counter[str]] = field(default_factory=dict)
    texts: Counter[str] = field(default_factory=Counter)  # what patients meant to say
    intents: Counter[str] = field(default_factory=Counter)  # how the service read them
    nurse: Counter[str] = field(default_factory=Counter)
    red_flags: Counter[str] = field(default_factory=Counter)  # sent, by patient
    late_s: array[float] = field(default_factory=lambda: array("d"))
    rss_mb: list[float] = field(default_factory=list)
    # Beside each RSS sample: where it is (bench/memstat.py) and the soak's own records.
    memory: list[dict[str, float | None]] = field(default_factory=list)
    restarts: list[datetime] = field(default_factory=list)
    steps: int = 0
    caught_up: int = 0  # sent at the start, due before it (enrolled mid-window)
    replies_checked: int = 0


class Soak:
    def __init__(
        self, url: str, patients: int, days: int, seed: int = 11,
        cache_kib: int = PLANNING_CACHE_KIB,
    ) -> None:  # fmt: skip
        self.url, self.n, self.days, self.cache_kib = url, patients, days, cache_kib
        self.rng = random.Random(seed)
        self.clock = ManualClock(START)
        self.channel = SoakChannel(self.clock)
        self.svc = Service.build(url, self.clock, self.channel, cache_kib)
        self.end = START + timedelta(days=days)
        self.checker = SentChecker()
        self.history: dict[str, History] = {}
        self.tally = Tally()
        self.events: list[tuple[datetime, int, str, str, Any]] = []
        self.seq = itertools.count()
        self.zones: dict[str, str] = {}
        # A patient's habit: how likely they answer a reminder with TAKEN.
        self.habit: dict[str, float] = {}
        # Mid-day, two minutes before London's 09:00 and 21:00 doses (08:00 and 20:00 UTC in
        # June): the doses due in the five minutes of downtime go out when the service is back.
        third = max(1, days // 3)
        self.restart_at = [START + timedelta(days=min(third, days - 1), hours=7, minutes=58),
                           START + timedelta(days=min(2 * third, days - 1), hours=19,
                                             minutes=58)]  # fmt: skip

    # -- the simulation --------------------------------------------------------------------

    async def run(self) -> Tally:
        await self._load()
        planned_at = datetime.min.replace(tzinfo=UTC)
        next_day = next_sample = START
        while True:
            now = self.clock.now()
            if now >= next_sample:
                self._sample_rss()
                next_sample += SAMPLE_EVERY
            if now >= next_day and now < self.end:
                self._new_day(now)
                next_day += timedelta(days=1)
            await self._events_until(now)
            if now >= planned_at + PLAN_EVERY or now >= self.end:
                await self.svc.materialiser.everyone(now)
                await self.svc.confirmations.sweep(now)
                planned_at = now
            await self.svc.dispatcher.tick()
            await self._check_sends()
            self.tally.steps += 1
            if now >= self.end:
                break
            nxt = await self._next(now, planned_at + PLAN_EVERY, min(next_day, next_sample))
            for r in list(self.restart_at):
                if now < r <= nxt:
                    self.clock.set(r)
                    await self._restart()
                    nxt = self.clock.now()
            self.clock.set(nxt)
        return self.tally

    async def _next(self, now: datetime, plan_at: datetime, next_day: datetime) -> datetime:
        due = await self.svc.outbox.next_due()
        cand = [self.end, plan_at, next_day]
        if self.events:
            cand.append(self.events[0][0])
        if due is not None:
            cand.append(due)
        later = [c for c in cand if c > now]
        return min(later) if later else now + timedelta(minutes=1)

    async def _restart(self) -> None:
        """Drop every in-process object and the engine; five minutes later, build anew."""
        self.restart_at.remove(self.clock.now())
        self.tally.restarts.append(self.clock.now())
        await self.svc.engine.dispose()
        self.clock.set(self.clock.now() + DOWNTIME)
        self.svc = Service.build(self.url, self.clock, self.channel, self.cache_kib)

    async def _load(self) -> None:
        async with self.svc.engine.connect() as conn:
            rows = (await conn.execute(select(t.patients.c.id, t.patients.c.tz))).all()
        self.zones = dict(rows)  # type: ignore[arg-type]
        loaded = await self.svc.courses.load(sorted(self.zones))
        for pid, (_, course) in loaded.items():
            self.history[pid] = History()
            self.history[pid].note(0, course, {})
            r = self.rng.random()
            self.habit[pid] = 0.92 if r < 0.7 else 0.75 if r < 0.9 else 0.45

    def _at(self, when: datetime, kind: str, pid: str, payload: Any = None) -> None:
        heapq.heappush(self.events, (when.replace(second=0, microsecond=0),
                                     next(self.seq), kind, pid, payload))  # fmt: skip

    def _new_day(self, day_start: datetime) -> None:
        """The day's spontaneous texts and the nurses' actions, at random moments."""
        day_index = (day_start - START).days
        print(f"soak: simulated day {day_index + 1} of {self.days} begins, "
              f"{self.tally.replies_checked} replies so far", file=sys.stderr, flush=True)
        self.tally.sent_by_day.setdefault(day_index, Counter())
        self.checker.forget_before((day_start - timedelta(days=2)).date())
        # No message comes for a dose day more than a day after it (the 12-hour window, in
        # any zone): three days of records are all the checks need.
        for h in self.history.values():
            h.forget_before((day_start - timedelta(days=3)).date())
        ids = sorted(self.history)

        def some(rate: float, least: int = 1) -> list[str]:
            return self.rng.sample(ids, min(len(ids), max(least, round(len(ids) * rate))))

        def moment() -> datetime:
            return day_start + timedelta(minutes=self.rng.randrange(24 * 60))

        for pid in some(QUESTION_RATE):
            text = self.rng.choice(QUESTIONS)
            self._at(moment(), "text", pid, (text, text if text == "NEXT" else "question or chat"))
        for pid in some(RED_FLAG_RATE, least=5):
            self._at(moment(), "text", pid, (self.rng.choice(RED_FLAGS), "red flag"))
        for pid in some(PAUSE_RATE):
            self._at(moment(), "pause", pid)
        for pid in some(DELAY_RATE):
            self._at(moment(), "delay_cycle", pid, self.rng.randint(1, 7))
        for pid in some(END_RATE):
            self._at(moment(), "end", pid, self.rng.randint(0, 5))

    def _sample_rss(self) -> None:
        sample = breakdown()
        # The soak's own records share the process: measured apart, so a growth can be told
        # to be theirs or the service's.
        own = (self.history, self.checker, self.tally, self.channel.sends, self.channel.fresh,
               self.events, self.habit, self.zones)  # fmt: skip
        sample["soak_records"] = round(deep_size(own) / MB, 1)
        self.tally.rss_mb.append(sample["rss"] or 0.0)
        self.tally.memory.append(sample)

    async def _events_until(self, now: datetime) -> None:
        while self.events and self.events[0][0] <= now:
            _, _, kind, pid, payload = heapq.heappop(self.events)
            if kind == "text":
                await self._say(pid, *payload)
            else:
                await self._nurse(pid, kind, payload)

    # -- patients and nurses ---------------------------------------------------------------

    async def _say(self, pid: str, text: str, meant: str) -> None:
        svc, now = self.svc, self.clock.now()
        today = now.astimezone(zone(self.zones[pid])).date()
        since = today - timedelta(days=8)
        before = await svc.courses.dose_records(pid, since)
        patient, course = await svc.courses.load_one(pid)
        reply = await svc.conversation.handle(patient, text, channel="sms")
        after = await svc.courses.dose_records(pid, since)
        check_reply(text, reply.text, reply.extras, now, course, before, after)
        self.tally.replies_checked += 1
        self.tally.texts[meant] += 1
        self.tally.intents[reply.intent] += 1
        if meant == "red flag":
            self.tally.red_flags[pid] += 1
        _, course = await svc.courses.load_one(pid)
        self.history[pid].note(self.channel.total, course, after)

    async def _nurse(self, pid: str, action: str, payload: Any) -> None:
        care, now = self.svc.care, self.clock.now()
        today = now.astimezone(zone(self.zones[pid])).date()
        try:
            if action == "pause":
                await care.pause(pid, start=today + timedelta(days=1), reason="soak")
                self._at(now + timedelta(days=self.rng.randint(2, 4)), "resume", pid)
            elif action == "resume":
                await care.resume(pid, on=today)
            elif action == "delay_cycle":
                await care.delay_cycle(pid, days=payload)
            else:
                await care.end(pid, on=today + timedelta(days=payload))
            self.tally.nurse[action] += 1
        except CareError:
            self.tally.nurse[f"{action} refused"] += 1
        _, course = await self.svc.courses.load_one(pid)
        records = await self.svc.courses.dose_records(pid, today - timedelta(days=8))
        self.history[pid].note(self.channel.total, course, records)

    def _answer(self, h: Handed) -> None:
        """How the patient answers what they just received."""
        m, rng = h.message, self.rng
        pid, at = m.patient_id, h.at
        if m.kind == "dose":
            r = rng.random()
            if r < self.habit[pid]:
                late = rng.random() < 0.15
                delay = rng.randint(60, 600) if late else rng.randint(1, 40)
                self._at(at + timedelta(minutes=delay), "text", pid,
                         (rng.choice(TAKEN), "TAKEN, 1-10 h late" if late else "TAKEN"))
            elif r < self.habit[pid] + (1 - self.habit[pid]) * 0.25:
                self._at(at + timedelta(minutes=rng.randint(1, 120)), "text", pid,
                         (rng.choice(MISSED), "MISSED"))  # fmt: skip
            elif r < self.habit[pid] + (1 - self.habit[pid]) * 0.5:
                self._at(at + timedelta(minutes=rng.randint(1, 30)), "text", pid, ("LATER", "LATER"))
        elif m.kind == "follow_up" and rng.random() < 0.4:
            self._at(at + timedelta(minutes=rng.randint(5, 60)), "text", pid,
                     ("took it late", "TAKEN after the follow-up"))
        elif m.kind == "later" and rng.random() < 0.85:
            self._at(at + timedelta(minutes=rng.randint(1, 30)), "text", pid,
                     (rng.choice(TAKEN), "TAKEN after LATER"))

    # -- checks as the week goes -----------------------------------------------------------

    async def _check_sends(self) -> None:
        fresh = self.channel.fresh
        if not fresh:
            return
        self.channel.fresh = []
        rows = await self._rows([int(h.message.ref) for h in fresh])
        self.checker.check(fresh, rows, self.history)
        day = (self.clock.now() - START).days
        by_day = self.tally.sent_by_day.setdefault(day, Counter())
        for h in fresh:
            kind = h.message.kind or "?"
            self.tally.sent_by_kind[kind] += 1
            by_day[kind] += 1
            if kind == "dose":
                self.tally.doses_sent[h.message.patient_id] += 1
            due = rows[int(h.message.ref)].due_at
            if due >= START:  # not the rows a first planning pass finds already due
                self.tally.late_s.append((h.at - due).total_seconds())
            else:
                self.tally.caught_up += 1
            self._answer(h)

    async def _rows(self, ids: list[int]) -> dict[int, OutboxRow]:
        out: dict[int, OutboxRow] = {}
        async with self.svc.engine.connect() as conn:
            for i in range(0, len(ids), 500):
                q = select(t.outbox).where(t.outbox.c.id.in_(ids[i : i + 500]))
                out.update((r.id, _row(r)) for r in await conn.execute(q))
        return out

    async def close(self) -> None:
        await self.svc.engine.dispose()

