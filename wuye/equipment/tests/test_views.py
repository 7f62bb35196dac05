"""The equipment pages: the ledger list and its filters, an item's page (devices online or not, charts, alarms,
orders, plans, reliability), the QR label's landing through sign-in, the prefilled fault report, label sheets."""

import datetime as dt
import json
import re

import pytest
import time_machine
from django.test import Client

from wuye.equipment.models import Equipment
from wuye.estates.models import PublicArea
from wuye.iot.models import Alarm, AlarmRule, Device, HourlyRollup, Reading
from wuye.iot.services import seed_iot
from wuye.workorders.models import WorkOrder

from . import factories as ef
from .factories import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(cast):
    ef.seed_catalogue(cast)
    PublicArea.objects.create(estate=cast.estate, name="水泵房", kind="pump_room")
    PublicArea.objects.create(estate=cast.estate, name="1栋大堂", kind="lobby", building=cast.building)
    seed_iot(cast.estate, now=NOW - dt.timedelta(days=60))
    return cast


def page_text(response) -> str:
    return response.content.decode()


def test_the_list_filters_by_importance_category_and_search(demo, django_assert_max_num_queries):
    client = demo.browser("technician")
    with django_assert_max_num_queries(12):
        response = client.get("/desk/equipment/", {"importance": "A", "category": "water_pump"})
    codes = re.findall(r'data-code="([^"]+)"', page_text(response))
    assert codes == ["PUMP-01", "PUMP-02"]
    response = client.get("/desk/equipment/", {"q": "奥的斯"})
    assert re.findall(r'data-code="([^"]+)"', page_text(response)) == ["LIFT-3-1"]
    response = client.get("/desk/equipment/", {"importance": "Z", "status": "faulty"})
    assert re.findall(r'data-code="([^"]+)"', page_text(response)) == []


def test_an_items_page_shows_devices_online_or_offline_charts_and_alarms(demo):
    pump = Equipment.objects.get(estate=demo.estate, code="PUMP-01")
    controller = Device.objects.get(estate=demo.estate, code="pump-01")
    # The "no data" rule for pumps says 5 minutes: heard from 3 minutes ago is online.
    Device.objects.filter(pk=controller.pk).update(last_seen_at=NOW - dt.timedelta(minutes=3))
    for minute in range(0, 120, 2):
        Reading.objects.create(device=controller, metric="pressure", at=NOW - dt.timedelta(minutes=minute), value=0.4)
    HourlyRollup.objects.create(
        device=controller, metric="pressure", hour=NOW - dt.timedelta(days=3), count=60, min=0.3, max=0.5, sum=24.0
    )
    rule = AlarmRule.objects.get(estate=demo.estate, name="供水压力过低")
    Alarm.objects.create(
        estate=demo.estate,
        rule=rule,
        device=controller,
        severity="critical",
        reason="0.21 MPa < 0.25",
        raised_at=NOW - dt.timedelta(minutes=30),
    )
    with time_machine.travel(NOW, tick=False):
        response = demo.browser("technician").get(f"/desk/equipment/{pump.id}/")
        later = demo.browser("technician").get(f"/desk/equipment/{pump.id}/", headers={"Accept-Language": "en"})
    text = page_text(response)
    assert re.findall(r'data-testid="device" data-state="(\w+)"', text) == ["online"]
    assert text.count('data-testid="open-alarm"') == 1
    charts = json.loads(
        re.search(r'<script id="equipment-charts" type="application/json">(.*?)</script>', text).group(1)
    )
    pressure = next(chart for chart in charts["charts"] if chart["metric"] == "pressure")
    assert len(pressure["day"]) == 60 and pressure["month"][0][1:] == [0.4, 0.3, 0.5]
    assert "vendor/echarts/echarts.min.js" in text
    assert later.status_code == 200
    with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
        response = demo.browser("technician").get(f"/desk/equipment/{pump.id}/")
    assert re.findall(r'data-testid="device" data-state="(\w+)"', page_text(response)) == ["offline"]


def test_a_scanned_label_lands_a_signed_in_technician_on_the_item_with_the_fault_report_one_tap_away(demo):
    lift = Equipment.objects.get(estate=demo.estate, code="LIFT-1-1")
    client = demo.browser("technician")
    response = client.get(f"/desk/equipment/l/{lift.label_code}/", follow=True)
    assert response.redirect_chain[-1][0] == f"/desk/equipment/{lift.id}/?scanned=1"
    text = page_text(response)
    assert f'href="/desk/orders/new/?equipment={lift.id}"' in text and 'data-testid="scanned"' in text


def test_an_anonymous_scan_goes_through_sign_in_and_back(demo):
    lift = Equipment.objects.get(estate=demo.estate, code="LIFT-1-1")
    client = Client()
    response = client.get(f"/desk/equipment/l/{lift.label_code}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert f"next=/desk/equipment/l/{lift.label_code}/" in response["Location"]
    client.force_login(demo.technician)
    response = client.get(f"/desk/equipment/l/{lift.label_code}/", follow=True)
    assert response.redirect_chain[-1][0].startswith(f"/desk/equipment/{lift.id}/")


def test_a_fault_on_a_lift_is_placed_in_its_buildings_lobby(demo):
    lift = Equipment.objects.get(estate=demo.estate, code="LIFT-1-1")
    lobby = PublicArea.objects.get(estate=demo.estate, name="1栋大堂")
    text = page_text(demo.browser("technician").get(f"/desk/orders/new/?equipment={lift.id}"))
    assert re.search(rf'<option value="{lobby.id}" selected>', text)
    lifts = demo.company.categories.get(code="lift")
    assert re.search(rf'<option value="{lifts.id}" selected>', text)


def test_a_label_code_of_another_estate_is_not_found(demo):
    far = ef.pump(demo, code="PUMP-09", estate=demo.other_estate)
    assert demo.browser("technician").get(f"/desk/equipment/l/{far.label_code}/").status_code == 404


def test_the_fault_report_is_prefilled_and_linked_to_the_item(demo):
    pump = Equipment.objects.get(estate=demo.estate, code="PUMP-02")
    client = demo.browser("service_agent")
    form = client.get(f"/desk/orders/new/?equipment={pump.id}")
    text = page_text(form)
    assert "PUMP-02" in text and 'data-testid="new-order-equipment"' in text
    assert re.search(r'<option value="repair_public" selected>', text)
    plumbing = demo.company.categories.get(code="plumbing")
    assert re.search(rf'<option value="{plumbing.id}" selected>', text)
    assert re.search(rf'<option value="{pump.public_area_id}" selected>', text)
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    description = re.search(r"<textarea[^>]*>\s*(.*?)</textarea>", text, re.S).group(1)
    response = client.post(
        "/desk/orders/new/",
        {
            "token": token,
            "estate": demo.estate.id,
            "channel": "staff",
            "kind": "repair_public",
            "category": plumbing.id,
            "public_area": pump.public_area_id,
            "description": description + "出水压力不足",
            "equipment": pump.id,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    order = WorkOrder.objects.get(source_type="equipment")
    assert order.source_id == str(pump.id) and "PUMP-02" in order.description
    detail = page_text(client.get(f"/desk/equipment/{pump.id}/"))
    assert order.number in detail


def test_label_sheets_come_as_html_png_and_pdf_with_the_items_landing_url(demo):
    client = demo.browser("supervisor")
    html = page_text(client.get("/desk/equipment/labels/", {"category": "lift"}))
    codes = set(Equipment.objects.filter(estate=demo.estate, category="lift").values_list("label_code", flat=True))
    assert set(re.findall(r'data-testid="label-code">(\w+)<', html)) == codes
    png = client.get("/desk/equipment/labels.png", {"category": "lift"})
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    pdf = client.get("/desk/equipment/labels.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_a_label_encodes_the_absolute_landing_url():
    from wuye.equipment import labels

    svg = labels.label_svg("http://testserver/desk/equipment/l/ABCDEFGHJKMN/")
    assert svg.startswith("<svg")
    # Version and size follow the URL's length: a longer URL needs a larger symbol.
    longer = labels.qr("http://testserver/desk/equipment/l/ABCDEFGHJKMN/" + "x" * 60)
    assert longer.version > labels.qr("http://testserver/desk/equipment/l/ABCDEFGHJKMN/").version


def test_an_items_page_stays_within_its_query_budget_whatever_its_history(demo, django_assert_max_num_queries):
    from wuye.equipment.seed import seed_maintenance

    seed_maintenance(estate=demo.estate, now=NOW, history_days=90)
    pump = Equipment.objects.get(estate=demo.estate, code="PUMP-02")
    client = demo.browser("technician")
    with django_assert_max_num_queries(30):
        response = client.get(f"/desk/equipment/{pump.id}/")
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="order"') >= 4
    client.cookies["django_language"] = "en"
    with django_assert_max_num_queries(15):
        listing = page_text(client.get("/desk/equipment/", {"q": "PUMP-02"}))
    # seed_iot's story (60 days back here) leaves this pump's critical alarm order open: an open failure, which
    # swallows the 4.5 h breakdown that overlaps it (overlapping failures count once); the 8 h one is the repair.
    assert re.search(r'data-testid="equipment-figures">2 failures in 365 days · MTTR 8\.0 h<', listing)


def test_a_supervisor_adds_a_plan_on_the_desk_and_bad_values_come_back_next_to_their_fields(demo):
    lift = Equipment.objects.get(estate=demo.estate, code="LIFT-1-1")
    client = demo.browser("supervisor")
    assert 'data-testid="plan-new"' in page_text(client.get(f"/desk/equipment/{lift.id}/"))
    refused = client.post(
        f"/desk/equipment/{lift.id}/plans/new/",
        {
            "name": "电梯半月保养",
            "trigger": "calendar",
            "priority": "low",
            "interval": 15,
            "interval_unit": "day",
            "basis": "",
            "lead_days": 2,
            "meter_condition": ">=",
            "min_wait_hours": 0,
            "checklist": "检查曳引机",
        },
    )
    assert refused.status_code == 422
    fields = re.findall(r'data-field="(\w+)"', page_text(refused))
    assert fields == ["basis", "starts_at"]
    created = client.post(
        f"/desk/equipment/{lift.id}/plans/new/",
        {
            "name": "电梯半月保养",
            "trigger": "calendar",
            "priority": "low",
            "interval": 15,
            "interval_unit": "day",
            "basis": "schedule",
            "starts_at": "2026-12-01T09:00",
            "lead_days": 2,
            "meter_condition": ">=",
            "min_wait_hours": 0,
            "checklist": "检查曳引机\n检查门锁回路\n",
            "is_active": "on",
        },
    )
    assert created.status_code == 302
    plan = lift.maintenance_plans.get()
    assert plan.checklist == ["检查曳引机", "检查门锁回路"] and plan.category.code == "lift"
    assert plan.starts_at == dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    edited = client.post(
        f"/desk/equipment/plans/{plan.id}/",
        {
            "name": "电梯半月保养",
            "trigger": "calendar",
            "priority": "normal",
            "interval": 14,
            "interval_unit": "day",
            "basis": "schedule",
            "starts_at": "2026-12-01T09:00",
            "lead_days": 2,
            "meter_condition": ">=",
            "min_wait_hours": 0,
            "checklist": "检查曳引机",
            "is_active": "on",
        },
    )
    assert edited.status_code == 302
    plan.refresh_from_db()
    assert (plan.interval, plan.priority, plan.checklist) == (14, "normal", ["检查曳引机"])
    assert 'data-testid="plan-new"' not in page_text(demo.browser("technician").get(f"/desk/equipment/{lift.id}/"))
