"""The load generator for the inbound benchmark, run as its own process (127.0.0.1 only).

    python -m bench.load SPEC.json   ->  one JSON line: latencies (ms), errors, achieved rate

``sent_at[i]``: the wall clock (``time.time()``) when request i was sent, for end-to-end
latencies measured elsewhere (bench/e2e.py: webhook POST -> reply at the Fake Bot API).

SPEC: {"base": "http://127.0.0.1:PORT", "rps": 100, "requests": [[path, headers, body], ...]}.
Open loop: request i starts at t0 + i/rps whatever happened to the ones before (bounded by
the number of requests given, and a 30 s timeout per request).

A plain HTTP/1.1 client on asyncio streams: keep-alive connections, at most 256 open, a request
waiting for one when all are busy. It was httpx: its connection pool's bookkeeping grows with
the requests in flight (httpcore's ``_assign_requests_to_connections`` walks every connection
for every queued request), so once the service fell behind for a moment the load generator
spent 10-25 ms of CPU per request instead of 1.5, took the cores the service needed on this
2-core machine, and a hiccup of a second became a collapse of 30 s and more.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit

MAX_CONNECTIONS = 256
TIMEOUT_S = 30.0

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Client:
    """Keep-alive HTTP/1.1 connections to one host, reused most recent first."""

    def __init__(self, base: str) -> None:
        u = urlsplit(base)
        assert u.scheme == "http" and u.hostname == "127.0.0.1", "loopback only"
        self.host, self.port = u.hostname, u.port or 80
        self.host_header = f"{self.host}:{self.port}".encode()
        self.idle: list[Conn] = []
        self.open = 0
        self.waiting: deque[asyncio.Future[Conn | None]] = deque()

    async def _take(self) -> tuple[Conn, bool]:
        """A connection, and whether it was used before (the server may have closed it)."""
        while self.idle:
            conn = self.idle.pop()
            if not conn[0].at_eof() and not conn[1].is_closing():
                return conn, True
            conn[1].close()  # closed by the server while idle (uvicorn: after 5 s)
            self.open -= 1
        if self.open < MAX_CONNECTIONS:
            self.open += 1
            try:
                return await asyncio.open_connection(self.host, self.port), False
            except BaseException:
                self.open -= 1
                raise
        waiter: asyncio.Future[Conn | None] = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        conn = await waiter
        return (conn, True) if conn is not None else await self._take()

    def _give(self, conn: Conn | None) -> None:
        """Back to the pool; None: the connection was closed (a slot is free)."""
        if conn is None:
            self.open -= 1
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(conn)  # None: it opens one in the freed slot
                return
        if conn is not None:
            self.idle.append(conn)

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        """Send one request and read its whole answer: the status code. A kept-alive
        connection the server closed before answering anything is replaced, once, as an
        HTTP client does (the server closes only idle connections: it saw no request)."""
        try:
            return await self._request(method, path, headers, body, retry=True)
        except _Stale:
            return await self._request(method, path, headers, body, retry=False)

    async def _request(
        self, method: str, path: str, headers: dict[str, str], body: bytes, *, retry: bool
    ) -> int:
        conn, reused = await self._take()
        reader, writer = conn
        keep = False  # set once the whole answer is read: else the connection is closed
        try:
            head = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self.host_header,
                    f"Content-Length: {len(body)}".encode()]  # fmt: skip
            head += [f"{k}: {v}".encode("latin-1") for k, v in headers.items()]
            try:
                writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
                first = await reader.readuntil(b"\r\n")
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                nothing = not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial
                if reused and retry and nothing:
                    raise _Stale from exc
                raise
            status = int(first.split(b" ", 2)[1])
            length, reusable = 0, True
            while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    reusable = False
                elif name == b"transfer-encoding":
                    reusable = False  # not sent by the service's answers; not read here
            await reader.readexactly(length)
            keep = reusable
            return status
        finally:
            if keep:
                self._give(conn)
            else:
                writer.close()
                self._give(None)


class _Stale(Exception):
    """A reused connection was closed by the server before it answered."""


async def main(spec: dict[str, Any]) -> None:
    base, rps, reqs = spec["base"], float(spec["rps"]), spec["requests"]
    assert base.startswith("http://127.0.0.1:"), "loopback only"
    lat: list[float] = []
    errors: list[str] = []
    client = Client(base)
    await client.request("GET", "/healthz", {}, b"")  # warm one connection

    slow: list[tuple[float, float, int]] = []  # (latency ms, started at s, request index)
    sent_at = [0.0] * len(reqs)  # wall clock (time.time()) at which request i was sent

    async def one(i: int, path: str, headers: dict[str, str], body: str) -> None:
        t0 = time.perf_counter()
        sent_at[i] = time.time()
        try:
            async with asyncio.timeout(TIMEOUT_S):
                status = await client.request("POST", path, headers, body.encode())
            if status != 200:
                errors.append(str(status))
        except Exception as exc:
            errors.append(type(exc).__name__)
        ms = (time.perf_counter() - t0) * 1000
        lat.append(ms)
        slow.append((round(ms, 1), round(t0 - start, 3), i))

    tasks = []
    start = time.perf_counter()
    for i, (path, headers, body) in enumerate(reqs):
        delay = start + i / rps - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, path, headers, body)))
    issued = time.perf_counter() - start
    await asyncio.gather(*tasks)
    for _, writer in client.idle:
        writer.close()
    slow.sort(reverse=True)
    print(json.dumps({"latencies_ms": lat, "errors": errors, "issued_s": issued,
                      "achieved_rps": len(reqs) / issued if issued else 0.0,
                      "slowest": slow[:20], "sent_at": sent_at}))  # fmt: skip


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        asyncio.run(main(json.load(f)))
