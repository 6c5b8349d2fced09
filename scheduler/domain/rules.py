"""Rule sets as data: when pregnancy tests, contraception and after-care apply.

Sources: the Cancer Research UK lenalidomide leaflet (../shared/reference, 2015) and the UK
Pregnancy Prevention Programme (product label) for the UK set; the Revlimid REMS programme as
summarised in docs/PRODUCT.md for the US set. How test dates follow from these numbers is
``scheduler.domain.pregnancy``.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.domain.model import RuleSet


@dataclass(frozen=True)
class Rules:
    # Pregnancy tests, in days relative to cycle 1 day 1 (negative: before starting).
    pregnancy_tests_before_start: tuple[int, ...]
    # Weekly tests in the first weeks of treatment (REMS), in days after the start.
    pregnancy_tests_weekly: tuple[int, ...]
    # A test this many days before day 1 of every later cycle (before the supply it gates).
    pregnancy_test_lead_days: int
    # Never more than this many days between tests while in treatment (holds, long cycles).
    pregnancy_test_max_gap_days: int
    # The same with irregular periods; None: the rule set makes no difference for them.
    pregnancy_test_max_gap_irregular_days: int | None
    pregnancy_test_after_end_days: int
    contraception_before_start_days: int
    contraception_after_end_days: int
    # Two reliable forms of contraception at the same time (REMS), not one effective method.
    contraception_two_methods: bool
    partner_condoms_after_end_days: int
    no_blood_donation_after_end_days: int
    no_live_vaccines_after_end_months: int


RULES: dict[RuleSet, Rules] = {
    # Leaflet: tests every 4 weeks during treatment and 4 weeks after; contraception 4 weeks
    # before, during and 4 weeks after; men use condoms for a week after; no blood donation
    # for a week after; no live vaccines for at least 6 months after. UK Pregnancy Prevention
    # Programme: the test is negative within 3 days before each supply is prescribed.
    RuleSet.UK: Rules(
        pregnancy_tests_before_start=(-3,),
        pregnancy_tests_weekly=(),
        pregnancy_test_lead_days=3,
        pregnancy_test_max_gap_days=28,
        pregnancy_test_max_gap_irregular_days=None,
        pregnancy_test_after_end_days=28,
        contraception_before_start_days=28,
        contraception_after_end_days=28,
        contraception_two_methods=False,
        partner_condoms_after_end_days=7,
        no_blood_donation_after_end_days=7,
        no_live_vaccines_after_end_months=6,
    ),
    # REMS: two tests before starting (10-14 days before, and within 24 hours), weekly for the
    # first 4 weeks, then every 4 weeks (every 2 weeks if periods are irregular, holds
    # included); two reliable forms of contraception at the same time; condoms for 4 weeks
    # after stopping; no blood donation for 4 weeks after. Later tests are put before each
    # cycle's day 1 as in the UK set (a supply is at most 28 days).
    RuleSet.US_REMS: Rules(
        pregnancy_tests_before_start=(-14, -1),
        pregnancy_tests_weekly=(7, 14, 21, 28),
        pregnancy_test_lead_days=3,
        pregnancy_test_max_gap_days=28,
        pregnancy_test_max_gap_irregular_days=14,
        pregnancy_test_after_end_days=28,
        contraception_before_start_days=28,
        contraception_after_end_days=28,
        contraception_two_methods=True,
        partner_condoms_after_end_days=28,
        no_blood_donation_after_end_days=28,
        no_live_vaccines_after_end_months=6,
    ),
}
