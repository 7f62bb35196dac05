"""The monthly contracted-vs-achieved report and the quality roll-ups, on records made for October 2026 (the cast's
estate at 一级 from January): each line's target from the service level, what the month's records achieved, and
the verdict; a change of level mid-month; the Excel export; a fixed number of queries."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from wuye.inspections import reports, selectors, services
from wuye.inspections.choices import AchievedStatus, InspectionKind, InspectionStatus, OrderRule, RoundStatus
from wuye.inspections.models import Inspection, InspectionItem, Round, Route
from wuye.standards.choices import TaskStatus
from wuye.standards.models import Task
from wuye.standards.tests import factories as sf
from wuye.workorders import services as workorder_services
from wuye.workorders.choices import Action, Kind
from wuye.workorders.models import WorkOrderEvent

from . import factories as pf
from .factories import NOW, local

pytestmark = pytest.mark.django_db

OCTOBER = (2026, 10)


def hourly_windows(first_day: int = 1, last_day: int = 31):
    return [
        (local(2026, 10, day, hour), local(2026, 10, day, hour) + dt.timedelta(hours=1))
        for day in range(first_day, last_day + 1)
        for hour in range(24)
    ]


def patrol_rounds(cast, windows):
    route = Route.objects.create(
        estate=cast.estate, name="历史巡更", order_rule=OrderRule.ANY, profile_dimension="key_area_patrol"
    )
    Round.objects.bulk_create(
        Round(
            route=route,
            estate=cast.estate,
            window_start=start,
            window_end=end,
            order_rule=OrderRule.ANY,
            status=RoundStatus.COMPLETE,
            completed_at=start + dt.timedelta(minutes=40),
            closed_at=end,
        )
        for start, end in windows
    )


def done_tasks(cast, plan, starts, hours=2):
    Task.objects.bulk_create(
        Task(
            plan=plan,
            estate=cast.estate,
            window_start=start,
            window_end=start + dt.timedelta(hours=hours),
            grace_until=start + dt.timedelta(hours=hours + 2),
            status=TaskStatus.DONE,
            done_at=start + dt.timedelta(minutes=30),
            done_by=cast.technician,
        )
        for start in starts
    )


def report(cast, now=NOW):
    return selectors.achieved_month(cast.estate, year=OCTOBER[0], month=OCTOBER[1], now=now)


def line(result, code):
    return next(line for line in result.lines if line.code == code)


def test_patrol_frequency_target_is_every_hour_of_the_month_and_needs_95_percent(cast):
    sf.assign(cast, "level_1")
    windows = hourly_windows()
    patrol_rounds(cast, windows[:706])
    patrol = line(report(cast), "key_area_patrol")
    assert (patrol.target_value, patrol.achieved_value, patrol.status) == (744, 706, AchievedStatus.FAIL)
    patrol_rounds_more = windows[706:707]
    Round.objects.bulk_create(
        Round(
            route=Route.objects.get(),
            estate=cast.estate,
            window_start=start,
            window_end=end,
            order_rule=OrderRule.ANY,
            status=RoundStatus.COMPLETE,
            completed_at=start + dt.timedelta(minutes=1),
        )
        for start, end in patrol_rounds_more
    )
    assert line(report(cast), "key_area_patrol").status == AchievedStatus.PASS  # 707 = ⌈744 × 95 %⌉


def test_a_round_completed_outside_the_contracted_window_does_not_count(cast):
    sf.assign(cast, "level_1")
    route = Route.objects.create(
        estate=cast.estate,
        name="错时",
        order_rule=OrderRule.ANY,
        schedule={"kind": "daily", "windows": [{"start": "00:00", "end": "24:00"}]},
    )
    Round.objects.create(
        route=route,
        estate=cast.estate,
        window_start=local(2026, 10, 1, 0),
        window_end=local(2026, 10, 2, 0),
        order_rule=OrderRule.ANY,
        status=RoundStatus.COMPLETE,
        completed_at=local(2026, 10, 1, 13, 30),
    )
    assert line(report(cast), "key_area_patrol").achieved_value == 1  # covers the 13:00 slot only


def test_cleaning_frequencies_count_done_tasks_of_plans_following_the_level(cast):
    sf.assign(cast, "level_1")
    garbage = sf.plan(
        cast, name="垃圾清运", items=("cln-garbage",), profile_dimension="garbage_clearance", assignee_role="cleaner"
    )
    starts = [local(2026, 10, day, hour) for day in range(1, 32) for hour in (7, 16)]
    done_tasks(cast, garbage, starts[:59])
    result = report(cast)
    assert (line(result, "garbage_clearance").target_value, line(result, "garbage_clearance").status) == (
        62,
        AchievedStatus.PASS,
    )
    assert (line(result, "road_sweeping").achieved_value, line(result, "road_sweeping").status) == (
        0,
        AchievedStatus.FAIL,
    )
    glass = line(result, "glass_cleaning")
    assert glass.target_value == 4  # the Tuesdays of October 2026: 6, 13, 20, 27


def test_a_change_of_level_mid_month_is_followed_window_by_window(cast):
    sf.assign(cast, "level_1")
    sf.assign(cast, "level_3", valid_from=local(2026, 10, 16))
    result = report(cast)
    assert line(result, "key_area_patrol").target_value == 15 * 24  # level 3 contracts no key-area patrol
    assert line(result, "building_check").target_value == 15 + 2  # daily to the 15th, then Mondays 19 and 26
    assert result.profile_names == ["一级服务标准", "三级服务标准"]


def emergency_order(cast, submitted, arrived):
    order, _created = workorder_services.workorder_create(
        actor=cast.service_agent,
        new=workorder_services.NewOrder(
            estate=cast.estate,
            kind=Kind.REPAIR_HOME,
            category=cast.company.categories.get(code="plumbing"),
            description="水管爆裂",
            room=cast.room,
            priority="emergency",
        ),
        now=submitted,
    )
    for action, params, at in (
        ("accept", {}, submitted),
        ("dispatch", {"assignee_id": cast.technician.id}, submitted),
        ("take", {}, submitted),
        ("arrive", {}, arrived),
    ):
        workorder_services.workorder_act(actor=None, order_id=order.id, action=action, params=params, now=at)
    return order


def test_emergency_arrival_is_judged_from_the_arrival_steps(cast):
    workorder_services.catalogue_seed(company=cast.company)
    sf.assign(cast, "level_1")
    emergency_order(cast, local(2026, 10, 3, 10), local(2026, 10, 3, 10, 20))
    emergency_order(cast, local(2026, 10, 9, 22), local(2026, 10, 9, 22, 45))
    arrival = line(report(cast), "emergency_arrival")
    assert arrival.target_value == 30
    assert (arrival.achieved_value, arrival.status) == (0.5, AchievedStatus.FAIL)
    assert "1" in arrival.achieved and "2" in arrival.achieved


def test_no_emergency_orders_is_no_data_not_a_failure(cast):
    sf.assign(cast, "level_1")
    assert line(report(cast), "emergency_arrival").status == AchievedStatus.NO_DATA


def rating(cast, order, at, score):
    WorkOrderEvent.objects.create(order=order, action=Action.RATE, at=at, payload={"score": score, "verdict": "good"})


def test_satisfaction_is_the_share_of_four_and_five_star_ratings_against_the_target(cast):
    workorder_services.catalogue_seed(company=cast.company)
    sf.assign(cast, "level_1")  # target 80 %
    order = emergency_order(cast, local(2026, 10, 3, 10), local(2026, 10, 3, 10, 20))
    for score in (5, 5, 4, 4, 3):
        rating(cast, order, local(2026, 10, 5), score)
    satisfaction = line(report(cast), "satisfaction")
    assert (satisfaction.achieved_value, satisfaction.status) == (0.8, AchievedStatus.PASS)
    rating(cast, order, local(2026, 10, 6), 2)
    assert line(report(cast), "satisfaction").status == AchievedStatus.FAIL


def submitted_inspection(cast, at, **items):
    inspection = Inspection.objects.create(
        estate=cast.estate,
        kind=InspectionKind.ROUTINE,
        discipline="engineering",
        title="楼道灯检查",
        status=InspectionStatus.SUBMITTED,
        submitted_at=at,
        inspector=cast.technician,
    )
    for position, (code, values) in enumerate(items.items(), start=1):
        InspectionItem.objects.create(
            inspection=inspection, position=position, code=code.replace("_", "-"), title=code, **values
        )
    return inspection


def test_lights_working_is_the_mean_reading_against_the_level(cast):
    sf.assign(cast, "level_1")  # 95 %
    submitted_inspection(cast, local(2026, 10, 2), eng_lights={"reading": 97.0, "result": "pass"})
    submitted_inspection(cast, local(2026, 10, 9), eng_lights={"reading": 94.0, "result": "fail"})
    lights = line(report(cast), "lights_working")
    assert (lights.achieved_value, lights.status) == (95.5, AchievedStatus.PASS)


def test_rectifications_done_by_their_deadline(cast):
    sf.assign(cast, "level_1")
    due = local(2026, 10, 10, 12)
    submitted_inspection(
        cast,
        local(2026, 10, 10, 8),
        eng_roof={"result": "fail", "rectify_due_at": due, "rectified_at": due - dt.timedelta(hours=1)},
        eng_drains={"result": "fail", "rectify_due_at": due, "rectified_at": due + dt.timedelta(hours=1)},
    )
    rectification = line(report(cast), "rectification")
    assert (rectification.achieved_value, rectification.status) == (0.5, AchievedStatus.FAIL)


def test_patrol_checkpoints_on_time_count_every_expected_checkpoint_of_closed_rounds(cast):
    sf.assign(cast, "level_1")
    points = pf.checkpoints(cast)
    route = pf.route(cast, points=points, now=local(2026, 10, 1, 7))
    round_ = Round.objects.get(route=route, window_start=local(2026, 10, 1, 8))
    guard = pf.guard(cast)
    for minutes, point in ((5, points[0]), (10, points[1])):
        services.round_scan(actor=guard, round_id=round_.id, code=pf.code(point), now=local(2026, 10, 1, 8, minutes))
    services.rounds_close(now=local(2026, 10, 1, 21))
    checkpoints = line(report(cast), "patrol_checkpoints")
    # Two windows closed on the 1st (08:00 and 20:00): 6 checkpoints expected, 2 passed.
    assert checkpoints.achieved_value == pytest.approx(2 / 6)
    assert checkpoints.status == AchievedStatus.FAIL


def test_the_report_costs_the_same_queries_for_more_records(cast):
    sf.assign(cast, "level_1")
    patrol_rounds(cast, hourly_windows(1, 2))
    with CaptureQueriesContext(connection) as before:
        report(cast)
    patrol_rounds_extra = hourly_windows(3, 20)
    route = Route.objects.get()
    Round.objects.bulk_create(
        Round(
            route=route,
            estate=cast.estate,
            window_start=s,
            window_end=e,
            order_rule="any",
            status="complete",
            completed_at=s,
        )
        for s, e in patrol_rounds_extra
    )
    with CaptureQueriesContext(connection) as after:
        report(cast)
    assert len(after) == len(before)


def test_the_excel_export_has_one_row_per_line_with_the_verdict(cast):
    sf.assign(cast, "level_1")
    patrol_rounds(cast, hourly_windows())
    result = report(cast)
    book = load_workbook(io.BytesIO(reports.achieved_xlsx(result)))
    sheet = book.active
    rows = list(sheet.iter_rows(min_row=5, values_only=True))
    assert len(rows) == len(result.lines)
    assert rows[0][0] == "重点部位巡查" or rows[0][0] == "Key-area patrol"
    assert rows[0][3] in ("达标", "Met")


# -------------------------------------------------------------------------------------------------------- quality


def test_spot_check_scores_roll_up_per_estate_grid_discipline_and_person(cast):
    def check(discipline, score, subject, grid=None, failed=0):
        inspection = Inspection.objects.create(
            estate=cast.estate,
            kind=InspectionKind.SPOT_CHECK,
            discipline=discipline,
            title="核查",
            status=InspectionStatus.SUBMITTED,
            submitted_at=local(2026, 10, 12),
            score=Decimal(score),
            subject=subject,
            grid=grid,
            inspector=cast.supervisor,
        )
        for position in range(failed):
            InspectionItem.objects.create(
                inspection=inspection, position=position + 1, code="x", title="x", result="fail"
            )

    check("cleaning", "80", cast.technician, cast.grid, failed=1)
    check("cleaning", "100", cast.technician, cast.grid)
    check("security", "60", cast.service_agent, None, failed=2)
    rollup = selectors.quality_rollup(cast.supervisor, start=local(2026, 10, 1), end=local(2026, 11, 1))
    assert rollup.checks == 3
    by_discipline = {row.key: (row.checks, row.average, row.failed_items) for row in rollup.by["discipline"]}
    assert by_discipline == {"cleaning": (2, Decimal("90.0"), 1), "security": (1, Decimal("60.0"), 2)}
    by_person = {row.key: row.average for row in rollup.by["person"]}
    assert by_person == {cast.technician.id: Decimal("90.0"), cast.service_agent.id: Decimal("60.0")}
    assert [row.average for row in rollup.by["estate"]] == [Decimal("80.0")]
    assert {row.key for row in rollup.by["grid"]} == {cast.grid.id, None}
    # The worst first, so the page opens on what needs attention.
    assert rollup.by["discipline"][0].key == "security"
    # Another company's supervisor sees none of it.
    assert (
        selectors.quality_rollup(cast.stranger_supervisor, start=local(2026, 10, 1), end=local(2026, 11, 1)).checks == 0
    )
