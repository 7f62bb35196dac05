"""Admin for the equipment ledger, scoped to the estates the editor manages (wuye.estates.admin_scoping).

Status changes go through `equipment_set_status` (they write the event rows that downtime is computed from), so the
admin shows the status and its history but does not edit it.
"""

from django.contrib import admin

from wuye.estates.admin_scoping import ScopedAdminMixin, ScopedRelatedFilter

from .models import Equipment, EquipmentEvent
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


@admin.register(Equipment)
class EquipmentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("code", "name", "estate", "category", "importance", "status", "installed_on")
    list_filter = (("estate", ScopedRelatedFilter), "category", "importance", "status")
    list_select_related = ("estate",)
    search_fields = ("code", "name", "serial_number", "label_code", "maker", "model_number")
    autocomplete_fields = ("building", "public_area", "room")
    readonly_fields = ("status", "label_code")
    inlines = [EquipmentEventInline]

    def save_model(self, request, obj, form, change):
        if not obj.label_code:
            obj.label_code = new_label_code()
        super().save_model(request, obj, form, change)
        if not change:
            EquipmentEvent.objects.create(equipment=obj, at=obj.created_at, actor=request.user, to_status=obj.status)
