"""The load generator for the inbound benchmark, run as its own process (127.0.0.1 only).

    python -m bench.load SPEC.json   ->  one JSON line: latencies (ms), errors, achieved rate

``sent_at[i]``: the wall clock (``time.time()``) when request i was sent, for end-to-end
latencies measured elsewhere (bench/e2e.py: webhook POST -> reply at the fake Bot API).

SPEC: {"base": "http://127.0.0.1:PORT", "rps": 100, "requests": [[path, headers, body], ...]}.
Open loop: request i starts at t0 + i/rps whatever happened to the ones before (bounded by
the number of requests given, and a 30 s timeout per request).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx


async def main(spec: dict[str, Any]) -> None:
    base, rps, reqs = spec["base"], float(spec["rps"]), spec["requests"]
    assert base.startswith("http://127.0.0.1:"), "loopback only"
    lat: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        await http.get("/healthz")  # warm one connection

        slow: list[tuple[float, float, int]] = []  # (latency ms, started at s, request index)
        sent_at = [0.0] * len(reqs)  # wall clock (time.time()) at which request i was sent

        async def one(i: int, path: str, headers: dict[str, str], body: str) -> None:
            t0 = time.perf_counter()
            sent_at[i] = time.time()
            try:
                r = await http.post(path, content=body.encode(), headers=headers)
                if r.status_code != 200:
                    errors.append(str(r.status_code))
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
    slow.sort(reverse=True)
    print(json.dumps({"latencies_ms": lat, "errors": errors, "issued_s": issued,
                      "achieved_rps": len(reqs) / issued if issued else 0.0,
                      "slowest": slow[:20], "sent_at": sent_at}))  # fmt: skip


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        asyncio.run(main(json.load(f)))
