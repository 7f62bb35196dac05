"""In a real browser: the supervisor signs in and sees the desk in Chinese; room search works through htmx."""

import pytest

from wuye.portal.tests.test_browser import sign_in

pytestmark = pytest.mark.browser


def test_supervisor_signs_in_and_sees_the_desk_home_in_chinese(page, live_server, live_cast):
    sign_in(page, live_server.url, "supervisor")
    page.wait_for_url(f"{live_server.url}/desk/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_test_id("desk-title").inner_text() == "员工工作台"
    estates = page.get_by_test_id("desk-estate")
    assert estates.count() == 1
    text = estates.first.inner_text()
    assert "翠湖花园" in text
    assert "主管" in page.get_by_test_id("desk-role").first.inner_text()
    assert "一网格" in text  # the grid this supervisor leads
    assert "他山小区" not in page.content()


def test_supervisor_finds_a_room_by_owner_phone_without_a_page_reload(page, live_server, live_cast):
    sign_in(page, live_server.url, "supervisor")
    page.wait_for_url(f"{live_server.url}/desk/")
    page.get_by_role("link", name="翠湖花园").click()
    page.wait_for_url(f"**/desk/estates/{live_cast.estate.id}/")
    page.evaluate("window.__marker = 'same page'")
    page.fill("input[name=q]", live_cast.owner.phone)
    page.click("form[hx-get] button[type=submit]")
    page.get_by_test_id("room-results").wait_for()
    assert "1-1-101" in page.get_by_test_id("room-results").inner_text()
    assert page.evaluate("window.__marker") == "same page"
