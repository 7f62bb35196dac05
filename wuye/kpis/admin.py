"""Admin for the year's KPI targets: a company's administrators set the company's and each estate's targets; an
estate's project manager may look."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wuye.estates.admin_scoping import ScopedAdminMixin, admin_scope
from wuye.estates.models import Estate

from .models import KpiTarget


@admin.register(KpiTarget)
class KpiTargetAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("year", "company", "estate", "code", "target", "direction")
    list_filter = ("year", "code")
    ordering = ("-year", "company", "estate", "code")

    def scope_filter(self, request, scope):
        return Q(company_id__in=scope.companies) | Q(estate_id__in=scope.estates)

    def in_scope(self, request, obj):
        if request.user.is_superuser:
            return True
        scope = admin_scope(request.user)
        return obj.company_id in scope.company_ids or (obj.estate_id is not None and obj.estate_id in scope.estate_ids)

    def has_add_permission(self, request):
        return request.user.is_superuser or bool(admin_scope(request.user))

    def validate_form(self, request, form, cleaned_data) -> None:
        super().validate_form(request, form, cleaned_data)
        estate: Estate | None = cleaned_data.get("estate")
        company = cleaned_data.get("company")
        if estate is not None and company is not None and estate.company_id != company.id:
            raise ValidationError({"estate": _("The estate belongs to another company.")})
