"""Rule sets as data: when pregnancy tests, contraception and after-care apply.

Sources: the Cancer Research UK lenalidomide leaflet (../shared/reference, 2015) for the UK set;
the Revlimid REMS programme as summarised in docs/PRODUCT.md for the US set.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.model import RuleSet


@dataclass(frozen=True)
class Rules:
    # Pregnancy tests, in days relative to cycle 1 day 1 (negative: before starting).
    pregnancy_tests_before_start: tuple[int, ...]
    # Extra tests on these days after the start (the weekly first month under REMS).
    pregnancy_tests_early: tuple[int, ...]
    pregnancy_test_interval_days: int
    pregnancy_test_after_end_days: int
    contraception_before_start_days: int
    contraception_after_end_days: int
    partner_condoms_after_end_days: int
    no_blood_donation_after_end_days: int
    no_live_vaccines_after_end_months: int


RULES: dict[RuleSet, Rules] = {
    # Leaflet: tests every 4 weeks during treatment and 4 weeks after; contraception 4 weeks
    # before, during and 4 weeks after; men use condoms for a week after; no blood donation
    # for a week after; no live vaccines for at least 6 months after.
    RuleSet.UK: Rules(
        pregnancy_tests_before_start=(-3,),
        pregnancy_tests_early=(),
        pregnancy_test_interval_days=28,
        pregnancy_test_after_end_days=28,
        contraception_before_start_days=28,
        contraception_after_end_days=28,
        partner_condoms_after_end_days=7,
        no_blood_donation_after_end_days=7,
        no_live_vaccines_after_end_months=6,
    ),
    # REMS: two tests before starting (10-14 days before, and within 24 hours), weekly for the
    # first 4 weeks, then every 4 weeks; condoms for 4 weeks after stopping.
    RuleSet.US_REMS: Rules(
        pregnancy_tests_before_start=(-14, -1),
        pregnancy_tests_early=(7, 14, 21, 28),
        pregnancy_test_interval_days=28,
        pregnancy_test_after_end_days=28,
        contraception_before_start_days=28,
        contraception_after_end_days=28,
        partner_condoms_after_end_days=28,
        no_blood_donation_after_end_days=7,
        no_live_vaccines_after_end_months=6,
    ),
}
