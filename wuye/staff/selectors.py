"""Reads for the appraisal: gathering one estate-month's facts from the event data (for the monthly job), the SLA
breaches of a rolling window (for accountability), and the scoped reads of the desk, the portal and the API.

Attribution (docs/appraisal.md): everything about a work order is attributed to the person holding it at the moment
it happened — the assignee set by dispatch, transfer or grab, cleared by return and reopen — exactly as the KPI
rollups attribute to a person. Patrol rounds belong to whoever walked them (the route's person, or whoever started a
role round), tasks to their assignee (the first to start a role task), inspections to their inspector, spot-check
scores to the person whose work was checked (`subject`).
"""

import datetime as dt
from collections import defaultdict

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from wuye.accounts.models import Membership
from wuye.core import clock
from wuye.core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from wuye.estates.models import Company, Estate
from wuye.inspections.choices import InspectionKind, InspectionStatus, RoundStatus
from wuye.inspections.models import Inspection, Round
from wuye.standards.choices import TaskStatus
from wuye.standards.models import Task
from wuye.workorders.choices import Kind
from wuye.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderStep

from . import rules
from .choices import Post, StarStatus
from .models import (
    AccountabilityRecord,
    AppraisalPolicy,
    AppraisalRun,
    AppraisalScore,
    AppraisalWeights,
    ServiceStar,
    StaffProfile,
)
from .permissions import appraisal_estate_ids, can_read_estate, is_staff_in, scores_visible, stars_visible

# The events that say who held an order, and the ones the appraisal counts.
HOLDER_ACTIONS = tuple(rules.ASSIGNING | rules.UNASSIGNING)
COUNTED_ACTIONS = ("resolve", "reopen", "rate", "visit")
COMPLAINT_FIELDS = ("id", "number", "room_id", "public_area_id", "category__code", "submitted_at", "source_type")


def _invalid(field_name: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError(field_name, code, message)])


def parse_month(value) -> dt.date:
    """A month given as YYYY-MM → its first day; a 422 naming `month` otherwise."""
    try:
        return dt.datetime.strptime(str(value), "%Y-%m").date()  # noqa: DTZ007 - a calendar month, no time
    except ValueError:
        raise _invalid("month", "invalid", _("month must look like 2026-11.")) from None


# ---------------------------------------------------------------------------------------------------- settings
def policy_for(company: Company | int) -> AppraisalPolicy:
    """The company's appraisal policy, or an unsaved one holding the defaults."""
    company_id = company if isinstance(company, int) else company.id
    return AppraisalPolicy.objects.filter(company_id=company_id).first() or AppraisalPolicy(company_id=company_id)


def weights_for(company: Company | int) -> dict[str, dict[str, int]]:
    """post → component → weight: the company's rows over the defaults of staff.rules."""
    company_id = company if isinstance(company, int) else company.id
    weights = {post: dict(values) for post, values in rules.DEFAULT_WEIGHTS.items()}
    for row in AppraisalWeights.objects.filter(company_id=company_id):
        weights[row.post] = {code: getattr(row, code) for code in rules.COMPONENTS}
    return weights


def posts_for(estate: Estate, person_ids) -> dict[int, str]:
    """person id → post: from the staff profile in the estate's company, else from the roles held in the estate.
    People who are neither (no longer staff there) are left out."""
    ids = list(person_ids)
    posts = dict(
        StaffProfile.objects.filter(user_id__in=ids, company_id=estate.company_id).values_list("user_id", "post")
    )
    roles: dict[int, set[str]] = defaultdict(set)
    for user_id, role in Membership.objects.filter(user_id__in=ids, estate=estate).values_list("user_id", "role"):
        roles[user_id].add(role)
    for user_id in ids:
        if user_id not in posts:
            post = rules.post_for_roles(roles.get(user_id, ()))
            if post is not None:
                posts[user_id] = post
    return posts


# ---------------------------------------------------------------------------------------------------- facts
def _events_by_order(order_ids, *, until: dt.datetime) -> dict[int, list[rules.EventRow]]:
    events: dict[int, list[rules.EventRow]] = defaultdict(list)
    rows = (
        WorkOrderEvent.objects.filter(order_id__in=order_ids, at__lt=until, action__in=HOLDER_ACTIONS + COUNTED_ACTIONS)
        .order_by("order_id", "at", "id")
        .values_list("order_id", "action", "at", "payload")
    )
    for order_id, action, at, payload in rows.iterator(chunk_size=2000):
        events[order_id].append(rules.EventRow(order_id=order_id, action=action, at=at, payload=payload or {}))
    return events


def _steps_by_order(order_ids) -> dict[int, list[rules.StepRow]]:
    steps: dict[int, list[rules.StepRow]] = defaultdict(list)
    rows = WorkOrderStep.objects.filter(order_id__in=order_ids, step__in=rules.SLA_PERSON_STEPS).values_list(
        "id", "order_id", "step", "due_at", "met_at", "order__closed_at"
    )
    for step_id, order_id, step, due_at, met_at, closed_at in rows.iterator(chunk_size=2000):
        steps[order_id].append(_step_row(step_id, order_id, step, due_at, met_at, closed_at))
    return steps


def _step_row(step_id, order_id, step, due_at, met_at, closed_at) -> rules.StepRow:
    # A clock left unmet when the order was closed or cancelled before its due time never came due.
    if met_at is None and closed_at is not None and due_at is not None and closed_at < due_at:
        due_at = None
    return rules.StepRow(id=step_id, order_id=order_id, step=step, due_at=due_at, met_at=met_at)


def month_facts(estate: Estate, month: dt.date, *, now: dt.datetime) -> dict[int, rules.PersonFacts]:
    """person id → what the estate's event data says they did in the month (local calendar month)."""
    start, end = rules.month_bounds(month, clock.local_tz())
    end_seen = min(end, now)
    policy = policy_for(estate.company_id)
    window = dt.timedelta(days=policy.complaint_window_days)
    complaints = list(
        WorkOrder.objects.filter(estate=estate, kind=Kind.COMPLAINT, submitted_at__gte=start, submitted_at__lt=end)
        .values(
            "id", "number", "room_id", "public_area_id", "category__code", "submitted_at", "source_type", "source_id"
        )
        .order_by("id")
    )
    named = [int(c["source_id"]) for c in complaints if c["source_type"] == "workorder" and c["source_id"].isdigit()]
    counted_orders = WorkOrderEvent.objects.filter(
        order__estate=estate, action__in=COUNTED_ACTIONS, at__gte=start - window, at__lt=end
    ).values("order_id")
    timed_orders = (
        WorkOrderStep.objects.filter(order__estate=estate, step__in=rules.SLA_PERSON_STEPS)
        .filter(Q(met_at__gte=start, met_at__lt=end) | Q(due_at__gte=start, due_at__lt=end))
        .values("order_id")
    )
    orders = {
        row["id"]: row
        for row in WorkOrder.objects.filter(
            Q(id__in=counted_orders) | Q(id__in=timed_orders) | Q(id__in=named, estate=estate)
        ).values("id", "number", "kind", "room_id", "public_area_id", "category__code")
    }
    events = _events_by_order(list(orders), until=end)
    steps = _steps_by_order(list(orders))
    facts: dict[int, rules.PersonFacts] = {}
    resolutions = []
    for order_id, order in orders.items():
        order_events = events.get(order_id, [])
        rules.add_order_facts(facts, order_events, steps.get(order_id, []), start=start, end=end, now=end_seen)
        if order["kind"] == Kind.COMPLAINT:
            continue
        for index, event in enumerate(order_events):
            if event.action == "resolve":
                resolutions.append(
                    rules.Resolution(
                        order_id=order_id,
                        number=order["number"],
                        room_id=order["room_id"],
                        public_area_id=order["public_area_id"],
                        category=order["category__code"],
                        resolver_id=rules.holder_before(order_events, index),
                        at=event.at,
                    )
                )
    complaint_rows = [
        rules.ComplaintRow(
            order_id=c["id"],
            number=c["number"],
            room_id=c["room_id"],
            public_area_id=c["public_area_id"],
            category=c["category__code"],
            submitted_at=c["submitted_at"],
            about_order_id=(
                int(c["source_id"]) if c["source_type"] == "workorder" and c["source_id"].isdigit() else None
            ),
        )
        for c in complaints
    ]
    for complaint_id, resolution in rules.attribute_complaints(complaint_rows, resolutions, window=window).items():
        if resolution.resolver_id is not None:
            number = next(c.number for c in complaint_rows if c.order_id == complaint_id)
            facts.setdefault(resolution.resolver_id, rules.PersonFacts()).complaints.append(number)

    def person(person_id: int) -> rules.PersonFacts:
        return facts.setdefault(person_id, rules.PersonFacts())

    spot_checks = Inspection.objects.filter(
        estate=estate,
        kind=InspectionKind.SPOT_CHECK,
        status=InspectionStatus.SUBMITTED,
        submitted_at__gte=start,
        submitted_at__lt=end,
        subject__isnull=False,
        score__isnull=False,
    ).values_list("subject_id", "score")
    for subject_id, score in spot_checks:
        person(subject_id).spot_check_scores.append(float(score))
    inspections = (
        Inspection.objects.filter(
            estate=estate,
            kind__in=[InspectionKind.ROUTINE, InspectionKind.RECHECK],
            inspector__isnull=False,
            due_at__gte=start,
            due_at__lt=end,
        )
        .exclude(status=InspectionStatus.CANCELLED)
        .values_list("inspector_id", "status")
    )
    for inspector_id, status in inspections:
        person(inspector_id).inspections_total += 1
        person(inspector_id).inspections_done += status == InspectionStatus.SUBMITTED
    tasks = Task.objects.filter(
        estate=estate, window_end__gt=start, window_end__lte=end, assignee__isnull=False
    ).values_list("assignee_id", "status")
    for assignee_id, status in tasks:
        person(assignee_id).tasks_total += 1
        person(assignee_id).tasks_done += status == TaskStatus.DONE
    rounds = Round.objects.filter(
        estate=estate, window_end__gt=start, window_end__lte=end, assignee__isnull=False, closed_at__isnull=False
    ).values_list("assignee_id", "status")
    for assignee_id, status in rounds:
        person(assignee_id).rounds_total += 1
        person(assignee_id).rounds_complete += status == RoundStatus.COMPLETE
    return facts


def breaches_since(estate: Estate, since: dt.datetime, now: dt.datetime) -> list[rules.Breach]:
    """The SLA breaches attributed to someone in the estate with a due time in [since, now]: an arrive or resolve
    clock still unmet at its due time, charged to whoever held the order then."""
    late = (
        WorkOrderStep.objects.filter(
            order__estate=estate, step__in=rules.SLA_PERSON_STEPS, due_at__gte=since, due_at__lte=now
        )
        .filter(Q(met_at__isnull=True) | Q(met_at__gt=F("due_at")))
        .filter(Q(order__closed_at__isnull=True) | Q(order__closed_at__gte=F("due_at")) | Q(met_at__isnull=False))
        .values_list("id", "order_id", "step", "due_at", "order__number")
    )
    rows = list(late)
    events = _events_by_order([row[1] for row in rows], until=now + dt.timedelta(seconds=1))
    breaches = []
    for step_id, order_id, step, due_at, number in rows:
        holder = rules.holder_at(rules.holder_timeline(events.get(order_id, [])), due_at)
        if holder is not None:
            breaches.append(
                rules.Breach(
                    key=rules.breach_key(step_id, due_at),
                    person_id=holder,
                    at=due_at,
                    order_id=order_id,
                    number=number,
                    step=step,
                )
            )
    return breaches


# ---------------------------------------------------------------------------------------------------- reads
def estate_for_reading(user, estate_id) -> Estate:
    """An estate whose whole appraisal the user reads: 404 when they have no role there, 403 when they work there
    without a reading role."""
    estate = Estate.objects.filter(pk=estate_id, is_active=True).select_related("company").first()
    if estate is None or estate.id not in _member_estate_ids(user):
        raise NotFound(_("Not found."))
    if not can_read_estate(user, estate.id):
        raise Forbidden(_("Only supervisors and managers see the whole estate's appraisal."))
    return estate


def _member_estate_ids(user) -> set[int]:
    from wuye.accounts.selectors import roles_by_estate  # noqa: PLC0415 - cached per request

    return set(roles_by_estate(user))


def latest_month(estate_ids) -> dt.date | None:
    return (
        AppraisalRun.objects.filter(estate_id__in=list(estate_ids)).order_by("-month").values_list("month", flat=True)
    ).first()


def default_month(estate_ids) -> dt.date:
    """The latest appraised month of these estates, or last month."""
    return latest_month(estate_ids) or rules.previous_month(clock.today())


def ranking(estate: Estate, month: dt.date, *, post: str | None = None) -> list[AppraisalScore]:
    """The estate's scores of a month, best first, each with `rank` (in the estate) and `post_rank` (among the
    same post). Equal scores share a rank."""
    rows = list(
        AppraisalScore.objects.filter(estate=estate, month=month)
        .select_related("person")
        .order_by("-score", "-volume", "person_id")
    )
    _ranks(rows, "rank", key=lambda row: None)
    _ranks(rows, "post_rank", key=lambda row: row.post)
    if post:
        rows = [row for row in rows if row.post == post]
    return rows


def _ranks(rows: list[AppraisalScore], attribute: str, key) -> None:
    seen: dict = defaultdict(int)
    last: dict = {}
    for row in rows:
        group = key(row)
        seen[group] += 1
        previous = last.get(group)
        rank = previous[1] if previous is not None and previous[0] == row.score else seen[group]
        last[group] = (row.score, rank)
        setattr(row, attribute, rank)


def score_get(user, score_id: int) -> AppraisalScore:
    """One person's breakdown: 404 outside the user's estates, 403 for someone else's in an estate where the user
    only works."""
    score = AppraisalScore.objects.select_related("estate", "person").filter(pk=score_id).first()
    if score is None or not is_staff_in(user, score.estate_id):
        raise NotFound(_("Not found."))
    if not scores_visible(user).filter(pk=score.pk).exists():
        raise Forbidden(_("You may see only your own appraisal."))
    return score


def my_scores(user) -> QuerySet[AppraisalScore]:
    return scores_visible(user).filter(person=user).select_related("estate").order_by("-month", "estate__name")


def accountability_for(estate_id: int, person_id: int, *, limit: int = 20) -> list[AccountabilityRecord]:
    return list(AccountabilityRecord.objects.filter(estate_id=estate_id, person_id=person_id)[:limit])


def stars_for(user, *, estate_id=None, month: dt.date | None = None, confirmed_only: bool = False):
    """Stars the user may see, newest month first; `estate_id` outside their estates answers 404."""
    stars = stars_visible(user).select_related("estate", "person", "decided_by")
    if estate_id is not None:
        if int(estate_id) not in _member_estate_ids(user):
            raise NotFound(_("Not found."))
        stars = stars.filter(estate_id=estate_id)
    if month is not None:
        stars = stars.filter(month=month)
    if confirmed_only:
        stars = stars.filter(status=StarStatus.CONFIRMED)
    return stars.order_by("-month", "estate__name", "id")


def star_get(user, star_id: int, *, to_decide: bool = False) -> ServiceStar:
    """A star the user may see. `to_decide`: any nomination of an estate the user works in, so that staff who may
    not decide hear 403 rather than 404."""
    star = ServiceStar.objects.select_related("estate", "person").filter(pk=star_id).first()
    if star is None:
        raise NotFound(_("Not found."))
    if to_decide and is_staff_in(user, star.estate_id):
        return star
    if not stars_visible(user).filter(pk=star.pk).exists():
        raise NotFound(_("Not found."))
    return star


def staff_estates_for_appraisal(user) -> list[Estate]:
    return list(Estate.objects.filter(id__in=appraisal_estate_ids(user), is_active=True).order_by("name"))


def post_label(post: str) -> str:
    return str(Post(post).label) if post in Post.values else post
