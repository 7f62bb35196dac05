"""The inbox API: each person lists and marks their own notifications; anyone else's answers 404."""

import pytest

from wuye.notifications.models import Notification
from wuye.notifications.services import notify

from .factories import NotificationFactory

pytestmark = pytest.mark.django_db


def tell(recipient, title="工单已受理", **extra):
    return notify(recipient=recipient, kind="workorder.accepted", title=title, body="正文", link="/portal/", **extra)


def test_the_list_holds_only_my_notifications_newest_first(cast):
    older = tell(cast.owner, "第一条", estate=cast.estate)
    newer = tell(cast.owner, "第二条")
    tell(cast.other_owner, "别人的")
    response = cast.api("owner").get("/api/v1/notifications")
    assert response.status_code == 200
    data = response.json()
    assert (data["count"], data["unread_count"]) == (2, 2)
    assert [item["id"] for item in data["items"]] == [newer.id, older.id]
    item = data["items"][1]
    assert item["title"] == "第一条"
    assert (item["estate_id"], item["estate_name"]) == (cast.estate.id, "翠湖花园")
    assert (item["link"], item["kind"]) == ("/portal/", "workorder.accepted")
    assert (item["is_read"], item["read_at"]) == (False, None)


def test_staff_see_their_own_notifications_and_no_owners(cast):
    tell(cast.owner)
    mine = tell(cast.supervisor, "工单已派给您")
    items = cast.api("supervisor").get("/api/v1/notifications").json()["items"]
    assert [item["id"] for item in items] == [mine.id]
    assert cast.api("company_admin").get("/api/v1/notifications").json()["items"] == []


def test_the_unread_filter(cast):
    read = tell(cast.owner, "已读")
    unread = tell(cast.owner, "未读")
    cast.api("owner").post(f"/api/v1/notifications/{read.id}/read")
    client = cast.api("owner")
    assert [i["id"] for i in client.get("/api/v1/notifications?unread=true").json()["items"]] == [unread.id]
    data = client.get("/api/v1/notifications?unread=false").json()
    assert [i["id"] for i in data["items"]] == [read.id]
    assert (data["count"], data["unread_count"]) == (1, 1)


def test_limit_and_offset_page_through_the_list(cast):
    made = [tell(cast.owner, f"第{n}条") for n in range(5)]
    data = cast.api("owner").get("/api/v1/notifications?limit=2&offset=2").json()
    assert data["count"] == 5
    assert [i["id"] for i in data["items"]] == [made[2].id, made[1].id]


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=101", "limit"), ("offset=-1", "offset"), ("unread=maybe", "unread")],
)
def test_bad_paging_is_refused_naming_the_field(cast, query, field):
    response = cast.api("owner").get(f"/api/v1/notifications?{query}")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_the_list_costs_the_same_queries_for_one_or_many_notifications(cast, django_assert_num_queries):
    client = cast.api("owner")
    client.get("/api/v1/notifications")  # first use of the token records it; not what is measured
    NotificationFactory(recipient=cast.owner, estate=cast.estate)
    # token look-up, count, unread count, the page (with its estates)
    with django_assert_num_queries(4):
        assert len(client.get("/api/v1/notifications").json()["items"]) == 1
    NotificationFactory.create_batch(30, recipient=cast.owner, estate=cast.estate)
    with django_assert_num_queries(4):
        assert len(client.get("/api/v1/notifications?limit=100").json()["items"]) == 31


def test_marking_one_read(cast):
    notification = tell(cast.owner)
    response = cast.api("owner").post(f"/api/v1/notifications/{notification.id}/read")
    assert response.status_code == 200
    assert response.json()["is_read"] is True
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert cast.api("owner").get("/api/v1/notifications").json()["unread_count"] == 0


@pytest.mark.parametrize("member", ["other_owner", "supervisor", "company_admin", "stranger_supervisor"])
def test_someone_elses_notification_is_not_found(cast, member):
    notification = tell(cast.owner)
    response = cast.api(member).post(f"/api/v1/notifications/{notification.id}/read")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    notification.refresh_from_db()
    assert notification.read_at is None


def test_a_notification_that_does_not_exist_is_not_found(cast):
    assert cast.api("owner").post("/api/v1/notifications/999999/read").status_code == 404


def test_read_all_marks_only_mine(cast):
    tell(cast.owner)
    tell(cast.owner)
    theirs = tell(cast.other_owner)
    response = cast.api("owner").post("/api/v1/notifications/read-all")
    assert response.status_code == 200
    assert response.json() == {"marked": 2}
    assert not Notification.objects.filter(recipient=cast.owner, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_anonymous_callers_must_sign_in(cast):
    assert cast.api("anonymous").get("/api/v1/notifications").status_code == 401
