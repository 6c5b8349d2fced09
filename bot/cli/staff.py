"""Care-team console accounts: `lenabot staff add|list|disable|enable|reset`."""

from __future__ import annotations

import sys

import click

from bot.bootstrap import Service
from bot.cli.common import with_service
from bot.conversation import validate as v
from bot.web.console import passwords, totp
from bot.web.console.accounts import (
    Account,
    Role,
    StaffAccounts,
    parse_email,
    parse_role,
    parse_staff_name,
    set_password_url,
)


def _root(service: Service) -> str:
    s = service.settings
    return s.public_url or f"http://{s.host}:{s.port}"


async def _echo_link(service: Service, accounts: StaffAccounts, staff_id: int) -> None:
    token = await accounts.issue_link(staff_id, service.clock.now())
    click.echo("one-time set-password link (valid 24 hours, single use; give it to them only):")
    click.echo(set_password_url(_root(service), token))


def _echo_totp(secret: str, email: str) -> None:
    uri = totp.uri(secret, email)
    click.echo("authenticator app: scan this QR code, or add this link by hand:")
    click.echo(uri)
    click.echo(totp.terminal_qr(uri), nl=False)


def _read_password(email: str) -> str:
    line = sys.stdin.readline()
    if not line:
        raise v.InvalidInput("--password-stdin: no password on standard input")
    return passwords.check_policy(line.rstrip("\r\n"), email)


@click.group()
def staff() -> None:
    """Accounts for the care-team console (the web pages)."""


@staff.command("add")
@click.option("--email", required=True, help="their email address: the sign-in name")
@click.option("--name", required=True, help="their name, shown on the pages")
@click.option("--role", "role_text", default="nurse", show_default=True, help="nurse or admin")
@click.option(
    "--password-stdin", is_flag=True, help="read the password from standard input, not a link"
)
@click.option("--totp", "with_totp", is_flag=True, help="sign-in also needs an authenticator code")
def staff_add(email: str, name: str, role_text: str, password_stdin: bool, with_totp: bool) -> None:
    """Add a member of staff; prints a one-time set-password link (or reads the password)."""
    address = parse_email(email)
    clean = parse_staff_name(name)
    role = parse_role(role_text)
    password = _read_password(address) if password_stdin else None

    async def go(service: Service) -> None:
        accounts = StaffAccounts(service.engine)
        required = role is Role.ADMIN or service.settings.console_require_totp
        secret = totp.new_secret() if with_totp or required else None
        added = await accounts.add(address, clean, role, service.clock.now(), totp_secret=secret)
        click.echo(f"added {role.value} {clean} <{address}>")
        if password is not None:
            await accounts.set_password(added.id, passwords.hash_password(password))
            click.echo("password set from standard input")
        else:
            await _echo_link(service, accounts, added.id)
        if secret is not None:
            if not with_totp:
                why = "admins" if role is Role.ADMIN else "with CONSOLE_REQUIRE_TOTP, everyone"
                click.echo(f"({why} always need an authenticator code to sign in)")
            _echo_totp(secret, address)

    with_service(go)


def _status(a: Account, service: Service) -> str:
    if a.disabled_at is not None:
        return f"disabled {a.disabled_at:%Y-%m-%d}"
    if a.locked(service.clock.now()):
        return f"locked until {a.locked_until:%H:%M} UTC"
    return "active" if a.password_hash else "no password yet"


@staff.command("list")
def staff_list() -> None:
    """Every staff account: email, name, role, authenticator, status."""

    async def go(service: Service) -> None:
        everyone = await StaffAccounts(service.engine).everyone()
        if not everyone:
            click.echo(
                "no staff yet: add the first admin with 'lenabot staff add --email E "
                "--name N --role admin'"
            )
            return
        click.echo(f"{'EMAIL':<32}{'NAME':<24}{'ROLE':<8}{'TOTP':<6}STATUS")
        for a in everyone:
            s = a.staff
            click.echo(
                f"{s.email[:31]:<32}{s.name[:23]:<24}{s.role.value:<8}"
                f"{'yes' if a.totp_secret else 'no':<6}{_status(a, service)}"
            )

    with_service(go)


@staff.command("disable")
@click.option("--email", required=True)
def staff_disable(email: str) -> None:
    """Disable an account: its sessions end at once and it cannot sign in."""

    async def go(service: Service) -> None:
        accounts = StaffAccounts(service.engine)
        found = await accounts.known(email)
        await accounts.disable(found.staff.id, service.clock.now())
        click.echo(f"disabled {found.staff.email}: their sessions have ended")

    with_service(go)


@staff.command("enable")
@click.option("--email", required=True)
def staff_enable(email: str) -> None:
    """Enable a disabled account again (its password is kept)."""

    async def go(service: Service) -> None:
        accounts = StaffAccounts(service.engine)
        found = await accounts.known(email)
        await accounts.enable(found.staff.id)
        click.echo(f"enabled {found.staff.email}")

    with_service(go)


@staff.command("reset")
@click.option("--email", required=True)
@click.option("--totp", "with_totp", is_flag=True, help="also a new authenticator secret")
def staff_reset(email: str, with_totp: bool) -> None:
    """A new one-time set-password link (older unused links stop working)."""

    async def go(service: Service) -> None:
        accounts = StaffAccounts(service.engine)
        found = await accounts.known(email)
        if found.disabled_at is not None:
            raise v.InvalidInput(
                f"{found.staff.email} is disabled: enable it first with "
                f"'lenabot staff enable --email {found.staff.email}'"
            )
        await _echo_link(service, accounts, found.staff.id)
        if with_totp:
            secret = totp.new_secret()
            await accounts.set_totp(found.staff.id, secret)
            _echo_totp(secret, found.staff.email)

    with_service(go)


COMMANDS: list[click.Command] = [staff]
