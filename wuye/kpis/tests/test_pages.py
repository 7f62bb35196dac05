"""The KPI dashboard page, its drill-down, its exports and the API: what a manager sees, that the numbers are the
rollups', that bad parameters answer 400/422 naming the parameter, and that the page costs the same queries
whatever the amount of data."""

import datetime as dt
import io
import shutil
import subprocess

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from wuye.kpis import selectors, services
from wuye.kpis.choices import KpiCode
from wuye.workorders.tests import factories as wf

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def shop(cast):
    wf.seed_catalogue(cast)
    services.targets_seed(company=cast.company, year=2026)
    with time_machine.travel(NOW, tick=False):
        for days, status in ((1, "closed"), (2, "rated"), (3, "visited"), (370, "closed")):
            wf.order(cast, status=status, now=NOW - dt.timedelta(days=days))
        services.rollup_run(now=NOW)
        yield cast


def get(cast, member, url):
    return cast.browser(member).get(url)


def test_the_manager_sees_every_kpi_with_target_actual_last_year_and_status(shop):
    response = get(shop, "manager", f"/desk/kpis/?estate={shop.estate.id}")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="kpi-card"') == len(response.context["data"].kpis) >= 20
    satisfaction = next(line for line in response.context["data"].kpis if line.code == KpiCode.SATISFACTION)
    assert (satisfaction.value, satisfaction.target, satisfaction.status) == (100.0, 90, "good")
    assert 'data-code="satisfaction" data-status="good"' in html
    assert 'data-code="patrol_completion" data-status="none"' in html  # no rounds in this shop: "—"
    # ECharts comes from the installed package, never a CDN.
    assert "/static/vendor/echarts/echarts.min.js" in html and "cdn" not in html.lower()
    assert 'id="kpi-trend"' in html


def test_drilling_down_goes_company_estate_grid_person(shop):
    top = get(shop, "company_admin", "/desk/kpis/")
    assert top.context["data"].scope.level == "company"
    (estate_link,) = top.context["children"]
    assert estate_link["url"].startswith(f"?estate={shop.estate.id}")
    estate = get(shop, "company_admin", "/desk/kpis/" + estate_link["url"])
    grid_links = [child["url"] for child in estate.context["children"] if child["url"]]
    assert grid_links and f"grid={shop.grid.id}" in grid_links[0]
    grid = get(shop, "company_admin", "/desk/kpis/" + grid_links[0])
    assert [child["name"] for child in grid.context["children"]] == [shop.technician.display_name]
    person = get(shop, "company_admin", "/desk/kpis/" + grid.context["children"][0]["url"])
    assert person.context["data"].scope.level == "person"
    assert person.context["data"].child_level is None
    crumbs = [name for name, _url in person.context["breadcrumbs"]]
    assert crumbs == [shop.company.name, shop.estate.name, shop.grid.name, shop.technician.display_name]


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("estate=abc", "estate"),
        ("from=2026-13-01", "from"),
        ("from=2026-11-10&to=2026-11-01", "to"),
        ("month=11-2026", "month"),
        ("grid=&person=3", "grid"),
    ],
)
def test_a_bad_parameter_answers_400_naming_it(shop, query, word):
    response = get(shop, "manager", f"/desk/kpis/?{query}")
    assert response.status_code == 400
    assert word in response.content.decode()


def test_the_page_costs_the_same_queries_with_more_data(shop):
    client = shop.browser("manager")
    url = f"/desk/kpis/?estate={shop.estate.id}"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    with time_machine.travel(NOW, tick=False):
        for days in range(4, 12):
            wf.order(shop, status="closed", now=NOW - dt.timedelta(days=days))
        services.rollup_run(now=NOW)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    # 15 for the rollups, 6 for the satisfaction index (three grouped reads for the period, last year and both
    # trends; three for the grids below), 10 for the hook KPIs (rounds, inspections, standards tasks, alarms and
    # equipment: one read for all 26 periods, one grouped read for the grids below).
    assert len(many) == len(few) <= 31


def test_the_excel_report_holds_the_same_numbers(shop):
    response = get(shop, "manager", f"/desk/kpis/export.xlsx?estate={shop.estate.id}&month=2026-11")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    rows = {row[1]: row for row in sheet.iter_rows(min_row=5, values_only=True)}
    scope = selectors.scope_for(shop.manager, estate=shop.estate.id)
    values = selectors.kpis_for(scope, dt.date(2026, 11, 1), dt.date(2026, 11, 30), TODAY)
    label = str(KpiCode(KpiCode.SLA_ACCEPT).label)
    assert rows[label][4] == round(values[KpiCode.SLA_ACCEPT], 2)
    assert len(workbook.worksheets) == 3  # KPIs, drill-down, trend


def test_the_pdf_report_embeds_a_chinese_font_and_reads_in_chinese(shop):
    response = get(shop, "manager", f"/desk/kpis/export.pdf?estate={shop.estate.id}")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert b"NotoSansCJK" in response.content
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True
        ).stdout.decode()
        assert shop.estate.name in text  # 翠湖花园, drawn with the embedded font


def test_the_pdf_answers_503_naming_the_missing_font(shop, settings):
    settings.KPIS_PDF_FONT = "/nonexistent/font.ttc"
    response = get(shop, "manager", f"/desk/kpis/export.pdf?estate={shop.estate.id}")
    assert response.status_code == 503
    assert "fonts-noto-cjk" in response.content.decode()


def test_the_api_returns_the_numbers_of_the_page(shop):
    client = shop.api("supervisor")
    response = client.get(f"/api/v1/kpis?scope=estate:{shop.estate.id}&from=2026-11-01&to=2026-11-20")
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == {"key": f"estate:{shop.estate.id}", "level": "estate", "name": shop.estate.name}
    assert (body["from"], body["to"], body["last_year_from"]) == ("2026-11-01", "2026-11-20", "2025-11-01")
    page = get(shop, "supervisor", f"/desk/kpis/?estate={shop.estate.id}&from=2026-11-01&to=2026-11-20")
    on_page = {line.code: line.value for line in page.context["data"].kpis}
    assert {kpi["code"]: kpi["value"] for kpi in body["kpis"]} == on_page
    assert body["orders"] == 3 and body["orders_last_year"] == 1
    assert len(body["trend"]["months"]) == 12 and body["trend"]["months"][-1] == "2026-11"
    assert [child["scope"] for child in body["children"]] == [f"grid:{shop.grid.id}"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("scope=estate", "scope"), ("scope=region:1", "scope"), ("scope=estate:x", "scope"), ("from=2026-11-31", "from")],
)
def test_the_api_answers_422_naming_the_parameter(shop, query, field):
    response = shop.api("manager").get(f"/api/v1/kpis?{query}")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
