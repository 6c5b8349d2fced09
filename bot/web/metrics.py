"""Prometheus metrics: GET /metrics, one registry per service (no global state).

- ``lenabot_messages_total{outcome,kind,channel}``: every dispatch outcome (sent, retried,
  failed, expired), fed by the Dispatcher's ``on_result`` hook (the scheduler package itself
  knows nothing of Prometheus).
- ``lenabot_dispatch_lag_seconds``: now - the oldest pending row that is due and not expired
  (0 when nothing waits), computed on each scrape.
- ``lenabot_outbox_rows{status}``: rows in the outbox by status, on each scrape.
- ``lenabot_telegram_inbox_rows{status}``: stored Telegram updates by status, on each scrape;
  ``failed`` ones (given up after MAX_ATTEMPTS; the nurses were alerted) should stay 0.
- ``lenabot_last_tick_age_seconds{job}``: how long ago each scheduler job last succeeded
  (this process only).
- ``lenabot_http_request_duration_seconds{method,route,status}``: inbound request latency,
  labelled by route template (``/twilio/status/{token}``), never by the raw path.

Labels carry no personal data: no phone numbers, chat ids, names or texts.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduler.domain.outbox import PENDING
from scheduler.ports import Clock
from scheduler.runtime.jobs import Heartbeat
from scheduler.store import tables as t


class Metrics:
    def __init__(self, engine: AsyncEngine, clock: Clock, beat: Heartbeat) -> None:
        self.engine, self.clock, self.beat = engine, clock, beat
        self.registry = CollectorRegistry(auto_describe=True)
        self.messages = Counter(
            "lenabot_messages",
            "Dispatch outcomes by outcome (sent, retried, failed, expired), kind and channel",
            ["outcome", "kind", "channel"],
            registry=self.registry,
        )
        self.lag = Gauge(
            "lenabot_dispatch_lag_seconds",
            "Now minus the oldest pending row that is due and not expired (0 when none)",
            registry=self.registry,
        )
        self.outbox_rows = Gauge(
            "lenabot_outbox_rows", "Outbox rows by status", ["status"], registry=self.registry
        )
        self.inbox_rows = Gauge(
            "lenabot_telegram_inbox_rows", "Stored Telegram updates by status", ["status"],
            registry=self.registry,
        )
        self.tick_age = Gauge(
            "lenabot_last_tick_age_seconds",
            "Seconds since each scheduler job last succeeded in this process",
            ["job"],
            registry=self.registry,
        )
        self.database_up = Gauge(
            "lenabot_database_up", "1 if the last scrape could query the database",
            registry=self.registry,
        )
        self.requests = Histogram(
            "lenabot_http_request_duration_seconds",
            "Inbound HTTP request latency by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )

    def on_result(self, outcome: str, kind: str, channel: str) -> None:
        """The Dispatcher's ``on_result`` hook."""
        self.messages.labels(outcome, kind, channel).inc()

    async def refresh(self) -> None:
        """Values read from the database and the heartbeat, just before a scrape."""
        now = self.clock.now()
        for job, at in self.beat.last.items():
            self.tick_age.labels(job).set(max(0.0, (now - at).total_seconds()))
        c = t.outbox.c
        i = t.telegram_inbox.c
        try:
            async with self.engine.connect() as conn:
                oldest = (
                    await conn.execute(
                        select(func.min(c.next_attempt_at)).where(
                            c.status == PENDING, c.next_attempt_at <= now, c.expires_at > now
                        )
                    )
                ).scalar()
                counts = await conn.execute(
                    select(c.status, func.count().label("n")).group_by(c.status)
                )
                by_status = {r.status: int(r.n) for r in counts}
                inbox = await conn.execute(
                    select(i.status, func.count().label("n")).group_by(i.status)
                )
                inbox_status = {r.status: int(r.n) for r in inbox}
        except Exception:
            self.database_up.set(0)
            return
        self.database_up.set(1)
        self.lag.set(_age(now, oldest))
        for status in {*by_status, *(s for (s,) in _label_sets(self.outbox_rows))}:
            self.outbox_rows.labels(status).set(by_status.get(status, 0))
        for status in {*inbox_status, *(s for (s,) in _label_sets(self.inbox_rows))}:
            self.inbox_rows.labels(status).set(inbox_status.get(status, 0))

    def exposition(self, accept: str = "") -> Response:
        """Text format 0.0.4 by default; OpenMetrics when the scraper asks for it."""
        encode, content_type = choose_encoder(accept)
        return Response(encode(self.registry), headers={"Content-Type": content_type})

    async def endpoint(self, request: Request) -> Response:
        await self.refresh()
        return self.exposition(request.headers.get("accept", ""))

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Pure ASGI timing (no BaseHTTPMiddleware: it would buffer streamed bodies)."""

        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500

            async def send_(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            try:
                await app(scope, receive, send_)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                self.requests.labels(scope.get("method", "-"), template, str(status)).observe(
                    time.perf_counter() - started
                )

        return timed


def _age(now: datetime, then: datetime | None) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:  # in case an aggregate comes back naive (UTC) on SQLite
        then = then.replace(tzinfo=UTC)
    return max(0.0, (now - then).total_seconds())


def _label_sets(metric: Gauge) -> list[tuple[str, ...]]:
    return [tuple(s.labels.values()) for m in metric.collect() for s in m.samples]
