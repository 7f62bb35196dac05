"""One walk over the TRANSITIONS table: from every status, every action either moves the order exactly as the table
says and writes one event, or is refused naming the current status and changes nothing."""

import datetime as dt

import pytest
from django.db import transaction

from wuye.workorders import services
from wuye.workorders.choices import (
    LONG_PATH_ONLY,
    PREVIOUS,
    SHORT_PATH_ONLY,
    TRANSITIONS,
    USER_ACTIONS,
    Action,
    Kind,
    Status,
)
from wuye.workorders.models import WorkOrder, WorkOrderEvent

from . import factories as wf

pytestmark = pytest.mark.django_db
LATER = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)

LONG_STATUSES = list(wf.PATH_TO)
SHORT_PATH_TO = {
    "submitted": [],
    "accepted": [Action.ACCEPT],
    "answered": [Action.ACCEPT, Action.ANSWER],
    "closed": [Action.ACCEPT, Action.ANSWER, Action.CLOSE],
    "cancelled": [Action.CANCEL],
}


class Undo(Exception):
    pass


def try_action(cast, order: WorkOrder, action: str):
    """Run one action as the system inside a savepoint that is always rolled back; returns (outcome, status, events)."""
    before = WorkOrderEvent.objects.filter(order=order).count()
    result = {}
    try:
        with transaction.atomic():
            try:
                moved = services.workorder_act(
                    actor=None, order_id=order.id, action=action, params=wf.params_for(cast, action), now=LATER
                )
            except services.InvalidTransition as refusal:
                result.update(
                    outcome="refused",
                    message=refusal.message,
                    events=WorkOrderEvent.objects.filter(order=order).count() - before,
                    status=WorkOrder.objects.get(pk=order.pk).status,
                )
            else:
                result.update(
                    outcome="moved",
                    status=moved.status,
                    events=WorkOrderEvent.objects.filter(order=order).count() - before,
                )
            raise Undo
    except Undo:
        pass
    return result


def expected(order: WorkOrder, action: str, short: bool):
    sources, target = TRANSITIONS[action]
    if (short and action in LONG_PATH_ONLY) or (not short and action in SHORT_PATH_ONLY):
        return None
    if order.status not in sources:
        return None
    if target == PREVIOUS:
        return order.held_from_status
    return order.status if target is None else target


@pytest.fixture
def catalogue(cast):
    wf.seed_catalogue(cast)
    wf.second_technician(cast)
    wf.staff_member(cast, cast.technician, skills=["plumbing"])  # so the system's grab on their behalf may succeed
    return cast


@pytest.mark.parametrize("status", LONG_STATUSES)
def test_every_action_from_every_repair_status_follows_the_table(catalogue, status):
    cast = catalogue
    order = wf.order(cast, status=status)
    assert order.status == status
    for action in sorted(USER_ACTIONS):
        result = try_action(cast, order, action)
        want = expected(order, action, short=False)
        if want is None:
            assert result["outcome"] == "refused", f"{status} --{action}--> should be refused"
            assert result["events"] == 0 and result["status"] == status
            assert str(Status(status).label) in result["message"]
        else:
            assert result["outcome"] == "moved", f"{status} --{action}--> should be allowed: {result}"
            assert result["status"] == want, f"{status} --{action}--> {result['status']}, table says {want}"
            assert result["events"] == 1, f"{status} --{action}--> wrote {result['events']} events"


@pytest.mark.parametrize("status", list(SHORT_PATH_TO))
def test_every_action_from_every_inquiry_status_follows_the_table(catalogue, status):
    cast = catalogue
    order = wf.order(cast, kind=Kind.INQUIRY, code="fees", room=None)
    for step, action in enumerate(SHORT_PATH_TO[status], start=1):
        services.workorder_act(
            actor=None,
            order_id=order.id,
            action=action,
            params=wf.params_for(cast, action),
            now=order.submitted_at + dt.timedelta(minutes=step),
        )
    order.refresh_from_db()
    assert order.status == status
    for action in sorted(USER_ACTIONS):
        result = try_action(cast, order, action)
        want = expected(order, action, short=True)
        if want is None:
            assert result["outcome"] == "refused", f"inquiry {status} --{action}--> should be refused"
        else:
            assert (result["outcome"], result["status"], result["events"]) == ("moved", want, 1), (status, action)


def test_the_table_has_no_action_leading_out_of_a_closed_or_cancelled_order_except_reopen(catalogue):
    leaving = {a for a, (sources, _target) in TRANSITIONS.items() if sources & {Status.CLOSED, Status.CANCELLED}}
    assert leaving == {Action.REOPEN}
