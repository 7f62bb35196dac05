"""Every write of the appraisal: computing a month's scores (the monthly job), nominating and deciding 服务之星, and
opening accountability records (问责记录) after repeated SLA breaches.

All are idempotent. A month is claimed by its AppraisalRun row, so two schedulers never compute it twice; recomputing
a month by hand replaces its scores but never a decided star. An accountability record takes breaches no other
record holds, under a lock on the estate row, so running the scan again opens nothing new.
"""

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wuye.accounts.choices import Role
from wuye.accounts.models import User
from wuye.core import clock
from wuye.core.errors import DomainError, ErrorCollector, Forbidden
from wuye.estates.models import Company, Estate

from . import rules, selectors, texts
from .choices import StarStatus
from .models import AccountabilityRecord, AppraisalRun, AppraisalScore, ServiceStar
from .permissions import can_decide_star

CITATION_MAX = 300


class StarAlreadyDecided(DomainError):
    status = 409
    code = "already_decided"


# ---------------------------------------------------------------------------------------------------- scores
@transaction.atomic
def appraisal_compute(*, estate: Estate, month: dt.date, now: dt.datetime) -> int:
    """Compute (or recompute) every score of one estate for one month from the event data, store the snapshots
    with their breakdowns, record the run and nominate the month's 服务之星. Returns how many people were scored."""
    month = month.replace(day=1)
    facts = selectors.month_facts(estate, month, now=now)
    posts = selectors.posts_for(estate, facts)
    weights = selectors.weights_for(estate.company_id)
    policy = selectors.policy_for(estate.company_id)
    rows = []
    for person_id, person_facts in sorted(facts.items()):
        post = posts.get(person_id)
        if post is None:
            continue
        score, lines = rules.appraisal_score(
            person_facts, weights.get(post, {}), complaint_penalty=policy.complaint_penalty
        )
        if score is None:
            continue
        rows.append(
            AppraisalScore(
                estate=estate,
                month=month,
                person_id=person_id,
                post=post,
                score=score,
                volume=person_facts.volume,
                components=[line.as_dict() for line in lines],
                computed_at=now,
            )
        )
    AppraisalScore.objects.filter(estate=estate, month=month).delete()
    AppraisalScore.objects.bulk_create(rows)
    AppraisalRun.objects.update_or_create(
        estate=estate, month=month, defaults={"computed_at": now, "people": len(rows)}
    )
    star_nominate(estate=estate, month=month, now=now)
    return len(rows)


def appraisal_run_due(*, now: dt.datetime) -> int:
    """The monthly job: appraise last month in every active estate that has not been appraised yet. Each estate is
    claimed by inserting its AppraisalRun row in the transaction that computes it: a second scheduler blocks on the
    unique row and then skips it. Returns how many estates were appraised."""
    month = rules.previous_month(_local_date(now))
    done = 0
    pending = Estate.objects.filter(is_active=True).exclude(appraisal_runs__month=month).order_by("id")
    for estate in pending.select_related("company"):
        try:
            with transaction.atomic():
                AppraisalRun.objects.create(estate=estate, month=month, computed_at=now)
                appraisal_compute(estate=estate, month=month, now=now)
        except IntegrityError:
            continue  # another worker claimed it
        done += 1
    return done


def _local_date(now: dt.datetime) -> dt.date:
    return now.astimezone(clock.local_tz()).date()


# ---------------------------------------------------------------------------------------------------- 服务之星
def star_nominate(*, estate: Estate, month: dt.date, now: dt.datetime) -> ServiceStar | None:
    """Nominate the month's 服务之星 from the scores (rules.nominate). A decided star stays; an undecided nomination
    follows the current scores; people rejected this month are not nominated again."""
    with transaction.atomic():
        Estate.objects.select_for_update().filter(pk=estate.pk).first()  # one nomination at a time per estate
        stars = list(ServiceStar.objects.filter(estate=estate, month=month))
        if any(star.status == StarStatus.CONFIRMED for star in stars):
            return next(star for star in stars if star.status == StarStatus.CONFIRMED)
        rejected = [star.person_id for star in stars if star.status == StarStatus.REJECTED]
        policy = selectors.policy_for(estate.company_id)
        scores = {row.person_id: row for row in AppraisalScore.objects.filter(estate=estate, month=month)}
        chosen = rules.nominate(
            [rules.Candidate(person_id=row.person_id, score=row.score, volume=row.volume) for row in scores.values()],
            min_volume=policy.star_min_volume,
            excluded=rejected,
        )
        open_star = next((star for star in stars if star.status == StarStatus.NOMINATED), None)
        if open_star is not None and (chosen is None or open_star.person_id != chosen.person_id):
            open_star.delete()
            open_star = None
        if chosen is None:
            return None
        row = scores[chosen.person_id]
        with translation.override(settings.LANGUAGE_CODE):
            why = texts.citation(score=row.score, components=row.components)
        if open_star is not None:
            open_star.score, open_star.volume, open_star.citation, open_star.post = row.score, row.volume, why, row.post
            open_star.save(update_fields=["score", "volume", "citation", "post", "updated_at"])
            return open_star
        return ServiceStar.objects.create(
            estate=estate,
            month=month,
            person_id=row.person_id,
            post=row.post,
            score=row.score,
            volume=row.volume,
            citation=why,
            nominated_at=now,
        )


def star_decide(
    *, actor: User, star_id: int, confirm: bool, reason: str = "", citation: str = "", now: dt.datetime | None = None
) -> ServiceStar:
    """The project manager confirms a nomination (optionally rewording why) or rejects it with a reason; after a
    rejection the next person in the ranking is nominated. The confirmed star is told."""
    now = now or clock.now()
    with transaction.atomic():
        star = ServiceStar.objects.select_for_update().select_related("estate").get(pk=star_id)
        if not can_decide_star(actor, star):
            raise Forbidden(_("Only the project manager confirms or rejects a 服务之星."))
        if star.status != StarStatus.NOMINATED:
            raise StarAlreadyDecided(
                _("This nomination was already %(status)s.") % {"status": StarStatus(star.status).label}
            )
        errors = ErrorCollector()
        reason, citation = (reason or "").strip(), (citation or "").strip()
        if not confirm and not reason:
            errors.add("reason", "required", _("Say why the nomination is rejected."))
        if len(reason) > CITATION_MAX:
            errors.add("reason", "too_long", _("At most 300 characters."))
        if len(citation) > CITATION_MAX:
            errors.add("citation", "too_long", _("At most 300 characters."))
        errors.raise_if_any(_("The decision could not be recorded."))
        star.status = StarStatus.CONFIRMED if confirm else StarStatus.REJECTED
        star.decided_by, star.decided_at = actor, now
        fields = ["status", "decided_by", "decided_at", "updated_at"]
        if confirm and citation:
            star.citation = citation
            fields.append("citation")
        if not confirm:
            star.reason = reason
            fields.append("reason")
        star.save(update_fields=fields)
        if confirm:
            _tell_star(star)
        else:
            star_nominate(estate=star.estate, month=star.month, now=now)
    return star


def _tell_star(star: ServiceStar) -> None:
    from wuye.notifications.services import notify, text_later  # noqa: PLC0415 - notifications is optional at import

    notify(
        recipient=star.person,
        kind="appraisal.star",
        title=text_later(gettext_lazy("You are the service star of %(month)s"), month=f"{star.month:%Y-%m}"),
        body=text_later(gettext_lazy("%(estate)s: %(why)s"), estate=star.estate.name, why=star.citation),
        link="/desk/appraisal/stars/",
        estate=star.estate,
        dedupe_key=f"appraisal-star:{star.id}",
    )


# ---------------------------------------------------------------------------------------------------- accountability
def accountability_scan(*, now: dt.datetime) -> int:
    """Open an accountability record for everyone with at least the policy's number of SLA breaches in its rolling
    window that no record holds yet, and tell the estate's supervisors. Returns how many records were opened."""
    opened = 0
    for estate in Estate.objects.filter(is_active=True).select_related("company").order_by("id"):
        opened += accountability_scan_estate(estate=estate, now=now)
    return opened


@transaction.atomic
def accountability_scan_estate(*, estate: Estate, now: dt.datetime) -> int:
    Estate.objects.select_for_update().filter(pk=estate.pk).first()  # scans of one estate take turns
    policy = selectors.policy_for(estate.company_id)
    since = now - dt.timedelta(days=policy.breach_window_days)
    breaches = selectors.breaches_since(estate, since, now)
    if not breaches:
        return 0
    covered = [
        item["key"]
        for breaches_json in AccountabilityRecord.objects.filter(estate=estate, opened_at__gte=since).values_list(
            "breaches", flat=True
        )
        for item in breaches_json
    ]
    due = rules.accountability_due(breaches, covered, threshold=policy.breach_threshold, since=since)
    opened = 0
    for person_id, found in sorted(due.items()):
        try:
            with transaction.atomic():
                record = AccountabilityRecord.objects.create(
                    estate=estate,
                    person_id=person_id,
                    opened_at=now,
                    window_start=since,
                    breach_count=len(found),
                    threshold=policy.breach_threshold,
                    breaches=[
                        {
                            "key": b.key,
                            "order_id": b.order_id,
                            "number": b.number,
                            "step": b.step,
                            "due_at": b.at.isoformat(),
                        }
                        for b in found
                    ],
                    last_breach_key=found[-1].key,
                )
        except IntegrityError:
            continue
        _tell_supervisors(record, estate)
        opened += 1
    return opened


def _tell_supervisors(record: AccountabilityRecord, estate: Estate) -> None:
    from wuye.notifications.services import notify, text_later  # noqa: PLC0415 - notifications is optional at import

    person = User.objects.get(pk=record.person_id)
    recipients = list(
        User.objects.filter(is_active=True, memberships__estate=estate, memberships__role=Role.SUPERVISOR).distinct()
    ) or list(
        User.objects.filter(is_active=True, memberships__estate=estate, memberships__role=Role.MANAGER).distinct()
    )
    for recipient in recipients:
        notify(
            recipient=recipient,
            kind="appraisal.accountability",
            title=text_later(
                gettext_lazy("Accountability: %(name)s missed %(count)s SLA deadlines"),
                name=person.display_name,
                count=record.breach_count,
            ),
            body=text_later(
                gettext_lazy("%(estate)s: %(orders)s"),
                estate=estate.name,
                orders=", ".join(item["number"] for item in record.breaches),
            ),
            link=f"/desk/appraisal/people/{record.estate_id}/{record.person_id}/",
            estate=estate,
            dedupe_key=f"accountability:{record.id}:{recipient.id}",
        )


# ---------------------------------------------------------------------------------------------------- demo
def seed_appraisal(*, company: Company, now: dt.datetime) -> dict:
    """Demo: appraise last month in every estate of the company from whatever history it has, and confirm the first
    estate's nomination as its manager would. Idempotent (a month already appraised is recomputed, a decided star
    stays)."""
    month = rules.previous_month(_local_date(now))
    result = {"month": month, "scored": 0, "confirmed": None}
    estates = list(company.estates.filter(is_active=True).order_by("id"))
    for estate in estates:
        result["scored"] += appraisal_compute(estate=estate, month=month, now=now)
    accountability_scan(now=now)
    for estate in estates:
        star = ServiceStar.objects.filter(estate=estate, month=month, status=StarStatus.NOMINATED).first()
        manager = (
            User.objects.filter(memberships__estate=estate, memberships__role=Role.MANAGER, is_active=True)
            .order_by("id")
            .first()
        )
        if star is not None and manager is not None:
            result["confirmed"] = star_decide(actor=manager, star_id=star.id, confirm=True, now=now)
            break
    return result
