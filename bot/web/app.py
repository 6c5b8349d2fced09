"""The Starlette app: health, readiness and metrics endpoints, and the provider webhooks.

- ``/healthz``: the process answers (liveness).
- ``/readyz``: the database answers (within ``DB_ANSWER_S``), and in a worker process the
  scheduler runs and its last dispatch tick is recent (no older than ``STALE_TICKS`` dispatch
  intervals, with a floor): 503 otherwise. It logs nothing: while the database is away the
  jobs say so, once (``scheduler.runtime.jobs.DatabaseWatch``).
- ``/metrics``: Prometheus text format (see ``bot.web.metrics``).
- the care-team console's pages (``bot.web.console``), behind staff sign-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.bootstrap import Service
from bot.web.console.routes import console_routes
from bot.web.metrics import Metrics
from scheduler.runtime.jobs import stop_jobs
from scheduler.store.db import is_sqlite

log = logging.getLogger(__name__)

STALE_TICKS = 3  # /readyz fails once the last dispatch tick is this many intervals old
STALE_FLOOR_S = 30.0  # ... but never sooner than this (a 2 s interval, a slow tick)
DB_ANSWER_S = 5.0  # a server that does not answer (a dropped network) is not ready either


def create_app(service: Service, *, worker: bool) -> Starlette:
    """The web app; with ``worker`` it also runs the plan and dispatch jobs (lenabot run)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start(inbound=True)
        sched = service.scheduler() if worker else None
        running["scheduler"] = sched
        if sched is not None:
            sched.start()  # inside the running loop, as APScheduler 3 requires
            log.info(
                "worker started: planning every %ss, dispatching every %ss",
                service.settings.plan_interval_seconds,
                service.settings.dispatch_interval_seconds,
            )
        try:
            yield
        finally:
            running["scheduler"] = None
            if sched is not None:
                await stop_jobs(
                    service.dispatcher, sched
                )  # finish in-flight sends, release the rest
            await service.close()

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> JSONResponse:
        try:
            # Not on SQLite: a local file has no network to drop, and cancelling a statement
            # in aiosqlite's thread could leave the connection in the middle of it.
            limit = None if is_sqlite(service.engine) else DB_ANSWER_S
            async with asyncio.timeout(limit), service.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            db = True
        except Exception:
            db = False
        now = service.clock.now()
        ticks = {k: v.isoformat() for k, v in service.beat.last.items()}
        body: dict[str, object] = {"database": db, "worker": worker, "last": ticks}
        ok = db
        if worker:
            sched = running["scheduler"]
            body["scheduler"] = bool(sched is not None and sched.running)
            last = service.beat.last.get("dispatch")
            age = None if last is None else max(0.0, (now - last).total_seconds())
            limit = max(STALE_FLOOR_S, STALE_TICKS * service.settings.dispatch_interval_seconds)
            body["dispatch_age_seconds"] = None if age is None else round(age, 3)
            body["dispatch_stale_after_seconds"] = limit
            ok = ok and bool(body["scheduler"]) and age is not None and age <= limit
        return JSONResponse(body, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        return await service.metrics.endpoint(request)

    running: dict[str, Any] = {"scheduler": None}
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *service.routes(),
            *console_routes(service.console_desk),
        ],
        lifespan=lifespan,
        middleware=[Middleware(_Timed, metrics=service.metrics)],
    )


class _Timed:
    """Times every request into the latency histogram (pure ASGI, see ``bot.web.metrics``)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.timed = metrics.middleware(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.timed(scope, receive, send)
