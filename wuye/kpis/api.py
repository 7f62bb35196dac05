"""GET /api/v1/kpis: the numbers of the desk's KPI dashboard for a scope and period, from the same rollups.

Managers, supervisors and company administrators only (anyone else 403); a scope outside the estates they hold that
role in answers 404; a malformed scope or date answers 422 naming the parameter.
"""

from ninja import Query, Router

from wuye.core import clock

from . import selectors
from .schemas import DashboardOut, KpiFilters

router = Router(tags=["kpis"])


@router.get("/kpis", response=DashboardOut, by_alias=True)
def kpis(request, filters: Query[KpiFilters]):
    scope = selectors.scope_from_key(request.user, filters.scope)
    today = clock.today()
    start, end = selectors.period_for(today=today, start=filters.from_, end=filters.to, month=filters.month)
    data = selectors.dashboard(scope, start, end, today=today)
    return {
        "scope": {"key": scope.key, "level": scope.level, "name": scope.name},
        "from": data.start,
        "to": data.end,
        "last_year_from": data.last_year_start,
        "last_year_to": data.last_year_end,
        "orders": data.orders,
        "orders_last_year": data.orders_last_year,
        "households": data.households,
        "kpis": [line.__dict__ for line in data.kpis],
        "trend": {
            "months": [f"{month:%Y-%m}" for month in data.trend_months],
            "series": data.trend,
            "last_year": data.trend_last_year,
        },
        "children": [
            {
                "name": child.name,
                "scope": child.key,
                "orders": child.orders,
                "values": child.values,
                "statuses": child.statuses,
            }
            for child in data.children
        ],
    }
