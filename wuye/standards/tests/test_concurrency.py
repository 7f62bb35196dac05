"""Two schedulers at once: task generation and the window scanner run in two threads, each with its own database
connection, released together by a barrier. On PostgreSQL (the `make test-postgres` run) these are real concurrent
transactions: INSERT … ON CONFLICT DO NOTHING against the (plan, window_start) constraint and SELECT … FOR UPDATE
SKIP LOCKED must keep every window to one task and every closing to one event. On SQLite the IMMEDIATE transactions
serialise the writers and the same assertions hold."""

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import close_old_connections, connection

from wuye.core.errors import Forbidden
from wuye.standards import services
from wuye.standards.models import Plan, Task, TaskEvent

from . import factories as sf
from .factories import NOW

ROUNDS = 4


def run_together(work, count: int = 2) -> list:
    """Run `work()` in `count` threads released at the same moment; return what each returned."""
    barrier = threading.Barrier(count)
    results, failures = [], []

    def worker():
        try:
            barrier.wait()
            results.append(work())
        except Exception as failure:  # surfaced below: a thread's exception must fail the test
            failures.append(failure)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return results


def several_plans(cast) -> list[Plan]:
    sf.assign(cast, "level_1")
    return [
        sf.plan(cast),  # twice a day
        sf.plan(
            cast,
            name="重点部位巡查",
            items=("sec-key-area-patrol",),
            profile_dimension="key_area_patrol",
            assignee_role="guard",
        ),
        sf.plan(
            cast, name="道路清扫", items=("cln-road-sweep",), profile_dimension="road_sweeping", assignee_role="cleaner"
        ),
        sf.plan(cast, name="月末抄表", items=("eng-meter-reading",)),
    ]


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_generating_at_once_insert_every_window_exactly_once(cast):
    plans = several_plans(cast)
    for round_number in range(ROUNDS):
        now = NOW + dt.timedelta(days=round_number * 3)
        before = Task.objects.count()
        results = run_together(lambda now=now: services.tasks_generate(now=now, horizon_days=14))
        per_window = Counter(Task.objects.values_list("plan_id", "window_start"))
        assert per_window and max(per_window.values()) == 1, connection.vendor
        # Every new row was counted by at least one of the two (both count a row they raced for).
        assert Task.objects.count() - before <= sum(results), (connection.vendor, results)
    expected = {
        plan.id: len(
            services.plan_slots(
                plan,
                start=NOW - dt.timedelta(days=1),
                end=NOW + dt.timedelta(days=(ROUNDS - 1) * 3 + 14),
                assignments=list(plan.estate.profile_assignments.select_related("profile")),
            )
        )
        for plan in plans
    }
    # Windows that had already closed by the first run are never generated; everything else is there once.
    closed_before_first_run = {
        plan.id: len(
            [
                slot
                for slot, _assignment in services.plan_slots(
                    plan,
                    start=NOW - dt.timedelta(days=1),
                    end=NOW + dt.timedelta(days=1),
                    assignments=list(plan.estate.profile_assignments.select_related("profile")),
                )
                if slot.end <= NOW
            ]
        )
        for plan in plans
    }
    actual = Counter(Task.objects.values_list("plan_id", flat=True))
    assert actual == {plan_id: expected[plan_id] - closed_before_first_run[plan_id] for plan_id in expected}


@pytest.mark.django_db(transaction=True)
def test_two_window_scanners_at_once_close_each_window_once(cast):
    sf.assign(cast, "level_1")
    patrol = sf.plan(
        cast,
        name="重点部位巡查",
        items=("sec-key-area-patrol",),
        profile_dimension="key_area_patrol",
        assignee_role="guard",
    )
    services.tasks_generate(plan=patrol, now=NOW, horizon_days=1)
    later = NOW + dt.timedelta(hours=12)
    closing = Task.objects.filter(window_end__lte=later).count()
    assert closing >= 10
    results = run_together(lambda: services.tasks_close_windows(now=later))
    # Past their grace (2 h) they go straight to missed, the rest to late: one event per task either way.
    assert sum(late + missed for late, missed in results) == closing, (connection.vendor, results)
    events = Counter(TaskEvent.objects.values_list("task_id", flat=True))
    assert len(events) == closing and set(events.values()) == {1}
    assert Task.objects.filter(status="missed").count() == Task.objects.filter(grace_until__lte=later).count()


@pytest.mark.django_db(transaction=True)
def test_two_people_starting_the_same_pool_task_one_takes_it(cast):
    cleaner = sf.cleaner(cast)
    second = sf.factories.UserFactory(username="cleaner2")
    sf.account_services.membership_ensure(user=second, estate=cast.estate, role="cleaner")
    task = sf.task(cast, assignee_role="cleaner")
    outcomes = []

    def start(person):
        try:
            services.task_act(actor=person, task_id=task.id, action="start", now=NOW)
            outcomes.append(("started", person.id))
        except (services.InvalidTaskMove, Forbidden) as refusal:
            outcomes.append((type(refusal).__name__, person.id))

    people = iter([cleaner, second])
    lock = threading.Lock()

    def work():
        with lock:
            person = next(people)
        start(person)

    run_together(work)
    started = [who for what, who in outcomes if what == "started"]
    assert len(started) == 1, (connection.vendor, outcomes)
    task.refresh_from_db()
    assert task.assignee_id == started[0]
    assert TaskEvent.objects.filter(task=task, action="start").count() == 1
