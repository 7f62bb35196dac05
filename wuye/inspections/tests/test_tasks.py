"""The periodic jobs: registered with the scheduler, and each runs its service at the clock's time."""

import datetime as dt

import pytest
import time_machine

from wuye.core.scheduler import _registry
from wuye.inspections import tasks as jobs
from wuye.inspections.choices import RoundStatus
from wuye.inspections.models import Round

from . import factories as pf
from .factories import NOW

pytestmark = pytest.mark.django_db


def test_the_periodic_jobs_are_registered():
    assert {"inspections.generate_rounds", "inspections.close_rounds", "inspections.sync_rectifications"} <= set(
        _registry
    )
    assert _registry["inspections.close_rounds"].every == dt.timedelta(minutes=1)


def test_the_close_job_closes_what_the_clock_says_has_ended(cast):
    route = pf.route(cast)
    with time_machine.travel(pf.local(2026, 11, 27, 9, 0, 30), tick=False):
        assert jobs.close_rounds.enqueue().return_value == 1
    assert pf.round_at(route, NOW).status == RoundStatus.MISSED
    assert Round.objects.filter(closed_at__isnull=False).count() == 1


def test_the_generate_job_keeps_two_days_ahead(cast):
    route = pf.route(cast)
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        assert jobs.generate_rounds.enqueue().return_value == 2
    assert Round.objects.filter(route=route).count() == 6


def test_the_sync_job_runs_on_an_empty_database():
    assert jobs.sync_rectifications.enqueue().return_value == 0
