"""Link codes on their own: single use, 7 days, hashed at rest, guessers throttled."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.conversation.linking import LinkCodes, Outcome, code_hash, deep_link, new_code
from scheduler.domain.model import ChannelKind
from scheduler.store import tables as t
from scheduler.store.repository import SqlAlchemyCourseRepository
from tests.conftest import T0, Enrol

CHAT, OTHER_CHAT = 5001, 6001


@pytest.fixture
def links(engine: AsyncEngine) -> LinkCodes:
    return LinkCodes(engine)


@pytest.fixture
async def pid(enrol: Enrol) -> str:
    patient = await enrol("p1", channel=ChannelKind.TELEGRAM, phone=None)
    return patient.id


async def chat_of(repo: SqlAlchemyCourseRepository, pid: str) -> int | None:
    return (await repo.get(pid)).telegram_chat_id


def test_codes_are_random_url_safe_and_long_enough() -> None:
    codes = {new_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(len(c) == 22 and c.replace("-", "").replace("_", "").isalnum() for c in codes)
    assert deep_link("lenabot", "abc") == "https://t.me/lenabot?start=abc"
    assert code_hash("abc") == hashlib.sha256(b"abc").hexdigest()


async def test_a_code_links_the_chat_to_its_patient(
    links: LinkCodes, pid: str, repo: SqlAlchemyCourseRepository
) -> None:
    code = await links.issue(pid, T0)
    assert await links.pending(pid, T0)
    result = await links.redeem(code, CHAT, T0 + timedelta(days=1))
    assert (result.outcome, result.patient_id) == (Outcome.LINKED, pid)
    assert await chat_of(repo, pid) == CHAT
    assert not await links.pending(pid, T0)


async def test_only_the_hash_is_stored(links: LinkCodes, pid: str, engine: AsyncEngine) -> None:
    code = await links.issue(pid, T0)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.link_codes))).all()
    assert [r.code_hash for r in rows] == [hashlib.sha256(code.encode()).hexdigest()]
    assert all(code not in str(value) for r in rows for value in r)


async def test_a_code_is_single_use(
    links: LinkCodes, pid: str, repo: SqlAlchemyCourseRepository
) -> None:
    code = await links.issue(pid, T0)
    await links.redeem(code, CHAT, T0)
    assert (await links.redeem(code, OTHER_CHAT, T0)).outcome is Outcome.USED
    assert await chat_of(repo, pid) == CHAT
    # The chat that used it may open it again: nothing changes, and it is told so kindly.
    again = await links.redeem(code, CHAT, T0)
    assert (again.outcome, again.patient_id) == (Outcome.ALREADY_LINKED, pid)


async def test_a_code_expires_after_7_days(
    links: LinkCodes, pid: str, repo: SqlAlchemyCourseRepository
) -> None:
    code = await links.issue(pid, T0)
    assert (await links.redeem(code, CHAT, T0 + timedelta(days=7))).outcome is Outcome.EXPIRED
    assert await chat_of(repo, pid) is None
    fresh = await links.issue(pid, T0)
    late = T0 + timedelta(days=7) - timedelta(seconds=1)
    assert (await links.redeem(fresh, CHAT, late)).outcome is Outcome.LINKED


@pytest.mark.parametrize(
    "guess", ["AAAAAAAAAAAAAAAAAAAAAA", "short", "", "a b c", "x" * 65, "ünïcödeünïcödeünïcöde"]
)
async def test_wrong_codes_link_nothing(
    links: LinkCodes, pid: str, repo: SqlAlchemyCourseRepository, guess: str
) -> None:
    await links.issue(pid, T0)
    assert (await links.redeem(guess, CHAT, T0)).outcome is Outcome.WRONG
    assert await chat_of(repo, pid) is None


async def test_a_new_code_replaces_the_unused_old_one(links: LinkCodes, pid: str) -> None:
    old = await links.issue(pid, T0)
    new = await links.issue(pid, T0)
    assert (await links.redeem(old, CHAT, T0)).outcome is Outcome.WRONG
    assert (await links.redeem(new, CHAT, T0)).outcome is Outcome.LINKED


async def test_a_new_code_moves_the_patient_to_a_new_chat(
    links: LinkCodes, pid: str, repo: SqlAlchemyCourseRepository
) -> None:
    await links.redeem(await links.issue(pid, T0), CHAT, T0)
    await links.redeem(await links.issue(pid, T0), OTHER_CHAT, T0)  # e.g. a new phone
    assert await chat_of(repo, pid) == OTHER_CHAT


async def test_five_wrong_codes_in_an_hour_throttle_the_chat(
    links: LinkCodes, pid: str, repo: SqlAlchemyCourseRepository
) -> None:
    code = await links.issue(pid, T0)
    for minute in range(5):
        wrong = await links.redeem(f"guess{minute:017d}", CHAT, T0 + timedelta(minutes=minute))
        assert wrong.outcome is Outcome.WRONG
    # The 6th is refused without looking at it, even when it is right...
    sixth = await links.redeem(code, CHAT, T0 + timedelta(minutes=10))
    assert sixth.outcome is Outcome.THROTTLED
    assert await chat_of(repo, pid) is None
    # ...other chats are not affected...
    assert (await links.redeem("x" * 22, OTHER_CHAT, T0)).outcome is Outcome.WRONG
    # ...and an hour after the oldest failures the chat may try again.
    later = await links.redeem(code, CHAT, T0 + timedelta(hours=1, minutes=4, seconds=1))
    assert later.outcome is Outcome.LINKED


async def test_used_and_expired_codes_count_as_failures(links: LinkCodes, pid: str) -> None:
    used = await links.issue(pid, T0)
    await links.redeem(used, OTHER_CHAT, T0)
    expired = await links.issue(pid, T0 - timedelta(days=8))
    for _ in range(3):
        assert (await links.redeem(used, CHAT, T0)).outcome is Outcome.USED
    for _ in range(2):
        assert (await links.redeem(expired, CHAT, T0)).outcome is Outcome.EXPIRED
    assert (await links.redeem(used, CHAT, T0)).outcome is Outcome.THROTTLED


async def test_a_chat_already_linked_to_someone_else_is_refused_and_the_code_kept(
    links: LinkCodes, pid: str, enrol: Enrol, repo: SqlAlchemyCourseRepository
) -> None:
    other = await enrol("p2", channel=ChannelKind.TELEGRAM, phone=None)
    await links.redeem(await links.issue(other.id, T0), CHAT, T0)
    code = await links.issue(pid, T0)
    assert (await links.redeem(code, CHAT, T0)).outcome is Outcome.CHAT_TAKEN
    assert await chat_of(repo, pid) is None and await chat_of(repo, other.id) == CHAT
    assert (await links.redeem(code, OTHER_CHAT, T0)).outcome is Outcome.LINKED


async def test_two_chats_racing_for_one_code_link_exactly_one(
    links: LinkCodes, pid: str, repo: SqlAlchemyCourseRepository
) -> None:
    code = await links.issue(pid, T0)
    results = await asyncio.gather(*(links.redeem(code, chat, T0) for chat in (CHAT, OTHER_CHAT)))
    outcomes = sorted(r.outcome.value for r in results)
    assert outcomes == ["linked", "used"]
    winner = CHAT if results[0].linked else OTHER_CHAT
    assert await chat_of(repo, pid) == winner
