"""What an urgent alert says on a phone: the kind, the patient id and the console link, never
the words the patient wrote; and what the audit trail keeps of free text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.conversation.alerts import escalation_text, page_text
from scheduler.domain.alerts import URGENT_KINDS, AlertRecord, is_urgent, label
from scheduler.domain.audit import ActorError, check_actor, identifiers, redact

AT = datetime(2026, 6, 10, 7, 5, tzinfo=UTC)
URL = "https://lenabot.example/clinic"


def alert(kind: str, text: str) -> AlertRecord:
    return AlertRecord(1, kind, text, "pabc2345", AT, is_urgent(kind))


@pytest.mark.parametrize(
    ("kind", "text", "said"),
    [
        ("red_flag", 'red flag from patient pabc2345: Chest pain. They wrote: "my chest hurts"',
         "red flag"),
        ("red_flag", 'possible red flag (please check) from patient pabc2345: x. They wrote: "y"',
         "possible red flag"),
        ("extra_capsule", "patient pabc2345 reports a capsule taken when none was due",
         "extra capsule"),
    ],
)  # fmt: skip
def test_a_page_names_the_kind_the_patient_and_the_link_only(
    kind: str, text: str, said: str
) -> None:
    a = alert(kind, text)
    assert (
        page_text(a, URL) == f"lenabot URGENT: {said} for patient pabc2345. {URL}/patients/pabc2345"
    )
    assert escalation_text(a, 15, URL) == (
        f"lenabot URGENT, not acknowledged after 15 min: {said} for patient pabc2345 at "
        f"07:05 UTC. {URL}/patients/pabc2345"
    )
    assert "chest" not in page_text(a, URL).lower() + escalation_text(a, 15, URL).lower()
    assert len(page_text(a, URL)) <= 160 and page_text(a, URL).isascii()


def test_without_a_public_url_the_page_points_to_the_cli() -> None:
    assert page_text(alert("red_flag", "red flag"), "") == (
        "lenabot URGENT: red flag for patient pabc2345. see 'lenabot alerts --open'"
    )


def test_only_red_flags_and_extra_capsules_are_urgent() -> None:
    assert URGENT_KINDS == {"red_flag", "extra_capsule"}
    for kind in ("opt_out", "two_missed", "digest", "delivery_failed", "unreachable",
                 "inbound_failed", "forgotten"):  # fmt: skip
        assert not is_urgent(kind)
    assert label("two_missed", "") == "two missed"


@pytest.mark.parametrize("actor", ["system", "staff:7", "cli:nora", "telegram:7001"])
def test_actors(actor: str) -> None:
    assert check_actor(actor) == actor


@pytest.mark.parametrize("actor", ["", "root", "cli:", "telegram:nora", "staff:a b", "System"])
def test_not_actors(actor: str) -> None:
    with pytest.raises(ActorError):
        check_actor(actor)


def test_free_text_loses_the_name_and_number_however_written() -> None:
    named = identifiers("Ann O'Brien", "+447700900123", 555001)
    assert redact("ann o'brien, 07700 900123, +44 (0)7700-900-123, chat 555001", named) == (
        "[patient], [patient], [patient], chat [patient]"
    )
    assert redact("Annual review of Brienne; 2026-06-12; 12 capsules", named) == (
        "Annual review of Brienne; 2026-06-12; 12 capsules"
    )
