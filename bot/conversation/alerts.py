"""Nurse alerts: recorded in the database, then pushed to every nurse chat there is, and an
urgent one (a red flag, an extra capsule: ``scheduler.domain.alerts``) by SMS to every
ALERT_SMS_TO number too.

Red flags, opt-outs and failed deliveries end here. The record is written first, so an alert
is never lost because a chat could not be reached. Nurse chats get the alert's text (it can
quote what the patient wrote: those chats are the team's own). An SMS page never does: it
says the kind, the patient id and where the console shows the rest. When nobody was reached
(no nurse chat and no page, as in the embedded default), one line on stdout says an alert is
waiting in `lenabot alerts`: its kind and the patient id, never its text, which would end up
in whatever collects the process's output.

An urgent alert nobody acknowledged within ALERT_ESCALATE_MINUTES is sent again, once, to
every number and every nurse chat (``escalate``, run by the escalation job).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.gateway import NurseNotifier
from scheduler.domain.alerts import AlertRecord, label
from scheduler.ports import AuditLog, Clock
from scheduler.store.alerts import SqlAlchemyAlerts

log = logging.getLogger(__name__)


class Pager(Protocol):
    """Puts one short line on the team's phones (``bot.channels.sms.pager.SmsPager``); how
    many it reached."""

    async def page(self, text: str) -> int: ...


def console_link(public_url: str, patient_id: str | None) -> str:
    """Where the console shows the patient (the web console's ``/patients/<id>``)."""
    if not public_url:
        return "see 'lenabot alerts --open'"
    return f"{public_url}/patients/{patient_id}" if patient_id else public_url


def page_text(alert: AlertRecord, public_url: str) -> str:
    """An urgent alert as an SMS to the team: kind, patient id, link; never the words."""
    who = f" for patient {alert.patient_id}" if alert.patient_id else ""
    return (
        f"lenabot URGENT: {label(alert.kind, alert.text)}{who}. "
        f"{console_link(public_url, alert.patient_id)}"
    )


def escalation_text(alert: AlertRecord, minutes: int, public_url: str) -> str:
    who = f" for patient {alert.patient_id}" if alert.patient_id else ""
    return (
        f"lenabot URGENT, not acknowledged after {minutes} min: "
        f"{label(alert.kind, alert.text)}{who} at {alert.created_at:%H:%M} UTC. "
        f"{console_link(public_url, alert.patient_id)}"
    )


@dataclass
class NurseAlerts:
    engine: AsyncEngine
    clock: Clock
    notifiers: list[NurseNotifier] = field(default_factory=list)
    out: TextIO | None = None
    pagers: list[Pager] = field(default_factory=list)
    public_url: str = ""
    escalate_after: timedelta = timedelta(minutes=15)
    audit: AuditLog | None = None
    store: SqlAlchemyAlerts = field(init=False)

    def __post_init__(self) -> None:
        self.store = SqlAlchemyAlerts(self.engine, self.audit)

    async def alert(self, kind: str, text: str, patient_id: str | None = None) -> None:
        await self.push(await self.record(kind, text, patient_id))

    async def record(self, kind: str, text: str, patient_id: str | None = None) -> AlertRecord:
        """The alert's row, on its own or in the caller's unit of work; ``push`` tells."""
        record = await self.store.add(kind, text, patient_id, self.clock.now())
        log.info(
            "nurse alert %s%s for patient %s",
            kind, " (urgent)" if record.urgent else "", patient_id or "-",
        )  # fmt: skip
        return record

    async def push(self, record: AlertRecord) -> None:
        """Tell every nurse chat (and page the team, if urgent) of a recorded alert."""
        kind, patient_id = record.kind, record.patient_id
        reached = await self._tell_nurses(f"ALERT: {record.text}", kind)
        if record.urgent:
            reached += await self._page(page_text(record, self.public_url), kind)
        if reached == 0:
            print(unseen_line(kind, patient_id), file=self.out or sys.stdout, flush=True)

    async def escalate(self, now: datetime) -> int:
        """Send again, once, every urgent alert nobody acknowledged in time; how many."""
        claimed = await self.store.claim_escalations(now, self.escalate_after)
        minutes = int(self.escalate_after.total_seconds() // 60)
        for record in claimed:
            line = escalation_text(record, minutes, self.public_url)
            reached = await self._tell_nurses(line, record.kind)
            reached += await self._page(line, record.kind)
            log.warning(
                "urgent alert %d (%s, patient %s) not acknowledged after %d min: sent again "
                "to %d nurse chats and numbers", record.id, record.kind,
                record.patient_id or "-", minutes, reached,
            )  # fmt: skip
        return len(claimed)

    async def _tell_nurses(self, text: str, kind: str) -> int:
        reached = 0
        for notifier in self.notifiers:
            try:
                reached += await notifier.notify_nurses(text)
            except Exception:  # an unreachable chat must not lose the patient's reply
                log.exception("could not push nurse alert %s", kind)
        return reached

    async def _page(self, text: str, kind: str) -> int:
        reached = 0
        for pager in self.pagers:
            try:
                reached += await pager.page(text)
            except Exception:
                log.exception("could not page the team about alert %s", kind)
        return reached

    # -- reading and handling, for the CLI and the console ---------------------------------

    async def recent(self, limit: int = 50) -> list[tuple[str, str | None, str]]:
        return [(r.kind, r.patient_id, r.text) for r in await self.store.recent(limit)]

    async def open_alerts(self, limit: int = 100) -> list[AlertRecord]:
        """Alerts nobody acknowledged, urgent ones first, newest first within each."""
        return await self.store.open_alerts(limit)

    async def open_urgent(self) -> int:
        """How many urgent alerts nobody acknowledged."""
        return await self.store.open_urgent()

    async def acknowledge(self, alert_id: int, by: str, note: str = "") -> AlertRecord:
        """``by`` has it in hand (an audit row says so); it is not escalated after this."""
        return await self.store.acknowledge(alert_id, by, note, at=self.clock.now())

    async def assign(self, alert_id: int, to: str, by: str | None = None) -> AlertRecord:
        return await self.store.assign(alert_id, to, by=by, at=self.clock.now())


def unseen_line(kind: str, patient_id: str | None) -> str:
    """What stdout says of an alert no nurse chat received: no words of the patient's."""
    who = f" for patient {patient_id}" if patient_id else ""
    return f"[nurse alert] {kind}{who}: see 'lenabot alerts'"
