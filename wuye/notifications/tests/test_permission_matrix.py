"""The inbox's permission matrix: everybody has an inbox of their own; nobody reaches anyone else's notification.

Pages follow their side: the portal inbox needs an owner or resident role, the desk inbox a staff role (403
otherwise, as on the portal and desk home pages).
"""

import pytest

from wuye.notifications.services import notify
from wuye.testing.matrix import Case, assert_matrix

OWNERS = ("owner", "other_owner")
STAFF = ("service_agent", "technician", "supervisor", "manager", "company_admin")
SIGNED_IN = (*OWNERS, *STAFF, "stranger_supervisor")


def everyone_signed_in(status: int) -> dict[str, int]:
    return {**dict.fromkeys(SIGNED_IN, status), "anonymous": 401}


def only(member: str, status: int, others: int) -> dict[str, int]:
    return {**dict.fromkeys(SIGNED_IN, others), member: status, "anonymous": 401}


def notification_of(cast, member: str):
    # A dedupe key: the URL is built once per cast member, and must name the same notification each time.
    return notify(
        recipient=cast.users[member],
        kind="matrix.test",
        title="通知",
        body="",
        link="/portal/" if member in OWNERS else "/desk/",
        channels=(),
        dedupe_key="matrix",
    )


def owners_notification(cast) -> str:
    return f"/portal/notifications/{notification_of(cast, 'owner').id}/"


def supervisors_notification(cast) -> str:
    return f"/desk/notifications/{notification_of(cast, 'supervisor').id}/"


CASES = [
    # --- API ---
    Case("GET", "/api/v1/notifications", everyone_signed_in(200)),
    Case("POST", "/api/v1/notifications/read-all", everyone_signed_in(200)),
    Case(
        "POST",
        lambda c: f"/api/v1/notifications/{notification_of(c, 'owner').id}/read",
        only("owner", 200, others=404),
        label="POST /api/v1/notifications/{owner's}/read",
    ),
    Case(
        "POST",
        lambda c: f"/api/v1/notifications/{notification_of(c, 'supervisor').id}/read",
        only("supervisor", 200, others=404),
        label="POST /api/v1/notifications/{supervisor's}/read",
    ),
    # --- portal pages ---
    Case(
        "GET",
        "/portal/notifications/",
        {**dict.fromkeys(OWNERS, 200), **dict.fromkeys(STAFF, 403), "stranger_supervisor": 403, "anonymous": 401},
        page=True,
    ),
    Case(
        "POST",
        "/portal/notifications/read-all/",
        {**dict.fromkeys(OWNERS, 302), **dict.fromkeys(STAFF, 403), "stranger_supervisor": 403, "anonymous": 401},
        page=True,
    ),
    Case(
        "GET",
        owners_notification,
        {"owner": 302, "other_owner": 404, **dict.fromkeys(STAFF, 403), "stranger_supervisor": 403, "anonymous": 401},
        page=True,
        label="GET /portal/notifications/{owner's}/",
    ),
    # --- desk pages ---
    Case(
        "GET",
        "/desk/notifications/",
        {**dict.fromkeys(OWNERS, 403), **dict.fromkeys(STAFF, 200), "stranger_supervisor": 200, "anonymous": 401},
        page=True,
    ),
    Case(
        "POST",
        "/desk/notifications/read-all/",
        {**dict.fromkeys(OWNERS, 403), **dict.fromkeys(STAFF, 302), "stranger_supervisor": 302, "anonymous": 401},
        page=True,
    ),
    Case(
        "GET",
        supervisors_notification,
        {
            **dict.fromkeys(OWNERS, 403),
            **dict.fromkeys(STAFF, 404),
            "supervisor": 302,
            "stranger_supervisor": 404,
            "anonymous": 401,
        },
        page=True,
        label="GET /desk/notifications/{supervisor's}/",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    assert_matrix(cast, case)
