"""Questionnaires (线上问卷): the survey with its questions and choices, who was invited, and the answers.

Anonymity: an anonymous survey's responses name nobody. `Response.respondent_key` is a keyed hash (HMAC-SHA256 with a
key derived from the installation's SECRET_KEY and the survey) of the person. It is there only so the database can
refuse a second response from the same person, and nothing readable by staff turns it back into the person.
`Response.respondent` is set only for named surveys.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from wuye.core.models import TimeStampedModel
from wuye.estates.models import Building, Company, Estate, Grid, Room
from wuye.workorders.models import WorkOrder

from .choices import (
    Dimension,
    FollowUpCause,
    FollowUpStatus,
    QuestionKind,
    Sentiment,
    SurveyAction,
    SurveyKind,
    SurveyStatus,
)


class Survey(TimeStampedModel):
    """A questionnaire the company or one estate puts to its owners: general, the yearly satisfaction survey, or the
    one-question survey after a closed work order. Targeting (estate, buildings, grids) and a sampling rate decide
    who is invited when it is published; its status changes only through `survey_transition` (services)."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="surveys", verbose_name=_("company"))
    estate = models.ForeignKey(
        Estate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="surveys",
        verbose_name=_("estate"),
        help_text=_("Empty: every estate of the company."),
    )
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=SurveyKind.choices, default=SurveyKind.GENERAL)
    status = models.CharField(_("status"), max_length=20, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT)
    anonymous = models.BooleanField(
        _("anonymous"), default=False, help_text=_("Staff never see who answered an anonymous survey.")
    )
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    target_buildings = models.ManyToManyField(
        Building, blank=True, related_name="targeted_surveys", verbose_name=_("buildings")
    )
    target_grids = models.ManyToManyField(Grid, blank=True, related_name="targeted_surveys", verbose_name=_("grids"))
    sampling_rate = models.DecimalField(
        _("sampling rate"),
        max_digits=4,
        decimal_places=3,
        default=1,
        validators=[MinValueValidator(0.001), MaxValueValidator(1)],
        help_text=_("Share of the targeted residents invited, e.g. 0.3; 1 invites everyone."),
    )
    sampling_seed = models.CharField(
        _("sampling seed"),
        max_length=32,
        blank=True,
        help_text=_("Fixed at publication: the same seed, the same sample."),
    )
    work_order = models.OneToOneField(
        WorkOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="after_order_survey",
        verbose_name=_("work order"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-opens_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="survey_closes_after_opening"),
            models.CheckConstraint(
                condition=Q(sampling_rate__gt=0) & Q(sampling_rate__lte=1), name="survey_sampling_rate_range"
            ),
            # The survey after an order is about one owner's one order: it cannot be anonymous, and it names it.
            models.CheckConstraint(
                condition=(Q(kind=SurveyKind.AFTER_ORDER) & Q(work_order__isnull=False) & Q(anonymous=False))
                | (~Q(kind=SurveyKind.AFTER_ORDER) & Q(work_order__isnull=True)),
                name="survey_after_order_names_its_order",
            ),
        ]
        indexes = [
            # The desk's survey list of one estate by status, and the owner's open surveys of their estates.
            models.Index(fields=["estate", "status", "closes_at"], name="survey_estate_status_idx"),
            # Company-wide surveys (estate empty) of a company.
            models.Index(fields=["company", "status"], name="survey_company_status_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class SurveyEvent(models.Model):
    """One thing that happened to a survey (created, published, closed): its timeline and audit trail."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="events", verbose_name=_("survey"))
    action = models.CharField(_("action"), max_length=20, choices=SurveyAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("at"))
    from_status = models.CharField(_("from"), max_length=20, choices=SurveyStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=SurveyStatus.choices)
    payload = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("survey event")
        verbose_name_plural = _("survey events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.survey_id} · {self.action} · {self.at:%Y-%m-%d %H:%M}"


class Question(models.Model):
    """One question of a survey. A satisfaction question carries the service dimension it measures."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions", verbose_name=_("survey"))
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=20, choices=QuestionKind.choices)
    text = models.CharField(_("question"), max_length=300)
    required = models.BooleanField(_("required"), default=True)
    dimension = models.CharField(_("dimension"), max_length=30, choices=Dimension.choices, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["survey_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "position"], name="question_position_unique_in_survey")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.text}"


class Choice(models.Model):
    """One option of a single- or multiple-choice question."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices", verbose_name=_("question"))
    position = models.PositiveSmallIntegerField(_("position"))
    text = models.CharField(_("text"), max_length=120)

    class Meta:
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        ordering = ["question_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["question", "position"], name="choice_position_unique_in_question")
        ]

    def __str__(self) -> str:
        return self.text


class Invitation(models.Model):
    """A person picked to answer a survey: targeted by where they live and kept by the sampling draw. It does not
    record whether they answered (for an anonymous survey that would name the respondents)."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("survey"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="survey_invitations", verbose_name=_("person")
    )
    room = models.ForeignKey(
        Room, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("room")
    )
    invited_at = models.DateTimeField(_("invited at"))
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [models.UniqueConstraint(fields=["survey", "user"], name="invitation_once_per_person")]
        indexes = [
            # "My surveys" in the portal: one person's invitations.
            models.Index(fields=["user", "survey"], name="invitation_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} · {self.user_id}"


class Response(models.Model):
    """One person's completed questionnaire; one per person per survey, enforced by the database.

    For an anonymous survey `respondent` is empty and `submitted_at` is cut to the day, so neither a name nor an exact
    time links the row to a person. `building` (the respondent's building) allows breakdowns, which results pages show
    only for groups large enough to keep answers anonymous."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses", verbose_name=_("survey"))
    respondent_key = models.CharField(_("respondent key"), max_length=64)
    respondent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("respondent"),
    )
    building = models.ForeignKey(
        Building, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("building")
    )
    submitted_at = models.DateTimeField(_("submitted at"))

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [
            # One response per person per survey, even when two submissions race.
            models.UniqueConstraint(fields=["survey", "respondent_key"], name="response_once_per_person"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} · {self.pk}"


class Answer(models.Model):
    """The answer to one question in one response: the chosen options, a number (scale 1–5, recommendation 0–10)
    or text. A text answer is sorted into service dimensions and a sentiment after it is stored."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers", verbose_name=_("response"))
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers", verbose_name=_("question"))
    choices = models.ManyToManyField(Choice, blank=True, related_name="answers", verbose_name=_("choices"))
    number = models.SmallIntegerField(_("score"), null=True, blank=True)
    text = models.TextField(_("text"), max_length=2000, blank=True)
    sentiment = models.CharField(_("sentiment"), max_length=20, choices=Sentiment.choices, blank=True)
    dimensions = models.JSONField(_("dimensions"), default=list, blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="answer_once_per_question"),
            models.CheckConstraint(
                condition=Q(number__isnull=True) | (Q(number__gte=0) & Q(number__lte=10)), name="answer_number_range"
            ),
        ]
        indexes = [
            # Results: the numbers given to one question (mean, distribution, NPS).
            models.Index(fields=["question", "number"], name="answer_question_number_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.response_id} · {self.question_id}"


class FollowUp(TimeStampedModel):
    """A follow-up (跟进) on an unhappy owner: a low rating, an unsatisfied return visit or a low answer to the
    survey after an order opens one for the grid leader of the order's grid (`assignee`; empty when the grid has no
    leader, and then the estate's supervisors handle it). The leader calls the owner back and records what was done.
    One per order and cause, enforced by the database. Anonymous survey answers never open one."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("estate"))
    grid = models.ForeignKey(
        Grid, on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_ups", verbose_name=_("grid")
    )
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("work order")
    )
    cause = models.CharField(_("cause"), max_length=30, choices=FollowUpCause.choices)
    status = models.CharField(_("status"), max_length=20, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("grid leader"),
    )
    score = models.SmallIntegerField(_("score"), null=True, blank=True)
    detail = models.CharField(_("what the owner said"), max_length=500, blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("due at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )
    note = models.TextField(_("what was done"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["status", "due_at", "id"]
        constraints = [
            # Idempotence: a retried hook or a second low rating of the same order opens nothing more.
            models.UniqueConstraint(fields=["work_order", "cause"], name="follow_up_once_per_order_and_cause"),
            models.CheckConstraint(
                condition=Q(status=FollowUpStatus.OPEN, done_at__isnull=True)
                | Q(status=FollowUpStatus.DONE, done_at__isnull=False),
                name="follow_up_done_has_time",
            ),
        ]
        indexes = [
            # "My follow-ups": one leader's open ones by due time.
            models.Index(fields=["assignee", "status", "due_at"], name="follow_up_assignee_idx"),
            # The supervisors' view of an estate's follow-ups by due time.
            models.Index(fields=["estate", "status", "due_at"], name="follow_up_estate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.work_order_id} · {self.cause}"
