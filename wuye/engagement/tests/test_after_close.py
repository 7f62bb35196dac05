"""Closing a work order sends its reporter the one-question survey, once."""

import pytest

from wuye.engagement.models import Survey
from wuye.workorders import services
from wuye.workorders.choices import Action
from wuye.workorders.tests import factories as wf

pytestmark = pytest.mark.django_db


def test_closing_an_order_invites_its_reporter_to_the_after_order_survey(cast):
    wf.seed_catalogue(cast)
    order = wf.order(cast, status="visited")
    assert not Survey.objects.filter(work_order=order).exists()
    services.workorder_act(actor=cast.supervisor, order_id=order.id, action=Action.CLOSE)
    survey = Survey.objects.get(work_order=order)
    assert survey.kind == "after_order"
    services.workorder_act(actor=cast.owner, order_id=order.id, action=Action.REOPEN)
    assert Survey.objects.filter(work_order=order).count() == 1


def test_an_order_closed_by_force_gets_the_survey_too(cast):
    wf.seed_catalogue(cast)
    order = wf.order(cast, status="taken")
    services.workorder_act(
        actor=cast.supervisor, order_id=order.id, action=Action.FORCE_CLOSE, params={"reason": "重复"}
    )
    assert Survey.objects.filter(work_order=order).exists()
