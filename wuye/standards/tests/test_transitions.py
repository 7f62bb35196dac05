"""One walk over TASK_TRANSITIONS: from every status, every action either moves the task exactly as the table says
and writes one event, or is refused naming the current status and changes nothing."""

import pytest
from django.db import transaction

from wuye.standards import services
from wuye.standards.choices import TASK_TRANSITIONS, TaskAction, TaskStatus
from wuye.standards.models import Task, TaskEvent

from . import factories as sf

pytestmark = pytest.mark.django_db


class Undo(Exception):
    pass


def try_action(task: Task, action: str):
    """Run one action as the system inside a savepoint that is always rolled back."""
    before = TaskEvent.objects.filter(task=task).count()
    result = {}
    try:
        with transaction.atomic():
            try:
                moved = services.task_act(
                    actor=None, task_id=task.id, action=action, evidence=sf.evidence_for(task), now=task.window_start
                )
                result = {
                    "outcome": "moved",
                    "status": moved.status,
                    "events": TaskEvent.objects.filter(task=task).count() - before,
                }
            except services.InvalidTaskMove as refusal:
                result = {
                    "outcome": "refused",
                    "message": refusal.message,
                    "status": Task.objects.get(pk=task.id).status,
                    "events": TaskEvent.objects.filter(task=task).count() - before,
                }
            raise Undo
    except Undo:
        pass
    return result


@pytest.mark.parametrize("status", TaskStatus.values)
@pytest.mark.parametrize("action", TaskAction.values)
def test_every_action_from_every_status_follows_the_table(cast, status, action):
    task = sf.task(cast, status=status)
    assert task.status == status
    sources, target = TASK_TRANSITIONS[action]
    result = try_action(task, action)
    if status in sources:
        assert result == {"outcome": "moved", "status": target, "events": 1}
    else:
        assert result["outcome"] == "refused"
        assert result["status"] == status and result["events"] == 0
        assert str(TaskStatus(status).label) in result["message"]


def test_the_table_reaches_every_status_and_done_and_missed_are_final():
    targets = {target for _sources, target in TASK_TRANSITIONS.values()}
    assert targets | {TaskStatus.PENDING} == set(TaskStatus)
    leaving = set().union(*(sources for sources, _target in TASK_TRANSITIONS.values()))
    assert {TaskStatus.DONE, TaskStatus.MISSED}.isdisjoint(leaving)
