"""Serve an ASGI app with uvicorn inside the *current* event loop, on a free 127.0.0.1 port.

Used by the fake provider servers so that the real twilio / python-telegram-bot clients talk
real HTTP to them, in the same loop as the test (no threads, no subprocesses).

    async with serve_asgi(FakeTwilioApi().app) as base_url:
        ...  # base_url == "http://127.0.0.1:<port>"
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import LifespanType

# How long uvicorn may wait for in-flight requests when the server is stopped before it cancels
# them. The fakes end their hanging/long-poll handlers as soon as the client disconnects, so in
# a healthy test nothing waits for this; it is only a bound against a stuck handler.
DEFAULT_GRACEFUL_TIMEOUT_S = 1
STARTUP_TIMEOUT_S = 5.0


class _InLoopServer(uvicorn.Server):
    """uvicorn.Server tuned for tests: event-driven start/stop, signals left alone.

    Stock uvicorn polls `should_exit` every 0.1 s and sleeps a fixed 0.1 s in shutdown, which
    adds ~0.2 s to every test that starts a fake. The overrides keep uvicorn's own steps and
    attributes but wait on events/tasks instead.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()
        self._exit_requested = asyncio.Event()

    def request_exit(self) -> None:
        self.should_exit = True
        self._exit_requested.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn would install its own SIGINT/SIGTERM handlers and re-raise the signal on exit;
        # inside pytest that steals Ctrl-C from the test runner. The owner stops us explicitly.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        # `started` is uvicorn's own flag, set once the listening server exists.
        if self.started:
            self.ready.set()

    async def main_loop(self) -> None:
        # on_tick() refreshes the Date header when counter % 10 == 0 and reports should_exit;
        # call it once a second, but wake up at once when asked to exit.
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864_000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._exit_requested.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's Server.shutdown minus its fixed sleeps: stop accepting, close idle
        # keep-alive connections (active ones close after their response), wait for
        # in-flight request tasks up to the graceful timeout, then cancel the rest.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                while self.server_state.tasks and not self.force_exit:
                    await asyncio.wait(set(self.server_state.tasks))
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="fake server stopped; request outlived the graceful timeout")
            await asyncio.wait(set(self.server_state.tasks), timeout=1.0)
        if not self.force_exit:
            await self.lifespan.shutdown()


def _bind_free_port(host: str) -> socket.socket:
    # Binding port 0 ourselves (instead of picking a number and hoping) makes the port ours
    # before uvicorn starts: no race with other tests or processes.
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every keep-alive request stalls ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.bind((host, 0))
    except BaseException:
        sock.close()
        raise
    return sock


async def _serve(server: _InLoopServer, sock: socket.socket) -> None:
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:
        # uvicorn calls sys.exit() when startup fails; a SystemExit escaping a task would tear
        # down the whole event loop (and pytest), so turn it into an ordinary error.
        raise RuntimeError(f"uvicorn exited during startup (code {exc.code})") from exc


@contextlib.asynccontextmanager
async def serve_asgi(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    graceful_timeout: int = DEFAULT_GRACEFUL_TIMEOUT_S,
    lifespan: LifespanType = "auto",
) -> AsyncIterator[str]:
    """Run `app` until the block exits; yield its base URL, e.g. ``http://127.0.0.1:41234``."""
    sock = _bind_free_port(host)
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http="h11",
        ws="none",
        lifespan=lifespan,
        # log_config=None: do not let uvicorn re-run logging.dictConfig on every test server.
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=graceful_timeout,
    )
    server = _InLoopServer(config)
    serve_task = asyncio.create_task(_serve(server, sock), name=f"uvicorn:{host}:{port}")
    try:
        await _wait_until_ready(server, serve_task)
        yield f"http://{host}:{port}"
    finally:
        await _stop(server, serve_task, graceful_timeout)
        sock.close()


async def _wait_until_ready(server: _InLoopServer, serve_task: asyncio.Task[None]) -> None:
    ready_task = asyncio.create_task(server.ready.wait())
    try:
        done, _ = await asyncio.wait(
            {serve_task, ready_task},
            timeout=STARTUP_TIMEOUT_S,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        ready_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ready_task
    if server.ready.is_set():
        return
    if serve_task in done:
        serve_task.result()  # re-raises the startup error, if any
        raise RuntimeError("uvicorn exited before it started serving")
    raise TimeoutError(f"uvicorn did not start within {STARTUP_TIMEOUT_S}s")


async def _stop(server: _InLoopServer, serve_task: asyncio.Task[None], graceful: int) -> None:
    server.request_exit()
    if serve_task.done():
        # Startup failed; retrieve the exception so asyncio does not log "never retrieved".
        if not serve_task.cancelled():
            serve_task.exception()
        return
    try:
        # shutdown() itself cancels request tasks after `graceful`; the margin covers the
        # cancellation and lifespan shutdown.
        async with asyncio.timeout(graceful + 2.0):
            await serve_task
    except TimeoutError:
        # The timeout cancelled serve_task; let the cancellation finish before reporting.
        server.force_exit = True
        await asyncio.wait({serve_task})
        raise TimeoutError("uvicorn did not shut down in time") from None
