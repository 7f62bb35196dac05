"""Staff: who works for the company, in which post, with which skills, licences and shifts."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wuye.accounts.models import User
from wuye.core.models import TimeStampedModel
from wuye.estates.models import Company, Estate

from .choices import CertificateKind, Post, Skill, StarStatus


class StaffProfile(TimeStampedModel):
    """A member of staff (员工): the employment facts. Which estates they work in comes from their memberships."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="staff_profile", verbose_name=_("user"))
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="staff", verbose_name=_("company"))
    employee_no = models.CharField(_("employee number"), max_length=30)
    post = models.CharField(_("post"), max_length=30, choices=Post.choices)
    hired_on = models.DateField(_("hired on"), null=True, blank=True)
    is_on_call = models.BooleanField(
        _("on call for emergencies"), default=False, help_text=_("May be dispatched emergencies outside shifts.")
    )

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        constraints = [
            models.UniqueConstraint(fields=["company", "employee_no"], name="staff_employee_no_unique_in_company")
        ]

    def __str__(self) -> str:
        return f"{self.user.display_name} ({self.get_post_display()})"


class StaffSkill(models.Model):
    """A skill a staff member has, at a level (1 basic, 2 skilled, 3 expert)."""

    staff = models.ForeignKey(StaffProfile, on_delete=models.CASCADE, related_name="skills", verbose_name=_("staff"))
    skill = models.CharField(_("skill"), max_length=30, choices=Skill.choices)
    level = models.PositiveSmallIntegerField(
        _("level"), default=2, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        constraints = [models.UniqueConstraint(fields=["staff", "skill"], name="staff_skill_unique")]
        indexes = [
            # Dispatch: who in the company has skill X.
            models.Index(fields=["skill", "staff"], name="staffskill_skill_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.staff} · {self.get_skill_display()}"


class Certificate(TimeStampedModel):
    """A licence or certificate (证书) held by a staff member; an expired one blocks work that requires it."""

    staff = models.ForeignKey(
        StaffProfile, on_delete=models.CASCADE, related_name="certificates", verbose_name=_("staff")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=CertificateKind.choices)
    number = models.CharField(_("certificate number"), max_length=50)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="certificate_number_unique_per_kind"),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True)
                | Q(issued_on__isnull=True)
                | Q(expires_on__gte=models.F("issued_on")),
                name="certificate_expires_after_issue",
            ),
        ]
        indexes = [
            # Expiry reminders and dispatch eligibility: certificates of a kind expiring before a date.
            models.Index(fields=["kind", "expires_on"], name="certificate_kind_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class Shift(TimeStampedModel):
    """A shift pattern in an estate (早班 08:00–17:00 Mon–Fri, 夜班 20:00–08:00 daily…)."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="shifts", verbose_name=_("estate"))
    name = models.CharField(_("name"), max_length=30)
    start_time = models.TimeField(_("starts at"))
    end_time = models.TimeField(_("ends at"), help_text=_("Not after the start means the shift crosses midnight."))
    weekdays = models.JSONField(
        _("weekdays"), default=list, help_text=_("ISO weekday numbers the shift starts on: 1 = Monday … 7 = Sunday.")
    )

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        constraints = [models.UniqueConstraint(fields=["estate", "name"], name="shift_name_unique_in_estate")]

    def __str__(self) -> str:
        return f"{self.name} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class ShiftAssignment(models.Model):
    """A staff member works a shift from one date until another (open-ended when `ends_on` is empty)."""

    staff = models.ForeignKey(
        StaffProfile, on_delete=models.CASCADE, related_name="shift_assignments", verbose_name=_("staff")
    )
    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("shift"))
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("shift assignment")
        verbose_name_plural = _("shift assignments")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="shiftassignment_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.staff} · {self.shift}"


# ---------------------------------------------------------------------------------------------------------- appraisal


def _weight(label) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(label, default=0, validators=[MaxValueValidator(100)])


class AppraisalPolicy(TimeStampedModel):
    """A company's appraisal settings (考核办法): who may become 服务之星 and when repeated SLA breaches open an
    accountability record (问责). Without a row the defaults of the fields apply."""

    company = models.OneToOneField(
        Company, on_delete=models.CASCADE, related_name="appraisal_policy", verbose_name=_("company")
    )
    star_min_volume = models.PositiveSmallIntegerField(
        _("minimum work for 服务之星"),
        default=10,
        help_text=_("Orders finished, patrols, tasks and inspections in the month a nominee must have at least."),
    )
    breach_threshold = models.PositiveSmallIntegerField(
        _("SLA breaches that open an accountability record"), default=3, validators=[MinValueValidator(1)]
    )
    breach_window_days = models.PositiveSmallIntegerField(
        _("counted over (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    complaint_penalty = models.PositiveSmallIntegerField(
        _("points lost per complaint attributed"), default=20, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    complaint_window_days = models.PositiveSmallIntegerField(
        _("complaint attributed to work finished within (days)"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )

    class Meta:
        verbose_name = _("appraisal policy")
        verbose_name_plural = _("appraisal policies")

    def __str__(self) -> str:
        return str(self.company)


class AppraisalWeights(TimeStampedModel):
    """How much each part of the monthly score counts for one post (岗位) in a company. Weights are relative: a part
    without data for a person is left out and the others are scaled up to 100 %. Missing rows use the defaults of
    staff.rules.DEFAULT_WEIGHTS."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="appraisal_weights", verbose_name=_("company")
    )
    post = models.CharField(_("post"), max_length=30, choices=Post.choices)
    sla_on_time = _weight(_("steps on time"))
    rating = _weight(_("owner ratings"))
    visit = _weight(_("satisfied at return visit"))
    reopen = _weight(_("not reopened"))
    spot_check = _weight(_("quality spot checks"))
    patrol = _weight(_("patrols completed"))
    planned_work = _weight(_("tasks and inspections done"))
    complaints = _weight(_("complaints attributed"))

    class Meta:
        verbose_name = _("appraisal weights")
        verbose_name_plural = _("appraisal weights")
        ordering = ["company_id", "post"]
        constraints = [models.UniqueConstraint(fields=["company", "post"], name="appraisalweights_one_per_post")]

    def __str__(self) -> str:
        return f"{self.company} · {self.get_post_display()}"


class AppraisalScore(models.Model):
    """One person's appraisal for one month in one estate (月度考核): the score and, in `components`, every part's raw
    numbers, normalised score, weight and contribution — a snapshot, so later changes of weights or data never
    rewrite a past month. Recomputing a month replaces its rows."""

    estate = models.ForeignKey(
        Estate, on_delete=models.CASCADE, related_name="appraisal_scores", verbose_name=_("estate")
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appraisal_scores", verbose_name=_("person")
    )
    post = models.CharField(_("post"), max_length=30, choices=Post.choices)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    volume = models.PositiveIntegerField(_("work done"), default=0)
    components = models.JSONField(_("breakdown"), default=list)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("appraisal score")
        verbose_name_plural = _("appraisal scores")
        ordering = ["estate_id", "month", "-score", "person_id"]
        constraints = [
            models.UniqueConstraint(fields=["estate", "month", "person"], name="appraisalscore_one_per_person_month"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="appraisalscore_0_to_100"),
        ]
        indexes = [
            # A person's own scores, newest month first ("my appraisal").
            models.Index(fields=["person", "month"], name="appraisalscore_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.month:%Y-%m} {self.score}"


class AppraisalRun(models.Model):
    """That a month of an estate has been appraised (by the monthly job or by hand): the job's claim, so two
    schedulers never compute the same month twice, and the record of when."""

    estate = models.ForeignKey(
        Estate, on_delete=models.CASCADE, related_name="appraisal_runs", verbose_name=_("estate")
    )
    month = models.DateField(_("month"))
    computed_at = models.DateTimeField(_("computed at"))
    people = models.PositiveIntegerField(_("people scored"), default=0)

    class Meta:
        verbose_name = _("appraisal run")
        verbose_name_plural = _("appraisal runs")
        constraints = [models.UniqueConstraint(fields=["estate", "month"], name="appraisalrun_one_per_month")]

    def __str__(self) -> str:
        return f"{self.estate_id} {self.month:%Y-%m}"


class ServiceStar(TimeStampedModel):
    """A 服务之星 (service star) of an estate for a month: nominated from the scores, then confirmed or rejected (with a
    reason) by the project manager. Owners see the confirmed ones. At most one nomination of a month is open or
    confirmed at a time; a rejection lets the next person in the ranking be nominated."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="service_stars", verbose_name=_("estate"))
    month = models.DateField(_("month"))
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_stars", verbose_name=_("person")
    )
    post = models.CharField(_("post"), max_length=30, choices=Post.choices)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    volume = models.PositiveIntegerField(_("work done"), default=0)
    citation = models.CharField(_("why"), max_length=300)
    status = models.CharField(_("status"), max_length=20, choices=StarStatus.choices, default=StarStatus.NOMINATED)
    nominated_at = models.DateTimeField(_("nominated at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("reason for rejecting"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("service star")
        verbose_name_plural = _("service stars")
        ordering = ["-month", "estate_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["estate", "month", "person"], name="servicestar_once_per_person_month"),
            models.UniqueConstraint(
                fields=["estate", "month"],
                condition=Q(status__in=["nominated", "confirmed"]),
                name="servicestar_one_open_per_month",
            ),
        ]
        indexes = [
            # The portal: an estate's confirmed stars, newest month first.
            models.Index(fields=["estate", "status", "month"], name="servicestar_estate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.estate_id} {self.month:%Y-%m} {self.person_id} {self.status}"


class AccountabilityRecord(TimeStampedModel):
    """An accountability record (问责记录): a person had at least the policy's number of SLA breaches attributed to them
    within its rolling window. `breaches` lists them ([{"key", "order_id", "number", "step", "due_at"}]); a breach
    belongs to one record only, so the scan that opens records may run any number of times."""

    estate = models.ForeignKey(
        Estate, on_delete=models.CASCADE, related_name="accountability_records", verbose_name=_("estate")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="accountability_records",
        verbose_name=_("person"),
    )
    opened_at = models.DateTimeField(_("opened at"))
    window_start = models.DateTimeField(_("counted from"))
    breach_count = models.PositiveSmallIntegerField(_("breaches"))
    threshold = models.PositiveSmallIntegerField(_("threshold"))
    breaches = models.JSONField(_("breaches"), default=list)
    last_breach_key = models.CharField(max_length=80)

    class Meta:
        verbose_name = _("accountability record")
        verbose_name_plural = _("accountability records")
        ordering = ["-opened_at", "-id"]
        constraints = [
            # Two scans at once cannot open the same record twice: the same newest breach closes the same set.
            models.UniqueConstraint(
                fields=["estate", "person", "last_breach_key"], name="accountability_once_per_breach_set"
            )
        ]
        indexes = [
            # The scan and the breakdown: a person's recent records in an estate.
            models.Index(fields=["estate", "person", "opened_at"], name="accountability_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.opened_at:%Y-%m-%d} ({self.breach_count})"
