"""The maintenance-plan form on the desk. It only checks the shape of what was typed; the plan's rules are the
service's (services.plan_create / plan_update), whose field errors come back next to the fields."""

from django import forms
from django.utils.translation import gettext_lazy as _

from wuye.workorders.choices import Priority

from .choices import CalendarBasis, IntervalUnit, MeterCondition, PlanTrigger


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    trigger = forms.ChoiceField(label=_("Trigger"), choices=PlanTrigger.choices, widget=forms.RadioSelect)
    checklist = forms.CharField(
        label=_("Checklist"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One item to check per line."),
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.LOW)
    interval = forms.IntegerField(label=_("Every"), required=False, min_value=1)
    interval_unit = forms.ChoiceField(label=_("Unit"), choices=[("", "—"), *IntervalUnit.choices], required=False)
    basis = forms.ChoiceField(label=_("Counted"), choices=[("", "—"), *CalendarBasis.choices], required=False)
    starts_at = forms.DateTimeField(
        label=_("First due"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    lead_days = forms.IntegerField(label=_("Open the order this many days ahead"), min_value=0, initial=3)
    device = forms.ModelChoiceField(label=_("Meter device"), queryset=None, required=False)
    metric = forms.CharField(label=_("Metric"), max_length=40, required=False)
    meter_condition = forms.ChoiceField(
        label=_("When the reading"), choices=MeterCondition.choices, initial=MeterCondition.AT_LEAST
    )
    meter_value = forms.FloatField(label=_("Value"), required=False)
    meter_every = forms.FloatField(label=_("Then every"), required=False)
    min_wait_hours = forms.IntegerField(label=_("Minimum hours between orders"), min_value=0, initial=0)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, equipment, **kwargs):
        from wuye.iot.models import Device

        super().__init__(*args, **kwargs)
        self.fields["device"].queryset = Device.objects.filter(equipment=equipment).order_by("code")
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.RadioSelect | forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = css

    def plan_values(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "trigger": data["trigger"],
            "checklist": tuple(line.strip() for line in (data.get("checklist") or "").splitlines() if line.strip()),
            "priority": data["priority"],
            "interval": data.get("interval"),
            "interval_unit": data.get("interval_unit") or "",
            "basis": data.get("basis") or "",
            "starts_at": data.get("starts_at"),
            "lead_days": data["lead_days"],
            "device": data.get("device"),
            "metric": data.get("metric") or "",
            "meter_condition": data["meter_condition"],
            "meter_value": data.get("meter_value"),
            "meter_every": data.get("meter_every"),
            "min_wait_hours": data["min_wait_hours"],
            "is_active": data.get("is_active", False),
        }

    @staticmethod
    def initial_from(plan) -> dict:
        return {
            "name": plan.name,
            "trigger": plan.trigger,
            "checklist": "\n".join(plan.checklist or ()),
            "priority": plan.priority,
            "interval": plan.interval,
            "interval_unit": plan.interval_unit,
            "basis": plan.basis,
            "starts_at": plan.starts_at,
            "lead_days": plan.lead_days,
            "device": plan.device_id,
            "metric": plan.metric,
            "meter_condition": plan.meter_condition,
            "meter_value": plan.meter_value,
            "meter_every": plan.meter_every,
            "min_wait_hours": plan.min_wait_hours,
            "is_active": plan.is_active,
        }


# Service field names → the form's fields.
SERVICE_FIELDS = {"device_id": "device", "category_id": None, "equipment_id": None}
