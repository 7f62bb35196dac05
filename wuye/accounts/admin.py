"""People and access in the admin: users, memberships, residencies, API tokens and failed sign-ins.

Company-scoped like the rest of the master data (wuye.estates.admin_scoping). Phone and ID numbers are masked in every
list; a user's own change form shows them in full, since it is where an administrator corrects them.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from wuye.core.validators import mask_id_number, mask_phone, normalize_id_number, normalize_phone
from wuye.estates.admin_scoping import (
    AdminScope,
    ReadOnlyAdminMixin,
    ScopedAdminMixin,
    ScopedRelatedFilter,
    admin_scope,
    check_same_estate,
    masked_phone_column,
    request_cached,
)
from wuye.estates.models import Estate

from . import services
from .choices import Relation, Role
from .models import ApiToken, LoginFailure, Membership, Residency, User


def users_in_scope(scope: AdminScope) -> Q:
    """Users linked to the scope: a membership in one of its estates, a residency in one of its rooms, or company
    administration of one of its companies."""
    return (
        Q(pk__in=Membership.objects.filter(estate_id__in=scope.estates).values("user_id"))
        | Q(pk__in=Residency.objects.filter(room__estate_id__in=scope.estates).values("user_id"))
        | Q(pk__in=Membership.objects.filter(estate__isnull=True, company_id__in=scope.companies).values("user_id"))
    )


def users_wholly_in_scope(scope: AdminScope) -> Q:
    """Users whose every link lies inside the scope. Only these may be edited (password, active flag, phone) by a
    non-superuser: editing someone who also works for, or lives in, another company's estate would reach into it."""
    return (
        users_in_scope(scope)
        & Q(is_superuser=False)
        & ~Q(
            pk__in=Membership.objects.filter(estate__isnull=False)
            .exclude(estate_id__in=scope.estates)
            .values("user_id")
        )
        & ~Q(
            pk__in=Membership.objects.filter(estate__isnull=True)
            .exclude(company_id__in=scope.companies)
            .values("user_id")
        )
        & ~Q(pk__in=Residency.objects.exclude(room__estate_id__in=scope.estates).values("user_id"))
    )


def phone_form_field() -> forms.CharField:
    """Room for "+86 138-0013-8000" as people type it; clean_phone stores the 11 digits."""
    return forms.CharField(
        label=User._meta.get_field("phone").verbose_name, max_length=20, required=False, empty_value=None
    )


def _clean_phone(value):
    return normalize_phone(value) if value else None


def _clean_id_number(value):
    return normalize_id_number(value) if value else ""


class UserAddForm(AdminUserCreationForm):
    """A new account: sign-in name, name and mobile number, and the first role, which links it to an estate (without
    one a company administrator could not see the account they just created)."""

    phone = phone_form_field()
    estate = forms.ModelChoiceField(label=_("estate"), queryset=Estate.objects.none(), required=False)
    role = forms.ChoiceField(label=_("role"), choices=[("", "---------"), *Role.choices], required=False)

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "name", "phone")

    def clean_phone(self):
        return _clean_phone(self.cleaned_data.get("phone"))


class UserChangeForm(DjangoUserChangeForm):
    phone = phone_form_field()

    class Meta(DjangoUserChangeForm.Meta):
        model = User
        fields = "__all__"

    def clean_phone(self):
        return _clean_phone(self.cleaned_data.get("phone"))

    def clean_id_number(self):
        return _clean_id_number(self.cleaned_data.get("id_number"))


@admin.register(User)
class UserAdmin(ScopedAdminMixin, DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserAddForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("name", "phone", "id_number", "email")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "name", "phone", "usable_password", "password1", "password2"),
            },
        ),
        (_("First role"), {"fields": ("estate", "role")}),
    )
    list_display = ("username", "name", "phone_masked", "id_number_masked", "is_active", "is_staff", "last_login")
    list_filter = (
        "is_active",
        "is_staff",
        "is_superuser",
        "memberships__role",
        ("memberships__estate", ScopedRelatedFilter),
    )
    search_fields = ("username", "name", "phone", "email")
    ordering = ("username",)
    actions = ("deactivate_selected",)

    phone_masked = masked_phone_column("phone")

    @admin.display(description=_("ID number"))
    def id_number_masked(self, obj):
        return mask_id_number(obj.id_number)

    # Scope.

    def scope_filter(self, request, scope):
        return users_in_scope(scope)

    def may_edit(self, request, obj) -> bool:
        if request.user.is_superuser:
            return True
        scope = admin_scope(request.user)
        if not scope or obj.pk is None:
            return False
        return request_cached(
            request,
            ("may_edit_user", obj.pk),
            lambda: User.objects.filter(users_wholly_in_scope(scope), pk=obj.pk).exists(),
        )

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self.may_edit(request, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self.may_edit(request, obj))

    # Forms: only superusers hand out admin access and Django permissions.

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or request.user.is_superuser:
            return fieldsets
        hidden = {"groups", "user_permissions"}
        return tuple(
            (title, {**options, "fields": tuple(f for f in options["fields"] if f not in hidden)})
            for title, options in fieldsets
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return readonly
        return (*readonly, "is_staff", "is_superuser", "last_login", "date_joined")

    def prepare_form(self, request, form):
        if "estate" not in form.fields:
            return
        if request.user.is_superuser:
            form.fields["estate"].queryset = Estate.objects.select_related("company")
        else:
            form.fields["estate"].queryset = Estate.objects.filter(pk__in=admin_scope(request.user).estates)
            form.fields["estate"].required = True
            form.fields["role"].required = True

    def validate_form(self, request, form, cleaned_data):
        check_same_estate(self.admin_site, form, cleaned_data)
        if "estate" not in form.fields:
            return
        estate, role = cleaned_data.get("estate"), cleaned_data.get("role")
        if bool(estate) != bool(role):
            raise ValidationError(_("Choose both an estate and a role, or neither."), code="role_incomplete")
        if (
            role == Role.COMPANY_ADMIN
            and not request.user.is_superuser
            and estate.company_id not in admin_scope(request.user).company_ids
        ):
            raise ValidationError(
                _("Only a company administrator can appoint another company administrator."), code="role_not_allowed"
            )

    def save_model(self, request, obj, form, change):
        deactivated = change and "is_active" in form.changed_data and not obj.is_active
        super().save_model(request, obj, form, change)
        if deactivated:
            services.user_deactivate(user=obj)
        if not change and form.cleaned_data.get("estate"):
            services.membership_ensure(user=obj, estate=form.cleaned_data["estate"], role=form.cleaned_data["role"])

    @admin.action(description=_("Deactivate selected accounts"), permissions=("change",))
    def deactivate_selected(self, request, queryset):
        if not request.user.is_superuser:
            queryset = queryset.filter(users_wholly_in_scope(admin_scope(request.user)))
        # Locking oneself out of the admin by a select-all is never what was meant.
        queryset = queryset.filter(is_active=True).exclude(pk=request.user.pk)
        count = 0
        for user in queryset:
            services.user_deactivate(user=user)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d account deactivated.", "%(count)d accounts deactivated.", count) % {"count": count},
            messages.SUCCESS,
        )


@admin.register(Membership)
class MembershipAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("user", "phone_masked", "role", "estate", "company", "created_at")
    list_filter = ("role", ("estate", ScopedRelatedFilter), ("company", ScopedRelatedFilter))
    list_select_related = ("user", "estate", "company")
    search_fields = ("user__username", "user__name", "user__phone", "estate__name")
    autocomplete_fields = ("user",)

    phone_masked = masked_phone_column("user__phone")

    def scope_filter(self, request, scope):
        return Q(estate_id__in=scope.estates) | Q(estate__isnull=True, company_id__in=scope.companies)

    def validate_form(self, request, form, cleaned_data):
        company, estate, role = cleaned_data.get("company"), cleaned_data.get("estate"), cleaned_data.get("role")
        if company and estate and estate.company_id != company.pk:
            raise ValidationError({"estate": _("The estate belongs to another company.")})
        if (
            role == Role.COMPANY_ADMIN
            and company
            and not request.user.is_superuser
            and company.pk not in admin_scope(request.user).company_ids
        ):
            raise ValidationError(
                {"role": _("Only a company administrator can appoint another company administrator.")}
            )


@admin.register(Residency)
class ResidencyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path = "room__estate"
    list_display = ("user", "phone_masked", "room", "estate_name", "relation", "move_in_on", "move_out_on")
    list_filter = ("relation", ("room__estate", ScopedRelatedFilter))
    list_select_related = ("user", "room__estate", "room__building", "room__unit")
    search_fields = ("user__username", "user__name", "user__phone", "room__number", "room__building__name")
    autocomplete_fields = ("user", "room")

    phone_masked = masked_phone_column("user__phone")

    @admin.display(description=_("estate"), ordering="room__estate__name")
    def estate_name(self, obj):
        return obj.room.estate.name

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # As residency_create does: living in a room gives the matching role in its estate.
            role = Role.OWNER if obj.relation == Relation.OWNER else Role.RESIDENT
            services.membership_ensure(user=obj.user, estate=obj.room.estate, role=role)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Tokens are issued and revoked by the API; here they are only looked at, never edited, and the hash is never
    shown. Deleting stays allowed (it is a revocation): deleting a user deletes their tokens, and the admin refuses a
    deletion that would take rows the editor may not delete."""

    fields = ("prefix", "user", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    exclude = ("key_hash",)
    list_display = ("prefix", "user", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_select_related = ("user",)
    search_fields = ("prefix", "user__username", "user__name", "user__phone")
    show_full_result_count = False

    def scope_filter(self, request, scope):
        return Q(user__in=User.objects.filter(users_in_scope(scope)))


@admin.register(LoginFailure)
class LoginFailureAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Installation-wide: a sign-in name or address belongs to no company. Superusers may delete rows to lift a
    lock-out early."""

    superuser_only = True
    list_display = ("identifier_masked", "ip_address", "at")
    search_fields = ("identifier", "ip_address")
    date_hierarchy = "at"
    show_full_result_count = False

    @admin.display(description=_("username or mobile number"), ordering="identifier")
    def identifier_masked(self, obj):
        # Phone numbers are a common sign-in name; they stay masked in lists like everywhere else.
        identifier = obj.identifier
        return mask_phone(identifier) if identifier.isdigit() and len(identifier) == 11 else identifier
