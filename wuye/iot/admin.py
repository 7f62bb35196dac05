"""Admin for devices, alarm rules, alarms and refused-telemetry counts, scoped to the estates the editor manages.

A device added here gets its credentials at once, shown a single time in the confirmation message. Alarms change
only through the services (their event rows are the timeline), so the admin shows them read-only.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext as _

from wuye.estates.admin_scoping import ReadOnlyAdminMixin, ScopedAdminMixin, ScopedRelatedFilter

from .models import Alarm, AlarmEvent, AlarmRule, Device, TelemetryRejection


@admin.register(Device)
class DeviceAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("code", "name", "estate", "equipment", "is_active", "last_seen_at")
    list_filter = (("estate", ScopedRelatedFilter), "is_active")
    list_select_related = ("estate", "equipment")
    search_fields = ("code", "name")
    autocomplete_fields = ("equipment",)
    readonly_fields = ("key_version", "token_prefix", "last_seen_at")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            from . import services  # the services load the rule engine; the admin registry must not need it

            credentials = services.device_credentials_rotate(device_id=obj.pk)
            messages.warning(
                request,
                _(
                    "Load these into the device now; they are not shown again. Topic: %(topic)s · signing key: "
                    "%(key)s · HTTP: Authorization: %(authorization)s"
                )
                % {
                    "topic": credentials.topic,
                    "key": credentials.signing_key,
                    "authorization": credentials.authorization,
                },
            )


@admin.register(AlarmRule)
class AlarmRuleAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("name", "estate", "equipment_category", "device", "metric", "kind", "severity", "is_active")
    list_filter = (("estate", ScopedRelatedFilter), "kind", "severity", "is_active")
    list_select_related = ("estate", "device")
    search_fields = ("name", "metric")
    autocomplete_fields = ("device",)


class AlarmEventInline(admin.TabularInline):
    model = AlarmEvent
    extra = 0
    can_delete = False
    fields = ("at", "action", "actor", "from_status", "to_status", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Alarm)
class AlarmAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "estate"
    list_display = ("raised_at", "estate", "rule", "device", "severity", "status", "reason", "cleared_at")
    list_filter = (("estate", ScopedRelatedFilter), "status", "severity")
    list_select_related = ("estate", "rule", "device")
    search_fields = ("reason", "device__code", "rule__name")
    inlines = [AlarmEventInline]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TelemetryRejection)
class TelemetryRejectionAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Installation-wide: a refused message may name no estate at all."""

    superuser_only = True
    list_display = ("day", "channel", "reason", "count", "last_at", "last_detail")
    list_filter = ("channel", "reason")

    def scope_filter(self, request, scope):  # pragma: no cover - superuser_only never asks
        raise NotImplementedError
