"""Staff passwords: the policy (12 characters or more, not a common password) and argon2id.

Hashing and verifying take tens of milliseconds of CPU on purpose: callers on the event loop
run them in a thread (``hash_password`` / ``verify`` are plain functions for that), so the
webhooks never wait behind a login.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.conversation.validate import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 takes any length; a megabyte "password" is only a way to burn CPU

# argon2-cffi's defaults are RFC 9106's second recommended profile: argon2id, 3 passes over
# 64 MiB, 4 lanes.
_HASHER = PasswordHasher()


@functools.cache
def _dummy() -> str:
    """Verified against when the email is unknown, so an unknown email takes as long as a
    known one. Made on first use, not at import: hashing takes 64 MiB for a moment, which a
    service whose console nobody signs in to need not spend."""
    return _HASHER.hash("not a password anyone has: the timing stand-in")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list (``common-passwords.txt``), lower-cased."""
    text = resources.files(__package__).joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def _core(password: str) -> str:
    """The password without the digits and symbols people add at either end ("Summer2024!")."""
    return re.sub(r"^[\W\d_]+|[\W\d_]+$", "", password.lower())


def _repeats(password: str) -> bool:
    """One short piece over and over: "aaaaaaaaaaaa", "abcabcabcabc", "passwordpassword"."""
    return re.fullmatch(r"(.{1,8}?)\1+", password.lower()) is not None


def check_policy(password: str, email: str = "") -> str:
    """The password if it may be used, or InvalidInput saying why not (one sentence)."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"the password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"the password must be at most {MAX_LENGTH} characters long")
    common = common_passwords()
    core = _core(password)
    if password.lower() in common or not core or core in common or _repeats(password):
        raise InvalidInput(
            "that password is too common or too easy to guess: try three or four unrelated words"
        )
    local = email.partition("@")[0].lower()
    if len(local) >= 4 and local in password.lower():
        raise InvalidInput("the password must not contain your email address")
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """True if ``password`` matches ``stored``; with no stored hash (an unknown email, an
    account whose password was never set) it checks a stand-in and says False, in the same
    time."""
    try:
        return _HASHER.verify(stored or _dummy(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(stored)
