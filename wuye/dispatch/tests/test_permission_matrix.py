"""The dispatch pages' and endpoints' permission matrix: the board for dispatchers, the grab pool for field staff."""

import pytest

from wuye.staff.models import StaffProfile
from wuye.testing.matrix import Case, assert_matrix
from wuye.workorders.models import Category, DispatchMode
from wuye.workorders.tests import factories as wf
from wuye.workorders.tests.factories import staff_member

OWNERS = ("owner", "other_owner")
DESK = ("service_agent", "supervisor", "manager", "company_admin")  # DISPATCH_ROLES in the cast
NOT_FIELD = dict.fromkeys(("owner", "other_owner", *DESK, "stranger_supervisor"), 403)


def waiting(mode: str):
    """A url-maker's helper: a fresh accepted plumbing order per member, its category in `mode`; the technician is
    made eligible for plumbing (skill and an all-day shift) so a grab can succeed."""

    def make(cast) -> int:
        wf.seed_catalogue(cast)
        Category.objects.filter(company=cast.company, code="plumbing").update(dispatch_mode=mode)
        if not StaffProfile.objects.filter(user=cast.technician).exists():
            staff_member(cast, cast.technician, skills=["plumbing"])
        return wf.order(cast, status="accepted").id

    return make


def board_assign(cast):
    return f"/desk/dispatch/{waiting(DispatchMode.MANUAL)(cast)}/"


def page_grab(cast):
    return f"/desk/pool/{waiting(DispatchMode.GRAB)(cast)}/grab/"


def api_grab(cast):
    return f"/api/v1/workorders/{waiting(DispatchMode.GRAB)(cast)}/actions/grab"


CASES = [
    Case(
        "GET",
        "/desk/dispatch/",
        {
            **dict.fromkeys(OWNERS, 403),
            "technician": 403,
            **dict.fromkeys(DESK, 200),
            "stranger_supervisor": 200,
            "anonymous": 401,
        },
        page=True,
    ),
    Case(
        "POST",
        board_assign,
        {
            **dict.fromkeys(OWNERS, 403),
            "technician": 403,
            **dict.fromkeys(DESK, 302),
            "stranger_supervisor": 404,
            "anonymous": 401,
        },
        page=True,
        data=lambda c: {"assignee": c.technician.id},
        label="POST /desk/dispatch/{order}/",
    ),
    Case("GET", "/desk/pool/", {**NOT_FIELD, "technician": 200, "anonymous": 401}, page=True),
    Case(
        "POST",
        page_grab,
        {**NOT_FIELD, "technician": 302, "anonymous": 401},
        page=True,
        data={},
        label="POST /desk/pool/{order}/grab/",
    ),
    Case("GET", "/api/v1/dispatch/pool", {**NOT_FIELD, "technician": 200, "anonymous": 401}),
    Case(
        "GET",
        lambda c: f"/api/v1/dispatch/board?estate_id={c.estate.id}",
        {
            **dict.fromkeys(OWNERS, 403),
            "technician": 403,
            **dict.fromkeys(DESK, 200),
            "stranger_supervisor": 404,
            "anonymous": 401,
        },
        label="GET /api/v1/dispatch/board?estate_id={estate}",
    ),
    Case(
        "POST",
        api_grab,
        {
            "owner": 403,
            "other_owner": 404,
            **dict.fromkeys(DESK, 403),
            "technician": 200,
            "stranger_supervisor": 404,
            "anonymous": 401,
        },
        json={},
        label="POST /api/v1/workorders/{grab-mode accepted}/actions/grab",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    assert_matrix(cast, case)
