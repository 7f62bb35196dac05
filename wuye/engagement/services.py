"""Every write about questionnaires: create, publish and close a survey, invite the sample, take a response, and the
one-question survey after a closed work order.

Who may call what is the caller's check (api.py, views); these functions check the data and the survey's state.
"""

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wuye.accounts.choices import Role
from wuye.accounts.models import Membership, Residency, User
from wuye.core import clock
from wuye.core.errors import DomainError, ErrorCollector, FieldError, Forbidden, ValidationFailed
from wuye.estates.models import Building, Company, Estate, Grid
from wuye.notifications import services as notification_services
from wuye.workorders.choices import Status as OrderStatus
from wuye.workorders.models import WorkOrder

from . import rules
from .choices import (
    CHOICE_KINDS,
    TRANSITIONS,
    Dimension,
    FollowUpCause,
    FollowUpStatus,
    Phase,
    QuestionKind,
    SurveyAction,
    SurveyKind,
    SurveyStatus,
)
from .models import Answer, Choice, FollowUp, Invitation, Question, Response, Survey, SurveyEvent

AFTER_ORDER_OPEN_FOR = dt.timedelta(days=7)
MAX_QUESTIONS = 50
MAX_CHOICES = 20
NOTIFY_BATCH = 500


class SurveyStateError(DomainError):
    """The survey is not in a state that allows this (not open yet, closed, already published …)."""

    status = 409
    code = "invalid_state"


class AlreadyAnswered(SurveyStateError):
    code = "already_answered"


@dataclass(frozen=True)
class QuestionSpec:
    kind: str
    text: str
    required: bool = True
    dimension: str = ""
    choices: tuple[str, ...] = ()


@dataclass
class NewSurvey:
    """What a survey is created from (the API's body, the desk's form or a built-in template)."""

    title: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    questions: Sequence[QuestionSpec]
    estate: Estate | None = None
    company: Company | None = None
    kind: str = SurveyKind.GENERAL
    description: str = ""
    anonymous: bool = False
    sampling_rate: Decimal | str | float = Decimal(1)
    building_ids: Sequence[int] = field(default_factory=list)
    grid_ids: Sequence[int] = field(default_factory=list)


# ---------------------------------------------------------------- create


def _check_questions(errors: ErrorCollector, questions: Sequence[QuestionSpec]) -> None:
    if not questions:
        errors.add("questions", "required", _("A survey needs at least one question."))
    if len(questions) > MAX_QUESTIONS:
        errors.add("questions", "too_many", _("At most %(max)s questions.") % {"max": MAX_QUESTIONS})
    for index, question in enumerate(questions):
        prefix = f"questions.{index}"
        if question.kind not in QuestionKind.values:
            errors.add(f"{prefix}.kind", "invalid", _("Choose one of: %(kinds)s.") % {"kinds": ", ".join(QuestionKind)})
        if not question.text.strip():
            errors.add(f"{prefix}.text", "required", _("Write the question."))
        elif len(question.text) > Question._meta.get_field("text").max_length:
            errors.add(f"{prefix}.text", "too_long", _("At most 300 characters."))
        if question.dimension and question.dimension not in Dimension.values:
            errors.add(f"{prefix}.dimension", "invalid", _("Choose one of: %(dims)s.") % {"dims": ", ".join(Dimension)})
        choices = [text.strip() for text in question.choices]
        if question.kind in CHOICE_KINDS:
            if not 2 <= len(choices) <= MAX_CHOICES:
                errors.add(f"{prefix}.choices", "count", _("Give 2 to %(max)s options.") % {"max": MAX_CHOICES})
            elif any(not text or len(text) > 120 for text in choices):
                errors.add(f"{prefix}.choices", "invalid", _("Every option needs a text of at most 120 characters."))
            elif len(set(choices)) != len(choices):
                errors.add(f"{prefix}.choices", "duplicate", _("Two options have the same text."))
        elif choices:
            errors.add(f"{prefix}.choices", "not_allowed", _("Only choice questions have options."))


def _sampling_rate(errors: ErrorCollector, value) -> Decimal:
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError):
        rate = Decimal(-1)
    if not (Decimal(0) < rate <= Decimal(1)) or rate != rate.quantize(Decimal("0.001")):
        errors.add("sampling_rate", "out_of_range", _("Give a share above 0 and at most 1, e.g. 0.3."))
        return Decimal(1)
    return rate.quantize(Decimal("0.001"))


@transaction.atomic
def survey_create(*, actor, new: NewSurvey, now: dt.datetime | None = None) -> Survey:
    """A draft survey with its questions and targeting, after checking every field at once."""
    now = now or clock.now()
    errors = ErrorCollector()
    company = new.estate.company if new.estate is not None else new.company
    if company is None:
        errors.add("estate_id", "required", _("Choose an estate, or the whole company."))
    title = new.title.strip()
    if not title:
        errors.add("title", "required", _("Give the survey a title."))
    elif len(title) > Survey._meta.get_field("title").max_length:
        errors.add("title", "too_long", _("At most 120 characters."))
    if len(new.description) > 2000:
        errors.add("description", "too_long", _("At most 2000 characters."))
    if new.kind not in (SurveyKind.GENERAL, SurveyKind.YEARLY_SATISFACTION):
        errors.add("kind", "not_allowed", _("Surveys after an order are created when the order closes."))
    if timezone.is_naive(new.opens_at) or timezone.is_naive(new.closes_at):
        errors.add("opens_at", "naive", _("Give times with their time zone."))
    elif new.closes_at <= new.opens_at:
        errors.add("closes_at", "before_opening", _("The survey must close after it opens."))
    rate = _sampling_rate(errors, new.sampling_rate)
    buildings: list[Building] = []
    grids: list[Grid] = []
    if (new.building_ids or new.grid_ids) and new.estate is None:
        errors.add("building_ids", "needs_estate", _("Target buildings or grids within one estate."))
    elif new.estate is not None:
        buildings = list(Building.objects.filter(estate=new.estate, id__in=set(new.building_ids)))
        grids = list(Grid.objects.filter(estate=new.estate, id__in=set(new.grid_ids)))
        if len(buildings) != len(set(new.building_ids)):
            errors.add("building_ids", "not_in_estate", _("Choose buildings of this estate."))
        if len(grids) != len(set(new.grid_ids)):
            errors.add("grid_ids", "not_in_estate", _("Choose grids of this estate."))
    _check_questions(errors, new.questions)
    errors.raise_if_any(_("The survey has problems; nothing was saved."))

    survey = Survey.objects.create(
        company=company,
        estate=new.estate,
        title=title,
        description=new.description.strip(),
        kind=new.kind,
        anonymous=new.anonymous,
        opens_at=new.opens_at,
        closes_at=new.closes_at,
        sampling_rate=rate,
        created_by=actor,
    )
    survey.target_buildings.set(buildings)
    survey.target_grids.set(grids)
    _questions_create(survey, new.questions)
    SurveyEvent.objects.create(
        survey=survey, action=SurveyAction.CREATE, actor=actor, at=now, to_status=SurveyStatus.DRAFT
    )
    return survey


def _questions_create(survey: Survey, specs: Sequence[QuestionSpec]) -> None:
    questions = Question.objects.bulk_create(
        Question(
            survey=survey,
            position=position,
            kind=spec.kind,
            text=spec.text.strip(),
            required=spec.required,
            dimension=spec.dimension,
        )
        for position, spec in enumerate(specs, start=1)
    )
    Choice.objects.bulk_create(
        Choice(question=question, position=position, text=text.strip())
        for question, spec in zip(questions, specs, strict=True)
        for position, text in enumerate(spec.choices, start=1)
    )


# The yearly satisfaction survey: overall, one 1–5 question per service dimension, a recommendation and a comment.
YEARLY_DIMENSION_QUESTIONS = {
    Dimension.CLEANING: gettext_lazy("How satisfied are you with cleaning (corridors, rubbish, public areas)?"),
    Dimension.GREENING: gettext_lazy("How satisfied are you with greening (lawns, trees, flowers)?"),
    Dimension.SECURITY: gettext_lazy("How satisfied are you with order and security (gates, patrols, parking)?"),
    Dimension.ENGINEERING: gettext_lazy("How satisfied are you with repairs and facilities (lifts, water, power)?"),
    Dimension.CUSTOMER_SERVICE: gettext_lazy("How satisfied are you with customer service (replies, complaints)?"),
}


def yearly_satisfaction_questions() -> list[QuestionSpec]:
    """The built-in question set of the yearly satisfaction survey, in the active language."""
    return [
        QuestionSpec(QuestionKind.SCALE, _("Overall, how satisfied are you with the property service this year?")),
        *(
            QuestionSpec(QuestionKind.SCALE, str(text), dimension=dim)
            for dim, text in YEARLY_DIMENSION_QUESTIONS.items()
        ),
        QuestionSpec(QuestionKind.NPS, _("How likely are you to recommend our property service to a friend (0–10)?")),
        QuestionSpec(QuestionKind.TEXT, _("What should we do better? (optional)"), required=False),
    ]


# ---------------------------------------------------------------- publish and close


def _events_create(survey: Survey, action: str, actor, now: dt.datetime, old: str, payload: dict | None = None):
    SurveyEvent.objects.create(
        survey=survey,
        action=action,
        actor=actor,
        at=now,
        from_status=old,
        to_status=survey.status,
        payload=payload or {},
    )


def _publish_problems(survey: Survey, now: dt.datetime) -> ErrorCollector:
    errors = ErrorCollector()
    if not survey.questions.exists():
        errors.add("questions", "required", _("A survey needs at least one question."))
    if survey.closes_at <= now:
        errors.add("closes_at", "in_the_past", _("The closing time has passed; set a later one."))
    return errors


@transaction.atomic
def survey_transition(*, actor, survey_id: int, action: str, now: dt.datetime) -> Survey:
    """Publish or close a survey: lock it, check the move against TRANSITIONS, write the event. Publishing fixes
    the sampling seed and invites the sample; owners are told after the commit."""
    survey = Survey.objects.select_for_update().get(pk=survey_id)
    allowed_from, target = TRANSITIONS[action]
    if survey.status not in allowed_from:
        raise SurveyStateError(
            _("A survey that is “%(status)s” cannot be changed like this.") % {"status": survey.get_status_display()}
        )
    old = survey.status
    payload: dict = {}
    if action == SurveyAction.PUBLISH:
        _publish_problems(survey, now).raise_if_any(_("The survey cannot be published yet."))
        survey.status, survey.published_at = target, now
        survey.sampling_seed = survey.sampling_seed or secrets.token_hex(8)
        survey.save(update_fields=["status", "published_at", "sampling_seed", "updated_at"])
        payload["invited"] = invitations_generate(survey=survey, now=now)
        _notify_after_commit(survey.id)
    else:
        survey.status, survey.closed_at = target, now
        survey.save(update_fields=["status", "closed_at", "updated_at"])
    _events_create(survey, action, actor, now, old, payload)
    return survey


def survey_publish(*, actor, survey_id: int, now: dt.datetime) -> Survey:
    return survey_transition(actor=actor, survey_id=survey_id, action=SurveyAction.PUBLISH, now=now)


def survey_close(*, actor, survey_id: int, now: dt.datetime) -> Survey:
    return survey_transition(actor=actor, survey_id=survey_id, action=SurveyAction.CLOSE, now=now)


# ---------------------------------------------------------------- invitations


def targeted_residencies(survey: Survey, today: dt.date) -> QuerySet[Residency]:
    """Residencies current on `today` in the survey's target: the company's (or one estate's) active estates, then
    the chosen buildings and the buildings of the chosen grids, if any were chosen."""
    residencies = (
        Residency.objects.filter(room__estate__company_id=survey.company_id, room__estate__is_active=True)
        .filter(Q(move_in_on__isnull=True) | Q(move_in_on__lte=today))
        .filter(Q(move_out_on__isnull=True) | Q(move_out_on__gt=today))
        .filter(user__is_active=True)
    )
    if survey.estate_id is not None:
        residencies = residencies.filter(room__estate_id=survey.estate_id)
    building_ids = list(survey.target_buildings.values_list("id", flat=True))
    grid_ids = list(survey.target_grids.values_list("id", flat=True))
    if building_ids or grid_ids:
        residencies = residencies.filter(
            Q(room__building_id__in=building_ids) | Q(room__building__grid_id__in=grid_ids)
        )
    return residencies


@transaction.atomic
def invitations_generate(*, survey: Survey, now: dt.datetime) -> int:
    """Invite everyone targeted whom the sampling draw keeps (one invitation per person, through their first room).
    Deterministic: the same seed, rate and residents give the same people. Safe to repeat: people already invited
    are left as they are, and residents who moved in since may be added. Returns how many were added."""
    if not survey.sampling_seed:
        raise SurveyStateError(_("A survey is sampled when it is published."))
    today = timezone.localdate(now, clock.local_tz())
    first_room: dict[int, int] = {}
    for user_id, room_id in (
        targeted_residencies(survey, today).order_by("user_id", "room_id").values_list("user_id", "room_id")
    ):
        first_room.setdefault(user_id, room_id)
    picked = [
        Invitation(survey=survey, user_id=user_id, room_id=room_id, invited_at=now)
        for user_id, room_id in first_room.items()
        if rules.is_sampled(survey.sampling_seed, user_id, survey.sampling_rate)
    ]
    before = Invitation.objects.filter(survey=survey).count()
    Invitation.objects.bulk_create(picked, ignore_conflicts=True, batch_size=1000)
    return Invitation.objects.filter(survey=survey).count() - before


def _notify_after_commit(survey_id: int) -> None:
    from .tasks import notify_invitees

    transaction.on_commit(lambda: notify_invitees.enqueue(survey_id=survey_id))


def invitations_notify(*, survey_id: int, now: dt.datetime) -> int:
    """Tell invited people, in their portal inbox, that a survey waits for them. Idempotent: each invitation is
    notified once (its notified_at, and the notification's de-duplication key)."""
    survey = Survey.objects.select_related("estate").get(pk=survey_id)
    if rules.survey_phase(survey.status, survey.opens_at, survey.closes_at, now) == Phase.CLOSED:
        return 0
    told = 0
    pending = Invitation.objects.filter(survey=survey, notified_at__isnull=True).select_related("user")
    for invitation in pending.order_by("id")[:NOTIFY_BATCH]:
        with transaction.atomic():
            notification_services.notify(
                recipient=invitation.user,
                kind="survey.invited",
                title=notification_services.text_later(gettext_lazy("Survey: %(title)s"), title=survey.title),
                body=notification_services.text_later(
                    gettext_lazy("Please answer by %(closes_at)s. Thank you!"), closes_at=survey.closes_at
                ),
                link=reverse("portal:surveys:answer", kwargs={"survey_id": survey.id}),
                estate=survey.estate,
                channels=(),
                dedupe_key=f"survey-invitation:{invitation.id}",
            )
            Invitation.objects.filter(pk=invitation.pk).update(notified_at=now)
        told += 1
    return told


# ---------------------------------------------------------------- responses


def _respondent_secret() -> bytes:
    """The key of the respondent hashes, derived from SECRET_KEY so it is never stored in the database. Rotating
    SECRET_KEY while a survey is open lets people who answered before the rotation answer once more."""
    return hashlib.sha256(f"wuye.engagement.respondent:{settings.SECRET_KEY}".encode()).digest()


def respondent_key_for(survey: Survey, user) -> str:
    return rules.respondent_key(_respondent_secret(), survey.id, user.id)


def has_answered(survey: Survey, user) -> bool:
    return key_has_answered(survey, respondent_key_for(survey, user))


def key_has_answered(survey: Survey, key: str) -> bool:
    """The friendly early check; the unique constraint on (survey, respondent_key) is what actually guarantees it."""
    return Response.objects.filter(survey=survey, respondent_key=key).exists()


def _refuse_unless_open(survey: Survey, now: dt.datetime) -> None:
    phase = rules.survey_phase(survey.status, survey.opens_at, survey.closes_at, now)
    if phase == Phase.CLOSED:
        raise SurveyStateError(_("This survey is closed and takes no more answers."), code="survey_closed")
    if phase != Phase.OPEN:
        raise SurveyStateError(_("This survey is not open yet."), code="survey_not_open")


def question_rules(survey: Survey) -> list[rules.QuestionRule]:
    return [
        rules.QuestionRule(
            id=question.id,
            position=question.position,
            kind=question.kind,
            text=question.text,
            required=question.required,
            choice_ids=frozenset(choice.id for choice in question.choices.all()),
        )
        for question in survey.questions.prefetch_related("choices").order_by("position")
    ]


@transaction.atomic
def response_submit(*, user, survey: Survey, answers: Mapping[int, object], now: dt.datetime) -> Response:
    """Take one person's answers: the survey must be open, the person invited and not yet answered, and every
    answer valid (all problems at once, each naming its question). One response per person is also the database's
    rule, so two submissions racing each other store one and refuse the other."""
    _refuse_unless_open(survey, now)
    invitation = Invitation.objects.filter(survey=survey, user=user).select_related("room").first()
    if invitation is None:
        raise Forbidden(_("You were not invited to this survey."), code="not_targeted")
    key = respondent_key_for(survey, user)
    if key_has_answered(survey, key):
        raise AlreadyAnswered(_("You have already answered this survey."))
    clean, problems = rules.check_answers(question_rules(survey), answers)
    if problems:
        raise ValidationFailed(
            _("Some answers are not valid."),
            errors=[FieldError(field=f"answers.{p.question_id}", code=p.code, message=p.message) for p in problems],
        )
    try:
        with transaction.atomic():  # a savepoint: the losing side of a race gets a clear answer, not a 500
            response = Response.objects.create(
                survey=survey,
                respondent_key=key,
                respondent=None if survey.anonymous else user,
                building_id=invitation.room.building_id if invitation.room else None,
                submitted_at=rules.day_start(now, clock.local_tz()) if survey.anonymous else now,
            )
    except IntegrityError:
        raise AlreadyAnswered(_("You have already answered this survey.")) from None
    rows = Answer.objects.bulk_create(
        Answer(response=response, question_id=a.question_id, number=a.number, text=a.text) for a in clean
    )
    links = [
        Answer.choices.through(answer_id=row.id, choice_id=choice_id)
        for row, a in zip(rows, clean, strict=True)
        for choice_id in a.choice_ids
    ]
    Answer.choices.through.objects.bulk_create(links)
    if any(a.text for a in clean):
        _classify_after_commit(response.id)
    if survey.kind == SurveyKind.AFTER_ORDER and not survey.anonymous and survey.work_order_id:
        _follow_up_for_low_answer(survey, clean, now)
    return response


def _follow_up_for_low_answer(survey: Survey, clean: Sequence[rules.CleanAnswer], now: dt.datetime) -> None:
    """A 1 or 2 in the (named) survey after an order opens a follow-up. Anonymous surveys never do: a follow-up
    names the order and so the person; their low answers only count in the index."""
    low = [a.number for a in clean if rules.answer_is_low(a.number)]
    if not low:
        return
    detail = " ".join(a.text for a in clean if a.text)
    order = WorkOrder.objects.select_related("grid__leader", "estate").get(pk=survey.work_order_id)
    follow_up_open(order=order, cause=FollowUpCause.LOW_SURVEY_ANSWER, score=min(low), detail=detail, now=now)


def _classify_after_commit(response_id: int) -> None:
    from .tasks import classify_text_answers

    transaction.on_commit(lambda: classify_text_answers.enqueue(response_id=response_id))


def text_answers_classify(*, response_id: int) -> int:
    """Sort a response's text answers into service dimensions and a sentiment (comments.classify). Idempotent."""
    from .comments import classify

    done = 0
    for answer in Answer.objects.filter(response_id=response_id, sentiment="").exclude(text=""):
        verdict = classify(answer.text)
        answer.sentiment = verdict.sentiment
        answer.dimensions = list(verdict.dimensions)
        answer.save(update_fields=["sentiment", "dimensions"])
        done += 1
    return done


# ---------------------------------------------------------------- after a work order


def order_dimension(order: WorkOrder) -> str:
    """The service dimension a work order's survey question measures (rules.order_dimension: complaints and
    inquiries are customer service, otherwise the skill its category needs, else engineering)."""
    return rules.order_dimension(order.kind, order.category.required_skill or "")


def after_order_survey_invite(*, order: WorkOrder, now: dt.datetime | None = None) -> Survey | None:
    """The one-question survey after a closed work order: "how satisfied are you with this service?" (1–5), open
    for AFTER_ORDER_OPEN_FOR, sent to the person who reported it. Call it when an order closes. Returns the survey,
    the existing one when called again for the same order, or None when there is nobody to ask (no reporter, an
    inactive account, or the order is not closed)."""
    now = now or clock.now()
    reporter = order.reporter
    if order.status != OrderStatus.CLOSED or reporter is None or not reporter.is_active:
        return None
    existing = Survey.objects.filter(work_order=order).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return _after_order_create(order, reporter, now)
    except IntegrityError:
        # Another caller created it at the same moment (the order is unique on the survey).
        return Survey.objects.get(work_order=order)


def _after_order_create(order: WorkOrder, reporter, now: dt.datetime) -> Survey:
    with translation.override(notification_services.recipient_language(reporter)):
        title = _("Your opinion on order %(number)s") % {"number": order.number}
        question = _("How satisfied are you with how this request was handled?")
    survey = Survey.objects.create(
        company_id=order.estate.company_id,
        estate_id=order.estate_id,
        title=title,
        kind=SurveyKind.AFTER_ORDER,
        status=SurveyStatus.PUBLISHED,
        anonymous=False,
        opens_at=now,
        closes_at=now + AFTER_ORDER_OPEN_FOR,
        published_at=now,
        sampling_rate=Decimal(1),
        sampling_seed=secrets.token_hex(8),
        work_order=order,
    )
    _questions_create(survey, [QuestionSpec(QuestionKind.SCALE, question, dimension=order_dimension(order))])
    Invitation.objects.create(survey=survey, user=reporter, room_id=order.room_id, invited_at=now)
    SurveyEvent.objects.create(
        survey=survey,
        action=SurveyAction.PUBLISH,
        at=now,
        to_status=SurveyStatus.PUBLISHED,
        payload={"work_order": order.number, "invited": 1},
    )
    _notify_after_commit(survey.id)
    return survey


# ---------------------------------------------------------------- follow-ups on low scores


class FollowUpDone(SurveyStateError):
    code = "already_done"


def follow_up_recipients(order: WorkOrder) -> list[User]:
    """Who is told about a follow-up on the order: its grid's leader, or when the grid has none (or the order is in
    no grid, or the leader's account is disabled) the estate's supervisors."""
    grid = order.grid
    if grid is not None and grid.leader is not None and grid.leader.is_active:
        return [grid.leader]
    ids = Membership.objects.filter(estate_id=order.estate_id, role=Role.SUPERVISOR).values("user_id")
    return list(User.objects.filter(id__in=ids, is_active=True).order_by("id"))


def follow_up_open(*, order: WorkOrder, cause: str, now: dt.datetime, score: int | None = None, detail: str = ""):
    """Open the follow-up of an order for a cause, assigned to the grid leader (none: the estate's supervisors
    share it), due FOLLOW_UP_DUE_AFTER later, and tell them through the notification outbox in the same
    transaction. Idempotent: an order has at most one follow-up per cause (the database's rule too); calling again
    returns the existing one and notifies nobody."""
    existing = FollowUp.objects.filter(work_order=order, cause=cause).first()
    if existing is not None:
        return existing
    recipients = follow_up_recipients(order)
    grid = order.grid
    leader = grid.leader if grid is not None and grid.leader is not None and grid.leader.is_active else None
    try:
        with transaction.atomic():  # a savepoint: a racing twin leaves the caller's transaction usable
            follow_up = FollowUp.objects.create(
                estate_id=order.estate_id,
                grid_id=order.grid_id,
                work_order=order,
                cause=cause,
                assignee=leader,
                score=score,
                detail=(detail or "")[:500],
                opened_at=now,
                due_at=rules.follow_up_due(now),
            )
    except IntegrityError:
        return FollowUp.objects.get(work_order=order, cause=cause)
    for recipient in recipients:
        notification_services.notify(
            recipient=recipient,
            kind="followup.opened",
            title=notification_services.text_later(
                gettext_lazy("Follow up order %(number)s: %(cause)s"),
                number=order.number,
                cause=FollowUpCause(cause).label,
            ),
            body=notification_services.text_later(
                gettext_lazy("Please call the owner back and record what you did by %(due_at)s."),
                due_at=follow_up.due_at,
            ),
            link=reverse("desk:surveys:follow_ups"),
            estate=order.estate,
            dedupe_key=f"follow-up:{follow_up.id}",
        )
    return follow_up


def follow_up_after_order_event(*, order: WorkOrder, action: str, payload: dict, now: dt.datetime) -> None:
    """Called by the work-order service after every move (workorders.services._after_move): a low rating (not
    satisfied, not fixed, or 1–2 of 5) or an unsatisfied return visit opens a follow-up."""
    if action == "rate" and rules.rating_is_low(payload.get("verdict"), payload.get("score")):
        score = payload.get("score") if isinstance(payload.get("score"), int) else None
        follow_up_open(
            order=order, cause=FollowUpCause.LOW_RATING, score=score, detail=order.rating_comment or "", now=now
        )
    elif action == "visit" and payload.get("satisfied") is False:
        follow_up_open(order=order, cause=FollowUpCause.UNSATISFIED_VISIT, detail=payload.get("note") or "", now=now)


@transaction.atomic
def follow_up_done(*, actor, follow_up_id: int, note: str, now: dt.datetime) -> FollowUp:
    """The grid leader (or a supervisor) records what was done: a note is required; a follow-up is done once."""
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up_id)
    if follow_up.status != FollowUpStatus.OPEN:
        raise FollowUpDone(_("This follow-up is already done."))
    note = (note or "").strip()
    errors = ErrorCollector()
    if not note:
        errors.add("note", "required", _("Write what you did (called the owner, what was agreed)."))
    elif len(note) > 1000:
        errors.add("note", "too_long", _("At most 1000 characters."))
    errors.raise_if_any(_("The follow-up could not be recorded."))
    follow_up.status, follow_up.note, follow_up.done_at, follow_up.done_by = FollowUpStatus.DONE, note, now, actor
    follow_up.save(update_fields=["status", "note", "done_at", "done_by", "updated_at"])
    return follow_up


# ---------------------------------------------------------------- demo


DEMO_COMMENTS = {
    "negative": (
        "楼道垃圾经常没人清理，味道很大",
        "电梯老是坏，报修了好几次还没修好",
        "晚上外来车辆随便进出，保安不怎么管",
        "草坪好久没修剪了，杂草很多",
        "客服电话经常打不通，投诉也没人回复",
        "地下车库灯坏了很久没人修",
    ),
    "positive": (
        "保洁阿姨很勤快，楼道很干净",
        "维修师傅上门很及时，态度也好",
        "小区绿化做得很漂亮",
        "保安巡逻很认真，晚上很安心",
    ),
}


def satisfaction_seed(*, estates: Sequence[Estate], now: dt.datetime, seed: int = 2026) -> int:
    """The demo's yearly satisfaction surveys: for each estate one of last year and one of this year, anonymous,
    sampled at 30 %, answered by about 70 % of the invited owners through `response_submit` (so every answer is
    stored as an owner's would be) and ended; this year's scores a little better than last year's, the level-1
    estate better than the level-2 one. Text answers are classified at once. Idempotent: an estate that already has
    a yearly survey is skipped. Returns the number of responses."""
    import random

    rng = random.Random(seed)
    created = 0
    for estate_index, estate in enumerate(estates):
        if Survey.objects.filter(estate=estate, kind=SurveyKind.YEARLY_SATISFACTION).exists():
            continue
        for years_ago in (1, 0):
            opens_at = now - dt.timedelta(days=365 * years_ago + 40)
            closes_at = opens_at + dt.timedelta(days=21)
            with translation.override("zh-hans"):
                questions = yearly_satisfaction_questions()
                title = _("Yearly satisfaction survey %(year)s") % {"year": opens_at.year}
            survey = survey_create(
                actor=None,
                new=NewSurvey(
                    title=title,
                    estate=estate,
                    kind=SurveyKind.YEARLY_SATISFACTION,
                    anonymous=True,
                    sampling_rate=Decimal("0.3"),
                    opens_at=opens_at,
                    closes_at=closes_at,
                    questions=questions,
                ),
                now=opens_at - dt.timedelta(days=1),
            )
            survey = survey_publish(actor=None, survey_id=survey.id, now=opens_at - dt.timedelta(hours=1))
            rows = list(survey.questions.order_by("position"))
            # Level-1 estate and this year: owners a little happier; greening and customer service lag behind.
            base = 0.78 + 0.06 * (1 - estate_index) + 0.05 * (1 - years_ago)
            lean = {Dimension.GREENING: -0.08, Dimension.CUSTOMER_SERVICE: -0.05, Dimension.CLEANING: 0.03}
            invitations = survey.invitations.select_related("user").order_by("id")
            for number, invitation in enumerate(invitations):
                if rng.random() > 0.7:
                    continue
                raw: dict[int, object] = {}
                for question in rows:
                    if question.kind == QuestionKind.SCALE:
                        happy = rng.random() < base + lean.get(question.dimension, 0)
                        raw[question.id] = rng.choice((4, 5, 5)) if happy else rng.choice((1, 2, 3, 3))
                    elif question.kind == QuestionKind.NPS:
                        raw[question.id] = rng.choice((6, 7, 8, 9, 9, 10))
                    elif rng.random() < 0.25:
                        tone = "negative" if rng.random() < 0.55 else "positive"
                        raw[question.id] = rng.choice(DEMO_COMMENTS[tone])
                at = opens_at + dt.timedelta(hours=2 + number % 400)
                response = response_submit(user=invitation.user, survey=survey, answers=raw, now=min(at, closes_at))
                text_answers_classify(response_id=response.id)
                created += 1
            survey_close(actor=None, survey_id=survey.id, now=closes_at)
    return created
