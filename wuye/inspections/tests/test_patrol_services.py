"""Patrols end to end through the services: routes and their rounds, scans (genuine, forged, foreign, retired,
replayed, out of order, outside the window), closing windows with alerts, incidents and retiring checkpoints."""

import datetime as dt

import pytest

from wuye.core.errors import Forbidden, ValidationFailed
from wuye.inspections import codes, services
from wuye.inspections.choices import OrderRule, RoundAction, RoundStatus, ScanMethod
from wuye.inspections.models import Checkpoint, Round, RoundEvent, Scan
from wuye.notifications.models import Notification
from wuye.standards.tests import factories as standard_factories
from wuye.workorders.choices import Channel, Kind
from wuye.workorders.models import Category, WorkOrder

from . import factories as pf
from .factories import NOW, local

pytestmark = pytest.mark.django_db

MORNING = local(2026, 11, 27, 8, 0)


def scan(cast, round_, checkpoint, at, *, who=None, method=ScanMethod.QR, text=None):
    return services.round_scan(
        actor=who or pf.guard(cast),
        round_id=round_.id,
        code=text if text is not None else pf.qr(checkpoint),
        method=method,
        now=at,
    )


def refused_code(excinfo) -> str:
    return excinfo.value.errors[0].code


# ---------------------------------------------------------------------------------------------------- generation


def test_a_new_route_gets_its_rounds_for_two_days_ahead(cast):
    route = pf.route(cast)
    starts = list(Round.objects.filter(route=route).order_by("window_start").values_list("window_start", "window_end"))
    # NOW is 08:00 on the 27th: windows starting in the next 48 hours (the one opening now included).
    assert [start for start, _end in starts] == [
        local(2026, 11, 27, 8, 0),
        local(2026, 11, 27, 20, 0),
        local(2026, 11, 28, 8, 0),
        local(2026, 11, 28, 20, 0),
    ]
    assert starts[0][1] == local(2026, 11, 27, 9, 0)


def test_generating_again_inserts_nothing(cast):
    route = pf.route(cast)
    before = Round.objects.count()
    assert services.rounds_generate(now=NOW) == 0
    assert services.rounds_generate(now=NOW, route=route) == 0
    assert Round.objects.count() == before
    # Half an hour later the horizon reaches one more window, which is added once.
    later = NOW + dt.timedelta(minutes=30)
    assert services.rounds_generate(now=later) == 1
    assert services.rounds_generate(now=later) == 0
    assert Round.objects.filter(route=route, window_start=local(2026, 11, 29, 8, 0)).count() == 1


def test_rounds_snapshot_the_route_and_the_role(cast):
    points = pf.checkpoints(cast)
    route = pf.route(cast, points=points, offsets=[0, 20, 40])
    round_ = pf.round_at(route, MORNING)
    assert [stop["checkpoint"] for stop in round_.stops] == [p.id for p in points]
    assert [stop["offset"] for stop in round_.stops] == [0, 20, 40]
    assert (round_.assignee_id, round_.assignee_role, round_.grid_id) == (None, "guard", cast.grid.id)


def test_a_night_window_crosses_midnight(cast):
    route = pf.route(cast, schedule={"kind": "daily", "windows": [{"start": "22:00", "end": "06:00"}]})
    round_ = pf.round_at(route, local(2026, 11, 27, 22, 0))
    assert round_.window_end == local(2026, 11, 28, 6, 0)


def test_a_route_following_the_service_level_patrols_hourly_at_level_1(cast):
    standard_factories.assign(cast, "level_1")
    route = pf.route(cast, schedule=None, profile_dimension="key_area_patrol")
    today = Round.objects.filter(route=route, window_start__lt=local(2026, 11, 28, 0, 0))
    assert today.count() == 16  # 08:00 … 23:00
    first = today.order_by("window_start").first()
    assert (first.window_start, first.window_end) == (local(2026, 11, 27, 8, 0), local(2026, 11, 27, 9, 0))
    assert first.estate_profile is not None


def test_a_route_following_an_uncontracted_frequency_gets_no_rounds(cast):
    standard_factories.assign(cast, "level_3")  # level 3 contracts no key-area patrol
    route = pf.route(cast, schedule=None, profile_dimension="key_area_patrol")
    assert not Round.objects.filter(route=route).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"schedule": {"kind": "daily", "windows": []}}, "schedule.windows"),
        ({"schedule": None}, "schedule"),
        ({"order_rule": "random"}, "order_rule"),
        ({"offsets": [0, 0, 60]}, "stops[2].offset_minutes"),
        ({"tolerance_minutes": 999}, "tolerance_minutes"),
        ({"role": "owner"}, "assignee_role"),
    ],
)
def test_route_create_names_the_broken_rule(cast, change, field):
    with pytest.raises(ValidationFailed) as excinfo:
        pf.route(cast, **change)
    assert field in [error.field for error in excinfo.value.errors]


def test_a_route_refuses_a_checkpoint_of_another_estate(cast):
    foreign = pf.checkpoints(cast, names=("他山北门",), estate=cast.other_estate)
    with pytest.raises(ValidationFailed) as excinfo:
        pf.route(cast, points=[*pf.checkpoints(cast)[:1], *foreign])
    assert [e.field for e in excinfo.value.errors] == ["stops[1].checkpoint_id"]


# ---------------------------------------------------------------------------------------------------------- scans


def test_three_scans_in_order_complete_the_round_with_events(cast):
    points = pf.checkpoints(cast)
    route = pf.route(cast, points=points)
    round_ = pf.round_at(route, MORNING)
    guard = pf.guard(cast)
    for minutes, point in zip((5, 15, 25), points, strict=True):
        result = scan(cast, round_, point, MORNING + dt.timedelta(minutes=minutes))
        assert result.created
    round_.refresh_from_db()
    assert (round_.status, round_.scanned_count, round_.assignee_id) == (RoundStatus.COMPLETE, 3, guard.id)
    assert round_.started_at == MORNING + dt.timedelta(minutes=5)
    assert round_.completed_at == MORNING + dt.timedelta(minutes=25)
    actions = list(RoundEvent.objects.filter(round=round_).values_list("action", "from_status", "to_status"))
    assert actions == [
        (RoundAction.START, RoundStatus.PENDING, RoundStatus.IN_PROGRESS),
        (RoundAction.COMPLETE, RoundStatus.IN_PROGRESS, RoundStatus.COMPLETE),
    ]
    assert list(Scan.objects.filter(round=round_).values_list("sequence", flat=True)) == [1, 2, 3]


def test_the_printed_code_typed_by_hand_is_accepted(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), MORNING)
    typed = pf.code(points[0]).lower().replace("-", " ")
    result = scan(cast, round_, points[0], MORNING, method=ScanMethod.MANUAL, text=typed)
    assert result.created and result.scan.method == ScanMethod.MANUAL


def test_a_replayed_scan_is_not_counted_twice(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), MORNING)
    first = scan(cast, round_, points[0], MORNING + dt.timedelta(minutes=1))
    again = scan(cast, round_, points[0], MORNING + dt.timedelta(minutes=2))
    assert not again.created and again.scan.id == first.scan.id
    round_.refresh_from_db()
    assert round_.scanned_count == 1
    assert Scan.objects.filter(round=round_).count() == 1
    assert RoundEvent.objects.filter(round=round_).count() == 1  # the start only


def test_a_forged_code_is_rejected(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), MORNING)
    genuine = codes.parse(pf.code(points[0]))
    forged = genuine.uid + ("0" if genuine.mac[0] != "0" else "1") + genuine.mac[1:]
    with pytest.raises(ValidationFailed) as excinfo:
        scan(cast, round_, points[0], MORNING, text=forged)
    assert refused_code(excinfo) == "forged"
    with pytest.raises(ValidationFailed) as excinfo:
        scan(cast, round_, points[0], MORNING, text="not a code")
    assert refused_code(excinfo) == "invalid_code"
    assert not Scan.objects.exists()


def test_a_photocopied_code_of_another_estate_is_rejected(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), MORNING)
    foreign = pf.checkpoints(cast, names=("他山北门",), estate=cast.other_estate)[0]
    with pytest.raises(ValidationFailed) as excinfo:
        scan(cast, round_, points[0], MORNING, text=pf.qr(foreign))
    assert refused_code(excinfo) == "foreign_estate"


def test_another_estate_cannot_mint_our_uid_under_its_own_key(cast):
    """Re-signing our checkpoint's uid with the other estate's key is still refused here."""
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), MORNING)
    minted = codes.label_code(cast.other_estate.id, points[0].uid)
    with pytest.raises(ValidationFailed) as excinfo:
        scan(cast, round_, points[0], MORNING, text=minted)
    assert refused_code(excinfo) == "forged"


def test_a_retired_checkpoint_is_rejected_and_leaves_unstarted_rounds(cast):
    points = pf.checkpoints(cast)
    route = pf.route(cast, points=points)
    round_ = pf.round_at(route, MORNING)
    evening = pf.round_at(route, local(2026, 11, 27, 20, 0))
    scan(cast, round_, points[0], MORNING)
    services.checkpoint_retire(actor=None, checkpoint_id=points[1].id, now=MORNING + dt.timedelta(minutes=1))
    with pytest.raises(ValidationFailed) as excinfo:
        scan(cast, round_, points[1], MORNING + dt.timedelta(minutes=2))
    assert refused_code(excinfo) == "retired"
    evening.refresh_from_db()
    round_.refresh_from_db()
    assert [stop["checkpoint"] for stop in evening.stops] == [points[0].id, points[2].id]
    assert len(round_.stops) == 3  # already begun: judged against the route it began with
    assert not Checkpoint.objects.get(pk=points[1].id).is_active


def test_a_checkpoint_of_the_estate_not_on_the_route_is_rejected(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points[:2]), MORNING)
    with pytest.raises(ValidationFailed) as excinfo:
        scan(cast, round_, points[2], MORNING)
    assert refused_code(excinfo) == "not_on_route"


def test_strict_order_refuses_a_skipped_checkpoint_naming_the_next(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), MORNING)
    with pytest.raises(services.ScanRefused) as excinfo:
        scan(cast, round_, points[1], MORNING)
    assert excinfo.value.code == "out_of_order" and points[0].name in excinfo.value.message


def test_any_order_takes_checkpoints_as_they_come(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points, order_rule=OrderRule.ANY), MORNING)
    for point in reversed(points):
        scan(cast, round_, point, MORNING + dt.timedelta(minutes=3))
    round_.refresh_from_db()
    assert round_.status == RoundStatus.COMPLETE


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (local(2026, 11, 27, 7, 59, 59), "not_open_yet"),
        (local(2026, 11, 27, 9, 0), "window_closed"),
    ],
)
def test_scans_are_taken_only_inside_the_window(cast, at, code):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), MORNING)
    with pytest.raises(services.ScanRefused) as excinfo:
        scan(cast, round_, points[0], at)
    assert excinfo.value.code == code


def test_someone_without_the_role_may_not_scan(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), MORNING)
    with pytest.raises(Forbidden):
        scan(cast, round_, points[0], MORNING, who=cast.technician)


def test_the_first_scanner_takes_a_pool_round(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), MORNING)
    scan(cast, round_, points[0], MORNING)
    other_guard = pf.guard(cast, username="guard2")
    with pytest.raises(Forbidden):
        scan(cast, round_, points[1], MORNING + dt.timedelta(minutes=1), who=other_guard)


def test_a_late_scan_is_flagged(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points, offsets=[0, 20, 40]), MORNING)
    first = scan(cast, round_, points[0], MORNING + dt.timedelta(minutes=10))  # tolerance 10: on time
    second = scan(cast, round_, points[1], MORNING + dt.timedelta(minutes=31))  # planned 08:20 + 10
    assert first.scan.on_time and not second.scan.on_time
    assert second.scan.planned_at == MORNING + dt.timedelta(minutes=20)


# ------------------------------------------------------------------------------------------------ closing windows


def test_closing_marks_missed_incomplete_and_complete_rounds_and_alerts_the_grid_leader(cast):
    points = pf.checkpoints(cast)
    done = pf.route(cast, name="A线", points=points)
    partly = pf.route(cast, name="B线", points=points)
    pf.route(cast, name="C线", points=points)
    for point in points:
        scan(cast, pf.round_at(done, MORNING), point, MORNING + dt.timedelta(minutes=5))
    scan(cast, pf.round_at(partly, MORNING), points[0], MORNING + dt.timedelta(minutes=5))

    assert services.rounds_close(now=local(2026, 11, 27, 8, 59)) == 0
    assert services.rounds_close(now=local(2026, 11, 27, 9, 0)) == 3
    statuses = {r.route.name: (r.status, r.missed_count) for r in Round.objects.filter(window_start=MORNING)}
    assert statuses == {
        "A线": (RoundStatus.COMPLETE, 0),
        "B线": (RoundStatus.INCOMPLETE, 2),
        "C线": (RoundStatus.MISSED, 3),
    }
    alerts = Notification.objects.filter(recipient=cast.supervisor, kind="patrol.round_closed")
    assert alerts.count() == 2  # B and C; the grid's leader is the cast's supervisor
    assert all(alert.link.startswith("/desk/patrol/rounds/") for alert in alerts)
    assert any("C线" in alert.title for alert in alerts)
    assert "南门巡更点" in alerts.get(title__contains="C线").body


def test_closing_twice_judges_and_alerts_once(cast):
    pf.route(cast)
    after = local(2026, 11, 27, 9, 30)
    assert services.rounds_close(now=after) == 1
    assert services.rounds_close(now=after) == 0
    assert RoundEvent.objects.filter(action=RoundAction.CLOSE).count() == 1
    assert Notification.objects.filter(kind="patrol.round_closed").count() == 1


def test_a_complete_round_with_a_late_checkpoint_alerts_too(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points, offsets=[0, 10, 20]), MORNING)
    for minutes, point in zip((0, 5, 45), points, strict=True):
        scan(cast, round_, point, MORNING + dt.timedelta(minutes=minutes))
    services.rounds_close(now=local(2026, 11, 27, 9, 0))
    round_.refresh_from_db()
    assert (round_.status, round_.late_count, round_.missed_count) == (RoundStatus.COMPLETE, 1, 0)
    assert Notification.objects.filter(recipient=cast.supervisor, kind="patrol.round_closed").count() == 1


def test_without_a_grid_leader_the_supervisors_are_alerted(cast):
    cast.grid.leader = None
    cast.grid.save(update_fields=["leader"])
    pf.route(cast)
    services.rounds_close(now=local(2026, 11, 27, 9, 0))
    assert Notification.objects.filter(recipient=cast.supervisor, kind="patrol.round_closed").count() == 1


def test_a_closed_round_takes_no_more_scans(cast):
    points = pf.checkpoints(cast)
    route = pf.route(cast, points=points, schedule={"kind": "daily", "windows": [{"start": "07:00", "end": "09:30"}]})
    round_ = Round.objects.get(route=route, window_start=local(2026, 11, 27, 7, 0))
    services.rounds_close(now=local(2026, 11, 27, 9, 30))
    with pytest.raises(services.ScanRefused):
        scan(cast, round_, points[0], local(2026, 11, 27, 9, 10))


# ---------------------------------------------------------------------------------------------------------- incidents


def test_an_incident_on_patrol_becomes_a_public_repair_at_the_last_checkpoint(cast):
    pf.catalogue(cast)
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), MORNING)
    scan(cast, round_, points[0], MORNING)
    security = Category.objects.get(company=cast.company, code="security")
    order = services.round_incident_report(
        actor=pf.guard(cast), round_id=round_.id, category=security, description="南门道闸被撞坏", now=MORNING
    )
    assert (order.kind, order.channel, order.public_area_id) == (
        Kind.REPAIR_PUBLIC,
        Channel.STAFF,
        points[0].public_area_id,
    )
    assert (order.source_type, order.source_id, order.created_by_id) == (
        "patrol_round",
        str(round_.id),
        pf.guard(cast).id,
    )
    event = RoundEvent.objects.get(round=round_, action=RoundAction.INCIDENT)
    assert event.payload["number"] == order.number


def test_an_incident_before_any_scan_with_a_rectification_category_is_a_rectification(cast):
    pf.catalogue(cast)
    round_ = pf.round_at(pf.route(cast), MORNING)
    cleaning = Category.objects.get(company=cast.company, code="cleaning")
    order = services.round_incident_report(
        actor=pf.guard(cast), round_id=round_.id, category=cleaning, description="楼道堆放杂物", now=MORNING
    )
    assert order.kind == Kind.RECTIFICATION


def test_an_incident_needs_a_fitting_category(cast):
    pf.catalogue(cast)
    round_ = pf.round_at(pf.route(cast), MORNING)
    fees = Category.objects.get(company=cast.company, code="fees")
    foreign = Category.objects.get(company=cast.other_company, code="security")
    for category, code in ((fees, "kind_mismatch"), (foreign, "required"), (None, "required")):
        with pytest.raises(ValidationFailed) as excinfo:
            services.round_incident_report(
                actor=pf.guard(cast), round_id=round_.id, category=category, description="有情况", now=MORNING
            )
        assert (excinfo.value.errors[0].field, excinfo.value.errors[0].code) == ("category", code)
    assert not WorkOrder.objects.exists()
