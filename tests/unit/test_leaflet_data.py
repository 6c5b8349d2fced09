"""The packaged leaflet topics: complete, SMS-sized, reworded, and pointing to the team."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from messages import gsm
from messages.leaflet import LeafletError, Topic, _topic, load_topics, topic_by_id
from messages.search import tokens

TOPICS = load_topics()
SOURCE = "Cancer Research UK patient leaflet: Lenalidomide (Revlimid), updated 22 April 2015"
# Facts the leaflet does not give come from the product brief, and are listed for sign-off.
PRODUCT_SOURCE = "lenabot product brief: docs/PRODUCT.md, clinical rules"
BEYOND_LEAFLET = Path(__file__).resolve().parents[2] / "docs/safety/wording-beyond-leaflet.md"
ROUTINE_BUDGET = 3 * gsm.GSM7_MULTI  # 459: three concatenated segments
URGENT_BUDGET = 340  # leaves ~110 characters for the urgent prefix within the same 3 segments
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
LEAFLET = REFERENCE / "lenalidomide-leaflet-cruk-2015.txt"

# Everything PRODUCT.md asks patients to be able to text about.
REQUIRED_TOPICS = {
    "fever", "infection", "anaemia", "bruising-bleeding", "fatigue", "constipation",
    "cramps-aches", "joint-pain", "blood-clots", "diarrhoea", "skin-rash", "tremor",
    "tingling-numbness", "headache", "blurred-vision", "dizziness-driving", "sickness",
    "blood-salts", "fertility", "bone-pain", "kidneys-urine", "swelling", "flu-like",
    "appetite-taste", "heart-attack", "blood-sugar", "tummy-pain", "mood-depression", "sleep",
    "cataract", "mouth", "hearing-tinnitus", "erection-libido", "sweating", "sun-sensitivity",
    "allergic-reaction", "bleeding-skull", "second-cancers", "how-to-take", "missed-dose",
    "storage-handling", "contraception", "possible-pregnancy", "men-condoms", "blood-tests",
    "vaccines", "blood-donation", "breastfeeding", "lactose", "other-medicines", "side-effects",
    # Safety questions (issue 11): never "did not understand".
    "sharing-capsules", "vomited-dose", "carer-handling", "make-up-dose", "fainting",
}  # fmt: skip
# The red flags in PRODUCT.md, each of which must reach an urgent topic.
URGENT_TOPICS = {
    "fever", "bruising-bleeding", "blood-clots", "heart-attack", "allergic-reaction",
    "bleeding-skull", "possible-pregnancy", "too-many", "fainting",
}  # fmt: skip


def _escalation_targets() -> set[str]:
    return {rule.to for t in TOPICS for rule in t.escalate}


def _budget(topic: Topic) -> int:
    """An answer that may be sent as urgent leaves room for the urgent prefix: an urgent
    topic's, and one whose escalation rules point back at itself (others answer with the
    topic they point to)."""
    can_be_urgent = topic.urgency == "urgent" or any(e.to == topic.id for e in topic.escalate)
    return URGENT_BUDGET if can_be_urgent else ROUTINE_BUDGET


def _last_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", text.strip())[-1]


def test_there_are_at_least_38_topics_with_unique_ids() -> None:
    ids = [t.id for t in TOPICS]
    assert len(ids) >= 38
    assert len(set(ids)) == len(ids)


def test_every_topic_product_md_lists_is_present() -> None:
    assert REQUIRED_TOPICS - {t.id for t in TOPICS} == set()


def test_red_flag_topics_are_urgent_and_escalations_point_at_urgent_or_self() -> None:
    assert {t.id for t in TOPICS if t.urgency == "urgent"} >= URGENT_TOPICS
    for topic in TOPICS:
        for rule in topic.escalate:
            assert rule.to == topic.id or topic_by_id(rule.to).urgency == "urgent", topic.id


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_topic_has_every_field(topic: Topic) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", topic.id)
    assert topic.title and topic.answer and topic.source
    assert topic.keywords
    assert topic.urgency in ("routine", "urgent")
    assert all(p == p.lower().strip() and p for p in topic.phrases)


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_answer_is_gsm7_and_fits_its_sms_budget(topic: Topic) -> None:
    assert gsm.is_gsm7(topic.answer), [c for c in topic.answer if not gsm.is_gsm7(c)]
    assert gsm.length(topic.answer) <= _budget(topic)
    assert gsm.segments(topic.answer) <= 3


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_answer_ends_by_pointing_to_the_treatment_team(topic: Topic) -> None:
    assert "team" in _last_sentence(topic.answer).lower(), _last_sentence(topic.answer)


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_answer_cites_the_leaflet_or_the_product_brief(topic: Topic) -> None:
    assert topic.source in (SOURCE, PRODUCT_SOURCE)


def test_every_answer_not_from_the_leaflet_is_listed_for_clinical_sign_off() -> None:
    listed = BEYOND_LEAFLET.read_text(encoding="utf-8")
    beyond = [t.id for t in TOPICS if t.source != SOURCE]
    assert beyond, "the product brief is cited by the safety topics"
    assert [i for i in beyond if f"`{i}`" not in listed] == []


# What each safety answer must tell the patient (PRODUCT.md, issue 11), as lowercase phrases.
SAFETY_FACTS = {
    "sharing-capsules": ("never share", "anyone else", "back to your pharmacy"),
    "vomited-dose": ("don't take another", "next capsule at the usual time"),
    "carer-handling": ("disposable gloves", "wash their hands straight after",
                       "pregnant must not handle"),
    "make-up-dose": ("never take two", "an extra one", "to make up for a missed dose"),
    "fainting": ("needs checking now", "call an ambulance", "straight away"),
}  # fmt: skip


@pytest.mark.parametrize("topic_id", sorted(SAFETY_FACTS))
def test_safety_answer_says_what_to_do(topic_id: str) -> None:
    answer = topic_by_id(topic_id).answer.lower()
    assert [f for f in SAFETY_FACTS[topic_id] if f not in answer] == []


def test_questions_about_a_dose_are_marked_so_their_dose_words_record_nothing() -> None:
    marked = {t.id for t in TOPICS if t.asks_about_dose}
    assert marked == {"sharing-capsules", "vomited-dose", "make-up-dose", "dropped-capsule",
                      "opening-capsules", "broken-capsule"}


def test_urgent_answers_lead_with_the_action_or_the_danger() -> None:
    # PRODUCT.md: red flags get the urgent instruction first, never buried at the end.
    for topic in TOPICS:
        if topic.urgency == "urgent":
            first = re.split(r"(?<=[.!?])\s+", topic.answer)[0].lower()
            assert re.search(r"\b(call|contact|now|straight away)\b", first), topic.id


def _leaflet_or_skip() -> Path:
    """The reference leaflet; a missing one skips on a developer's machine but fails in CI
    (``CI`` set to anything but ``false``/``0``), where a skip would let copying go unseen."""
    if LEAFLET.exists():
        return LEAFLET
    why = f"reference leaflet not found at {LEAFLET} (../shared/reference beside the repo)"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(why + "; CI must check the answers against it")
    pytest.skip(why)


def test_no_answer_copies_12_words_in_a_row_from_the_leaflet() -> None:
    leaflet = _leaflet_or_skip()
    # tokens() caps one call at 1,000 characters, so feed the leaflet a line at a time.
    lines = leaflet.read_text(encoding="utf-8").splitlines()
    assert max(map(len, lines)) < 1000
    words = [w for line in lines for w in tokens(line)]
    grams = {tuple(words[i : i + 12]) for i in range(len(words) - 11)}
    for topic in TOPICS:
        answer = tokens(topic.answer)
        copied = [" ".join(answer[i : i + 12]) for i in range(len(answer) - 11)
                  if tuple(answer[i : i + 12]) in grams]  # fmt: skip
        assert copied == [], topic.id


def _raw(**changes: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "id": "x", "title": "X", "urgency": "routine", "keywords": ["x"],
        "answer": "Ask your team.", "source": SOURCE,
    }  # fmt: skip
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"urgency": "soon"}, "'urgency' must be 'routine' or 'urgent'"),
        ({"answer": ""}, "'answer' must be a non-empty string"),
        ({"keywords": []}, "'keywords' must not be empty"),
        ({"keywords": "x"}, "'keywords' must be a list"),
        ({"escalate": [{"to": "x"}]}, "at least one of any_of, all_of, after_days or after_times"),
        ({"escalate": [{"any_of": ["Can't"]}]}, "plain lowercase words"),
        ({"escalate": [{"after_days": -1}]}, "'after_days' must be a whole number"),
        ({"asks_about_dose": "yes"}, "'asks_about_dose' must be true or false"),
        ({"broad": 1}, "'broad' must be true or false"),
    ],
)
def test_malformed_topic_data_is_refused_naming_the_field(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(LeafletError, match=message):
        _topic(_raw(**changes), "topics-test.toml")


def test_topic_by_id_names_a_missing_id() -> None:
    assert topic_by_id("lactose").title == "Lactose in the capsules"
    with pytest.raises(KeyError, match="no-such-topic"):
        topic_by_id("no-such-topic")


@pytest.mark.parametrize(("ci", "outcome"), [("true", "failed"), ("1", "failed"), ("", "skipped"),
                                             ("false", "skipped")])  # fmt: skip
def test_a_missing_leaflet_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: str
) -> None:
    monkeypatch.setitem(globals(), "LEAFLET", tmp_path / "absent.txt")
    monkeypatch.setenv("CI", ci)
    with pytest.raises((pytest.fail.Exception, pytest.skip.Exception)) as caught:
        _leaflet_or_skip()
    got = "failed" if caught.type is pytest.fail.Exception else "skipped"
    assert got == outcome
