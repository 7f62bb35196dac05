"""Admin for the equipment ledger, scoped to the estates the editor manages (wuye.estates.admin_scoping).

Status changes go through `equipment_set_status` (they write the event rows that downtime is computed from), so the
admin shows the status and its history but does not edit it.
"""

from django.contrib import admin

from wuye.estates.admin_scoping import ScopedAdminMixin, ScopedRelatedFilter

from .models import Equipment, EquipmentDocument, EquipmentEvent, MaintenanceOrder, MaintenancePlan
from .services import new_label_code


class EquipmentEventInline(admin.TabularInline):
    model = EquipmentEvent
    extra = 0
    can_delete = False
    fields = ("at", "actor", "from_status", "to_status", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EquipmentDocumentInline(admin.TabularInline):
    model = EquipmentDocument
    extra = 0
    fields = ("title", "file", "uploaded_at")
    readonly_fields = ("uploaded_at",)


@admin.register(Equipment)
class EquipmentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("code", "name", "estate", "category", "importance", "status", "installed_on")
    list_filter = (("estate", ScopedRelatedFilter), "category", "importance", "status")
    list_select_related = ("estate",)
    search_fields = ("code", "name", "serial_number", "label_code", "maker", "model_number")
    autocomplete_fields = ("building", "public_area", "room")
    readonly_fields = ("status", "label_code")
    inlines = [EquipmentDocumentInline, EquipmentEventInline]

    def save_model(self, request, obj, form, change):
        if not obj.label_code:
            obj.label_code = new_label_code()
        super().save_model(request, obj, form, change)
        if not change:
            EquipmentEvent.objects.create(equipment=obj, at=obj.created_at, actor=request.user, to_status=obj.status)


class MaintenanceOrderInline(admin.TabularInline):
    model = MaintenanceOrder
    extra = 0
    can_delete = False
    fields = ("due_at", "work_order", "meter_reading", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(MaintenancePlan)
class MaintenancePlanAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Read here; plans are created and changed through the API (services.plan_create / plan_update check them)."""

    scope_path = "estate"
    list_display = ("name", "equipment", "estate", "trigger", "interval", "interval_unit", "basis", "is_active")
    list_filter = (("estate", ScopedRelatedFilter), "trigger", "is_active")
    list_select_related = ("estate", "equipment")
    search_fields = ("name", "equipment__code", "equipment__name")
    inlines = [MaintenanceOrderInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
