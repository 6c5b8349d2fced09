"""What the Telegram side refuses: forged webhooks, strangers, and bad link codes."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from bot.channels.telegram.roster import NurseRoster
from tests.fakes.telegram_bot import LINK_RE, NURSE, Bot, running_bot
from tests.fakes.telegram_updates import SECRET_TOKEN_HEADER, make_text_update

PATIENT_CHAT = 5001
STRANGER = 6666


async def new_code(bot: Bot, patient_id: str) -> str:
    found = LINK_RE.search(await bot.gateway.new_link(patient_id))
    assert found is not None
    return found[1]


async def linked_chat(bot: Bot, patient_id: str) -> int | None:
    return (await bot.service.courses.get(patient_id)).telegram_chat_id


@pytest.mark.parametrize("secret", [None, "wrong", "s3cret-and-more", ""])
async def test_webhook_without_the_right_secret_is_403_and_nothing_happens(
    tmp_path: Path, secret: str | None
) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        code = await new_code(bot, patient.id)
        response = await bot.post(make_text_update(PATIENT_CHAT, f"/start {code}"), secret)
        assert response.status_code == 403
        await bot.quiet()
        assert bot.fake.sent == []
        assert await linked_chat(bot, patient.id) is None
        # The same update with the secret still works: the code was never used.
        assert "now linked" in (await bot.say(PATIENT_CHAT, f"/start {code}"))[-1].text


async def test_webhook_rejects_big_and_malformed_bodies_without_a_500(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        headers = {SECRET_TOKEN_HEADER: "s3cret"}
        limit = bot.service.settings.max_body_bytes
        async with httpx.AsyncClient() as http:
            big = await http.post(bot.webhook_url, headers=headers, content=b"{" * (limit + 1))
            assert big.status_code == 413
            for body in (
                b"not json",
                b"[1, 2]",
                b'{"message": {}}',
                b"\xff\xfe",
                b'{"update_id": "7"}',
                b'{"update_id": 5, "message": "x"}',
            ):
                r = await http.post(bot.webhook_url, headers=headers, content=body)
                assert r.status_code == 400, body
            wrong_method = await http.get(bot.webhook_url, headers=headers)
            assert wrong_method.status_code == 405
        await bot.quiet()
        assert bot.fake.sent == []


async def test_a_redelivered_update_is_handled_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        await bot.link(patient, PATIENT_CHAT)
        update = make_text_update(PATIENT_CHAT, "/next")
        before = len(bot.fake.sent)
        # Counted before posting: the reply may arrive before the second POST returns.
        replies_before = len(bot.sent_to(PATIENT_CHAT))
        assert (await bot.post(update)).status_code == 200
        assert (await bot.post(update)).status_code == 200
        await bot.wait_for(PATIENT_CHAT, replies_before + 1)
        await bot.quiet()
        assert len(bot.fake.sent) == before + 1


async def test_non_nurse_enrol_is_refused_logged_and_changes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        await bot.link(patient, PATIENT_CHAT)
        with caplog.at_level(logging.WARNING, logger="bot.channels.telegram.nurse"):
            for chat in (STRANGER, PATIENT_CHAT):
                refusal = (await bot.say(chat, "/enrol"))[-1].text
                assert refusal == "Sorry, that command is only for the treatment team."
        refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        assert refused == [
            f"refused nurse command /enrol from Telegram user {STRANGER}",
            f"refused nurse command /enrol from Telegram user {PATIENT_CHAT}",
        ]
        # Not in an enrolment: the stranger's next words get the generic line.
        assert "private reminder service" in (await bot.say(STRANGER, "Eve Evil"))[-1].text
        for command in (
            f"/pause {patient.id}",
            f"/end {patient.id} 2026-07-01",
            "/patients",
            f"/link {patient.id}",
            f"/preview {patient.id}",
        ):
            reply = (await bot.say(STRANGER, command))[-1].text
            assert reply == "Sorry, that command is only for the treatment team."
        assert [p.id for p in await bot.service.courses.all_patients()] == [patient.id]
        _, course = await bot.service.courses.load_one(patient.id)
        assert course.holds == () and course.end is None


async def test_unknown_chat_asking_for_the_schedule_gets_the_generic_line(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        await bot.link(patient, PATIENT_CHAT)
        for text in ("/next", "when is my next dose?", "/start", "/help", "taken"):
            [reply] = await bot.say(STRANGER, text)
            assert reply.text.startswith("Hello. This is a private reminder service")
            assert "Ann" not in reply.text and "09:00" not in reply.text
        assert await bot.service.courses.dose_records(patient.id, patient.created_at.date()) == {}


async def test_a_used_link_code_is_refused_for_another_chat(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        code = await new_code(bot, patient.id)
        assert "now linked" in (await bot.say(PATIENT_CHAT, f"/start {code}"))[-1].text
        reused = (await bot.say(STRANGER, f"/start {code}"))[-1].text
        assert "already been used" in reused and "nothing was linked" in reused
        assert await linked_chat(bot, patient.id) == PATIENT_CHAT
        again = (await bot.say(PATIENT_CHAT, f"/start {code}"))[-1].text
        assert "already linked" in again


async def test_an_expired_link_code_is_refused(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        code = await new_code(bot, patient.id)
        bot.clock.advance(days=7)
        expired = (await bot.say(PATIENT_CHAT, f"/start {code}"))[-1].text
        assert "expired" in expired and "nothing was linked" in expired
        assert await linked_chat(bot, patient.id) is None


async def test_guessed_codes_are_refused_and_the_sixth_within_an_hour_is_throttled(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        code = await new_code(bot, patient.id)
        for guess in ("AAAAAAAAAAAAAAAAAAAAAA", "1234", "x" * 64, code[:-1] + "_", "../etc"):
            refused = (await bot.say(STRANGER, f"/start {guess}"))[-1].text
            assert "not valid" in refused and "nothing was linked" in refused
        # The sixth try is refused without even looking at it: here, the right code.
        throttled = (await bot.say(STRANGER, f"/start {code}"))[-1].text
        assert "Too many wrong link codes" in throttled
        assert await linked_chat(bot, patient.id) is None
        # Other chats are not affected, and the guesser may try again after an hour.
        assert (
            "not valid" in (await bot.say(PATIENT_CHAT, "/start BBBBBBBBBBBBBBBBBBBBBB"))[-1].text
        )
        bot.clock.advance(hours=1)
        assert "now linked" in (await bot.say(STRANGER, f"/start {code}"))[-1].text


async def test_nurses_removed_from_the_list_lose_access(tmp_path: Path) -> None:
    async with running_bot(tmp_path, nurse_ids="") as bot:
        roster = NurseRoster(bot.service.engine)
        await roster.add(NURSE, "Nora", bot.clock.now())
        assert "No patients yet" in (await bot.say(NURSE, "/patients"))[-1].text
        await roster.remove(NURSE, bot.clock.now())
        assert "only for the treatment team" in (await bot.say(NURSE, "/patients"))[-1].text


async def test_the_bot_says_nothing_in_group_chats_even_to_nurses(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        group = -1001234567890
        for text in ("/patients", f"/preview {patient.id}", "/enrol", "/next", "hello"):
            update = make_text_update(group, text, user_id=NURSE)
            assert (await bot.post(update)).status_code == 200
        assert "Nurse commands" in (await bot.say(NURSE, "/help"))[-1].text
        await bot.quiet()
        assert [m.chat_id for m in bot.fake.sent] == [NURSE]
