"""A fake provider (Telegram's Bot API or Twilio's Messages API) in a process of its own.

The real provider is on another machine; a fake served from the benchmark's own process and
event loop makes the client's figure include the fake's request handling (uvicorn, Starlette,
JSON) and share one core with it. Run here, the client's process holds only lenabot and its
client, and the fake reports its own CPU.

    python -m bench.fake_process telegram --token 123:BENCH [--limits 30 1]
    python -m bench.fake_process twilio

Prints the fake's base URL on the first line, serves until its standard input closes, then
prints one JSON line: what it received and its CPU seconds. ``FakeProcess`` drives it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
from types import TracebackType
from typing import Any


async def serve(kind: str, token: str, limits: list[int] | None) -> None:
    from tests.fakes.server import serve_asgi

    fake: Any
    if kind == "telegram":
        from tests.fakes.telegram_api import FakeTelegramBotApi

        fake = FakeTelegramBotApi(token=token)
        if limits:
            fake.enforce_limits(limits[0], limits[1])
        app = fake.app
    else:
        from tests.fakes.twilio_api import FakeTwilioApi

        fake = FakeTwilioApi()
        app = fake.app
    async with serve_asgi(app) as url:
        print(url, flush=True)
        # Until the benchmark closes our standard input.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    if kind == "telegram":
        got = {"messages": len(fake.sent), "too_many_requests": fake.too_many_requests}
    else:
        got = {"messages": len(fake.messages)}
    print(json.dumps({**got, "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)}), flush=True)


class FakeProcess:
    """``async with FakeProcess("telegram", ...) as fake:`` then ``fake.url``; after the
    block, ``fake.result`` holds what the fake received and its CPU seconds."""

    def __init__(self, kind: str, *, token: str = "", limits: tuple[int, int] | None = None):
        self.args = [kind, "--token", token or "-"]
        if limits:
            self.args += ["--limits", str(limits[0]), str(limits[1])]
        self.url = ""
        self.result: dict[str, Any] = {}
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> FakeProcess:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.fake_process", *self.args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self._proc.stdout is not None
        self.url = (await asyncio.wait_for(self._proc.stdout.readline(), 30)).decode().strip()
        if not self.url.startswith("http://"):
            raise RuntimeError(f"the fake provider did not start: {self.url!r}")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        await asyncio.wait_for(proc.wait(), 30)
        if line:
            self.result = json.loads(line)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="python -m bench.fake_process", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["telegram", "twilio"])
    ap.add_argument("--token", default="-")
    ap.add_argument("--limits", type=int, nargs=2, default=None,
                    help="Telegram's overall messages/s and per chat messages/s")
    a = ap.parse_args()
    asyncio.run(serve(a.kind, a.token, a.limits))
