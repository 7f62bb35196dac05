"""The questionnaire API: list, build, publish and close surveys (staff), answer them (owners), read results (staff).

Not visible → 404; visible but the role may not → 403; the survey's state forbids it (closed, not open, already
answered, already published) → 409; bad input → 422 naming the field (answers: `answers.<question id>`).
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router

from wuye.core import clock
from wuye.core.errors import Forbidden
from wuye.estates.models import Company
from wuye.estates.permissions import estates_visible

from . import rules, selectors, services
from .choices import FollowUpStatus, Phase, SurveyKind
from .models import Survey
from .permissions import can_create_in, can_manage, can_view_results, may_follow_up
from .schemas import (
    FollowUpDoneIn,
    FollowUpOut,
    ResponseIn,
    ResultsOut,
    SatisfactionFilters,
    SatisfactionOut,
    SubmittedOut,
    SurveyFilters,
    SurveyIn,
    SurveyItemOut,
    SurveyOut,
)

router = Router(tags=["surveys"])


def _item_out(user, survey: Survey, now) -> dict:
    phase = rules.survey_phase(survey.status, survey.opens_at, survey.closes_at, now)
    staff = can_view_results(user, survey)
    invited = getattr(survey, "invited_count", None)
    responses = getattr(survey, "response_count", None)
    return {
        "id": survey.id,
        "title": survey.title,
        "kind": survey.kind,
        "kind_label": survey.get_kind_display(),
        "status": survey.status,
        "status_label": survey.get_status_display(),
        "phase": phase,
        "phase_label": str(Phase(phase).label),
        "estate_id": survey.estate_id,
        "company_id": survey.company_id,
        "anonymous": survey.anonymous,
        "opens_at": survey.opens_at,
        "closes_at": survey.closes_at,
        "invited": invited if staff else None,
        "responses": responses if staff else None,
        "response_rate": rules.rate(responses, invited) if staff and invited is not None else None,
    }


def _survey_out(user, survey: Survey) -> dict:
    now = clock.now()
    questions = survey.questions.prefetch_related("choices").order_by("position")
    return {
        **_item_out(user, survey, now),
        "description": survey.description,
        "sampling_rate": survey.sampling_rate,
        "building_ids": list(survey.target_buildings.values_list("id", flat=True)),
        "grid_ids": list(survey.target_grids.values_list("id", flat=True)),
        "work_order_id": survey.work_order_id,
        "invited_me": survey.invitations.filter(user=user).exists(),
        "answered": services.has_answered(survey, user),
        "can_manage": can_manage(user, survey),
        "questions": [
            {
                "id": question.id,
                "position": question.position,
                "kind": question.kind,
                "kind_label": question.get_kind_display(),
                "text": question.text,
                "required": question.required,
                "dimension": question.dimension,
                "choices": [
                    {"id": choice.id, "position": choice.position, "text": choice.text}
                    for choice in question.choices.all()
                ],
            }
            for question in questions
        ],
    }


@router.get("/surveys", response=list[SurveyItemOut], summary="Surveys you may see (staff: with response rates)")
def survey_list(request, filters: Query[SurveyFilters]):
    now = clock.now()
    surveys = selectors.survey_list(request.user, estate_id=filters.estate_id, status=filters.status)
    if filters.kind:
        surveys = surveys.filter(kind=filters.kind)
    return [_item_out(request.user, survey, now) for survey in surveys[:200]]


@router.post("/surveys", response={201: SurveyOut}, summary="Create a draft survey (staff who run surveys)")
def survey_create(request, payload: SurveyIn):
    estate, company = None, None
    if payload.estate_id is not None:
        estate = get_object_or_404(estates_visible(request.user).select_related("company"), pk=payload.estate_id)
    else:
        # A company-wide survey: the company must be one the caller works for (else 404), and they its administrator.
        company = get_object_or_404(
            Company.objects.filter(estates__in=estates_visible(request.user)).distinct(), pk=payload.company_id or 0
        )
    if not can_create_in(request.user, estate, company.id if company else None):
        raise Forbidden(_("Only customer service, quality inspectors, supervisors and managers run surveys."))
    questions = [
        services.QuestionSpec(
            kind=question.kind,
            text=question.text,
            required=question.required,
            dimension=question.dimension or "",
            choices=tuple(question.choices),
        )
        for question in payload.questions
    ]
    if payload.kind == SurveyKind.YEARLY_SATISFACTION and not questions:
        questions = services.yearly_satisfaction_questions()
    survey = services.survey_create(
        actor=request.user,
        new=services.NewSurvey(
            title=payload.title,
            description=payload.description,
            estate=estate,
            company=company,
            kind=payload.kind,
            anonymous=payload.anonymous,
            opens_at=payload.opens_at,
            closes_at=payload.closes_at,
            sampling_rate=payload.sampling_rate,
            building_ids=payload.building_ids,
            grid_ids=payload.grid_ids,
            questions=questions,
        ),
        now=clock.now(),
    )
    return 201, _survey_out(request.user, survey)


@router.get("/surveys/{survey_id}", response=SurveyOut, summary="One survey with its questions")
def survey_detail(request, survey_id: int):
    return _survey_out(request.user, selectors.survey_get(request.user, survey_id))


def _managed(request, survey_id: int) -> Survey:
    survey = selectors.survey_get(request.user, survey_id)
    if not can_manage(request.user, survey):
        raise Forbidden(_("Only the staff who run surveys may publish or close them."))
    return survey


@router.post("/surveys/{survey_id}/publish", response=SurveyOut, summary="Publish: invite the sample")
def survey_publish(request, survey_id: int):
    survey = _managed(request, survey_id)
    survey = services.survey_publish(actor=request.user, survey_id=survey.id, now=clock.now())
    return _survey_out(request.user, selectors.survey_get(request.user, survey.id))


@router.post("/surveys/{survey_id}/close", response=SurveyOut, summary="Close: take no more answers")
def survey_close(request, survey_id: int):
    survey = _managed(request, survey_id)
    services.survey_close(actor=request.user, survey_id=survey.id, now=clock.now())
    return _survey_out(request.user, selectors.survey_get(request.user, survey.id))


@router.post("/surveys/{survey_id}/responses", response={201: SubmittedOut}, summary="Answer a survey (invited)")
def response_submit(request, survey_id: int, payload: ResponseIn):
    survey = selectors.survey_get(request.user, survey_id)
    services.response_submit(user=request.user, survey=survey, answers=payload.answers, now=clock.now())
    return 201, {"survey_id": survey.id, "submitted": True}


@router.get("/surveys/{survey_id}/results", response=ResultsOut, summary="Results (staff): counts, means, NPS")
def survey_results(request, survey_id: int):
    survey = selectors.survey_get(request.user, survey_id)
    if not can_view_results(request.user, survey):
        raise Forbidden(_("Results are for the staff who run surveys."))
    results = selectors.survey_results(survey, now=clock.now())
    return {
        "survey_id": survey.id,
        "phase": results.phase,
        "anonymous": survey.anonymous,
        "invited": results.invited,
        "responses": results.responses,
        "response_rate": results.response_rate,
        "hidden": results.hidden,
        "per_day": results.per_day,
        "questions": [
            {
                "id": item.question.id,
                "position": item.question.position,
                "kind": item.question.kind,
                "text": item.question.text,
                "dimension": item.question.dimension,
                "answered": item.answered,
                "choices": [choice.__dict__ for choice in item.choices],
                "distribution": item.distribution,
                "mean": item.mean,
                "satisfied_share": item.satisfied_share,
                "nps": None if item.nps is None else {**item.nps.__dict__, "score": item.nps.score},
                "texts": item.texts,
            }
            for item in results.questions
        ],
    }


# ---------------------------------------------------------------- satisfaction index and follow-ups


@router.get(
    "/satisfaction",
    response=SatisfactionOut,
    by_alias=True,
    tags=["satisfaction"],
    summary="Satisfaction index by dimension of every estate, one estate, grid or building (staff)",
)
def satisfaction(request, filters: Query[SatisfactionFilters]):
    report = selectors.satisfaction_report(
        request.user,
        estate_id=filters.estate_id,
        grid_id=filters.grid_id,
        building_id=filters.building_id,
        year=filters.year,
        today=clock.today(),
    )
    return {
        "estate_id": report.estate.id if report.estate else None,
        "grid_id": report.grid.id if report.grid else None,
        "building_id": report.building.id if report.building else None,
        "year": report.year,
        "from": report.start,
        "to": report.end,
        "overall": report.overall,
        "overall_last_year": report.overall_last_year,
        "answers": report.answers,
        "target": report.target,
        "status": report.status,
        "dimensions": [
            {
                "dimension": line.dimension,
                "label": line.label,
                "index": line.index,
                "last_year": line.last_year,
                "yearly": line.yearly.__dict__,
                "orders": line.orders.__dict__,
                "negative_comments": line.negative.count,
                "negative_examples": line.negative.examples,
            }
            for line in report.lines
        ],
        "children": [child.__dict__ for child in report.children],
    }


def _follow_up_out(item) -> dict:
    return {
        **{
            name: getattr(item, name)
            for name in (
                "id",
                "estate_id",
                "grid_id",
                "work_order_id",
                "cause",
                "status",
                "assignee_id",
                "score",
                "detail",
                "opened_at",
                "due_at",
                "done_at",
                "note",
            )
        },
        "work_order_number": item.work_order.number,
        "cause_label": item.get_cause_display(),
    }


def _require_follow_up_user(request) -> None:
    if not may_follow_up(request.user):
        raise Forbidden(_("Follow-ups are for grid leaders and the supervisors and managers above them."))


@router.get("/follow-ups", response=list[FollowUpOut], tags=["satisfaction"], summary="My open follow-ups")
def follow_up_list(request, status: str = "open"):
    _require_follow_up_user(request)
    wanted = status if status in FollowUpStatus.values else FollowUpStatus.OPEN
    return [_follow_up_out(item) for item in selectors.my_follow_ups(request.user, status=wanted)[:200]]


@router.post(
    "/follow-ups/{follow_up_id}/done", response=FollowUpOut, tags=["satisfaction"], summary="Record what was done"
)
def follow_up_done(request, follow_up_id: int, payload: FollowUpDoneIn):
    _require_follow_up_user(request)
    item = selectors.follow_up_get(request.user, follow_up_id)
    services.follow_up_done(actor=request.user, follow_up_id=item.id, note=payload.note, now=clock.now())
    return _follow_up_out(selectors.follow_up_get(request.user, follow_up_id))
