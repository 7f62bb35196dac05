"""Standards test data on the shared cast: seeded profiles and SOP library, a profile in force, plans and tasks."""

import datetime as dt
from zoneinfo import ZoneInfo

from wuye.accounts import services as account_services
from wuye.accounts.choices import Role
from wuye.standards import services
from wuye.standards.models import EstateProfile, Plan, ServiceLevelProfile, SopItem, Task
from wuye.testing import factories

SH = ZoneInfo("Asia/Shanghai")
# A Friday morning in Shanghai; the cast's contract runs from the start of the year.
NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=SH)
CONTRACT_START = dt.datetime(2026, 1, 1, tzinfo=SH)


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def seed(cast) -> None:
    """Profiles and SOP library for both companies (idempotent)."""
    for company in (cast.company, cast.other_company):
        services.profiles_seed(company=company)
        services.sop_seed(company=company)


def profile(cast, code: str = "level_1", company=None) -> ServiceLevelProfile:
    return ServiceLevelProfile.objects.get(company=company or cast.company, code=code)


def sop(cast, code: str) -> SopItem:
    return SopItem.objects.get(company=cast.company, code=code)


def assign(cast, code: str = "level_1", *, valid_from=CONTRACT_START, now=NOW, estate=None, **extra) -> EstateProfile:
    seed(cast)
    estate = estate or cast.estate
    return services.estate_profile_assign(
        actor=None,
        estate=estate,
        profile=profile(cast, code, company=estate.company),
        valid_from=valid_from,
        now=now,
        **extra,
    )


def cleaner(cast):
    """A cleaner working in the cast's estate (the cast has none of its own)."""
    user = cast.users.get("cleaner")
    if user is None:
        user = factories.UserFactory(username="cleaner", name="保洁员")
        account_services.membership_ensure(user=user, estate=cast.estate, role=Role.CLEANER)
        cast.users["cleaner"] = user
    return user


def plan(cast, *, name: str = "大堂地面清洁", items=("cln-lobby",), estate=None, **extra) -> Plan:
    """A plan of SOP items; by default the items' own schedule, for the technician."""
    seed(cast)
    estate = estate or cast.estate
    sop_items = [SopItem.objects.get(company=estate.company, code=code) for code in items]
    extra.setdefault("discipline", sop_items[0].discipline if sop_items else "cleaning")
    if "profile_dimension" not in extra:
        extra.setdefault(
            "schedule",
            sop_items[0].schedule if sop_items else {"kind": "daily", "windows": [{"start": "09:00", "end": "10:00"}]},
        )
    if "assignee_role" not in extra:
        extra.setdefault("assignee", cast.technician if estate == cast.estate else cast.stranger_supervisor)
    return services.plan_create(
        actor=None, new=services.NewPlan(estate=estate, name=name, sop_items=sop_items, **extra)
    )


def tick_plan(cast, **extra) -> Plan:
    """A plan with one tick item, a window every day 07:00–09:00 (open at NOW), for the technician."""
    extra.setdefault("schedule", {"kind": "daily", "windows": [{"start": "07:00", "end": "09:00"}]})
    return plan(cast, name=extra.pop("name", "楼道楼梯清扫"), items=("cln-stairwell",), **extra)


def task(cast, *, now=NOW, status: str = "pending", plan_maker=tick_plan, **extra) -> Task:
    """The task of a fresh plan whose window is open at `now`, walked to `status`."""
    made = plan_maker(cast, name=f"计划{Plan.objects.count() + 1}", **extra)
    services.tasks_generate(plan=made, now=now, horizon_days=1)
    found = Task.objects.filter(plan=made, window_start__lte=now).order_by("-window_start").first()
    walk(cast, found, status, now=now)
    found.refresh_from_db()
    return found


def walk(cast, task: Task, status: str, *, now) -> None:
    actor = task.assignee or cast.technician
    if status == "in_progress":
        services.task_act(actor=actor, task_id=task.id, action="start", now=now)
    elif status == "done":
        services.task_act(actor=actor, task_id=task.id, action="finish", evidence=evidence_for(task), now=now)
    elif status == "late":
        services.tasks_close_windows(now=task.window_end)
    elif status == "missed":
        services.tasks_close_windows(now=task.grace_until)


def evidence_for(task: Task) -> dict:
    from wuye.standards.selectors import required_items

    proof = {}
    for item in required_items(task.plan):
        if item.evidence == "tick":
            proof[item.key] = {"tick": True}
        elif item.evidence == "reading":
            proof[item.key] = {"reading": 0.42}
    return proof


def png_bytes() -> bytes:
    from wuye.workorders.tests.factories import png_bytes as make

    return make()
