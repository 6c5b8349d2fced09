"""A channel that records what it is asked to send: implements ``scheduler.ports.Channel``.

Failures are scripted with ``fail(...)``: raise a ``TransientSendError`` / ``PermanentSendError``
(or anything else) for the next N sends, for one row ref, or whenever a predicate matches.
``after_send`` runs after a message was accepted and before ``send`` returns: the window in
which a real worker could die having handed a message over without recording it.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from scheduler.domain.model import ChannelKind, Patient
from scheduler.ports import Address, Channel, Clock, Outgoing

AfterSend = Callable[[Outgoing], Awaitable[None]]


@dataclass(frozen=True)
class Delivery:
    message: Outgoing
    provider_id: str
    at: datetime | None


@dataclass
class _Rule:
    error: BaseException
    when: Callable[[Outgoing], bool]
    times: int | None  # None: for ever

    def take(self, message: Outgoing) -> BaseException | None:
        if self.times == 0 or not self.when(message):
            return None
        if self.times is not None:
            self.times -= 1
        return copy.copy(self.error)


class RecordingChannel:
    """Accepts every message unless told otherwise, and remembers each call."""

    def __init__(
        self, name: str = "sms", *, clock: Clock | None = None, after_send: AfterSend | None = None
    ) -> None:
        self.name = name
        self.clock = clock
        self.after_send = after_send
        self.attempts: list[Outgoing] = []  # every call, in order, failed or not
        self.attempted_at: list[datetime | None] = []  # the clock at each call
        self.deliveries: list[Delivery] = []  # the calls that handed a message over
        self._rules: list[_Rule] = []

    # -- scripting ---------------------------------------------------------------------------

    def fail(
        self,
        error: BaseException,
        *,
        times: int | None = 1,
        ref: str | None = None,
        when: Callable[[Outgoing], bool] | None = None,
    ) -> None:
        """Raise (a copy of) ``error`` on the next ``times`` matching sends (None: always).

        Matching: ``ref`` (the outbox row id as text) and/or ``when``; neither means any send.
        Rules are checked in the order they were added.
        """

        def match(m: Outgoing) -> bool:
            return (ref is None or m.ref == ref) and (when is None or when(m))

        self._rules.append(_Rule(error, match, times))

    def heal(self) -> None:
        """Forget every scripted failure."""
        self._rules.clear()

    # -- the Channel protocol ----------------------------------------------------------------

    async def send(self, message: Outgoing) -> str:
        self.attempts.append(message)
        self.attempted_at.append(self.clock.now() if self.clock is not None else None)
        for rule in self._rules:
            error = rule.take(message)
            if error is not None:
                raise error
        provider_id = f"FAKE{len(self.deliveries) + 1:08d}"
        at = self.clock.now() if self.clock is not None else None
        self.deliveries.append(Delivery(message, provider_id, at))
        if self.after_send is not None:
            await self.after_send(message)
        return provider_id

    # -- what happened -----------------------------------------------------------------------

    @property
    def sent(self) -> list[Outgoing]:
        return [d.message for d in self.deliveries]

    def sent_refs(self) -> list[str]:
        return [d.message.ref for d in self.deliveries]

    def counts(self) -> Counter[str]:
        """Deliveries per row ref."""
        return Counter(self.sent_refs())

    def duplicates(self) -> dict[str, int]:
        return {ref: n for ref, n in self.counts().items() if n > 1}

    def attempts_for(self, ref: str) -> int:
        return sum(1 for m in self.attempts if m.ref == ref)

    def sent_to(self, patient_id: str) -> list[Outgoing]:
        return [m for m in self.sent if m.patient_id == patient_id]


def resolver_for(channel: Channel) -> Callable[[Patient], tuple[Channel, Address] | None]:
    """A dispatcher ``resolve``: every patient through ``channel``, at their phone or chat id."""

    def resolve(patient: Patient) -> tuple[Channel, Address] | None:
        to = patient.phone if patient.channel is ChannelKind.SMS else patient.telegram_chat_id
        if to is None:
            return None
        return channel, Address(patient.channel, str(to))

    return resolve
