"""Every write to work orders: the catalogue, numbering, creation, and `workorder_act` — the one function that
moves an order between statuses (lock → check TRANSITIONS → apply → event row → SLA clocks → notifications).

Notifications are written through the outbox in the same transaction as the event (wuye.notifications), so an
action that rolls back tells nobody anything.
"""

import datetime as dt
import functools
import json
from collections.abc import Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wuye.accounts.choices import STAFF_ROLES, Role
from wuye.accounts.models import User
from wuye.accounts.selectors import own_estate_ids, roles_by_estate
from wuye.core import clock, rawsql
from wuye.core.errors import DomainError, ErrorCollector, FieldError, Forbidden, Throttled, ValidationFailed
from wuye.core.images import CleanImage, store_image
from wuye.dispatch.selectors import grab_refusal, pool_audience
from wuye.estates.models import Company, Estate, PublicArea, Room
from wuye.staff.choices import CertificateKind
from wuye.staff.models import Certificate
from wuye.staff.rules import certificate_is_valid

from . import rules
from .choices import (
    LONG_PATH_ONLY,
    PREVIOUS,
    SHORT_PATH_KINDS,
    SHORT_PATH_ONLY,
    TRANSITIONS,
    Action,
    Channel,
    Kind,
    PhotoStage,
    Priority,
    Status,
    Step,
    StepState,
    Verdict,
)
from .models import (
    Category,
    DispatchMode,
    ServiceCalendar,
    SlaPolicy,
    SlaTarget,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderNumber,
    WorkOrderPause,
    WorkOrderPhoto,
    WorkOrderStep,
)
from .permissions import FIELD_ROLES, can_act, can_act_as_desk, is_owner_of

CATALOGUE_FILE = Path(__file__).parent / "data" / "catalogue.json"
URGE_INTERVAL = dt.timedelta(minutes=30)
PHOTOS_PER_STAGE = 6
# An owner may reopen a closed order for this long after it closed; later, they report a new problem.
OWNER_REOPEN_WINDOW = dt.timedelta(days=7)


class InvalidTransition(DomainError):
    """The action is not possible in the order's current status (or for its kind)."""

    status = 409
    code = "invalid_transition"


class AlreadyTaken(InvalidTransition):
    """A grab (抢单) lost the race: another technician took the order first."""

    code = "already_taken"


# ---------------------------------------------------------------- catalogue


@transaction.atomic
def catalogue_seed(*, company: Company) -> int:
    """Create the default SLA policies and categories (data/catalogue.json) for a company; idempotent. Returns how
    many categories were created."""
    data = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    policies = {}
    for spec in data["sla_policies"]:
        policy, created = SlaPolicy.objects.get_or_create(
            company=company,
            code=spec["code"],
            defaults={"name": spec["name"], "warn_ratio": spec["warn_ratio"], "escalation": spec["escalation"]},
        )
        if created:
            SlaTarget.objects.bulk_create(
                SlaTarget(
                    policy=policy,
                    service_level=target.get("service_level", ""),
                    priority=target["priority"],
                    step=target["step"],
                    limit_minutes=target["minutes"],
                    round_the_clock=target.get("round_the_clock", False),
                )
                for target in spec["targets"]
            )
        policies[spec["code"]] = policy
    created_count = 0
    for position, spec in enumerate(data["categories"]):
        _category, created = Category.objects.get_or_create(
            company=company,
            code=spec["code"],
            defaults={
                "name_zh": spec["zh"],
                "name_en": spec["en"],
                "kinds": spec["kinds"],
                "default_priority": spec["priority"],
                "required_skill": spec["skill"],
                "required_certificate": spec["certificate"],
                "sla_policy": policies[spec["sla"]],
                "dispatch_mode": spec["dispatch"],
                "position": position,
            },
        )
        created_count += created
    return created_count


# ---------------------------------------------------------------- numbers


def number_next(*, day: dt.date) -> str:
    """The next work-order number of a local date, e.g. WO20261127-000123, from one atomic UPSERT … RETURNING on the
    day's counter row (both SQLite ≥ 3.35 and PostgreSQL). Called outside the create transaction where possible so
    concurrent creates hold the counter row only for one statement."""
    table = WorkOrderNumber._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, last) VALUES (%s, 1) "  # noqa: S608 - table name is ours, values are bound
            f"ON CONFLICT (day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [day],
        )
        (last,) = cursor.fetchone()
    return f"WO{day:%Y%m%d}-{last:06d}"


# ---------------------------------------------------------------- SLA clocks


def _calendar_for(order: WorkOrder, round_the_clock: bool) -> rules.BusinessCalendar:
    if round_the_clock or order.priority == Priority.EMERGENCY:
        return rules.BusinessCalendar.always(clock.local_tz())
    try:
        spec = order.estate.service_calendar.spec  # select_related by callers on the hot path
    except ServiceCalendar.DoesNotExist:
        spec = None
    return _parsed_calendar(json.dumps(spec or rules.DEFAULT_CALENDAR_SPEC, sort_keys=True))


@functools.lru_cache(maxsize=256)
def _parsed_calendar(spec_json: str) -> rules.BusinessCalendar:
    """Calendars are immutable values: parse each distinct spec once per process (creation is the hot path)."""
    return rules.BusinessCalendar.from_spec(json.loads(spec_json), clock.local_tz())


def _target(order: WorkOrder, step: str) -> SlaTarget | None:
    return _pick_target(order.category.sla_policy.targets.all(), order, step)


def _pick_target(targets, order: WorkOrder, step: str) -> SlaTarget | None:
    fitting = [
        t
        for t in targets
        if t.priority == order.priority
        and t.step == step
        and (
            t.estate_id == order.estate_id
            if t.estate_id is not None
            else t.service_level in ("", order.estate.service_level)
        )
    ]
    # The estate's own contract beats its level's target, which beats the any-level one.
    fitting.sort(key=lambda t: (t.estate_id is None, t.service_level == ""))
    return fitting[0] if fitting else None


def _pauses(order: WorkOrder) -> list[rules.Pause]:
    return [rules.Pause(start=p.started_at, end=p.ended_at) for p in order.pauses.all()]


def _schedule(
    order: WorkOrder, step_row: WorkOrderStep, pauses: list[rules.Pause], calendar: rules.BusinessCalendar | None = None
) -> None:
    calendar = calendar or _calendar_for(order, step_row.round_the_clock)
    limit = dt.timedelta(minutes=step_row.limit_minutes)
    step_row.due_at = rules.due_at(calendar, started_at=step_row.started_at, limit=limit, pauses=pauses)
    step_row.warn_at = rules.warning_at(
        calendar, started_at=step_row.started_at, limit=limit, warn_ratio=step_row.warn_ratio, pauses=pauses
    )
    if step_row.step == Step.ARRIVE and order.appointment_end and step_row.due_at is not None:
        step_row.due_at = rules.arrival_due_for_appointment(
            window_start=order.appointment_start, window_end=order.appointment_end
        )
        step_row.warn_at = order.appointment_start
    step_row.state = StepState.PAUSED if step_row.due_at is None else StepState.PENDING


def _step_open(order: WorkOrder, step: str, started_at: dt.datetime) -> None:
    """Start (or restart, after a reopen) the clock of one step, if the order's policy has a limit for it."""
    target = _target(order, step)
    if target is None:
        return
    row = WorkOrderStep.objects.filter(order=order, step=step).first() or WorkOrderStep(order=order, step=step)
    row.started_at = started_at
    row.limit_minutes = target.limit_minutes
    row.round_the_clock = target.round_the_clock
    row.warn_ratio = order.category.sla_policy.warn_ratio
    row.met_at = None
    row.warned_at = None
    row.escalation_level = 0
    _schedule(order, row, _pauses(order))
    row.save()


def _step_meet(order: WorkOrder, step: str, at: dt.datetime) -> None:
    row = WorkOrderStep.objects.filter(order=order, step=step, met_at__isnull=True).first()
    if row is None:
        return
    row.met_at = at
    row.state = StepState.MET if row.due_at is None or at <= row.due_at else StepState.BREACHED
    row.save(update_fields=["met_at", "state"])


def _steps_retime(order: WorkOrder) -> None:
    """After a reclassification: every unmet step takes the new policy's limit for the new priority (from when the
    step started), or stops being timed if the new policy has no limit for it."""
    pauses = _pauses(order)
    for row in WorkOrderStep.objects.filter(order=order, met_at__isnull=True):
        target = _target(order, row.step)
        if target is None:
            row.delete()
            continue
        row.limit_minutes = target.limit_minutes
        row.round_the_clock = target.round_the_clock
        row.warn_ratio = order.category.sla_policy.warn_ratio
        row.warned_at = None
        row.escalation_level = 0
        _schedule(order, row, pauses)
        row.save()


def _steps_reschedule(order: WorkOrder) -> None:
    """After a pause starts or ends: every unmet step's due and warning times follow the pauses."""
    pauses = _pauses(order)
    for row in WorkOrderStep.objects.filter(order=order, met_at__isnull=True):
        _schedule(order, row, pauses)
        row.save(update_fields=["due_at", "warn_at", "state"])


# ---------------------------------------------------------------- notifications


def _tell(order: WorkOrder, recipient: User | None, kind: str, title: str, body: str, *, event_id: int) -> None:
    if recipient is None or not recipient.is_active:
        return
    from wuye.notifications.services import notify  # noqa: PLC0415 - the notifications app is optional at import

    link = f"/portal/orders/{order.id}/" if _is_owner_side(recipient, order) else f"/desk/orders/{order.id}/"
    notify(
        recipient=recipient,
        kind=kind,
        title=title,
        body=body,
        link=link,
        estate=order.estate,
        dedupe_key=f"wo-event:{event_id}:{recipient.id}",
    )


def _is_owner_side(user: User, order: WorkOrder) -> bool:
    return not (roles_by_estate(user).get(order.estate_id, frozenset()) & STAFF_ROLES)


def _notify_for(order: WorkOrder, event: WorkOrderEvent) -> None:
    """Who hears about what (issue: owners about acceptance, dispatch, arrival, completion and closing; staff about
    assignment, warnings and escalations). Rendered in Chinese, the installation's language."""
    with translation.override(settings.LANGUAGE_CODE):
        number = order.number
        owner = order.reporter
        action = event.action
        if action == Action.ACCEPT:
            _tell(
                order,
                owner,
                "workorder.accepted",
                _("Order %(n)s accepted") % {"n": number},
                _("We have accepted your request and will arrange it shortly."),
                event_id=event.id,
            )
        elif action in (Action.DISPATCH, Action.TRANSFER, Action.GRAB):
            arrive = order.steps.filter(step=Step.ARRIVE).first()
            promised = timezone.localtime(arrive.due_at).strftime("%m-%d %H:%M") if arrive and arrive.due_at else "—"
            _tell(
                order,
                owner,
                "workorder.dispatched",
                _("Order %(n)s dispatched") % {"n": number},
                _("%(name)s will handle it; expected on site by %(time)s.")
                % {"name": order.assignee.display_name, "time": promised},
                event_id=event.id,
            )
            if action != Action.GRAB:  # whoever grabbed it knows
                _tell(
                    order,
                    order.assignee,
                    "workorder.assigned",
                    _("New order %(n)s") % {"n": number},
                    _("%(place)s: %(text)s") % {"place": order.place_label, "text": order.description[:60]},
                    event_id=event.id,
                )
        elif action == Action.ARRIVE:
            _tell(
                order,
                owner,
                "workorder.arrived",
                _("Order %(n)s: technician on site") % {"n": number},
                _("%(name)s has arrived.") % {"name": order.assignee.display_name},
                event_id=event.id,
            )
        elif action in (Action.RESOLVE, Action.ANSWER):
            _tell(
                order,
                owner,
                "workorder.resolved",
                _("Order %(n)s completed") % {"n": number},
                _("Please check the result and rate the service."),
                event_id=event.id,
            )
        elif action in (Action.CLOSE, Action.AUTO_CLOSE, Action.FORCE_CLOSE):
            _tell(
                order,
                owner,
                "workorder.closed",
                _("Order %(n)s closed") % {"n": number},
                _("Thank you. The order is closed."),
                event_id=event.id,
            )
        elif action == Action.URGE and order.assignee:
            _tell(
                order,
                order.assignee,
                "workorder.urged",
                _("Order %(n)s urged by the owner") % {"n": number},
                order.place_label,
                event_id=event.id,
            )
        if (
            action in (Action.ACCEPT, Action.RETURN, Action.REOPEN)
            and order.category.dispatch_mode == DispatchMode.GRAB
        ):
            # 抢单: everyone who may take it now hears it is in the pool.
            for person in pool_audience(order, event.at):
                _tell(
                    order,
                    person,
                    "workorder.pool",
                    _("In the grab pool: %(n)s") % {"n": number},
                    _("%(place)s: %(text)s") % {"place": order.place_label, "text": order.description[:60]},
                    event_id=event.id,
                )


# ---------------------------------------------------------------- create


@dataclass
class NewOrder:
    estate: Estate
    kind: str
    category: Category
    description: str
    channel: str = Channel.PORTAL
    priority: str = ""
    room: Room | None = None
    public_area: PublicArea | None = None
    reporter: User | None = None
    contact_name: str = ""
    contact_phone: str = ""
    appointment_start: dt.datetime | None = None
    appointment_end: dt.datetime | None = None
    source_type: str = ""
    source_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _validate_new(actor: User | None, new: NewOrder, now: dt.datetime) -> None:
    errors = ErrorCollector()
    if new.kind not in Kind.values:
        errors.add("kind", "invalid", _("Unknown kind of order."))
    if new.category.company_id != new.estate.company_id or not new.category.is_active:
        errors.add("category_id", "invalid", _("This category is not in the estate's catalogue."))
    elif new.kind not in new.category.kinds:
        errors.add("category_id", "kind_mismatch", _("This category does not apply to this kind of order."))
    text = (new.description or "").strip()
    if len(text) < 2:
        errors.add("description", "too_short", _("Describe the problem in a few words."))
    if len(text) > 2000:
        errors.add("description", "too_long", _("At most 2000 characters."))
    if new.priority and new.priority not in Priority.values:
        errors.add("priority", "invalid", _("Unknown priority."))
    if new.room is not None and new.room.estate_id != new.estate.id:
        errors.add("room_id", "wrong_estate", _("The room is not in this estate."))
    if new.public_area is not None and new.public_area.estate_id != new.estate.id:
        errors.add("public_area_id", "wrong_estate", _("The public area is not in this estate."))
    if new.kind == Kind.REPAIR_HOME and new.room is None:
        errors.add("room_id", "required", _("An in-home repair needs the room."))
    if new.kind == Kind.REPAIR_PUBLIC and new.public_area is None and new.room is None:
        errors.add("public_area_id", "required", _("Say where: choose the public area."))
    if (new.appointment_start is None) != (new.appointment_end is None):
        errors.add("appointment_end", "incomplete", _("An appointment needs both a start and an end."))
    elif new.appointment_start is not None:
        if new.kind != Kind.REPAIR_HOME:
            errors.add("appointment_start", "not_allowed", _("Appointments are for in-home repairs."))
        else:
            problem = rules.appointment_window_valid(new.appointment_start, new.appointment_end, now)
            messages = {
                "end_before_start": _("The appointment must end after it starts."),
                "in_the_past": _("The appointment cannot be in the past."),
                "too_far_ahead": _("Appointments can be booked at most 30 days ahead."),
                "too_long": _("An appointment window may be at most 4 hours."),
            }
            if problem:
                errors.add("appointment_start", problem, messages.get(problem, problem))
    errors.raise_if_any(_("The order could not be created."))


def _grid_id_of(new: NewOrder) -> int | None:
    if new.room is not None:
        return new.room.building.grid_id
    if new.public_area is not None:
        return new.public_area.grid_id
    return None


def workorder_create(
    *,
    actor: User | None,
    new: NewOrder,
    idempotency_key: str = "",
    photos: Sequence[CleanImage] = (),
    now: dt.datetime | None = None,
) -> tuple[WorkOrder, bool]:
    """Create an order with its number, SLA clocks, first event, notifications and the reporter's photos (already
    checked with wuye.core.images.clean_image). Returns (order, created): a retry with the same idempotency key by the
    same user returns the first order and creates nothing."""
    now = now or clock.now()
    # A replay is caught by the unique (created_by, idempotency_key) constraint below rather than by a look-up
    # before every create: replays are rare, creates are the hot path.
    _validate_new(actor, new, now)
    if len(photos) > PHOTOS_PER_STAGE:
        message = _("At most %(max)d photos.") % {"max": PHOTOS_PER_STAGE}
        raise ValidationFailed(message, errors=[FieldError("photos", "too_many_photos", message)])
    try:
        with _stored(photos, prefix=f"workorders/{new.estate.id}") as names, _create_transaction(photos):
            # The number is taken inside the transaction, just before the insert: one commit (one disk flush) per
            # create. The day's counter row stays locked only until this transaction commits.
            order = _create_in_transaction(actor, new, idempotency_key, now)
            order._prefetched_objects_cache["photos"] = (
                _photo_rows(order, PhotoStage.REPORT, photos, names, actor, now) if photos else []
            )
    except IntegrityError:
        if idempotency_key:
            existing = WorkOrder.objects.filter(created_by=actor, idempotency_key=idempotency_key).first()
            if existing:
                return existing, False
        raise
    return order, True


def _create_transaction(photos: Sequence[CleanImage]):
    """On PostgreSQL a create without photos is one statement (_insert_in_one_statement), atomic by itself: outside
    any transaction it needs no BEGIN and COMMIT of its own (two round trips less on the hot path). Inside one, a
    savepoint as usual, so a refused insert (a replayed idempotency key) leaves the caller's transaction usable."""
    if connection.vendor == "postgresql" and not photos and not connection.in_atomic_block:
        return nullcontext()
    return transaction.atomic()


@contextmanager
def _stored(photos: Sequence[CleanImage], *, prefix: str):
    """Save photo files before the transaction (storage is not transactional, and the database should not wait on
    it); delete them again if the block fails, so a refused or failed write leaves no orphan files."""
    names: list[str] = []
    try:
        for clean in photos:
            names.append(store_image(clean, prefix=prefix))
        yield names
    except BaseException:
        for name in names:
            default_storage.delete(name)
        raise


def _photo_rows(order, stage, photos, names, actor, now) -> list[WorkOrderPhoto]:
    return WorkOrderPhoto.objects.bulk_create(
        WorkOrderPhoto(
            order=order,
            stage=stage,
            file=name,
            content_type=clean.content_type,
            width=clean.width,
            height=clean.height,
            sha256=clean.sha256,
            uploaded_by=actor,
            uploaded_at=now,
        )
        for name, clean in zip(names, photos, strict=True)
    )


REPORT_PHOTO_STATUSES = frozenset({Status.SUBMITTED, Status.ACCEPTED})
WORK_PHOTO_STATUSES = frozenset({Status.TAKEN, Status.ARRIVED, Status.IN_PROGRESS, Status.ON_HOLD, Status.RESOLVED})


def check_photo_right(user: User, order: WorkOrder, stage: str) -> None:
    """The reporter (or whoever entered the order) adds what they saw while it is being accepted; the assignee adds
    before/after proof while working. The wrong person gets 403, the wrong moment 409."""
    if stage == PhotoStage.REPORT:
        if not (is_owner_of(user, order) or order.created_by_id == user.id):
            raise Forbidden(_("Only the person who reported the order may add photos of the problem."))
        allowed = REPORT_PHOTO_STATUSES
    else:
        if order.assignee_id != user.id:
            raise Forbidden(_("Only the person the order is assigned to may add work photos."))
        allowed = WORK_PHOTO_STATUSES
    if order.status not in allowed:
        raise InvalidTransition(
            _("The order is %(status)s; photos of this stage cannot be added now.")
            % {"status": order.get_status_display()}
        )


def workorder_photos_add(
    *, actor: User, order_id: int, stage: str, photos: Sequence[CleanImage], now: dt.datetime | None = None
) -> list[WorkOrderPhoto]:
    """Attach checked photos to an order: the reporter's (while it is being accepted), or the assignee's before/after
    proof of work. At most PHOTOS_PER_STAGE per stage: the order row is locked while counting, so two uploads at once
    cannot both pass the limit."""
    now = now or clock.now()
    order = WorkOrder.objects.get(pk=order_id)
    check_photo_right(actor, order, stage)
    if len(photos) > PHOTOS_PER_STAGE:
        message = _("At most %(max)d photos per stage.") % {"max": PHOTOS_PER_STAGE}
        raise ValidationFailed(message, errors=[FieldError("file", "too_many_photos", message)])
    with _stored(photos, prefix=f"workorders/{order.estate_id}") as names, transaction.atomic():
        order = WorkOrder.objects.select_for_update(of=("self",)).get(pk=order_id)
        existing = WorkOrderPhoto.objects.filter(order=order, stage=stage).count()
        if existing + len(photos) > PHOTOS_PER_STAGE:
            message = _("At most %(max)d photos per stage; this order already has %(n)d.") % {
                "max": PHOTOS_PER_STAGE,
                "n": existing,
            }
            raise ValidationFailed(message, errors=[FieldError("file", "too_many_photos", message)])
        return _photo_rows(order, stage, photos, names, actor, now)


def _create_in_transaction(actor, new: NewOrder, idempotency_key: str, now: dt.datetime) -> WorkOrder:
    """Write the order with its number, its first event and its first clocks. The new order carries what it was
    created with, as if prefetched, so the caller can show it without reading it back (creation is the hot path)."""
    order = WorkOrder(
        estate=new.estate,
        kind=new.kind,
        channel=new.channel,
        category=new.category,
        priority=new.priority or new.category.default_priority,
        status=Status.SUBMITTED,
        description=new.description.strip(),
        reporter=new.reporter,
        created_by=actor,
        contact_name=new.contact_name or (new.reporter.display_name if new.reporter else ""),
        contact_phone=new.contact_phone or (new.reporter.phone or "" if new.reporter else ""),
        room=new.room,
        public_area=new.public_area,
        grid_id=_grid_id_of(new),
        appointment_start=new.appointment_start,
        appointment_end=new.appointment_end,
        submitted_at=now,
        idempotency_key=idempotency_key,
        source_type=new.source_type,
        source_id=new.source_id,
    )
    event = WorkOrderEvent(
        order=order,
        action=Action.SUBMIT,
        actor=actor,
        at=now,
        to_status=Status.SUBMITTED,
        payload={"channel": new.channel, "priority": order.priority, **new.extra},
    )
    kinds = (Step.ACCEPT, Step.RESOLVE) if order.kind in SHORT_PATH_KINDS else (Step.ACCEPT, Step.ARRIVE, Step.RESOLVE)
    steps = _steps_new(order, kinds, now)
    day = timezone.localdate(now, clock.local_tz())
    if connection.vendor == "postgresql":
        _insert_in_one_statement(order, event, steps, day)
    else:
        order.number = number_next(day=day)
        order.save(force_insert=True)
        event.order = order
        event.save(force_insert=True)
        for step in steps:
            step.order = order
        WorkOrderStep.objects.bulk_create(steps)
    order._prefetched_objects_cache = {"events": [event], "steps": steps}
    return order


def _insert_in_one_statement(order: WorkOrder, event: WorkOrderEvent, steps: list[WorkOrderStep], day) -> None:
    """PostgreSQL: the day's number, the order, its first event and its clocks in one WITH … INSERT statement (one
    round trip instead of four, and no ORM statement building). The SQLite path writes the same rows through the
    ORM; the suite runs on both, so the two stay in step."""
    counter = WorkOrderNumber._meta.db_table
    number = (
        # The same text as number_next: WO + local date + the counter, zero-padded to at least six digits.
        "(SELECT 'WO' || %s || '-' || lpad(last::text, greatest(6, length(last::text)), '0') FROM number)",
        [f"{day:%Y%m%d}"],
    )
    order_id = ("(SELECT id FROM new_order)", [])
    parts = [rawsql.insert_parts(order, {"number": number})]
    parts.append(rawsql.insert_parts(event, {"order_id": order_id}))
    parts.extend(rawsql.insert_parts(step, {"order_id": order_id}) for step in steps)
    names = ["new_order", "new_event", *(f"new_step_{index}" for index in range(len(steps)))]
    returning = {"new_order": "id, number"}
    ctes = [
        f"number AS (INSERT INTO {counter} (day, last) VALUES (%s, 1) "  # noqa: S608 - our table names, bound values
        f"ON CONFLICT (day) DO UPDATE SET last = {counter}.last + 1 RETURNING last)"
    ]
    params: list = [day]
    for name, part in zip(names, parts, strict=True):
        ctes.append(
            f"{name} AS (INSERT INTO {part.table} ({part.columns}) "  # noqa: S608 - columns come from our models
            f"SELECT {part.values} RETURNING {returning.get(name, 'id')})"
        )
        params.extend(part.params)
    selected = ", ".join(["new_order.id", "new_order.number", *(f"(SELECT id FROM {name})" for name in names[1:])])  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} SELECT {selected} FROM new_order", params)  # noqa: S608
        row = cursor.fetchone()
    order.number = row[1]
    rawsql.mark_saved(order, row[0])
    event.order = order
    rawsql.mark_saved(event, row[2])
    for step, step_id in zip(steps, row[3:], strict=True):
        step.order = order
        rawsql.mark_saved(step, step_id)


def _steps_new(order: WorkOrder, steps: Sequence[str], now: dt.datetime) -> list[WorkOrderStep]:
    """The first clocks of a new (not yet saved) order, from one read of the targets and calendar."""
    targets = list(order.category.sla_policy.targets.all())
    calendars: dict[bool, rules.BusinessCalendar] = {}
    rows = []
    for step in steps:
        target = _pick_target(targets, order, step)
        if target is None:
            continue
        row = WorkOrderStep(
            order=order,
            step=step,
            started_at=now,
            limit_minutes=target.limit_minutes,
            round_the_clock=target.round_the_clock,
            warn_ratio=order.category.sla_policy.warn_ratio,
        )
        always = target.round_the_clock or order.priority == Priority.EMERGENCY
        if always not in calendars:
            calendars[always] = _calendar_for(order, always)
        _schedule(order, row, [], calendar=calendars[always])
        rows.append(row)
    return rows


# ---------------------------------------------------------------- actions


def _require(errors: ErrorCollector, params: dict, name: str, message: str) -> Any:
    value = params.get(name)
    if value in (None, "", []):
        errors.add(name, "required", message)
    return value


def _staff_assignee(order: WorkOrder, user_id) -> User | None:
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        return None
    roles = roles_by_estate(user).get(order.estate_id, frozenset())
    return user if roles & (STAFF_ROLES - {Role.COMPANY_ADMIN}) else None


def _certificate_problem(order: WorkOrder, assignee: User, today: dt.date) -> str | None:
    """Work that legally requires a licence (electrical, lifts, fire systems…) goes only to someone holding a valid
    one; the message says what is missing or when it expired, so the dispatcher knows why."""
    kind = order.category.required_certificate
    if not kind:
        return None
    expiries = list(Certificate.objects.filter(staff__user=assignee, kind=kind).values_list("expires_on", flat=True))
    names = {"name": assignee.display_name, "certificate": CertificateKind(kind).label}
    if not expiries:
        return _("%(name)s holds no %(certificate)s, which this work requires.") % names
    if any(certificate_is_valid(expires_on=expires_on, on=today) for expires_on in expiries):
        return None
    latest = max(expiries)
    return _("%(name)s's %(certificate)s expired on %(date)s; this work requires a valid one.") % {
        **names,
        "date": latest.isoformat(),
    }


def _apply(order: WorkOrder, action: str, actor: User | None, params: dict, now: dt.datetime) -> dict:
    """Change the order's own fields for an action; returns the event payload. Raises ValidationFailed."""
    errors = ErrorCollector()
    payload: dict = {}
    if action in (Action.DISPATCH, Action.TRANSFER):
        assignee = _staff_assignee(order, params.get("assignee_id"))
        if assignee is None:
            errors.add("assignee_id", "invalid", _("Choose a member of staff of this estate."))
        elif action == Action.TRANSFER and assignee.id == order.assignee_id:
            errors.add("assignee_id", "same_person", _("The order is already with this person."))
        elif problem := _certificate_problem(order, assignee, timezone.localdate(now, clock.local_tz())):
            errors.add("assignee_id", "certificate", problem)
        else:
            payload["assignee_id"] = assignee.id
            payload["assignee"] = assignee.display_name
            if order.assignee_id:
                payload["previous_assignee_id"] = order.assignee_id
            # How the choice was made: by a dispatch policy (with its reasons), or on the desk's dispatch board by
            # accepting the suggestion or overriding it (with the dispatcher's reason). Never from the API body.
            for key in ("policy", "policy_reasons", "suggested_id", "override"):
                if key in params:
                    payload[key] = params[key]
            if params.get("override"):
                payload["reason"] = _require(errors, params, "reason", _("Say why you chose someone else."))
            order.assignee = assignee
    elif action == Action.GRAB:
        taker = actor if actor is not None else _staff_assignee(order, params.get("assignee_id"))
        if taker is None:
            errors.add("assignee_id", "invalid", _("Choose a member of staff of this estate."))
        else:
            refusal = grab_refusal(order, taker, now)
            if refusal:
                raise Forbidden(refusal)
            payload["assignee_id"] = taker.id
            payload["assignee"] = taker.display_name
            order.assignee = taker
    elif action == Action.CLASSIFY:
        category = Category.objects.filter(
            pk=params.get("category_id") or order.category_id, company_id=order.estate.company_id, is_active=True
        ).first()
        priority = params.get("priority") or order.priority
        if category is None:
            errors.add("category_id", "invalid", _("This category is not in the estate's catalogue."))
        elif order.kind not in category.kinds:
            errors.add("category_id", "kind_mismatch", _("This category does not apply to this kind of order."))
        if priority not in Priority.values:
            errors.add("priority", "invalid", _("Unknown priority."))
        if category is not None and category.id == order.category_id and priority == order.priority:
            errors.add("category_id", "unchanged", _("Choose another category or priority."))
        if category is not None:
            payload.update(
                {
                    "from_category": order.category.code,
                    "to_category": category.code,
                    "from_priority": order.priority,
                    "to_priority": priority,
                }
            )
            order.category = category
        order.priority = priority
    elif action == Action.RETURN:
        payload["reason"] = _require(errors, params, "reason", _("Say why the order is returned."))
        order.assignee = None
    elif action == Action.HOLD:
        payload["reason"] = _require(errors, params, "reason", _("Say why the work is on hold."))
        order.held_from_status = order.status
    elif action == Action.RESOLVE:
        order.resolution = _require(errors, params, "resolution", _("Describe what was done.")) or ""
        materials = params.get("materials") or []
        order.materials = materials
        payload["materials"] = materials
    elif action == Action.ANSWER:
        order.resolution = _require(errors, params, "resolution", _("Write the answer.")) or ""
    elif action == Action.RATE:
        verdict = _require(errors, params, "verdict", _("Choose satisfied, not satisfied or not fixed."))
        score = params.get("score")
        if verdict and verdict not in Verdict.values:
            errors.add("verdict", "invalid", _("Choose satisfied, not satisfied or not fixed."))
        if not isinstance(score, int) or not 1 <= score <= 5:
            errors.add("score", "range", _("Give a score from 1 to 5."))
        order.verdict = verdict or ""
        order.score = score if isinstance(score, int) else None
        order.rating_comment = (params.get("comment") or "")[:500]
        payload.update({"verdict": verdict, "score": score, "reasons": params.get("reasons") or []})
    elif action == Action.VISIT:
        satisfied = params.get("satisfied")
        if not isinstance(satisfied, bool):
            errors.add("satisfied", "required", _("Record whether the owner is satisfied."))
        order.visit_satisfied = satisfied if isinstance(satisfied, bool) else None
        payload["satisfied"] = satisfied
    elif action == Action.FORCE_CLOSE:
        payload["reason"] = _require(errors, params, "reason", _("Say why the order is closed by force."))
    elif action == Action.REOPEN:
        if (
            actor is not None
            and order.status == Status.CLOSED
            and order.closed_at
            and now - order.closed_at > OWNER_REOPEN_WINDOW
            and is_owner_of(actor, order)
            and not can_act_as_desk(actor, order, action)
        ):
            raise Forbidden(_("This order closed more than 7 days ago; please report the problem again."))
        payload["reason"] = params.get("reason") or ""
        order.reopen_count += 1
        order.assignee = None
        order.verdict = ""
        order.score = None
        order.visit_satisfied = None
    elif action == Action.URGE:
        last = order.events.filter(action=Action.URGE).order_by("-at").values_list("at", flat=True).first()
        if last and now - last < URGE_INTERVAL:
            raise Throttled(
                _("You urged this order at %(time)s; you can urge again after 30 minutes.")
                % {"time": timezone.localtime(last).strftime("%H:%M")}
            )
        order.urge_count += 1
    elif action == Action.CANCEL:
        payload["reason"] = params.get("reason") or ""
    errors.raise_if_any(_("The action could not be done."))
    if params.get("note"):
        payload["note"] = str(params["note"])[:500]
    return payload


def _status_label(status: str) -> str:
    return str(Status(status).label)


def _check_move(order: WorkOrder, action: str) -> str | None:
    if action not in TRANSITIONS:
        raise InvalidTransition(_("Unknown action."))
    sources, target = TRANSITIONS[action]
    if action == Action.GRAB and order.status not in sources and order.assignee_id is not None:
        raise AlreadyTaken(
            _("Someone else has already taken this order; it is %(status)s now.")
            % {"status": _status_label(order.status)}
        )
    short = order.kind in SHORT_PATH_KINDS
    if (short and action in LONG_PATH_ONLY) or (not short and action in SHORT_PATH_ONLY) or order.status not in sources:
        raise InvalidTransition(
            _("The order is %(status)s; “%(action)s” is not possible now.")
            % {"status": _status_label(order.status), "action": Action(action).label}
        )
    if target == PREVIOUS:
        return order.held_from_status
    return target


def workorder_act(
    *, actor: User | None, order_id: int, action: str, params: dict | None = None, now: dt.datetime | None = None
) -> WorkOrder:
    """Take one action on an order: lock it, check the move and the actor's right, apply it, write the event, move
    the SLA clocks and queue the notifications — all in one transaction."""
    params = params or {}
    now = now or clock.now()
    with transaction.atomic():
        order = (
            WorkOrder.objects.select_for_update(of=("self",))
            .select_related("estate", "category__sla_policy", "assignee", "reporter", "room__building")
            .get(pk=order_id)
        )
        if actor is not None and not can_act(actor, order, action):
            raise Forbidden(_("You may not do this on this order."))
        _move(order, action, actor, params, now)
        if action == Action.VISIT and params.get("satisfied") is False:
            # An unsatisfied return visit sends the order back to be fixed again.
            _move(order, Action.REOPEN, actor, {"reason": _("Owner not satisfied at the return visit.")}, now)
        elif action == Action.RATE and params.get("verdict") == Verdict.RETURNED:
            _move(order, Action.REOPEN, actor, {"reason": _("Owner says it is not fixed.")}, now)
    return order


def _move(order: WorkOrder, action: str, actor: User | None, params: dict, now: dt.datetime) -> None:
    """One step of the state machine on a locked order: check the move, apply it, save only what changed, write the
    event, move the clocks and queue the notifications. An action that implies another (an unsatisfied visit
    reopens) calls this twice in the same transaction, so each step has its own event row."""
    target = _check_move(order, action)
    before = {field.attname: getattr(order, field.attname) for field in order._meta.concrete_fields}
    from_status = order.status
    payload = _apply(order, action, actor, params, now)
    if target is not None:
        order.status = target
    if order.status in (Status.CLOSED, Status.CANCELLED):
        order.closed_at = now
    elif action == Action.REOPEN:
        order.closed_at = None
    changed = [name for name, value in before.items() if getattr(order, name) != value]
    if changed:
        order.save(update_fields=[*changed, "updated_at"])
    event = WorkOrderEvent.objects.create(
        order=order,
        action=action,
        actor=actor,
        at=now,
        from_status=from_status,
        to_status=order.status if target is not None else "",
        note=str(params.get("note") or payload.get("reason") or "")[:500],
        payload=payload,
    )
    _clocks_after(order, action, now, payload)
    _notify_for(order, event)
    if action in REPLAN_AFTER:
        _replan_on_commit(order.estate_id)
    _after_move(order, action, from_status, event, now)


def _after_move(order: WorkOrder, action: str, from_status: str, event: WorkOrderEvent, now: dt.datetime) -> None:
    """What other parts of wuye do when an order moves, in the same transaction: the one place where work orders
    call back into the apps built on them (each import is local because those apps import work orders)."""
    if order.status == Status.CLOSED and from_status != Status.CLOSED:
        _survey_after_close(order, now)
    if order.kind == Kind.ALARM and order.status != from_status:
        _alarms_after_order_moved(order, from_status, now)
    if order.kind == Kind.RECTIFICATION and order.status in (Status.RESOLVED, Status.CLOSED):
        _recheck_after_rectification(order, now)
    if action in (Action.RATE, Action.VISIT):
        _follow_up_after_feedback(order, action, event, now)


# Events after which the estate's automatic dispatch looks again: an order starts waiting for someone (accepted,
# returned, reopened, re-classified), or a technician becomes free (finished or cancelled work).
REPLAN_AFTER = frozenset(
    {Action.ACCEPT, Action.CLASSIFY, Action.RETURN, Action.REOPEN, Action.RESOLVE, Action.FORCE_CLOSE}
)


def _survey_after_close(order: WorkOrder, now: dt.datetime) -> None:
    """The one-question satisfaction survey to whoever reported the order, in the same transaction as the close."""
    # Imported here: engagement builds on work orders.
    from wuye.engagement.services import after_order_survey_invite

    after_order_survey_invite(order=order, now=now)


def _alarms_after_order_moved(order: WorkOrder, from_status: str, now: dt.datetime) -> None:
    """An alarm order resolved, closed or cancelled while its alarm is still open is recorded on the alarm."""
    # Imported here: the IoT app builds on work orders.
    from wuye.iot.services import alarms_after_order_moved

    alarms_after_order_moved(order=order, from_status=from_status, now=now)


def _recheck_after_rectification(order: WorkOrder, now: dt.datetime) -> None:
    """A rectification (整改) whose work is done schedules the re-check of the inspection item it came from, at once
    (a no-op for rectifications not raised by an inspection, and for the second of resolve → close)."""
    # Imported here: inspections build on work orders.
    from wuye.inspections.services import rectification_resolved

    rectification_resolved(order=order, now=now)


def _follow_up_after_feedback(order: WorkOrder, action: str, event: WorkOrderEvent, now: dt.datetime) -> None:
    """A low rating or an unsatisfied return visit opens a follow-up for the grid leader, in the same transaction."""
    from wuye.engagement.services import follow_up_after_order_event

    follow_up_after_order_event(order=order, action=action, payload=event.payload, now=now)


def _replan_on_commit(estate_id: int) -> None:
    # Imported here: the dispatch app builds on work orders (its services call workorder_act).
    from wuye.dispatch.tasks import dispatch_replan

    transaction.on_commit(lambda: dispatch_replan.enqueue(estate_id=estate_id))


def _clocks_after(order: WorkOrder, action: str, now: dt.datetime, payload: dict) -> None:
    if action == Action.ACCEPT:
        _step_meet(order, Step.ACCEPT, now)
        if order.kind not in SHORT_PATH_KINDS:
            _step_open(order, Step.DISPATCH, now)
    elif action == Action.DISPATCH:
        _step_meet(order, Step.DISPATCH, now)
    elif action == Action.ARRIVE:
        _step_meet(order, Step.ARRIVE, now)
    elif action in (Action.RESOLVE, Action.ANSWER):
        _step_meet(order, Step.RESOLVE, now)
        if action == Action.RESOLVE:
            _step_open(order, Step.VISIT, now)
    elif action == Action.VISIT:
        _step_meet(order, Step.VISIT, now)
    elif action == Action.CLASSIFY:
        _steps_retime(order)
    elif action == Action.HOLD:
        WorkOrderPause.objects.create(order=order, started_at=now, reason=str(payload.get("reason") or "")[:200])
        _steps_reschedule(order)
    elif action == Action.RESUME:
        WorkOrderPause.objects.filter(order=order, ended_at__isnull=True).update(ended_at=now)
        _steps_reschedule(order)
    elif action == Action.REOPEN:
        for step in (Step.DISPATCH, Step.ARRIVE, Step.RESOLVE):
            _step_open(order, step, now)
        WorkOrderStep.objects.filter(order=order, step=Step.VISIT).delete()
    elif action in (Action.CLOSE, Action.AUTO_CLOSE, Action.FORCE_CLOSE, Action.CANCEL):
        # A closed order has no clocks left running.
        for row in WorkOrderStep.objects.filter(order=order, met_at__isnull=True):
            row.state = StepState.BREACHED if row.due_at and now > row.due_at else row.state
            row.save(update_fields=["state"])


# ---------------------------------------------------------------- background: SLA warnings, escalation, auto-close


def _escalation_levels(order: WorkOrder) -> tuple[rules.EscalationLevel, ...]:
    return rules.escalation_from_spec(order.category.sla_policy.escalation or [])


def _people_for(order: WorkOrder, role: str) -> list[User]:
    if role == "assignee":
        return [order.assignee] if order.assignee else []
    if role == "grid_leader":
        if order.grid is None:
            return []
        return [u for u in (order.grid.leader, order.grid.deputy) if u is not None]
    membership_role = {"supervisor": Role.SUPERVISOR, "manager": Role.MANAGER}.get(role)
    if membership_role is None:
        return []
    return list(
        User.objects.filter(
            is_active=True, memberships__estate_id=order.estate_id, memberships__role=membership_role
        ).distinct()
    )


def sla_warn(*, step_id: int, now: dt.datetime) -> bool:
    """Send the warning of one step if it is due and nobody sent it yet; exactly once under any concurrency."""
    with transaction.atomic():
        claimed = WorkOrderStep.objects.filter(
            pk=step_id, warned_at__isnull=True, met_at__isnull=True, warn_at__lte=now
        ).update(warned_at=now)
        if claimed != 1:
            return False
        row = WorkOrderStep.objects.select_related("order__estate", "order__category__sla_policy", "order__grid").get(
            pk=step_id
        )
        order = row.order
        if order.status in (Status.CLOSED, Status.CANCELLED, Status.ON_HOLD):
            return False
        event = WorkOrderEvent.objects.create(
            order=order,
            action=Action.WARN,
            actor=None,
            at=now,
            payload={"step": row.step, "due_at": row.due_at.isoformat()},
        )
        recipients = (
            _people_for(order, "assignee") or _people_for(order, "grid_leader") or _people_for(order, "supervisor")
        )
        with translation.override(settings.LANGUAGE_CODE):
            for person in recipients:
                _tell(
                    order,
                    person,
                    "workorder.warning",
                    _("Order %(n)s: %(step)s due at %(time)s")
                    % {
                        "n": order.number,
                        "step": Step(row.step).label,
                        "time": timezone.localtime(row.due_at).strftime("%m-%d %H:%M"),
                    },
                    order.place_label,
                    event_id=event.id,
                )
        if row.step in (Step.DISPATCH, Step.ARRIVE) and order.status == Status.ACCEPTED:
            _replan_on_commit(order.estate_id)  # a waiting order is running out of time: look again now
    return True


def sla_escalate(*, step_id: int, now: dt.datetime) -> int:
    """Raise one overdue step through its escalation chain up to the level its lateness has reached. Each level is
    claimed with a conditional UPDATE (level n-1 → n), so it is sent exactly once. Returns levels sent."""
    sent = 0
    while True:
        with transaction.atomic():
            row = WorkOrderStep.objects.select_related(
                "order__estate",
                "order__category__sla_policy",
                "order__grid__leader",
                "order__grid__deputy",
                "order__assignee",
            ).get(pk=step_id)
            order = row.order
            if row.met_at or row.due_at is None or order.status in (Status.CLOSED, Status.CANCELLED, Status.ON_HOLD):
                return sent
            levels = _escalation_levels(order)
            due = rules.escalation_levels_due(levels, due_at=row.due_at, now=now)
            next_level = row.escalation_level + 1
            if next_level not in due:
                return sent
            claimed = WorkOrderStep.objects.filter(pk=step_id, escalation_level=row.escalation_level).update(
                escalation_level=next_level, state=StepState.BREACHED
            )
            if claimed != 1:
                return sent
            level = next(lv for lv in levels if lv.level == next_level)
            event = WorkOrderEvent.objects.create(
                order=order,
                action=Action.ESCALATE,
                actor=None,
                at=now,
                payload={"step": row.step, "level": next_level, "role": level.role},
            )
            with translation.override(settings.LANGUAGE_CODE):
                for person in _people_for(order, level.role):
                    _tell(
                        order,
                        person,
                        "workorder.escalated",
                        _("Overdue: order %(n)s (%(step)s)") % {"n": order.number, "step": Step(row.step).label},
                        _("%(place)s — due %(time)s, escalation level %(level)d.")
                        % {
                            "place": order.place_label,
                            "time": timezone.localtime(row.due_at).strftime("%m-%d %H:%M"),
                            "level": next_level,
                        },
                        event_id=event.id,
                    )
            sent += 1


def sla_scan(*, now: dt.datetime) -> tuple[int, int]:
    """One pass of the SLA clock: warnings then escalations. Safe to run on several machines at once."""
    warnings = sum(
        sla_warn(step_id=step_id, now=now)
        for step_id in WorkOrderStep.objects.filter(
            met_at__isnull=True, warned_at__isnull=True, warn_at__lte=now
        ).values_list("id", flat=True)[:500]
    )
    escalations = sum(
        sla_escalate(step_id=step_id, now=now)
        for step_id in WorkOrderStep.objects.filter(met_at__isnull=True, due_at__lte=now)
        .exclude(order__status__in=[Status.CLOSED, Status.CANCELLED, Status.ON_HOLD])
        .values_list("id", flat=True)[:500]
    )
    return warnings, escalations


def auto_close_unrated(*, now: dt.datetime) -> int:
    """Close orders resolved more than WORKORDER_AUTO_CLOSE_DAYS ago that the owner never rated, and tell them."""
    cutoff = now - dt.timedelta(days=settings.WORKORDER_AUTO_CLOSE_DAYS)
    candidates = WorkOrder.objects.filter(
        status=Status.RESOLVED, steps__step=Step.RESOLVE, steps__met_at__lte=cutoff
    ).values_list("id", flat=True)
    closed = 0
    for order_id in list(candidates[:500]):
        try:
            workorder_act(actor=None, order_id=order_id, action=Action.AUTO_CLOSE, now=now)
        except InvalidTransition:
            continue  # another worker closed it, or the owner just rated it
        closed += 1
    return closed


def dispatch_candidates(order: WorkOrder):
    """Staff of the order's estate who can be dispatched (eligibility rules arrive with the dispatch capability)."""
    return (
        User.objects.filter(
            is_active=True,
            memberships__estate_id=order.estate_id,
            memberships__role__in=FIELD_ROLES,
        )
        .distinct()
        .order_by("name")
    )


def owner_can_report_in(user: User, estate: Estate) -> bool:
    """Whether the user lives in the estate today (and so may report from the portal)."""
    return estate.id in own_estate_ids(user)
