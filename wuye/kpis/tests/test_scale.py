"""The scale generator (seed_demo_scale) writes rows the way the services do: the rollups built over them agree
with the independent computation from the same rows (COPY on PostgreSQL, bulk inserts on SQLite)."""

import datetime as dt

import time_machine

from wuye.kpis import scale, selectors, services
from wuye.kpis.tests import oracle
from wuye.kpis.tests.test_kpis_against_events import _close
from wuye.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderStep
from wuye.workorders.tests import factories as wf

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 20)


def test_generated_orders_roll_up_to_what_their_events_say(cast):
    wf.seed_catalogue(cast)
    with time_machine.travel(NOW, tick=False):
        result = scale.generate_orders(cast.company, orders=400, end=NOW, days=60, batch=150)
        assert result.orders == WorkOrder.objects.count() == 400
        assert result.events == WorkOrderEvent.objects.count() >= 400 * 5
        assert result.steps == WorkOrderStep.objects.count()
        assert WorkOrder.objects.filter(reopen_count__gt=0).exists()
        assert WorkOrder.objects.exclude(status__in=("closed", "cancelled")).exists()
        services.rollup_rebuild(now=NOW)
        wrong = []
        scopes = [
            (selectors.scope_for(cast.manager, estate=cast.estate.id), oracle.Where((cast.estate.id,))),
            (
                selectors.scope_for(cast.manager, grid=cast.grid.id, person=cast.technician.id),
                oracle.Where((cast.estate.id,), cast.grid.id, cast.technician.id),
            ),
        ]
        for scope, where in scopes:
            for start, end in ((dt.date(2026, 10, 1), TODAY), (dt.date(2026, 10, 10), dt.date(2026, 11, 3))):
                got = selectors.kpis_for(scope, start, end, TODAY)
                for code, value in oracle.kpis(where, start, end, households_day=TODAY).items():
                    if code != "reported" and not _close(code, got[code], value):
                        wrong.append(f"{scope.key} {start} {code}: {got[code]!r} != {value!r}")
        assert not wrong, "\n".join(wrong)
