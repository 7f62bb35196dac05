"""The work-order API's permission matrix: every route, every cast member.

The matrix helper calls one URL for all members in turn on one cast, so every case that changes state builds its
URL with a lambda that creates a fresh order for each member (url and body callables are resolved per call): one
member's accept never turns another member's 200 into a 409.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from wuye.testing.matrix import Case, assert_matrix
from wuye.workorders.choices import Kind

from . import factories as wf

OWNERS = ("owner", "other_owner")
STAFF = ("service_agent", "technician", "supervisor", "manager", "company_admin")
OUTSIDERS = {"stranger_supervisor": 404, "anonymous": 401}
# Any staff of the estate sees any of its orders; only the reporter's side of the owners does.
SEE_OWNERS_ORDER = {"owner": 200, "other_owner": 404, **dict.fromkeys(STAFF, 200), **OUTSIDERS}


def only(allowed: dict[str, int], refused: int = 403) -> dict[str, int]:
    """Who gets what on the owner's order: `allowed` as given, other_owner 404, every other member `refused`."""
    return {
        **dict.fromkeys(("owner", *STAFF), refused),
        "other_owner": 404,
        **OUTSIDERS,
        **allowed,
    }


DESK = ("service_agent", "supervisor", "manager", "company_admin")  # DISPATCH_ROLES / DESK_ROLES in the cast
VISIT = ("service_agent", "supervisor", "manager", "company_admin")
SIGN_OFF = ("supervisor", "manager", "company_admin")


def fresh(status: str = "submitted", **extra):
    """A url-maker: each call (each member) gets its own new order of the owner's in `status`."""

    def make(cast, _status=status):
        wf.seed_catalogue(cast)
        return wf.order(cast, status=_status, **extra).id

    return make


def act(status: str, action: str, **extra):
    make = fresh(status, **extra)

    def url(cast):
        return f"/api/v1/workorders/{make(cast)}/actions/{action}"

    url.__name__ = f"{action}_from_{status}"
    return url


def action_case(status: str, action: str, expect: dict[str, int], *, json=None, **extra) -> Case:
    kind = extra.get("kind", Kind.REPAIR_HOME)
    return Case(
        "POST",
        act(status, action, **extra),
        expect,
        json=json or body(),
        label=f"POST /api/v1/workorders/{{{kind} {status}}}/actions/{action}",
    )


def body(**values):
    """An action's JSON body (`{}` when it takes no parameters: the API reads JSON, never an empty form)."""
    return lambda cast: values


def png_upload(cast):
    return {"file": [SimpleUploadedFile("p.png", wf.png_bytes(), content_type="image/png")], "stage": "report"}


def work_photo_upload(cast):
    return {"file": [SimpleUploadedFile("b.png", wf.png_bytes(), content_type="image/png")], "stage": "before"}


def photo_url(cast):
    wf.seed_catalogue(cast)
    order = wf.order(cast)
    return f"/api/v1/workorders/{order.id}/photos/{wf.photo(order).id}"


def create_complaint(cast):
    wf.seed_catalogue(cast)
    return {
        "estate_id": cast.estate.id,
        "kind": Kind.COMPLAINT,
        "category_id": wf.category(cast, "noise").id,
        "description": "楼上装修噪音",
    }


def create_repair_in_owners_room(cast):
    wf.seed_catalogue(cast)
    return {
        "estate_id": cast.estate.id,
        "kind": Kind.REPAIR_HOME,
        "category_id": wf.category(cast, "plumbing").id,
        "room_id": cast.room.id,
        "description": "厨房水管漏水",
    }


CASES = [
    Case(
        "GET",
        "/api/v1/workorders",
        {**dict.fromkeys((*OWNERS, *STAFF), 200), "stranger_supervisor": 200, "anonymous": 401},
    ),
    Case(
        "POST",
        "/api/v1/workorders",
        {**dict.fromkeys((*OWNERS, *STAFF), 201), **OUTSIDERS},
        json=create_complaint,
        label="POST /api/v1/workorders (a complaint)",
    ),
    Case(
        "POST",
        "/api/v1/workorders",
        # Staff may enter for any room of their estate; owners only for the room they live in.
        {"owner": 201, "other_owner": 422, **dict.fromkeys(STAFF, 201), **OUTSIDERS},
        json=create_repair_in_owners_room,
        label="POST /api/v1/workorders (a repair in the owner's room)",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/workorders/{fresh()(c)}",
        SEE_OWNERS_ORDER,
        label="GET /api/v1/workorders/{owner's order}",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/workorders/{fresh('accepted')(c)}/candidates",
        only(dict.fromkeys(DESK, 200)),
        label="GET /api/v1/workorders/{order}/candidates",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/workorder-categories?estate_id={c.estate.id}",
        {**dict.fromkeys((*OWNERS, *STAFF), 200), **OUTSIDERS},
        label="GET /api/v1/workorder-categories?estate_id={estate}",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/workorder-categories?estate_id={c.other_estate.id}",
        {**dict.fromkeys((*OWNERS, *STAFF), 404), "stranger_supervisor": 200, "anonymous": 401},
        label="GET /api/v1/workorder-categories?estate_id={other company's estate}",
    ),
    # --- actions: one fresh order per member, in the status the action starts from ---
    action_case("submitted", "accept", only(dict.fromkeys(DESK, 200))),
    action_case(
        "accepted", "dispatch", only(dict.fromkeys(DESK, 200)), json=lambda c: {"assignee_id": c.technician.id}
    ),
    action_case("dispatched", "take", only({"technician": 200})),
    action_case("dispatched", "return", only({"technician": 200}), json=body(reason="不在片区")),
    action_case(
        "dispatched",
        "transfer",
        # The dispatching roles, and the assignee handing it on.
        only(dict.fromkeys((*DESK, "technician"), 200)),
        json=lambda c: {"assignee_id": wf.second_technician(c).id},
    ),
    action_case("taken", "arrive", only({"technician": 200})),
    action_case("arrived", "start", only({"technician": 200})),
    action_case("in_progress", "hold", only(dict.fromkeys(("technician", *SIGN_OFF), 200)), json=body(reason="等配件")),
    action_case("on_hold", "resume", only(dict.fromkeys(("technician", *SIGN_OFF), 200))),
    action_case("in_progress", "resolve", only({"technician": 200}), json=body(resolution="更换阀门")),
    action_case("resolved", "rate", only({"owner": 200}), json=body(verdict="good", score=5)),
    action_case("resolved", "reopen", only(dict.fromkeys(("owner", *VISIT), 200)), json=body(reason="又漏了")),
    action_case("rated", "visit", only(dict.fromkeys(VISIT, 200)), json=body(satisfied=True)),
    action_case(
        "accepted",
        "answer",
        only(dict.fromkeys(VISIT, 200)),
        json=body(resolution="物业费按季度缴纳"),
        kind=Kind.INQUIRY,
        code="fees",
    ),
    action_case("visited", "close", only(dict.fromkeys(VISIT, 200))),
    # A complaint closes only with a supervisor's sign-off.
    action_case("visited", "close", only(dict.fromkeys(SIGN_OFF, 200)), kind=Kind.COMPLAINT, code="noise"),
    action_case("taken", "force_close", only(dict.fromkeys(SIGN_OFF, 200)), json=body(reason="重复工单")),
    action_case("submitted", "cancel", only(dict.fromkeys(("owner", *VISIT), 200))),
    action_case("taken", "urge", only({"owner": 200})),
    # --- photos ---
    Case(
        "POST",
        lambda c: f"/api/v1/workorders/{fresh()(c)}/photos",
        only({"owner": 201}),
        data=png_upload,
        label="POST /api/v1/workorders/{order}/photos (report)",
    ),
    Case(
        "POST",
        lambda c: f"/api/v1/workorders/{fresh('taken')(c)}/photos",
        only({"technician": 201}),
        data=work_photo_upload,
        label="POST /api/v1/workorders/{order}/photos (before, by the assignee)",
    ),
    Case("GET", photo_url, SEE_OWNERS_ORDER, label="GET /api/v1/workorders/{order}/photos/{photo}"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    assert_matrix(cast, case)
