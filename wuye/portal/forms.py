"""The owner's forms in the portal: reporting a work order, and the actions an owner takes on one.

Forms parse and check what the browser sent; the rules of the business (which category fits which kind, appointment
windows, who may do what when) stay in wuye.workorders.services, whose field errors `apply_service_errors` shows
next to the matching field.
"""

import datetime as dt
import re
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from wuye.accounts.selectors import current_residencies
from wuye.core import clock
from wuye.core.errors import ValidationFailed
from wuye.core.images import DEFAULT_MAX_BYTES, CleanImage, ImageRejected, clean_image
from wuye.estates.models import Estate, PublicArea, Room
from wuye.workorders import selectors as workorder_selectors
from wuye.workorders.choices import OWNER_KINDS, Channel, Kind, Verdict
from wuye.workorders.models import Category
from wuye.workorders.services import NewOrder

MAX_PHOTOS = 6
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# The fields whose value decides which other fields and choices the report form offers (re-rendered on change).
SHAPING_FIELDS = ("kind", "category", "room", "public_area", "appointment_date", "appointment_start", "appointment_end")


def new_token() -> str:
    """A fresh idempotency token for one report form: a double submit of the same form creates one order."""
    return uuid.uuid4().hex


class RatingReason(models.TextChoices):
    """Why an owner is not satisfied (recorded with the rating, counted by the KPIs)."""

    SLOW = "slow", _("Slow response")
    NOT_FIXED = "not_fixed", _("Not fixed")
    ATTITUDE = "attitude", _("Poor attitude")
    UNTIDY = "untidy", _("Left a mess")
    OTHER = "other", _("Other")


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to MAX_PHOTOS photos, each checked by its content with `clean_image`; cleans to a list of CleanImage.

    Every file is checked (not only up to the first bad one) so the owner learns about all of them at once; each
    message names the file and the rule it broke.
    """

    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list[CleanImage]:
        uploads = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if not uploads:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        if len(uploads) > MAX_PHOTOS:
            raise ValidationError(
                gettext("You can attach at most %(limit)d photos; you chose %(count)d.")
                % {"limit": MAX_PHOTOS, "count": len(uploads)},
                code="too_many_photos",
            )
        cleaned, problems = [], []
        for upload in uploads:
            # Read one byte past the limit only: clean_image refuses an oversized file without us holding all of it.
            upload.seek(0)
            content = upload.read(DEFAULT_MAX_BYTES + 1)
            try:
                cleaned.append(clean_image(content))
            except ImageRejected as rejected:
                problems.append(
                    ValidationError(
                        gettext("“%(name)s”: %(rule)s") % {"name": _short_name(upload.name), "rule": rejected.message},
                        code=rejected.code,
                    )
                )
        if problems:
            raise ValidationError(problems)
        return cleaned


def _short_name(name: str | None) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1] or "?"
    return name if len(name) <= 60 else f"{name[:40]}…{name[-15:]}"


class BootstrapForm(forms.Form):
    """Bootstrap 5 classes on every widget, and `is-invalid` on each one with an error (however it was added)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.RadioSelect):  # also CheckboxSelectMultiple
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs.setdefault("class", css)

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        for name in self._errors or {}:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", "").split():
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()


class OrderReportForm(BootstrapForm):
    """报事报修: what happened, where, of which kind and category, with photos and (in-home repairs) a time window.

    Which fields are offered depends on the kind: a room for everything but public-area repairs, a public area for
    those, an appointment window for in-home repairs only. The categories are the estate company's active ones that
    apply to the chosen kind. `shows_*` tell the template which fields to render; values of fields a kind does not
    use are ignored.
    """

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    kind = forms.ChoiceField(
        label=_("What is it?"),
        choices=[(kind.value, kind.label) for kind in OWNER_KINDS],
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
    )
    category = forms.TypedChoiceField(label=_("Category"), coerce=int, empty_value=None)
    room = forms.TypedChoiceField(label=_("Room"), coerce=int, empty_value=None, required=False)
    public_area = forms.TypedChoiceField(label=_("Public area"), coerce=int, empty_value=None, required=False)
    description = forms.CharField(
        label=_("Description"),
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": _("What happened, and where exactly? e.g. the kitchen sink pipe leaks.")}
        ),
    )
    photos = PhotosField(
        label=_("Photos"),
        help_text=_("Up to 6 photos (JPEG, PNG or WebP, at most 10 MB each)."),
        widget=MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    appointment_date = forms.DateField(
        label=_("Preferred date"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    appointment_start = forms.TimeField(
        label=_("From"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    appointment_end = forms.TimeField(
        label=_("Until"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )

    # Service field names (ValidationFailed.errors) → the form field that shows the message.
    SERVICE_FIELDS = {
        "kind": "kind",
        "category_id": "category",
        "description": "description",
        "room_id": "room",
        "public_area_id": "public_area",
        "appointment_start": "appointment_start",
        "appointment_end": "appointment_end",
    }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        residencies = list(current_residencies(user))
        self.rooms: dict[int, Room] = {}
        for residency in residencies:
            self.rooms.setdefault(residency.room_id, residency.room)
        estates = {room.estate_id: room.estate for room in self.rooms.values()}
        several_estates = len(estates) > 1
        self.areas: dict[int, PublicArea] = {
            area.id: area
            for area in PublicArea.objects.filter(estate_id__in=list(estates))
            .select_related("estate__company")
            .order_by("estate__name", "name")
        }

        raw = self.data if self.is_bound else self.initial
        kind = str(raw.get("kind") or "")
        self.chosen_kind = kind if kind in {k.value for k in OWNER_KINDS} else Kind.REPAIR_HOME.value
        self.fields["kind"].initial = self.chosen_kind

        self.shows_public_area = self.chosen_kind == Kind.REPAIR_PUBLIC and bool(self.areas)
        self.shows_room = not self.shows_public_area
        self.shows_appointment = self.chosen_kind == Kind.REPAIR_HOME
        self.has_rooms = bool(self.rooms)

        self.fields["room"].choices = [
            (room.id, f"{room.estate.name} {room.label}" if several_estates else room.label)
            for room in self.rooms.values()
        ]
        self.fields["room"].required = self.shows_room
        self.fields["public_area"].choices = [("", _("Choose where"))] + [
            (area.id, f"{area.estate.name} {area.name}" if several_estates else area.name)
            for area in self.areas.values()
        ]
        self.fields["public_area"].required = self.shows_public_area

        # The estate the order belongs to decides the catalogue (each company has its own).
        self.estate = self._estate_from(raw)
        self.categories: dict[int, Category] = {}
        if self.estate is not None:
            self.categories = {c.id: c for c in workorder_selectors.categories_for(user, self.estate, self.chosen_kind)}
        self.fields["category"].choices = [("", _("Choose a category"))] + [
            (category.id, category.name) for category in self.categories.values()
        ]

    def _estate_from(self, raw) -> Estate | None:
        if self.shows_public_area:
            area = self.areas.get(_int_or_none(raw.get("public_area")))
            if area is not None:
                return area.estate
        room = self.rooms.get(_int_or_none(raw.get("room")))
        if room is None and self.rooms:
            room = next(iter(self.rooms.values()))
            self.fields["room"].initial = room.id
        return room.estate if room is not None else None

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if not TOKEN_PATTERN.match(token):
            raise ValidationError(gettext("The form has expired; please submit it again."), code="bad_token")
        return token

    def clean_category(self) -> Category:
        category = self.categories.get(self.cleaned_data["category"])
        if category is None:
            raise ValidationError(gettext("Choose a category for this kind of request."), code="invalid_choice")
        return category

    def clean_room(self) -> Room | None:
        if not self.shows_room:
            return None
        return self.rooms.get(self.cleaned_data["room"])

    def clean_public_area(self) -> PublicArea | None:
        if not self.shows_public_area:
            return None
        return self.areas.get(self.cleaned_data["public_area"])

    def clean(self):
        data = super().clean()
        parts = ("appointment_date", "appointment_start", "appointment_end")
        if not self.shows_appointment:
            for name in parts:
                data[name] = None
            return data
        given = [name for name in parts if data.get(name) is not None]
        if given and len(given) < len(parts):
            for name in parts:
                if data.get(name) is None and name not in self.errors:
                    self.add_error(
                        name, gettext("Give the date, the start and the end time, or leave all three empty.")
                    )
        return data

    def appointment_window(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The preferred window as aware datetimes in the installation's time zone (the owner's wall clock)."""
        day = self.cleaned_data.get("appointment_date")
        start = self.cleaned_data.get("appointment_start")
        end = self.cleaned_data.get("appointment_end")
        if day is None or start is None or end is None:
            return None, None
        tz = clock.local_tz()
        return dt.datetime.combine(day, start, tzinfo=tz), dt.datetime.combine(day, end, tzinfo=tz)

    def new_order(self) -> NewOrder:
        data = self.cleaned_data
        room, area = data.get("room"), data.get("public_area")
        estate = area.estate if area is not None else room.estate if room is not None else self.estate
        start, end = self.appointment_window()
        return NewOrder(
            estate=estate,
            kind=data["kind"],
            category=data["category"],
            description=data["description"],
            channel=Channel.PORTAL,
            room=room,
            public_area=area,
            reporter=self.user,
            appointment_start=start,
            appointment_end=end,
        )

    def apply_service_errors(self, failure: ValidationFailed) -> None:
        """Show the service's field errors next to the fields; the rest (and hidden fields) above the form."""
        shown = {
            "kind": True,
            "category": True,
            "description": True,
            "room": self.shows_room,
            "public_area": self.shows_public_area,
            "appointment_start": self.shows_appointment,
            "appointment_end": self.shows_appointment,
        }
        if not failure.errors:
            self.add_error(None, failure.message)
        for error in failure.errors:
            name = self.SERVICE_FIELDS.get(error.field)
            self.add_error(name if name and shown.get(name) else None, error.message)


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def initial_from(query) -> dict:
    """Initial values of a report form re-shown with other choices (htmx reload, or the no-JS refresh button)."""
    initial = {name: query.get(name) for name in (*SHAPING_FIELDS, "description") if query.get(name)}
    token = query.get("token") or ""
    initial["token"] = token if TOKEN_PATTERN.match(token) else new_token()
    return initial


# ---------------------------------------------------------------- actions on an order


class OrderActionForm(BootstrapForm):
    """An owner's action on an order; `params()` is what `workorder_act` takes."""

    # Service field names → form fields (service errors the form did not catch itself).
    SERVICE_FIELDS: dict[str, str] = {}

    def params(self) -> dict:
        return {}

    def apply_service_errors(self, failure: ValidationFailed) -> None:
        for error in failure.errors:
            name = self.SERVICE_FIELDS.get(error.field)
            self.add_error(name if name in self.fields else None, error.message)
        if not failure.errors:
            self.add_error(None, failure.message)


class UrgeForm(OrderActionForm):
    """催单: no input; the service allows one urge per 30 minutes."""


class CancelForm(OrderActionForm):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    SERVICE_FIELDS = {"reason": "reason"}

    def params(self) -> dict:
        return {"reason": self.cleaned_data["reason"].strip()}


class RateForm(OrderActionForm):
    verdict = forms.ChoiceField(
        label=_("How was it?"), choices=Verdict.choices, widget=forms.RadioSelect(attrs={"class": "btn-check"})
    )
    score = forms.TypedChoiceField(
        label=_("Score"),
        choices=[(points, str(points)) for points in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect(attrs={"class": "star-input"}),
    )
    reasons = forms.MultipleChoiceField(
        label=_("What went wrong?"),
        choices=RatingReason.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    comment = forms.CharField(
        label=_("Comment"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    SERVICE_FIELDS = {"verdict": "verdict", "score": "score", "comment": "comment"}

    def clean(self):
        data = super().clean()
        if data.get("verdict") in (Verdict.BAD, Verdict.RETURNED) and not data.get("reasons"):
            self.add_error("reasons", gettext("Tell us what went wrong: choose at least one reason."))
        return data

    def params(self) -> dict:
        data = self.cleaned_data
        return {
            "verdict": data["verdict"],
            "score": data["score"],
            "reasons": list(data["reasons"]),
            "comment": data["comment"].strip(),
        }


class ReopenForm(OrderActionForm):
    reason = forms.CharField(label=_("What is still wrong?"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    SERVICE_FIELDS = {"reason": "reason"}

    def params(self) -> dict:
        return {"reason": self.cleaned_data["reason"].strip()}
