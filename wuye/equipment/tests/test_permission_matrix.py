"""The equipment pages' and API's permission matrix. Staff of the estate see its equipment and plans; owners (who
work nowhere) get 403; the stranger supervisor gets 404 for this estate's items; labels and plan changes are for
supervisors, managers and company administrators (technicians and customer service 403)."""

import datetime as dt

import pytest
from django.core.files.base import ContentFile

from wuye.equipment.models import EquipmentDocument
from wuye.testing.matrix import Case, assert_matrix

from . import factories as ef

STAFF = ("service_agent", "technician", "supervisor", "manager", "company_admin")
KEEPERS = ("supervisor", "manager", "company_admin")
OWNERS = ("owner", "other_owner")


def expect(*, allowed=STAFF, ok=200, stranger=404, owners=403, others=403) -> dict[str, int]:
    result = {member: (ok if member in allowed else others) for member in STAFF}
    return {**result, **dict.fromkeys(OWNERS, owners), "stranger_supervisor": stranger, "anonymous": 401}


def item(c):
    """The cast's pump, made on first use (so the route-coverage test can build every URL from a bare cast)."""
    if "item" not in c.__dict__:
        c.__dict__["item"] = ef.pump(c)
    return c.__dict__["item"]


def plan(c):
    if "plan" not in c.__dict__:
        c.__dict__["plan"] = ef.calendar_plan(c, item(c), starts_at=ef.NOW + dt.timedelta(days=30))
    return c.__dict__["plan"]


def document(c):
    if "document" not in c.__dict__:
        c.__dict__["document"] = EquipmentDocument.objects.create(
            equipment=item(c), title="说明书", file=ContentFile(b"%PDF-1.4 manual", name="manual.pdf")
        )
    return c.__dict__["document"]


def plan_body(cast):
    return {
        "equipment_id": item(cast).id,
        "name": "月度保养",
        "trigger": "calendar",
        "interval": 1,
        "interval_unit": "month",
        "basis": "schedule",
        "starts_at": "2026-12-01T09:00:00+08:00",
        "checklist": ["检查密封"],
    }


CASES = [
    Case("GET", "/desk/equipment/", expect(stranger=200), page=True, label="GET /desk/equipment/"),
    Case("GET", lambda c: f"/desk/equipment/{item(c).id}/", expect(), page=True, label="GET detail page"),
    Case(
        "GET",
        lambda c: f"/desk/equipment/{item(c).id}/documents/{document(c).id}",
        expect(),
        page=True,
        label="GET document download",
    ),
    Case(
        "GET",
        lambda c: f"/desk/equipment/l/{item(c).label_code}/",
        {**expect(ok=302), "anonymous": 401},
        page=True,
        label="GET label landing",
    ),
    Case(
        "GET",
        lambda c: f"/desk/equipment/labels/?id={item(c).id}",
        expect(allowed=KEEPERS),
        page=True,
        label="GET label sheet",
    ),
    Case(
        "GET",
        lambda c: f"/desk/equipment/labels.png?id={item(c).id}",
        expect(allowed=KEEPERS),
        page=True,
        label="GET labels.png",
    ),
    Case(
        "GET",
        lambda c: f"/desk/equipment/labels.pdf?id={item(c).id}",
        expect(allowed=KEEPERS),
        page=True,
        label="GET labels.pdf",
    ),
    Case(
        "GET",
        lambda c: f"/desk/orders/new/?equipment={item(c).id}",
        expect(),
        page=True,
        label="GET fault report form",
    ),
    Case(
        "GET",
        lambda c: f"/desk/equipment/{item(c).id}/plans/new/",
        expect(allowed=KEEPERS),
        page=True,
        label="GET plan form (new)",
    ),
    Case(
        "GET",
        lambda c: f"/desk/equipment/plans/{plan(c).id}/",
        expect(allowed=KEEPERS),
        page=True,
        label="GET plan form (edit)",
    ),
    Case(
        "POST",
        lambda c: f"/desk/equipment/plans/{plan(c).id}/",
        expect(allowed=KEEPERS, ok=422),
        page=True,
        data={"name": "", "trigger": "calendar"},
        label="POST plan form with bad input",
    ),
    Case("GET", "/api/v1/equipment", expect(stranger=200), label="GET /api/v1/equipment"),
    Case("GET", lambda c: f"/api/v1/equipment/{item(c).id}", expect(), label="GET /api/v1/equipment/{id}"),
    Case(
        "GET",
        lambda c: f"/api/v1/equipment/reliability?estate_id={c.estate.id}",
        expect(),
        label="GET /api/v1/equipment/reliability",
    ),
    Case("GET", "/api/v1/maintenance-plans", expect(stranger=200), label="GET /api/v1/maintenance-plans"),
    Case(
        "POST",
        "/api/v1/maintenance-plans",
        expect(allowed=KEEPERS, ok=201),
        json=plan_body,
        label="POST /api/v1/maintenance-plans",
    ),
    Case(
        "PATCH",
        lambda c: f"/api/v1/maintenance-plans/{plan(c).id}",
        expect(allowed=KEEPERS),
        json={"lead_days": 5},
        label="PATCH /api/v1/maintenance-plans/{id}",
    ),
]


@pytest.fixture
def equipped_cast(cast):
    ef.seed_catalogue(cast)
    plan(cast)
    return cast


@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(equipped_cast, case):
    assert_matrix(equipped_cast, case)
