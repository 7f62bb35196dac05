"""Company scoping for the Django admin: several companies share one installation and their master data stays apart.

A Django superuser sees and edits everything. Anyone else with `is_staff` sees and edits only the rows of the
estates they manage: every estate of a company they administer (Role.COMPANY_ADMIN) and each estate where they are
project manager (Role.MANAGER). Rights come from those memberships, not from Django's per-model permission rows, so a
company administrator needs no permission rows at all and a permission row alone opens nothing.

`ScopedAdminMixin` is the one place this is enforced, for a ModelAdmin:
- `get_queryset` keeps the rows in scope, so the change list, search, autocomplete answers, list-filter choices,
  `get_object` (an out-of-scope id reads as "does not exist"), delete and history pages all see the same rows;
- foreign-key and many-to-many choices come from the related model's own scoped admin queryset;
- the view/add/change/delete and module permissions follow the memberships, object by object;
- a submitted form must not mix estates (a room in one estate, its building in another), and a saved row that would
  end up outside the editor's scope is refused (403) and rolled back.
"""

from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from wuye.accounts.choices import MASTER_DATA_ROLES, Role
from wuye.accounts.models import Membership
from wuye.accounts.selectors import roles_by_estate
from wuye.core.validators import mask_phone

from .models import Estate

_SCOPE_CACHE_ATTR = "_wuye_admin_scope"
_REQUEST_CACHE_ATTR = "_wuye_admin_answers"


@dataclass(frozen=True)
class AdminScope:
    """What a non-superuser may manage in the admin: estate ids, and the companies they administer as a whole."""

    estate_ids: frozenset[int] = frozenset()
    company_ids: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.estate_ids or self.company_ids)

    @property
    def estates(self) -> list[int]:
        return sorted(self.estate_ids)

    @property
    def companies(self) -> list[int]:
        return sorted(self.company_ids)


def admin_scope(user) -> AdminScope:
    """The estates and companies `user` manages master data for. Cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return AdminScope()
    cached = getattr(user, _SCOPE_CACHE_ATTR, None)
    if cached is not None:
        return cached
    estate_ids = {estate_id for estate_id, held in roles_by_estate(user).items() if held & MASTER_DATA_ROLES}
    company_ids = set(
        Membership.objects.filter(user=user, role=Role.COMPANY_ADMIN).values_list("company_id", flat=True)
    )
    if company_ids:
        # Inactive estates too: roles_by_estate leaves them out, but their company administrator must still be able
        # to see and reopen them.
        estate_ids |= set(Estate.objects.filter(company_id__in=company_ids).values_list("id", flat=True))
    scope = AdminScope(estate_ids=frozenset(estate_ids), company_ids=frozenset(company_ids))
    setattr(user, _SCOPE_CACHE_ATTR, scope)
    return scope


def admin_scope_forget(user) -> None:
    """Drop the cached scope and roles, after a save that may have changed them (a new estate, a new membership)."""
    for attr in (_SCOPE_CACHE_ATTR, "_wuye_roles_by_estate"):
        if hasattr(user, attr):
            delattr(user, attr)


def request_cached(request, key, compute):
    """A per-request memo: one change page asks the same permission question a dozen times."""
    cache = request.__dict__.setdefault(_REQUEST_CACHE_ATTR, {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def request_cache_clear(request) -> None:
    request.__dict__.pop(_REQUEST_CACHE_ATTR, None)


def _model_admin(admin_site, model):
    try:
        return admin_site.get_model_admin(model)
    except NotRegistered:
        return None


def scoped_choices(admin_site, request, model) -> QuerySet | None:
    """The rows of `model` the user may pick in a form: its registered admin's scoped queryset. None means Django's
    default (superusers, for models without a scoped admin); a non-superuser gets nothing from an unscoped admin."""
    related_admin = _model_admin(admin_site, model)
    if isinstance(related_admin, ScopedAdminMixin):
        return related_admin.get_queryset(request)
    if request.user.is_superuser:
        return None
    return model._default_manager.none()


def estate_id_of(admin_site, obj) -> int | None:
    """The id of the estate a row belongs to, following its admin's `scope_path`; None when it has no single estate."""
    path = getattr(_model_admin(admin_site, type(obj)), "scope_path", None)
    if path is None:
        return None
    if path == "":
        return obj.pk
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id")


def check_same_estate(admin_site, form, cleaned_data) -> None:
    """Refuse a form whose chosen rows belong to different estates (a room's estate, building and unit; a building's
    grid): rooms carry their estate twice, and a mismatch would show the row to the wrong estate's staff."""
    seen: dict[str, int] = {}
    for name, value in cleaned_data.items():
        if isinstance(value, models.Model):
            estate_id = estate_id_of(admin_site, value)
            if estate_id is not None:
                seen[name] = estate_id
    if len(set(seen.values())) > 1:
        labels = ", ".join(str(form.fields[name].label or name) for name in seen if name in form.fields)
        raise ValidationError(
            format_lazy("{}: {}", labels, _("these must all belong to the same estate.")), code="estate_mismatch"
        )


class ScopedRelatedFilter(admin.RelatedOnlyFieldListFilter):
    """A related-field list filter offering only rows that are both used by the listed rows and in the user's scope:
    a user linked to two companies' estates must not reveal the other company's estate name in the sidebar."""

    def field_choices(self, field, request, model_admin):
        used = model_admin.get_queryset(request).distinct().values_list(f"{self.field_path}__pk", flat=True)
        limit = Q(pk__in=used)
        if not request.user.is_superuser:
            allowed = scoped_choices(model_admin.admin_site, request, field.remote_field.model)
            limit &= Q(pk__in=allowed.values("pk"))
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, limit_choices_to=limit, ordering=ordering)


class _ScopedFormFieldsMixin:
    """Foreign-key and many-to-many choices limited to the user's scope, for model admins and inlines alike."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            queryset = scoped_choices(self.admin_site, request, db_field.remote_field.model)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            queryset = scoped_choices(self.admin_site, request, db_field.remote_field.model)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedAdminMixin(_ScopedFormFieldsMixin):
    """Mix into a ModelAdmin (before it) to confine non-superusers to the estates and companies they manage.

    `scope_path` is the lookup from the model to its Estate: "estate", "building__estate", "room__estate"; "" when
    the model is Estate. Admins of rows that belong to no single estate (users, memberships, companies) leave it None
    and override `scope_filter`. `superuser_only` marks installation-wide tables nobody else may open.
    """

    scope_path: str | None = None
    superuser_only: bool = False

    # The queryset.

    def scope_filter(self, request, scope: AdminScope) -> Q:
        """The condition a row meets when it lies inside `scope`."""
        if self.scope_path is None:
            raise NotImplementedError(f"{type(self).__name__} needs a scope_path or its own scope_filter().")
        if self.scope_path == "":
            return Q(pk__in=scope.estates)
        return Q(**{f"{self.scope_path}__in": scope.estates})

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if isinstance(self.list_select_related, list | tuple):
            # Also for autocomplete answers and FK choices, which print str(row) without the change list's joins.
            queryset = queryset.select_related(*self.list_select_related)
        if request.user.is_superuser:
            return queryset
        scope = admin_scope(request.user)
        if self.superuser_only or not scope:
            return queryset.none()
        return queryset.filter(self.scope_filter(request, scope))

    def in_scope(self, request, obj) -> bool:
        """Whether one row lies inside the user's scope (always, for a superuser)."""
        if request.user.is_superuser:
            return True
        scope = admin_scope(request.user)
        if self.superuser_only or not scope:
            return False
        if self.scope_path is not None:
            return estate_id_of(self.admin_site, obj) in scope.estate_ids
        if obj.pk is None:
            return False
        return request_cached(
            request, ("in_scope", type(self), obj.pk), lambda: self.get_queryset(request).filter(pk=obj.pk).exists()
        )

    # Permissions: memberships, not Django's permission rows.

    def may_manage(self, request) -> bool:
        """Whether a non-superuser may use this admin at all."""
        return not self.superuser_only and bool(admin_scope(request.user))

    def has_module_permission(self, request):
        if request.user.is_superuser:
            return super().has_module_permission(request)
        return self.may_manage(request)

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        return self.may_manage(request) and (obj is None or self.in_scope(request, obj))

    def has_add_permission(self, request):
        if request.user.is_superuser:
            return super().has_add_permission(request)
        return self.may_manage(request)

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        return self.may_manage(request) and (obj is None or self.in_scope(request, obj))

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return self.may_manage(request) and (obj is None or self.in_scope(request, obj))

    # Forms.

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class ScopedForm(form):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                model_admin.prepare_form(request, self)

            def clean(self):
                cleaned_data = super().clean()
                model_admin.validate_form(request, self, cleaned_data)
                return cleaned_data

        ScopedForm.__name__ = ScopedForm.__qualname__ = form.__name__
        return ScopedForm

    def prepare_form(self, request, form) -> None:
        """Per-request adjustments of a form's fields (choices of fields that are not model fields)."""

    def validate_form(self, request, form, cleaned_data) -> None:
        """Cross-field rules; raise ValidationError. By default: everything chosen belongs to one estate."""
        check_same_estate(self.admin_site, form, cleaned_data)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if request.user.is_superuser:
            return
        # The last guard: whatever the form allowed, a row saved outside the editor's scope is refused; the admin's
        # change view runs in a transaction, so the refusal rolls the save back.
        admin_scope_forget(request.user)
        request_cache_clear(request)
        if not self.in_scope(request, form.instance):
            raise PermissionDenied


class ScopedInlineMixin(_ScopedFormFieldsMixin):
    """Mix into an inline: choices scoped like the parent admin's, and permissions those of the parent row."""

    def _parent_admin(self):
        return _model_admin(self.admin_site, self.parent_model)

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        return self._parent_admin().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_add_permission(request, obj)
        return self._parent_admin().has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        return self._parent_admin().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return self._parent_admin().has_change_permission(request, obj)


class ReadOnlyAdminMixin:
    """Rows written only by the system (tokens, sign-in failures): nobody adds or edits them in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def masked_phone_column(lookup: str):
    """A list column showing a phone number as 138****1234. `lookup` leads from the row to the phone field."""

    @admin.display(description=_("mobile phone"))
    def column(self, obj):
        value = obj
        for hop in lookup.split("__"):
            value = getattr(value, hop, None)
        return mask_phone(value)

    return column
