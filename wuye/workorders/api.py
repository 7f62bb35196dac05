"""The work-order API: report, list, read, act, photos, dispatch candidates and the catalogue.

Not visible → 404 (existence is not revealed); visible but the role may not → 403; a move the state machine refuses
→ 409 naming the current status; bad input → 422 naming the field.
"""

import datetime as dt

from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Body, File, Form, Query, Router
from ninja.files import UploadedFile

from wuye.accounts.models import User
from wuye.accounts.selectors import current_residencies, own_room_ids, roles_by_estate
from wuye.core import clock
from wuye.core.errors import ErrorCollector, FieldError, Forbidden, ValidationFailed
from wuye.core.http import stored_file_response
from wuye.core.images import DEFAULT_MAX_BYTES, ImageRejected, clean_image
from wuye.core.validators import mask_phone, normalize_phone
from wuye.dispatch.selectors import dispatch_suggestions
from wuye.estates.models import Estate, PublicArea
from wuye.estates.selectors import estate_get

from . import selectors, services
from .catalogue import catalogue_and_room
from .choices import ASSIGNED, OWNER_KINDS, USER_ACTIONS, Action, Channel, Kind, PhotoStage, Priority, Status
from .models import WorkOrder, WorkOrderPhoto
from .permissions import DESK_ROLES, DISPATCH_ROLES, can_create_for_others
from .schemas import (
    ActionIn,
    CandidateOut,
    CategoryFilters,
    CategoryOut,
    WorkOrderFilters,
    WorkOrderIn,
    WorkOrderOut,
    WorkOrderPageOut,
)

router = Router(tags=["workorders"])

IDEMPOTENCY_KEY_MAX = 80
# Channels customer service and other staff may enter an order through.
STAFF_CHANNELS = (Channel.PHONE, Channel.WALK_IN, Channel.STAFF)


# ---------------------------------------------------------------- output


def _person(user: User | None) -> dict | None:
    return None if user is None else {"id": user.id, "name": user.display_name}


def _sees_full_phone(user, order: WorkOrder) -> bool:
    """The reporter, the person sent to the door and the desk; everyone else sees 138****1234."""
    if user.id in (order.reporter_id, order.assignee_id):
        return True
    return bool(roles_by_estate(user).get(order.estate_id, frozenset()) & DESK_ROLES)


def _label(choices, value: str) -> str:
    """The label of a stored choice in the active language (Model.get_FOO_display rebuilds the choices map on every
    call; answers carry several labels per order)."""
    return str(choices(value).label) if value else ""


def _event_out(event) -> dict:
    return {
        "id": event.id,
        "action": event.action,
        "action_label": _label(Action, event.action),
        "actor": _person(event.actor),
        "at": event.at,
        "from_status": event.from_status,
        "from_status_label": _label(Status, event.from_status),
        "to_status": event.to_status,
        "to_status_label": _label(Status, event.to_status),
        "note": event.note,
        "payload": event.payload or {},
    }


def _photo_out(photo: WorkOrderPhoto) -> dict:
    return {
        "id": photo.id,
        "stage": photo.stage,
        "stage_label": _label(PhotoStage, photo.stage),
        "url": reverse("api:workorder_photo", kwargs={"order_id": photo.order_id, "photo_id": photo.id}),
        "content_type": photo.content_type,
        "width": photo.width,
        "height": photo.height,
        "uploaded_at": photo.uploaded_at,
    }


def _order_out(user, order: WorkOrder, now: dt.datetime) -> dict:
    return {
        "id": order.id,
        "number": order.number,
        "estate_id": order.estate_id,
        "kind": order.kind,
        "kind_label": _label(Kind, order.kind),
        "channel": order.channel,
        "channel_label": _label(Channel, order.channel),
        "category": {"id": order.category.id, "code": order.category.code, "name": order.category.name},
        "priority": order.priority,
        "priority_label": _label(Priority, order.priority),
        "status": order.status,
        "status_label": _label(Status, order.status),
        "description": order.description,
        "place": order.place_label,
        "room_id": order.room_id,
        "public_area_id": order.public_area_id,
        "grid_id": order.grid_id,
        "reporter": _person(order.reporter),
        "assignee": _person(order.assignee),
        "contact_name": order.contact_name,
        "contact_phone": order.contact_phone if _sees_full_phone(user, order) else mask_phone(order.contact_phone),
        "appointment_start": order.appointment_start,
        "appointment_end": order.appointment_end,
        "reopen_count": order.reopen_count,
        "urge_count": order.urge_count,
        "verdict": order.verdict,
        "score": order.score,
        "rating_comment": order.rating_comment,
        "visit_satisfied": order.visit_satisfied,
        "resolution": order.resolution,
        "materials": order.materials or [],
        "submitted_at": order.submitted_at,
        "closed_at": order.closed_at,
        "allowed_actions": selectors.allowed_actions(user, order),
        "sla": selectors.workorder_sla(order, now),
        "events": [_event_out(event) for event in selectors.workorder_timeline(order)],
        "photos": [_photo_out(photo) for photo in order.photos.all()],
        "photos_url": reverse("api:workorder_photos", kwargs={"order_id": order.id}),
    }


def _detail(request, order_id: int) -> dict:
    """The order as the caller sees it now, read fresh through the scoped selector."""
    order = selectors.workorder_get(request.user, order_id)
    return _order_out(request.user, order, clock.now())


def _item_out(order: WorkOrder, now: dt.datetime) -> dict:
    urgent = selectors.workorder_urgent_step(order, now)
    return {
        "id": order.id,
        "number": order.number,
        "estate_id": order.estate_id,
        "status": order.status,
        "status_label": _label(Status, order.status),
        "kind": order.kind,
        "kind_label": _label(Kind, order.kind),
        "category_name": order.category.name,
        "place": order.place_label,
        "priority": order.priority,
        "priority_label": _label(Priority, order.priority),
        "assignee_name": order.assignee.display_name if order.assignee else None,
        "submitted_at": order.submitted_at,
        "sla_step": urgent["step"] if urgent else None,
        "sla_due_at": urgent["due_at"] if urgent else None,
        "sla_state": urgent["state"] if urgent else None,
    }


# ---------------------------------------------------------------- create


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A time without an offset is local (the portal's date-time inputs send none); in UTC, as stored, so the
    create's answer shows it as every later read does."""
    if value is None:
        return None
    if not timezone.is_aware(value):
        value = timezone.make_aware(value, clock.local_tz())
    return value.astimezone(dt.UTC)


def _estate_visible(user, estate: Estate) -> bool:
    """The rule of wuye.estates.permissions.estates_visible (an active estate the user holds a role in), decided
    from the cached estate without a query; a test keeps the two in step."""
    return estate.is_active and estate.id in roles_by_estate(user)


def _new_order(user, payload: WorkOrderIn) -> services.NewOrder:
    """Check who may report what, where and for whom, and turn the request into a NewOrder; the service checks the
    rest (category against kind, required places, appointment windows)."""
    # The estate with its calendar and the category with its SLA policy and targets, from the per-process catalogue
    # cache (one raw query checks they are current, and reads the room with its building and unit on the way): the
    # new order's SLA clocks need them, and creation is the hot path.
    estate, category, room = catalogue_and_room(
        estate_id=payload.estate_id, category_id=payload.category_id, room_id=payload.room_id
    )
    if estate is None or not _estate_visible(user, estate):
        raise Http404
    as_staff = can_create_for_others(user, estate)
    if not as_staff and not services.owner_can_report_in(user, estate):
        raise Http404
    errors = ErrorCollector()
    if not as_staff:
        if payload.on_behalf_of_user_id is not None or payload.channel not in (None, Channel.PORTAL):
            raise Forbidden(_("Only staff may enter a request on someone else's behalf."))
        if payload.kind not in OWNER_KINDS:
            errors.add("kind", "not_allowed", _("Owners may report repairs, complaints, inquiries and suggestions."))
    reporter, channel = user, Channel.PORTAL
    if as_staff:
        reporter = None
        if payload.on_behalf_of_user_id is not None:
            reporter = User.objects.filter(pk=payload.on_behalf_of_user_id, is_active=True).first()
            if reporter is None or not current_residencies(reporter).filter(room__estate=estate).exists():
                reporter = None
                errors.add("on_behalf_of_user_id", "not_a_resident", _("Choose an owner or resident of this estate."))
        channel = payload.channel or (Channel.PHONE if payload.on_behalf_of_user_id else Channel.STAFF)
        if channel not in STAFF_CHANNELS:
            errors.add("channel", "not_allowed", _("Staff enter orders by phone, walk-in, or as found by staff."))

    if category is None or category.company_id != estate.company_id:
        errors.add("category_id", "not_found", _("This category is not in the estate's catalogue."))
    if payload.room_id is not None:
        # Owners report only for the rooms they live in now; staff entering for an owner, only for that owner's.
        lives_there = own_room_ids(reporter) if reporter is not None else None
        if room is None:
            errors.add("room_id", "not_found", _("The room is not in this estate."))
        elif lives_there is not None and room.id not in lives_there:
            errors.add("room_id", "not_your_room", _("You can only report for a room you live in."))
    public_area = None
    if payload.public_area_id is not None:
        public_area = PublicArea.objects.filter(pk=payload.public_area_id, estate=estate).order_by().first()
        if public_area is None:
            errors.add("public_area_id", "not_found", _("The public area is not in this estate."))
    contact_phone = ""
    if payload.contact_phone:
        try:
            contact_phone = normalize_phone(payload.contact_phone)
        except Exception as refusal:  # django ValidationError with a translated message
            errors.add("contact_phone", "invalid", " ".join(getattr(refusal, "messages", [str(refusal)])))
    errors.raise_if_any(_("The order could not be created."))
    return services.NewOrder(
        estate=estate,
        kind=payload.kind,
        category=category,
        description=payload.description,
        channel=channel,
        priority=payload.priority or "",
        room=room,
        public_area=public_area,
        reporter=reporter,
        contact_name=(payload.contact_name or "").strip(),
        contact_phone=contact_phone,
        appointment_start=_aware(payload.appointment_start),
        appointment_end=_aware(payload.appointment_end),
    )


def _idempotency_key(request) -> str:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise ValidationFailed(
            _("The request could not be accepted."),
            errors=[
                FieldError(
                    "Idempotency-Key",
                    "too_long",
                    _("At most %(max)d characters.") % {"max": IDEMPOTENCY_KEY_MAX},
                )
            ],
        )
    return key


@router.post(
    "/workorders",
    response={200: WorkOrderOut, 201: WorkOrderOut},
    summary="Report a request (201); a retry with the same Idempotency-Key returns the first order (200)",
)
def workorder_create(request, payload: WorkOrderIn):
    key = _idempotency_key(request)
    new = _new_order(request.user, payload)
    now = clock.now()
    order, created = services.workorder_create(actor=request.user, new=new, idempotency_key=key, now=now)
    if created:
        # The new order comes back with its steps, first event and photos attached: no need to read it again. Its
        # answer is rendered as built, without ninja validating it against WorkOrderOut a second time (a sixth of
        # the create's own cost): `_order_out` builds exactly that schema's fields, which every other answer with it
        # proves, and a test compares this body with GET /workorders/{id} and with the validated replay answer.
        from config.api import api  # the API this router is mounted on (it imports this module)

        return api.create_response(request, _order_out(request.user, order, now), status=201)
    return 200, _detail(request, order.id)


# ---------------------------------------------------------------- read


@router.get("/workorders", response=WorkOrderPageOut, summary="Orders the caller may see, newest first")
def workorder_list(request, filters: Query[WorkOrderFilters]):
    now = clock.now()
    orders = selectors.workorder_list(
        request.user,
        status=filters.status,
        kind=filters.kind,
        estate_id=filters.estate_id,
        grid_id=filters.grid_id,
        category=filters.category_id,
        priority=filters.priority,
        sla_state=filters.sla_state,
        assignee=filters.assignee,
        q=filters.q,
        now=now,
    )
    page = orders[filters.offset : filters.offset + filters.limit]
    return {"count": orders.count(), "items": [_item_out(order, now) for order in page]}


@router.get("/workorders/{order_id}", response=WorkOrderOut, summary="One order with its SLA clocks and timeline")
def workorder_detail(request, order_id: int):
    return _detail(request, order_id)


# ---------------------------------------------------------------- actions


@router.post(
    "/workorders/{order_id}/actions/{action}",
    response=WorkOrderOut,
    summary="Take an action: accept, dispatch, take, return, transfer, arrive, start, hold, resume, resolve, rate, "
    "reopen, visit, answer, close, force_close, cancel, urge",
)
def workorder_action(request, order_id: int, action: str, payload: Body[ActionIn | None] = None):
    if action not in USER_ACTIONS:
        raise ValidationFailed(
            _("Unknown action."),
            errors=[
                FieldError(
                    "action",
                    "invalid",
                    _("Must be one of: %(choices)s.") % {"choices": ", ".join(sorted(USER_ACTIONS))},
                )
            ],
        )
    order = selectors.workorder_get(request.user, order_id)
    params = payload.dict(exclude_none=True) if payload is not None else {}
    services.workorder_act(actor=request.user, order_id=order.id, action=action, params=params, now=clock.now())
    return _detail(request, order.id)


@router.get(
    "/workorders/{order_id}/candidates",
    response=list[CandidateOut],
    summary="Staff the order can be dispatched to (dispatching roles)",
)
def workorder_candidates(request, order_id: int):
    order = selectors.workorder_get(request.user, order_id)
    if not roles_by_estate(request.user).get(order.estate_id, frozenset()) & DISPATCH_ROLES:
        raise Forbidden(_("Only customer service, grid leaders and supervisors dispatch orders."))
    people = services.dispatch_candidates(order).annotate(
        open_orders=Count("assigned_work_orders", filter=Q(assigned_work_orders__status__in=ASSIGNED), distinct=True)
    )
    advice = dispatch_suggestions(order, list(people))
    answer = []
    for person in people:
        verdict = advice["eligibility"][person.id]
        suggested = person.id == advice["suggested_id"]
        answer.append(
            {
                "id": person.id,
                "name": person.display_name,
                "open_orders": person.open_orders,
                "eligible": verdict.ok,
                "why_not": [check.message for check in verdict.failed()],
                "suggested": suggested,
                "suggestion_reasons": list(advice["reasons"]) if suggested else [],
            }
        )
    return answer


@router.get("/workorder-categories", response=list[CategoryOut], summary="Categories to report under in an estate")
def category_list(request, filters: Query[CategoryFilters]):
    estate = estate_get(request.user, filters.estate_id)
    return [
        {
            "id": category.id,
            "code": category.code,
            "name": category.name,
            "kinds": category.kinds,
            "default_priority": category.default_priority,
            "default_priority_label": category.get_default_priority_display(),
        }
        for category in selectors.categories_for(request.user, estate, filters.kind)
    ]


# ---------------------------------------------------------------- photos


def _read_clean(upload: UploadedFile):
    # Read one byte past the limit, never the whole of an oversized upload: clean_image refuses it by its length.
    content = upload.read(DEFAULT_MAX_BYTES + 1)
    try:
        return clean_image(content)
    except ImageRejected as refusal:
        raise ValidationFailed(
            refusal.message, code=refusal.code, errors=[FieldError("file", refusal.code, refusal.message)]
        ) from None


@router.post(
    "/workorders/{order_id}/photos",
    response={201: WorkOrderOut},
    summary="Add photos (multipart: file, repeatable; stage report|before|after), at most 6 per stage",
    url_name="workorder_photos",
)
def workorder_photos_add(request, order_id: int, file: File[list[UploadedFile]], stage: Form[PhotoStage]):
    order = selectors.workorder_get(request.user, order_id)
    services.check_photo_right(request.user, order, stage)  # refuse before reading any upload
    if len(file) > services.PHOTOS_PER_STAGE:
        message = _("At most %(max)d photos per stage.") % {"max": services.PHOTOS_PER_STAGE}
        raise ValidationFailed(message, errors=[FieldError("file", "too_many_photos", message)])
    cleaned = [_read_clean(upload) for upload in file]
    services.workorder_photos_add(actor=request.user, order_id=order.id, stage=stage, photos=cleaned)
    return 201, _detail(request, order.id)


@router.get(
    "/workorders/{order_id}/photos/{photo_id}",
    summary="The stored photo itself",
    url_name="workorder_photo",
    response={200: None},
)
def workorder_photo(request, order_id: int, photo_id: int):
    order = selectors.workorder_get(request.user, order_id)
    photo = get_object_or_404(WorkOrderPhoto, pk=photo_id, order=order)
    return stored_file_response(photo.file, photo.content_type)
