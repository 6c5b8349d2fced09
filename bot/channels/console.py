"""The console channel: prints each message with its local time. The no-credentials default."""

from __future__ import annotations

import sys
from typing import TextIO

from scheduler.ports import Outgoing


class ConsoleChannel:
    name = "console"

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out

    async def send(self, message: Outgoing) -> str:
        out = self.out or sys.stdout
        print(
            f"[{message.local_label}] to {message.patient_id} "
            f"({message.address.channel.value}): {message.text}",
            file=out,
            flush=True,
        )
        return f"console-{message.ref}"
