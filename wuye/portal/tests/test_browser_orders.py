"""In a real browser (Debian's Chromium, 390 px wide): an owner reports a leaking pipe with a photo and follows it."""

import re

import pytest
from django.utils import translation
from django.utils.translation import gettext
from PIL import Image

from wuye.testing.factories import PASSWORD, PublicAreaFactory
from wuye.workorders import services
from wuye.workorders.choices import Action, Status
from wuye.workorders.models import WorkOrder
from wuye.workorders.tests import factories as wf

pytestmark = pytest.mark.browser


def zh(text) -> str:
    with translation.override("zh-hans"):
        return str(gettext(text) if isinstance(text, str) else text)


def sign_in(page, base_url: str, identifier: str) -> None:
    page.goto(f"{base_url}/")
    page.fill("input[name=identifier]", identifier)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/portal/")


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_owner_reports_a_leaking_pipe_with_a_photo_and_sees_it_submitted(page, live_server, live_cast, tmp_path):
    services.catalogue_seed(company=live_cast.company)
    photo = tmp_path / "leak.png"
    Image.new("RGB", (320, 240), (30, 120, 200)).save(photo)

    sign_in(page, live_server.url, "owner")
    page.get_by_test_id("order-new-link").click()
    page.wait_for_url(f"{live_server.url}/portal/orders/new/")
    assert fits_the_screen(page)
    page.select_option("select[name=category]", label="给排水")
    assert page.locator("select[name=room] option:checked").inner_text() == "1-1-101"
    page.fill("textarea[name=description]", "厨房水管漏水，地上有积水")
    page.set_input_files("input[name=photos]", str(photo))
    page.get_by_test_id("order-submit").click()

    page.wait_for_url(re.compile(r".*/portal/orders/\d+/$"))
    order = WorkOrder.objects.get()
    assert page.url == f"{live_server.url}/portal/orders/{order.id}/"
    assert page.get_by_test_id("order-status").inner_text() == zh(Status.SUBMITTED.label)
    assert page.get_by_test_id("order-number").inner_text() == order.number
    first = page.get_by_test_id("timeline-entry").first
    assert first.get_by_test_id("timeline-action").inner_text() == zh(Action.SUBMIT.label)
    assert first.get_by_test_id("timeline-actor").inner_text() == zh("You")
    # The thumbnail is served by the portal and really is a picture.
    thumbnail = page.get_by_test_id("order-photo").locator("img")
    thumbnail.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert fits_the_screen(page)


def test_changing_the_kind_changes_the_categories_and_the_place_fields(page, live_server, live_cast):
    services.catalogue_seed(company=live_cast.company)
    PublicAreaFactory(estate=live_cast.estate, name="地下车库")
    sign_in(page, live_server.url, "owner")
    page.goto(f"{live_server.url}/portal/orders/new/")

    def categories() -> list[str]:
        return page.locator("select[name=category] option").all_inner_texts()

    assert "给排水" in categories() and "噪音扰民" not in categories()
    assert page.locator("input[name=appointment_date]").count() == 1

    page.get_by_text(zh("Complaint"), exact=True).click()
    page.wait_for_function("document.querySelector('#order-kind-fields').dataset.kind === 'complaint'")
    assert "噪音扰民" in categories() and "给排水" not in categories()
    assert page.locator("input[name=appointment_date]").count() == 0

    page.get_by_text(zh("Public-area repair"), exact=True).click()
    page.wait_for_function("document.querySelector('#order-kind-fields').dataset.kind === 'repair_public'")
    assert "电梯" in categories()
    assert page.locator("select[name=public_area] option").all_inner_texts()[1:] == ["地下车库"]
    assert page.locator("select[name=room]").count() == 0


def test_owner_urges_in_place_and_is_told_to_wait_the_second_time(page, live_server, live_cast):
    services.catalogue_seed(company=live_cast.company)
    order = wf.order(live_cast, status="dispatched")
    sign_in(page, live_server.url, "owner")
    page.goto(f"{live_server.url}/portal/orders/{order.id}/")
    assert page.get_by_test_id("order-assignee").inner_text() == live_cast.technician.display_name

    page.get_by_test_id("order-urge").click()
    page.get_by_test_id("order-notice").wait_for()
    assert page.url == f"{live_server.url}/portal/orders/{order.id}/"
    page.get_by_test_id("order-urge").click()
    alert = page.get_by_test_id("order-alert")
    alert.wait_for()
    assert "30" in alert.inner_text()
    order.refresh_from_db()
    assert order.urge_count == 1


def test_owner_rates_a_finished_repair_with_stars(page, live_server, live_cast):
    services.catalogue_seed(company=live_cast.company)
    order = wf.order(live_cast, status="resolved")
    sign_in(page, live_server.url, "owner")
    page.goto(f"{live_server.url}/portal/orders/{order.id}/")

    page.get_by_test_id("verdict-good").click()
    page.get_by_test_id("score-4").click()
    page.fill("textarea[name=comment]", "师傅很专业")
    page.get_by_test_id("order-rate").click()

    page.get_by_test_id("order-notice").wait_for()
    assert page.get_by_test_id("order-status").inner_text() == zh(Status.RATED.label)
    assert page.get_by_test_id("order-rating").inner_text().count("★") == 4
    order.refresh_from_db()
    assert (order.verdict, order.score, order.rating_comment) == ("good", 4, "师傅很专业")
