"""Random action sequences (hypothesis) keep the work order's invariants, whatever is tried in whatever order."""

import datetime as dt

import pytest
from django.db import connection
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from wuye.core.errors import DomainError
from wuye.workorders import services
from wuye.workorders.choices import ASSIGNED, TERMINAL, USER_ACTIONS, Status
from wuye.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderStep

from . import factories as wf

START = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)


def machine_for(cast):
    class WorkOrderMachine(RuleBasedStateMachine):
        @initialize()
        def report(self):
            self.now = START
            self.order = wf.order(cast, now=START)
            self.accepted_actions = 0

        @rule(action=st.sampled_from(sorted(USER_ACTIONS)), minutes=st.integers(min_value=0, max_value=600))
        def act(self, action, minutes):
            self.now += dt.timedelta(minutes=minutes)
            before = WorkOrderEvent.objects.filter(order=self.order).count()
            try:
                services.workorder_act(
                    actor=None, order_id=self.order.id, action=action, params=wf.params_for(cast, action), now=self.now
                )
            except DomainError:
                assert WorkOrderEvent.objects.filter(order=self.order).count() == before
            else:
                assert WorkOrderEvent.objects.filter(order=self.order).count() > before

        @rule(minutes=st.integers(min_value=1, max_value=3000))
        def time_passes(self, minutes):
            self.now += dt.timedelta(minutes=minutes)
            services.sla_scan(now=self.now)

        @invariant()
        def at_most_one_assignee_and_only_when_someone_is_on_it(self):
            order = WorkOrder.objects.get(pk=self.order.pk)
            if order.status in ASSIGNED:
                assert order.assignee_id is not None, order.status
            if order.status in (Status.SUBMITTED, Status.ACCEPTED):
                assert order.assignee_id is None, order.status
            if order.status in TERMINAL:
                assert order.closed_at is not None

        @invariant()
        def events_are_in_time_order(self):
            times = list(WorkOrderEvent.objects.filter(order=self.order).order_by("id").values_list("at", flat=True))
            assert times == sorted(times)

        @invariant()
        def due_times_are_never_before_the_step_starts(self):
            for row in WorkOrderStep.objects.filter(order=self.order):
                if row.due_at is not None:
                    assert row.due_at >= row.started_at, row.step
                if row.warn_at is not None and row.due_at is not None:
                    assert row.warn_at <= row.due_at, row.step

    return WorkOrderMachine


@pytest.mark.django_db
def test_random_action_sequences_keep_the_invariants(cast):
    wf.seed_catalogue(cast)
    wf.second_technician(cast)
    # The rules under test are the same Python on both databases; PostgreSQL runs fewer sequences because each of
    # its savepoints and row locks is a server round trip (30 sequences take ~35 s on SQLite and minutes there).
    examples = 8 if connection.vendor == "postgresql" else 30
    run_state_machine_as_test(
        machine_for(cast),
        settings=settings(
            max_examples=examples, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
