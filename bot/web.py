"""The Starlette app: health endpoints now; provider webhooks mount here too."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from bot.bootstrap import Service

log = logging.getLogger(__name__)


def create_app(service: Service, *, worker: bool) -> Starlette:
    """The web app; with ``worker`` it also runs the plan and dispatch jobs (lenabot run)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start(inbound=True)
        sched = service.scheduler() if worker else None
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
            if sched is not None:
                sched.shutdown(wait=False)
            await service.close()

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> JSONResponse:
        try:
            async with service.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            db = True
        except Exception:
            db = False
        ticks = {k: v.isoformat() for k, v in service.beat.last.items()}
        ok = db and (not worker or "dispatch" in service.beat.last)
        return JSONResponse(
            {"database": db, "worker": worker, "last": ticks}, status_code=200 if ok else 503
        )

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz), *service.routes()],
        lifespan=lifespan,
    )
