"""The rollup job: incremental and idempotent, late events recompute their past day, an event that commits below
the watermark is still counted, two workers at once never double count; the household snapshot; the targets."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import close_old_connections, connection

from wuye.accounts import services as account_services
from wuye.core import scheduler
from wuye.kpis import service_rollup, services
from wuye.kpis.choices import Grain, KpiCode, Level
from wuye.kpis.models import DailyOrderStats, HouseholdSnapshot, KpiCube, KpiTarget, RollupState, ServiceCube
from wuye.testing import factories
from wuye.workorders.choices import Action
from wuye.workorders.models import WorkOrderEvent
from wuye.workorders.tests import factories as wf

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
TODAY = dt.date(2026, 11, 20)


def estate_day(day: dt.date, field: str = "reported") -> int:
    row = KpiCube.objects.filter(grain=Grain.DAY, period=day, level=Level.ESTATE).first()
    return getattr(row, field) if row else 0


def month_total(month: dt.date, field: str = "reported") -> int:
    row = KpiCube.objects.filter(grain=Grain.MONTH, period=month, level=Level.ESTATE).first()
    return getattr(row, field) if row else 0


@pytest.fixture
def shop(cast):
    wf.seed_catalogue(cast)
    with time_machine.travel(NOW, tick=False):
        yield cast


def test_running_the_job_twice_counts_each_event_once(shop):
    wf.order(shop, status="closed", now=NOW - dt.timedelta(days=2))
    first = services.rollup_run(now=NOW)
    assert first.events == WorkOrderEvent.objects.count() > 5
    rows = list(DailyOrderStats.objects.values())
    again = services.rollup_run(now=NOW)
    assert again.events == 0
    assert list(DailyOrderStats.objects.values()) == rows
    assert estate_day(TODAY - dt.timedelta(days=2)) == 1
    assert month_total(dt.date(2026, 11, 1)) == 1
    assert RollupState.objects.get().last_event_id == WorkOrderEvent.objects.latest("id").id


def test_a_late_event_for_a_past_day_recomputes_that_day_and_its_month(shop):
    wf.order(shop, status="closed", now=NOW - dt.timedelta(days=1))
    services.rollup_run(now=NOW)
    past = TODAY - dt.timedelta(days=6)
    assert estate_day(past) == 0
    # Written now, but about a moment six days ago (an import, a phone that was offline).
    wf.order(shop, status="resolved", now=NOW - dt.timedelta(days=6))
    result = services.rollup_run(now=NOW)
    assert result.days == 1
    assert estate_day(past) == 1 and estate_day(past, "resolved") == 1
    assert month_total(dt.date(2026, 11, 1)) == 2


def test_a_reopen_days_later_takes_back_the_first_time_fix_of_the_day_it_was_fixed(shop):
    order = wf.order(shop, status="closed", now=NOW - dt.timedelta(days=3))
    services.rollup_run(now=NOW)
    fixed_on = TODAY - dt.timedelta(days=3)
    assert estate_day(fixed_on, "first_time_fixed") == 1
    wf.services.workorder_act(actor=shop.owner, order_id=order.id, action=Action.REOPEN, params={}, now=NOW)
    services.rollup_run(now=NOW)
    assert estate_day(fixed_on, "first_resolved") == 1
    assert estate_day(fixed_on, "first_time_fixed") == 0
    assert estate_day(TODAY, "reopened") == 1


def test_an_event_that_commits_below_the_watermark_is_still_counted(shop):
    order = wf.order(shop, status="rated", now=NOW - dt.timedelta(days=1))
    rating = WorkOrderEvent.objects.get(order=order, action=Action.RATE)
    kept = {f.attname: getattr(rating, f.attname) for f in WorkOrderEvent._meta.concrete_fields}
    rating.delete()  # as if its transaction had not committed yet when the job ran
    wf.order(shop, status="accepted", now=NOW - dt.timedelta(hours=1))  # the watermark moves past its id
    services.rollup_run(now=NOW)
    assert RollupState.objects.get().last_event_id > kept["id"]
    assert estate_day(TODAY - dt.timedelta(days=1), "rated_good") == 0
    WorkOrderEvent.objects.create(**kept)  # it commits now, with its old id
    services.rollup_run(now=NOW)
    assert estate_day(TODAY - dt.timedelta(days=1), "rated_good") == 1


def test_the_settle_job_rebuilds_today_from_scratch(shop):
    wf.order(shop, status="accepted", now=NOW - dt.timedelta(hours=1))
    services.rollup_run(now=NOW)
    KpiCube.objects.filter(grain=Grain.DAY, period=TODAY).update(reported=99)
    assert services.rollup_settle(now=NOW) > 0
    assert estate_day(TODAY) == 1


def _twice_at_once(job) -> list:
    """Run `job` in two threads released together; a thread's exception fails the test. Returns their results."""
    barrier = threading.Barrier(2)
    results, failures = [], []

    def worker():
        try:
            barrier.wait()
            results.append(job())
        except Exception as failure:
            failures.append(failure)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return results


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_never_double_count(cast):
    wf.seed_catalogue(cast)
    for days in range(5):
        wf.order(cast, status="closed", now=NOW - dt.timedelta(days=days, hours=1))
    results = _twice_at_once(lambda: services.rollup_run(now=NOW, batch_events=7))
    services.rollup_run(now=NOW)  # whatever a skipping worker left
    total = sum(KpiCube.objects.filter(grain=Grain.DAY, level=Level.COMPANY).values_list("reported", flat=True))
    assert total == 5, (connection.vendor, results)
    assert sum(r.events for r in results) <= WorkOrderEvent.objects.count() + 7


def test_the_job_is_registered_with_the_scheduler():
    names = {job.name for job in scheduler.registered_jobs()}
    assert {"kpis.rollup", "kpis.rollup_settle", "kpis.service_rollup", "kpis.service_rollup_settle"} <= names


def test_households_count_rooms_lived_in_and_those_active_online(cast):
    moved_out = factories.RoomFactory(unit=cast.room.unit, number="103", floor=1)
    leaver = factories.UserFactory(username="leaver")
    account_services.residency_create(user=leaver, room=moved_out, move_in_on=dt.date(2020, 1, 1))
    leaver.residencies.update(move_out_on=dt.date(2026, 1, 1))
    future = factories.RoomFactory(unit=cast.room.unit, number="104", floor=1)
    account_services.residency_create(user=factories.UserFactory(username="later"), room=future,
                                      move_in_on=dt.date(2027, 1, 1))  # fmt: skip
    factories.RoomFactory(unit=cast.room.unit, number="105", floor=1)  # empty
    cast.owner.last_login = NOW - dt.timedelta(days=30)
    cast.owner.save(update_fields=["last_login"])
    cast.other_owner.last_login = NOW - dt.timedelta(days=400)
    cast.other_owner.save(update_fields=["last_login"])
    with time_machine.travel(NOW, tick=False):
        services.households_snapshot(day=TODAY)
    row = HouseholdSnapshot.objects.get(estate=cast.estate, grid=cast.grid)
    assert (row.households, row.online_households) == (2, 1)


def test_default_targets_are_seeded_once(cast):
    assert services.targets_seed(company=cast.company, year=2026) == len(services.DEFAULT_TARGETS)
    assert services.targets_seed(company=cast.company, year=2026) == 0
    satisfaction = KpiTarget.objects.get(company=cast.company, year=2026, code=KpiCode.SATISFACTION)
    assert (satisfaction.target, satisfaction.direction) == (90, "higher")
    assert KpiTarget.objects.get(company=cast.company, code=KpiCode.REOPEN_RATE).direction == "lower"


def _service_rows():
    fields = [f.attname for f in ServiceCube._meta.concrete_fields if f.attname != "id"]
    return sorted(tuple(str(row[name]) for name in fields) for row in ServiceCube.objects.values(*fields))


@pytest.mark.django_db(transaction=True)
def test_two_service_rollup_workers_at_once_leave_the_rows_one_run_writes(cast):
    """The service rollup's first run (a rebuild) and its frequent run, each by two workers at the same moment: no
    failure, no duplicate row (the unique constraint would raise), and the rows a single rebuild writes."""
    wf.seed_catalogue(cast)
    for days in range(3):
        wf.order(cast, status="closed", now=NOW - dt.timedelta(days=days, hours=1))
    for _round in range(2):  # the first run on an installation rebuilds; the second rewrites today and yesterday
        _twice_at_once(lambda: service_rollup.rollup_run(now=NOW))
    together = _service_rows()
    assert any("o:" in row[-1] for row in together)  # the closed orders' ratings are in the tallies
    ServiceCube.objects.all().delete()
    service_rollup.rollup_rebuild(now=NOW)
    assert _service_rows() == together
