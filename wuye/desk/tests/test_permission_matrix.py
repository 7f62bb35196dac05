"""The desk's work-order pages: what every member of the cast gets.

Owners and residents never use the desk (403, even for their own orders: those are the portal's). Staff of the estate
see its orders; the stranger supervisor works elsewhere: an order of the cast's estate is 404 for them, while the list
pages answer 200 with their own estate's orders. Return visits are customer service's and their supervisors' work.
"""

import io

import pytest
from PIL import Image

from wuye.core import clock
from wuye.core.images import clean_image, store_image
from wuye.testing.matrix import Case, assert_matrix
from wuye.workorders.choices import PhotoStage
from wuye.workorders.models import WorkOrderPhoto
from wuye.workorders.tests import factories as orders

OWNERS_403 = {"owner": 403, "other_owner": 403}
STAFF_200 = {"service_agent": 200, "technician": 200, "supervisor": 200, "manager": 200, "company_admin": 200}
DESK_LIST = {**OWNERS_403, **STAFF_200, "stranger_supervisor": 200, "anonymous": 401}
DESK_ORDER = {**OWNERS_403, **STAFF_200, "stranger_supervisor": 404, "anonymous": 401}
VISITS = {**DESK_LIST, "technician": 403}
# Force close without a reason: those who may force close are told what is missing (422), the rest are refused.
FORCE_CLOSE_NO_REASON = {
    **OWNERS_403,
    "service_agent": 403,
    "technician": 403,
    "supervisor": 422,
    "manager": 422,
    "company_admin": 422,
    "stranger_supervisor": 404,
    "anonymous": 401,
}


def order(cast):
    """One submitted repair of the owner's room, made once per cast."""
    if "desk_order" not in cast.__dict__:
        orders.seed_catalogue(cast)
        cast.desk_order = orders.order(cast)
    return cast.desk_order


def photo(cast) -> WorkOrderPhoto:
    if "desk_photo" not in cast.__dict__:
        buffer = io.BytesIO()
        Image.new("RGB", (20, 20), (0, 120, 200)).save(buffer, format="PNG")
        clean = clean_image(buffer.getvalue())
        cast.desk_photo = WorkOrderPhoto.objects.create(
            order=order(cast),
            stage=PhotoStage.REPORT,
            file=store_image(clean, prefix="workorders/test"),
            content_type=clean.content_type,
            width=clean.width,
            height=clean.height,
            sha256=clean.sha256,
            uploaded_by=cast.owner,
            uploaded_at=clock.now(),
        )
    return cast.desk_photo


def order_url(cast):
    return f"/desk/orders/{order(cast).id}/"


def force_close_url(cast):
    return f"/desk/orders/{order(cast).id}/act/force_close/"


def photo_url(cast):
    item = photo(cast)
    return f"/desk/orders/{item.order_id}/photos/{item.id}"


def room_search_url(cast):
    return f"/desk/orders/new/rooms/?estate={cast.estate.id}&q=1-1-101"


def room_pick_url(cast):
    return f"/desk/orders/new/room/?room={cast.room.id}"


CASES = [
    Case("GET", "/desk/orders/", DESK_LIST, page=True),
    Case("GET", "/desk/orders/mine/", DESK_LIST, page=True),
    Case("GET", "/desk/orders/overdue/", DESK_LIST, page=True),
    Case("GET", "/desk/orders/visits/", VISITS, page=True),
    Case("GET", "/desk/orders/new/", DESK_LIST, page=True),
    Case("GET", room_search_url, DESK_ORDER, page=True, label="GET /desk/orders/new/rooms/?estate={estate}"),
    Case("GET", room_pick_url, DESK_ORDER, page=True, label="GET /desk/orders/new/room/?room={owner's room}"),
    Case("GET", order_url, DESK_ORDER, page=True, label="GET /desk/orders/{order}/"),
    Case(
        "POST",
        force_close_url,
        FORCE_CLOSE_NO_REASON,
        page=True,
        data={},
        label="POST /desk/orders/{order}/act/force_close/ without a reason",
    ),
    Case("GET", photo_url, DESK_ORDER, page=True, label="GET /desk/orders/{order}/photos/{photo}"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    assert_matrix(cast, case)
