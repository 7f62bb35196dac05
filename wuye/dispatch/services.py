"""Automatic dispatch: send waiting orders of round-robin, load-balance and optimise categories to technicians.

`dispatch_replan` runs after every event that changes the picture (an order starts waiting, a technician finishes;
see workorders.services.REPLAN_AFTER) and once a minute for every estate (a warning fired, a shift began). Each
dispatch goes through `workorder_act`, so it is an ordinary event on the order's timeline, made by the system, with
the policy and its reasons in the payload.
"""

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from wuye.core import clock
from wuye.core.errors import Forbidden, ValidationFailed
from wuye.estates.models import Estate
from wuye.workorders.choices import SHORT_PATH_KINDS, Action, Status
from wuye.workorders.models import DispatchMode, WorkOrder, WorkOrderEvent
from wuye.workorders.services import InvalidTransition, workorder_act

from . import rules, selectors

# The dispatch modes the system carries out itself, in the order a re-plan serves them.
AUTO_MODES = (DispatchMode.OPTIMISE, DispatchMode.LOAD_BALANCE, DispatchMode.ROUND_ROBIN)


def _round_robin_cursor(estate_id: int) -> int | None:
    """The last person round robin gave an order to in this estate: the rotation continues after them."""
    return (
        WorkOrderEvent.objects.filter(
            order__estate_id=estate_id, action=Action.DISPATCH, payload__policy=DispatchMode.ROUND_ROBIN
        )
        .order_by("-at", "-id")
        .values_list("payload__assignee_id", flat=True)
        .first()
    )


def dispatch_replan(*, estate_id: int, now: dt.datetime) -> int:
    """Dispatch what the estate's automatic policies say should go now; returns how many orders were sent.

    One re-plan per estate at a time: the estate row is locked for the run, so two workers re-planning together do
    not both hand out the same free technician (and each dispatch re-checks the order's status under its own lock,
    so an order dispatched by hand meanwhile is skipped, never sent twice)."""
    today = timezone.localdate(now, clock.local_tz())
    sent = 0
    with transaction.atomic():
        if not Estate.objects.select_for_update().filter(pk=estate_id).exists():
            return 0
        waiting = list(selectors.waiting_orders([estate_id]).filter(category__dispatch_mode__in=AUTO_MODES))
        if not waiting:
            return 0
        staff = list(selectors.field_staff(estate_id))
        for mode in AUTO_MODES:
            orders = [order for order in waiting if order.category.dispatch_mode == mode]
            if not orders or not staff:
                continue
            # Fresh for each mode: what the previous mode just handed out counts towards load and free time.
            technicians = selectors.technicians_in(estate_id, staff, now)
            policy = rules.make_policy(mode)
            if isinstance(policy, rules.RoundRobin):
                policy.cursor = _round_robin_cursor(estate_id)
            jobs = [selectors.job_for(order, now) for order in orders]
            for assignment in policy.plan(jobs, technicians, now=now, today=today):
                if not assignment.dispatch_now:
                    continue  # that technician is busy: the next re-plan decides again
                try:
                    with transaction.atomic():
                        workorder_act(
                            actor=None,
                            order_id=assignment.job_id,
                            action=Action.DISPATCH,
                            params={
                                "assignee_id": assignment.tech_id,
                                "policy": str(mode),
                                "policy_reasons": [str(reason) for reason in assignment.reasons],
                            },
                            now=now,
                        )
                except (InvalidTransition, ValidationFailed, Forbidden):
                    continue  # dispatched by hand meanwhile, or the person is no longer allowed to take it
                sent += 1
    return sent


def estates_with_waiting_auto_orders() -> list[int]:
    return sorted(
        set(
            WorkOrder.objects.filter(status=Status.ACCEPTED, category__dispatch_mode__in=AUTO_MODES)
            .filter(~Q(kind__in=SHORT_PATH_KINDS))
            .values_list("estate_id", flat=True)
        )
    )


def dispatch_replan_all(*, now: dt.datetime) -> int:
    """The periodic sweep: re-plan every estate with orders waiting for automatic dispatch."""
    return sum(dispatch_replan(estate_id=estate_id, now=now) for estate_id in estates_with_waiting_auto_orders())
