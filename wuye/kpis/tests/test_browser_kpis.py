"""The KPI dashboard in a real browser on a phone-sized screen: the manager opens it, drills into the estate and a
grid, sees the trend charts drawn by the locally served ECharts, and downloads the monthly report."""

import datetime as dt

import pytest

from wuye.core import clock
from wuye.kpis import services
from wuye.testing.factories import PASSWORD
from wuye.workorders.tests import factories as wf

pytestmark = pytest.mark.browser


def test_manager_drills_down_and_downloads_the_monthly_report(chromium, live_server, live_cast):
    wf.seed_catalogue(live_cast)
    services.targets_seed(company=live_cast.company, year=clock.today().year)
    now = clock.now()
    for hours in (3, 30, 60):
        wf.order(live_cast, status="closed", now=now - dt.timedelta(hours=hours))
    services.rollup_run(now=now)

    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=identifier]", "manager")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/desk/kpis/")
    assert page.get_by_test_id("kpi-title").inner_text().endswith(live_cast.company.name)
    page.get_by_test_id("kpi-child-link").first.click()
    page.wait_for_selector(f"[data-testid=kpi-title]:has-text('{live_cast.estate.name}')")
    page.get_by_test_id("kpi-child-link").first.click()
    page.wait_for_selector(f"[data-testid=kpi-title]:has-text('{live_cast.grid.name}')")
    page.wait_for_selector(".kpi-chart[data-drawn='1'] canvas")
    assert page.locator("[data-testid=kpi-card][data-code=satisfaction] [data-testid=kpi-value]").inner_text() != "—"
    with page.expect_download() as download:
        page.get_by_test_id("kpi-export-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    with page.expect_download() as download:
        page.get_by_test_id("kpi-export-pdf").click()
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"
    context.close()
