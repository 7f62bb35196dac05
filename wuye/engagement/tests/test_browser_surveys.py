"""Surveys in a real browser on phone-sized screens: the owner answers the survey sent after a closed work order, and
the manager's results page draws its ECharts charts from the locally served library."""

import re

import pytest

from wuye.engagement import services
from wuye.engagement.models import Answer, Response
from wuye.testing.factories import PASSWORD
from wuye.workorders.choices import Status
from wuye.workorders.tests import factories as wf

from . import factories as ef

pytestmark = pytest.mark.browser


def person(chromium, base_url: str, username: str):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=identifier]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page


def test_owner_answers_the_survey_after_a_closed_order(chromium, live_server, live_cast):
    wf.seed_catalogue(live_cast)
    order = wf.order(live_cast, status=Status.VISITED)
    order.status = Status.CLOSED
    order.save(update_fields=["status"])
    survey = services.after_order_survey_invite(order=order)

    context, owner = person(chromium, live_server.url, "owner")
    owner.goto(f"{live_server.url}/portal/surveys/")
    owner.get_by_test_id("survey-card").first.click()
    owner.wait_for_url(re.compile(rf".*/portal/surveys/{survey.id}/$"))
    owner.locator("label[for$='-5']").first.click()
    owner.get_by_test_id("survey-submit").click()
    owner.wait_for_url(re.compile(r".*/portal/surveys/$"))
    assert owner.get_by_test_id("survey-answered").count() == 1
    context.close()
    assert Answer.objects.get(response__survey=survey).number == 5


def test_the_results_page_draws_its_charts(chromium, live_server, live_cast):
    survey = ef.published(live_cast)
    services.response_submit(user=live_cast.owner, survey=survey, answers=ef.answers(survey), now=survey.opens_at)
    assert Response.objects.count() == 1

    context, manager = person(chromium, live_server.url, "manager")
    manager.goto(f"{live_server.url}/desk/surveys/{survey.id}/")
    manager.wait_for_selector(".survey-chart[data-drawn=true] canvas")
    drawn = manager.locator(".survey-chart[data-drawn=true]").count()
    context.close()
    # One chart per choice, scale and recommendation question, plus responses per day (the text answer waits for
    # its classification, which runs after the commit).
    assert drawn >= 5
