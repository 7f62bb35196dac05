"""One walk over each table of moves. Rounds: from every status, a scan and the window closer move the round exactly
as ROUND_TRANSITIONS says, with one event per move, or change nothing. Inspections: from every status, submitting
and cancelling follow INSPECTION_TRANSITIONS or are refused naming the status."""

import datetime as dt

import pytest

from wuye.inspections import services
from wuye.inspections.choices import (
    INSPECTION_TRANSITIONS,
    ROUND_TRANSITIONS,
    InspectionAction,
    InspectionStatus,
    RoundAction,
    RoundStatus,
)
from wuye.inspections.models import InspectionEvent, Round, RoundEvent
from wuye.inspections.rules import round_move
from wuye.standards.tests import factories as sf

from . import factories as pf
from .factories import NOW

pytestmark = pytest.mark.django_db

MORNING_END = pf.local(2026, 11, 27, 9, 0)


def test_the_round_table_is_what_round_move_reads():
    for action, moves in ROUND_TRANSITIONS.items():
        for status in RoundStatus.values:
            assert round_move(status, action) == moves.get(status)


def test_missed_and_incomplete_rounds_are_final():
    leaving = set().union(*(moves for moves in ROUND_TRANSITIONS.values()))
    assert {RoundStatus.MISSED, RoundStatus.INCOMPLETE}.isdisjoint(leaving)
    assert ROUND_TRANSITIONS[RoundAction.CLOSE][RoundStatus.COMPLETE] == RoundStatus.COMPLETE


def round_in(cast, status: str) -> tuple[Round, list]:
    """A round of a two-checkpoint route brought to `status` through the services."""
    points = pf.checkpoints(cast)[:2]
    route = pf.route(cast, name=f"线路-{status}", points=points)
    round_ = pf.round_at(route, NOW)
    guard = pf.guard(cast)
    scans = {RoundStatus.IN_PROGRESS: 1, RoundStatus.INCOMPLETE: 1, RoundStatus.COMPLETE: 2}.get(status, 0)
    for point in points[:scans]:
        services.round_scan(actor=guard, round_id=round_.id, code=pf.code(point), now=NOW)
    if status in (RoundStatus.MISSED, RoundStatus.INCOMPLETE):
        services.rounds_close(now=MORNING_END)
    round_.refresh_from_db()
    assert round_.status == status
    return round_, points


@pytest.mark.parametrize("status", RoundStatus.values)
def test_a_scan_from_every_status(cast, status):
    round_, points = round_in(cast, status)
    before = RoundEvent.objects.filter(round=round_).count()
    scanned = {scan.checkpoint_id for scan in round_.scans.all()}
    target = next((p for p in points if p.id not in scanned), points[0])
    try:
        result = services.round_scan(
            actor=pf.guard(cast), round_id=round_.id, code=pf.code(target), now=NOW + dt.timedelta(minutes=1)
        )
    except services.ScanRefused as refusal:
        assert status in (RoundStatus.MISSED, RoundStatus.INCOMPLETE)
        assert refusal.code == "round_closed" and str(RoundStatus(status).label) in refusal.message
        assert RoundEvent.objects.filter(round=round_).count() == before
        return
    round_.refresh_from_db()
    events = list(RoundEvent.objects.filter(round=round_).order_by("id")[before:].values_list("action", "to_status"))
    if status == RoundStatus.COMPLETE:
        assert not result.created and events == []
    elif status == RoundStatus.PENDING:
        assert events == [(RoundAction.START, ROUND_TRANSITIONS[RoundAction.START][status])]
    else:
        assert events == [(RoundAction.COMPLETE, ROUND_TRANSITIONS[RoundAction.COMPLETE][status])]
    assert round_.status == (events[-1][1] if events else status)


@pytest.mark.parametrize("status", RoundStatus.values)
def test_closing_from_every_status(cast, status):
    round_, _points = round_in(cast, status)
    before = RoundEvent.objects.filter(round=round_, action=RoundAction.CLOSE).count()
    services.rounds_close(now=MORNING_END + dt.timedelta(hours=1))
    round_.refresh_from_db()
    closes = RoundEvent.objects.filter(round=round_, action=RoundAction.CLOSE)
    if status in (RoundStatus.MISSED, RoundStatus.INCOMPLETE):
        assert closes.count() == before == 1  # closed once already; nothing more
    else:
        assert closes.count() == 1
        assert round_.status == ROUND_TRANSITIONS[RoundAction.CLOSE][status]
        assert closes.get().to_status == round_.status


def inspection_in(cast, status: str):
    sf.seed(cast)
    pf.catalogue(cast)
    inspection = services.inspection_create(
        actor=cast.supervisor,
        new=services.NewInspection(
            estate=cast.estate,
            discipline="engineering",
            sop_items=[sf.sop(cast, "eng-lift-check")],
            inspector=cast.technician,
        ),
        now=NOW,
    )
    (item,) = inspection.items.all()
    if status == InspectionStatus.SUBMITTED:
        services.inspection_submit(
            actor=cast.technician, inspection_id=inspection.id, answers={item.id: {"result": "pass"}}, now=NOW
        )
    elif status == InspectionStatus.CANCELLED:
        services.inspection_cancel(actor=cast.supervisor, inspection_id=inspection.id, reason="停梯检修", now=NOW)
    return inspection, item


@pytest.mark.parametrize("status", InspectionStatus.values)
@pytest.mark.parametrize("action", [InspectionAction.SUBMIT, InspectionAction.CANCEL])
def test_every_inspection_move_from_every_status(cast, status, action):
    inspection, item = inspection_in(cast, status)
    before = InspectionEvent.objects.filter(inspection=inspection).count()
    sources, target = INSPECTION_TRANSITIONS[action]
    try:
        if action == InspectionAction.SUBMIT:
            services.inspection_submit(
                actor=cast.technician, inspection_id=inspection.id, answers={item.id: {"result": "pass"}}, now=NOW
            )
        else:
            services.inspection_cancel(actor=cast.supervisor, inspection_id=inspection.id, reason="不再需要", now=NOW)
    except services.InvalidMove as refusal:
        assert status not in sources
        assert str(InspectionStatus(status).label) in refusal.message
        assert InspectionEvent.objects.filter(inspection=inspection).count() == before
        return
    assert status in sources
    inspection.refresh_from_db()
    assert inspection.status == target
    assert InspectionEvent.objects.filter(inspection=inspection).count() == before + 1
