"""People and access: users, their roles per estate, who lives in which room, API tokens and sign-in failures."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wuye.core.models import TimeStampedModel
from wuye.core.validators import mask_phone, validate_id_number, validate_phone
from wuye.estates.models import Company, Estate, Room

from .choices import Relation, Role


class User(AbstractUser):
    """Anyone who signs in: an owner, a resident or a member of staff. Roles come from memberships, not from here."""

    name = models.CharField(_("full name"), max_length=50, blank=True)
    phone = models.CharField(
        _("mobile phone"), max_length=11, unique=True, null=True, blank=True, validators=[validate_phone]
    )
    id_number = models.CharField(
        _("ID number"),
        max_length=18,
        blank=True,
        validators=[validate_id_number],
        help_text=_("Resident ID card number; shown masked everywhere except the person's own profile."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.get_full_name() or self.username

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class Membership(TimeStampedModel):
    """A role a user holds in one estate. A company administrator's membership names the company and no estate:
    it covers every estate of the company, including ones added later."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user"))
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("company")
    )
    estate = models.ForeignKey(
        Estate, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships", verbose_name=_("estate")
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "estate", "role"], condition=Q(estate__isnull=False), name="membership_unique_in_estate"
            ),
            models.UniqueConstraint(
                fields=["user", "company", "role"], condition=Q(estate__isnull=True), name="membership_unique_company"
            ),
            models.CheckConstraint(
                condition=(Q(role=Role.COMPANY_ADMIN) & Q(estate__isnull=True))
                | (~Q(role=Role.COMPANY_ADMIN) & Q(estate__isnull=False)),
                name="membership_company_admin_has_no_estate",
            ),
        ]
        indexes = [
            # estates_visible(user) and the role checks: all memberships of one user.
            models.Index(fields=["user", "role"], name="membership_user_role_idx"),
            # Staff lists of an estate by role (dispatch candidates, grid leaders).
            models.Index(fields=["estate", "role"], name="membership_estate_role_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.estate or self.company}"


class Residency(TimeStampedModel):
    """A person's link to a room: owner, family member or tenant, from move-in to move-out (None while living there)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="residencies", verbose_name=_("person"))
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="residencies", verbose_name=_("room"))
    relation = models.CharField(_("relation"), max_length=20, choices=Relation.choices, default=Relation.OWNER)
    move_in_on = models.DateField(_("moved in on"), null=True, blank=True)
    move_out_on = models.DateField(_("moved out on"), null=True, blank=True)

    class Meta:
        verbose_name = _("residency")
        verbose_name_plural = _("residencies")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "room"], condition=Q(move_out_on__isnull=True), name="residency_one_current_per_room"
            ),
            models.CheckConstraint(
                condition=Q(move_out_on__isnull=True)
                | Q(move_in_on__isnull=True)
                | Q(move_out_on__gte=models.F("move_in_on")),
                name="residency_move_out_after_move_in",
            ),
        ]
        indexes = [
            # "My rooms" for an owner, and owner look-up by room on the desk.
            models.Index(fields=["user", "move_out_on"], name="residency_user_idx"),
            models.Index(fields=["room", "move_out_on"], name="residency_room_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.room} · {self.get_relation_display()}"


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the token itself is shown once, when issued."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("prefix"), max_length=8, help_text=_("The token's first characters, to tell it apart."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class LoginFailure(models.Model):
    """One failed sign-in. Recent rows per account and per address throttle further attempts (see services)."""

    identifier = models.CharField(max_length=150)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("failed sign-in")
        verbose_name_plural = _("failed sign-ins")
        indexes = [
            # Counting recent failures for one account, and for one address.
            models.Index(fields=["identifier", "at"], name="loginfailure_ident_idx"),
            models.Index(fields=["ip_address", "at"], name="loginfailure_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.identifier} @ {self.at:%Y-%m-%d %H:%M}"
