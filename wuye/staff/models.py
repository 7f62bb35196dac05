"""Staff: who works for the company, in which post, with which skills, licences and shifts."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wuye.accounts.models import User
from wuye.core.models import TimeStampedModel
from wuye.estates.models import Company, Estate

from .choices import CertificateKind, Post, Skill


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
