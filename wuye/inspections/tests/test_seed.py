"""The demo seeding on the cast's estate: routes with labels, a played-out fortnight of rounds, inspections with
rectifications and re-checks, spot checks — enough for the contracted-vs-achieved report to have real content."""

import datetime as dt

import pytest

from wuye.estates.choices import PublicAreaKind
from wuye.inspections import selectors
from wuye.inspections.choices import AchievedStatus, InspectionKind, RoundStatus
from wuye.inspections.models import Checkpoint, Inspection, InspectionItem, Round, Route, Scan
from wuye.inspections.seed import PATROL_ROUTE, PLANT_ROUTE, seed_inspections
from wuye.standards.services import seed_standards
from wuye.workorders import services as workorder_services
from wuye.workorders.choices import Kind

from . import factories as pf
from .factories import local

pytestmark = pytest.mark.django_db

NOW = local(2026, 11, 27, 8, 0)


def estate_with_places(cast):
    pf.guard(cast)
    for name, kind in (
        ("南门", PublicAreaKind.GATE),
        ("北门", PublicAreaKind.GATE),
        ("地下车库入口", PublicAreaKind.CAR_PARK),
        ("中心花园", PublicAreaKind.GARDEN),
        ("水泵房", PublicAreaKind.PUMP_ROOM),
        ("配电房", PublicAreaKind.POWER_ROOM),
    ):
        pf.public_area(cast.estate, name, cast.grid, kind=kind)
    workorder_services.catalogue_seed(company=cast.company)
    seed_standards(company=cast.company, estates=[cast.estate], now=NOW, history_days=14)


def test_the_demo_gets_routes_history_inspections_and_a_report_with_content(cast):
    estate_with_places(cast)
    counts = seed_inspections(company=cast.company, estates=[cast.estate], now=NOW, history_days=14)
    assert set(Route.objects.values_list("name", flat=True)) == {PATROL_ROUTE, PLANT_ROUTE}
    assert Checkpoint.objects.filter(estate=cast.estate).count() == 6
    # 一级: the key-area route follows the hourly patrol frequency.
    assert Route.objects.get(name=PATROL_ROUTE).profile_dimension == "key_area_patrol"
    past = Round.objects.filter(window_end__lte=NOW)
    assert past.count() == counts["history_rounds"] > 14 * 24
    assert not past.filter(closed_at__isnull=True).exists()
    statuses = set(past.values_list("status", flat=True))
    assert RoundStatus.COMPLETE in statuses and statuses & {RoundStatus.MISSED, RoundStatus.INCOMPLETE}
    assert Scan.objects.filter(on_time=False).exists()
    assert Round.objects.filter(window_start__gte=NOW).exists()  # and rounds ahead

    assert counts["inspections"] >= 6 and counts["spot_checks"] > 0
    assert Inspection.objects.filter(kind=InspectionKind.RECHECK).exists()
    rectifications = InspectionItem.objects.filter(work_order__isnull=False)
    assert rectifications.exists()
    assert all(item.work_order.kind == Kind.RECTIFICATION for item in rectifications)
    assert rectifications.filter(rectified_at__isnull=False).exists()
    assert Inspection.objects.filter(kind=InspectionKind.SPOT_CHECK, score__isnull=False).exists()

    report = selectors.achieved_month(cast.estate, year=2026, month=11, now=NOW)
    by_code = {line.code: line for line in report.lines}
    assert by_code["key_area_patrol"].achieved_value > 0
    assert by_code["key_area_patrol"].status in (AchievedStatus.PASS, AchievedStatus.FAIL)
    assert by_code["lights_working"].status in (AchievedStatus.PASS, AchievedStatus.FAIL)
    assert by_code["patrol_checkpoints"].status in (AchievedStatus.PASS, AchievedStatus.FAIL)
    assert by_code["road_sweeping"].achieved_value > 0  # from the standards history
    rollup = selectors.quality_rollup(cast.supervisor, start=NOW - dt.timedelta(days=14), end=NOW)
    assert rollup.checks == counts["spot_checks"]


def test_seeding_again_adds_no_routes_or_history(cast):
    estate_with_places(cast)
    seed_inspections(company=cast.company, estates=[cast.estate], now=NOW, history_days=3)
    before = (Route.objects.count(), Checkpoint.objects.count(), Round.objects.count(), Inspection.objects.count())
    again = seed_inspections(company=cast.company, estates=[cast.estate], now=NOW, history_days=3)
    assert again["history_rounds"] == 0 and again["rounds"] == 0
    assert (
        Route.objects.count(),
        Checkpoint.objects.count(),
        Round.objects.count(),
        Inspection.objects.count(),
    ) == before
