"""The satisfaction index formula and the follow-up rules, checked against sums done by hand."""

import datetime as dt

import pytest

from wuye.engagement import rules
from wuye.engagement.rules import Tally


def test_a_dimension_with_both_sources_weighs_the_yearly_survey_sixty_percent():
    # Yearly survey: 45 of 50 satisfied = 0.9; orders: 14 of 20 = 0.7 → 100 × (0.6 × 0.9 + 0.4 × 0.7) = 82.
    assert rules.dimension_index(Tally(45, 50), Tally(14, 20)) == pytest.approx(82.0)


def test_a_dimension_with_one_source_is_that_source_alone():
    assert rules.dimension_index(Tally(3, 4), Tally()) == pytest.approx(75.0)
    assert rules.dimension_index(Tally(), Tally(1, 5)) == pytest.approx(20.0)
    assert rules.dimension_index(Tally(), Tally()) is None


def test_the_overall_index_is_the_mean_of_the_dimensions_that_have_answers():
    index = rules.satisfaction_index(
        yearly={"cleaning": Tally(9, 10), "greening": Tally(8, 10)},
        orders={"cleaning": Tally(1, 2), "engineering": Tally(3, 4)},
    )
    # cleaning 100 × (0.6 × 0.9 + 0.4 × 0.5) = 74; greening 80; engineering 75; security and service: none.
    assert index.dimensions["cleaning"].index == pytest.approx(74.0)
    assert index.dimensions["greening"].index == pytest.approx(80.0)
    assert index.dimensions["engineering"].index == pytest.approx(75.0)
    assert index.dimensions["security"].index is None
    assert index.overall == pytest.approx((74 + 80 + 75) / 3)
    assert index.answers == 10 + 10 + 2 + 4


def test_no_answers_give_no_index():
    assert rules.satisfaction_index({}, {}).overall is None


@pytest.mark.parametrize(
    ("kind", "skill", "dimension"),
    [
        ("repair_home", "plumbing", "engineering"),
        ("repair_public", "cleaning", "cleaning"),
        ("repair_public", "greening", "greening"),
        ("repair_public", "security", "security"),
        ("repair_home", "", "engineering"),
        ("complaint", "cleaning", "customer_service"),
        ("complaint", "security", "customer_service"),
        ("inquiry", "", "customer_service"),
        ("rectification", "customer_care", "customer_service"),
    ],
)
def test_an_orders_dimension_follows_its_kind_then_its_categorys_skill(kind, skill, dimension):
    assert rules.order_dimension(kind, skill) == dimension


@pytest.mark.parametrize(
    ("verdict", "score", "low"),
    [
        ("good", 5, False),
        ("good", 3, False),
        ("good", 2, True),
        ("good", 1, True),
        ("bad", 4, True),
        ("returned", 5, True),
        ("good", None, False),
        ("good", True, False),
    ],
)
def test_which_ratings_are_low(verdict, score, low):
    assert rules.rating_is_low(verdict, score) is low


def test_survey_answers_of_one_or_two_are_low():
    assert [rules.answer_is_low(n) for n in (None, 1, 2, 3, 5)] == [False, True, True, False, False]


def test_a_follow_up_is_due_two_days_after_it_opens():
    opened = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
    assert rules.follow_up_due(opened) == dt.datetime(2026, 11, 29, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "status"), [(80, "good"), (91.5, "good"), (76, "warn"), (74.9, "bad"), (None, "none")]
)
def test_the_index_against_an_eighty_percent_target(value, status):
    assert rules.target_status(value, 80) == status
