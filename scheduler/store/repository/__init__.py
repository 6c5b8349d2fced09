"""SQLAlchemy adapter for patients and their courses (holds, delays, appointments), by aggregate:
patients, courses, doses, inbound (texts, menus), erasure; rows.py reads rows as domain values."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from scheduler.ports import CourseReader, PatientRecords
from scheduler.store.db import unit_of_work
from scheduler.store.repository.courses import CourseStore
from scheduler.store.repository.doses import DoseStore
from scheduler.store.repository.erasure import FORGOTTEN, FORGOTTEN_TEXT, ErasureStore
from scheduler.store.repository.inbound import InboundStore
from scheduler.store.repository.patients import PatientStore
from scheduler.store.repository.rows import UnknownPatientError

__all__ = [
    "FORGOTTEN",
    "FORGOTTEN_TEXT",
    "SqlAlchemyCourseRepository",
    "UnknownPatientError",
]


class SqlAlchemyCourseRepository(PatientStore, CourseStore, DoseStore, InboundStore, ErasureStore):
    """Patients and courses. Every method runs in its own short transaction."""

    def unit_of_work(self) -> AbstractAsyncContextManager[object]:
        return unit_of_work(self.engine)


def _conforms(store: SqlAlchemyCourseRepository) -> tuple[CourseReader, PatientRecords]:
    """Never called: mypy checks here that the class satisfies the ports the services use."""
    return store, store
