"""Reads about surveys, always starting from `surveys_visible(user)`: one survey, the desk's list with response
rates, an owner's surveys, and the results (counts per choice, means, NPS, response rate, text answers)."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.shortcuts import get_object_or_404

from wuye.core import clock

from . import rules, services
from .choices import CHOICE_KINDS, NUMBER_KINDS, QuestionKind, SurveyKind, SurveyStatus
from .models import Answer, Choice, Invitation, Question, Response, Survey
from .permissions import staff_scope, surveys_visible


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
