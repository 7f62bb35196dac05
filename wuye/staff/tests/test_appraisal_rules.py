"""The appraisal's pure rules: normalisation, renormalised weights, contributions adding up to the score,
attribution to whoever held the order, complaint attribution, 服务之星 nomination and accountability."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wuye.staff import rules
from wuye.staff.rules import Candidate, EventRow, PersonFacts, StepRow

T0 = dt.datetime(2026, 10, 10, 2, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 9, 30, 16, 0, tzinfo=dt.UTC)  # 1 October, Shanghai
END = dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC)
ALL_EQUAL = dict.fromkeys(rules.COMPONENTS, 10)


def minutes(n: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def line(lines, code):
    return next(item for item in lines if item.code == code)


# ------------------------------------------------------------------------------------------ the score
def test_a_person_with_17_of_20_steps_on_time_and_nothing_else_scores_85():
    facts = PersonFacts(steps_on_time={"arrive": 9, "resolve": 8}, steps_total={"arrive": 10, "resolve": 10})
    score, lines = rules.appraisal_score(facts, ALL_EQUAL)
    assert score == Decimal("85.00")
    sla = line(lines, "sla_on_time")
    assert sla.raw == {"on_time": 17, "total": 20, "steps": {"arrive": [9, 10], "resolve": [8, 10]}}
    assert sla.share == 100.0 and sla.contribution == Decimal("85.00")


def test_components_without_data_are_left_out_and_the_other_weights_scaled_to_100_percent():
    facts = PersonFacts(
        steps_on_time={"resolve": 3}, steps_total={"resolve": 4}, rating_sum=9, rating_count=2
    )  # 75 % on time; ratings 4.5 average → 87.5
    weights = {**dict.fromkeys(rules.COMPONENTS, 10), "sla_on_time": 30, "rating": 10}
    score, lines = rules.appraisal_score(facts, weights)
    assert line(lines, "sla_on_time").share == 75.0
    assert line(lines, "rating").share == 25.0
    assert score == Decimal("78.13")  # 75 × 0.75 + 87.5 × 0.25 = 78.125
    assert not line(lines, "patrol").counted and line(lines, "patrol").normalised is None


def test_a_component_with_weight_zero_for_the_post_is_not_counted_even_with_data():
    facts = PersonFacts(rounds_complete=1, rounds_total=2, rating_sum=5, rating_count=1)
    score, lines = rules.appraisal_score(facts, {**ALL_EQUAL, "patrol": 0})
    assert score == Decimal("100.00")
    assert line(lines, "patrol").normalised == 50.0 and not line(lines, "patrol").counted


def test_nobody_with_no_data_at_all_gets_a_score():
    score, lines = rules.appraisal_score(PersonFacts(), ALL_EQUAL)
    assert score is None
    assert not any(item.counted for item in lines)


def test_ratings_map_one_star_to_0_and_five_stars_to_100():
    assert rules.normalise(PersonFacts(rating_sum=1, rating_count=1), complaint_penalty=20)["rating"][1] == 0
    assert rules.normalise(PersonFacts(rating_sum=10, rating_count=2), complaint_penalty=20)["rating"][1] == 100


def test_reopen_rate_counts_against_work_finished():
    raw, value = rules.normalise(PersonFacts(resolved=10, reopened=2), complaint_penalty=20)["reopen"]
    assert raw == {"reopened": 2, "resolved": 10} and value == 80.0


def test_each_complaint_costs_the_policy_penalty_and_the_score_never_goes_below_zero():
    facts = PersonFacts(resolved=5, complaints=["WO1", "WO2"])
    assert rules.normalise(facts, complaint_penalty=20)["complaints"][1] == 60.0
    facts.complaints += ["WO3"] * 10
    assert rules.normalise(facts, complaint_penalty=20)["complaints"][1] == 0.0
    # No work finished and no complaint: nothing to judge.
    assert rules.normalise(PersonFacts(rating_count=0), complaint_penalty=20)["complaints"][1] is None


@given(
    on_time=st.integers(0, 50),
    late=st.integers(0, 50),
    ratings=st.lists(st.integers(1, 5), max_size=30),
    spot=st.lists(st.floats(0, 100, allow_nan=False), max_size=6),
    rounds=st.tuples(st.integers(0, 40), st.integers(0, 40)),
    complaints=st.integers(0, 6),
    weights=st.lists(st.integers(0, 100), min_size=8, max_size=8),
)
def test_contributions_always_add_up_exactly_to_the_score(on_time, late, ratings, spot, rounds, complaints, weights):
    facts = PersonFacts(
        steps_on_time={"arrive": on_time},
        steps_total={"arrive": on_time + late} if on_time + late else {},
        rating_sum=sum(ratings),
        rating_count=len(ratings),
        spot_check_scores=spot,
        rounds_complete=min(rounds),
        rounds_total=max(rounds),
        resolved=3,
        complaints=[f"WO{i}" for i in range(complaints)],
    )
    score, lines = rules.appraisal_score(facts, dict(zip(rules.COMPONENTS, weights, strict=True)))
    if score is None:
        return
    assert sum((item.contribution for item in lines), Decimal(0)) == score
    assert Decimal(0) <= score <= Decimal(100)
    counted = [item for item in lines if item.counted]
    assert sum(item.share for item in counted) == pytest.approx(100.0)
    for item in counted:
        assert abs(float(item.contribution) - item.normalised * item.share / 100) <= 0.01 + 1e-9


# ------------------------------------------------------------------------------------------ attribution
def dispatch(order_id: int, at: dt.datetime, person: int) -> EventRow:
    return EventRow(order_id=order_id, action="dispatch", at=at, payload={"assignee_id": person})


def event(order_id: int, action: str, at: dt.datetime, **payload) -> EventRow:
    return EventRow(order_id=order_id, action=action, at=at, payload=payload)


def test_everything_about_an_order_goes_to_whoever_held_it_at_that_moment():
    events = [
        dispatch(1, minutes(0), person=7),
        event(1, "transfer", minutes(10), assignee_id=8),
        event(1, "resolve", minutes(60)),
        event(1, "rate", minutes(90), verdict="good", score=4),
        event(1, "visit", minutes(120), satisfied=True),
    ]
    steps = [
        StepRow(id=1, order_id=1, step="arrive", due_at=minutes(5), met_at=minutes(30)),  # late at 5: person 7's
        StepRow(id=2, order_id=1, step="resolve", due_at=minutes(100), met_at=minutes(60)),  # on time: person 8's
        StepRow(id=3, order_id=1, step="accept", due_at=minutes(1), met_at=minutes(50)),  # the desk's
    ]
    facts = {}
    rules.add_order_facts(facts, events, steps, start=START, end=END, now=END)
    assert facts[7].steps_total == {"arrive": 1} and facts[7].steps_on_time == {"arrive": 0}
    assert facts[8].steps_total == {"resolve": 1} and facts[8].steps_on_time == {"resolve": 1}
    assert (facts[8].resolved, facts[8].rating_sum, facts[8].rating_count) == (1, 4, 1)
    assert (facts[8].visits_satisfied, facts[8].visits_total) == (1, 1)
    assert facts[7].resolved == 0


def test_a_reopen_counts_against_the_person_who_held_the_order_and_then_takes_it_back():
    events = [
        dispatch(1, minutes(0), person=7),
        event(1, "resolve", minutes(60)),
        event(1, "reopen", minutes(90)),
        event(1, "rate", minutes(95), verdict="good", score=5),  # nobody holds the order after the reopen
    ]
    facts = {}
    rules.add_order_facts(facts, events, [], start=START, end=END, now=END)
    assert (facts[7].resolved, facts[7].reopened, facts[7].rating_count) == (1, 1, 0)


def test_a_step_late_when_nobody_held_the_order_is_nobodys():
    steps = [StepRow(id=1, order_id=1, step="arrive", due_at=minutes(5), met_at=minutes(30))]
    facts = {}
    rules.add_order_facts(facts, [dispatch(1, minutes(20), person=7)], steps, start=START, end=END, now=END)
    assert facts == {}


def test_a_step_counts_in_the_month_its_fate_was_decided():
    late_in_september = StepRow(
        id=1, order_id=1, step="resolve", due_at=START - dt.timedelta(hours=1), met_at=minutes(0)
    )
    running = StepRow(id=2, order_id=1, step="arrive", due_at=END + dt.timedelta(days=1), met_at=None)
    facts = {}
    rules.add_order_facts(
        facts,
        [dispatch(1, START - dt.timedelta(days=1), 7)],
        [late_in_september, running],
        start=START,
        end=END,
        now=END,
    )
    assert facts == {}


def test_complaint_is_attributed_to_the_latest_matching_work_at_the_same_place_within_the_window():
    window = dt.timedelta(days=14)
    complaint_at = dt.datetime(2026, 10, 20, tzinfo=dt.UTC)

    def resolution(order_id, days_before, category, resolver, room=101):
        return rules.Resolution(
            order_id=order_id,
            number=f"WO{order_id}",
            room_id=room,
            public_area_id=None,
            category=category,
            resolver_id=resolver,
            at=complaint_at - dt.timedelta(days=days_before),
        )

    resolutions = [
        resolution(1, 20, "plumbing", 7),  # too long ago
        resolution(2, 5, "plumbing", 8),
        resolution(3, 2, "electrical", 9),  # another kind of problem
        resolution(4, 1, "plumbing", 10, room=102),  # another room
    ]
    complaint = rules.ComplaintRow(
        order_id=50, number="WO50", room_id=101, public_area_id=None, category="plumbing", submitted_at=complaint_at
    )
    about_service = rules.ComplaintRow(
        order_id=51, number="WO51", room_id=101, public_area_id=None, category="service", submitted_at=complaint_at
    )
    noise = rules.ComplaintRow(
        order_id=52, number="WO52", room_id=101, public_area_id=None, category="noise", submitted_at=complaint_at
    )
    named = rules.ComplaintRow(
        order_id=53,
        number="WO53",
        room_id=None,
        public_area_id=None,
        category="other",
        submitted_at=complaint_at,
        about_order_id=1,
    )
    found = rules.attribute_complaints([complaint, about_service, noise, named], resolutions, window=window)
    assert found[50].resolver_id == 8
    assert found[51].resolver_id == 9  # a complaint about the service follows the latest work of any kind
    assert 52 not in found
    assert found[53].resolver_id == 7  # naming the order beats the window


# ------------------------------------------------------------------------------------------ 服务之星
def test_the_top_score_with_enough_work_is_nominated():
    candidates = [
        Candidate(person_id=1, score=Decimal("99.00"), volume=3),  # too little work
        Candidate(person_id=2, score=Decimal("91.50"), volume=12),
        Candidate(person_id=3, score=Decimal("88.00"), volume=40),
    ]
    assert rules.nominate(candidates, min_volume=10).person_id == 2
    assert rules.nominate(candidates, min_volume=3).person_id == 1


def test_exactly_the_minimum_volume_is_enough():
    assert rules.nominate([Candidate(5, Decimal("80"), 10)], min_volume=10).person_id == 5
    assert rules.nominate([Candidate(5, Decimal("80"), 9)], min_volume=10) is None


def test_a_tie_goes_to_more_work_then_to_the_lower_person_id_whatever_the_order():
    tied = [
        Candidate(person_id=9, score=Decimal("90.00"), volume=20),
        Candidate(person_id=4, score=Decimal("90.00"), volume=20),
        Candidate(person_id=2, score=Decimal("90.00"), volume=15),
    ]
    assert rules.nominate(tied, min_volume=10).person_id == 4
    assert rules.nominate(list(reversed(tied)), min_volume=10).person_id == 4


def test_people_rejected_this_month_are_skipped():
    candidates = [Candidate(1, Decimal("95"), 20), Candidate(2, Decimal("90"), 20)]
    assert rules.nominate(candidates, min_volume=10, excluded=[1]).person_id == 2
    assert rules.nominate(candidates, min_volume=10, excluded=[1, 2]) is None


# ------------------------------------------------------------------------------------------ accountability
def breach(key: str, person: int, at: dt.datetime) -> rules.Breach:
    return rules.Breach(key=key, person_id=person, at=at, order_id=1, number="WO1", step="arrive")


def test_three_uncovered_breaches_in_the_window_open_a_record():
    since = minutes(0)
    breaches = [breach("a", 7, minutes(1)), breach("b", 7, minutes(2)), breach("c", 7, minutes(3))]
    assert [b.key for b in rules.accountability_due(breaches, [], threshold=3, since=since)[7]] == ["a", "b", "c"]


def test_breaches_already_in_a_record_or_before_the_window_do_not_count_again():
    since = minutes(0)
    breaches = [
        breach("old", 7, minutes(-5)),
        breach("a", 7, minutes(1)),
        breach("b", 7, minutes(2)),
        breach("c", 7, minutes(3)),
        breach("x", 8, minutes(1)),
    ]
    assert rules.accountability_due(breaches, ["a"], threshold=3, since=since) == {}
    assert set(rules.accountability_due(breaches, [], threshold=1, since=since)) == {7, 8}


def test_a_step_restarted_by_a_reopen_is_a_new_breach():
    assert rules.breach_key(5, minutes(0)) != rules.breach_key(5, minutes(60))


def test_a_role_names_the_post_of_someone_without_a_staff_profile():
    assert rules.post_for_roles({"technician", "owner"}) == "technician"
    assert rules.post_for_roles({"guard", "supervisor"}) == "guard"
    assert rules.post_for_roles({"owner"}) is None


def test_every_default_weight_set_adds_up_to_100():
    assert all(sum(weights.values()) == 100 for weights in rules.DEFAULT_WEIGHTS.values())
    assert set(rules.DEFAULT_WEIGHTS) == {
        "technician", "electrician", "plumber", "customer_service", "cleaner", "gardener", "guard", "grid_leader",
        "supervisor", "quality_inspector", "project_manager", "administrator",
    }  # fmt: skip
