"""The satisfaction index and My follow-ups in a real browser on a phone-sized screen: the supervisor (the cast's grid
leader) opens the index from the desk home, drills from the estate into its grid and a building with the ECharts bars
drawn, then records what was done about a low rating."""

import pytest

from wuye.core import clock
from wuye.testing.factories import PASSWORD
from wuye.workorders import services as order_services
from wuye.workorders.choices import Action
from wuye.workorders.tests import factories as wf

pytestmark = pytest.mark.browser


def test_grid_leader_reads_the_index_drills_down_and_closes_a_follow_up(chromium, live_server, live_cast):
    wf.seed_catalogue(live_cast)
    order = wf.order(live_cast, status="resolved", now=clock.now())
    order_services.workorder_act(
        actor=live_cast.owner, order_id=order.id, action=Action.RATE, params={"verdict": "bad", "score": 2}
    )

    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=identifier]", "supervisor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/desk/")
    page.get_by_test_id("link-satisfaction").click()
    page.wait_for_selector("[data-testid=satisfaction-child]")
    page.locator("[data-testid=satisfaction-child] a").first.click()
    page.wait_for_selector(f"[data-testid=satisfaction-title]:has-text('{live_cast.estate.name}')")
    page.wait_for_selector("#satisfaction-chart[data-drawn='1'] canvas")
    assert page.locator("[data-dimension=engineering] [data-testid=dimension-index]").inner_text() == "0.0"
    page.locator("[data-testid=satisfaction-child] a").first.click()
    page.wait_for_selector(f"[data-testid=satisfaction-title]:has-text('{live_cast.grid.name}')")
    page.locator("[data-testid=satisfaction-child] a").first.click()
    page.wait_for_url(f"**building={live_cast.building.id}*")
    assert not page.locator("[data-testid=satisfaction-children]").count()  # a building is the last level

    page.goto(f"{live_server.url}/desk/")
    page.get_by_test_id("link-follow-ups").click()
    item = page.locator(f"[data-testid=follow-up]:has-text('{order.number}')")
    item.locator("textarea[name=note]").fill("已电话联系业主，明天上门复修")
    item.get_by_test_id("follow-up-done").click()
    page.wait_for_selector("[data-testid=follow-ups-empty]")
    context.close()
