"""Staff in the admin: profiles with their skills, certificates and shifts; shift patterns; certificates by expiry.

Company-scoped (wuye.estates.admin_scoping): a company administrator sees the company's staff, a project manager the
staff who hold a role in their estate.
"""

import datetime as dt

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wuye.accounts.models import Membership
from wuye.core import clock
from wuye.estates.admin_scoping import ScopedAdminMixin, ScopedInlineMixin, ScopedRelatedFilter, masked_phone_column
from wuye.estates.models import Estate

from .models import (
    AccountabilityRecord,
    AppraisalPolicy,
    AppraisalScore,
    AppraisalWeights,
    Certificate,
    ServiceStar,
    Shift,
    ShiftAssignment,
    StaffProfile,
    StaffSkill,
)
from .rules import COMPONENTS

EXPIRING_WITHIN_DAYS = 30


def certificate_expiry_q(state: str, *, today: dt.date, prefix: str = "") -> Q:
    """Certificates in one expiry state, with the boundaries of staff.rules: one expiring today is still valid, and
    "expiring" means within the next 30 days. "valid" is the rest: no expiry date, or more than 30 days left."""
    field = f"{prefix}expires_on"
    soon = today + dt.timedelta(days=EXPIRING_WITHIN_DAYS)
    if state == "expired":
        return Q(**{f"{field}__lt": today})
    if state == "expiring":
        return Q(**{f"{field}__gte": today, f"{field}__lte": soon})
    if state == "valid":
        return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gt": soon})
    raise ValueError(state)


class CertificateExpiryFilter(admin.SimpleListFilter):
    title = _("expiry")
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        return [
            ("expired", _("expired")),
            ("expiring", _("expiring in 30 days")),
            ("valid", _("valid")),
        ]

    def queryset(self, request, queryset):
        if self.value() not in {"expired", "expiring", "valid"}:
            return queryset
        return queryset.filter(certificate_expiry_q(self.value(), today=clock.today()))


class StaffCertificateExpiryFilter(admin.SimpleListFilter):
    """Staff holding at least one certificate that has expired, or expires within 30 days."""

    title = _("certificate expiry")
    parameter_name = "certificate_expiry"

    def lookups(self, request, model_admin):
        return [("expired", _("expired")), ("expiring", _("expiring in 30 days"))]

    def queryset(self, request, queryset):
        if self.value() not in {"expired", "expiring"}:
            return queryset
        certificates = Certificate.objects.filter(certificate_expiry_q(self.value(), today=clock.today()))
        return queryset.filter(pk__in=certificates.values("staff_id"))


def staff_in_scope(scope) -> Q:
    """A company's staff for its administrators; for a project manager, the staff of the estate's company who hold a
    role in that estate."""
    managed_companies = Estate.objects.filter(pk__in=scope.estates).values("company_id")
    members = Membership.objects.filter(estate_id__in=scope.estates).values("user_id")
    return Q(company_id__in=scope.companies) | Q(company_id__in=managed_companies, user_id__in=members)


class StaffSkillInline(ScopedInlineMixin, admin.TabularInline):
    model = StaffSkill
    extra = 0


class CertificateInline(ScopedInlineMixin, admin.TabularInline):
    model = Certificate
    extra = 0
    fields = ("kind", "number", "issued_on", "expires_on")


class ShiftAssignmentInline(ScopedInlineMixin, admin.TabularInline):
    model = ShiftAssignment
    extra = 0


@admin.register(StaffProfile)
class StaffProfileAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("user", "phone_masked", "employee_no", "post", "company", "is_on_call", "hired_on")
    list_filter = ("post", "is_on_call", StaffCertificateExpiryFilter, ("company", ScopedRelatedFilter))
    list_select_related = ("user", "company")
    search_fields = ("employee_no", "user__username", "user__name", "user__phone")
    autocomplete_fields = ("user",)
    ordering = ("company", "employee_no")
    inlines = (StaffSkillInline, CertificateInline, ShiftAssignmentInline)

    phone_masked = masked_phone_column("user__phone")

    def scope_filter(self, request, scope):
        return staff_in_scope(scope)


@admin.register(Certificate)
class CertificateAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("number", "kind", "staff", "issued_on", "expires_on")
    list_filter = ("kind", CertificateExpiryFilter, ("staff__company", ScopedRelatedFilter))
    list_select_related = ("staff__user",)
    search_fields = ("number", "staff__user__name", "staff__user__username", "staff__employee_no")
    autocomplete_fields = ("staff",)

    def scope_filter(self, request, scope):
        return Q(staff__in=StaffProfile.objects.filter(staff_in_scope(scope)))


@admin.register(Shift)
class ShiftAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("name", "estate", "start_time", "end_time", "weekdays")
    list_filter = (("estate", ScopedRelatedFilter),)
    list_select_related = ("estate",)
    search_fields = ("name", "estate__name")


# ---------------------------------------------------------------------------------------------------------- appraisal


class _CompanyScoped(ScopedAdminMixin):
    """Rows that belong to a company: its administrators (and superusers) edit them."""

    def scope_filter(self, request, scope):
        return Q(company_id__in=scope.companies)


@admin.register(AppraisalPolicy)
class AppraisalPolicyAdmin(_CompanyScoped, admin.ModelAdmin):
    list_display = (
        "company",
        "star_min_volume",
        "breach_threshold",
        "breach_window_days",
        "complaint_penalty",
        "complaint_window_days",
    )


@admin.register(AppraisalWeights)
class AppraisalWeightsAdmin(_CompanyScoped, admin.ModelAdmin):
    """Weights per post; a post without a row uses the defaults (staff.rules.DEFAULT_WEIGHTS)."""

    list_display = ("company", "post", *COMPONENTS)
    list_editable = COMPONENTS
    list_filter = ("post", ("company", ScopedRelatedFilter))


class _ReadOnly:
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AppraisalScore)
class AppraisalScoreAdmin(_ReadOnly, ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("month", "estate", "person", "post", "score", "volume")
    list_filter = ("month", "post", ("estate", ScopedRelatedFilter))
    list_select_related = ("estate", "person")
    search_fields = ("person__name", "person__username")


@admin.register(ServiceStar)
class ServiceStarAdmin(_ReadOnly, ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("month", "estate", "person", "score", "status", "decided_by", "decided_at")
    list_filter = ("status", ("estate", ScopedRelatedFilter))
    list_select_related = ("estate", "person", "decided_by")


@admin.register(AccountabilityRecord)
class AccountabilityRecordAdmin(_ReadOnly, ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("opened_at", "estate", "person", "breach_count", "threshold")
    list_filter = (("estate", ScopedRelatedFilter),)
    list_select_related = ("estate", "person")
