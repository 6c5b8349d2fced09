"""Channel-agnostic conversation: inbound text -> intent -> reply and side effects.

SMS, Telegram and `lenabot say` all come through `Conversation.handle`, so a patient gets the
same answer whichever way they write. A message is answered as a pipeline: understood
(``messages.understand``, pure), then, in one database turn and unit of work, what the
decision needs is read (one read phase), the decision is made (``decide``, pure: the reply,
the dose record, the outbox rows, the alerts, how the text is recorded) and its effects are
applied (``effects.apply``, one write phase); nurse alerts are pushed after the transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from bot.conversation.decide import (
    Needs,
    Outcome,
    State,
    decide,
    labels,
    needs,
    red_flag,
    since,
)
from bot.conversation.effects import Inbound, apply
from bot.conversation.next import next_text
from bot.conversation.replies import Reply, Voice, cite_source
from bot.conversation.turns import Turns
from messages import model
from messages.render import profile_of
from messages.understand import Understanding, understand
from scheduler.domain.alerts import AlertRecord
from scheduler.domain.model import Course, Patient, PlanSettings
from scheduler.ports import Alerts, Clock, OutboxExtras, PatientRecords, StepTaken
from scheduler.services.care import CareTeam

__all__ = [
    "Conversation", "Lookup", "MessageFailed", "Reply", "Steps", "Turns", "cite_source",
    "storable",
]  # fmt: skip

log = logging.getLogger(__name__)

MENU_LIFETIME = timedelta(hours=1)
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as the database can hold it: NUL dropped (PostgreSQL text cannot hold it),
    lone surrogates (only a JSON escape can make them) replaced by U+FFFD. Else unchanged."""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


Lookup = Callable[[], Awaitable[Patient | None]]


class Steps(Protocol):
    """The recorded steps of handling one message (``bot.channels.telegram.journal.Journal``):
    a step recorded as done is not done again when the message is handled again."""

    async def recall(self) -> str | None:
        """Move to the next step: its recorded result, or None if it was not done."""
        ...

    async def record(self, result: str) -> None:
        """That step is done (in the caller's unit of work)."""
        ...

    async def once(self, effect: Callable[[], Awaitable[str]]) -> bool:
        """The next step: ``effect`` unless it was done."""
        ...


def encode(reply: Reply, alerts: list[AlertRecord]) -> str:
    """A handled message's step result: its reply, and the alerts it raised (recorded)."""
    return json.dumps({
        "reply": reply.text, "intent": reply.intent,
        "alerts": [{"id": a.id, "kind": a.kind, "text": a.text, "patient_id": a.patient_id,
                    "created_at": a.created_at.isoformat(), "urgent": a.urgent} for a in alerts],
    })  # fmt: skip


def decode(result: str) -> tuple[Reply, list[AlertRecord]]:
    found = json.loads(result)
    alerts = [
        AlertRecord(id=a["id"], kind=a["kind"], text=a["text"], patient_id=a["patient_id"],
                    created_at=datetime.fromisoformat(a["created_at"]), urgent=a["urgent"])
        for a in found["alerts"]
    ]  # fmt: skip
    return Reply(found["reply"], found["intent"]), alerts


class MessageFailed(Exception):
    """Answering a patient's message failed (the cause says why); their words were kept, the
    nurses were alerted, and ``reply`` is what to answer instead: the urgent instruction for a
    red flag (worked out without the database), else a short apology saying whom to call."""

    def __init__(self, patient: Patient, reply: Reply) -> None:
        super().__init__(f"could not answer a message from patient {patient.id}")
        self.patient = patient
        self.reply = reply


@dataclass
class Conversation:
    """Answers a patient's text as a pipeline: understand it (pure), read what the decision
    needs, decide (pure: ``decide.decide``), apply the decision's effects, and answer."""

    courses: PatientRecords
    care: CareTeam
    clock: Clock
    plan_settings: PlanSettings
    alerts: Alerts
    outbox: OutboxExtras
    serial: bool = field(kw_only=True)  # messages take turns at the database (see Turns)
    team_phone: str = ""
    turns: Turns = field(init=False)

    def __post_init__(self) -> None:
        self.turns = Turns(self.serial)

    async def handle(self, patient: Patient, text: str, channel: str = "console") -> Reply:
        """Answer ``text`` from ``patient``; records the text exactly as received (but see
        ``storable``: no NUL, no lone surrogates). See ``handle_from``."""

        async def given() -> Patient:
            return patient

        try:
            found = await self.handle_from(given, text, channel)
        except MessageFailed as exc:
            assert exc.__cause__ is not None
            raise exc.__cause__ from None
        assert found is not None
        return found[1]

    async def handle_from(
        self, lookup: Lookup, text: str, channel: str, steps: Steps | None = None
    ) -> tuple[Patient, Reply] | None:
        """Find who wrote (``lookup``, e.g. by phone number) and answer them; None if nobody
        is enrolled there (nothing is recorded then).

        The database work, the lookup included, is done in one turn (see Turns) and one
        transaction (a unit of work, see scheduler.store.db): the text, the dose record and the
        re-plan commit together or not at all. If answering fails, the text is still recorded
        on its own, and ``MessageFailed`` says whose it was. Nurse alerts are pushed after the
        transaction, still before the answer is returned. The caller must not hold a turn.

        With ``steps`` (a message that may be handled again after a crash: a Telegram
        update, ``bot.channels.telegram.journal``), the message's database work and the
        alerts' rows commit with a step recording the reply and the alerts; handled again,
        the recorded reply is returned and only alerts not recorded as pushed are pushed.
        """
        text = storable(text)
        if not model.trained():  # just started: the weights load off the event loop
            await asyncio.to_thread(model.warm)
        meaning = understand(text)  # pure: before the turn, so others' database work goes on
        patient: Patient | None = None
        try:
            async with self.turns(), self.courses.unit_of_work():
                patient = await lookup()
                if patient is None:
                    return None
                if steps is not None:
                    # Handled before (the process died before it was marked done): the
                    # recorded reply and alerts, nothing read or written again.
                    done = await steps.recall()
                    if done is None:
                        done = await self._answer_once(patient, text, meaning, channel, steps)
                    reply, records = decode(done)
                else:
                    outcome = await self._answer(patient, text, meaning, channel)
        except StepTaken:
            raise  # another process handled this message meanwhile: it answers, not this one
        except Exception as exc:
            if patient is None:
                raise  # the lookup failed: nobody to answer, nothing to keep
            log.error("could not handle a message from patient %s", patient.id, exc_info=exc)
            await self._keep(patient, text, labels(meaning), channel)
            failed = await self._failed(patient, meaning, text)
            if steps is not None:  # handled again, it answers the same, and alerts no more
                await self._record_failure(steps, failed)
            raise MessageFailed(patient, failed) from exc
        if steps is not None:
            for record in records:
                await steps.once(partial(self._push, record))
            return patient, reply
        for kind, what, patient_id in outcome.effects.alerts:
            await self.alerts.alert(kind, what, patient_id)
        return patient, outcome.reply

    async def _answer_once(
        self, patient: Patient, text: str, meaning: Understanding, channel: str, steps: Steps
    ) -> str:
        """``_answer``, the alerts' rows, and the step saying so, in the caller's unit of
        work: all of it commits, or none. The step's result (``encode``)."""
        outcome = await self._answer(patient, text, meaning, channel)
        records = [await self.alerts.record(*alert) for alert in outcome.effects.alerts]
        done = encode(outcome.reply, records)
        await steps.record(done)
        return done

    async def _record_failure(self, steps: Steps, reply: Reply) -> None:
        """The step of a message whose handling failed: its answer; its alert was pushed."""
        try:
            async with self.turns():
                await steps.record(encode(reply, []))
        except Exception:  # the database may be what failed: handled again, it tries again
            log.exception("could not record a failed message's answer")

    async def _push(self, record: AlertRecord) -> str:
        await self.alerts.push(record)
        return f"alert {record.id}"

    async def _answer(
        self, patient: Patient, text: str, meaning: Understanding, channel: str
    ) -> Outcome:
        """Read, decide, apply: the message's database work, in the caller's unit of work."""
        now = self.clock.now()
        log.info("inbound from %s read as %s", patient.id, labels(meaning))
        state, loaded = await self._read(patient, needs(meaning, patient, text), now)
        outcome = decide(meaning, text, channel, state, now, self.plan_settings, self.team_phone)
        inbound = Inbound(patient.id, channel, text, outcome.intent)
        await apply(inbound, outcome.effects, loaded, now,
                    courses=self.courses, outbox=self.outbox, care=self.care)  # fmt: skip
        return outcome

    async def _read(
        self, patient: Patient, need: Needs, now: datetime
    ) -> tuple[State, tuple[Patient, Course] | None]:
        """What the decision reads of the database, all read before anything is written; and
        the patient and course as loaded, for a dose record's re-plan."""
        if need.menu:
            menu = await self.courses.last_menu(patient.id, now - MENU_LIFETIME)
            return State(patient, menu=menu), None
        if not need.course:
            return State(patient), None
        # The patient as read now, in this transaction: the re-plan after a dose uses it.
        # Reports that record something lock the course until the message is done.
        current, course = await self.courses.load_one(patient.id, lock=need.lock)
        records = await self.courses.dose_records(patient.id, since(course, now))
        return State(patient, course, records), (current, course)

    async def _failed(self, patient: Patient, meaning: Understanding, text: str) -> Reply:
        """The answer and the nurse alert for a message whose handling failed: the team hears
        of it (of a red flag as a red flag), and the patient still gets an urgent answer."""
        voice = Voice(profile_of(patient), self.team_phone)
        flags = meaning.of("red_flag") + meaning.of("extra")
        if flags:
            reply, alerts = red_flag(patient.id, voice, flags[0], text)
            if alerts:
                kind, what, _ = alerts[0]
            else:  # an extra capsule: its usual alert needs the dose record, which failed
                kind = "extra_capsule"
                what = (f"patient {patient.id} may have taken a capsule when none was due (their "
                        "message could not be handled; they were told to call the team now)")
        else:
            reply = Reply(voice.says("fallback"), "failed")
            kind = "inbound_failed"
            what = f"a message from patient {patient.id} could not be handled; please check on them"
        try:
            await self.alerts.alert(kind, what, patient.id)
        except Exception:  # the database may be what failed: the answer must still go
            log.exception("could not alert the nurses about patient %s", patient.id)
        return reply

    async def _keep(self, patient: Patient, text: str, intent: str, channel: str) -> None:
        """After a failed message: what the patient wrote is kept, whatever else was lost."""
        try:
            async with self.turns():
                await self.courses.record_inbound(
                    patient.id, channel, text, intent, self.clock.now()
                )
        except Exception:
            log.exception("could not record an inbound message from patient %s", patient.id)

    async def summary(self, patient: Patient) -> str:
        """What NEXT answers, without recording an inbound text (e.g. for a welcome)."""
        now = self.clock.now()
        async with self.turns():
            _, course = await self.courses.load_one(patient.id)
            records = await self.courses.dose_records(patient.id, since(course, now))
        return next_text(course, profile_of(patient), self.plan_settings, now, records)
