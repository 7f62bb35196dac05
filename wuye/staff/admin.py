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

from .models import Certificate, Shift, ShiftAssignment, StaffProfile, StaffSkill

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
