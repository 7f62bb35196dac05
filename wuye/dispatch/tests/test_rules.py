import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from wuye.dispatch.rules import (
    FORBIDDEN,
    HANDOVER_MINUTES,
    Job,
    LoadBalance,
    Optimiser,
    RoundRobin,
    Technician,
    eligibility,
    eligibility_matrix,
    make_policy,
    min_cost_assignment,
    walk_minutes,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 6, 3, 10, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()
POLICY_CLASSES = (RoundRobin, LoadBalance, Optimiser)


def tech(tech_id: int = 1, **changes) -> Technician:
    base = Technician(
        id=tech_id,
        skills=frozenset({"plumbing", "electrical", "locks"}),
        certificates={"electrician": None},
        estate_ids=frozenset({1}),
        grid_ids=frozenset({1}),
        position=(0, 0),
        on_shift=True,
        on_call=False,
        free_at=NOW,
        open_orders=0,
    )
    return replace(base, **changes)


def job(job_id: int = 1, **changes) -> Job:
    base = Job(
        id=job_id,
        estate_id=1,
        grid_id=1,
        position=(0, 140),
        required_skill="plumbing",
        required_certificate="",
        priority="normal",
        submitted_at=NOW - dt.timedelta(minutes=10),
        arrive_due_at=NOW + dt.timedelta(minutes=230),
        resolve_due_at=NOW + dt.timedelta(hours=20),
        service_minutes=40.0,
    )
    return replace(base, **changes)


def electrical_job(**changes) -> Job:
    return job(required_skill="electrical", required_certificate="electrician", **changes)


def check(result, code):
    return next(check for check in result.checks if check.code == code)


# --- the assignment solver -------------------------------------------------------------------------------------------


def test_the_known_4x4_matrix_has_minimum_total_cost_265():
    cost = np.array([[90, 76, 75, 70], [35, 85, 55, 65], [125, 95, 90, 105], [45, 110, 95, 115]])

    pairs = min_cost_assignment(cost)

    assert sum(cost[row, column] for row, column in pairs) == 265
    assert pairs == [(0, 3), (1, 2), (2, 1), (3, 0)]


def test_forbidden_pairs_are_dropped_rather_than_assigned():
    cost = np.array([[1.0, FORBIDDEN], [np.inf, FORBIDDEN]])

    assert min_cost_assignment(cost) == [(0, 0)]


def test_a_forbidden_pair_is_avoided_even_when_it_would_be_cheaper_overall():
    # Row 1 may only take column 0; the solver must give it column 0 although row 0 wants it too.
    cost = np.array([[1.0, 50.0], [2.0, FORBIDDEN]])

    assert min_cost_assignment(cost) == [(0, 1), (1, 0)]


@pytest.mark.parametrize("shape", [(3, 5), (5, 3)])
def test_rectangular_matrices_place_as_many_pairs_as_the_shorter_side(shape):
    cost = np.arange(shape[0] * shape[1], dtype=float).reshape(shape)

    pairs = min_cost_assignment(cost)

    assert len(pairs) == min(shape)
    assert len({row for row, _ in pairs}) == len({column for _, column in pairs}) == min(shape)


def test_an_empty_matrix_assigns_nothing():
    assert min_cost_assignment(np.zeros((0, 4))) == []


def test_a_matrix_must_have_two_dimensions():
    with pytest.raises(ValueError, match="2-dimensional"):
        min_cost_assignment(np.zeros(3))


# --- walking ---------------------------------------------------------------------------------------------------------


def test_walking_time_is_manhattan_distance_over_speed_plus_the_hand_over():
    assert walk_minutes((0, 0), (140, 70)) == pytest.approx(3 + HANDOVER_MINUTES)
    assert walk_minutes((-100, 50), (100, 50), speed_m_per_min=50) == pytest.approx(4 + HANDOVER_MINUTES)
    assert walk_minutes((10, 10), (10, 10)) == HANDOVER_MINUTES


def test_walking_speed_must_be_positive():
    with pytest.raises(ValueError, match="walking speed"):
        walk_minutes((0, 0), (1, 1), speed_m_per_min=0)


# --- eligibility -----------------------------------------------------------------------------------------------------


def test_an_expired_electrician_certificate_blocks_electrical_work_and_names_the_expiry_date():
    lapsed = tech(certificates={"electrician": dt.date(2026, 5, 20)})

    with translation.override("en"):
        result = eligibility(electrical_job(), lapsed, today=TODAY)

    assert not result.ok
    certificate = check(result, "certificate")
    assert not certificate.passed
    assert "expired on 2026-05-20" in certificate.message
    assert result.failed() == (certificate,)


def test_a_certificate_expiring_today_is_still_valid_today():
    result = eligibility(electrical_job(), tech(certificates={"electrician": TODAY}), today=TODAY)

    assert result.ok
    assert check(result, "certificate").passed


def test_electrical_work_without_the_certificate_at_all_is_blocked():
    with translation.override("en"):
        result = eligibility(electrical_job(), tech(certificates={}), today=TODAY)

    assert not result.ok
    assert "requires" in check(result, "certificate").message


def test_plumbing_work_needs_no_certificate():
    result = eligibility(job(), tech(certificates={}), today=TODAY)

    assert result.ok
    assert check(result, "certificate").passed


def test_a_technician_without_the_skill_is_blocked():
    with translation.override("en"):
        result = eligibility(job(required_skill="lift"), tech(), today=TODAY)

    assert not result.ok
    assert "Lacks the required skill" in check(result, "skill").message


def test_off_shift_blocks_normal_work_even_when_on_call():
    for on_call in (False, True):
        result = eligibility(job(), tech(on_shift=False, on_call=on_call), today=TODAY)

        assert not result.ok
        assert not check(result, "shift").passed


def test_on_call_allows_an_emergency_off_shift():
    with translation.override("en"):
        result = eligibility(job(priority="emergency"), tech(on_shift=False, on_call=True), today=TODAY)

    assert result.ok
    assert "on call" in check(result, "shift").message


def test_off_shift_and_not_on_call_blocks_an_emergency():
    result = eligibility(job(priority="emergency"), tech(on_shift=False, on_call=False), today=TODAY)

    assert not result.ok


def test_a_technician_of_another_estate_is_blocked():
    with translation.override("en"):
        result = eligibility(job(estate_id=2), tech(), today=TODAY)

    assert not result.ok
    assert check(result, "estate").message == "Does not work in this estate."


def test_the_grid_is_a_preferred_check_that_never_blocks():
    same = eligibility(job(grid_id=1), tech(grid_ids=frozenset({1})), today=TODAY)
    other = eligibility(job(grid_id=1), tech(grid_ids=frozenset({2})), today=TODAY)

    assert same.ok and other.ok
    assert check(same, "grid").passed and not check(same, "grid").required
    assert not check(other, "grid").passed and not check(other, "grid").required
    assert other.failed() == ()


def test_every_rule_is_explained_even_when_the_technician_is_eligible():
    result = eligibility(electrical_job(), tech(), today=TODAY)

    assert [c.code for c in result.checks] == ["estate", "skill", "certificate", "shift", "grid"]
    assert all(c.message for c in result.checks)


# --- policies --------------------------------------------------------------------------------------------------------


def crew() -> list[Technician]:
    return [
        tech(1, position=(0, 0), grid_ids=frozenset({1})),
        tech(2, position=(300, 300), grid_ids=frozenset({2}), free_at=NOW + dt.timedelta(minutes=30), open_orders=1),
        tech(3, position=(-200, 100), grid_ids=frozenset({3}), certificates={"electrician": dt.date(2026, 1, 1)}),
        tech(4, position=(100, 400), skills=frozenset({"painting"}), grid_ids=frozenset({1})),
    ]


def queue() -> list[Job]:
    return [
        job(1, position=(0, 100)),
        electrical_job(job_id=2, position=(300, 250), grid_id=2),
        job(3, priority="emergency", position=(-180, 120), grid_id=3, arrive_due_at=NOW + dt.timedelta(minutes=25)),
        job(
            4, required_skill="painting", position=(120, 380), priority="low", arrive_due_at=NOW + dt.timedelta(days=1)
        ),
        job(5, priority="urgent", position=(50, 50), arrive_due_at=NOW + dt.timedelta(minutes=90)),
        job(6, required_skill="lift", required_certificate="lift"),  # nobody can take it
    ]


@pytest.mark.parametrize("policy_class", POLICY_CLASSES)
def test_policies_are_deterministic_for_the_same_input(policy_class):
    first = policy_class().plan(queue(), crew(), now=NOW, today=TODAY)
    shuffled = policy_class().plan(list(reversed(queue())), list(reversed(crew())), now=NOW, today=TODAY)

    assert first == shuffled
    assert first  # something was planned


@pytest.mark.parametrize("policy_class", POLICY_CLASSES)
def test_an_order_nobody_may_take_is_left_unassigned(policy_class):
    plan = policy_class().plan(queue(), crew(), now=NOW, today=TODAY)

    assert 6 not in {assignment.job_id for assignment in plan}


def test_the_optimiser_never_assigns_an_ineligible_technician():
    techs = {t.id: t for t in crew()}
    jobs = {j.id: j for j in queue()}

    plan = Optimiser().plan(list(jobs.values()), list(techs.values()), now=NOW, today=TODAY)

    assert {a.job_id for a in plan} == {1, 2, 3, 4, 5}
    for assignment in plan:
        assert eligibility(jobs[assignment.job_id], techs[assignment.tech_id], today=TODAY).ok
    # The electrical order can only go to technician 1 or 2: technician 3's licence has lapsed.
    assert next(a.tech_id for a in plan if a.job_id == 2) in {1, 2}


def test_an_emergency_goes_to_the_nearest_eligible_technician():
    techs = [
        tech(1, position=(0, 0)),
        tech(2, position=(500, 500)),
        tech(3, position=(-190, 110), skills=frozenset({"painting"})),  # nearest, but cannot do plumbing
        tech(4, position=(-150, 150)),  # nearest suitable
    ]
    emergency = job(9, priority="emergency", position=(-180, 120), arrive_due_at=NOW + dt.timedelta(minutes=30))

    with translation.override("en"):
        plan = Optimiser().plan([job(1, position=(-150, 160)), emergency], techs, now=NOW, today=TODAY)

    chosen = next(a for a in plan if a.job_id == 9)
    assert chosen.tech_id == 4
    assert chosen.dispatch_now
    assert chosen.reasons[0] == "nearest suitable technician for an emergency"


def test_an_emergency_waits_for_a_busy_technician_only_when_that_is_sooner():
    near_but_busy = tech(1, position=(0, 100), free_at=NOW + dt.timedelta(minutes=45), open_orders=1)
    far_but_free = tech(2, position=(400, 400))
    emergency = job(9, priority="emergency", position=(0, 100), arrive_due_at=NOW + dt.timedelta(minutes=30))

    plan = Optimiser().plan([emergency], [near_but_busy, far_but_free], now=NOW, today=TODAY)

    assert [(a.tech_id, a.dispatch_now) for a in plan] == [(2, True)]


def test_the_optimiser_sends_the_order_about_to_breach_first():
    only = tech(1, position=(0, 0))
    relaxed = job(1, position=(0, 70), arrive_due_at=NOW + dt.timedelta(hours=6))
    tight = job(2, position=(0, 700), arrive_due_at=NOW + dt.timedelta(minutes=25))

    plan = Optimiser().plan([relaxed, tight], [only], now=NOW, today=TODAY)

    sent = [a.job_id for a in plan if a.dispatch_now]
    assert sent == [2]
    assert {a.job_id for a in plan} == {1, 2}  # the other order is planned after it, not dropped


def test_the_optimiser_dispatches_now_only_to_technicians_with_nothing_in_hand():
    busy = tech(1, free_at=NOW + dt.timedelta(minutes=5), open_orders=1, position=(0, 140))
    free = tech(2, position=(0, 0))
    jobs = [job(1, position=(0, 140)), job(2, position=(0, 150))]

    plan = Optimiser().plan(jobs, [busy, free], now=NOW, today=TODAY)

    by_tech = {a.tech_id: a for a in plan}
    assert by_tech[2].dispatch_now
    assert not by_tech[1].dispatch_now
    assert len([a for a in plan if a.dispatch_now and a.tech_id == 2]) == 1


def test_the_optimiser_prefers_the_grids_own_staff_when_all_else_is_equal():
    techs = [tech(1, position=(0, 0), grid_ids=frozenset({2})), tech(2, position=(0, 0), grid_ids=frozenset({1}))]

    with translation.override("en"):
        plan = Optimiser().plan([job(1, grid_id=1)], techs, now=NOW, today=TODAY)

    assert plan[0].tech_id == 2
    assert "same grid" in plan[0].reasons


def test_reasons_say_why_this_person():
    with translation.override("en"):
        plan = Optimiser().plan([job(1, position=(0, 140))], [tech(1, position=(0, 0))], now=NOW, today=TODAY)

    assert plan[0].reasons == ("same grid", "4 min walk", "arrives 226 min before due")
    assert plan[0].predicted_arrival == NOW + dt.timedelta(minutes=4)


def test_round_robin_cycles_through_the_eligible_technicians_across_calls():
    techs = [tech(1), tech(2), tech(3, skills=frozenset({"painting"})), tech(4)]
    policy = RoundRobin()

    picked = [policy.plan([job(n)], techs, now=NOW, today=TODAY)[0].tech_id for n in range(1, 8)]

    assert picked == [1, 2, 4, 1, 2, 4, 1]


def test_round_robin_gives_a_batch_to_successive_technicians():
    plan = RoundRobin().plan([job(1), job(2), job(3)], [tech(1), tech(2)], now=NOW, today=TODAY)

    assert [(a.job_id, a.tech_id) for a in plan] == [(1, 1), (2, 2), (3, 1)]
    assert all(a.dispatch_now for a in plan)


def test_load_balance_picks_the_least_loaded_technician():
    techs = [tech(1, open_orders=3), tech(2, open_orders=1), tech(3, open_orders=2)]

    with translation.override("en"):
        plan = LoadBalance().plan([job(1)], techs, now=NOW, today=TODAY)

    assert plan[0].tech_id == 2
    assert plan[0].reasons[0] == "lowest load (1 open orders)"


def test_load_balance_breaks_ties_by_earliest_free_then_id():
    techs = [
        tech(1, open_orders=1, free_at=NOW + dt.timedelta(minutes=40)),
        tech(2, open_orders=1, free_at=NOW + dt.timedelta(minutes=10)),
        tech(3, open_orders=1, free_at=NOW + dt.timedelta(minutes=10)),
    ]

    plan = LoadBalance().plan([job(1), job(2)], techs, now=NOW, today=TODAY)

    # The first order makes technician 2 busier, so the second goes to 3.
    assert [(a.job_id, a.tech_id) for a in plan] == [(1, 2), (2, 3)]


def test_an_unknown_policy_code_is_refused():
    with pytest.raises(ValueError, match="unknown dispatch policy"):
        make_policy("grab")


# --- properties ------------------------------------------------------------------------------------------------------

SKILLS = ["plumbing", "electrical", "lift"]
CERTIFICATE_FOR = {"plumbing": "", "electrical": "electrician", "lift": "lift"}


@st.composite
def technicians(draw):
    count = draw(st.integers(min_value=1, max_value=6))
    crew = []
    for tech_id in range(1, count + 1):
        certificates = {
            kind: draw(st.one_of(st.none(), st.dates(dt.date(2026, 5, 1), dt.date(2026, 7, 1))))
            for kind in draw(st.sets(st.sampled_from(["electrician", "lift"])))
        }
        crew.append(
            Technician(
                id=tech_id,
                skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), min_size=1))),
                certificates=certificates,
                estate_ids=frozenset(draw(st.sets(st.sampled_from([1, 2]), min_size=1))),
                grid_ids=frozenset(draw(st.sets(st.sampled_from([1, 2, 3]), max_size=2))),
                position=(draw(st.integers(-300, 300)), draw(st.integers(0, 500))),
                on_shift=draw(st.booleans()),
                on_call=draw(st.booleans()),
                free_at=NOW + dt.timedelta(minutes=draw(st.integers(-30, 120))),
                open_orders=draw(st.integers(0, 3)),
            )
        )
    return crew


@st.composite
def waiting_jobs(draw):
    count = draw(st.integers(min_value=0, max_value=12))
    jobs = []
    for job_id in range(1, count + 1):
        skill = draw(st.sampled_from(SKILLS))
        due_in = draw(st.integers(-60, 600))
        jobs.append(
            job(
                job_id,
                estate_id=draw(st.sampled_from([1, 2])),
                grid_id=draw(st.sampled_from([None, 1, 2, 3])),
                position=(draw(st.integers(-300, 300)), draw(st.integers(0, 500))),
                required_skill=skill,
                required_certificate=CERTIFICATE_FOR[skill],
                priority=draw(st.sampled_from(["emergency", "urgent", "normal", "low"])),
                arrive_due_at=NOW + dt.timedelta(minutes=due_in),
                resolve_due_at=draw(st.sampled_from([None, NOW + dt.timedelta(minutes=due_in + 240)])),
                service_minutes=draw(st.floats(5, 180)),
            )
        )
    return jobs


@settings(max_examples=150, deadline=None)
@given(jobs=waiting_jobs(), techs=technicians(), policy=st.sampled_from(["round_robin", "load_balance", "optimise"]))
def test_every_assignment_is_eligible_and_no_order_is_assigned_twice(jobs, techs, policy):
    by_job = {j.id: j for j in jobs}
    by_tech = {t.id: t for t in techs}

    plan = make_policy(policy).plan(jobs, techs, now=NOW, today=TODAY)

    assert len({a.job_id for a in plan}) == len(plan)
    for assignment in plan:
        assert eligibility(by_job[assignment.job_id], by_tech[assignment.tech_id], today=TODAY).ok
    # Every order someone may take gets someone.
    matrix = eligibility_matrix(jobs, techs, today=TODAY)
    assert {a.job_id for a in plan} == {j.id for j, row in zip(jobs, matrix, strict=True) if row.any()}
    # The optimiser sends at most one order now to each technician, and only to one with nothing in hand.
    if policy == "optimise":
        sent = [a.tech_id for a in plan if a.dispatch_now]
        assert len(sent) == len(set(sent))
        assert all(by_tech[tech_id].open_orders == 0 for tech_id in sent)


@settings(max_examples=100, deadline=None)
@given(jobs=waiting_jobs(), techs=technicians())
def test_the_eligibility_matrix_agrees_with_the_explained_rules(jobs, techs):
    matrix = eligibility_matrix(jobs, techs, today=TODAY)

    for row, j in enumerate(jobs):
        for column, t in enumerate(techs):
            assert matrix[row, column] == eligibility(j, t, today=TODAY).ok
