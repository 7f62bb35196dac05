"""Two workers at once, each with its own database connection, released together by a barrier. On PostgreSQL (the
DATABASE_URL run) these are real concurrent transactions: round generation relies on INSERT … ON CONFLICT DO NOTHING
against (route, window start), the closer on SELECT … FOR UPDATE SKIP LOCKED, scans on the round's row lock and the
(round, checkpoint) constraint. On SQLite the IMMEDIATE transactions serialise the writers and the same assertions
hold."""

import datetime as dt
from collections import Counter

import pytest
from django.db import connection

from wuye.inspections import services
from wuye.inspections.models import Round, RoundEvent, Scan
from wuye.notifications.models import Notification
from wuye.standards.tests.test_concurrency import run_together

from . import factories as pf
from .factories import NOW


def routes(cast, count=3):
    points = pf.checkpoints(cast)
    hourly = {"kind": "daily", "windows": [{"start": "00:00", "end": "24:00"}], "every_minutes": 60}
    return [pf.route(cast, name=f"线{index}", points=points, schedule=hourly) for index in range(count)]


@pytest.mark.django_db(transaction=True)
def test_two_generators_at_once_insert_every_window_once(cast):
    made = routes(cast)
    for step in range(3):
        now = NOW + dt.timedelta(days=step, hours=5)
        run_together(lambda now=now: services.rounds_generate(now=now))
        per_window = Counter(Round.objects.values_list("route_id", "window_start"))
        assert max(per_window.values()) == 1, connection.vendor
    assert {route.id for route in made} == set(Round.objects.values_list("route_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_two_closers_at_once_close_and_alert_each_round_once(cast):
    routes(cast)
    later = NOW + dt.timedelta(hours=10)
    closing = Round.objects.filter(window_end__lte=later).count()
    assert closing == 30  # three routes, ten hourly windows
    results = run_together(lambda: services.rounds_close(now=later, batch=7))
    results += [services.rounds_close(now=later) for _ in range(3)]
    assert sum(results) == closing, (connection.vendor, results)
    closes = Counter(RoundEvent.objects.filter(action="close").values_list("round_id", flat=True))
    assert len(closes) == closing and set(closes.values()) == {1}
    assert Notification.objects.filter(kind="patrol.round_closed").count() == closing


@pytest.mark.django_db(transaction=True)
def test_the_same_label_scanned_twice_at_once_counts_once(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), NOW)
    guard = pf.guard(cast)
    results = run_together(
        lambda: services.round_scan(actor=guard, round_id=round_.id, code=pf.code(points[0]), now=NOW).created
    )
    assert sorted(results) == [False, True], connection.vendor
    assert Scan.objects.filter(round=round_).count() == 1
    assert RoundEvent.objects.filter(round=round_, action="start").count() == 1
