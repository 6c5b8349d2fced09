"""The real python-telegram-bot 22 against FakeTelegramBotApi, over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import Conflict, Forbidden, InvalidToken, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.server import serve_asgi
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.fakes.telegram_updates import make_callback_query_update, make_text_update

CHAT_ID = 4242


class ManualClock:
    """Deterministic time for the flood-control window."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock) -> FakeTelegramBotApi:
    return FakeTelegramBotApi(clock=clock)


@pytest.fixture
async def base_url(fake: FakeTelegramBotApi) -> AsyncIterator[str]:
    async with serve_asgi(fake.app) as url:
        yield url


def make_bot(base_url: str, token: str) -> Bot:
    return Bot(token, base_url=f"{base_url}/bot", base_file_url=f"{base_url}/file/bot")


@pytest.fixture
async def bot(fake: FakeTelegramBotApi, base_url: str) -> AsyncIterator[Bot]:
    async with make_bot(base_url, fake.token) as tg_bot:  # initialize() calls getMe
        yield tg_bot


async def test_initialize_and_get_me(bot: Bot, fake: FakeTelegramBotApi) -> None:
    me = await bot.get_me()

    assert me.is_bot
    assert me.id == 123456789  # the numeric part of the token, as on Telegram
    assert me.username == "lenabot_test_bot"
    assert bot.username == "lenabot_test_bot"  # filled in by initialize()
    assert [c.method for c in fake.calls] == ["getMe", "getMe"]


async def test_wrong_token_is_invalid_token(fake: FakeTelegramBotApi, base_url: str) -> None:
    # PTB turns the 401 into InvalidToken("The token `...` was rejected by the server.")
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with make_bot(base_url, "999:wrong"):  # shuts the bot down on failure too
            pass
    assert fake.calls == []


async def test_send_message_is_recorded_and_echoed_like_telegram(
    bot: Bot, fake: FakeTelegramBotApi
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Genommen", callback_data="taken:17")]])

    message = await bot.send_message(
        CHAT_ID,
        "<b>Lenalidomid</b> 10 mg",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard,
        disable_notification=True,
    )
    second = await bot.send_message(CHAT_ID, "noch eine")

    assert (message.message_id, second.message_id) == (1, 2)
    assert message.chat.id == CHAT_ID
    assert message.chat.type == "private"
    assert message.from_user is not None and message.from_user.id == bot.id
    assert message.text == "<b>Lenalidomid</b> 10 mg"
    assert message.reply_markup == keyboard
    sent = await fake.wait_for_sent(2)
    assert sent[0].chat_id == CHAT_ID
    assert sent[0].text == "<b>Lenalidomid</b> 10 mg"
    assert sent[0].parse_mode == "HTML"
    assert sent[0].disable_notification
    assert sent[0].reply_markup == {
        "inline_keyboard": [[{"text": "Genommen", "callback_data": "taken:17"}]]
    }
    assert (sent[1].parse_mode, sent[1].reply_markup) == (None, None)


async def test_scripted_429_raises_retry_after(
    bot: Bot, fake: FakeTelegramBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB 22 gives retry_after as int (with a PTBDeprecationWarning) unless PTB_TIMEDELTA is
    # set, then as timedelta; the app should opt in.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.fail_next(429, retry_after=7)

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT_ID, "hi")

    assert caught.value.retry_after == timedelta(seconds=7)
    assert fake.sent == []
    assert fake.too_many_requests == 1
    await bot.send_message(CHAT_ID, "again")  # the fault was used up
    assert [m.text for m in fake.sent] == ["again"]


async def test_retry_after_is_int_with_deprecation_warning_by_default(
    bot: Bot, fake: FakeTelegramBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    fake.fail_next(429, retry_after=3)

    with pytest.warns(PTBDeprecationWarning), pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT_ID, "hi")
    with pytest.warns(PTBDeprecationWarning):
        assert caught.value.retry_after == 3


async def test_enforced_limits_answer_429_until_the_window_passes(
    bot: Bot, fake: FakeTelegramBotApi, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.enforce_limits(overall_per_s=2, per_chat_per_s=1)

    await bot.send_message(1, "a")
    with pytest.raises(RetryAfter) as per_chat:
        await bot.send_message(1, "b")  # same chat within 1 s
    await bot.send_message(2, "c")
    with pytest.raises(RetryAfter) as overall:
        await bot.send_message(3, "d")  # third message overall within 1 s
    clock.now += 1.0
    await bot.send_message(1, "b again")

    assert per_chat.value.retry_after == overall.value.retry_after == timedelta(seconds=1)
    assert fake.too_many_requests == 2
    assert [m.text for m in fake.sent] == ["a", "c", "b again"]


async def test_hang_times_out_client_but_message_is_still_delivered(
    bot: Bot, fake: FakeTelegramBotApi
) -> None:
    fake.fail_next(None, hang_s=30)

    with pytest.raises(TimedOut):
        await bot.send_message(CHAT_ID, "langsam", read_timeout=0.2)

    # As on Telegram, a timed-out send may still arrive: retrying would duplicate it.
    [sent] = await fake.wait_for_sent(1, within=2.0)
    assert sent.text == "langsam"


async def test_blocked_user_is_forbidden(bot: Bot, fake: FakeTelegramBotApi) -> None:
    fake.block_chat(CHAT_ID)

    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(CHAT_ID, "hi")


async def test_webhook_methods_commands_and_callback_answers(
    bot: Bot, fake: FakeTelegramBotApi
) -> None:
    assert await bot.set_webhook("https://lenabot.example/tg", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://lenabot.example/tg"
    assert fake.webhook is not None and fake.webhook.secret_token == "s3cret"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()

    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates() == ()

    assert await bot.set_my_commands([("start", "Anmelden"), ("stop", "Abmelden")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "stop"]
    assert fake.commands[0] == {"command": "start", "description": "Anmelden"}

    assert await bot.answer_callback_query("cbq-1", text="Notiert")
    assert fake.callback_answers[0]["callback_query_id"] == "cbq-1"
    assert fake.callback_answers[0]["text"] == "Notiert"


async def test_get_updates_long_poll_wakes_up_and_offset_confirms(
    bot: Bot, fake: FakeTelegramBotApi
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_for_calls("getUpdates")
    update = await fake.enqueue_text(CHAT_ID, "hallo")

    async with asyncio.timeout(2):  # far below the 10 s long-poll timeout
        [received] = await poll

    assert received.update_id == update["update_id"]
    assert received.message is not None and received.message.text == "hallo"
    assert await bot.get_updates(timeout=0) == (received,)  # not confirmed yet
    assert await bot.get_updates(offset=received.update_id + 1) == ()
    assert fake.pending_updates == []


async def test_newer_get_updates_terminates_the_older_one(
    bot: Bot, fake: FakeTelegramBotApi, base_url: str
) -> None:
    # Two bot instances polling, e.g. during a rolling deploy. (One Bot cannot overlap its own
    # getUpdates: PTB gives get_updates a 1-connection pool.)
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_for_calls("getUpdates")

    async with make_bot(base_url, fake.token) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        async with asyncio.timeout(2):
            await first


async def test_application_polling_dispatches_updates_to_handlers(
    fake: FakeTelegramBotApi, base_url: str
) -> None:
    application = (
        Application.builder()
        .token(fake.token)
        .base_url(f"{base_url}/bot")
        .base_file_url(f"{base_url}/file/bot")
        .build()
    )
    seen: asyncio.Queue[tuple[str, int, str]] = asyncio.Queue()

    async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.effective_chat is not None
        await seen.put(("start", update.effective_chat.id, update.message.text or ""))

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.effective_chat is not None
        await seen.put(("text", update.effective_chat.id, update.message.text or ""))
        await update.message.reply_text("Danke!")

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer("Notiert")
        await seen.put(("button", query.message.chat.id, query.data or ""))

    application.add_handler(CommandHandler("start", on_start))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(CallbackQueryHandler(on_button))

    async with application:  # initialize() / shutdown()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=10)
        await fake.enqueue_update(make_text_update(CHAT_ID, "/start", first_name="Lena"))
        await fake.enqueue_update(make_text_update(CHAT_ID, "Tablette genommen"))
        await fake.enqueue_update(
            make_callback_query_update(CHAT_ID, "taken:17", message_id=1, bot_user=fake.bot_user)
        )
        async with asyncio.timeout(3):
            received = [await seen.get() for _ in range(3)]
        [reply] = await fake.wait_for_sent(1)
        await application.updater.stop()
        await application.stop()

    assert received == [
        ("start", CHAT_ID, "/start"),
        ("text", CHAT_ID, "Tablette genommen"),
        ("button", CHAT_ID, "taken:17"),
    ]
    assert (reply.chat_id, reply.text) == (CHAT_ID, "Danke!")
    assert fake.callback_answers[0]["text"] == "Notiert"
    # The updater's final getUpdates confirmed everything it handled.
    assert fake.pending_updates == []
    assert "deleteWebhook" in [c.method for c in fake.calls]


async def test_wait_for_sent_fails_when_nothing_is_sent(fake: FakeTelegramBotApi) -> None:
    with pytest.raises(AssertionError, match="expected 1 sent messages"):
        await fake.wait_for_sent(1, within=0.05)
