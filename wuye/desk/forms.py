import re
import uuid
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import zip_longest

from django import forms
from django.conf import settings
from django.db import models
from django.db.models import Count, Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from wuye.accounts.selectors import residents_of_room
from wuye.core.images import DEFAULT_MAX_BYTES, ImageRejected, clean_image
from wuye.dispatch.selectors import dispatch_suggestions
from wuye.equipment import selectors as equipment_selectors
from wuye.estates.ledgers import LedgerKind
from wuye.estates.models import Estate, Grid, PublicArea
from wuye.estates.permissions import can_view_residents, rooms_visible
from wuye.workorders import services as workorder_services
from wuye.workorders.choices import ASSIGNED, OWNER_KINDS, Action, Channel, PhotoStage, Priority, Status
from wuye.workorders.models import Category


class LedgerImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Ledger"), choices=LedgerKind.choices)
    file = forms.FileField(label=_("File (CSV or Excel .xlsx)"))
    dry_run = forms.BooleanField(label=_("Only check, write nothing"), required=False)


# ---------------------------------------------------------------- work orders (views_orders.py)
# Forms only check the shape of what was typed; the rules of the work (who may do what, in which status, which
# category fits which kind) are the services' and come back as ValidationFailed, InvalidTransition or Forbidden.

PHOTO_LIMIT = workorder_services.PHOTOS_PER_STAGE  # per upload, and per stage of an order
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MATERIAL_ROWS = 3  # empty rows shown on the finish form; more can be posted
MATERIAL_LIMIT = 30
REASON_MAX = 200  # a pause keeps its reason in 200 characters (WorkOrderPause.reason)


def _bootstrap(form: forms.Form) -> None:
    """Bootstrap's classes on every widget, so templates can render `{{ field }}` as is."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        if isinstance(widget, forms.RadioSelect | forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class MultiplePhotoInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.Field):
    """Up to six photos, each judged by its bytes and re-encoded (wuye.core.images.clean_image) while the form is
    validated, so one bad photo refuses the whole submission before anything is written. Cleans to [CleanImage]."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
        super().__init__(**kwargs)

    def clean(self, value):
        uploads = [item for item in (value if isinstance(value, list | tuple) else [value]) if item]
        if not uploads:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        if len(uploads) > PHOTO_LIMIT:
            raise forms.ValidationError(
                _("At most %(limit)d photos at a time."), params={"limit": PHOTO_LIMIT}, code="too_many"
            )
        photos, problems = [], []
        for number, upload in enumerate(uploads, start=1):
            try:
                # One byte past the limit is enough for clean_image to refuse a file that is too large.
                photos.append(clean_image(upload.read(DEFAULT_MAX_BYTES + 1)))
            except ImageRejected as rejected:
                problems.append(
                    forms.ValidationError(
                        _("Photo %(number)d: %(problem)s"),
                        params={"number": number, "problem": rejected.message},
                        code=rejected.code,
                    )
                )
        if problems:
            raise forms.ValidationError(problems)
        return photos


class OrderActionForm(forms.Form):
    """What one action on one order needs, turned into the `params` of services.workorder_act. `primary` actions
    are the next step of the work and are shown open; the others (return, hold, force close…) fold away."""

    primary = True
    photo_stage: str | None = None

    def __init__(self, *args, order, user, **kwargs):
        self.order = order
        self.user = user
        super().__init__(*args, **kwargs)
        _bootstrap(self)

    def params(self) -> dict:
        note = self.cleaned_data.get("note")
        return {"note": note} if note else {}

    def photos(self) -> list:
        return self.cleaned_data.get("photos") or []


class NoteActionForm(OrderActionForm):
    note = forms.CharField(label=_("Note (optional)"), max_length=500, required=False)


class ReasonActionForm(OrderActionForm):
    primary = False
    reason_required = True
    reason = forms.CharField(
        label=_("Reason"), max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = self.reason_required
        if not self.reason_required:
            self.fields["reason"].label = _("Reason (optional)")

    def params(self) -> dict:
        reason = self.cleaned_data.get("reason")
        return {"reason": reason} if reason else {}


class ReturnForm(ReasonActionForm):
    """退单: the technician gives the order back to be dispatched again."""


class ForceCloseForm(ReasonActionForm):
    pass


class CancelForm(ReasonActionForm):
    reason_required = False


class ReopenForm(ReasonActionForm):
    reason_required = False


class DispatchForm(OrderActionForm):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=None, empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        candidates = workorder_services.dispatch_candidates(self.order).annotate(
            open_orders=Count(
                "assigned_work_orders", filter=Q(assigned_work_orders__status__in=ASSIGNED), distinct=True
            )
        )
        if self.order.assignee_id:
            candidates = candidates.exclude(pk=self.order.assignee_id)
        self.fields["assignee"].queryset = candidates
        self.fields["assignee"].label_from_instance = self.candidate_label
        # Who the optimiser would send and why, and why the others may not go (an expired licence, no skill…).
        self.advice = dispatch_suggestions(self.order, list(candidates))
        suggested = self.advice["suggested_id"]
        if suggested:
            self.fields["assignee"].initial = suggested
            self.fields["assignee"].help_text = _("Suggested: %(name)s — %(reasons)s") % {
                "name": next(user.display_name for user in candidates if user.pk == suggested),
                "reasons": "; ".join(self.advice["reasons"]),
            }

    def candidate_label(self, user) -> str:
        """Who, how much they already carry, and — when they may not go — why not."""
        label = _("%(name)s (%(count)d open)") % {"name": user.display_name, "count": user.open_orders}
        verdict = self.advice["eligibility"].get(user.pk) if hasattr(self, "advice") else None
        if verdict is not None and not verdict.ok:
            label = f"✗ {label} — {verdict.failed()[0].message}"
        elif verdict is not None and user.pk == self.advice["suggested_id"]:
            label = f"★ {label}"
        return label

    def params(self) -> dict:
        return {"assignee_id": self.cleaned_data["assignee"].id}


class BoardAssignForm(forms.Form):
    """One order's row on the dispatch board: the suggested person is preselected (one click sends them); choosing
    someone else is an override and needs a reason, which goes on the order's timeline."""

    assignee = forms.TypedChoiceField(label=_("Send"), coerce=int)
    reason = forms.CharField(label=_("Why someone else"), max_length=REASON_MAX, required=False)

    def __init__(self, *args, order, people, item, **kwargs):
        self.order = order
        self.suggested_id = item.suggestion.tech_id if item.suggestion else None
        super().__init__(*args, **kwargs)
        self.names = {person.user.pk: person.user.display_name for person in people}
        choices = []
        for person in people:
            label = _("%(name)s (%(count)d open)") % {
                "name": person.user.display_name,
                "count": person.tech.open_orders,
            }
            if person.user.pk == self.suggested_id:
                label = f"★ {label}"
            elif person.user.pk not in item.eligible_ids:
                label = f"✗ {label}"
            choices.append((person.user.pk, label))
        self.fields["assignee"].choices = choices
        self.fields["assignee"].initial = self.suggested_id
        _bootstrap(self)

    def clean(self):
        cleaned = super().clean()
        chosen = cleaned.get("assignee")
        if chosen is not None and self.suggested_id and chosen != self.suggested_id and not cleaned.get("reason"):
            self.add_error("reason", _("Say why you chose someone other than the suggestion."))
        return cleaned

    def assignee_name(self) -> str:
        return self.names.get(self.cleaned_data["assignee"], "")

    def params(self) -> dict:
        chosen = self.cleaned_data["assignee"]
        params: dict = {"assignee_id": chosen}
        if self.suggested_id:
            params["suggested_id"] = self.suggested_id
            if chosen != self.suggested_id:
                params["override"] = True
                params["reason"] = self.cleaned_data["reason"]
        return params


class ClassifyForm(OrderActionForm):
    """受理 with classification: correct the category or priority the owner chose; the clocks follow."""

    primary = False
    category = forms.ModelChoiceField(label=_("Category"), queryset=None, empty_label=None)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        catalogue = Category.objects.filter(company_id=self.order.estate.company_id, is_active=True)
        # `kinds` is a short JSON list; filtering it in Python works the same on SQLite and PostgreSQL.
        fitting = [category.id for category in catalogue if self.order.kind in category.kinds]
        self.fields["category"].queryset = catalogue.filter(pk__in=fitting)
        self.fields["category"].initial = self.order.category_id
        self.fields["priority"].initial = self.order.priority

    def params(self) -> dict:
        return {"category_id": self.cleaned_data["category"].id, "priority": self.cleaned_data["priority"]}


class TransferForm(DispatchForm):
    """转单: hand the order to a colleague."""

    primary = False


class HoldReason(models.TextChoices):
    PARTS = "parts", _("Waiting for parts")
    OWNER_AWAY = "owner_away", _("Owner not home")
    OTHER = "other", _("Other")


class HoldForm(OrderActionForm):
    primary = False
    reason = forms.ChoiceField(label=_("Why"), choices=HoldReason.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("Details"), max_length=150, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == HoldReason.OTHER and not cleaned.get("note"):
            self.add_error("note", _("Say why the work is on hold."))
        return cleaned

    def params(self) -> dict:
        # Kept in the installation's language: it is read later, on the timeline, by people in any language.
        with translation.override(settings.LANGUAGE_CODE):
            reason = str(HoldReason(self.cleaned_data["reason"]).label)
            note = self.cleaned_data.get("note")
            if note:
                reason = _("%(reason)s: %(note)s") % {"reason": reason, "note": note}
        return {"reason": str(reason)[:REASON_MAX]}


class BeforePhotosForm(OrderActionForm):
    """Check in on site (到场) and start: optional photos of the problem before work."""

    photo_stage = PhotoStage.BEFORE
    photos = PhotosField(label=_("Photos before work (optional)"))


class AnswerForm(OrderActionForm):
    resolution = forms.CharField(label=_("Answer"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def params(self) -> dict:
        return {"resolution": self.cleaned_data["resolution"]}


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class ResolveForm(OrderActionForm):
    """Finish: the result, the materials used (rows of name, quantity, unit) and photos after work."""

    photo_stage = PhotoStage.AFTER
    resolution = forms.CharField(label=_("Result"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    photos = PhotosField(label=_("Photos after work"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.material_rows = self._posted_rows() if self.is_bound else []
        while len(self.material_rows) < MATERIAL_ROWS:
            self.material_rows.append({"name": "", "quantity": "", "unit": ""})

    def _posted_rows(self) -> list[dict]:
        getlist = getattr(self.data, "getlist", None)
        if getlist is None:
            return []
        columns = [getlist("material_name"), getlist("material_quantity"), getlist("material_unit")]
        rows = [
            {"name": (name or "").strip(), "quantity": (quantity or "").strip(), "unit": (unit or "").strip()}
            for name, quantity, unit in zip_longest(*columns)
        ]
        return [row for row in rows if any(row.values())]

    def clean(self):
        cleaned = super().clean()
        materials = []
        if len(self.material_rows) > MATERIAL_LIMIT:
            self.add_error(None, _("At most %(limit)d materials.") % {"limit": MATERIAL_LIMIT})
            return cleaned
        for number, row in enumerate(self.material_rows, start=1):
            if not any(row.values()):
                continue
            problem = None
            quantity = None
            if not row["name"]:
                problem = _("name the material.")
            elif len(row["name"]) > 60 or len(row["unit"]) > 10:
                problem = _("a name may have at most 60 characters and a unit at most 10.")
            else:
                try:
                    quantity = Decimal(row["quantity"])
                except (InvalidOperation, ValueError):
                    problem = _("give the quantity as a number.")
                else:
                    if not quantity.is_finite() or not Decimal("0") < quantity <= Decimal("100000"):
                        problem = _("the quantity must be more than 0 and at most 100000.")
                    elif quantity != quantity.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
                        problem = _("the quantity may have at most two decimals.")
            if problem:
                self.add_error(None, _("Material row %(row)d: %(problem)s") % {"row": number, "problem": problem})
            else:
                materials.append({"name": row["name"], "quantity": _json_number(quantity), "unit": row["unit"]})
        cleaned["materials"] = materials
        return cleaned

    def params(self) -> dict:
        return {"resolution": self.cleaned_data["resolution"], "materials": self.cleaned_data["materials"]}


class VisitForm(OrderActionForm):
    """回访: customer service called the owner. Not satisfied sends the order back to be fixed again (services)."""

    satisfied = forms.TypedChoiceField(
        label=_("Is the owner satisfied?"),
        choices=[("yes", _("Satisfied")), ("no", _("Not satisfied"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def params(self) -> dict:
        return {**super().params(), "satisfied": self.cleaned_data["satisfied"]}


ACTION_FORMS: dict[str, type[OrderActionForm]] = {
    Action.ACCEPT: NoteActionForm,
    Action.CLASSIFY: ClassifyForm,
    Action.DISPATCH: DispatchForm,
    Action.TAKE: OrderActionForm,
    Action.GRAB: OrderActionForm,
    Action.ARRIVE: BeforePhotosForm,
    Action.START: BeforePhotosForm,
    Action.RESUME: OrderActionForm,
    Action.RESOLVE: ResolveForm,
    Action.ANSWER: AnswerForm,
    Action.VISIT: VisitForm,
    Action.CLOSE: NoteActionForm,
    Action.TRANSFER: TransferForm,
    Action.RETURN: ReturnForm,
    Action.HOLD: HoldForm,
    Action.REOPEN: ReopenForm,
    Action.CANCEL: CancelForm,
    Action.FORCE_CLOSE: ForceCloseForm,
}


class QueueFilterForm(forms.Form):
    """The desk queue's filters (GET). Every choice is limited to the estates the user works in."""

    STATUS_OPEN = "open"
    STATUS_ALL = "all"

    q = forms.CharField(label=_("Number or text"), max_length=100, required=False)
    estate = forms.ModelChoiceField(label=_("Estate"), queryset=None, required=False, empty_label=_("All estates"))
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(STATUS_OPEN, _("Open")), (STATUS_ALL, _("All")), *Status.choices],
        required=False,
    )
    grid = forms.ModelChoiceField(label=_("Grid"), queryset=None, required=False, empty_label=_("All grids"))
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=None, required=False, empty_label=_("All categories")
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=[("", _("Any priority")), *Priority.choices], required=False
    )
    sla = forms.ChoiceField(
        label=_("SLA"),
        choices=[("", _("Any SLA state")), ("ok", _("On time")), ("warning", _("Warning")), ("breached", _("Overdue"))],
        required=False,
    )
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)

    def __init__(self, *args, estate_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["estate"].queryset = Estate.objects.filter(id__in=estate_ids).order_by("name")
        self.fields["grid"].queryset = Grid.objects.filter(estate_id__in=estate_ids).order_by("estate_id", "name")
        self.fields["category"].queryset = Category.objects.filter(
            company__estates__id__in=estate_ids, is_active=True
        ).distinct()

    def filters(self) -> dict:
        """The valid filters as selectors.workorder_list takes them (an invalid one is ignored, and shown)."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        status = data.get("status") or self.STATUS_OPEN
        return {
            "q": data.get("q") or None,
            "estate_id": data["estate"].id if data.get("estate") else None,
            "status": None if status == self.STATUS_ALL else status,
            "grid_id": data["grid"].id if data.get("grid") else None,
            "category": data["category"].id if data.get("category") else None,
            "priority": data.get("priority") or None,
            "sla_state": data.get("sla") or None,
            "assignee": "me" if data.get("mine") else None,
        }


class NewOrderForm(forms.Form):
    """An order entered on an owner's behalf (phone, walk-in) or reported by staff themselves. The room is chosen
    with the search box (by label or by the owner's phone), the owner from the room's current residents."""

    CHANNELS = (Channel.PHONE, Channel.WALK_IN, Channel.STAFF)

    token = forms.CharField(max_length=64, widget=forms.HiddenInput)
    estate = forms.ModelChoiceField(label=_("Estate"), queryset=None, empty_label=None)
    channel = forms.ChoiceField(
        label=_("How it came in"), choices=[(c.value, c.label) for c in CHANNELS], widget=forms.RadioSelect
    )
    room = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)
    reporter = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # A fault report from an equipment page or label (wuye.equipment): the order is linked to the item.
    equipment = forms.IntegerField(required=False, widget=forms.HiddenInput)
    public_area = forms.ModelChoiceField(
        label=_("Public area"), queryset=None, required=False, empty_label=_("— not a public area —")
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=[(k.value, k.label) for k in OWNER_KINDS])
    category = forms.ModelChoiceField(label=_("Category"), queryset=None, empty_label=None)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=[("", _("The category's default")), *Priority.choices], required=False
    )
    description = forms.CharField(
        label=_("What is the problem?"), min_length=2, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos = PhotosField(label=_("Photos (optional)"))

    def __init__(self, *args, user, estate_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)
        self.user = user
        self.fields["estate"].queryset = Estate.objects.filter(id__in=estate_ids).order_by("name")
        self.fields["room"].queryset = rooms_visible(user).filter(estate_id__in=estate_ids)
        self.fields["public_area"].queryset = PublicArea.objects.filter(estate_id__in=estate_ids).order_by(
            "estate_id", "name"
        )
        self.fields["category"].queryset = Category.objects.filter(
            company__estates__id__in=estate_ids, is_active=True
        ).distinct()

    @staticmethod
    def new_token() -> str:
        """A fresh idempotency token for one form: submitting the same form twice creates one order."""
        return uuid.uuid4().hex

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if not TOKEN_PATTERN.match(token):
            raise forms.ValidationError(_("The form has expired; please submit it again."), code="bad_token")
        return token

    def clean(self):
        cleaned = super().clean()
        estate, room = cleaned.get("estate"), cleaned.get("room")
        if estate and room and room.estate_id != estate.id:
            self.add_error("room", _("The room is not in this estate."))
            room = None
        area = cleaned.get("public_area")
        if estate and area and area.estate_id != estate.id:
            self.add_error("public_area", _("The public area is not in this estate."))
        cleaned["equipment_item"] = None
        if cleaned.get("equipment"):
            item = equipment_selectors.equipment_list(self.user).filter(pk=cleaned["equipment"]).first()
            if item is None or (estate and item.estate_id != estate.id):
                self.add_error(None, _("The equipment is not in this estate."))
            else:
                cleaned["equipment_item"] = item
        cleaned["reporter_user"] = None
        reporter_id = cleaned.get("reporter")
        if reporter_id:
            if room is None:
                self.add_error("reporter", _("Choose the room first, then the owner."))
            elif not can_view_residents(self.user, room.estate):
                self.add_error("reporter", _("You may not choose residents in this estate."))
            else:
                residency = next((r for r in residents_of_room(room) if r.user_id == reporter_id), None)
                if residency is None:
                    self.add_error("reporter", _("Choose one of the room's current residents."))
                else:
                    cleaned["reporter_user"] = residency.user
        elif cleaned.get("channel") in (Channel.PHONE, Channel.WALK_IN):
            self.add_error(
                "reporter", _("Find the owner who called or came in; only orders found by staff may have no owner.")
            )
        return cleaned
