"""Dispatch over the API: the grab pool for field staff's phones, and an estate's dispatch board for dispatchers.
Grabbing itself is the work-order action `POST /workorders/{id}/actions/grab` (409 `already_taken` for the losers)."""

from django.utils.translation import gettext as _
from ninja import Query, Router

from wuye.accounts.selectors import roles_by_estate
from wuye.core import clock
from wuye.core.errors import Forbidden
from wuye.estates.selectors import estate_get
from wuye.workorders.permissions import DISPATCH_ROLES, FIELD_ROLES

from . import selectors
from .schemas import BoardFilters, BoardOut, PoolOrderOut

router = Router(tags=["dispatch"])


@router.get(
    "/dispatch/pool", response=list[PoolOrderOut], summary="Orders I may grab (抢单池), and those I may not, with why"
)
def pool(request):
    if not any(roles & FIELD_ROLES for roles in roles_by_estate(request.user).values()):
        raise Forbidden(_("The grab pool is for field staff."))
    return [
        {
            "id": row["order"].id,
            "number": row["order"].number,
            "estate_id": row["order"].estate_id,
            "category": row["order"].category.name,
            "priority": row["order"].priority,
            "place": row["order"].place_label,
            "description": row["order"].description,
            "arrive_due_at": row["job"].arrive_due_at,
            "walk_minutes": row["walk_minutes"],
            "eligible": row["eligibility"].ok,
            "why_not": [check.message for check in row["eligibility"].failed()],
        }
        for row in selectors.grab_pool(request.user, now=clock.now())
    ]


@router.get("/dispatch/board", response=BoardOut, summary="An estate's dispatch board: waiting orders and field staff")
def board(request, filters: Query[BoardFilters]):
    estate = estate_get(request.user, filters.estate_id)  # 404 when not visible
    if not roles_by_estate(request.user).get(estate.id, frozenset()) & DISPATCH_ROLES:
        raise Forbidden(_("Only customer service, grid leaders and supervisors dispatch orders."))
    data = selectors.dispatch_board(estate.id, now=clock.now())
    return {
        "estate_id": estate.id,
        "orders": [
            {
                "id": item.order.id,
                "number": item.order.number,
                "grid": item.order.grid.name if item.order.grid else "",
                "priority": item.order.priority,
                "category": item.order.category.name,
                "place": item.order.place_label,
                "arrive_due_at": item.job.arrive_due_at,
                "slack_minutes": item.slack_minutes,
                "suggested_id": item.suggestion.tech_id if item.suggestion else None,
                "suggestion_reasons": list(item.suggestion.reasons) if item.suggestion else [],
                "eligible_ids": sorted(item.eligible_ids),
            }
            for item in data["orders"]
        ],
        "staff": [
            {
                "id": person.user.pk,
                "name": person.user.display_name,
                "on_shift": person.tech.on_shift,
                "on_call": person.tech.on_call,
                "last_seen": person.where.label,
                "open_orders": person.tech.open_orders,
                "current_order": person.current.number if person.current else None,
            }
            for person in data["technicians"]
        ],
    }
