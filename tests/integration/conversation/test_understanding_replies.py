"""Every example issue 12 names, through the real conversation on SQLite and PostgreSQL: what
is recorded, what the patient is told (most urgent first) and whether the nurses hear.

The course: 21/28 at 09:00 London from Tue 1 Dec 2026 (GMT: 09:00 local is 09:00 UTC).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.conversation.conversation import Reply
from messages.understand import understand
from scheduler.domain.guidance import TAKEN
from scheduler.domain.model import Patient
from tests.conftest import TestDb, create_tables
from tests.integration.clinic import TEAM_PHONE, Clinic

START = date(2026, 12, 1)


def day(n: int) -> date:
    return START + timedelta(days=n - 1)


def at(n: int, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day(n), time(hh, mm), UTC)


@pytest.fixture
async def clinic(db: TestDb) -> AsyncIterator[Clinic]:
    engine = db.make_engine()
    await create_tables(engine)
    yield Clinic.build(engine, at(0, 8))


async def patient_at(clinic: Clinic, when: datetime, **kw: object) -> Patient:
    p = await clinic.enrol(start=START, **kw)  # type: ignore[arg-type]
    await clinic.run_until(when)
    return p


async def today(clinic: Clinic, p: Patient) -> str | None:
    """The record of day 3's dose (days 1 and 2 go unanswered: "unconfirmed")."""
    return (await clinic.courses.dose_records(p.id, day(3))).get(day(3))


async def alerted(clinic: Clinic, p: Patient) -> list[str]:
    """Alerts about this patient, but the "two missed" the unanswered days 1 and 2 raise."""
    return [k for k, pid, _ in await clinic.alerts.recent() if pid == p.id and k != "two_missed"]


# -- extra doses: urgent, recorded as their own status, the nurses told ---------------------


@pytest.mark.parametrize(
    "text",
    [
        "Took 3 by accident what do I do",
        "I took my husband's capsule by mistake as well as my own",
        "took yesterday's and today's together",
    ],
)
async def test_an_extra_dose_is_urgent_recorded_and_alerted(clinic: Clinic, text: str) -> None:
    p = await patient_at(clinic, at(3, 10))
    reply = await clinic.say(p, text)
    assert reply.text.startswith(f"URGENT: call your treatment team now on {TEAM_PHONE}.")
    assert "how many capsules were taken" in reply.text
    assert await today(clinic, p) == "extra"
    assert "extra_capsule" in await alerted(clinic, p)


async def test_another_one_after_a_recorded_dose_is_an_extra_dose(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 9, 5))
    await clinic.say(p, "taken")
    reply = await clinic.say(p, "oh no I think I've just taken another one")
    assert reply.text.startswith("URGENT: call your treatment team now")
    assert "extra_capsule" in await alerted(clinic, p)


@pytest.mark.parametrize("text", ["Another one down \u2705", "Took my capsule again today"])
async def test_the_days_capsule_told_as_routine_is_one_first_and_one_more_after(
    clinic: Clinic, text: str
) -> None:
    # As the day's first report: the one capsule, recorded, nothing urgent.
    first = await patient_at(clinic, at(3, 9, 5))
    reply = await clinic.say(first, text)
    assert not reply.text.startswith("URGENT"), reply.text
    assert await today(clinic, first) == TAKEN
    assert "extra_capsule" not in await alerted(clinic, first)
    # After the day's dose was recorded: one more capsule, whatever the words.
    second = await patient_at(clinic, at(3, 9, 5))
    await clinic.say(second, "taken")
    reply = await clinic.say(second, text)
    assert reply.text.startswith(f"URGENT: call your treatment team now on {TEAM_PHONE}."), (
        reply.text
    )
    assert await today(clinic, second) == "extra"
    assert "extra_capsule" in await alerted(clinic, second)


# -- red flags, negations, questions about a risk --------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "coughing blood",
        "my poo is black",
        "it burns when I pee and I feel cold",
        "had diarrhoea 8 times today",
        "fell over and hit my head, got a headache now",
        "tengo fiebre de 39",
        "J'ai de la fi\u00e8vre, 38,5",
        # A ninth writer's, missed before: a bleed that goes on, a severe headache put in
        # words, a faint and a knock to the head in Romanian.
        "gums wont stop. been dabbing them with kitchen roll for half an hour",
        "ive bled right through the plaster from this mornings blood test and its still dripping",
        "nosebleed stopped after a few minutes but started again and now its pouring",
        "very bad head, like being hit with a hammer, and the light hurts my eyes",
        "tata a le\u0219inat \u00een baie \u0219i s-a lovit la cap",
    ],
)
async def test_a_red_flag_is_answered_urgently_and_alerted(clinic: Clinic, text: str) -> None:
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, text)
    assert reply.text.startswith("URGENT: call your treatment team now"), reply.text
    assert "red_flag" in await alerted(clinic, p)


async def test_a_possible_warning_sign_says_when_to_call_and_asks_a_nurse_to_check(
    clinic: Clinic,
) -> None:
    # Words no list knows, caught by the model (messages/model.py): not "URGENT" as if sure,
    # but the signs, the number and a nurse asked to look; the dose is untouched.
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, "my husband went grey and flopped over on the sofa")
    assert reply.text.startswith(f"If you are unwell now, call your treatment team now on {TEAM_PHONE}.")
    assert "temperature of 38C or more" in reply.text
    assert "A nurse will check your message." in reply.text
    assert "red_flag" in await alerted(clinic, p)
    assert any("possible red flag (please check)" in t for k, pid, t in await clinic.alerts.recent()
               if pid == p.id)  # fmt: skip
    assert await today(clinic, p) is None


async def test_a_symptom_the_model_worries_about_says_when_to_call_without_an_alert(
    clinic: Clinic,
) -> None:
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, "constipation and diarrhoea")
    assert reply.text.startswith("Constipation affects")
    assert "If it is severe, getting worse or you feel unwell, call your treatment team now" in (
        reply.text
    )
    assert "red_flag" not in await alerted(clinic, p)


async def test_a_red_flag_in_another_language_is_told_in_english_too(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, "tengo fiebre de 39")
    assert "I can only read English" in reply.text


async def test_denied_symptoms_are_not_a_red_flag(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, "no fever, no pain, just tired")
    assert not reply.text.startswith("URGENT")
    assert "tired" in reply.text.lower() or "energy" in reply.text.lower()
    assert await alerted(clinic, p) == []


async def test_a_question_about_a_risk_is_answered_with_when_to_call_not_alerted(
    clinic: Clinic,
) -> None:
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, "am I more likely to get blood clots?")
    assert not reply.text.startswith("URGENT")
    assert "If you have any of these signs now, call your treatment team now" in reply.text
    assert await alerted(clinic, p) == []


@pytest.mark.parametrize(
    "text",
    [
        "my friend on the same drug had a clot, should i worry?",
        "my dad had a heart attack years ago, does that matter with this drug?",
        "my neighbour's in hospital with a clot in his leg, is that something I should worry "
        "about on this?",
        # General questions about a serious risk, no sign word in them.
        "what happens if I get pregnant while on it",
        "what signs mean I should ring the hospital straight away?",
        "could this give me a clot?",
        "how common are nosebleeds on this?",
        "my friends dad bled out on warfarin, is bleeding a big risk with this drug?",
        # The patient's own sign, long over, and a question about the drug.
        "had nosebleeds as a kid every winter, will this make them come back?",
    ],
)
async def test_someone_elses_sign_and_a_question_about_the_risk_is_a_risk_question(
    clinic: Clinic, text: str
) -> None:
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, text)
    assert not reply.text.startswith("URGENT"), reply.text
    assert "If you have any of these signs now, call your treatment team now" in reply.text
    assert await alerted(clinic, p) == []


@pytest.mark.parametrize(
    "text",
    [
        # A carer may be texting about the patient: their sign now stays the patient's red flag.
        "my husband has a temperature of 39, should I be worried?",
        "my mum is on lenalidomide and has chest pain, is that a side effect?",
        "my mum had a fall and hit her head, is that common on this drug?",
        # Whether to take today's capsule with a sign: the sign is now.
        "should i take my capsule if my gums are bleeding",
    ],
)
async def test_a_relatives_sign_now_with_a_question_is_still_urgent(
    clinic: Clinic, text: str
) -> None:
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, text)
    assert reply.text.startswith("URGENT: call your treatment team now"), reply.text
    assert "red_flag" in await alerted(clinic, p)


@pytest.mark.parametrize(
    ("text", "recorded"),
    [
        # The weather's temperature, someone else's with the patient's own dose, a bleed that
        # stopped at once, a period that came, an idiom, a blood test asked about in Italian.
        ("it's 38 degrees in Seville today! took my capsule by the pool", TAKEN),
        ("my daughter has a temp of 38.9 so im home with her. took mine at 8", TAKEN),
        ("bled a tiny bit when they took blood but it stopped straight away", None),
        ("period came on time, phew!", None),
        ("could murder a bacon sandwich right now", None),
        ("quando devo fare il prossimo esame del sangue?", None),
        ("When is my next pregnancy test? I'm not pregnant btw lol", None),
        ("My son's got a fever of 38.5 and the runs, is it safe for me to be around him?", None),
        ("That bruise on my arm from the cannula is fading now, thanks", None),
        ("Can my daughter pick up my prescription bag? She's 7 months pregnant", None),
        ("my cat's got a temperature, vet says 39.5 is normal for a cat lol", None),
    ],
)
async def test_a_sign_that_is_not_the_patients_now_is_not_alerted(
    clinic: Clinic, text: str, recorded: str | None
) -> None:
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, text)
    assert not reply.text.startswith(("URGENT", "If you are unwell now")), reply.text
    # A text in another language still tells a nurse so (not as a red flag).
    assert [k for k in await alerted(clinic, p) if k != "other_language"] == []
    assert await today(clinic, p) == recorded


# -- a question is heard, not swallowed by a dose word ---------------------------------------


async def test_opening_the_capsule_is_answered_and_records_nothing(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, "can i open the capsule and mix it in yoghurt i cant swallow it")
    assert "never" in reply.text.lower() and "open" in reply.text.lower()
    assert "take the dose" not in reply.text
    assert await today(clinic, p) is None


@pytest.mark.parametrize(("hh", "advice"), [(11, "take_now"), (20, "take_now")])
async def test_forgot_can_i_take_it_now_inside_the_window(
    clinic: Clinic, hh: int, advice: str
) -> None:
    p = await patient_at(clinic, at(3, hh))
    reply = await clinic.say(p, "forgot, can I take it now?")
    assert reply.extras["advice"] == advice
    assert "take the dose for Thu 3 Dec now" in reply.text


async def test_thirteen_hours_late_shall_i_take_it_says_skip(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 22))
    reply = await clinic.say(p, "just realised I didn't take it today, shall I take it now?")
    assert reply.extras["advice"] == "skip" and "Never take two" in reply.text


async def test_yesterdays_with_todays_says_skip_and_never_two(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, "I forgot yesterday's tablet, should I take it now with today's?")
    assert reply.extras["advice"] == "skip"
    assert "skip the dose for Wed 2 Dec" in reply.text and "Never take two" in reply.text


async def test_cant_remember_gets_the_safe_rule(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, "did I take it today? can't remember")
    assert reply.text.startswith("If you are not sure you took the dose for Thu 3 Dec")
    assert "do not take another" in reply.text
    assert await today(clinic, p) is None


@pytest.mark.parametrize("when", ["break", "hold"])
async def test_do_i_take_one_today_on_a_break_or_a_hold(clinic: Clinic, when: str) -> None:
    p = await patient_at(clinic, at(24 if when == "break" else 5, 12))
    if when == "hold":
        await clinic.care.pause(p.id, day(5), "counts")
    reply = await clinic.say(p, "do I take one today?")
    assert reply.text.startswith("No capsule is due today"), reply.text


# -- every clause heard ----------------------------------------------------------------------


async def test_taken_but_feel_sick_records_and_answers_the_sickness(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 9, 30))
    reply = await clinic.say(p, "took it but feel sick")
    assert reply.text.startswith("Thanks Ann, your dose for Thu 3 Dec is recorded as taken.")
    assert "sick" in reply.text.split("recorded as taken.", 1)[1].lower()
    assert await today(clinic, p) == "taken"


async def test_taken_and_a_blood_test_question_answers_both(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 9, 30))
    reply = await clinic.say(p, "Taken. When is my next blood test?")
    assert "recorded as taken" in reply.text and "Your next blood test is due" in reply.text


async def test_taken_constipated_tho_answers_both(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 9, 30))
    reply = await clinic.say(p, "took it. constipated tho")
    assert "recorded as taken" in reply.text and "constipat" in reply.text.lower()


async def test_forgot_this_morning_just_took_it_now_is_recorded_late(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 14))
    reply = await clinic.say(p, "forgot this morning, just took it now")
    assert "recorded as taken late" in reply.text
    assert await today(clinic, p) == "late"


async def test_about_to_take_it_records_nothing(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 9, 2))
    reply = await clinic.say(p, "I'm just about to take it")
    assert reply.text == "OK. Reply TAKEN once you have taken it."
    assert await today(clinic, p) is None


# -- stray words, common questions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ("Merry Christmas to all the nurses", {"chat"}),
        ("cod liver oil", {"topic:other-medicines"}),
        ("what day of the cycle am I on", {"schedule:cycle_day"}),
        ("how many capsules are left this cycle", {"schedule:capsules_left"}),
        ("what time do I take it", {"schedule:dose_time"}),
        ("when is my week off", {"schedule:break"}),
        ("can I have a glass of wine", {"topic:alcohol"}),
        ("can I still have sex", {"topic:sex"}),
        ("is my hair going to fall out", {"topic:hair"}),
        ("is it chemo", {"topic:is-it-chemo"}),
        ("what does lenalidomide do", {"topic:what-it-does"}),
        ("the capsule broke and there is powder everywhere", {"topic:broken-capsule"}),
        ("what do I do with leftover capsules", {"topic:leftover-capsules"}),
        ("I dropped a capsule on the floor", {"topic:dropped-capsule"}),
        ("my wife pops the capsules out of the pack for me, is that alright",
         {"topic:carer-handling"}),
        ("please stop sending me these messages", {"stop_request"}),
    ],
)
def test_what_the_issue_names_is_read_as_it_means(text: str, reads: set[str]) -> None:
    assert understand(text).labels() == reads


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        # Counts of something else are no extra capsule; a count of capsules eaten is.
        ("took it with two big glasses of water", {"taken"}),
        ("doubled my water like the leaflet says. capsule taken", {"taken"}),
        ("Took today's. The second one in the box is for tomorrow, right?", {"taken"}),
        ("ate two of them \U0001f62c", {"extra"}),
        # Questions about a risk, with no sign happening.
        ("can this drug cause a miscarriage?", {"risk_question"}),
        ("is there a chance this could affect my heart?", {"risk_question"}),
        ("no temp, no bleeding, just feel washed out", {"topic:fatigue"}),
        ("who is this", {"help"}),
        # Found among the tuning set's misses the same day.
        ("my blood's clotting in my leg I can feel it", {"red_flag"}),
        ("I have had loose motions on no fewer than five occasions since breakfast.",
         {"red_flag"}),
        ("99.5 F, is that a fever?", {"topic:infection"}),
        ("39.2, is that a fever?", {"red_flag"}),
        ("Im worried about getting sepsis", {"risk_question"}),
        ("what would a blood clot in the lungs feel like", {"risk_question"}),
        ("My cat ate my tulip bulbs, vet bill huge lol. took it", {"taken"}),
        ("my heart skipped a beat when I saw my grandson walk for the first time! took my "
         "capsule", {"taken"}),
        ("my grandson took one of my capsules", {"red_flag"}),
        ("I nearly passed out when I saw the price of petrol haha. Took it thanks", {"taken"}),
        # A tenth writer's: warning signs in other scripts and languages...
        ("\u0639\u0646\u062f\u064a \u062d\u0631\u0627\u0631\u0629 \u0663\u0668.\u0668 \u0648\u0631\u062c\u0641\u0629 \u0645\u0646 \u0627\u0644\u0635\u0628\u062d", {"other_language", "red_flag"}),
        ("\u4ece\u6628\u5929\u5f00\u59cb\u5927\u4fbf\u662f\u9ed1\u8272\u7684", {"other_language", "red_flag"}),
        ("j'ai eu la diarrh\u00e9e 6 fois depuis ce matin", {"other_language", "red_flag"}),
        ("A menstrua\u00e7\u00e3o est\u00e1 atrasada h\u00e1 10 dias", {"other_language", "red_flag"}),
        ("\u6211\u7684\u80bf\u7624\u533b\u751f\u8bf4\u5f88\u597d", {"other_language"}),  # a tumour doctor
        # ...questions about a sign in general, and a sign now asked about...
        ("is breathlessness serious on this or just part of it", {"risk_question"}),
        ("would vomiting blood be a side effect or something else", {"risk_question"}),
        ("I have a temp of 38.5 is that an emergency?", {"red_flag"}),
        # ...and an animal's, a screen's or a team's signs; a pet near capsules stays urgent.
        ("England are giving me chest pains again \u26bd", {"chat"}),
        ("the dog knocked me over and I hit my head", {"red_flag"}),
        ("the dog's had his nose in my tablets and I'm one capsule short", {"red_flag"}),
        ("remind me later", {"later"}),
        ("missed yesterday's completely, was in hospital. today's taken though",
         {"missed", "taken"}),
        # An eleventh writer's: signs put plainly or misspelt...
        ("My husband went pale and just slid down in his chair. He's awake now but very woozy",
         {"red_flag"}),
        ("Rash came up yesterday, now my eyes are swelling shut", {"red_flag"}),
        ("probs just hormones but my boobs are really sore and I'm late", {"red_flag"}),
        ("Do I need to worry about the blood in my wee? It's been there since this morning",
         {"red_flag"}),
        # ...the day's one capsule told with "another", a carer's double...
        ("Another one down \u2705", {"taken"}),
        ("Took my capsule again today", {"taken"}),
        ("Gave Dad his at 9 and my sister gave him one at 11, we didn't check the chart",
         {"extra"}),
        ("started the new cycle a week early by mistake, took one today", {"extra"}),
        # ...and a sign asked about in general.
        ("Reckon I'd be more at risk of clots sat in the lorry cab all day? I'm a driver",
         {"risk_question"}),
        # A twelfth writer's: bone pain, weakness and a lot of wee; a heart attack by its
        # company; an ordinal count of diarrhoea; non-native doubles; routine "again".
        ("pee-ing all the time like a tap and my bones ache something terrible and I got no "
         "strength", {"red_flag"}),
        ("Derek's been sick three times and he's gone a funny grey colour and sweating buckets, "
         "says his jaw aches", {"red_flag"}),
        ("4th lot of diarrhoea since breakfast", {"red_flag"}),
        ("shift change, I take at night yesterday and morning today. is 2 in 14 hours",
         {"extra"}),
        ("I take capsule of my friend. he have same medicine. then also my own", {"extra"}),
        ("took it this morning and again tonight, completely forgot I'd had it", {"extra"}),
        ("Yes ma'am, took it again just like yesterday", {"taken"}),
        ("temp 38.1, alfie gave me his nursery bug again", {"red_flag"}),
        # A thirteenth writer's: Scots words; confusion told as a carer sees it; a child who
        # may have swallowed one; doubles told with doubt or a size; signs explained away,
        # idioms and hypotheticals; when to call.
        ("Lips an tongue swelt up efter ma dinner. Throat's tight.", {"red_flag"}),
        ("Swallied three o them. Thocht they were ma water tablets.", {"extra"}),
        ("Boakin aw nicht an the heat's comin aff me. Hunner an wan on the auld thermometer.",
         {"red_flag"}),
        ("Nae temperature, nae bleedin. Jist wabbit.", {"topic:fatigue"}),
        ("Coo's bleedin fae her hoof. No me. Took it.", {"taken"}),
        ("She's being really odd. confused, repeating herself, asked where dad is (he died in "
         "2015). came on today.", {"red_flag"}),
        ("I have had diarrhoea now for four consecutive days.", {"red_flag"}),
        ("my boy got into my pill bottle, dont know if he swallowed any",
         {"red_flag"}),
        ("think I double dosed?? blister has 2 gaps for today", {"extra"}),
        ("Her right calf double the left. Red + warm.", {"red_flag"}),
        ("took hers at 8am then again at 8pm thinking it was her evening tablets", {"extra"}),
        ("my daughter picked up my capsule and took it thinking it was her iron tablet",
         {"red_flag"}),
        ("sooo bf and I had a slip up, no protection on Sat. I'm on day 10 of the capsules",
         {"red_flag"}),
        ("late for my appt not my period lol, running 10 min behind", {"chat"}),
        ("The black stuff in her loo was from the liquorice she ate, stools normal colour now",
         {"chat"}),
        ("my insurance copay is bleedin me dry", {"chat"}),
        ("She nearly fainted at the taxi fare \U0001f602 taken tho", {"taken"}),
        ("I was shivering at the bus stop, but that was purely the English weather. Capsule "
         "taken.", {"taken"}),
        ("A member of my church tells me that lenalidomide can cause heart attacks. Is this "
         "true?", {"risk_question"}),
        ("what happens if my grandkid swallows one of these", {"risk_question"}),
        ("what temp do i call y'all at", {"risk_question"}),
        ("next blood test? \U0001fa78", {"schedule:blood_test"}),
        ("Wann f\u00e4ngt die Pause an? Bin mir nicht sicher", {"other_language"}),
        ("Ma feet are aw pins an needles", {"topic:tingling-numbness"}),
        ("quit textin me", {"stop_request"}),
        # A fourteenth writer's: clinical words, Irish and Jamaican English, non-native carers.
        ("Melaena x2 since last night. Hb was 98 at the last FBC.", {"red_flag"}),
        ("Epistaxis for 35 mins now, not settling with pressure and ice.", {"red_flag"}),
        ("Syncopal episode in the bathroom at 0630, brief LOC per husband.", {"red_flag"}),
        ("Previous cycle: one episode of epistaxis (day 9), resolved spontaneously in 5 min. "
         "This cycle nil. Capsule taken.", {"taken"}),
        ("Mother saying headache very very strong, never she had like this, she is vomiting "
         "also", {"red_flag"}),
        ("Sorry, my brother give her capsule at 8 and I give again at 10, we not know each "
         "other", {"extra", "topic:sharing-capsules"}),
        ("She double up today cause she miss yesterday, mi tell her nuh fi do dat", {"extra"}),
        ("can I double up today?", {"topic:make-up-dose"}),
        ("I'm after taking it", {"taken"}),
        ("Omitted last night's dose, fell asleep early.", {"missed"}),
        ("Had a small nosebleed the week before last but nothing since, the nurse said it was "
         "the dry air in the house", {"chat"}),
        ("My brother wife is pregnant, she coming to stay.", {"unknown"}),
        ("What is mean black stool? Leaflet say something, we not understand",
         {"risk_question"}),
        ("Is true seh dis tablet can give yuh blood clot?", {"risk_question"}),
        ("she hasnt been for a poo in 4 days", {"topic:constipation"}),
        ("I had a nosebleed last night that took about half an hour to stop, and the district "
         "nurse sorted my dressings on Saturday", {"red_flag"}),
        # A fifteenth writer's: "mate" as a greeting is no mate with the sign; risk questions
        # put briefly or as hearsay; a carer's double after "I already give him one".
        ("mate my temp is 101.8 on the thermometer", {"red_flag"}),
        ("MATE TEMP 38.4 AND IM SHAKING LIKE A LEAF", {"red_flag"}),
        ("my mate fainted at the pub, took mine", {"taken"}),
        # A bare sign asked "serious?" may be happening: urgent, as is any sign the patient
        # says the drug is doing to them now, or that is happening while they ask.
        ("nosebleed serious?", {"red_flag"}),
        ("it gives me chest pain, is that normal?", {"red_flag"}),
        ("this drug makes me breathless, is that normal?", {"red_flag"}),
        ("my nose is bleeding, anything to worry about?", {"red_flag"}),
        ("coughing up blood, something to watch for?", {"red_flag"}),
        ("chest pain since an hour, or can it wait?", {"red_flag"}),
        ("my gums are bleeding, is that a risk with this?", {"red_flag"}),
        ("is a nosebleed owt to worry about on these tablets? had one back in March, nowt since",
         {"risk_question"}),
        ("my nose is bleeding and wont stop, is it serious?", {"red_flag"}),
        ("my sister say this medicine give heart attack, is it true?", {"risk_question"}),
        ("Dear Sir, I wish to ask whether it is normal to have a tightness across the chest "
         "which spreads into the left arm. It began about thirty minutes ago.", {"red_flag"}),
        ("Mr Davies he find capsules in the drawer and take one himself after I already give "
         "him one", {"extra", "topic:sharing-capsules"}),
        ("I've been feeling kind of down lately, not myself", {"topic:mood-depression"}),
        ("my daughter is 2 and she had one of my capsules in her hand, one's missing, don't know "
         "if she swallowed it", {"red_flag"}),
        ("I've had some bleeding down below today and I've been through the menopause years ago "
         "so it shouldn't be happening", {"red_flag"}),
        # A sixteenth writer's: phonetic spelling, clinical shorthand in capitals, a child or a
        # pet at the pills, risk questions, someone else's fever with a question about contact.
        ("my dorter swolowed one of my capsuls i think, she is 4, the lid was off and ones gone",
         {"red_flag"}),
        ("had the runs five tims since brekfast and thre times in the nite to", {"red_flag"}),
        ("Worst HA of my life. Sudden onset 2200. Vomited x2.", {"red_flag"}),
        ("Morning. Neg fever. Neg bleeding. Neg CP. Just dog tired, slept 12 hrs.",
         {"topic:fatigue"}),
        ("Grandkid got in my pill organizer. 1 capsule unaccounted for. He's 3.", {"red_flag"}),
        ("One of the sheepdogs got at the bin and chewed the lenalidomide box, I think a capsule "
         "has gone.", {"red_flag"}),
        ("are these tablets gonna give us a clot?", {"risk_question"}),
        ("My wife have fever 38.2 and cough. I am fine. I should wear mask at home?",
         {"topic:infection"}),
        ("my wife wants me to tell you I'm 'not making sense' today. I feel fine. she says I've "
         "been repeating myself all morning", {"red_flag"}),
        ("Nearly fainted when a saw the price of a stottie in Greggs haha. took me tablet",
         {"taken"}),
        # A seventeenth writer's: a period back after years with a question of pregnancy, a
        # reading "exactly on the ear thermometer", Punjabi counts, a conditional question.
        ("Period came back out of nowhere after 3 years on T, and I'm spotting heavily. Could I "
         "be pregnant??", {"red_flag"}),
        ("38 exactly on the ear thermometer, feel rough", {"red_flag"}),
        ("Bapuji da pet kharab hai, diarrhoea 5 vaari since morning", {"red_flag"}),
        ("Dear Sir, What should I do should I develop a high temperature?", {"risk_question"}),
        ("period came on time, phew", {"chat"}),
    ],
)
def test_a_ninth_writers_texts_are_read_as_they_mean(text: str, reads: set[str]) -> None:
    assert set(understand(text).labels()) == reads


async def test_tooth_out_next_week_is_not_a_next_question(clinic: Clinic) -> None:
    assert not any(x.startswith("schedule") for x in understand("tooth out next week").labels())


async def test_please_stop_sending_explains_stop_and_stops_nothing(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 12))
    reply = await clinic.say(p, "please stop sending me these messages")
    assert reply.text.startswith("To stop these messages, reply STOP")
    assert (await clinic.courses.get(p.id)).opted_out_at is None


async def test_schedule_answers_name_the_dates(clinic: Clinic) -> None:
    p = await patient_at(clinic, at(3, 12))
    replies: dict[str, Reply] = {}
    for text in ("what day of the cycle am I on", "how many capsules are left this cycle",
                 "what time do I take it", "when is my week off"):  # fmt: skip
        replies[text] = await clinic.say(p, text)
    assert replies["what day of the cycle am I on"].text == (
        "Today is cycle 1, day 3: a dose day."
    )
    assert replies["how many capsules are left this cycle"].text.startswith(
        "19 dose days left in cycle 1"
    )
    # Today's 09:00 dose is still inside its window at noon: it is the next one to take.
    assert replies["what time do I take it"].text == "Your dose time is 09:00. Next dose: Thu 3 Dec."
    assert replies["when is my week off"].text == "Your next break starts Tue 22 Dec."
