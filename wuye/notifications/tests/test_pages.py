"""The inbox pages in the portal and on the desk, and the unread badge in the navigation bar."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from wuye.notifications.context_processors import unread
from wuye.notifications.models import Notification
from wuye.notifications.services import notify

from .factories import NotificationFactory

pytestmark = pytest.mark.django_db


def tell(recipient, title="工单已受理", link="/portal/", **extra):
    return notify(recipient=recipient, kind="workorder.accepted", title=title, body="正文", link=link, **extra)


def badge(page: str) -> str | None:
    match = re.search(r'data-testid="notifications-unread">(\d+)<', page)
    return match.group(1) if match else None


def test_the_portal_inbox_lists_my_notifications_with_unread_ones_highlighted(cast):
    read = tell(cast.owner, "已读的通知")
    tell(cast.owner, "未读的通知", estate=cast.estate)
    tell(cast.other_owner, "别人的通知")
    cast.browser("owner").get(f"/portal/notifications/{read.id}/")
    response = cast.browser("owner").get("/portal/notifications/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "已读的通知" in page and "未读的通知" in page
    assert "别人的通知" not in page
    assert page.count('data-unread="true"') == 1
    assert "翠湖花园" in page
    assert badge(page) == "1"
    assert 'href="/portal/notifications/"' in page  # the badge leads to the portal inbox
    assert 'data-testid="notifications-read-all"' in page


def test_an_empty_inbox_says_so_and_offers_no_mark_all_button(cast):
    page = cast.browser("owner").get("/portal/notifications/").content.decode()
    assert 'data-testid="notifications-empty"' in page
    assert 'data-testid="notifications-read-all"' not in page
    assert badge(page) is None


def test_the_desk_inbox_lists_a_staff_members_notifications(cast):
    tell(cast.supervisor, "工单 WO-9 已升级到您", link="/desk/")
    tell(cast.owner, "业主的通知")
    page = cast.browser("supervisor").get("/desk/notifications/").content.decode()
    assert "工单 WO-9 已升级到您" in page
    assert "业主的通知" not in page
    assert 'href="/desk/notifications/"' in page
    assert badge(page) == "1"


def test_the_badge_shows_on_the_portal_and_desk_home_pages(cast):
    tell(cast.owner)
    tell(cast.owner)
    tell(cast.technician)
    assert badge(cast.browser("owner").get("/portal/").content.decode()) == "2"
    assert badge(cast.browser("technician").get("/desk/").content.decode()) == "1"
    assert badge(cast.browser("manager").get("/desk/").content.decode()) is None


def test_mark_all_read_clears_the_badge(cast):
    tell(cast.owner)
    tell(cast.owner)
    theirs = tell(cast.other_owner)
    client = cast.browser("owner")
    response = client.post("/portal/notifications/read-all/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/notifications/"
    page = client.get("/portal/notifications/").content.decode()
    assert 'data-unread="true"' not in page
    assert badge(page) is None
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_needs_a_post(cast):
    tell(cast.owner)
    assert cast.browser("owner").get("/portal/notifications/read-all/").status_code == 405
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_opening_a_notification_marks_it_read_and_goes_to_its_link(cast):
    notification = tell(cast.owner, link="/portal/?order=42")
    response = cast.browser("owner").get(f"/portal/notifications/{notification.id}/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/?order=42"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_a_notification_without_a_link_returns_to_the_inbox(cast):
    notification = tell(cast.supervisor, link="")
    response = cast.browser("supervisor").get(f"/desk/notifications/{notification.id}/")
    assert response["Location"] == "/desk/notifications/"


def test_someone_elses_notification_is_not_found_and_stays_unread(cast):
    notification = tell(cast.owner)
    assert cast.browser("other_owner").get(f"/portal/notifications/{notification.id}/").status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_the_inbox_page_costs_the_same_queries_for_few_or_many_notifications(cast):
    client = cast.browser("owner")
    NotificationFactory.create_batch(3, recipient=cast.owner, estate=cast.estate)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/portal/notifications/").status_code == 200
    NotificationFactory.create_batch(40, recipient=cast.owner, estate=cast.estate)
    with CaptureQueriesContext(connection) as many:
        page = client.get("/portal/notifications/").content.decode()
    assert page.count('data-testid="notification"') == 20
    # session, user, roles, the page's count and rows, the unread badge; nothing per row
    assert len(few) == len(many) == 6


def test_the_badge_costs_one_query_for_a_signed_in_person(cast):
    tell(cast.owner)
    with CaptureQueriesContext(connection) as queries:
        cast.browser("owner").get("/portal/")
    assert len([q for q in queries if "notifications_notification" in q["sql"]]) == 1


def test_the_badge_costs_nothing_for_anonymous_visitors(cast):
    request = RequestFactory().get("/portal/")
    request.user = AnonymousUser()
    with CaptureQueriesContext(connection) as queries:
        context = unread(request)
        assert (context["notifications_unread"](), context["notifications_url"]()) == (0, "")
    assert len(queries) == 0
    page = cast.browser("anonymous").get("/accounts/login/").content.decode()
    assert 'data-testid="notifications-link"' not in page


def test_the_inbox_is_shown_in_english_when_the_person_chose_english(cast):
    client = cast.browser("owner")
    client.post("/i18n/setlang/", {"language": "en", "next": "/portal/notifications/"})
    page = client.get("/portal/notifications/").content.decode()
    assert '<html lang="en">' in page
    assert "No notifications yet." in page
