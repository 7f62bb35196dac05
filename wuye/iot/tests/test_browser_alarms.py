"""The alarms console in a real browser on a phone-sized screen: a technician acknowledges an alarm and clears it in
place (htmx swaps the card, the page is not reloaded); a clear without a note is refused on the card itself."""

import pytest

from wuye.iot import services
from wuye.iot.choices import AlarmStatus
from wuye.testing.factories import PASSWORD

from .alarm_fixtures import fresh_alarm

pytestmark = pytest.mark.browser


def test_technician_acknowledges_and_clears_an_alarm_on_the_phone_console(chromium, live_server, live_cast):
    services.caches_clear()
    alarm = fresh_alarm(live_cast.estate)
    base = live_server.url
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto(f"{base}/accounts/login/")
    phone.fill("input[name=identifier]", "technician")
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_load_state()
    phone.goto(f"{base}/desk/alarms/")
    phone.evaluate("() => { window.notReloaded = true; }")
    card = phone.locator(f"#alarm-{alarm.id}")
    assert card.get_attribute("data-status") == AlarmStatus.RAISED

    card.get_by_test_id("alarm-acknowledge").click()
    phone.wait_for_selector(f'#alarm-{alarm.id}[data-status="acknowledged"]')
    assert card.get_by_test_id("alarm-acknowledge").count() == 0

    card.get_by_test_id("alarm-clear").click()  # no note
    phone.wait_for_selector(f"#alarm-{alarm.id} [data-testid=alarm-alert]")
    assert card.get_attribute("data-status") == AlarmStatus.ACKNOWLEDGED

    card.get_by_test_id("alarm-clear-note").fill("压力表接头漏气，已处理")
    card.get_by_test_id("alarm-clear").click()
    phone.wait_for_selector(f'#alarm-{alarm.id}[data-status="cleared"]')
    assert phone.evaluate("() => window.notReloaded") is True
    alarm.refresh_from_db()
    assert (alarm.status, alarm.cleared_by_id) == (AlarmStatus.CLEARED, live_cast.technician.id)
    assert list(alarm.events.order_by("id").values_list("action", flat=True)) == ["raise", "acknowledge", "clear"]
    context.close()
