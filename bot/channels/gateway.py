"""The shape every provider integration (Twilio, Telegram) takes inside the service."""

from __future__ import annotations

from typing import Protocol

from starlette.routing import BaseRoute

from scheduler.domain.model import ChannelKind
from scheduler.ports import Channel


class Gateway(Protocol):
    """A provider: the Channel that sends, the webhook routes that receive, and a lifecycle.

    ``start(inbound=True)`` runs in the web process (webhooks or polling); a worker-only
    process calls ``start(inbound=False)`` and only sends.
    """

    kind: ChannelKind
    channel: Channel

    async def start(self, *, inbound: bool) -> None: ...

    async def stop(self) -> None: ...

    def routes(self) -> list[BaseRoute]: ...


class NurseNotifier(Protocol):
    """Something that can put a line in front of the nurses (a Telegram bot, for now)."""

    async def notify_nurses(self, text: str) -> int: ...
