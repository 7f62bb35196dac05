"""GET /api/v1/appraisal/scores (an estate's ranking for a month), GET /api/v1/appraisal/scores/{id} (one person's
breakdown), GET /api/v1/appraisal/stars, POST /api/v1/appraisal/stars/{id}/confirm and …/reject.

Supervisors, project managers and company administrators read their estates' scores; other staff only their own
breakdown (someone else's: 403); only managers and company administrators decide a nomination (other staff 403);
owners see confirmed stars of their estates. Another estate answers 404; a malformed month or post 422 naming it.
"""

from django.utils.translation import gettext as _
from ninja import Query, Router

from wuye.core.errors import FieldError, ValidationFailed

from . import selectors, services, texts
from .choices import Post
from .models import AppraisalScore, ServiceStar
from .schemas import BreakdownOut, ConfirmIn, RejectIn, ScoreFilters, ScoreListOut, StarFilters, StarOut

router = Router(tags=["appraisal"])


def _person(user) -> dict:
    return {"id": user.id, "name": user.display_name}


def components_out(score: AppraisalScore) -> list[dict]:
    return [
        {**line, "label": texts.component_label(line["code"]), "text": texts.raw_text(line)}
        for line in score.components
    ]


def star_out(star: ServiceStar) -> dict:
    return {
        "id": star.id,
        "estate_id": star.estate_id,
        "estate_name": star.estate.name,
        "month": f"{star.month:%Y-%m}",
        "person": _person(star.person),
        "post_label": selectors.post_label(star.post),
        "score": star.score,
        "citation": star.citation,
        "status": star.status,
        "reason": star.reason,
    }


@router.get("/appraisal/scores", response=ScoreListOut, summary="An estate's appraisal ranking for a month")
def score_list(request, filters: Query[ScoreFilters]):
    estate = selectors.estate_for_reading(request.user, filters.estate)
    if filters.post and filters.post not in Post.values:
        message = _("Must be one of: %(choices)s.") % {"choices": ", ".join(Post.values)}
        raise ValidationFailed(message, errors=[FieldError("post", "invalid", message)])
    month = selectors.parse_month(filters.month) if filters.month else selectors.default_month([estate.id])
    rows = selectors.ranking(estate, month, post=filters.post)
    return {
        "estate_id": estate.id,
        "month": f"{month:%Y-%m}",
        "scores": [
            {
                "id": row.id,
                "person": _person(row.person),
                "post": row.post,
                "post_label": selectors.post_label(row.post),
                "score": row.score,
                "volume": row.volume,
                "rank": row.rank,
                "post_rank": row.post_rank,
            }
            for row in rows
        ],
    }


@router.get("/appraisal/scores/{score_id}", response=BreakdownOut, summary="Why one person got their score")
def score_breakdown(request, score_id: int):
    score = selectors.score_get(request.user, score_id)
    records = selectors.accountability_for(score.estate_id, score.person_id)
    return {
        "id": score.id,
        "estate_id": score.estate_id,
        "month": f"{score.month:%Y-%m}",
        "person": _person(score.person),
        "post": score.post,
        "post_label": selectors.post_label(score.post),
        "score": score.score,
        "volume": score.volume,
        "components": components_out(score),
        "accountability": [
            {
                "id": record.id,
                "opened_at": record.opened_at,
                "breach_count": record.breach_count,
                "threshold": record.threshold,
                "orders": [item["number"] for item in record.breaches],
            }
            for record in records
        ],
    }


@router.get("/appraisal/stars", response=list[StarOut], summary="服务之星 the caller may see, newest month first")
def star_list(request, filters: Query[StarFilters]):
    month = selectors.parse_month(filters.month) if filters.month else None
    return [star_out(star) for star in selectors.stars_for(request.user, estate_id=filters.estate, month=month)[:200]]


@router.post("/appraisal/stars/{star_id}/confirm", response=StarOut, summary="Confirm a 服务之星 nomination")
def star_confirm(request, star_id: int, payload: ConfirmIn | None = None):
    star = selectors.star_get(request.user, star_id, to_decide=True)
    citation = payload.citation if payload is not None else ""
    star = services.star_decide(actor=request.user, star_id=star.id, confirm=True, citation=citation or "")
    return star_out(ServiceStar.objects.select_related("estate", "person").get(pk=star.pk))


@router.post("/appraisal/stars/{star_id}/reject", response=StarOut, summary="Reject a nomination, with a reason")
def star_reject(request, star_id: int, payload: RejectIn):
    star = selectors.star_get(request.user, star_id, to_decide=True)
    star = services.star_decide(actor=request.user, star_id=star.id, confirm=False, reason=payload.reason)
    return star_out(ServiceStar.objects.select_related("estate", "person").get(pk=star.pk))
