"""Survey pages: the owner's "my surveys" and answer form in the portal; the desk's survey list, results (ECharts)
with publish / close, the Excel export, and a yearly satisfaction survey from the built-in questions.

Portal pages are for owners and residents (anyone else 403); desk pages for the staff who run or read surveys
(anyone else 403). A survey the person may not see answers 404. Service refusals show on the page with their
status (403, 409, 422), never as a server error. Forms work without JavaScript.
"""

import datetime as dt
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wuye.accounts.choices import RESIDENT_ROLES
from wuye.accounts.selectors import roles_by_estate
from wuye.core import clock
from wuye.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from wuye.estates.models import Building, Estate, Grid

from . import rules, selectors, services
from .choices import (
    CHOICE_KINDS,
    Dimension,
    FollowUpStatus,
    Phase,
    QuestionKind,
    Sentiment,
    SurveyKind,
    SurveyStatus,
)
from .models import Answer, Question, Response, Survey
from .permissions import can_create_in, can_manage, can_view_results, may_follow_up, survey_desk_estate_ids

SCALE_LABELS = {
    1: gettext_lazy("Very dissatisfied"),
    2: gettext_lazy("Dissatisfied"),
    3: gettext_lazy("Fair"),
    4: gettext_lazy("Satisfied"),
    5: gettext_lazy("Very satisfied"),
}
# Bootstrap's success, danger and secondary colours, so charts match the badges beside them.
SENTIMENT_COLOURS = {Sentiment.POSITIVE: "#198754", Sentiment.NEGATIVE: "#dc3545", Sentiment.NEUTRAL: "#6c757d"}
PHASE_BADGES = {
    Phase.DRAFT: "text-bg-secondary",
    Phase.SCHEDULED: "text-bg-info",
    Phase.OPEN: "text-bg-success",
    Phase.CLOSED: "text-bg-dark",
}


# ---------------------------------------------------------------- portal


def _require_resident(request: HttpRequest) -> None:
    if not any(roles & RESIDENT_ROLES for roles in roles_by_estate(request.user).values()):
        raise PermissionDenied


@login_required
@require_GET
def portal_survey_list(request: HttpRequest) -> HttpResponse:
    """My surveys: those I was invited to, the ones still waiting for my answer first."""
    _require_resident(request)
    items = selectors.owner_surveys(request.user, now=clock.now())
    cards = [
        {"item": item, "badge": PHASE_BADGES.get(item.phase), "phase_label": Phase(item.phase).label} for item in items
    ]
    return render(request, "engagement/portal_list.html", {"cards": cards})


def _raw_answers(post, questions: list[Question]) -> dict[int, object]:
    raw: dict[int, object] = {}
    for question in questions:
        name = f"q{question.id}"
        if question.kind == QuestionKind.MULTIPLE:
            raw[question.id] = post.getlist(name)
        else:
            raw[question.id] = post.get(name, "")
    return raw


def _question_rows(questions: list[Question], raw: dict[int, object], errors: dict[int, str]) -> list[dict]:
    rows = []
    for question in questions:
        value = raw.get(question.id)
        selected = {str(item) for item in value} if isinstance(value, list) else {str(value)} if value else set()
        row = {"question": question, "name": f"q{question.id}", "selected": selected, "error": errors.get(question.id)}
        if question.kind == QuestionKind.SCALE:
            row["options"] = [(str(score), score, SCALE_LABELS[score]) for score in range(1, 6)]
        elif question.kind == QuestionKind.NPS:
            row["options"] = [(str(score), score, "") for score in range(0, 11)]
        elif question.kind in CHOICE_KINDS:
            row["options"] = [(str(choice.id), choice.text, "") for choice in question.choices.all()]
        else:
            row["text"] = value if isinstance(value, str) else ""
        rows.append(row)
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def portal_survey_answer(request: HttpRequest, survey_id: int) -> HttpResponse:
    """Answer a survey (one page, every question). A survey the person was not invited to answers 403."""
    _require_resident(request)
    survey = selectors.survey_get(request.user, survey_id)
    if not survey.invitations.filter(user=request.user).exists():
        raise PermissionDenied(_("You were not invited to this survey."))
    now = clock.now()
    questions = list(survey.questions.prefetch_related("choices").order_by("position"))
    raw: dict[int, object] = {}
    errors: dict[int, str] = {}
    status = 200
    problem = ""
    if request.method == "POST":
        raw = _raw_answers(request.POST, questions)
        try:
            services.response_submit(user=request.user, survey=survey, answers=raw, now=now)
        except ValidationFailed as failure:
            status, problem = 422, failure.message
            errors = {int(error.field.split(".")[1]): error.message for error in failure.errors}
        except DomainError as refusal:
            status, problem = refusal.status, refusal.message
        else:
            messages.success(request, _("Thank you! Your answers were received."))
            return redirect("portal:surveys:list")
    phase = rules.survey_phase(survey.status, survey.opens_at, survey.closes_at, now)
    context = {
        "survey": survey,
        "phase": phase,
        "phase_label": Phase(phase).label,
        "answered": services.has_answered(survey, request.user),
        "rows": _question_rows(questions, raw, errors),
        "problem": problem,
    }
    return render(request, "engagement/portal_answer.html", context, status=status)


# ---------------------------------------------------------------- desk


def _require_survey_staff(request: HttpRequest) -> list[int]:
    estate_ids = survey_desk_estate_ids(request.user)
    if not estate_ids:
        raise PermissionDenied
    return estate_ids


def _desk_survey(request: HttpRequest, survey_id: int) -> Survey:
    _require_survey_staff(request)
    survey = selectors.survey_get(request.user, survey_id)
    if not can_view_results(request.user, survey):
        raise PermissionDenied
    return survey


@login_required
@require_GET
def desk_survey_list(request: HttpRequest) -> HttpResponse:
    """Surveys of my estates with their response rates (after-order surveys with ?kind=after_order)."""
    estate_ids = _require_survey_staff(request)
    estates = list(Estate.objects.filter(id__in=estate_ids).order_by("name"))
    estate_id = _int_or_none(request.GET.get("estate"))
    status = request.GET.get("status") if request.GET.get("status") in SurveyStatus.values else None
    kind = request.GET.get("kind") if request.GET.get("kind") in SurveyKind.values else None
    now = clock.now()
    surveys = list(selectors.desk_survey_list(request.user, estate_id=estate_id, status=status, kind=kind)[:100])
    rows = []
    for survey in surveys:
        phase = rules.survey_phase(survey.status, survey.opens_at, survey.closes_at, now)
        rows.append(
            {
                "survey": survey,
                "phase_label": Phase(phase).label,
                "badge": PHASE_BADGES.get(phase),
                "rate": rules.rate(survey.response_count, survey.invited_count),
            }
        )
    context = {
        "rows": rows,
        "estates": estates,
        "estate_id": estate_id,
        "status": status or "",
        "kind": kind or "",
        "statuses": SurveyStatus.choices,
        "kinds": SurveyKind.choices,
        "can_create": any(can_create_in(request.user, estate) for estate in estates),
    }
    return render(request, "engagement/desk_list.html", context)


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _charts(results: selectors.SurveyResults) -> dict:
    """What the page's ECharts need, by question id (read by engagement/results.js from a json_script)."""
    charts: dict = {"per_day": [[day.isoformat(), count] for day, count in results.per_day], "questions": {}}
    for item in results.questions:
        question = item.question
        if question.kind in CHOICE_KINDS:
            charts["questions"][question.id] = {
                "type": "choices",
                "labels": [choice.text for choice in item.choices],
                "values": [choice.count for choice in item.choices],
            }
        elif item.distribution:
            charts["questions"][question.id] = {
                "type": "distribution",
                "labels": [str(score) for score in item.distribution],
                "values": list(item.distribution.values()),
            }
        elif item.text_summary:
            labels = list(item.text_summary)
            charts["questions"][question.id] = {
                "type": "sentiment",
                "labels": [_dimension_label(label) for label in labels],
                "series": [
                    {
                        "name": str(Sentiment(sentiment).label),
                        "color": SENTIMENT_COLOURS[sentiment],
                        "values": [item.text_summary[label][sentiment] for label in labels],
                    }
                    for sentiment in Sentiment.values
                ],
            }
    return charts


def _dimension_label(value: str) -> str:
    return str(Dimension(value).label) if value in Dimension.values else _("General")


def _results_page(request: HttpRequest, survey: Survey, *, status: int = 200, problem: str = "") -> HttpResponse:
    results = selectors.survey_results(survey, now=clock.now())
    for item in results.questions:
        item.dimension_label = Dimension(item.question.dimension).label if item.question.dimension else ""
        for text in item.texts:
            text["dimension_labels"] = [_dimension_label(value) for value in text["dimensions"]]
            text["sentiment_label"] = Sentiment(text["sentiment"]).label if text["sentiment"] else ""
    context = {
        "survey": survey,
        "results": results,
        "phase_label": Phase(results.phase).label,
        "badge": PHASE_BADGES.get(results.phase),
        "can_manage": can_manage(request.user, survey),
        "charts": _charts(results),
        "anonymity_min": rules.ANONYMITY_MIN_RESPONSES,
        "problem": problem,
    }
    return render(request, "engagement/desk_results.html", context, status=status)


@login_required
@require_GET
def desk_survey_results(request: HttpRequest, survey_id: int) -> HttpResponse:
    return _results_page(request, _desk_survey(request, survey_id))


@login_required
@require_POST
def desk_survey_act(request: HttpRequest, survey_id: int, action: str) -> HttpResponse:
    """Publish or close from the results page; a refusal shows there with its status (409, 422)."""
    survey = _desk_survey(request, survey_id)
    if not can_manage(request.user, survey):
        raise PermissionDenied
    try:
        services.survey_transition(actor=request.user, survey_id=survey.id, action=action, now=clock.now())
    except DomainError as refusal:
        survey.refresh_from_db()
        return _results_page(request, survey, status=refusal.status, problem=refusal.message)
    messages.success(
        request,
        _("Published: the sample was invited.") if action == "publish" else _("Ended: no more answers are taken."),
    )
    return redirect("desk:surveys:results", survey_id=survey.id)


# ---------------------------------------------------------------- export


def _export_rows(survey: Survey, results: selectors.SurveyResults) -> dict[str, list[list]]:
    sheets: dict[str, list[list]] = {}
    sheets[_("Summary")] = [
        [_("Survey"), survey.title],
        [_("Kind"), survey.get_kind_display()],
        [_("Anonymous"), _("yes") if survey.anonymous else _("no")],
        [_("Opens at"), timezone.localtime(survey.opens_at, clock.local_tz()).strftime("%Y-%m-%d %H:%M")],
        [_("Closes at"), timezone.localtime(survey.closes_at, clock.local_tz()).strftime("%Y-%m-%d %H:%M")],
        [_("Invited"), results.invited],
        [_("Responses"), results.responses],
        [_("Response rate"), results.response_rate],
    ]
    if results.hidden:
        sheets[_("Summary")].append(
            [
                _("Answers hidden"),
                _("Fewer than %(n)s responses to an anonymous survey.") % {"n": rules.ANONYMITY_MIN_RESPONSES},
            ]
        )
        return sheets
    table = [[_("No."), _("Question"), _("Kind"), _("Answers"), _("Option / score"), _("Count"), _("Share")]]
    for item in results.questions:
        question = item.question
        head = [question.position, question.text, question.get_kind_display(), item.answered]
        if item.choices:
            for choice in item.choices:
                table.append([*head, choice.text, choice.count, choice.share])
        elif item.distribution:
            for score, count in item.distribution.items():
                table.append([*head, score, count, rules.rate(count, item.answered)])
            if item.mean is not None:
                table.append([*head, _("mean"), item.mean, None])
            if item.nps is not None and item.nps.score is not None:
                table.append([*head, "NPS", item.nps.score, None])
        else:
            table.append([*head, None, item.answered, None])
    sheets[_("Results")] = table
    texts = [
        [_("Question"), _("Text answer"), _("Dimensions"), _("Sentiment"), *([] if survey.anonymous else [_("By")])]
    ]
    for item in results.questions:
        for text in item.texts:
            texts.append(
                [
                    item.question.text,
                    text["text"],
                    ", ".join(_dimension_label(value) for value in text["dimensions"]),
                    str(Sentiment(text["sentiment"]).label) if text["sentiment"] else "",
                    *([] if survey.anonymous else [text["respondent"] or ""]),
                ]
            )
    sheets[_("Comments")] = texts
    sheets[_("Responses")] = _response_matrix(survey)
    return sheets


def _response_matrix(survey: Survey) -> list[list]:
    """One row per response, one column per question. An anonymous survey's rows carry no name and are ordered by
    their keyed hash, not by when they came in."""
    questions = list(survey.questions.order_by("position"))
    header = [_("Day") if survey.anonymous else _("Submitted at"), *(f"{q.position}. {q.text}" for q in questions)]
    if not survey.anonymous:
        header.insert(0, _("Respondent"))
    responses = Response.objects.filter(survey=survey).select_related("respondent")
    responses = responses.order_by("respondent_key") if survey.anonymous else responses.order_by("submitted_at")
    answers: dict[int, dict[int, str]] = {}
    for answer in Answer.objects.filter(response__survey=survey).prefetch_related("choices"):
        if answer.choices.all():
            value = "; ".join(choice.text for choice in answer.choices.all())
        elif answer.number is not None:
            value = answer.number
        else:
            value = answer.text
        answers.setdefault(answer.response_id, {})[answer.question_id] = value
    rows = [header]
    for response in responses:
        local = timezone.localtime(response.submitted_at, clock.local_tz())
        row = [local.strftime("%Y-%m-%d") if survey.anonymous else local.strftime("%Y-%m-%d %H:%M")]
        if not survey.anonymous:
            row.insert(0, response.respondent.display_name if response.respondent else "")
        row.extend(answers.get(response.id, {}).get(q.id, "") for q in questions)
        rows.append(row)
    return rows


@login_required
@require_GET
def desk_survey_export(request: HttpRequest, survey_id: int) -> HttpResponse:
    """The results as an Excel workbook: summary, results per question, comments, and one row per response."""
    from openpyxl import Workbook

    survey = _desk_survey(request, survey_id)
    results = selectors.survey_results(survey, now=clock.now(), texts_limit=None)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in _export_rows(survey, results).items():
        sheet = workbook.create_sheet(title=title[:31])
        for row in rows:
            sheet.append([_excel_safe(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    name = f"survey-{survey.id}-{slugify(survey.title) or 'results'}.xlsx"
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _excel_safe(value):
    """Owners' text goes into the workbook as text: a leading =, +, - or @ would make Excel run it as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


# ---------------------------------------------------------------- new yearly satisfaction survey


LOCAL_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class YearlySurveyForm(forms.Form):
    estate = forms.ModelChoiceField(queryset=Estate.objects.none(), label=gettext_lazy("Estate"))
    title = forms.CharField(max_length=120, label=gettext_lazy("Title"))
    opens_at = forms.DateTimeField(label=gettext_lazy("Opens at"), widget=LOCAL_DATETIME)
    closes_at = forms.DateTimeField(label=gettext_lazy("Closes at"), widget=LOCAL_DATETIME)
    anonymous = forms.BooleanField(required=False, initial=True, label=gettext_lazy("Anonymous"))
    sampling_rate = forms.DecimalField(
        min_value=0.001, max_value=1, decimal_places=3, initial=1, label=gettext_lazy("Sampling rate")
    )
    buildings = forms.ModelMultipleChoiceField(
        queryset=Building.objects.none(), required=False, label=gettext_lazy("Only these buildings")
    )
    grids = forms.ModelMultipleChoiceField(
        queryset=Grid.objects.none(), required=False, label=gettext_lazy("Only these grids")
    )

    def __init__(self, *args, estates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["estate"].queryset = estates
        self.fields["buildings"].queryset = Building.objects.filter(estate__in=estates).select_related("estate")
        self.fields["grids"].queryset = Grid.objects.filter(estate__in=estates).select_related("estate")
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs["class"] = "form-check-input"
            else:
                widget.attrs["class"] = "form-select" if isinstance(widget, forms.Select) else "form-control"


@login_required
@require_http_methods(["GET", "POST"])
def desk_survey_new(request: HttpRequest) -> HttpResponse:
    """A yearly satisfaction survey with the built-in questions (overall, the five dimensions, recommendation, a
    comment), as a draft to check and publish from its results page."""
    estate_ids = _require_survey_staff(request)
    estates = Estate.objects.filter(id__in=estate_ids).order_by("name")
    creatable = estates.filter(id__in=[estate.id for estate in estates if can_create_in(request.user, estate)])
    if not creatable.exists():
        raise PermissionDenied
    now = timezone.localtime(clock.now(), clock.local_tz())
    initial = {
        "estate": creatable.first(),
        "title": _("%(year)s owner satisfaction survey") % {"year": now.year},
        "opens_at": now.replace(second=0, microsecond=0),
        "closes_at": (now + dt.timedelta(days=30)).replace(second=0, microsecond=0),
    }
    form = YearlySurveyForm(request.POST or None, estates=creatable, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                survey = services.survey_create(
                    actor=request.user,
                    new=services.NewSurvey(
                        title=data["title"],
                        estate=data["estate"],
                        kind=SurveyKind.YEARLY_SATISFACTION,
                        anonymous=data["anonymous"],
                        opens_at=data["opens_at"],
                        closes_at=data["closes_at"],
                        sampling_rate=data["sampling_rate"],
                        building_ids=[building.id for building in data["buildings"]],
                        grid_ids=[grid.id for grid in data["grids"]],
                        questions=services.yearly_satisfaction_questions(),
                    ),
                    now=clock.now(),
                )
            except ValidationFailed as failure:
                for error in failure.errors:
                    field = {"building_ids": "buildings", "grid_ids": "grids"}.get(error.field, error.field)
                    form.add_error(field if field in form.fields else None, error.message)
            else:
                messages.success(request, _("Draft saved. Check it, then publish it."))
                return redirect("desk:surveys:results", survey_id=survey.id)
    return render(request, "engagement/desk_new.html", {"form": form}, status=status)


# ---------------------------------------------------------------- satisfaction index


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


STATUS_BADGES = {"good": "text-bg-success", "warn": "text-bg-warning", "bad": "text-bg-danger", "none": "text-bg-light"}


@login_required
@require_GET
def desk_satisfaction(request: HttpRequest) -> HttpResponse:
    """The satisfaction index by dimension for the year so far: every estate, one estate with its grids, a grid with
    its buildings, or one building; against the profile's target and last year; negative comments per dimension."""
    try:
        report = selectors.satisfaction_report(
            request.user,
            estate_id=request.GET.get("estate"),
            grid_id=request.GET.get("grid"),
            building_id=request.GET.get("building"),
            year=request.GET.get("year"),
            today=clock.today(),
        )
    except Forbidden:
        raise PermissionDenied from None
    except NotFound:
        raise Http404 from None
    except ValidationFailed as error:
        return render(request, "engagement/desk_error.html", {"message": error.message}, status=400)
    child_param = {"estate": "estate", "grid": "grid", "building": "building"}
    base = {"year": report.year}
    if report.estate:
        base["estate"] = report.estate.id
    if report.grid:
        base["grid"] = report.grid.id
    children = [
        {
            "line": child,
            "url": "?" + urlencode({**base, child_param[child.kind]: child.id}),
            "overall": _pct(child.overall),
            "cells": [_pct(child.dimensions[line.dimension]) for line in report.lines],
        }
        for child in report.children
    ]
    chart = {
        "dimensions": [line.label for line in report.lines],
        "this_year": [None if line.index is None else round(line.index, 1) for line in report.lines],
        "last_year": [None if line.last_year is None else round(line.last_year, 1) for line in report.lines],
        "target": report.target,
        "labels": {"this_year": str(report.year), "last_year": str(report.year - 1), "target": _("Target")},
    }
    context = {
        "report": report,
        "overall": _pct(report.overall),
        "overall_last_year": _pct(report.overall_last_year),
        "badge": STATUS_BADGES[report.status],
        "lines": [
            {"line": line, "index": _pct(line.index), "last_year": _pct(line.last_year)} for line in report.lines
        ],
        "children": children,
        "chart": chart,
        "years": list(range(clock.today().year, clock.today().year - 5, -1)),
        "base": base,
    }
    return render(request, "engagement/desk_satisfaction.html", context)


# ---------------------------------------------------------------- follow-ups


def _require_follow_up_user(request: HttpRequest) -> None:
    if not may_follow_up(request.user):
        raise PermissionDenied


@login_required
@require_GET
def desk_follow_ups(request: HttpRequest) -> HttpResponse:
    """My follow-ups: the open ones assigned to me or in the estates I oversee, the soonest due first; ?status=done
    lists the latest done."""
    _require_follow_up_user(request)
    status = FollowUpStatus.DONE if request.GET.get("status") == FollowUpStatus.DONE else FollowUpStatus.OPEN
    items = list(selectors.my_follow_ups(request.user, status=status)[:200])
    return render(
        request,
        "engagement/desk_follow_ups.html",
        {"items": items, "status": status, "now": clock.now(), "statuses": FollowUpStatus.choices},
    )


@login_required
@require_POST
def desk_follow_up_done(request: HttpRequest, follow_up_id: int) -> HttpResponse:
    """Record what was done (a note is required) and close the follow-up."""
    _require_follow_up_user(request)
    follow_up = selectors.follow_up_get(request.user, follow_up_id)
    try:
        services.follow_up_done(
            actor=request.user, follow_up_id=follow_up.id, note=request.POST.get("note", ""), now=clock.now()
        )
    except DomainError as error:
        items = list(selectors.my_follow_ups(request.user)[:200])
        return render(
            request,
            "engagement/desk_follow_ups.html",
            {
                "items": items,
                "status": FollowUpStatus.OPEN,
                "now": clock.now(),
                "statuses": FollowUpStatus.choices,
                "problem": error.message,
                "problem_id": follow_up.id,
            },
            status=error.status,
        )
    messages.success(request, _("Follow-up recorded."))
    return redirect("desk:surveys:follow_ups")
