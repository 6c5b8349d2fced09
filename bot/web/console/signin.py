"""Signing in: the password, then the authenticator code when the account needs one.

Every refusal looks the same to the person at the keyboard (one message, and about the same
time: an unknown email is checked against a stand-in hash), so the page never tells whether
an email has an account, is locked or is disabled. Five wrong passwords or codes in a row lock
the account for 15 minutes; while it is locked even the right password is refused.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.conversation.validate import InvalidInput
from bot.web.console import passwords, totp
from bot.web.console.accounts import Account, Staff, StaffAccounts, parse_email
from scheduler.ports import Clock

log = logging.getLogger(__name__)

REFUSED = (
    "That email, password or code is not right. After 5 wrong tries an account is locked "
    "for 15 minutes."
)


def needs_code(account: Account, require_totp: bool) -> bool:
    """Admins always need an authenticator code; everyone does with CONSOLE_REQUIRE_TOTP, and
    anyone who set one up."""
    return account.staff.is_admin or require_totp or account.totp_secret is not None


@dataclass(frozen=True)
class SignIn:
    accounts: StaffAccounts
    clock: Clock
    require_totp: bool

    async def attempt(self, email: str, password: str, code: str) -> Staff | None:
        """The staff member, or None (then show ``REFUSED``, whatever the reason)."""
        try:
            account = await self.accounts.by_email(parse_email(email))
        except InvalidInput:
            account = None
        stored = account.password_hash if account is not None else None
        # Always a full argon2 check, in a thread: the webhooks never wait behind a sign-in. A
        # password longer than any that can be set is checked against the stand-in: wrong.
        too_long = len(password) > passwords.MAX_LENGTH
        right = await asyncio.to_thread(
            passwords.verify, None if too_long else stored, password[: passwords.MAX_LENGTH]
        )
        if account is None or account.disabled_at is not None:
            return None
        now = self.clock.now()
        if account.locked(now):
            log.info("console sign-in refused: staff %s is locked", account.staff.id)
            return None
        if not right:
            await self.accounts.failed(account.staff.id, now)
            log.info("console sign-in refused: wrong password for staff %s", account.staff.id)
            return None
        step = None
        if needs_code(account, self.require_totp):
            if account.totp_secret is None:
                log.warning(
                    "console sign-in refused: staff %s needs an authenticator code and has "
                    "none set up ('lenabot staff reset --totp')", account.staff.id,
                )  # fmt: skip
                return None
            step = totp.accepted_step(account.totp_secret, code, now, account.totp_last_step)
            if step is None:
                await self.accounts.failed(account.staff.id, now)
                log.info("console sign-in refused: wrong code for staff %s", account.staff.id)
                return None
        assert stored is not None
        rehashed = None
        if passwords.needs_rehash(stored):
            rehashed = await asyncio.to_thread(passwords.hash_password, password)
        if not await self.accounts.signed_in(account.staff.id, step, rehashed):
            return None  # that code was accepted a moment ago: a replay
        log.info("console sign-in: staff %s", account.staff.id)
        return account.staff
