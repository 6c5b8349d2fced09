"""Nurse alerts: recorded in the database, then pushed to every nurse chat there is.

Red flags, opt-outs and failed deliveries end here. The record is written first, so an alert
is never lost because a chat could not be reached. When no nurse chat was reached (none is
configured in the embedded default), one line on stdout says an alert is waiting in `lenabot
alerts`: its kind and the patient id, never its text, which can quote what the patient wrote
and would end up in whatever collects the process's output.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.gateway import NurseNotifier
from scheduler.ports import Clock
from scheduler.store import tables as t

log = logging.getLogger(__name__)


@dataclass
class NurseAlerts:
    engine: AsyncEngine
    clock: Clock
    notifiers: list[NurseNotifier] = field(default_factory=list)
    out: TextIO | None = None

    async def alert(self, kind: str, text: str, patient_id: str | None = None) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(t.alerts).values(
                    patient_id=patient_id, kind=kind, text=text, created_at=self.clock.now()
                )
            )
        log.info("nurse alert %s for patient %s", kind, patient_id or "-")
        reached = 0
        for notifier in self.notifiers:
            try:
                reached += await notifier.notify_nurses(f"ALERT: {text}")
            except Exception:  # an unreachable chat must not lose the patient's reply
                log.exception("could not push nurse alert %s", kind)
        if reached == 0:
            print(unseen_line(kind, patient_id), file=self.out or sys.stdout, flush=True)

    async def recent(self, limit: int = 50) -> list[tuple[str, str | None, str]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(t.alerts.c.kind, t.alerts.c.patient_id, t.alerts.c.text)
                .order_by(t.alerts.c.id.desc())
                .limit(limit)
            )
            return [(r.kind, r.patient_id, r.text) for r in rows]


def unseen_line(kind: str, patient_id: str | None) -> str:
    """What stdout says of an alert no nurse chat received: no words of the patient's."""
    who = f" for patient {patient_id}" if patient_id else ""
    return f"[nurse alert] {kind}{who}: see 'lenabot alerts'"
