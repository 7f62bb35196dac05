"""The whole closed loop in a real browser, each person on their own phone-sized screen: the owner reports a leaking
pipe with a photo, customer service accepts and dispatches, the technician checks in and finishes on the desk, the
owner rates, customer service records the return visit and closes, and the owner sees 已办结 with every step."""

import re

import pytest
from django.utils import translation
from PIL import Image

from wuye.testing.factories import PASSWORD
from wuye.workorders import services
from wuye.workorders.choices import Action, Status
from wuye.workorders.models import WorkOrder

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


def zh(label) -> str:
    with translation.override("zh-hans"):
        return str(label)


def test_owner_report_to_closed_with_a_complete_timeline(chromium, live_server, live_cast, tmp_path):
    services.catalogue_seed(company=live_cast.company)
    base = live_server.url
    photo = tmp_path / "leak.jpg"
    Image.new("RGB", (640, 480), (40, 90, 160)).save(photo, "JPEG")

    owner_context, owner = person(chromium, base, "owner")
    owner.goto(f"{base}/portal/orders/new/")
    owner.select_option("select[name=category]", label="给排水")
    owner.fill("textarea[name=description]", "厨房水管漏水，地上有积水")
    owner.set_input_files("input[name=photos]", str(photo))
    owner.get_by_test_id("order-submit").click()
    owner.wait_for_url(re.compile(r".*/portal/orders/\d+/$"))
    order = WorkOrder.objects.get()

    service_context, service = person(chromium, base, "service_agent")
    service.goto(f"{base}/desk/orders/{order.id}/")
    service.get_by_test_id("do-accept").click()
    service.wait_for_load_state()
    dispatch = service.get_by_test_id("act-dispatch")
    dispatch.locator("select[name=assignee]").select_option(value=str(live_cast.technician.id))
    dispatch.get_by_test_id("do-dispatch").click()
    service.wait_for_load_state()
    order.refresh_from_db()
    assert (order.status, order.assignee_id) == (Status.DISPATCHED, live_cast.technician.id)

    tech_context, tech = person(chromium, base, "technician")
    tech.goto(f"{base}/desk/orders/mine/")
    card = tech.locator(f'[data-testid=mine-card][data-order="{order.id}"]')
    for action in ("take", "arrive", "start"):
        card.get_by_test_id(f"do-{action}").click()
        tech.wait_for_url(f"{base}/desk/orders/mine/")
    card.get_by_test_id("open-resolve").click()
    resolve = tech.get_by_test_id("act-resolve")
    resolve.wait_for()
    resolve.locator("textarea[name=resolution]").fill("更换了进水软管，试水无渗漏")
    resolve.get_by_test_id("do-resolve").click()
    tech.wait_for_url(f"{base}/desk/orders/{order.id}/")
    order.refresh_from_db()
    assert order.status == Status.RESOLVED

    owner.goto(f"{base}/portal/orders/{order.id}/")
    owner.get_by_test_id("verdict-good").click()
    owner.get_by_test_id("score-5").click()
    owner.get_by_test_id("order-rate").click()
    owner.get_by_test_id("order-notice").wait_for()

    service.goto(f"{base}/desk/orders/visits/")
    visit = service.locator(f'[data-testid=visit-card][data-order="{order.id}"]')
    visit.locator("input[name=satisfied]").first.check()
    visit.get_by_test_id("do-visit").click()
    service.wait_for_load_state()
    service.goto(f"{base}/desk/orders/{order.id}/")
    service.get_by_test_id("do-close").click()
    service.wait_for_load_state()

    owner.goto(f"{base}/portal/orders/{order.id}/")
    assert owner.get_by_test_id("order-status").inner_text() == zh(Status.CLOSED.label) == "已办结"
    actions = [entry.get_attribute("data-action") for entry in owner.get_by_test_id("timeline-entry").all()]
    assert actions == [
        Action.SUBMIT,
        Action.ACCEPT,
        Action.DISPATCH,
        Action.TAKE,
        Action.ARRIVE,
        Action.START,
        Action.RESOLVE,
        Action.RATE,
        Action.VISIT,
        Action.CLOSE,
    ]
    order.refresh_from_db()
    assert (order.verdict, order.score, order.visit_satisfied) == ("good", 5, True)
    assert order.photos.count() == 1
    for context in (owner_context, service_context, tech_context):
        context.close()
