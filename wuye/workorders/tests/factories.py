"""Work-order test data built on the shared cast: the company's catalogue, and orders in any status."""

import datetime as dt

from wuye.accounts import services as account_services
from wuye.accounts.choices import Role
from wuye.staff.models import Shift, ShiftAssignment, StaffSkill
from wuye.testing import factories
from wuye.testing.factories import CertificateFactory, StaffProfileFactory
from wuye.workorders import services
from wuye.workorders.choices import Action, Channel, Kind
from wuye.workorders.models import Category

# The action path that brings a freshly submitted repair to each status (technician acts as assignee).
PATH_TO = {
    "submitted": [],
    "accepted": [Action.ACCEPT],
    "dispatched": [Action.ACCEPT, Action.DISPATCH],
    "taken": [Action.ACCEPT, Action.DISPATCH, Action.TAKE],
    "arrived": [Action.ACCEPT, Action.DISPATCH, Action.TAKE, Action.ARRIVE],
    "in_progress": [Action.ACCEPT, Action.DISPATCH, Action.TAKE, Action.ARRIVE, Action.START],
    "on_hold": [Action.ACCEPT, Action.DISPATCH, Action.TAKE, Action.ARRIVE, Action.START, Action.HOLD],
    "resolved": [Action.ACCEPT, Action.DISPATCH, Action.TAKE, Action.ARRIVE, Action.START, Action.RESOLVE],
    "rated": [Action.ACCEPT, Action.DISPATCH, Action.TAKE, Action.ARRIVE, Action.START, Action.RESOLVE, Action.RATE],
    "visited": [
        Action.ACCEPT,
        Action.DISPATCH,
        Action.TAKE,
        Action.ARRIVE,
        Action.START,
        Action.RESOLVE,
        Action.RATE,
        Action.VISIT,
    ],
    "closed": [
        Action.ACCEPT,
        Action.DISPATCH,
        Action.TAKE,
        Action.ARRIVE,
        Action.START,
        Action.RESOLVE,
        Action.RATE,
        Action.VISIT,
        Action.CLOSE,
    ],
    "cancelled": [Action.CANCEL],
}


def seed_catalogue(cast) -> None:
    services.catalogue_seed(company=cast.company)
    services.catalogue_seed(company=cast.other_company)


def category(cast, code: str = "plumbing") -> Category:
    return Category.objects.get(company=cast.company, code=code)


def actor_for(cast, action: str):
    """Who in the cast takes an action in the happy path."""
    return {
        Action.ACCEPT: cast.service_agent,
        Action.CLASSIFY: cast.service_agent,
        Action.DISPATCH: cast.supervisor,
        Action.TRANSFER: cast.supervisor,
        Action.TAKE: cast.technician,
        Action.GRAB: cast.technician,
        Action.RETURN: cast.technician,
        Action.ARRIVE: cast.technician,
        Action.START: cast.technician,
        Action.HOLD: cast.technician,
        Action.RESUME: cast.technician,
        Action.RESOLVE: cast.technician,
        Action.RATE: cast.owner,
        Action.REOPEN: cast.owner,
        Action.VISIT: cast.service_agent,
        Action.ANSWER: cast.service_agent,
        Action.CLOSE: cast.supervisor,
        Action.FORCE_CLOSE: cast.supervisor,
        Action.CANCEL: cast.owner,
        Action.URGE: cast.owner,
    }[action]


def params_for(cast, action: str) -> dict:
    return {
        Action.DISPATCH: {"assignee_id": cast.technician.id},
        Action.GRAB: {"assignee_id": cast.technician.id},
        Action.CLASSIFY: {"priority": "urgent"},
        Action.TRANSFER: {"assignee_id": second_technician(cast).id},
        Action.RETURN: {"reason": "不在片区"},
        Action.HOLD: {"reason": "等配件"},
        Action.RESOLVE: {"resolution": "更换了阀门", "materials": [{"name": "阀门", "quantity": 1, "unit": "个"}]},
        Action.ANSWER: {"resolution": "物业费按季度缴纳"},
        Action.RATE: {"verdict": "good", "score": 5, "comment": "很快"},
        Action.VISIT: {"satisfied": True, "note": "满意"},
        Action.FORCE_CLOSE: {"reason": "重复工单"},
    }.get(action, {})


def staff_member(cast, user, *, skills=(), licence_expires=None):
    """Give `user` a staff profile with `skills`, an electrician's licence expiring on `licence_expires` (if given)
    and an all-day, every-day shift in the cast's estate: eligible for work needing those skills at any hour."""
    profile = StaffProfileFactory(user=user, company=cast.company)
    for skill in skills:
        StaffSkill.objects.create(staff=profile, skill=skill)
    if licence_expires is not None:
        CertificateFactory(staff=profile, kind="electrician", expires_on=licence_expires, issued_on=dt.date(2020, 1, 1))
    shift, _ = Shift.objects.get_or_create(
        estate=cast.estate,
        name="全天",
        defaults={"start_time": dt.time(0), "end_time": dt.time(0), "weekdays": [1, 2, 3, 4, 5, 6, 7]},
    )
    ShiftAssignment.objects.create(staff=profile, shift=shift, starts_on=dt.date(2020, 1, 1))
    return profile


def second_technician(cast):
    user = cast.users.get("technician2")
    if user is None:
        user = factories.UserFactory(username="technician2", name="二号维修工")
        account_services.membership_ensure(user=user, estate=cast.estate, role=Role.TECHNICIAN)
        cast.users["technician2"] = user
    return user


def order(cast, *, status: str = "submitted", kind: str = Kind.REPAIR_HOME, code: str = "plumbing", now=None, **extra):
    """An order reported by the owner for room 1-1-101, walked through the happy path to `status`."""
    now = now or dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # a Monday, 18:00 in Shanghai
    extra.setdefault("room", cast.room)
    new = services.NewOrder(
        estate=cast.estate,
        kind=kind,
        category=category(cast, code),
        description="厨房水管漏水",
        channel=Channel.PORTAL,
        reporter=cast.owner,
        **extra,
    )
    created, _ = services.workorder_create(actor=cast.owner, new=new, now=now)
    for step, action in enumerate(PATH_TO[status], start=1):
        services.workorder_act(
            actor=actor_for(cast, action),
            order_id=created.id,
            action=action,
            params=params_for(cast, action),
            now=now + dt.timedelta(minutes=step),
        )
    created.refresh_from_db()
    return created


def png_bytes(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real PNG made with Pillow, as a phone or browser would upload it."""
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def photo(order, *, stage: str = "report", uploaded_by=None):
    """A photo stored the way the API stores one (cleaned, under a server-generated name), attached to `order`."""
    from wuye.core import clock
    from wuye.core.images import clean_image, store_image
    from wuye.workorders.models import WorkOrderPhoto

    clean = clean_image(png_bytes())
    return WorkOrderPhoto.objects.create(
        order=order,
        stage=stage,
        file=store_image(clean, prefix=f"workorders/{order.estate_id}"),
        content_type=clean.content_type,
        width=clean.width,
        height=clean.height,
        sha256=clean.sha256,
        uploaded_by=uploaded_by or order.reporter,
        uploaded_at=clock.now(),
    )
