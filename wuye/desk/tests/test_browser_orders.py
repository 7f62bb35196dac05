"""In a real browser on a phone-sized screen: a technician works an order from 我的工单 to finished, and the SLA
countdown badges are live (countdown.js)."""

import json
import re

import pytest

from wuye.portal.tests.test_browser import sign_in
from wuye.workorders.services import catalogue_seed
from wuye.workorders.tests import factories as orders

pytestmark = pytest.mark.browser


def countdown_prefixes(page) -> tuple[str, str]:
    """What a live badge starts with, in the page's language: ("剩 ", "超时 ") once translated."""
    words = json.loads(page.locator("#countdown-words").text_content())
    return words["left"].split("%(time)s")[0], words["overdue"].split("%(time)s")[0]


def test_technician_takes_checks_in_starts_and_finishes_an_order_on_a_phone(page, live_server, live_cast):
    catalogue_seed(company=live_cast.company)
    order = orders.order(live_cast, status="dispatched")
    sign_in(page, live_server.url, "technician")
    page.wait_for_url(f"{live_server.url}/desk/")
    page.get_by_test_id("link-mine").click()
    page.wait_for_url(f"{live_server.url}/desk/orders/mine/")
    card = page.locator(f'[data-testid=mine-card][data-order="{order.id}"]')
    assert order.number in card.inner_text()

    # The countdown badge was rewritten by countdown.js: time left or overdue, not the server's "due at" text.
    badge = card.get_by_test_id("countdown")
    left, overdue = countdown_prefixes(page)
    page.wait_for_function("el => el.querySelector('time') === null", arg=badge.element_handle())
    text = badge.inner_text()
    assert text.startswith(left.strip()) or text.startswith(overdue.strip()), text
    if left.startswith("剩"):
        assert re.search("剩|超时", text)
    assert badge.get_attribute("data-state") in ("ok", "warning", "breached")

    for action in ("take", "arrive", "start"):
        card.get_by_test_id(f"do-{action}").click()
        page.wait_for_url(f"{live_server.url}/desk/orders/mine/")
    card.get_by_test_id("open-resolve").click()
    page.wait_for_url(f"**/desk/orders/{order.id}/?open=resolve#act-resolve")
    form = page.get_by_test_id("act-resolve")
    form.locator("textarea[name=resolution]").fill("更换了水龙头阀芯")
    form.locator("input[name=material_name]").first.fill("阀芯")
    form.locator("input[name=material_quantity]").first.fill("1")
    form.locator("input[name=material_unit]").first.fill("个")
    form.get_by_test_id("do-resolve").click()
    page.wait_for_url(f"{live_server.url}/desk/orders/{order.id}/")
    assert page.get_by_test_id("order-status").first.get_attribute("data-value") == "resolved"
    assert "更换了水龙头阀芯" in page.get_by_test_id("order-resolution").inner_text()
    order.refresh_from_db()
    assert order.status == "resolved"
    assert order.materials == [{"name": "阀芯", "quantity": 1, "unit": "个"}]
