"""The webhook signature check (``SignedForm.signed``) decides as Twilio's own
``RequestValidator.validate`` does, for any form, URL, algorithm and signature."""

from __future__ import annotations

from urllib.parse import urlparse

from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator, add_port, remove_port

from bot.channels.sms.webhooks import SignedForm

TOKEN = "auth-token-\u00e9"
URLS = [
    "https://lenabot.example/clinic/twilio/sms",
    "https://lenabot.example:443/clinic/twilio/sms",
    "https://lenabot.example:8443/twilio/status/abc",
    "http://lenabot.example/twilio/sms?x=1&bodySHA256=00",
    "http://[::1]:8080/twilio/sms",
]
NAMES = st.sampled_from(["Body", "From", "To", "MessageSid", "body", "Bo", "dyX"]) | st.text(
    max_size=4
)
PAIRS = st.lists(st.tuples(NAMES, st.text(max_size=8)), max_size=8)


@given(
    url=st.sampled_from(URLS),
    pairs=PAIRS,
    other=PAIRS,
    algorithm=st.sampled_from(["HMAC_SHA1", "HMAC_SHA256", "hmac_sha256", "MD5", ""]),
    signed_as=st.sampled_from(["without port", "with port", "another form", "garbage"]),
    garbage=st.text(max_size=30),
)
def test_the_same_verdict_as_twilios_validator(
    url: str, pairs: list[tuple[str, str]], other: list[tuple[str, str]], algorithm: str,
    signed_as: str, garbage: str,
) -> None:  # fmt: skip
    validator = RequestValidator(TOKEN)
    form = ImmutableMultiDict(pairs)
    supported = algorithm.upper() in ("HMAC_SHA1", "HMAC_SHA256")
    alg = algorithm if supported else "HMAC_SHA1"
    parsed = urlparse(url)
    signature = {
        "without port": lambda: validator.compute_signature(remove_port(parsed), form, alg),
        "with port": lambda: validator.compute_signature(add_port(parsed), form, alg),
        "another form": lambda: validator.compute_signature(
            url, ImmutableMultiDict(other), alg
        ),
        "garbage": lambda: garbage,
    }[signed_as]()
    ours = SignedForm("https://lenabot.example", TOKEN, 10_000).signed(
        url, form, signature, algorithm
    )
    assert ours == validator.validate(url, form, signature, algorithm)
    if supported and signed_as in ("without port", "with port"):
        assert ours  # a right signature passes, whichever spelling of the URL was signed


@given(st.text(max_size=40) | st.sampled_from(["", "\x01", "a & <b> \"q\" 's' \r\n\t é ]]>"]))
def test_twiml_is_what_twilios_messaging_response_writes(text: str) -> None:
    from twilio.twiml.messaging_response import MessagingResponse

    from bot.channels.sms.webhooks import _NOT_XML, twiml

    reply = MessagingResponse()
    if text:
        reply.message(_NOT_XML.sub("", text))
    assert bytes(twiml(text).body).decode() == str(reply)
