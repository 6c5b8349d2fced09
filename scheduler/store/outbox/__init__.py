"""The outbox: planned messages as rows, claimed atomically, each sent at most once.
plan.py: planning writes (inserts.py: its fast insert); claims.py: claims; reads.py: reads."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from scheduler.ports import OutboxClaims, OutboxExtras
from scheduler.store.db import unit_of_work
from scheduler.store.outbox.claims import FINISH_BACKOFF_S, FINISH_PATIENCE_S, OutboxClaiming
from scheduler.store.outbox.plan import NOT_PLANNED, OutboxPlanning
from scheduler.store.outbox.reads import OutboxReading

__all__ = ["FINISH_BACKOFF_S", "FINISH_PATIENCE_S", "NOT_PLANNED", "SqlAlchemyOutbox"]


class SqlAlchemyOutbox(OutboxPlanning, OutboxClaiming, OutboxReading):
    """Status moves pending -> sending -> sent | failed, or pending -> expired | cancelled. Only
    pending rows are ever changed by re-planning; a row that left pending is history."""

    def unit_of_work(self) -> AbstractAsyncContextManager[object]:
        return unit_of_work(self.engine)


def _conforms(store: SqlAlchemyOutbox) -> tuple[OutboxClaims, OutboxExtras]:
    """Never called: mypy checks here that the class satisfies the ports the services use."""
    return store, store
