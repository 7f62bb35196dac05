"""In a real browser (Debian's Chromium): people sign in and see their shell in Chinese, on a phone-sized screen."""

import pytest

from wuye.testing.factories import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, base_url: str, identifier: str) -> None:
    page.goto(f"{base_url}/")
    page.fill("input[name=identifier]", identifier)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_owner_signs_in_and_sees_the_portal_home_in_chinese(page, live_server, live_cast):
    sign_in(page, live_server.url, "owner")
    page.wait_for_url(f"{live_server.url}/portal/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_test_id("portal-title").inner_text() == "您好，王业主"
    rooms = page.get_by_test_id("portal-room")
    assert rooms.count() == 1
    assert "1-1-101" in rooms.first.inner_text()
    assert "业主" in rooms.first.inner_text()
    assert "1-1-102" not in page.content()
    # Bootstrap loaded from our own static files: the layout is styled, not raw HTML.
    assert page.evaluate("getComputedStyle(document.querySelector('.card')).borderRadius") != "0px"


def test_wrong_password_keeps_the_owner_on_the_sign_in_page_with_a_chinese_error(page, live_server, live_cast):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=identifier]", "owner")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "/accounts/login/" in page.url
    assert "用户名、手机号或密码错误" in page.locator(".alert-danger").inner_text()


def test_owner_switches_the_portal_to_english(page, live_server, live_cast):
    sign_in(page, live_server.url, "owner")
    page.wait_for_url(f"{live_server.url}/portal/")
    # The menu submits its form on change: wait for the redirect back to the portal.
    with page.expect_navigation(url=f"{live_server.url}/portal/"):
        page.select_option("select[name=language]", "en")
    assert page.get_by_test_id("portal-title").inner_text() == "Hello, 王业主"
