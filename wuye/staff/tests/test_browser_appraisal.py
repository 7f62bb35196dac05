"""The appraisal in a real browser on a phone-sized screen: the technician reads their breakdown (the contributions
add up to the score shown), the manager confirms the month's 服务之星 on the desk, and the owner sees it in the
portal."""

import re
from decimal import Decimal

import pytest

from wuye.staff import services
from wuye.staff.models import AppraisalPolicy, AppraisalScore, ServiceStar
from wuye.testing.factories import PASSWORD

from .history import AFTER_OCTOBER, OCTOBER, at, seed_catalogue, walk

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


def test_breakdown_then_confirmed_star_reaches_the_owner(chromium, live_server, live_cast):
    seed_catalogue(live_cast)
    for day in (3, 9, 16):
        walk(live_cast, start=at(day))
    AppraisalPolicy.objects.create(company=live_cast.company, star_min_volume=3)
    services.appraisal_compute(estate=live_cast.estate, month=OCTOBER, now=AFTER_OCTOBER)
    score = AppraisalScore.objects.get(person=live_cast.technician)

    context, technician = person(chromium, live_server.url, "technician")
    technician.goto(f"{live_server.url}/desk/")
    technician.get_by_test_id("link-appraisal").click()
    technician.wait_for_url(re.compile(r".*/desk/appraisal/mine/$"))
    technician.get_by_test_id("mine-row").first.click()
    technician.wait_for_url(re.compile(rf".*/desk/appraisal/scores/{score.id}/$"))
    contributions = technician.get_by_test_id("breakdown-contribution").all_inner_texts()
    total = technician.get_by_test_id("breakdown-total").inner_text()
    context.close()
    assert sum(Decimal(text) for text in contributions) == Decimal(total) == score.score

    context, manager = person(chromium, live_server.url, "manager")
    manager.goto(f"{live_server.url}/desk/appraisal/stars/")
    manager.get_by_test_id("star-confirm-form").get_by_role("button").click()
    manager.wait_for_url(re.compile(r".*/desk/appraisal/stars/$"))
    assert manager.locator("[data-testid=star-card][data-status=confirmed]").count() == 1
    context.close()
    assert ServiceStar.objects.get().status == "confirmed"

    context, owner = person(chromium, live_server.url, "owner")
    owner.goto(f"{live_server.url}/portal/")
    owner.get_by_test_id("stars-link").click()
    owner.wait_for_url(re.compile(r".*/portal/stars/$"))
    cards = owner.get_by_test_id("portal-star").all_inner_texts()
    context.close()
    assert len(cards) == 1 and live_cast.technician.display_name in cards[0] and "2026-10" in cards[0]
