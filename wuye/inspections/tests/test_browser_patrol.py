"""A patrol in a real browser, on a phone-sized screen: the guard opens today's round of route A and passes its
three checkpoints — two codes typed into the manual field, one QR image fed through `wuyePatrol.scanFrame`, the
function every camera frame goes through (jsQR decodes it, then the code is posted) — and the round shows complete.
Route B is left alone; once its window has closed (the closer runs with an explicit `now`), the grid leader sees it
missed on the routes page and has an alert in the desk inbox."""

import base64
import datetime as dt
import io

import pytest
import segno
from django.utils import timezone

from wuye.accounts import services as account_services
from wuye.accounts.choices import Role
from wuye.core import clock
from wuye.inspections import codes, services
from wuye.inspections.choices import RoundStatus
from wuye.inspections.models import Round
from wuye.notifications.models import Notification
from wuye.testing.factories import PASSWORD, UserFactory

from . import factories as pf

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


def open_window_now() -> dict:
    """A daily window that opened an hour ago and closes in two hours (local time; it may cross midnight)."""
    local_now = timezone.localtime(clock.now(), clock.local_tz())
    start = local_now - dt.timedelta(hours=1)
    end = local_now + dt.timedelta(hours=2)
    return {"kind": "daily", "windows": [{"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}]}


def qr_data_url(text: str) -> str:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=4)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


FEED_CAMERA_FRAME = """async (src) => {
    const image = new Image();
    image.src = src;
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    return window.wuyePatrol.scanFrame(context.getImageData(0, 0, canvas.width, canvas.height));
}"""


def test_guard_completes_a_route_and_the_grid_leader_hears_of_the_missed_one(chromium, live_server, live_cast):
    guard = UserFactory(username="guard", name="保安小张")
    account_services.membership_ensure(user=guard, estate=live_cast.estate, role=Role.GUARD)
    live_cast.users["guard"] = guard
    now = clock.now()
    points = pf.checkpoints(live_cast)
    schedule = open_window_now()
    route_a = pf.route(live_cast, name="A线", points=points, schedule=schedule, now=now)
    route_b = pf.route(live_cast, name="B线", points=points, schedule=schedule, now=now)
    round_a = Round.objects.get(route=route_a, window_start__lte=now, window_end__gt=now)
    round_b = Round.objects.get(route=route_b, window_start__lte=now, window_end__gt=now)
    base = live_server.url

    guard_context, phone = person(chromium, base, "guard")
    phone.goto(f"{base}/desk/patrol/")
    phone.locator('[data-testid=round-card][data-route="A线"]').first.click()
    phone.wait_for_url(f"{base}/desk/patrol/rounds/{round_a.id}/")

    def type_code(point):
        phone.get_by_test_id("manual-code").fill(pf.code(point))
        phone.get_by_test_id("manual-submit").click()
        phone.wait_for_url(f"{base}/desk/patrol/rounds/{round_a.id}/")
        phone.wait_for_load_state()

    type_code(points[0])
    # The camera path: a frame holding the second checkpoint's label goes through jsQR and is posted.
    phone.wait_for_function("() => Boolean(window.wuyePatrol && window.jsQR)")
    with phone.expect_navigation():
        found = phone.evaluate(FEED_CAMERA_FRAME, qr_data_url(codes.payload(live_cast.estate.id, points[1].uid)))
    assert found is True
    phone.wait_for_load_state()
    type_code(points[2])

    status = phone.get_by_test_id("round-status")
    assert status.get_attribute("data-status") == RoundStatus.COMPLETE
    assert phone.get_by_test_id("round-progress").inner_text() == "3/3"
    assert [s.get_attribute("data-scanned") for s in phone.get_by_test_id("stop").all()] == ["1", "1", "1"]
    round_a.refresh_from_db()
    assert list(round_a.scans.order_by("sequence").values_list("method", flat=True)) == ["manual", "qr", "manual"]

    # Route B's window closes with nobody there.
    assert services.rounds_close(now=round_b.window_end) >= 2
    round_b.refresh_from_db()
    assert round_b.status == RoundStatus.MISSED

    leader_context, leader = person(chromium, base, "supervisor")  # the cast's grid leader
    day = timezone.localtime(round_b.window_start, clock.local_tz()).date()
    leader.goto(f"{base}/desk/patrol/routes/?day={day:%Y-%m-%d}")
    card_b = leader.locator(f'[data-testid=route-card][data-route="{route_b.id}"]')
    card_a = leader.locator(f'[data-testid=route-card][data-route="{route_a.id}"]')
    assert (
        card_b.locator(f'[data-testid=route-round][href$="/rounds/{round_b.id}/"]').get_attribute("data-status")
        == "missed"
    )
    assert (
        card_a.locator(f'[data-testid=route-round][href$="/rounds/{round_a.id}/"]').get_attribute("data-status")
        == "complete"
    )
    leader.goto(f"{base}/desk/notifications/")
    alerts = leader.get_by_test_id("notification").filter(has_text="B线")
    assert alerts.count() == 1
    assert Notification.objects.filter(recipient=live_cast.supervisor, kind="patrol.round_closed").count() == 1
    for context in (guard_context, leader_context):
        context.close()
