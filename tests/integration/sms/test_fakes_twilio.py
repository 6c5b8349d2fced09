"""The real twilio 9 async client against FakeTwilioApi, over HTTP on 127.0.0.1."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from tests.fakes.server import serve_asgi
from tests.fakes.twilio_api import FakeTwilioApi
from tests.fakes.twilio_client import open_async_twilio_client

TO = "+4915112345678"
FROM = "+15005550006"
SERVICE_SID = "MG" + "ab" * 16


@pytest.fixture
def fake() -> FakeTwilioApi:
    return FakeTwilioApi()


@pytest.fixture
async def base_url(fake: FakeTwilioApi) -> AsyncIterator[str]:
    async with serve_asgi(fake.app) as url:
        yield url


@pytest.fixture
async def client(fake: FakeTwilioApi, base_url: str) -> AsyncIterator[Client]:
    async with open_async_twilio_client(
        fake.account_sid, fake.auth_token, api_base_url=base_url, request_timeout=2.0
    ) as twilio:
        yield twilio


async def test_create_message_is_recorded_with_twilio_shapes(
    client: Client, fake: FakeTwilioApi, base_url: str
) -> None:
    message = await client.messages.create_async(
        to=TO,
        from_=FROM,
        body="Zeit für Lenalidomid 10 mg",
        status_callback="https://lenabot.example/sms/status",
        validity_period=600,
    )

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.status == "queued"
    assert (message.to, message.from_, message.body) == (TO, FROM, "Zeit für Lenalidomid 10 mg")
    assert message.account_sid == fake.account_sid
    assert isinstance(message.date_created, datetime)  # twilio parsed our RFC 2822 date
    assert message.num_segments == "1"
    assert message.uri == f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{message.sid}.json"
    # The request really went to the fake, at the real Twilio path.
    request = client.http_client._test_only_last_request
    assert request.url == f"{base_url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json"

    [sms] = fake.messages
    assert sms.sid == message.sid
    assert (sms.to, sms.from_, sms.messaging_service_sid) == (TO, FROM, None)
    assert sms.body == "Zeit für Lenalidomid 10 mg"
    assert sms.status_callback == "https://lenabot.example/sms/status"
    assert sms.validity_period == 600
    assert sms.params["ValidityPeriod"] == ["600"]  # form field exactly as twilio sent it
    assert not sms.client_disconnected


async def test_region_and_edge_env_do_not_reroute_a_custom_base_url(
    fake: FakeTwilioApi, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # twilio would otherwise rewrite the host to "127.sydney.au1.0.1:<port>" (DNS error).
    monkeypatch.setenv("TWILIO_REGION", "au1")
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    async with open_async_twilio_client(
        fake.account_sid, fake.auth_token, api_base_url=base_url, request_timeout=2.0
    ) as twilio:
        await twilio.messages.create_async(to=TO, from_=FROM, body="x")

    assert len(fake.messages) == 1


async def test_messaging_service_send_is_accepted_without_from(
    client: Client, fake: FakeTwilioApi
) -> None:
    message = await client.messages.create_async(
        to=TO, messaging_service_sid=SERVICE_SID, body="Erinnerung"
    )

    assert message.status == "accepted"
    assert message.from_ is None
    assert fake.messages[0].messaging_service_sid == SERVICE_SID


async def test_wrong_auth_token_is_rejected(fake: FakeTwilioApi, base_url: str) -> None:
    async with open_async_twilio_client(
        fake.account_sid, "wrong-token", api_base_url=base_url, request_timeout=2.0
    ) as twilio:
        with pytest.raises(TwilioRestException) as caught:
            await twilio.messages.create_async(to=TO, from_=FROM, body="x")

    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert fake.messages == []


async def test_invalid_to_number_gets_twilio_validation_error(client: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(to="0151 1234", from_=FROM, body="x")

    assert (caught.value.status, caught.value.code) == (400, 21211)


@pytest.mark.parametrize(
    ("status", "code", "expected_code"),
    [(400, 21610, 21610), (429, 20429, 20429), (500, None, 20500)],
)
async def test_scripted_error_raises_twilio_rest_exception_once(
    client: Client, fake: FakeTwilioApi, status: int, code: int | None, expected_code: int
) -> None:
    fake.fail_next(status=status, code=code, message="scripted" if code == 21610 else None)

    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(to=TO, from_=FROM, body="first")

    assert caught.value.status == status
    assert caught.value.code == expected_code
    assert caught.value.method == "POST"
    assert fake.messages == []
    # The fault was consumed: the retry goes through.
    await client.messages.create_async(to=TO, from_=FROM, body="retry")
    assert [m.body for m in fake.messages] == ["retry"]


async def test_opted_out_recipient_gets_21610(client: Client, fake: FakeTwilioApi) -> None:
    fake.opt_out(TO)

    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(to=TO, from_=FROM, body="x")

    assert (caught.value.status, caught.value.code) == (400, 21610)
    assert "unsubscribed" in caught.value.msg


async def test_timeout_fault_times_out_client_but_message_still_lands(
    fake: FakeTwilioApi, base_url: str
) -> None:
    fake.fail_next(timeout=30)
    async with open_async_twilio_client(
        fake.account_sid, fake.auth_token, api_base_url=base_url, request_timeout=0.2
    ) as twilio:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await twilio.messages.create_async(to=TO, from_=FROM, body="slow")
        assert time.monotonic() - started < 2.0

    # The fake noticed the hang-up and processed the request anyway: a retrying sender
    # would now produce a duplicate SMS.
    [sms] = await fake.wait_for_messages(1, within=2.0)
    assert sms.body == "slow"
    assert sms.client_disconnected


# Stock AsyncTwilioHttpClient still uses the aiohttp auth API that 3.14 deprecates.
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning")
async def test_plain_async_twilio_http_client_ignores_its_timeout(
    fake: FakeTwilioApi, base_url: str
) -> None:
    """Pins the upstream behaviour that twilio_client.LenabotAsyncTwilioHttpClient fixes.

    If this starts failing, twilio applies AsyncTwilioHttpClient(timeout=...) itself now.
    """
    fake.fail_next(timeout=0.3)
    http_client = AsyncTwilioHttpClient(timeout=0.05)
    twilio = Client(fake.account_sid, fake.auth_token, http_client=http_client)
    twilio.api.base_url = base_url
    try:
        message = await twilio.messages.create_async(to=TO, from_=FROM, body="no timeout")
    finally:
        await http_client.close()

    assert message.status == "queued"  # waited the full 0.3 s despite timeout=0.05


async def test_random_faults_are_seeded_and_mix_failures_with_successes(
    client: Client, fake: FakeTwilioApi
) -> None:
    async def outcomes(seed: int) -> list[int]:
        fake.reset()
        fake.random_faults(rate=0.5, seed=seed, kinds=(500, 429))
        seen = []
        for i in range(12):
            try:
                await client.messages.create_async(to=TO, from_=FROM, body=f"#{i}")
                seen.append(201)
            except TwilioRestException as exc:
                seen.append(exc.status)
        return seen

    first = await outcomes(seed=1)

    assert first == await outcomes(seed=1)
    assert {201, 500, 429} <= set(first)
    assert len(fake.messages) == first.count(201)
    assert first != await outcomes(seed=2)


async def test_wait_for_messages_fails_when_nothing_arrives(fake: FakeTwilioApi) -> None:
    with pytest.raises(AssertionError, match="expected 1 Twilio messages"):
        await fake.wait_for_messages(1, within=0.05)
