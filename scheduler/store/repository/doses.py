"""Doses: what each patient reported for each local date."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, bindparam, insert, select, update

from scheduler.store import tables as t
from scheduler.store.db import connecting, patients_param, reading, writing
from scheduler.store.repository.rows import RepositoryBase

# Statements every inbound message's calls make, built once (see patients._BY_PHONE).
_DOSES = select(t.dose_records.c.local_date, t.dose_records.c.status).where(
    t.dose_records.c.patient_id == bindparam("b_patient"),
    t.dose_records.c.local_date >= bindparam("b_since"),
)
_UPDATE_DOSE = (
    update(t.dose_records)
    .where(
        t.dose_records.c.patient_id == bindparam("b_patient"),
        t.dose_records.c.local_date == bindparam("b_day"),
    )
    .values(status=bindparam("b_status"), recorded_at=bindparam("b_at"))
)
_INSERT_DOSE = insert(t.dose_records)


def _doses_query(patients: Any) -> Select[Any]:
    c = t.dose_records.c
    return select(c.patient_id, c.local_date, c.status).where(
        patients, c.local_date >= bindparam("b_since")
    )


# A few patients by id (a message's, a re-plan's) ...
_DOSES_MANY = _doses_query(t.dose_records.c.patient_id.in_(bindparam("b_ids", expanding=True)))
# ... or a planner's page, by the range of ids it spans (see scheduler.store.db.patients_param).
_DOSES_RANGE = _doses_query(
    t.dose_records.c.patient_id.between(bindparam("b_first"), bindparam("b_last"))
)


class DoseStore(RepositoryBase):
    """Dose records: one per patient and local date."""

    async def dose_records(self, patient_id: str, since: date) -> dict[date, str]:
        async with connecting(self.engine) as conn:
            rows = await conn.execute(_DOSES, {"b_patient": patient_id, "b_since": since})
            return {r.local_date: r.status for r in rows}

    async def record_dose(self, patient_id: str, day: date, status: str, now: datetime) -> None:
        values = {"b_patient": patient_id, "b_day": day, "b_status": status, "b_at": now}
        async with writing(self.engine) as conn:
            res = await conn.execute(_UPDATE_DOSE, values)
            if res.rowcount == 0:
                await conn.execute(
                    _INSERT_DOSE,
                    {"patient_id": patient_id, "local_date": day, "status": status,
                     "recorded_at": now},
                )  # fmt: skip

    async def dose_records_many(
        self, patient_ids: Sequence[str], since: date, *, scattered: bool = False
    ) -> dict[str, dict[date, str]]:
        """Dose records from ``since`` of these patients (``scattered``: as ``load``)."""
        out: dict[str, dict[date, str]] = {pid: {} for pid in patient_ids}
        if not patient_ids:
            return out
        ranged, which = (
            (False, {"b_ids": list(patient_ids)}) if scattered else patients_param(patient_ids)
        )
        async with reading(self.engine) as conn:
            rows = await conn.execute(
                _DOSES_RANGE if ranged else _DOSES_MANY, {**which, "b_since": since}
            )
            for r in rows:
                if (records := out.get(r.patient_id)) is not None:  # a range holds others too
                    records[r.local_date] = r.status
        return out
