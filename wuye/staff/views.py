"""Appraisal pages. Desk: the ranking of an estate for a month (supervisors, managers, company administrators; other
staff are sent to their own), "my appraisal", one person's breakdown, a person's accountability records, and the
服务之星 nominations with confirm / reject for the project manager. Portal: the confirmed stars of the owner's
estates.

Not visible → 404; visible but not allowed → 403; a malformed month or post → 400 naming it. Forms work without
JavaScript.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from wuye.accounts.choices import RESIDENT_ROLES, STAFF_ROLES
from wuye.accounts.selectors import estate_ids_with_roles
from wuye.core.errors import DomainError, FieldError, Forbidden, NotFound, ValidationFailed
from wuye.estates.models import Estate

from . import selectors, services, texts
from .choices import Post, StarStatus
from .models import AppraisalScore
from .permissions import appraisal_estate_ids, can_decide_star, can_see_accountability, is_staff_in


def _require_staff(request: HttpRequest) -> list[int]:
    estate_ids = estate_ids_with_roles(request.user, STAFF_ROLES)
    if not estate_ids:
        raise PermissionDenied
    return estate_ids


def _bad_request(request: HttpRequest, error: ValidationFailed) -> HttpResponse:
    return render(request, "staff/error.html", {"message": error.message}, status=400)


def _lines(score: AppraisalScore) -> list[dict]:
    return [
        {**line, "label": texts.component_label(line["code"]), "text": texts.raw_text(line)}
        for line in score.components
    ]


@login_required
@require_GET
def ranking_page(request: HttpRequest) -> HttpResponse:
    """An estate's scores for a month, best first, with each person's rank in the estate and among their post."""
    _require_staff(request)
    readable = appraisal_estate_ids(request.user)
    if not readable and not request.GET.get("estate"):
        return redirect("desk:appraisal:mine")  # the desk link, for staff who read only their own
    try:
        estate_id = request.GET.get("estate") or min(readable)
        try:
            estate = selectors.estate_for_reading(request.user, int(estate_id))
        except ValueError:
            raise NotFound("") from None
        month = (
            selectors.parse_month(request.GET["month"])
            if request.GET.get("month")
            else selectors.default_month([estate.id])
        )
        post = request.GET.get("post") or ""
        if post and post not in Post.values:
            message = _("post must be one of the posts listed.")
            raise ValidationFailed(message, errors=[FieldError("post", "invalid", message)])
    except NotFound:
        raise Http404 from None
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    except ValidationFailed as error:
        return _bad_request(request, error)
    rows = selectors.ranking(estate, month, post=post or None)
    star = (
        selectors.stars_for(request.user, estate_id=estate.id, month=month).exclude(status=StarStatus.REJECTED).first()
    )
    context = {
        "estate": estate,
        "estates": selectors.staff_estates_for_appraisal(request.user),
        "month": month,
        "post": post,
        "posts": Post.choices,
        "rows": [{"score": row, "post_label": selectors.post_label(row.post)} for row in rows],
        "star": star,
    }
    return render(request, "staff/ranking.html", context)


@login_required
@require_GET
def my_appraisal(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    scores = list(selectors.my_scores(request.user)[:36])
    rows = [{"score": score, "post_label": selectors.post_label(score.post)} for score in scores]
    return render(request, "staff/mine.html", {"rows": rows})


@login_required
@require_GET
def breakdown_page(request: HttpRequest, score_id: int) -> HttpResponse:
    """Exactly why one person got their score: every line's raw numbers, normalised score, weight, share and
    contribution (the contributions add up to the score), and their accountability records."""
    _require_staff(request)
    try:
        score = selectors.score_get(request.user, score_id)
    except NotFound:
        raise Http404 from None
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    lines = _lines(score)
    context = {
        "score": score,
        "post_label": selectors.post_label(score.post),
        "counted": [line for line in lines if line["counted"]],
        "left_out": [line for line in lines if not line["counted"]],
        "records": selectors.accountability_for(score.estate_id, score.person_id),
        "can_read_estate": score.estate_id in appraisal_estate_ids(request.user),
    }
    return render(request, "staff/breakdown.html", context)


@login_required
@require_GET
def person_page(request: HttpRequest, estate_id: int, person_id: int) -> HttpResponse:
    """A person's appraisal in an estate (the link of an accountability notice): their latest breakdown, or their
    accountability records when they have no score yet."""
    _require_staff(request)
    if not is_staff_in(request.user, estate_id):
        raise Http404
    if not can_see_accountability(request.user, estate_id, person_id):
        raise PermissionDenied
    latest = AppraisalScore.objects.filter(estate_id=estate_id, person_id=person_id).order_by("-month").first()
    if latest is not None:
        return redirect("desk:appraisal:breakdown", score_id=latest.id)
    records = selectors.accountability_for(estate_id, person_id)
    if not records:
        raise Http404
    context = {"records": records, "person": records[0].person, "estate": Estate.objects.get(pk=estate_id)}
    return render(request, "staff/person.html", context)


@login_required
@require_GET
def star_list_page(request: HttpRequest) -> HttpResponse:
    """服务之星 of my estates: nominations waiting for the project manager, and the stars confirmed or rejected."""
    _require_staff(request)
    stars = list(selectors.stars_for(request.user)[:100])
    rows = [
        {
            "star": star,
            "post_label": selectors.post_label(star.post),
            "can_decide": star.status == StarStatus.NOMINATED and can_decide_star(request.user, star),
        }
        for star in stars
    ]
    return render(request, "staff/stars.html", {"rows": rows})


@login_required
@require_POST
def star_decide_page(request: HttpRequest, star_id: int, decision: str) -> HttpResponse:
    _require_staff(request)
    try:
        star = selectors.star_get(request.user, star_id, to_decide=True)
        services.star_decide(
            actor=request.user,
            star_id=star.id,
            confirm=decision == "confirm",
            reason=request.POST.get("reason", ""),
            citation=request.POST.get("citation", ""),
        )
    except NotFound:
        raise Http404 from None
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    except DomainError as error:
        detail = "; ".join(e.message for e in error.errors) or error.message
        return render(request, "staff/error.html", {"message": detail}, status=error.status)
    if decision == "confirm":
        messages.success(request, _("%(name)s is confirmed as 服务之星.") % {"name": star.person.display_name})
    else:
        messages.info(request, _("The nomination was rejected."))
    return redirect("desk:appraisal:stars")


# ---------------------------------------------------------------------------------------------------- portal
@login_required
@require_GET
def portal_stars(request: HttpRequest) -> HttpResponse:
    """The confirmed 服务之星 of the estates I live in: name, post, month and why."""
    home_estates = estate_ids_with_roles(request.user, RESIDENT_ROLES)
    if not home_estates:
        raise PermissionDenied
    stars = [
        {"star": star, "post_label": selectors.post_label(star.post)}
        for star in selectors.stars_for(request.user, confirmed_only=True).filter(estate_id__in=home_estates)[:48]
    ]
    return render(request, "staff/portal_stars.html", {"stars": stars})
