from django.contrib import admin

from .models import PeriodicJobState


@admin.register(PeriodicJobState)
class PeriodicJobStateAdmin(admin.ModelAdmin):
    """The scheduler's bookkeeping, shared by every company: superusers may look, nobody edits (the scheduler claims
    runs by moving `next_run_at` with a conditional UPDATE; a hand edit would race it)."""

    list_display = ("name", "next_run_at", "last_enqueued_at", "runs")
    search_fields = ("name",)
    readonly_fields = ("name", "next_run_at", "last_enqueued_at", "runs")

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
