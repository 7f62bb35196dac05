"""Admin for the work-order catalogue (categories, SLA policies, calendars) and a read-only view of orders.

Orders change only through the services (the state machine writes the event rows), so the admin never edits them.
"""

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wuye.estates.admin_scoping import ScopedAdminMixin, admin_scope
from wuye.estates.models import Estate

from .models import Category, ServiceCalendar, SlaPolicy, SlaTarget, WorkOrder, WorkOrderEvent


class CompanyCatalogueAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Rows that belong to a company: its administrators edit them; its estates' managers may look."""

    def scope_filter(self, request, scope):
        return Q(company_id__in=scope.companies) | Q(
            company_id__in=Estate.objects.filter(pk__in=scope.estates).values("company_id")
        )

    def in_scope(self, request, obj):
        if request.user.is_superuser:
            return True
        return obj.company_id in admin_scope(request.user).company_ids

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser or obj is None:
            return super().has_view_permission(request, obj)
        return self.may_manage(request) and ScopedAdminMixin.in_scope(self, request, obj)

    def has_add_permission(self, request):
        return request.user.is_superuser or bool(admin_scope(request.user).company_ids)


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(CompanyCatalogueAdmin):
    list_display = ("name", "code", "company", "warn_ratio")
    list_filter = ("company",)
    search_fields = ("name", "code")
    inlines = [SlaTargetInline]


@admin.register(Category)
class CategoryAdmin(CompanyCatalogueAdmin):
    list_display = ("code", "name_zh", "name_en", "default_priority", "required_skill", "dispatch_mode", "is_active")
    list_filter = ("company", "default_priority", "dispatch_mode", "is_active")
    search_fields = ("code", "name_zh", "name_en")
    list_select_related = ["company", "sla_policy"]


@admin.register(ServiceCalendar)
class ServiceCalendarAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("estate",)
    list_select_related = ["estate"]


class WorkOrderEventInline(admin.TabularInline):
    model = WorkOrderEvent
    extra = 0
    can_delete = False
    fields = ("at", "action", "actor", "from_status", "to_status", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WorkOrder)
class WorkOrderAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("number", "estate", "kind", "category", "priority", "status", "assignee", "submitted_at")
    list_filter = ("status", "kind", "priority", "estate")
    search_fields = ("number", "description")
    list_select_related = ["estate", "category", "assignee"]
    date_hierarchy = "submitted_at"
    inlines = [WorkOrderEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in WorkOrder._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("category"))
    def category_name(self, obj):
        return obj.category.name
