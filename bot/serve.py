"""Process entry points: web + worker (`run`), web only, worker only."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import sys

import uvicorn
import uvloop

from bot import logs
from bot.bootstrap import Service, build
from bot.settings import Settings
from bot.web.app import create_app
from scheduler.runtime.jobs import stop_jobs

log = logging.getLogger(__name__)

# On SIGTERM, how long sends already with a provider may take to finish and be recorded. Well
# inside the usual 10 s a supervisor (systemd, Kubernetes, Heroku) waits before SIGKILL.
# Young-generation threshold of the garbage collector (CPython's default: 700 allocations).
# A planning pass keeps a page of patients' plans alive while it writes them; with the
# default, those objects are promoted and trigger ~50 full collections in a 100k-patient
# pass (4-5 s of 25 s). Nearly everything is freed by reference counting anyway.
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Fewer, larger garbage collections: for the long-running service processes."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def serve(settings: Settings, *, web: bool, worker: bool) -> None:
    logs.configure(settings.log_level, settings.log_format)
    tune_gc()
    sock = _bind(settings.host, settings.port) if web else None
    service = build(settings)
    if sock is not None:
        app = create_app(service, worker=worker)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            lifespan="on",
            log_level=settings.log_level.lower(),
            access_log=False,
            log_config=None,
        )
        log.info(
            "lenabot listening on http://%s:%s (database: %s)",
            settings.host,
            settings.port,
            service.engine.url.render_as_string(hide_password=True),
        )
        uvicorn.Server(config).run(sockets=[sock])
    else:
        uvloop.run(run_worker(service))  # the event loop uvicorn runs the web processes on


def _bind(host: str, port: int) -> socket.socket:
    """Bind before starting anything, so a taken port is one sentence, not a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose proto
    # says TCP, and without it every answer on a kept-alive connection waited ~40 ms (Nagle
    # and delayed ACK: the inbound benchmark's p50 was 47 ms for Telegram updates).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        print(
            f"error: cannot listen on {host}:{port} ({exc.strerror}): set HOST or PORT",
            file=sys.stderr,
        )
        sys.exit(2)
    sock.set_inheritable(True)
    return sock


async def run_worker(service: Service) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await service.start(inbound=False)
    sched = service.scheduler()
    sched.start()
    log.info("worker started")
    try:
        await stop.wait()
    finally:
        await stop_jobs(service.dispatcher, sched)
        await service.close()
        log.info("worker stopped")


