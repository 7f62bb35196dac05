"""Live dispatch advice on the desk: the optimiser's suggestion with its reasons, and why the others may not go."""

import datetime as dt

import pytest
from django.utils import translation

from wuye.dispatch.selectors import dispatch_suggestions
from wuye.workorders import services
from wuye.workorders.tests import factories as wf
from wuye.workorders.tests.factories import staff_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def crew(cast):
    wf.seed_catalogue(cast)
    second = wf.second_technician(cast)
    staff_member(cast, cast.technician, skills=["electrical", "plumbing"], licence_expires=dt.date(2026, 5, 20))
    staff_member(cast, second, skills=["electrical"], licence_expires=dt.date(2030, 1, 1))
    return cast


def test_the_suggestion_is_the_eligible_technician_and_the_lapsed_licence_is_explained(crew):
    order = wf.order(crew, status="accepted", code="electrical")
    candidates = list(services.dispatch_candidates(order))
    with translation.override("en"):
        advice = dispatch_suggestions(order, candidates, now=dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC))
    assert advice["suggested_id"] == crew.users["technician2"].id
    assert advice["reasons"]
    lapsed = advice["eligibility"][crew.technician.id]
    assert not lapsed.ok
    assert "2026-05-20" in lapsed.failed()[0].message


def test_the_desk_dispatch_form_marks_the_suggestion_and_says_why_others_may_not_go(crew):
    order = wf.order(crew, status="accepted", code="electrical")
    page = crew.browser("supervisor").get(f"/desk/orders/{order.id}/").content.decode()
    assert f"★ {crew.users['technician2'].display_name}" in page
    assert f"✗ {crew.technician.display_name}" in page
    assert "2026-05-20" in page
