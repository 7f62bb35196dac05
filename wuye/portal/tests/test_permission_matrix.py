"""The owner's work-order pages: what every cast member gets.

The portal is for owners and residents: staff (who work from the desk) and the stranger supervisor get 403 before
any order is looked up, as on the portal home; another owner gets 404 for an order that is not theirs.
"""

import io

import pytest
from PIL import Image

from wuye.core.images import clean_image, store_image
from wuye.testing.matrix import Case, assert_matrix
from wuye.workorders.choices import PhotoStage
from wuye.workorders.models import WorkOrderPhoto
from wuye.workorders.tests import factories as wf

STAFF = ("service_agent", "technician", "supervisor", "manager", "company_admin")
NOT_RESIDENTS = {**dict.fromkeys(STAFF, 403), "stranger_supervisor": 403, "anonymous": 401}
OWNERS_PAGE = {"owner": 200, "other_owner": 200, **NOT_RESIDENTS}
# Pages of the owner's order: others' orders do not exist for other_owner.
OWNERS_ORDER = {"owner": 200, "other_owner": 404, **NOT_RESIDENTS}
# Actions on the owner's order: done, then back to the order page (303).
OWNERS_ACTION = {**OWNERS_ORDER, "owner": 303}


def order_in(cast, status: str, purpose: str = ""):
    """One order of the owner per test and purpose: the matrix resolves a case's URL once per member."""
    key = f"_portal_matrix_order_{status}_{purpose}"
    if key not in cast.__dict__:
        wf.seed_catalogue(cast)
        cast.__dict__[key] = wf.order(cast, status=status)
    return cast.__dict__[key]


def photo_url(cast) -> str:
    order = order_in(cast, "submitted", "photo")
    if "_portal_matrix_photo" not in cast.__dict__:
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), (200, 30, 30)).save(buffer, format="PNG")
        clean = clean_image(buffer.getvalue())
        cast.__dict__["_portal_matrix_photo"] = WorkOrderPhoto.objects.create(
            order=order,
            stage=PhotoStage.REPORT,
            file=store_image(clean, prefix=f"workorders/{order.estate_id}"),
            content_type=clean.content_type,
            width=clean.width,
            height=clean.height,
            sha256=clean.sha256,
            uploaded_by=cast.owner,
            uploaded_at=order.submitted_at,
        )
    return f"/portal/orders/{order.id}/photos/{cast.__dict__['_portal_matrix_photo'].id}"


CASES = [
    Case("GET", "/portal/orders/", OWNERS_PAGE, page=True),
    Case("GET", "/portal/orders/new/", OWNERS_PAGE, page=True),
    Case(
        "POST",
        "/portal/orders/new/",
        # Nothing filled in: the form comes back with its errors (422) for whoever may use it.
        {"owner": 422, "other_owner": 422, **NOT_RESIDENTS},
        page=True,
        data={"description": ""},
        label="POST /portal/orders/new/ (empty form)",
    ),
    Case(
        "GET",
        lambda c: f"/portal/orders/{order_in(c, 'submitted').id}/",
        OWNERS_ORDER,
        page=True,
        label="GET /portal/orders/{owner's order}/",
    ),
    Case(
        "GET",
        photo_url,
        OWNERS_ORDER,
        page=True,
        label="GET /portal/orders/{owner's order}/photos/{photo}",
    ),
    Case(
        "POST",
        lambda c: f"/portal/orders/{order_in(c, 'submitted', 'urge').id}/urge/",
        OWNERS_ACTION,
        page=True,
        label="POST /portal/orders/{owner's order}/urge/",
    ),
    Case(
        "POST",
        lambda c: f"/portal/orders/{order_in(c, 'submitted', 'cancel').id}/cancel/",
        OWNERS_ACTION,
        page=True,
        label="POST /portal/orders/{owner's order}/cancel/",
    ),
    Case(
        "POST",
        lambda c: f"/portal/orders/{order_in(c, 'resolved', 'rate').id}/rate/",
        OWNERS_ACTION,
        page=True,
        data={"verdict": "good", "score": "5"},
        label="POST /portal/orders/{owner's resolved order}/rate/",
    ),
    Case(
        "POST",
        lambda c: f"/portal/orders/{order_in(c, 'resolved', 'reopen').id}/reopen/",
        OWNERS_ACTION,
        page=True,
        data={"reason": "还是漏水"},
        label="POST /portal/orders/{owner's resolved order}/reopen/",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    assert_matrix(cast, case)
