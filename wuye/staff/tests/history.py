"""Appraisal test history on the shared cast: October 2026 orders walked through the real work-order services, so
the scores come from genuine events and SLA clocks."""

import datetime as dt

from wuye.core import clock
from wuye.workorders import services as wo
from wuye.workorders.choices import Action, Channel, Kind, Priority
from wuye.workorders.tests.factories import category, second_technician, seed_catalogue

OCTOBER = dt.date(2026, 10, 1)
# Early November, when the monthly job appraises October.
AFTER_OCTOBER = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)


def at(day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A moment in October 2026, Shanghai time."""
    return dt.datetime(2026, 10, day, hour, minute, tzinfo=clock.local_tz())


def walk(cast, *, start: dt.datetime, technician=None, gaps=None, rating: int = 5, satisfied: bool = True,
         priority: str = Priority.EMERGENCY, until: str = "close", code: str = "plumbing", room=None):  # fmt: skip
    """One repair by the owner of 1-1-101, dispatched to `technician`, walked to `until`. `gaps` (minutes after the
    previous step) per action override the default one minute: arrive=600 makes the arrival late."""
    technician = technician or cast.technician
    gaps = gaps or {}
    new = wo.NewOrder(
        estate=cast.estate,
        kind=Kind.REPAIR_HOME,
        category=category(cast, code),
        description="厨房水管漏水",
        channel=Channel.PORTAL,
        reporter=cast.owner,
        priority=priority,
        room=room or cast.room,
    )
    order, _ = wo.workorder_create(actor=cast.owner, new=new, now=start)
    steps = [
        (Action.ACCEPT, cast.service_agent, {}),
        (Action.DISPATCH, cast.supervisor, {"assignee_id": technician.id}),
        (Action.TAKE, technician, {}),
        (Action.ARRIVE, technician, {}),
        (Action.START, technician, {}),
        (Action.RESOLVE, technician, {"resolution": "换了阀门"}),
        (Action.RATE, cast.owner, {"verdict": "good" if rating >= 3 else "bad", "score": rating}),
        (Action.VISIT, cast.service_agent, {"satisfied": satisfied}),
        (Action.CLOSE, cast.supervisor, {}),
    ]
    moment = start
    for action, actor, params in steps:
        moment += dt.timedelta(minutes=gaps.get(action, 1))
        wo.workorder_act(actor=actor, order_id=order.id, action=action, params=params, now=moment)
        if action == until or (action == Action.VISIT and not satisfied):
            break
    order.refresh_from_db()
    return order


def complaint(cast, *, submitted: dt.datetime, code: str = "service", room=None):
    new = wo.NewOrder(
        estate=cast.estate,
        kind=Kind.COMPLAINT,
        category=category(cast, code),
        description="师傅态度不好，修完还是漏",
        channel=Channel.PORTAL,
        reporter=cast.owner,
        room=room or cast.room,
    )
    order, _ = wo.workorder_create(actor=cast.owner, new=new, now=submitted)
    return order


__all__ = ["AFTER_OCTOBER", "OCTOBER", "at", "complaint", "second_technician", "seed_catalogue", "walk"]
