"""Master data of the organisation: companies, estates, grids, buildings, units, rooms and public areas.

Every admin here is company-scoped through ScopedAdminMixin (see admin_scoping): a company administrator manages
their company's estates, a project manager their own estate, a superuser everything.
"""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from .admin_scoping import ScopedAdminMixin, ScopedRelatedFilter, admin_scope
from .models import Building, Company, Estate, Grid, PublicArea, Room, Unit


@admin.register(Company)
class CompanyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Company administrators edit their own company; project managers only see theirs; only superusers add one."""

    list_display = ("name", "code", "estate_count", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "code")

    def scope_filter(self, request, scope):
        return Q(pk__in=scope.companies) | Q(pk__in=Estate.objects.filter(pk__in=scope.estates).values("company_id"))

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(estate_count=Count("estates"))

    @admin.display(description=_("estates"), ordering="estate_count")
    def estate_count(self, obj):
        return obj.estate_count

    def in_scope(self, request, obj):
        # Editing a company takes being its administrator; the estates' managers merely see it.
        return request.user.is_superuser or obj.pk in admin_scope(request.user).company_ids

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser or obj is None:
            return super().has_view_permission(request, obj)
        return self.may_manage(request) and super().in_scope(request, obj)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Estate)
class EstateAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Company administrators add and remove estates of their company; a project manager edits their estate."""

    scope_path = ""
    list_display = ("name", "code", "company", "city", "service_level", "contract_starts_on", "is_active")
    list_filter = ("service_level", "is_active", ("company", ScopedRelatedFilter))
    list_select_related = ("company",)
    search_fields = ("name", "code", "city", "address", "company__name")

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.is_superuser:
            # Moving an estate to another company is a superuser's decision.
            readonly += ("company",)
        return readonly

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "company" and not request.user.is_superuser:
            kwargs["queryset"] = Company.objects.filter(pk__in=admin_scope(request.user).companies)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        if request.user.is_superuser:
            return super().has_add_permission(request)
        return bool(admin_scope(request.user).company_ids)

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        company_ids = admin_scope(request.user).company_ids
        return bool(company_ids) and (obj is None or obj.company_id in company_ids)


@admin.register(Grid)
class GridAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("name", "estate", "leader", "deputy")
    list_filter = (("estate", ScopedRelatedFilter),)
    list_select_related = ("estate", "leader", "deputy")
    search_fields = ("name", "estate__name", "leader__name", "leader__username")
    autocomplete_fields = ("leader", "deputy")


@admin.register(Building)
class BuildingAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("name", "estate", "grid", "use", "floors")
    list_filter = (("estate", ScopedRelatedFilter), "use", ("grid", ScopedRelatedFilter))
    list_select_related = ("estate", "grid__estate")
    search_fields = ("name", "estate__name")


@admin.register(Unit)
class UnitAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "building__estate"
    list_display = ("name", "building", "estate_name")
    list_filter = (("building__estate", ScopedRelatedFilter),)
    list_select_related = ("building__estate",)
    search_fields = ("name", "building__name", "building__estate__name")
    autocomplete_fields = ("building",)

    @admin.display(description=_("estate"), ordering="building__estate__name")
    def estate_name(self, obj):
        return obj.building.estate.name


@admin.register(Room)
class RoomAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("label", "estate", "building", "unit", "floor", "area_m2")
    list_filter = (("estate", ScopedRelatedFilter), ("building", ScopedRelatedFilter), "building__use")
    list_select_related = ("estate", "building__estate", "unit__building")
    search_fields = ("number", "building__name", "unit__name", "estate__name")
    autocomplete_fields = ("building", "unit")
    # Estates hold thousands of rooms: skip the second, unfiltered COUNT(*) on every page.
    show_full_result_count = False

    @admin.display(description=_("room"), ordering="number")
    def label(self, obj):
        return obj.label


@admin.register(PublicArea)
class PublicAreaAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("name", "estate", "kind", "grid", "building")
    list_filter = (("estate", ScopedRelatedFilter), "kind", ("grid", ScopedRelatedFilter))
    list_select_related = ("estate", "grid__estate", "building__estate")
    search_fields = ("name", "estate__name")
    autocomplete_fields = ("building",)
