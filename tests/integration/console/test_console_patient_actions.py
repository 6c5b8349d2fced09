"""The patient page's "Send a message" and (admin) "Forget", over real HTTP into the real app,
on SQLite and PostgreSQL: what is queued, sent once and audited; what is refused, and that a
refusal (a bad message, a missing CSRF token, a nurse, a wrong confirmation) changes nothing."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from bot.web.console.accounts import Role
from scheduler.store.repository import FORGOTTEN
from tests.integration.console.console_world import Browser, Console


async def admin(world: Console) -> Browser:
    _, secret = await world.staff("ada@example.org", Role.ADMIN, with_totp=True)
    assert secret is not None
    b = await world.browser()
    assert (await b.sign_in("ada@example.org", code=world.code(secret))).status_code == 303
    return b


def token(page: str) -> str:
    m = re.search(r'name="message_token" value="([\w-]+)"', page)
    assert m is not None, "no message form on the page"
    return m[1]


def error(page: str, name: str) -> str:
    m = re.search(rf'<p class="error" id="{name}-error">.*?</span>(.*?)</p>', page)
    return html.unescape(m[1]).strip() if m else ""


async def messages(world: Console, pid: str) -> list[str]:
    return [r.text for r in await world.service.outbox.rows(pid) if r.kind == "message"]


async def test_a_nurse_sends_a_message_once_and_sees_it_sent(world: Console) -> None:
    patient = await world.enrol()
    nora = await world.nurse()
    page = await nora.get(f"/patients/{patient.id}")
    assert '<label for="message">Message to Ann Smith (sms)</label>' in page.text
    once = token(page.text)
    # Without the CSRF token: 403 and nothing queued.
    forged = await nora.post(f"/patients/{patient.id}/message", csrf=False,
                             message="Hello", message_token=once)  # fmt: skip
    assert forged.status_code == 403 and await messages(world, patient.id) == []

    words = "Please come to Ward 5 tomorrow at 10:30 \u2013 we\u2019ll check your bloods."
    r = await nora.post(f"/patients/{patient.id}/message", message=words, message_token=once)
    assert r.status_code == 303 and r.headers["location"] == f"/patients/{patient.id}?done=message"
    assert "Message queued" in (await nora.get(r.headers["location"])).text
    # Lookalikes are replaced by their GSM-7 stand-ins: one SMS, not three UCS-2 ones.
    sent = "Please come to Ward 5 tomorrow at 10:30 - we'll check your bloods."
    assert await messages(world, patient.id) == [sent]
    # The same form posted again (a double click) queues nothing more.
    again = await nora.post(f"/patients/{patient.id}/message", message=words, message_token=once)
    assert again.status_code == 303 and await messages(world, patient.id) == [sent]

    staff = await world.accounts.by_email("nora@example.org")
    assert staff is not None
    [row] = await world.service.audit.entries(action="message")
    assert row.actor == f"staff:{staff.staff.id}" and row.patient_id == patient.id
    assert row.after is not None and row.after["characters"] == len(sent)
    assert row.after["channel"] == "sms" and row.after["key"] == f"message:{once}"
    assert "Ward 5" not in str(row.after) and row.before is None  # never the words

    # Re-planning the patient leaves it alone: the planner owns only the kinds it plans.
    await world.service.materialiser.patient(patient.id, world.clock.now())
    [row] = [r for r in await world.service.outbox.rows(patient.id) if r.kind == "message"]
    assert row.status == "pending" and row.due_at == world.clock.now()
    # It goes through the dispatcher like any message, and the thread shows it sent.
    await world.service.dispatcher.tick()
    thread = (await nora.get(f"/patients/{patient.id}")).text
    conversation = thread[thread.index('id="thread-heading"') :]
    assert "we&#39;ll check your bloods" in conversation and "to the patient &middot; sent" in conversation


async def test_a_message_over_the_budget_or_empty_is_refused_and_nothing_queued(
    world: Console,
) -> None:
    patient = await world.enrol()
    nora = await world.nurse()
    once = token((await nora.get(f"/patients/{patient.id}")).text)
    long = "Please ring the ward. " * 21  # 462 characters: 4 segments
    r = await nora.post(f"/patients/{patient.id}/message", message=long, message_token=once)
    assert r.status_code == 400
    assert error(r.text, "message").startswith("The message needs 4 SMS segments: shorten it to 3")
    assert "Please ring the ward." in r.text  # what was typed stays
    assert token(r.text) == once  # the same form: sent later, still once
    emoji = "Well done \U0001f44d " * 20  # outside GSM-7: UCS-2, 67 to a segment
    r = await nora.post(f"/patients/{patient.id}/message", message=emoji, message_token=once)
    assert "such as an emoji" in error(r.text, "message")
    r = await nora.post(f"/patients/{patient.id}/message", message="  \n ", message_token=once)
    assert error(r.text, "message") == "Write the message to send."
    r = await nora.post(f"/patients/{patient.id}/message", message="Hi", message_token="x")
    assert r.status_code == 400 and "reload the page" in error(r.text, "message")
    assert await messages(world, patient.id) == []
    assert await world.service.audit.entries(action="message") == []


async def test_no_message_to_a_patient_who_opted_out(world: Console) -> None:
    patient = await world.enrol()
    await world.service.care.opt_out(patient.id, world.clock.now(), "texted a STOP word")
    nora = await world.nurse()
    page = await nora.get(f"/patients/{patient.id}")
    assert "nothing can be sent to them" in page.text and 'name="message_token"' not in page.text
    # A form from before the STOP: refused, saying why.
    r = await nora.post(f"/patients/{patient.id}/message", message="Hello",
                        message_token="A" * 22)  # fmt: skip
    assert r.status_code == 400
    assert error(r.text, "message") == "This patient opted out: nothing can be sent to them."
    assert await messages(world, patient.id) == []


async def test_lenabot_message_shares_the_checks_and_the_audit(world: Console) -> None:
    patient = await world.enrol()
    code, out, err = await world.lenabot("message", patient.id, "Your clinic moved to Ward 9.")
    assert code == 0, err
    assert f"message to {patient.id} queued" in out
    assert await messages(world, patient.id) == ["Your clinic moved to Ward 9."]
    [row] = await world.service.audit.entries(action="message")
    assert row.actor.startswith("cli:")
    code, _, err = await world.lenabot("message", patient.id, "x" * 500)
    assert code == 2 and "needs 4 SMS segments" in err
    await world.service.care.forget(patient.id)
    code, _, err = await world.lenabot("message", patient.id, "Hello")
    assert code == 2 and "was forgotten (erased)" in err
    assert len(await world.service.audit.entries(action="message")) == 1


async def test_only_an_admin_forgets_a_patient_after_typing_the_id(world: Console) -> None:
    patient = await world.enrol()
    nora = await world.nurse()
    page = (await nora.get(f"/patients/{patient.id}")).text
    assert "Forget this patient" not in page  # not offered to a nurse
    refused = await nora.post(f"/patients/{patient.id}/forget", confirm_id=patient.id)
    assert refused.status_code == 403
    assert (await world.service.courses.get(patient.id)).name == "Ann Smith"

    ada = await admin(world)
    page = (await ada.get(f"/patients/{patient.id}")).text
    assert f'<label for="confirm_id">Type the patient id ({patient.id}) to confirm</label>' in page
    forged = await ada.post(f"/patients/{patient.id}/forget", csrf=False, confirm_id=patient.id)
    assert forged.status_code == 403
    wrong = await ada.post(f"/patients/{patient.id}/forget", confirm_id="p0000000")
    assert wrong.status_code == 400
    assert error(wrong.text, "confirm_id") == (
        f"Type the patient id, {patient.id}, to confirm: nothing was erased."
    )
    assert (await world.service.courses.get(patient.id)).name == "Ann Smith"
    assert await world.service.audit.entries(action="forget") == []

    r = await ada.post(f"/patients/{patient.id}/forget", confirm_id=f" {patient.id} ")
    assert r.status_code == 303
    assert r.headers["location"] == f"/patients?q={patient.id}&done=forgotten"
    listed = await ada.get(r.headers["location"])
    assert "Patient forgotten" in listed.text and "Ann Smith" not in listed.text
    gone = await world.service.courses.get(patient.id)
    assert gone.name == FORGOTTEN and gone.phone is None and gone.opted_out_at is not None
    ada_id = await world.accounts.by_email("ada@example.org")
    assert ada_id is not None
    [row] = await world.service.audit.entries(action="forget")
    assert row.actor == f"staff:{ada_id.staff.id}" and row.patient_id == patient.id
    assert (await ada.post("/patients/nobody/forget", confirm_id="nobody")).status_code == 404


async def test_a_message_written_at_night_waits_for_8_in_the_morning(world: Console) -> None:
    patient = await world.enrol()
    world.clock.set(datetime(2026, 12, 3, 22, 30, tzinfo=UTC))  # 22:30 in London
    assert await world.service.care.message(patient.id, "Call us tomorrow", "t" * 22,
                                            actor="cli:test")  # fmt: skip
    [row] = [r for r in await world.service.outbox.rows(patient.id) if r.kind == "message"]
    assert row.due_at == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert row.expires_at == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    # The same token again (a retry) queues nothing and audits nothing more.
    assert not await world.service.care.message(patient.id, "Call us tomorrow", "t" * 22,
                                                actor="cli:test")  # fmt: skip
    assert len(await world.service.audit.entries(action="message")) == 1
