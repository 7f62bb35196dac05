"""Reads about surveys, always starting from `surveys_visible(user)`: one survey, the desk's list with response
rates, an owner's surveys, and the results (counts per choice, means, NPS, response rate, text answers)."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from wuye.core import clock
from wuye.core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from wuye.estates.models import Building, Estate, Grid
from wuye.workorders.choices import Action as OrderAction
from wuye.workorders.choices import Kind as OrderKind
from wuye.workorders.models import WorkOrder, WorkOrderEvent

from . import rules, services
from .choices import (
    CHOICE_KINDS,
    NUMBER_KINDS,
    Dimension,
    FollowUpStatus,
    QuestionKind,
    Sentiment,
    SurveyKind,
    SurveyStatus,
)
from .models import Answer, Choice, FollowUp, Invitation, Question, Response, Survey
from .permissions import follow_ups_visible, satisfaction_estate_ids, staff_scope, surveys_visible


def survey_get(user, survey_id: int) -> Survey:
    """The survey if the person may see it; 404 otherwise."""
    return get_object_or_404(surveys_visible(user).select_related("estate", "company", "work_order"), pk=survey_id)


def _count(model, **filters):
    return Coalesce(
        Subquery(
            model.objects.filter(survey=OuterRef("pk"), **filters)
            .order_by()
            .values("survey")
            .annotate(n=Count("id"))
            .values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


def survey_list(user, *, estate_id: int | None = None, status: str | None = None) -> QuerySet[Survey]:
    """Surveys the person sees, newest first, with their invitation and response counts (two subqueries, not a
    join that would multiply rows)."""
    surveys = surveys_visible(user).select_related("estate", "company")
    if estate_id is not None:
        surveys = surveys.filter(estate_id=estate_id)
    if status:
        surveys = surveys.filter(status=status)
    return surveys.annotate(invited_count=_count(Invitation), response_count=_count(Response)).order_by(
        "-opens_at", "-id"
    )


def desk_survey_list(user, *, estate_id: int | None = None, status: str | None = None, kind: str | None = None):
    """The desk's list: the surveys the person handles as staff, not the ones they see as a resident. The
    one-question surveys after closed orders (one per order) are left out unless `kind` asks for them."""
    surveys = survey_list(user, estate_id=estate_id, status=status).filter(staff_scope(user))
    if kind:
        return surveys.filter(kind=kind)
    return surveys.exclude(kind=SurveyKind.AFTER_ORDER)


@dataclass
class OwnerSurvey:
    survey: Survey
    phase: str
    answered: bool


def owner_surveys(user, *, now: dt.datetime) -> list[OwnerSurvey]:
    """The surveys a person was invited to (published or closed), open ones first, each with whether they have
    answered: their respondent keys are computed here and matched in one query."""
    surveys = list(
        surveys_visible(user)
        .filter(invitations__user=user)
        .exclude(status=SurveyStatus.DRAFT)
        .select_related("estate")
        .order_by("-opens_at", "-id")
    )
    keys = {services.respondent_key_for(survey, user): survey.id for survey in surveys}
    answered = set(
        Response.objects.filter(survey_id__in=[s.id for s in surveys], respondent_key__in=list(keys)).values_list(
            "survey_id", flat=True
        )
    )
    items = [
        OwnerSurvey(
            survey=survey,
            phase=rules.survey_phase(survey.status, survey.opens_at, survey.closes_at, now),
            answered=survey.id in answered,
        )
        for survey in surveys
    ]
    order = {"open": 0, "scheduled": 1, "closed": 2}
    return sorted(items, key=lambda item: (item.answered, order.get(item.phase, 3)))


# ---------------------------------------------------------------- results


@dataclass
class QuestionResult:
    question: Question
    answered: int = 0
    choices: list[rules.ChoiceCount] = field(default_factory=list)
    distribution: dict[int, int] = field(default_factory=dict)
    mean: float | None = None
    satisfied_share: float | None = None
    nps: rules.Nps | None = None
    texts: list[dict] = field(default_factory=list)
    text_summary: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class SurveyResults:
    survey: Survey
    phase: str
    invited: int
    responses: int
    response_rate: float | None
    hidden: bool
    per_day: list[tuple[dt.date, int]]
    questions: list[QuestionResult]


TEXTS_SHOWN = 200


def survey_results(survey: Survey, *, now: dt.datetime, texts_limit: int | None = TEXTS_SHOWN) -> SurveyResults:
    """Everything a results page or export shows, in a fixed handful of queries whatever the number of answers.

    Anonymous surveys: nothing names a respondent, and below ANONYMITY_MIN_RESPONSES responses only the counts are
    given (hidden=True). Named surveys list who wrote each text answer."""
    invited = Invitation.objects.filter(survey=survey).count()
    responses = Response.objects.filter(survey=survey).count()
    per_day = [
        (row["day"], row["n"])
        for row in Response.objects.filter(survey=survey)
        .annotate(day=TruncDate("submitted_at", tzinfo=clock.local_tz()))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    ]
    hidden = survey.anonymous and responses < rules.ANONYMITY_MIN_RESPONSES
    questions = list(Question.objects.filter(survey=survey).order_by("position"))
    results = SurveyResults(
        survey=survey,
        phase=rules.survey_phase(survey.status, survey.opens_at, survey.closes_at, now),
        invited=invited,
        responses=responses,
        response_rate=rules.rate(responses, invited),
        hidden=hidden,
        per_day=per_day,
        questions=[QuestionResult(question=question) for question in questions],
    )
    if hidden or not questions:
        return results
    by_id = {item.question.id: item for item in results.questions}
    for row in Answer.objects.filter(question__survey=survey).values("question_id").annotate(n=Count("id")):
        by_id[row["question_id"]].answered = row["n"]
    counts = defaultdict(list)
    for choice in (
        Choice.objects.filter(question__survey=survey).annotate(n=Count("answers")).order_by("question_id", "position")
    ):
        counts[choice.question_id].append((choice.id, choice.text, choice.n))
    distributions: dict[int, dict[int, int]] = defaultdict(dict)
    for row in (
        Answer.objects.filter(question__survey=survey, number__isnull=False)
        .values("question_id", "number")
        .annotate(n=Count("id"))
    ):
        distributions[row["question_id"]][row["number"]] = row["n"]
    for item in results.questions:
        kind = item.question.kind
        if kind in CHOICE_KINDS:
            item.choices = rules.choice_tally(item.answered, counts[item.question.id]).choices
        elif kind in NUMBER_KINDS:
            low, high = rules.NUMBER_RANGES[kind]
            given = distributions[item.question.id]
            item.distribution = {score: given.get(score, 0) for score in range(low, high + 1)}
            item.mean = rules.mean(item.distribution)
            if kind == QuestionKind.SCALE:
                item.satisfied_share = rules.satisfied_share(item.distribution)
            else:
                item.nps = rules.nps(item.distribution)
    _texts(survey, results, by_id, texts_limit)
    return results


def _texts(survey: Survey, results: SurveyResults, by_id: dict, limit: int | None) -> None:
    text_questions = [item for item in results.questions if item.question.kind == QuestionKind.TEXT]
    if not text_questions:
        return
    answers = Answer.objects.filter(question__survey=survey).exclude(text="").order_by("-response_id")
    if not survey.anonymous:
        answers = answers.select_related("response__respondent")
    for item in text_questions:
        item.text_summary = {}
    for answer in answers.iterator() if limit is None else answers[: limit * max(len(text_questions), 1)]:
        item = by_id[answer.question_id]
        for dimension in answer.dimensions or ["general"]:
            summary = item.text_summary.setdefault(dimension, {"positive": 0, "negative": 0, "neutral": 0})
            if answer.sentiment:
                summary[answer.sentiment] += 1
        if limit is None or len(item.texts) < limit:
            item.texts.append(
                {
                    "text": answer.text,
                    "sentiment": answer.sentiment,
                    "dimensions": list(answer.dimensions or []),
                    "respondent": (
                        None
                        if survey.anonymous or answer.response.respondent is None
                        else answer.response.respondent.display_name
                    ),
                }
            )


# ---------------------------------------------------------------- satisfaction index
#
# From stored rows only: the yearly survey's 1–5 answers to dimension questions (placed by the respondent's building),
# the owners' ratings (work-order RATE events, placed by the order) and the 1–5 answers to the surveys after orders
# (placed by their order). rules.satisfaction_index does the arithmetic; docs/engagement.md states it.


@dataclass(frozen=True)
class Place:
    """Where the index is measured: some estates, or one grid, or one building of an estate."""

    estate_ids: tuple[int, ...]
    grid_id: int | None = None
    building_id: int | None = None

    @property
    def is_small(self) -> bool:
        return self.grid_id is not None or self.building_id is not None


# The field each source is grouped by for a breakdown (estate, grid or building), and filtered by for a place.
_YEARLY_FIELDS = {
    "estate": "response__building__estate_id",
    "grid": "response__building__grid_id",
    "building": "response__building_id",
}
_RATING_FIELDS = {"estate": "order__estate_id", "grid": "order__grid_id", "building": "order__room__building_id"}
_AFTER_FIELDS = {
    "estate": "question__survey__work_order__estate_id",
    "grid": "question__survey__work_order__grid_id",
    "building": "question__survey__work_order__room__building_id",
}


def local_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in the local time zone."""
    tz = clock.local_tz()
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz),
    )


def _place_filter(place: Place, fields: dict[str, str]) -> Q:
    condition = Q(**{f"{fields['estate']}__in": place.estate_ids})
    if place.grid_id is not None:
        condition &= Q(**{fields["grid"]: place.grid_id})
    if place.building_id is not None:
        condition &= Q(**{fields["building"]: place.building_id})
    return condition


def _satisfied_and_total(satisfied: Q) -> dict:
    return {"total": Count("id"), "satisfied": Count("id", filter=satisfied)}


def satisfaction_tallies(
    place: Place, start: dt.date, end: dt.date, *, by: str | None = None
) -> dict[int | None, tuple[dict[str, rules.Tally], dict[str, rules.Tally]]]:
    """Per node (key None without `by`; else the estate, grid or building id): the yearly-survey and the order
    tallies per dimension, in three grouped queries. Anonymity: at grid and building level (a small place, or a
    breakdown by grid or building), a dimension's anonymous yearly answers count only from ANONYMITY_MIN_RESPONSES
    answers on; fewer are left out there (they still count in the estate)."""
    result: dict = defaultdict(lambda: (defaultdict(rules.Tally), defaultdict(rules.Tally)))
    small = place.is_small or by in ("grid", "building")
    satisfied = Q(number__gte=rules.SATISFIED_FROM_SCORE)

    year_from, year_to = local_bounds(end - dt.timedelta(days=rules.YEARLY_WINDOW_DAYS - 1), end)
    group = [_YEARLY_FIELDS[by]] if by else []
    yearly = (
        Answer.objects.filter(
            _place_filter(place, _YEARLY_FIELDS),
            question__survey__kind=SurveyKind.YEARLY_SATISFACTION,
            question__kind=QuestionKind.SCALE,
            number__isnull=False,
            response__submitted_at__gte=year_from,
            response__submitted_at__lt=year_to,
        )
        .exclude(question__dimension="")
        .values(*group, "question__dimension", "question__survey__anonymous")
        .annotate(**_satisfied_and_total(satisfied))
        .order_by()
    )
    kept: dict = defaultdict(lambda: [0, 0, 0, 0])  # (node, dim) → named sat/total, anonymous sat/total
    for row in yearly:
        counts = kept[(row[group[0]] if by else None, row["question__dimension"])]
        offset = 2 if row["question__survey__anonymous"] else 0
        counts[offset] += row["satisfied"]
        counts[offset + 1] += row["total"]
    for (node, dim), (named_sat, named_total, anon_sat, anon_total) in kept.items():
        result[node][0][dim].add(named_sat, named_total)
        if not small or anon_total >= rules.ANONYMITY_MIN_RESPONSES:
            result[node][0][dim].add(anon_sat, anon_total)

    since, until = local_bounds(start, end)
    group = [_RATING_FIELDS[by]] if by else []
    ratings = (
        WorkOrderEvent.objects.filter(
            _place_filter(place, _RATING_FIELDS), action=OrderAction.RATE, at__gte=since, at__lt=until
        )
        .values(*group, "order__kind", "order__category__required_skill")
        .annotate(**_satisfied_and_total(Q(payload__verdict="good")))
        .order_by()
    )
    for row in ratings:
        dim = rules.order_dimension(row["order__kind"], row["order__category__required_skill"] or "")
        result[row[group[0]] if by else None][1][dim].add(row["satisfied"], row["total"])

    group = [_AFTER_FIELDS[by]] if by else []
    after = (
        Answer.objects.filter(
            _place_filter(place, _AFTER_FIELDS),
            question__survey__kind=SurveyKind.AFTER_ORDER,
            question__kind=QuestionKind.SCALE,
            number__isnull=False,
            response__submitted_at__gte=since,
            response__submitted_at__lt=until,
        )
        .exclude(question__dimension="")
        .values(*group, "question__dimension")
        .annotate(**_satisfied_and_total(satisfied))
        .order_by()
    )
    for row in after:
        result[row[group[0]] if by else None][1][row["question__dimension"]].add(row["satisfied"], row["total"])
    return dict(result)


def satisfaction_for(
    place: Place, start: dt.date, end: dt.date, *, by: str | None = None
) -> dict[int | None, rules.SatisfactionIndex]:
    """The satisfaction index of the place for [start, end] (key None), or of each estate, grid or building in it."""
    tallies = satisfaction_tallies(place, start, end, by=by)
    if by is None and None not in tallies:
        tallies[None] = ({}, {})
    return {node: rules.satisfaction_index(yearly, orders) for node, (yearly, orders) in tallies.items()}


def satisfaction_overall(place: Place, start: dt.date, end: dt.date) -> float | None:
    """The overall index (0–100) of the place for [start, end]: what the KPI dashboard shows as owner satisfaction."""
    return satisfaction_for(place, start, end)[None].overall


@dataclass
class NegativeComments:
    count: int = 0
    examples: list[str] = field(default_factory=list)


NEGATIVE_EXAMPLES = 3
# Comments read per source and page: ratings' and complaints' texts are classified when the page is drawn.
COMMENTS_READ = 300


def negative_comments(place: Place, start: dt.date, end: dt.date) -> dict[str, NegativeComments]:
    """Per dimension, the negative comments of the period and place (comments.py): survey text answers (classified
    when they were stored), owners' rating comments and complaint descriptions (classified now, the latest
    COMMENTS_READ of each), with a few of the latest as examples. A small place shows no examples from anonymous
    surveys (their count still shows)."""
    from .comments import classify_many  # loads the comment model on first use only

    since, until = local_bounds(start, end)
    found: dict[str, NegativeComments] = {dim: NegativeComments() for dim in rules.DIMENSION_WEIGHTS}
    texts: list[tuple[dt.datetime, str, tuple[str, ...], bool]] = []
    answers = (
        Answer.objects.filter(
            _place_filter(place, _YEARLY_FIELDS),
            sentiment=Sentiment.NEGATIVE,
            response__submitted_at__gte=since,
            response__submitted_at__lt=until,
        )
        .exclude(text="")
        .order_by("-response__submitted_at", "-id")
        .values_list("response__submitted_at", "text", "dimensions", "question__survey__anonymous")[:2000]
    )
    texts += [(at, text, tuple(dims or ()), anonymous) for at, text, dims, anonymous in answers]
    rated = list(
        WorkOrderEvent.objects.filter(
            _place_filter(place, _RATING_FIELDS), action=OrderAction.RATE, at__gte=since, at__lt=until
        )
        .exclude(order__rating_comment="")
        .order_by("-at", "-id")
        .values_list("at", "order__rating_comment")[:COMMENTS_READ]
    )
    complaint_filter = Q(estate_id__in=place.estate_ids)
    if place.grid_id is not None:
        complaint_filter &= Q(grid_id=place.grid_id)
    if place.building_id is not None:
        complaint_filter &= Q(room__building_id=place.building_id)
    complaints = list(
        WorkOrder.objects.filter(
            complaint_filter, kind=OrderKind.COMPLAINT, created_at__gte=since, created_at__lt=until
        )
        .order_by("-created_at", "-id")
        .values_list("created_at", "description")[:COMMENTS_READ]
    )
    fresh = rated + complaints
    for (at, text), verdict in zip(fresh, classify_many([text for _at, text in fresh]), strict=True):
        if verdict.sentiment == Sentiment.NEGATIVE:
            texts.append((at, text, verdict.dimensions, False))
    texts.sort(key=lambda item: item[0], reverse=True)
    for _at, text, dims, anonymous in texts:
        for dim in dims:
            if dim not in found:
                continue
            found[dim].count += 1
            if len(found[dim].examples) < NEGATIVE_EXAMPLES and not (anonymous and place.is_small):
                found[dim].examples.append(text)
    return found


# ---------------------------------------------------------------- the satisfaction page and API


@dataclass
class DimensionLine:
    dimension: str
    label: str
    index: float | None
    last_year: float | None
    yearly: rules.Tally
    orders: rules.Tally
    negative: NegativeComments


@dataclass
class NodeLine:
    """One estate, grid or building of the next level down."""

    id: int
    kind: str  # estate | grid | building
    name: str
    overall: float | None
    dimensions: dict[str, float | None]
    answers: int


@dataclass
class SatisfactionReport:
    estates: list[Estate]  # every estate the person may read (the page's estate menu)
    estate: Estate | None
    grid: Grid | None
    building: Building | None
    year: int
    start: dt.date
    end: dt.date
    overall: float | None
    overall_last_year: float | None
    answers: int
    target: float | None
    status: str
    lines: list[DimensionLine]
    children: list[NodeLine]
    child_kind: str | None


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError(name, "invalid", message)])


def _int_param(name: str, value) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    raise _invalid(name, _("%(name)s must be a whole number.") % {"name": name})


def satisfaction_target(estate: Estate, at: dt.datetime) -> float | None:
    """The owner-satisfaction target (%) of the service-level profile the estate's contract uses at `at`."""
    from wuye.standards.selectors import effective_values, estate_profile_at

    values = effective_values(estate_profile_at(estate.id, at))
    target = values.get("satisfaction_target_pct") if values else None
    return float(target) if target is not None else None


def _names(kind: str, ids) -> dict[int, str]:
    model = {"estate": Estate, "grid": Grid, "building": Building}[kind]
    return dict(model.objects.filter(id__in=[i for i in ids if i is not None]).values_list("id", "name"))


def satisfaction_report(
    user, *, estate_id=None, grid_id=None, building_id=None, year=None, today: dt.date, comments: bool = True
) -> SatisfactionReport:
    """The index of one estate, grid or building (or, without an estate, of every estate the person may read) for
    the year so far, against the profile's target and the same dates last year, with the next level down and the
    negative comments per dimension. Forbidden when the person reads no index anywhere; NotFound for a place they
    may not see; ValidationFailed naming a malformed parameter."""
    allowed = satisfaction_estate_ids(user)
    if not allowed:
        raise Forbidden(_("You may not read the satisfaction index."))
    estate_id, grid_id = _int_param("estate_id", estate_id), _int_param("grid_id", grid_id)
    building_id, year = _int_param("building_id", building_id), _int_param("year", year)
    year = year or today.year
    if not 2000 <= year <= today.year:
        raise _invalid("year", _("year must be between 2000 and this year."))
    estates = list(Estate.objects.filter(id__in=allowed, is_active=True).order_by("name"))
    estate = grid = building = None
    if estate_id is not None:
        estate = next((each for each in estates if each.id == estate_id), None)
        if estate is None:
            raise NotFound(_("No such estate."))
    elif grid_id is not None or building_id is not None:
        raise ValidationFailed(
            _("Choose the estate too."), errors=[FieldError("estate_id", "required", _("Choose the estate too."))]
        )
    if grid_id is not None:
        grid = Grid.objects.filter(estate=estate, id=grid_id).first()
        if grid is None:
            raise NotFound(_("No such grid."))
    if building_id is not None:
        building = Building.objects.filter(estate=estate, id=building_id).select_related("grid").first()
        if building is None or (grid is not None and building.grid_id != grid.id):
            raise NotFound(_("No such building."))

    start = dt.date(year, 1, 1)
    end = min(dt.date(year, 12, 31), today)
    last_start, last_end = _shift_year(start), _shift_year(end)
    estate_ids = (estate.id,) if estate else tuple(each.id for each in estates)
    place = Place(estate_ids, grid_id=grid.id if grid else None, building_id=building.id if building else None)
    now_index = satisfaction_for(place, start, end)[None]
    last_index = satisfaction_for(place, last_start, last_end)[None]
    negative = negative_comments(place, start, end) if comments else {}

    child_kind = None if building else ("building" if grid else ("grid" if estate else "estate"))
    children: list[NodeLine] = []
    if child_kind:
        by_node = satisfaction_for(place, start, end, by=child_kind)
        if child_kind == "estate":
            names = {each.id: each.name for each in estates}
        elif child_kind == "grid":
            names = dict(Grid.objects.filter(estate=estate).values_list("id", "name"))
        else:
            names = dict(Building.objects.filter(estate=estate, grid=grid).values_list("id", "name"))
            names |= _names("building", by_node)
        for node_id, name in sorted(names.items(), key=lambda item: item[1]):
            index = by_node.get(node_id) or rules.satisfaction_index({}, {})
            children.append(
                NodeLine(
                    id=node_id,
                    kind=child_kind,
                    name=name,
                    overall=index.overall,
                    dimensions={dim: item.index for dim, item in index.dimensions.items()},
                    answers=index.answers,
                )
            )

    target = None
    if estate is not None:
        target = satisfaction_target(estate, local_bounds(end, end)[1])
    lines = [
        DimensionLine(
            dimension=dim,
            label=str(Dimension(dim).label),
            index=item.index,
            last_year=last_index.dimensions[dim].index,
            yearly=item.yearly,
            orders=item.orders,
            negative=negative.get(dim, NegativeComments()),
        )
        for dim, item in now_index.dimensions.items()
    ]
    return SatisfactionReport(
        estates=estates,
        estate=estate,
        grid=grid,
        building=building,
        year=year,
        start=start,
        end=end,
        overall=now_index.overall,
        overall_last_year=last_index.overall,
        answers=now_index.answers,
        target=target,
        status=rules.target_status(now_index.overall, target),
        lines=lines,
        children=children,
        child_kind=child_kind,
    )


def _shift_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


# ---------------------------------------------------------------- follow-ups


def my_follow_ups(user, *, status: str | None = FollowUpStatus.OPEN) -> QuerySet[FollowUp]:
    """The person's follow-ups (assigned to them, or in the estates they oversee), the soonest due first."""
    follow_ups = follow_ups_visible(user).select_related(
        "estate", "grid", "assignee", "work_order__room__building", "work_order__room__unit", "done_by"
    )
    if status:
        follow_ups = follow_ups.filter(status=status)
    return follow_ups.order_by("due_at", "id") if status == FollowUpStatus.OPEN else follow_ups.order_by("-opened_at")


def follow_up_get(user, follow_up_id: int) -> FollowUp:
    return get_object_or_404(follow_ups_visible(user), pk=follow_up_id)


def satisfaction_daily(first: dt.date, last: dt.date) -> list[tuple[dt.date, int, int | None, str, int, int]]:
    """The index's inputs per local day of [first, last], estate and grid, for the KPI rollups (kpis.service_rollup):
    (day, estate id, grid id, key, satisfied, total) where key is "y:<dimension>" for named yearly-survey answers,
    "a:<dimension>" for anonymous ones (the reader applies the anonymity rule), "o:<dimension>" for the order
    feedback (ratings and after-order answers). Three grouped queries."""
    tz = clock.local_tz()
    since, until = local_bounds(first, last)
    satisfied = Q(number__gte=rules.SATISFIED_FROM_SCORE)
    result = []
    yearly = (
        Answer.objects.filter(
            question__survey__kind=SurveyKind.YEARLY_SATISFACTION,
            question__kind=QuestionKind.SCALE,
            number__isnull=False,
            response__submitted_at__gte=since,
            response__submitted_at__lt=until,
        )
        .exclude(question__dimension="")
        .annotate(day=TruncDate("response__submitted_at", tzinfo=tz))
        .values(
            "day",
            _YEARLY_FIELDS["estate"],
            _YEARLY_FIELDS["grid"],
            "question__dimension",
            "question__survey__anonymous",
        )
        .annotate(**_satisfied_and_total(satisfied))
        .order_by()
    )
    for row in yearly:
        source = "a" if row["question__survey__anonymous"] else "y"
        result.append(
            (
                row["day"],
                row[_YEARLY_FIELDS["estate"]],
                row[_YEARLY_FIELDS["grid"]],
                f"{source}:{row['question__dimension']}",
                row["satisfied"],
                row["total"],
            )
        )
    ratings = (
        WorkOrderEvent.objects.filter(action=OrderAction.RATE, at__gte=since, at__lt=until)
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values("day", "order__estate_id", "order__grid_id", "order__kind", "order__category__required_skill")
        .annotate(**_satisfied_and_total(Q(payload__verdict="good")))
        .order_by()
    )
    for row in ratings:
        dim = rules.order_dimension(row["order__kind"], row["order__category__required_skill"] or "")
        result.append(
            (row["day"], row["order__estate_id"], row["order__grid_id"], f"o:{dim}", row["satisfied"], row["total"])
        )
    after = (
        Answer.objects.filter(
            question__survey__kind=SurveyKind.AFTER_ORDER,
            question__kind=QuestionKind.SCALE,
            number__isnull=False,
            response__submitted_at__gte=since,
            response__submitted_at__lt=until,
        )
        .exclude(question__dimension="")
        .annotate(day=TruncDate("response__submitted_at", tzinfo=tz))
        .values("day", _AFTER_FIELDS["estate"], _AFTER_FIELDS["grid"], "question__dimension")
        .annotate(**_satisfied_and_total(satisfied))
        .order_by()
    )
    for row in after:
        result.append(
            (
                row["day"],
                row[_AFTER_FIELDS["estate"]],
                row[_AFTER_FIELDS["grid"]],
                f"o:{row['question__dimension']}",
                row["satisfied"],
                row["total"],
            )
        )
    return result


def satisfaction_from_tallies(
    yearly_named: dict[str, rules.Tally],
    yearly_anonymous: dict[str, rules.Tally],
    orders: dict[str, rules.Tally],
    *,
    small: bool,
) -> rules.SatisfactionIndex:
    """The index from summed tallies, with the anonymity rule: in a small place (a grid or a building) a dimension's
    anonymous yearly answers count only from ANONYMITY_MIN_RESPONSES answers on."""
    named = defaultdict(rules.Tally)
    for dim, tally in yearly_named.items():
        named[dim].add(tally.satisfied, tally.total)
    for dim, tally in yearly_anonymous.items():
        if not small or tally.total >= rules.ANONYMITY_MIN_RESPONSES:
            named[dim].add(tally.satisfied, tally.total)
    return rules.satisfaction_index(named, orders)
