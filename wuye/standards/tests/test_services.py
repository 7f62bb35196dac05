"""Seeds, profiles applied to work-order SLA limits with history, plans, idempotent task generation, working on
tasks with evidence, and the window scanner."""

import datetime as dt
from collections import Counter

import pytest
import time_machine
from django.db import IntegrityError, transaction

from wuye.core.errors import Forbidden, ValidationFailed
from wuye.estates.models import Estate
from wuye.standards import services
from wuye.standards.choices import DIMENSION_DISCIPLINE, Dimension, Discipline, Evidence, TaskStatus
from wuye.standards.models import EstateProfile, Plan, ServiceLevelProfile, SopItem, Task, TaskEvent
from wuye.standards.selectors import estate_profile_at, tasks_of_day
from wuye.workorders.choices import Priority, Step
from wuye.workorders.models import SlaTarget, WorkOrderStep
from wuye.workorders.tests import factories as wf

from . import factories as sf
from .factories import NOW, local

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- seeds


def test_profiles_seed_the_three_levels_with_the_national_defaults(cast):
    assert services.profiles_seed(company=cast.company) == 3
    rows = {
        p.code: (p.emergency_arrival_minutes, p.satisfaction_target_pct, p.lights_working_pct)
        for p in ServiceLevelProfile.objects.filter(company=cast.company)
    }
    assert rows == {"level_1": (30, 80, 95), "level_2": (60, 75, 90), "level_3": (120, 70, 80)}
    level_3 = sf.profile(cast, "level_3")
    assert level_3.frequencies["key_area_patrol"] is None  # not contracted at 三级
    assert level_3.name_zh == "三级服务标准" and level_3.name_en == "Level 3 service standard"


def test_seeding_twice_creates_nothing_and_keeps_a_companys_edits(cast):
    sf.seed(cast)
    services.profile_update(actor=None, profile_id=sf.profile(cast).id, values={"satisfaction_target_pct": 85}, now=NOW)
    assert services.profiles_seed(company=cast.company) == 0
    assert services.sop_seed(company=cast.company) == 0
    assert sf.profile(cast).satisfaction_target_pct == 85


def test_the_sop_library_has_at_least_ten_bilingual_items_per_discipline(cast):
    sf.seed(cast)
    items = SopItem.objects.filter(company=cast.company)
    per_discipline = Counter(items.values_list("discipline", flat=True))
    assert set(per_discipline) == set(Discipline.values)
    assert min(per_discipline.values()) >= 10
    for item in items:
        for field in ("title", "standard", "method"):
            chinese, english = getattr(item, f"{field}_zh"), getattr(item, f"{field}_en")
            assert chinese and english and chinese != english, (item.code, field)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), (item.code, field)
            assert not any("\u4e00" <= ch <= "\u9fff" for ch in english), (item.code, field)
        assert item.evidence in Evidence.values
        assert 1 <= item.score_weight <= 10
        assert item.evidence != Evidence.READING or item.reading_unit, item.code


def test_every_profile_frequency_is_carried_out_by_an_sop_item_of_its_discipline(cast):
    sf.seed(cast)
    following = dict(
        SopItem.objects.filter(company=cast.company)
        .exclude(profile_dimension="")
        .values_list("profile_dimension", "discipline")
    )
    assert following == {dimension: str(discipline) for dimension, discipline in DIMENSION_DISCIPLINE.items()}
    for profile in ServiceLevelProfile.objects.filter(company=cast.company):
        assert set(profile.frequencies) == set(Dimension.values)


def test_level_1_sweeps_twice_a_day_and_levels_2_and_3_once(cast):
    sf.seed(cast)
    from wuye.standards import rules

    def per_day(code):
        spec = sf.profile(cast, code).frequencies["road_sweeping"]
        return rules.count_in(rules.parse_schedule(spec), start=local(2026, 11, 2), end=local(2026, 11, 3), tz=sf.SH)

    assert [per_day(code) for code in ("level_1", "level_2", "level_3")] == [2, 1, 1]


# ---------------------------------------------------------------- profiles → work-order SLA


def emergency_arrival_limit(cast, now) -> int:
    order = wf.order(cast, status="accepted", priority=Priority.EMERGENCY, now=now)
    return WorkOrderStep.objects.get(order=order, step=Step.ARRIVE).limit_minutes


def test_choosing_level_2_makes_emergency_arrival_60_minutes_from_then_on(cast):
    wf.seed_catalogue(cast)
    sf.assign(cast, "level_1")
    before = emergency_arrival_limit(cast, NOW)
    assert before == 30
    sf.assign(cast, "level_2", valid_from=NOW + dt.timedelta(hours=1), now=NOW + dt.timedelta(hours=1))
    cast.estate.refresh_from_db()
    assert cast.estate.service_level == "level_2"
    assert emergency_arrival_limit(cast, NOW + dt.timedelta(hours=2)) == 60
    # History: the order opened under 一级 keeps its 30 minutes.
    assert WorkOrderStep.objects.filter(step=Step.ARRIVE, limit_minutes=30).count() == 1


def test_a_company_editing_its_profile_moves_the_limit_of_new_orders_only(cast):
    wf.seed_catalogue(cast)
    sf.assign(cast, "level_1")
    old = wf.order(cast, status="accepted", priority=Priority.EMERGENCY, now=NOW)
    services.profile_update(
        actor=None, profile_id=sf.profile(cast).id, values={"emergency_arrival_minutes": 25}, now=NOW
    )
    assert emergency_arrival_limit(cast, NOW + dt.timedelta(minutes=5)) == 25
    assert WorkOrderStep.objects.get(order=old, step=Step.ARRIVE).limit_minutes == 30
    # Another company's targets are untouched.
    other_policy_limits = SlaTarget.objects.filter(
        policy__company=cast.other_company, service_level="level_1", priority="emergency", step="arrive"
    ).values_list("limit_minutes", flat=True)
    assert list(other_policy_limits) == [30]


def test_editing_a_profile_keeps_the_values_that_applied_before_the_edit(cast):
    from wuye.standards.models import EstateProfile
    from wuye.standards.selectors import effective_values, estate_profile_at

    sf.assign(cast, "level_1", overrides={"lights_working_pct": 97})
    week_ago = NOW - dt.timedelta(days=7)
    before = estate_profile_at(cast.estate.id, week_ago)
    patrol = {"kind": "daily", "windows": [{"start": "00:00", "end": "24:00"}], "every_minutes": 30}
    edited_at = NOW + dt.timedelta(hours=1)
    services.profile_update(
        actor=None,
        profile_id=sf.profile(cast).id,
        values={"emergency_arrival_minutes": 25, "frequencies": {"key_area_patrol": patrol}},
        now=edited_at,
    )
    then = effective_values(estate_profile_at(cast.estate.id, week_ago))
    now = effective_values(estate_profile_at(cast.estate.id, edited_at + dt.timedelta(minutes=1)))
    assert estate_profile_at(cast.estate.id, week_ago).id == before.id
    assert then["emergency_arrival_minutes"] == 30 and then["frequencies"]["key_area_patrol"]["every_minutes"] == 60
    assert now["emergency_arrival_minutes"] == 25 and now["frequencies"]["key_area_patrol"]["every_minutes"] == 30
    # The contract's own value carries over to the row the estate continues under.
    assert then["lights_working_pct"] == now["lights_working_pct"] == 97
    rows = EstateProfile.objects.filter(estate=cast.estate).order_by("valid_from")
    assert [(row.valid_from == edited_at, row.profile_values is None) for row in rows] == [(False, False), (True, True)]
    # A second edit freezes the row in force since the first one, not the first one again.
    services.profile_update(
        actor=None, profile_id=sf.profile(cast).id, values={"emergency_arrival_minutes": 20}, now=edited_at
    )
    assert effective_values(estate_profile_at(cast.estate.id, week_ago))["emergency_arrival_minutes"] == 30


def test_a_contract_override_of_an_sla_limit_holds_for_that_estate_only_and_can_be_dropped(cast):
    from wuye.testing import factories
    from wuye.workorders import services as workorder_services

    wf.seed_catalogue(cast)
    sf.seed(cast)
    level_1 = sf.profile(cast, "level_1")
    applied = services.profile_apply_to_sla(
        estate=cast.estate, profile=level_1, now=NOW, overrides={"emergency_arrival_minutes": 20}
    )
    assert applied.level == "level_1"
    assert applied.targets_written == 2  # emergency and normal arrival on the "repairs" policy
    assert applied.estate_overrides == {"emergency_arrival_minutes": 20}
    assert emergency_arrival_limit(cast, NOW) == 20
    # A sibling estate of the same company on the same level keeps the profile's 30 minutes.
    sibling = factories.EstateFactory(company=cast.company, name="锦绣家园", code="jinxiu", service_level="level_1")
    order = wf.order(cast, status="accepted", priority=Priority.EMERGENCY, now=NOW)
    order.estate = sibling
    targets = order.category.sla_policy.targets.all()
    assert workorder_services._pick_target(targets, order, Step.ARRIVE).limit_minutes == 30
    # The next contract without the override brings the profile's limit back for new orders.
    services.profile_apply_to_sla(estate=cast.estate, profile=level_1, now=NOW, overrides={})
    assert not SlaTarget.objects.filter(estate=cast.estate).exists()
    assert emergency_arrival_limit(cast, NOW + dt.timedelta(hours=1)) == 30


def test_a_profile_of_another_company_is_refused(cast):
    sf.seed(cast)
    with pytest.raises(ValidationFailed) as refusal:
        services.estate_profile_assign(
            actor=None,
            estate=cast.estate,
            profile=sf.profile(cast, company=cast.other_company),
            valid_from=NOW,
            now=NOW,
        )
    assert [e.field for e in refusal.value.errors] == ["profile_id"]


def test_history_only_grows_and_bad_overrides_are_named(cast):
    sf.assign(cast, "level_1")
    with pytest.raises(ValidationFailed) as refusal:
        sf.assign(
            cast,
            "level_2",
            valid_from=sf.CONTRACT_START,
            overrides={"emergency_arrival_minutes": 0, "frequencies": {"road_sweeping": {"kind": "x"}}},
        )
    assert {(e.field, e.code) for e in refusal.value.errors} == {
        ("valid_from", "not_after_latest"),
        ("overrides.emergency_arrival_minutes", "out_of_range"),
        ("overrides.frequencies.road_sweeping.kind", "invalid_choice"),
    }
    assert EstateProfile.objects.count() == 1


def test_the_profile_in_force_at_any_moment_is_kept(cast):
    first = sf.assign(cast, "level_1")
    switch = local(2026, 12, 1)
    second = sf.assign(cast, "level_2", valid_from=switch, now=NOW)
    assert second.applied_at is None  # entered ahead of its contract date
    assert estate_profile_at(cast.estate.id, switch - dt.timedelta(seconds=1)) == first
    assert estate_profile_at(cast.estate.id, switch) == second
    assert estate_profile_at(cast.estate.id, sf.CONTRACT_START - dt.timedelta(days=1)) is None


def test_a_future_contract_is_applied_by_the_periodic_job_when_it_starts(cast):
    wf.seed_catalogue(cast)
    sf.assign(cast, "level_1")
    switch = local(2026, 12, 1)
    sf.assign(cast, "level_3", valid_from=switch, now=NOW)
    assert services.profiles_activate_due(now=switch - dt.timedelta(minutes=1)) == 0
    cast.estate.refresh_from_db()
    assert cast.estate.service_level == "level_1"
    assert services.profiles_activate_due(now=switch) == 1
    assert services.profiles_activate_due(now=switch + dt.timedelta(minutes=10)) == 0
    cast.estate.refresh_from_db()
    assert cast.estate.service_level == "level_3"


# ---------------------------------------------------------------- plans


def test_a_plan_needs_one_schedule_source_items_and_someone(cast):
    sf.seed(cast)
    with pytest.raises(ValidationFailed) as refusal:
        services.plan_create(
            actor=None,
            new=services.NewPlan(
                estate=cast.estate,
                name="",
                discipline="cleaning",
                schedule={"kind": "daily", "windows": []},
                profile_dimension="road_sweeping",
            ),
        )
    assert {e.field for e in refusal.value.errors} == {"name", "schedule", "sop_items", "assignee_id"}


def test_a_plan_refuses_another_companys_sop_item_and_a_bad_schedule(cast):
    sf.seed(cast)
    foreign = SopItem.objects.get(company=cast.other_company, code="cln-lobby")
    with pytest.raises(ValidationFailed) as refusal:
        services.plan_create(
            actor=None,
            new=services.NewPlan(
                estate=cast.estate,
                name="外司",
                discipline="cleaning",
                sop_items=[foreign],
                schedule={"kind": "monthly", "days": [0], "windows": [{"start": "09:00", "end": "10:00"}]},
                assignee=cast.stranger_supervisor,
            ),
        )
    assert {(e.field, e.code) for e in refusal.value.errors} == {
        ("sop_items", "not_found"),
        ("schedule.days[0]", "out_of_range"),
        ("assignee_id", "not_found"),
    }


# ---------------------------------------------------------------- generation


def test_generation_is_idempotent(cast):
    plan = sf.plan(cast)  # lobby: 07:00–09:00 and 14:00–16:00 every day; NOW is 08:00
    created = services.tasks_generate(plan=plan, now=NOW, horizon_days=7)
    # Today's open morning window and the afternoon, six more days, and the eighth morning (07:00 < 08:00 + 7 days).
    assert created == Task.objects.filter(plan=plan).count() == 15
    assert services.tasks_generate(plan=plan, now=NOW, horizon_days=7) == 0
    assert services.tasks_generate(now=NOW, horizon_days=7) == 0
    assert Task.objects.filter(plan=plan).count() == 15


def test_a_day_later_only_the_new_days_windows_are_added(cast):
    plan = sf.plan(cast)
    services.tasks_generate(plan=plan, now=NOW, horizon_days=7)
    assert services.tasks_generate(plan=plan, now=NOW + dt.timedelta(days=1), horizon_days=7) == 2
    starts = list(Task.objects.filter(plan=plan).values_list("window_start", flat=True))
    assert len(starts) == len(set(starts)) == 17


def test_the_database_refuses_a_second_task_for_the_same_window(cast):
    plan = sf.plan(cast)
    services.tasks_generate(plan=plan, now=NOW, horizon_days=1)
    first = Task.objects.filter(plan=plan).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(
            plan=plan,
            estate=cast.estate,
            window_start=first.window_start,
            window_end=first.window_end,
            grace_until=first.grace_until,
        )


def test_windows_already_closed_are_not_generated_but_the_open_one_is(cast):
    plan = sf.tick_plan(cast)  # 07:00–09:00 daily
    services.tasks_generate(plan=plan, now=local(2026, 11, 27, 8, 30), horizon_days=1)
    assert list(Task.objects.filter(plan=plan).values_list("window_start", flat=True)) == [
        local(2026, 11, 27, 7),
        local(2026, 11, 28, 7),
    ]
    later = sf.tick_plan(cast, name="迟到的计划")
    services.tasks_generate(plan=later, now=local(2026, 11, 27, 9, 0), horizon_days=1)
    assert list(Task.objects.filter(plan=later).values_list("window_start", flat=True)) == [local(2026, 11, 28, 7)]


def test_plan_dates_bound_generation(cast):
    plan = sf.plan(cast, starts_on=dt.date(2026, 11, 28), ends_on=dt.date(2026, 11, 29))
    services.tasks_generate(plan=plan, now=NOW, horizon_days=7)
    days = {t.window_start.astimezone(sf.SH).date() for t in Task.objects.filter(plan=plan)}
    assert days == {dt.date(2026, 11, 28), dt.date(2026, 11, 29)}


def test_tasks_of_a_profile_plan_follow_the_profile_in_force_at_each_window(cast):
    first = sf.assign(cast, "level_1")
    switch = local(2026, 11, 29)
    second = sf.assign(cast, "level_2", valid_from=switch, now=NOW)
    plan = sf.plan(
        cast, name="道路清扫", items=("cln-road-sweep",), profile_dimension="road_sweeping", assignee_role="cleaner"
    )
    services.tasks_generate(plan=plan, now=local(2026, 11, 27), horizon_days=4)
    per_day = Counter()
    profile_of_day = {}
    for task in Task.objects.filter(plan=plan):
        day = task.window_start.astimezone(sf.SH).date()
        per_day[day] += 1
        profile_of_day[day] = task.estate_profile_id
    assert per_day == {
        dt.date(2026, 11, 27): 2,
        dt.date(2026, 11, 28): 2,
        dt.date(2026, 11, 29): 1,
        dt.date(2026, 11, 30): 1,
    }
    assert profile_of_day[dt.date(2026, 11, 28)] == first.id
    assert profile_of_day[dt.date(2026, 11, 30)] == second.id


def test_changing_the_profile_regenerates_future_unstarted_tasks_and_keeps_the_past(cast):
    sf.assign(cast, "level_1")
    plan = sf.plan(
        cast, name="道路清扫", items=("cln-road-sweep",), profile_dimension="road_sweeping", assignee_role="cleaner"
    )
    services.tasks_generate(plan=plan, now=local(2026, 11, 27, 5), horizon_days=3)
    morning = Task.objects.get(plan=plan, window_start=local(2026, 11, 27, 6))
    change = local(2026, 11, 27, 10)
    sf.assign(cast, "level_3", valid_from=change, now=change)
    starts = sorted(Task.objects.filter(plan=plan).values_list("window_start", flat=True))
    assert morning.window_start in starts  # before the change: kept
    assert local(2026, 11, 27, 13, 30) not in starts  # 一级's afternoon sweep after the change: dropped
    assert local(2026, 11, 28, 6) in starts and local(2026, 11, 28, 13, 30) not in starts


def test_a_level_without_key_area_patrol_generates_no_patrol_tasks(cast):
    sf.assign(cast, "level_3")
    plan = sf.plan(
        cast,
        name="重点部位巡查",
        items=("sec-key-area-patrol",),
        profile_dimension="key_area_patrol",
        assignee_role="guard",
    )
    assert services.tasks_generate(plan=plan, now=NOW, horizon_days=3) == 0


def test_an_hourly_patrol_gives_24_tasks_a_day_at_level_1(cast):
    sf.assign(cast, "level_1")
    plan = sf.plan(
        cast,
        name="重点部位巡查",
        items=("sec-key-area-patrol",),
        profile_dimension="key_area_patrol",
        assignee_role="guard",
    )
    services.tasks_generate(plan=plan, now=local(2026, 11, 27, 0, 0), horizon_days=1)
    assert Task.objects.filter(plan=plan, window_start__lt=local(2026, 11, 28)).count() == 24


# ---------------------------------------------------------------- working on tasks


def test_starting_and_finishing_with_the_evidence_writes_two_events(cast):
    task = sf.task(cast)
    services.task_act(actor=cast.technician, task_id=task.id, action="start", now=NOW)
    done = services.task_act(
        actor=cast.technician,
        task_id=task.id,
        action="finish",
        evidence={"cln-stairwell": {"tick": True, "note": "三楼有杂物已清"}},
        now=NOW + dt.timedelta(minutes=20),
    )
    assert done.status == TaskStatus.DONE
    assert done.evidence == {"cln-stairwell": {"evidence": "tick", "tick": True, "note": "三楼有杂物已清"}}
    assert list(TaskEvent.objects.filter(task=task).values_list("action", "from_status", "to_status")) == [
        ("start", "pending", "in_progress"),
        ("finish", "in_progress", "done"),
    ]
    assert TaskEvent.objects.get(task=task, action="finish").payload == {"on_time": True}


def test_finishing_without_the_evidence_the_sop_demands_is_refused_per_item(cast):
    plan_items = ("eng-pump-room", "cln-lobby", "cln-stairwell")

    def three_items(cast, **extra):
        extra["schedule"] = {"kind": "daily", "windows": [{"start": "07:00", "end": "09:00"}]}
        return sf.plan(cast, items=plan_items, **extra)

    task = sf.task(cast, plan_maker=three_items)
    with pytest.raises(ValidationFailed) as refusal:
        services.task_act(
            actor=cast.technician,
            task_id=task.id,
            action="finish",
            evidence={"eng-pump-room": {"reading": "ok"}, "cln-stairwell": {"tick": False}},
            now=NOW,
        )
    assert {(e.field, e.code) for e in refusal.value.errors} == {
        ("evidence.eng-pump-room", "reading_required"),
        ("evidence.cln-lobby", "photo_required"),
        ("evidence.cln-stairwell", "tick_required"),
    }
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING and not TaskEvent.objects.filter(task=task).exists()
    from wuye.core.images import clean_image

    services.task_photos_add(
        actor=cast.technician, task_id=task.id, item="cln-lobby", photos=[clean_image(sf.png_bytes())], now=NOW
    )
    done = services.task_act(
        actor=cast.technician,
        task_id=task.id,
        action="finish",
        evidence={"eng-pump-room": {"reading": 0.35}, "cln-stairwell": {"tick": True}},
        now=NOW,
    )
    assert done.evidence["eng-pump-room"] == {"evidence": "reading", "reading": 0.35, "unit": "MPa"}
    assert done.evidence["cln-lobby"] == {"evidence": "photo", "photos": 1}


def test_someone_elses_task_is_refused(cast):
    task = sf.task(cast)
    with pytest.raises(Forbidden):
        services.task_act(actor=cast.supervisor, task_id=task.id, action="start", now=NOW)


def test_a_role_pool_task_is_taken_by_the_first_to_start_it(cast):
    cleaner = sf.cleaner(cast)
    task = sf.task(cast, assignee_role="cleaner")
    assert task.assignee_id is None
    assert [t.id for t in tasks_of_day(cleaner, day=NOW.date())] == [task.id]
    services.task_act(actor=cleaner, task_id=task.id, action="start", now=NOW)
    task.refresh_from_db()
    assert task.assignee_id == cleaner.id
    other_cleaner = sf.factories.UserFactory(username="cleaner2")
    sf.account_services.membership_ensure(user=other_cleaner, estate=cast.estate, role="cleaner")
    with pytest.raises(Forbidden):
        services.task_act(actor=other_cleaner, task_id=task.id, action="finish", now=NOW)
    assert list(tasks_of_day(other_cleaner, day=NOW.date())) == []


def test_a_window_days_away_cannot_be_worked_on_yet(cast):
    plan = sf.tick_plan(cast)
    services.tasks_generate(plan=plan, now=NOW, horizon_days=3)
    tomorrow = Task.objects.get(plan=plan, window_start=local(2026, 11, 28, 7))
    with pytest.raises(services.InvalidTaskMove):
        services.task_act(actor=cast.technician, task_id=tomorrow.id, action="start", now=NOW)


# ---------------------------------------------------------------- closing windows


def test_closing_windows_marks_late_then_missed_once_each(cast):
    task = sf.task(cast)  # window 07:00–09:00, grace 2 h
    assert services.tasks_close_windows(now=local(2026, 11, 27, 8, 59)) == (0, 0)
    assert services.tasks_close_windows(now=local(2026, 11, 27, 9, 0)) == (1, 0)
    assert services.tasks_close_windows(now=local(2026, 11, 27, 9, 30)) == (0, 0)
    assert services.tasks_close_windows(now=local(2026, 11, 27, 11, 0)) == (0, 1)
    task.refresh_from_db()
    assert task.status == TaskStatus.MISSED
    assert list(TaskEvent.objects.filter(task=task).values_list("action", flat=True)) == ["overdue", "miss"]


def test_a_late_task_can_still_be_finished_and_is_recorded_as_not_on_time(cast):
    task = sf.task(cast, status="late")
    done = services.task_act(
        actor=cast.technician,
        task_id=task.id,
        action="finish",
        evidence=sf.evidence_for(task),
        now=local(2026, 11, 27, 9, 30),
    )
    assert done.status == TaskStatus.DONE
    assert TaskEvent.objects.get(task=task, action="finish").payload == {"on_time": False}


def test_the_periodic_jobs_are_registered():
    from wuye.core.scheduler import _registry

    assert {"standards.generate_tasks", "standards.close_windows", "standards.activate_profiles"} <= set(_registry)


def test_the_close_windows_job_uses_the_clock(cast):
    from wuye.standards import tasks as jobs

    task = sf.task(cast)
    with time_machine.travel(local(2026, 11, 27, 9, 1), tick=False):
        result = jobs.close_windows.enqueue()
    assert result.return_value == {"late": 1, "missed": 0}
    task.refresh_from_db()
    assert task.status == TaskStatus.LATE


def test_the_generate_job_fills_the_horizon_from_the_clock(cast):
    from wuye.standards import tasks as jobs

    plan = sf.tick_plan(cast)
    with time_machine.travel(NOW, tick=False):
        jobs.generate_tasks.enqueue()
    assert Task.objects.filter(plan=plan).count() == services.DEFAULT_HORIZON_DAYS + 1


# ---------------------------------------------------------------- demo


def test_seed_standards_gives_each_estate_its_level_plans_tasks_and_a_played_out_history(cast):
    wf.seed_catalogue(cast)
    cast.estate.contract_starts_on = dt.date(2026, 1, 1)
    cast.estate.save(update_fields=["contract_starts_on"])
    second = Estate.objects.create(company=cast.company, name="二期", code="phase-2", service_level="level_2")
    counts = services.seed_standards(company=cast.company, estates=[cast.estate, second], now=NOW, history_days=7)
    assert counts["profiles"] == 3 and counts["sop_items"] >= 40
    assert counts["plans"] == 2 * SopItem.objects.filter(company=cast.company).count()
    assert counts["tasks"] > 0 and counts["history"] > 0
    assert estate_profile_at(second.id, NOW).profile.code == "level_2"
    assert estate_profile_at(cast.estate.id, NOW).valid_from == local(2026, 1, 1)
    past = Task.objects.filter(estate=cast.estate, window_end__lte=NOW)
    assert set(past.values_list("status", flat=True)) <= {TaskStatus.DONE, TaskStatus.MISSED}
    assert past.filter(status=TaskStatus.MISSED).exists() and past.filter(status=TaskStatus.DONE).exists()
    again = services.seed_standards(company=cast.company, estates=[cast.estate, second], now=NOW, history_days=7)
    assert again == {"profiles": 0, "sop_items": 0, "plans": 0, "tasks": 0, "history": 0}
    assert Plan.objects.filter(estate=second).count() == counts["plans"] // 2
