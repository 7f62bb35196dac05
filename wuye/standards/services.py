"""Every write to service standards: seeding profiles and the SOP library, editing a profile, choosing an estate's
profile and making work orders follow it, plans, generating tasks, working on them and closing their windows.

Task generation is idempotent: each (plan, window start) is inserted with ON CONFLICT DO NOTHING (INSERT OR IGNORE
on SQLite) against a unique constraint, so re-running it, or two schedulers running it at once, never duplicates a
task. State changes lock the task row, check TASK_TRANSITIONS, and write one TaskEvent per move.
"""

import datetime as dt
import functools
import json
import random
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wuye.accounts.choices import Role
from wuye.accounts.models import Membership, User
from wuye.core import clock
from wuye.core.errors import DomainError, ErrorCollector, FieldError, Forbidden, ValidationFailed
from wuye.core.images import CleanImage, store_image
from wuye.estates.models import Building, Company, Estate, Grid, PublicArea
from wuye.workorders.choices import Priority, Step
from wuye.workorders.models import SlaPolicy, SlaTarget

from . import rules
from .choices import (
    TASK_TRANSITIONS,
    Dimension,
    Discipline,
    Evidence,
    TaskAction,
    TaskStatus,
)
from .models import EstateProfile, Plan, ServiceLevelProfile, SopItem, Task, TaskEvent, TaskPhoto
from .permissions import can_act
from .selectors import WORK_LEAD, effective_values, estate_profile_at, required_items

DATA_DIR = Path(__file__).parent / "data"
PROFILES_FILE = DATA_DIR / "profiles.json"
SOP_FILE = DATA_DIR / "sop.json"
DEFAULT_HORIZON_DAYS = 14
PHOTOS_PER_ITEM = 6
# Who carries out each discipline's plans when a plan names a role, not a person.
DISCIPLINE_ROLE = {
    Discipline.CLEANING: Role.CLEANER,
    Discipline.GREENING: Role.GARDENER,
    Discipline.SECURITY: Role.GUARD,
    Discipline.ENGINEERING: Role.TECHNICIAN,
}
# Roles a plan may give its tasks to (front-line work, and the grid leader's own checks).
PLAN_ROLES = frozenset({Role.CLEANER, Role.GARDENER, Role.GUARD, Role.TECHNICIAN, Role.GRID_LEADER, Role.SUPERVISOR})


class InvalidTaskMove(DomainError):
    """The action is not possible in the task's current status (or not yet: its window is still far off)."""

    status = 409
    code = "invalid_transition"


def _raise_problems(problems, *, prefix: str, message: str) -> None:
    if problems:
        errors = ErrorCollector()
        for problem in problems:
            errors.add(f"{prefix}{problem.field}", problem.code, problem.detail)
        errors.raise_if_any(message)


# ---------------------------------------------------------------- seed data


@functools.lru_cache(maxsize=4)
def _data(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def sla_policy_codes() -> list[str]:
    """The company SLA policies (work-order catalogue) whose arrival limits follow the service-level profile."""
    return list(_data(PROFILES_FILE)["sla_policies"])


@transaction.atomic
def profiles_seed(*, company: Company) -> int:
    """Create the company's 一级/二级/三级 profiles from data/profiles.json; idempotent (an edited profile is kept).
    Returns how many were created."""
    created_count = 0
    for spec in _data(PROFILES_FILE)["profiles"]:
        values = {key: spec[key] for key in (*rules.PROFILE_NUMBERS, *rules.PROFILE_TEXTS, "frequencies")}
        problems = rules.profile_value_problems(values, partial=False)
        if problems:
            raise ValueError(f"profiles.json {spec['code']}: {problems}")
        _profile, created = ServiceLevelProfile.objects.get_or_create(
            company=company,
            code=spec["code"],
            defaults={"name_zh": spec["name_zh"], "name_en": spec["name_en"], **values},
        )
        created_count += created
    return created_count


@transaction.atomic
def sop_seed(*, company: Company) -> int:
    """Create the company's SOP library from data/sop.json; idempotent. Returns how many items were created."""
    created_count = 0
    for position, spec in enumerate(_data(SOP_FILE)["items"]):
        schedule = spec.get("schedule")
        if schedule is not None:
            rules.parse_schedule(schedule)  # a broken data file fails loudly, not at generation time
        _item, created = SopItem.objects.get_or_create(
            company=company,
            code=spec["code"],
            defaults={
                "discipline": spec["discipline"],
                "title_zh": spec["title_zh"],
                "title_en": spec["title_en"],
                "standard_zh": spec["standard_zh"],
                "standard_en": spec["standard_en"],
                "method_zh": spec["method_zh"],
                "method_en": spec["method_en"],
                "schedule": schedule,
                "profile_dimension": spec.get("profile_dimension", ""),
                "evidence": spec["evidence"],
                "reading_unit": spec.get("reading_unit", ""),
                "score_weight": spec["score_weight"],
                "rectify_hours": spec["rectify_hours"],
                "position": position,
            },
        )
        created_count += created
    return created_count


# ---------------------------------------------------------------- profiles and work-order SLA limits


# The profile fields that are work-order SLA limits: (priority, step, counted round the clock).
SLA_TARGETS = {
    "emergency_arrival_minutes": (Priority.EMERGENCY, Step.ARRIVE, True),
    "repair_arrival_minutes": (Priority.NORMAL, Step.ARRIVE, False),
}


def _sla_rows(values: dict) -> list[tuple[str, str, int, bool]]:
    """(priority, step, minutes, round the clock) for the SLA limits a profile sets."""
    return [(priority, step, values[key], always) for key, (priority, step, always) in SLA_TARGETS.items()]


def profile_sla_sync(*, profile: ServiceLevelProfile) -> int:
    """Write a company profile's SLA limits into the company's work-order SLA targets for that level (the level-
    specific SlaTarget rows `workorders` picks over its any-level ones). Returns how many rows were written.

    Work orders look limits up by (company policy, estate.service_level), so every estate of the company on this
    level follows the company's profile of that level. Steps already running keep the limit they started with."""
    written = 0
    for policy in SlaPolicy.objects.filter(company_id=profile.company_id, code__in=sla_policy_codes()):
        for priority, step, minutes, round_the_clock in _sla_rows(profile.values()):
            SlaTarget.objects.update_or_create(
                policy=policy,
                estate=None,
                service_level=profile.code,
                priority=priority,
                step=step,
                defaults={"limit_minutes": minutes, "round_the_clock": round_the_clock},
            )
            written += 1
    return written


@dataclass
class SlaApplied:
    """What profile_apply_to_sla did: the level the estate now runs at, the level's SLA rows written, and the
    contract's own SLA limits written as the estate's rows."""

    level: str
    targets_written: int
    estate_overrides: dict[str, int] = field(default_factory=dict)


@transaction.atomic
def profile_apply_to_sla(
    *, estate: Estate, profile: ServiceLevelProfile, now: dt.datetime, overrides: dict | None = None
) -> SlaApplied:
    """Make the estate's work orders follow `profile` from now on: the estate's contracted level becomes the
    profile's, and the company's SLA targets of that level carry the profile's limits. A contract override of an SLA
    limit (e.g. emergency arrival 20 minutes in one estate) becomes that estate's own SlaTarget rows, which work
    orders prefer over the level's; a limit the contract no longer overrides loses them. Orders already running keep
    the limits their steps started with (history)."""
    if profile.company_id != estate.company_id:
        raise ValueError("a profile of another company")
    if estate.service_level != profile.code:
        Estate.objects.filter(pk=estate.pk).update(service_level=profile.code, updated_at=now)
        estate.service_level = profile.code
    written = profile_sla_sync(profile=profile)
    estate_overrides = rules.sla_overrides(profile.values(), overrides or {})
    _estate_sla_sync(estate=estate, overrides=estate_overrides)
    return SlaApplied(level=profile.code, targets_written=written, estate_overrides=estate_overrides)


def _estate_sla_sync(*, estate: Estate, overrides: dict[str, int]) -> None:
    kept = []
    for policy in SlaPolicy.objects.filter(company_id=estate.company_id, code__in=sla_policy_codes()):
        for key, minutes in overrides.items():
            priority, step, always = SLA_TARGETS[key]
            row, _created = SlaTarget.objects.update_or_create(
                policy=policy,
                estate=estate,
                priority=priority,
                step=step,
                defaults={"limit_minutes": minutes, "round_the_clock": always, "service_level": ""},
            )
            kept.append(row.pk)
    SlaTarget.objects.filter(estate=estate).exclude(pk__in=kept).delete()


@transaction.atomic
def profile_update(
    *, actor: User | None, profile_id: int, values: dict[str, Any], now: dt.datetime
) -> ServiceLevelProfile:
    """Change a company's profile. Its SLA limits reach work orders at once; its frequencies reach tasks generated
    from now on (already generated future tasks of plans following the profile are regenerated)."""
    profile = ServiceLevelProfile.objects.select_for_update().get(pk=profile_id)
    _raise_problems(
        rules.profile_value_problems(values, partial=True),
        prefix="",
        message=_("The service level could not be saved."),
    )
    before = profile.values()
    changed = []
    for key, value in values.items():
        if key == "frequencies":
            value = {**(profile.frequencies or {}), **value}
        if getattr(profile, key) != value:
            setattr(profile, key, value)
            changed.append(key)
    if not changed:
        return profile
    _freeze_history(profile, before, actor=actor, now=now)
    profile.save(update_fields=[*changed, "updated_at"])
    if set(changed) & set(rules.SLA_FIELDS):
        profile_sla_sync(profile=profile)
    if "frequencies" in changed:
        for estate_id in (
            EstateProfile.objects.filter(profile=profile).values_list("estate_id", flat=True).distinct().order_by()
        ):
            assignment = estate_profile_at(estate_id, now)
            if assignment is not None and assignment.profile_id == profile.id:
                _replan_profile_tasks(estate_id=estate_id, since=now, now=now)
    return profile


def _freeze_history(profile: ServiceLevelProfile, before: dict, *, actor: User | None, now: dt.datetime) -> int:
    """Before a profile's values change: every assignment to it that started before now keeps the values it was
    judged by (`profile_values`), and each estate following it now continues under a new row from now (same
    contract, applied at once) that reads the new values. Returns how many estates got a new row."""
    started = EstateProfile.objects.filter(profile=profile, valid_from__lt=now, profile_values__isnull=True)
    continued = 0
    for estate_id in started.values_list("estate_id", flat=True).distinct().order_by():
        current = estate_profile_at(estate_id, now)
        if current is None or current.profile_id != profile.id or current.valid_from >= now:
            continue
        EstateProfile.objects.create(
            estate_id=estate_id,
            profile=profile,
            valid_from=now,
            overrides=current.overrides,
            contract_ref=current.contract_ref,
            applied_at=now,
            created_by=actor,
        )
        continued += 1
    started.update(profile_values=before)
    return continued


@transaction.atomic
def estate_profile_assign(
    *,
    actor: User | None,
    estate: Estate,
    profile: ServiceLevelProfile,
    valid_from: dt.datetime,
    now: dt.datetime,
    overrides: dict | None = None,
    contract_ref: str = "",
) -> EstateProfile:
    """The estate's contract follows `profile` from `valid_from` (with the contract's own values in `overrides`).
    History is append-only: a new row must start after the latest one. A row already in force is applied at once."""
    overrides = overrides or {}
    errors = ErrorCollector()
    if profile.company_id != estate.company_id:
        errors.add("profile_id", "not_found", _("This service level is not one of the estate's company."))
    if timezone.is_naive(valid_from):
        errors.add("valid_from", "invalid", _("Give a time with its time zone."))
    elif not 2000 <= valid_from.year <= 2100:
        errors.add("valid_from", "out_of_range", _("Must be a date and time like 2026-11-27 09:30."))
    else:
        latest = EstateProfile.objects.filter(estate=estate).order_by("-valid_from").first()
        if latest is not None and valid_from <= latest.valid_from:
            errors.add(
                "valid_from",
                "not_after_latest",
                _("The service level history only grows: start after %(time)s.")
                % {"time": timezone.localtime(latest.valid_from).strftime("%Y-%m-%d %H:%M")},
            )
    for problem in rules.profile_value_problems(overrides, partial=True):
        errors.add(f"overrides.{problem.field}", problem.code, problem.detail)
    errors.raise_if_any(_("The service level could not be chosen."))
    assignment = EstateProfile.objects.create(
        estate=estate,
        profile=profile,
        valid_from=valid_from,
        overrides=overrides,
        contract_ref=contract_ref.strip()[:60],
        created_by=actor,
    )
    if valid_from <= now:
        estate_profile_activate(estate=estate, now=now)
    return assignment


def estate_profile_activate(*, estate: Estate, now: dt.datetime) -> SlaApplied | None:
    """Apply the assignment in force now if work orders do not follow it yet: SLA limits, then tasks of plans that
    follow the profile are regenerated from its start. Claimed with a conditional UPDATE on `applied_at`, so two
    workers apply it once."""
    with transaction.atomic():
        assignment = estate_profile_at(estate.id, now)
        if assignment is None or assignment.applied_at is not None:
            return None
        claimed = EstateProfile.objects.filter(pk=assignment.pk, applied_at__isnull=True).update(applied_at=now)
        if claimed != 1:
            return None
        # Earlier rows that were never applied (superseded before the job ran) are history now, not pending work.
        EstateProfile.objects.filter(
            estate=estate, applied_at__isnull=True, valid_from__lt=assignment.valid_from
        ).update(applied_at=now)
        applied = profile_apply_to_sla(
            estate=estate, profile=assignment.profile, now=now, overrides=assignment.overrides or {}
        )
        _replan_profile_tasks(estate_id=estate.id, since=max(assignment.valid_from, now), now=now)
    return applied


def profiles_activate_due(*, now: dt.datetime) -> int:
    """The periodic job: apply every estate's assignment that has come into force (contracts entered ahead)."""
    estate_ids = (
        EstateProfile.objects.filter(applied_at__isnull=True, valid_from__lte=now)
        .values_list("estate_id", flat=True)
        .distinct()
        .order_by()
    )
    applied = 0
    for estate in Estate.objects.filter(id__in=list(estate_ids[:500])):
        applied += estate_profile_activate(estate=estate, now=now) is not None
    return applied


def _replan_profile_tasks(*, estate_id: int, since: dt.datetime, now: dt.datetime) -> None:
    """Tasks not started yet of plans following the profile, from `since` on, are dropped and generated again under
    the profile now in force: changing the level changes what is generated from then on, never the past."""
    Task.objects.filter(
        estate_id=estate_id,
        plan__profile_dimension__gt="",
        status=TaskStatus.PENDING,
        started_at__isnull=True,
        window_start__gte=since,
    ).delete()
    for plan in Plan.objects.filter(estate_id=estate_id, is_active=True).exclude(profile_dimension=""):
        tasks_generate(plan=plan, now=now)


# ---------------------------------------------------------------- plans


@dataclass
class NewPlan:
    estate: Estate
    name: str
    discipline: str
    sop_items: Sequence[SopItem] = ()
    checklist: list[dict] = field(default_factory=list)
    grid: Grid | None = None
    building: Building | None = None
    public_area: PublicArea | None = None
    assignee: User | None = None
    assignee_role: str = ""
    schedule: dict | None = None
    profile_dimension: str = ""
    grace_minutes: int = 120
    equipment: Any = None  # an equipment.Equipment of the estate (not imported: equipment may build on standards)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


def _checklist_errors(errors: ErrorCollector, checklist: object, taken: set[str]) -> None:
    if not isinstance(checklist, list):
        errors.add("checklist", "invalid", _("The checklist must be a list of items."))
        return
    for index, entry in enumerate(checklist):
        where = f"checklist[{index}]"
        if not isinstance(entry, dict):
            errors.add(where, "invalid", _("Each checklist item needs a code, a title and the evidence."))
            continue
        code = str(entry.get("code") or "")
        if not code or len(code) > 40 or not code.replace("-", "").replace("_", "").isalnum():
            errors.add(f"{where}.code", "invalid", _("Use letters, digits, - and _ (at most 40)."))
        elif code in taken:
            errors.add(f"{where}.code", "duplicate", _("Each item of a plan needs its own code."))
        taken.add(code)
        if not str(entry.get("title") or "").strip():
            errors.add(f"{where}.title", "required", _("This field is required."))
        if entry.get("evidence", Evidence.TICK) not in Evidence.values:
            errors.add(f"{where}.evidence", "invalid_choice", _("Evidence is a photo, a reading or a tick."))


@transaction.atomic
def plan_create(*, actor: User | None, new: NewPlan) -> Plan:
    """Create a plan after checking every rule: one source of schedule (its own, valid; or a profile dimension), at
    least one item, someone to do it, and places and SOP items of the estate's own company."""
    errors = ErrorCollector()
    estate = new.estate
    if not (new.name or "").strip():
        errors.add("name", "required", _("This field is required."))
    elif Plan.objects.filter(estate=estate, name=new.name.strip()).exists():
        errors.add("name", "duplicate", _("The estate already has a plan with this name."))
    if new.discipline not in Discipline.values:
        errors.add("discipline", "invalid_choice", _("Unknown discipline."))
    if (new.schedule is None) == (not new.profile_dimension):
        errors.add("schedule", "one_source", _("Give either a schedule or a service-level frequency, not both."))
    elif new.schedule is not None:
        try:
            rules.parse_schedule(new.schedule)
        except rules.ScheduleInvalid as problem:
            errors.add(f"schedule.{problem.field}".rstrip("."), problem.code, problem.detail)
    elif new.profile_dimension not in Dimension.values:
        errors.add("profile_dimension", "invalid_choice", _("Unknown service-level frequency."))
    codes = set()
    for item in new.sop_items:
        if item.company_id != estate.company_id or not item.is_active:
            errors.add("sop_items", "not_found", _("An SOP item is not in the company's library."))
        codes.add(item.code)
    _checklist_errors(errors, new.checklist, codes)
    if not new.sop_items and not new.checklist:
        errors.add("sop_items", "required", _("A plan needs at least one SOP item or checklist item."))
    if new.assignee is None and not new.assignee_role:
        errors.add("assignee_id", "required", _("Give a person or a role to do it."))
    if new.assignee_role and new.assignee_role not in PLAN_ROLES:
        errors.add(
            "assignee_role", "invalid_choice", _("Plans are for front-line roles, grid leaders and supervisors.")
        )
    if new.assignee is not None and not Membership.objects.filter(user=new.assignee, estate=estate).exists():
        errors.add("assignee_id", "not_found", _("This person does not work in the estate."))
    places = (
        ("grid_id", new.grid),
        ("building_id", new.building),
        ("public_area_id", new.public_area),
        ("equipment_id", new.equipment),
    )
    for name, place in places:
        if place is not None and place.estate_id != estate.id:
            errors.add(name, "not_found", _("This place is not in the estate."))
    if not 0 <= new.grace_minutes <= 7 * 24 * 60:
        errors.add("grace_minutes", "out_of_range", _("Must be from 0 to 10080 minutes."))
    if new.starts_on and new.ends_on and new.ends_on < new.starts_on:
        errors.add("ends_on", "before_start", _("The plan must end after it starts."))
    errors.raise_if_any(_("The plan could not be created."))
    plan = Plan.objects.create(
        estate=estate,
        name=new.name.strip(),
        discipline=new.discipline,
        checklist=new.checklist,
        grid=new.grid,
        building=new.building,
        public_area=new.public_area,
        equipment=new.equipment,
        assignee=new.assignee,
        assignee_role=new.assignee_role,
        schedule=new.schedule,
        profile_dimension=new.profile_dimension,
        grace_minutes=new.grace_minutes,
        starts_on=new.starts_on,
        ends_on=new.ends_on,
        created_by=actor,
    )
    if new.sop_items:
        plan.sop_items.set(new.sop_items)
    return plan


# ---------------------------------------------------------------- generating tasks


def _plan_bounds(plan: Plan, start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    tz = clock.local_tz()
    if plan.starts_on:
        start = max(start, dt.datetime.combine(plan.starts_on, dt.time(0), tzinfo=tz))
    if plan.ends_on:
        end = min(end, dt.datetime.combine(plan.ends_on + dt.timedelta(days=1), dt.time(0), tzinfo=tz))
    return start, end


def plan_slots(
    plan: Plan, *, start: dt.datetime, end: dt.datetime, assignments: Sequence[EstateProfile]
) -> list[tuple[rules.Slot, EstateProfile | None]]:
    """The windows of a plan starting in [start, end), each with the estate's profile assignment in force then. A plan
    following the profile takes each stretch's schedule from that assignment (none before the first, none where the
    level does not contract the dimension)."""
    start, end = _plan_bounds(plan, start, end)
    if end <= start:
        return []
    return schedule_slots(
        own_schedule=plan.schedule,
        profile_dimension=plan.profile_dimension,
        start=start,
        end=end,
        assignments=assignments,
    )


def schedule_slots(
    *,
    own_schedule: dict | None,
    profile_dimension: str,
    start: dt.datetime,
    end: dt.datetime,
    assignments: Sequence[EstateProfile],
) -> list[tuple[rules.Slot, EstateProfile | None]]:
    """The windows starting in [start, end) of something scheduled by its own schedule or, without one, by the
    estate's service level (plans, patrol routes), each with the profile assignment in force then: a stretch takes
    its frequency for `profile_dimension` from the level then contracted (none before the first assignment, none
    where the level does not contract the dimension)."""
    tz = clock.local_tz()
    by_id = {row.id: row for row in assignments}
    segments = rules.profile_segments([(row.valid_from, row.id) for row in assignments], start=start, end=end)
    slots: list[tuple[rules.Slot, EstateProfile | None]] = []
    own = rules.parse_schedule(own_schedule) if own_schedule is not None else None
    for segment in segments:
        assignment = by_id.get(segment.key)
        schedule = own
        if own is None:
            spec = (effective_values(assignment) or {}).get("frequencies", {}).get(profile_dimension)
            if spec is None:
                continue
            schedule = rules.parse_schedule(spec)
        slots.extend(
            (slot, assignment) for slot in rules.occurrences(schedule, start=segment.start, end=segment.end, tz=tz)
        )
    return slots


def _missing_tasks(plan: Plan, *, start: dt.datetime, end: dt.datetime, keep_after: dt.datetime) -> list[Task]:
    """Unsaved rows for the plan's windows starting in [start, end), still open after `keep_after`, that have no
    task yet, in window order."""
    assignments = list(EstateProfile.objects.filter(estate_id=plan.estate_id).select_related("profile"))
    slots = [
        (slot, a)
        for slot, a in plan_slots(plan, start=start, end=end, assignments=assignments)
        if slot.end > keep_after
    ]
    if not slots:
        return []
    existing = set(
        Task.objects.filter(
            plan=plan, window_start__gte=slots[0][0].start, window_start__lte=slots[-1][0].start
        ).values_list("window_start", flat=True)
    )
    grace = dt.timedelta(minutes=plan.grace_minutes)
    return [
        Task(
            plan=plan,
            estate_id=plan.estate_id,
            window_start=slot.start,
            window_end=slot.end,
            grace_until=slot.end + grace,
            assignee_id=plan.assignee_id,
            assignee_role="" if plan.assignee_id else plan.assignee_role,
            grid_id=plan.grid_id,
            estate_profile=assignment,
        )
        for slot, assignment in slots
        if slot.start not in existing
    ]


def _generate(plan: Plan, *, start: dt.datetime, end: dt.datetime, keep_after: dt.datetime) -> int:
    """Insert the plan's missing tasks for windows starting in [start, end) that are still open after `keep_after`.
    Returns how many this call inserted (rows another process inserted at the same moment are not counted)."""
    rows = _missing_tasks(plan, start=start, end=end, keep_after=keep_after)
    # Same order in every process (window start), so concurrent inserts wait on each other instead of deadlocking.
    Task.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def tasks_generate(
    *,
    now: dt.datetime,
    plan: Plan | None = None,
    estate: Estate | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> int:
    """Generate the tasks of one plan, of an estate's plans, or (neither given) of every active plan, for windows
    still open now and starting within `horizon_days`. Idempotent and safe to run in several processes at once.
    Returns how many tasks this call inserted."""
    if plan is not None:
        plans = [plan]
    else:
        plans = Plan.objects.filter(is_active=True, estate__is_active=True).order_by("id")
        if estate is not None:
            plans = plans.filter(estate=estate)
    start = now - dt.timedelta(days=1)  # a window opened yesterday may still be open (night shifts)
    end = now + dt.timedelta(days=horizon_days)
    inserted = 0
    for each in plans:
        if not each.is_active:
            continue
        with transaction.atomic():
            inserted += _generate(each, start=start, end=end, keep_after=now)
    return inserted


# ---------------------------------------------------------------- working on tasks


def _status_label(status: str) -> str:
    return str(TaskStatus(status).label)


def _evidence_from(task: Task, submitted: dict, now: dt.datetime) -> dict:
    """Check the evidence against what the task's items require and return what is stored."""
    items = required_items(task.plan)
    photos: dict[str, int] = {}
    for item_key in TaskPhoto.objects.filter(task=task).values_list("item", flat=True):
        photos[item_key] = photos.get(item_key, 0) + 1
    if not isinstance(submitted, dict) or not all(isinstance(value, dict) for value in submitted.values()):
        raise ValidationFailed(
            _("The task could not be finished."),
            errors=[FieldError("evidence", "invalid", _("Evidence is an object of item code → its proof."))],
        )
    problems = rules.evidence_problems(
        [rules.RequiredEvidence(key=item.key, kind=item.evidence) for item in items], submitted, photos
    )
    messages = {
        "tick_required": _("Tick this item to confirm it was done."),
        "reading_required": _("Enter the reading as a number."),
        "photo_required": _("Add at least one photo of this item."),
        "unknown_item": _("This task has no such item."),
    }
    if problems:
        raise ValidationFailed(
            _("The task could not be finished: evidence is missing."),
            errors=[FieldError(f"evidence.{p.key}", p.code, messages[p.code]) for p in problems],
        )
    stored = {}
    for item in items:
        given = submitted.get(item.key) or {}
        entry: dict[str, Any] = {"evidence": item.evidence}
        if item.evidence == Evidence.TICK:
            entry["tick"] = True
        elif item.evidence == Evidence.READING:
            entry["reading"] = given["reading"]
            entry["unit"] = item.reading_unit
        else:
            entry["photos"] = photos.get(item.key, 0)
        note = str(given.get("note") or "").strip()[:200]
        if note:
            entry["note"] = note
        stored[item.key] = entry
    return stored


def task_act(
    *,
    actor: User | None,
    task_id: int,
    action: str,
    now: dt.datetime,
    evidence: dict | None = None,
    note: str = "",
) -> Task:
    """Start or finish a task (people), or mark it late or missed (the scanner, actor None). Lock → check the
    actor's right and TASK_TRANSITIONS → apply → one event. Starting or finishing a role's task takes it."""
    with transaction.atomic():
        task = Task.objects.select_for_update(of=("self",)).select_related("plan").get(pk=task_id)
        if actor is not None and not can_act(actor, task, action):
            raise Forbidden(_("This task is not yours to do."))
        target = rules.task_move(task.status, action)
        if target is None:
            raise InvalidTaskMove(
                _("The task is %(status)s; “%(action)s” is not possible now.")
                % {"status": _status_label(task.status), "action": TaskAction(action).label}
            )
        if actor is not None and not rules.may_work_on_window(window_start=task.window_start, now=now, lead=WORK_LEAD):
            raise InvalidTaskMove(
                _("This task starts at %(time)s.")
                % {"time": timezone.localtime(task.window_start).strftime("%m-%d %H:%M")}
            )
        from_status = task.status
        changed = ["status"]
        payload: dict[str, Any] = {}
        if action == TaskAction.FINISH:
            task.evidence = _evidence_from(task, evidence or {}, now)
            task.done_at, task.done_by = now, actor
            changed += ["evidence", "done_at", "done_by"]
            payload["on_time"] = rules.done_on_time(done_at=now, window_end=task.window_end)
        if action in (TaskAction.START, TaskAction.FINISH):
            if task.started_at is None:
                task.started_at = now
                changed.append("started_at")
            if task.assignee_id is None and actor is not None:
                task.assignee = actor
                changed.append("assignee")
        note = (note or "").strip()[:500]
        if note:
            task.note = note
            changed.append("note")
            payload["note"] = note
        task.status = target
        task.save(update_fields=changed)
        TaskEvent.objects.create(
            task=task, action=action, actor=actor, at=now, from_status=from_status, to_status=target, payload=payload
        )
    return task


@contextmanager
def _stored(photos: Sequence[CleanImage], *, prefix: str):
    """Save files before the transaction and delete them again if it fails (storage is not transactional)."""
    names: list[str] = []
    try:
        for clean in photos:
            names.append(store_image(clean, prefix=prefix))
        yield names
    except BaseException:
        for name in names:
            default_storage.delete(name)
        raise


def task_photos_add(
    *, actor: User, task_id: int, item: str, photos: Sequence[CleanImage], now: dt.datetime
) -> list[TaskPhoto]:
    """Attach proof photos to one photo item of an open task the actor may work on; at most PHOTOS_PER_ITEM each."""
    task = Task.objects.select_related("plan").get(pk=task_id)
    if not can_act(actor, task, TaskAction.FINISH):
        raise Forbidden(_("This task is not yours to do."))
    if rules.task_move(task.status, TaskAction.FINISH) is None:
        raise InvalidTaskMove(
            _("The task is %(status)s; photos can no longer be added.") % {"status": _status_label(task.status)}
        )
    photo_items = {entry.key for entry in required_items(task.plan) if entry.evidence == Evidence.PHOTO}
    if item not in photo_items:
        message = _("This task has no item that takes photos with this code.")
        raise ValidationFailed(message, errors=[FieldError("item", "invalid", message)])
    if not photos:
        message = _("Choose at least one photo.")
        raise ValidationFailed(message, errors=[FieldError("file", "required", message)])
    with _stored(photos, prefix=f"standards/{task.estate_id}") as names, transaction.atomic():
        Task.objects.select_for_update(of=("self",)).get(pk=task_id)  # count under the lock: two uploads, one limit
        existing = TaskPhoto.objects.filter(task_id=task_id, item=item).count()
        if existing + len(photos) > PHOTOS_PER_ITEM:
            message = _("At most %(max)d photos per item.") % {"max": PHOTOS_PER_ITEM}
            raise ValidationFailed(message, errors=[FieldError("file", "too_many_photos", message)])
        return TaskPhoto.objects.bulk_create(
            TaskPhoto(
                task_id=task_id,
                item=item,
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


def tasks_close_windows(*, now: dt.datetime, batch: int = 500) -> tuple[int, int]:
    """One pass of the window scanner: open tasks past their grace are missed, open tasks past their window are
    late. Rows are claimed with SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite's IMMEDIATE transactions
    serialise writers), so scanners on several machines never mark or log a task twice. Returns (late, missed)."""
    counts = {}
    for action, due_field in ((TaskAction.MISS, "grace_until"), (TaskAction.OVERDUE, "window_end")):
        sources, target = TASK_TRANSITIONS[action]
        with transaction.atomic():
            claimed = list(
                Task.objects.select_for_update(skip_locked=True)
                .filter(status__in=sources, **{f"{due_field}__lte": now})
                .order_by(due_field, "id")
                .values_list("id", "status")[:batch]
            )
            if claimed:
                Task.objects.filter(id__in=[task_id for task_id, _status in claimed]).update(status=target)
                TaskEvent.objects.bulk_create(
                    TaskEvent(task_id=task_id, action=action, actor=None, at=now, from_status=status, to_status=target)
                    for task_id, status in claimed
                )
        counts[action] = len(claimed)
    return counts[TaskAction.OVERDUE], counts[TaskAction.MISS]


# ---------------------------------------------------------------- demo seeding


def plans_seed_defaults(*, estate: Estate, actor: User | None = None) -> int:
    """One plan per active SOP item of the estate's company, for the item's discipline role (cleaner, gardener,
    guard, technician), following the profile where the item does. Idempotent by plan name."""
    created = 0
    for item in SopItem.objects.filter(company_id=estate.company_id, is_active=True).order_by("discipline", "position"):
        if Plan.objects.filter(estate=estate, name=item.title_zh).exists():
            continue
        plan_create(
            actor=actor,
            new=NewPlan(
                estate=estate,
                name=item.title_zh,
                discipline=item.discipline,
                sop_items=[item],
                assignee_role=DISCIPLINE_ROLE[item.discipline],
                schedule=item.schedule,
                profile_dimension=item.profile_dimension,
            ),
        )
        created += 1
    return created


def _history(estate: Estate, *, start: dt.datetime, now: dt.datetime, rng: random.Random) -> int:
    """Create the tasks of past windows already played out: most done in their window by someone holding the role
    (any front-line member of staff where nobody does), some done late, some missed — with the events the live
    services would have written. Returns how many past tasks were written. For the demo seeder, which runs alone:
    rows are inserted in their final state (no concurrent scheduler to race with)."""
    people: dict[str, list[int]] = {}
    for user_id, role in Membership.objects.filter(estate=estate).values_list("user_id", "role").order_by("id"):
        people.setdefault(role, []).append(user_id)
    front_line = sorted({user_id for role in DISCIPLINE_ROLE.values() for user_id in people.get(role, [])})
    rows: list[Task] = []
    events: list[TaskEvent] = []

    def event(task: Task, action: str, at: dt.datetime, source: str, target: str, actor=None, **payload) -> None:
        events.append(
            TaskEvent(
                task=task, action=action, actor_id=actor, at=at, from_status=source, to_status=target, payload=payload
            )
        )

    for plan in Plan.objects.filter(estate=estate, is_active=True).order_by("id"):
        for task in _missing_tasks(plan, start=start, end=now, keep_after=start):
            if task.window_end > now:
                continue  # still open: tasks_generate adds it as pending
            doers = people.get(task.assignee_role) or front_line
            doer = task.assignee_id or (rng.choice(doers) if doers else None)
            luck = rng.random()
            length = task.window_end - task.window_start
            if doer and luck < 0.93:
                if luck < 0.86:
                    started = task.window_start + length * rng.uniform(0, 0.4)
                    done = started + length * rng.uniform(0.1, 0.5)
                    event(task, TaskAction.START, started, TaskStatus.PENDING, TaskStatus.IN_PROGRESS, doer)
                    event(task, TaskAction.FINISH, done, TaskStatus.IN_PROGRESS, TaskStatus.DONE, doer, on_time=True)
                else:
                    started = done = task.window_end + (task.grace_until - task.window_end) * rng.uniform(0.1, 0.9)
                    event(task, TaskAction.OVERDUE, task.window_end, TaskStatus.PENDING, TaskStatus.LATE)
                    event(task, TaskAction.FINISH, done, TaskStatus.LATE, TaskStatus.DONE, doer, on_time=False)
                task.status, task.started_at, task.done_at = TaskStatus.DONE, started, done
                task.done_by_id = task.assignee_id = doer
                task.evidence = {"demo": {"evidence": Evidence.TICK, "tick": True}}
            else:
                event(task, TaskAction.OVERDUE, task.window_end, TaskStatus.PENDING, TaskStatus.LATE)
                event(task, TaskAction.MISS, task.grace_until, TaskStatus.LATE, TaskStatus.MISSED)
                task.status = TaskStatus.MISSED
            rows.append(task)
    Task.objects.bulk_create(rows, batch_size=500)
    TaskEvent.objects.bulk_create(events, batch_size=1000)
    return len(rows)


@transaction.atomic
def seed_standards(
    *,
    company: Company,
    estates: Sequence[Estate],
    now: dt.datetime | None = None,
    horizon_days: int = 7,
    history_days: int = 0,
    seed: int = 20261127,
) -> dict[str, int]:
    """For the demo seeder: the company's profiles and SOP library; for each estate, the profile matching its
    contracted level (from its contract start, or `history_days` back), work orders following it, one plan per SOP
    item, tasks `horizon_days` ahead and, with `history_days`, a played-out past so reports have content.
    Run after the work-order catalogue is seeded (its SLA targets are then made to match the profiles)."""
    now = now or clock.now()
    rng = random.Random(seed)
    counts = {"profiles": profiles_seed(company=company), "sop_items": sop_seed(company=company)}
    counts.update(plans=0, tasks=0, history=0)
    profiles = {p.code: p for p in ServiceLevelProfile.objects.filter(company=company)}
    for profile in profiles.values():
        profile_sla_sync(profile=profile)
    history_start = now - dt.timedelta(days=history_days)
    for estate in estates:
        if not EstateProfile.objects.filter(estate=estate).exists():
            valid_from = history_start
            if estate.contract_starts_on:
                contract = dt.datetime.combine(estate.contract_starts_on, dt.time(0), tzinfo=clock.local_tz())
                valid_from = min(valid_from, contract)
            estate_profile_assign(
                actor=None,
                estate=estate,
                profile=profiles[estate.service_level],
                valid_from=valid_from,
                now=now,
                contract_ref=_("Property service contract"),
            )
        counts["plans"] += plans_seed_defaults(estate=estate)
        if history_days:
            counts["history"] += _history(estate, start=history_start, now=now, rng=rng)
        counts["tasks"] += tasks_generate(estate=estate, now=now, horizon_days=horizon_days)
    return counts
