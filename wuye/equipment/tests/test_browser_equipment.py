"""A technician's phone scans an equipment label without being signed in: sign-in, then the item's page with its
reading charts drawn by the locally served ECharts, then one tap to the prefilled fault report, which creates an
order linked to the item."""

import datetime as dt

import pytest

from wuye.core import clock
from wuye.equipment.models import Equipment
from wuye.estates.models import PublicArea
from wuye.iot.models import Device, Reading
from wuye.iot.services import seed_iot
from wuye.testing.factories import PASSWORD
from wuye.workorders.models import WorkOrder

from . import factories as ef

pytestmark = pytest.mark.browser


def test_a_scanned_label_leads_through_sign_in_to_the_item_and_its_fault_report(chromium, live_server, live_cast):
    ef.seed_catalogue(live_cast)
    PublicArea.objects.create(estate=live_cast.estate, name="水泵房", kind="pump_room")
    now = clock.now()
    seed_iot(live_cast.estate, now=now - dt.timedelta(days=30))
    pump = Equipment.objects.get(estate=live_cast.estate, code="PUMP-01")
    controller = Device.objects.get(estate=live_cast.estate, code="pump-01")
    Reading.objects.bulk_create(
        Reading(device=controller, metric="pressure", at=now - dt.timedelta(minutes=5 * i), value=0.4 + (i % 7) / 100)
        for i in range(100)
    )
    Device.objects.filter(pk=controller.pk).update(last_seen_at=now)

    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/desk/equipment/l/{pump.label_code}/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=identifier]", "technician")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=scanned]")
    assert page.get_by_test_id("equipment-name").inner_text() == pump.name
    assert page.locator("[data-testid=device][data-state=online]").count() == 1
    page.wait_for_selector(".equipment-chart[data-drawn='1'] canvas")
    page.get_by_test_id("report-fault").click()
    page.wait_for_selector("[data-testid=new-order-equipment]")
    description = page.locator("textarea[name=description]")
    assert "PUMP-01" in description.input_value()
    description.fill(description.input_value() + "水泵异响，出水压力低")
    page.get_by_test_id("create-order").click()
    page.wait_for_url("**/desk/orders/*/")
    order = WorkOrder.objects.get(source_type="equipment", source_id=str(pump.id))
    assert order.kind == "repair_public" and order.public_area.name == "水泵房"
    context.close()
