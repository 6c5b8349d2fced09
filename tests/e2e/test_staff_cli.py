"""`lenabot staff ...`: console accounts from the command line (SQLite, in-process)."""

from __future__ import annotations

import io
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.web.console import passwords
from tests.e2e.conftest import Result


def _hash(tmp_path: Path, email: str) -> str | None:
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        row = conn.execute("SELECT password_hash FROM staff WHERE email = ?", (email,)).fetchone()
    return None if row is None else row[0]


def test_the_first_admin_gets_a_link_and_an_authenticator_qr_code(
    lenabot: Callable[..., Result],
) -> None:
    r = lenabot("staff", "add", "--email", "Ada@Example.org", "--name", "Ada Admin",
                "--role", "admin")  # fmt: skip
    assert r.code == 0, r.err
    assert "added admin Ada Admin <ada@example.org>" in r.out
    assert re.search(r"^http://127\.0\.0\.1:8000/set-password/[\w-]{40,}$", r.out, re.M)
    assert "admins always need an authenticator code" in r.out
    assert "otpauth://totp/lenabot:ada%40example.org?secret=" in r.out and "█" in r.out


def test_a_password_from_standard_input_must_pass_the_policy(
    lenabot: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Summer2026!!\n"))
    r = lenabot("staff", "add", "--email", "n@example.org", "--name", "N", "--password-stdin")
    assert r.code == 2
    assert (
        r.err
        == "error: that password is too common or too easy to guess: try three or four unrelated words\n"
    )
    assert _hash(tmp_path, "n@example.org") is None  # nothing written
    monkeypatch.setattr("sys.stdin", io.StringIO("heron lantern quietly marble\n"))
    r = lenabot("staff", "add", "--email", "nora@example.org", "--name", "Nora",
                "--password-stdin")  # fmt: skip
    assert r.code == 0 and "password set from standard input" in r.out
    assert "set-password" not in r.out
    assert passwords.verify(_hash(tmp_path, "nora@example.org"), "heron lantern quietly marble")


def test_staff_mistakes_end_in_one_sentence(lenabot: Callable[..., Result]) -> None:
    assert lenabot("staff", "add", "--email", "nora@example.org", "--name", "Nora").code == 0
    for argv, message in (
        (("staff", "add", "--email", "nope", "--name", "X"),
         "error: email 'nope' is not an email address, e.g. nora@example.org"),
        (("staff", "add", "--email", "x@example.org", "--name", "X", "--role", "boss"),
         "error: role 'boss' is not known: use nurse or admin"),
        (("staff", "add", "--email", "x@example.org", "--name", " "),
         "error: name must be 1 to 100 printable characters"),
        (("staff", "reset", "--email", "who@example.org"),
         "error: no staff account has the email 'who@example.org': see 'lenabot staff list'"),
        (("staff", "disable", "--email", "who@example.org"),
         "error: no staff account has the email 'who@example.org': see 'lenabot staff list'"),
        (("staff", "add", "--email", "NORA@example.org", "--name", "X"),
         "error: nora@example.org already has an account: see 'lenabot staff list'"),
    ):  # fmt: skip
        r = lenabot(*argv)
        assert (r.code, r.err) == (2, message + "\n"), argv


def test_list_disable_enable_and_reset(lenabot: Callable[..., Result]) -> None:
    assert "no staff yet" in lenabot("staff", "list").out
    lenabot("staff", "add", "--email", "ada@example.org", "--name", "Ada Admin", "--role", "admin")
    lenabot("staff", "add", "--email", "nora@example.org", "--name", "Nora")
    out = lenabot("staff", "list").out
    assert re.search(r"ada@example.org\s+Ada Admin\s+admin\s+yes\s+no password yet", out)
    assert re.search(r"nora@example.org\s+Nora\s+nurse\s+no\s+no password yet", out)
    r = lenabot("staff", "disable", "--email", "Nora@Example.org")
    assert r.out == "disabled nora@example.org: their sessions have ended\n"
    assert re.search(r"nora@example.org.*disabled \d{4}-\d\d-\d\d", lenabot("staff", "list").out)
    r = lenabot("staff", "reset", "--email", "nora@example.org")
    assert r.code == 2 and "is disabled: enable it first" in r.err
    assert lenabot("staff", "enable", "--email", "nora@example.org").code == 0
    r = lenabot("staff", "reset", "--email", "nora@example.org", "--totp")
    assert r.code == 0 and "/set-password/" in r.out and "otpauth://" in r.out
    assert re.search(r"nora@example.org\s+Nora\s+nurse\s+yes", lenabot("staff", "list").out)
