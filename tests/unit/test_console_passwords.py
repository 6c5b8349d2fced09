"""The console's password policy and hashing (bot/web/console/passwords.py)."""

from __future__ import annotations

import pytest

from bot.conversation.validate import InvalidInput
from bot.web.console import passwords


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short one", "at least 12 characters"),
        ("Password2024!", "too common"),  # "password" with digits and a symbol added
        ("!!iloveyou1234", "too common"),
        ("123456789012345", "too common"),  # nothing but digits
        ("abcabcabcabc", "too common"),  # one piece over and over
        ("passwordpassword", "too common"),
        ("x" * 257, "at most 256 characters"),
        ("nora.nurse says hello", "must not contain your email"),
    ],
)
def test_weak_passwords_are_refused_in_one_sentence(password: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        passwords.check_policy(password, "nora.nurse@example.org")


@pytest.mark.parametrize("password", ["heron lantern quietly marble", "Tr0ub4dor&3-horse"])
def test_long_uncommon_passwords_pass(password: str) -> None:
    assert passwords.check_policy(password, "nora@example.org") == password


def test_the_shipped_list_is_read_lower_cased() -> None:
    common = passwords.common_passwords()
    assert len(common) > 3000
    assert {"123456", "password", "iloveyou", "qwerty"} <= common


def test_hashes_are_argon2id_and_verify_only_the_right_password() -> None:
    stored = passwords.hash_password("heron lantern quietly marble")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "heron lantern quietly marble")
    assert not passwords.verify(stored, "heron lantern quietly marbles")
    assert not passwords.verify(None, "anything at all")  # the stand-in never matches
    assert not passwords.verify("not a hash", "anything at all")
    assert not passwords.needs_rehash(stored)
