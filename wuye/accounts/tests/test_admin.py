"""The users admin: scoped to the company, phone and ID numbers masked in lists, deactivation revokes API tokens."""

from django.test import Client

from wuye.accounts import services
from wuye.accounts.choices import Role
from wuye.accounts.models import ApiToken, Membership, User
from wuye.testing.plugin import listed_pks

ID_NUMBER = "11010519491231002X"


def change_form_data(user: User, **overrides) -> dict:
    """What a company administrator's browser posts from a user's change form (no permission fields)."""
    data = {
        "username": user.username,
        "name": user.name,
        "phone": user.phone or "",
        "id_number": user.id_number,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value != ""}


def test_company_admin_user_list_shows_the_company_people_and_not_the_other_company(admin_cast):
    pks = listed_pks(admin_cast.browser("company_admin").get("/admin/accounts/user/"))
    assert {admin_cast.owner.pk, admin_cast.technician.pk, admin_cast.company_admin.pk} <= pks
    assert admin_cast.stranger_supervisor.pk not in pks
    assert admin_cast.superuser.pk not in pks


def test_manager_user_list_leaves_out_a_company_administrator_without_an_estate_role(admin_cast):
    pks = listed_pks(admin_cast.browser("manager").get("/admin/accounts/user/"))
    assert admin_cast.owner.pk in pks
    assert admin_cast.company_admin.pk not in pks


def test_superuser_user_list_shows_both_companies(admin_cast):
    pks = listed_pks(admin_cast.browser("superuser").get("/admin/accounts/user/"))
    assert {admin_cast.owner.pk, admin_cast.stranger_supervisor.pk} <= pks


def test_phone_and_id_numbers_are_masked_in_the_user_list(admin_cast):
    owner = admin_cast.owner
    owner.id_number = ID_NUMBER
    owner.save(update_fields=["id_number"])
    html = admin_cast.browser("company_admin").get("/admin/accounts/user/").content.decode()
    assert owner.phone not in html
    assert f"{owner.phone[:3]}****{owner.phone[-4:]}" in html
    assert ID_NUMBER not in html
    assert "110***********002X" in html


def test_phone_numbers_are_masked_in_the_membership_and_residency_lists(admin_cast):
    client = admin_cast.browser("company_admin")
    for url in ("/admin/accounts/membership/", "/admin/accounts/residency/"):
        html = client.get(url).content.decode()
        assert admin_cast.owner.phone not in html, url
        assert f"{admin_cast.owner.phone[:3]}****" in html, url


def test_searching_by_the_full_phone_number_finds_the_user(admin_cast):
    response = admin_cast.browser("company_admin").get("/admin/accounts/user/", {"q": admin_cast.owner.phone})
    assert listed_pks(response) == {admin_cast.owner.pk}


def test_searching_for_another_company_person_by_phone_finds_nobody(admin_cast):
    phone = admin_cast.stranger_supervisor.phone
    response = admin_cast.browser("company_admin").get("/admin/accounts/user/", {"q": phone})
    assert listed_pks(response) == set()


def test_the_user_change_form_shows_the_full_phone_to_an_administrator(admin_cast):
    response = admin_cast.browser("company_admin").get(f"/admin/accounts/user/{admin_cast.owner.pk}/change/")
    assert response.status_code == 200
    assert admin_cast.owner.phone in response.content.decode()


def test_another_company_user_change_page_reads_as_missing(admin_cast):
    response = admin_cast.browser("company_admin").get(
        f"/admin/accounts/user/{admin_cast.stranger_supervisor.pk}/change/"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    password_page = admin_cast.browser("company_admin").get(
        f"/admin/accounts/user/{admin_cast.stranger_supervisor.pk}/password/"
    )
    assert password_page.status_code == 404


def test_user_autocomplete_answers_only_people_in_scope(admin_cast):
    response = admin_cast.browser("company_admin").get(
        "/admin/autocomplete/",
        {"app_label": "accounts", "model_name": "membership", "field_name": "user", "term": ""},
    )
    assert response.status_code == 200
    ids = {int(result["id"]) for result in response.json()["results"]}
    assert admin_cast.owner.pk in ids
    assert admin_cast.stranger_supervisor.pk not in ids


def test_unticking_active_in_the_change_form_revokes_the_api_tokens(admin_cast):
    owner = admin_cast.owner
    token, raw = services.api_token_issue(user=owner)
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/me").status_code == 200

    response = admin_cast.browser("company_admin").post(
        f"/admin/accounts/user/{owner.pk}/change/", change_form_data(owner, is_active="")
    )

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    owner.refresh_from_db()
    assert not owner.is_active
    assert api.get("/api/v1/me").status_code == 401


def test_saving_an_active_user_leaves_the_tokens_alone(admin_cast):
    token, _raw = services.api_token_issue(user=admin_cast.owner)
    response = admin_cast.browser("company_admin").post(
        f"/admin/accounts/user/{admin_cast.owner.pk}/change/", change_form_data(admin_cast.owner, name="王大业主")
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_deactivate_action_revokes_tokens_and_spares_the_acting_administrator(admin_cast):
    token, _raw = services.api_token_issue(user=admin_cast.technician)
    response = admin_cast.browser("company_admin").post(
        "/admin/accounts/user/",
        {
            "action": "deactivate_selected",
            "_selected_action": [admin_cast.technician.pk, admin_cast.company_admin.pk],
        },
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert not User.objects.get(pk=admin_cast.technician.pk).is_active
    assert User.objects.get(pk=admin_cast.company_admin.pk).is_active


def test_the_deactivate_action_cannot_reach_another_company_user(admin_cast):
    admin_cast.browser("company_admin").post(
        "/admin/accounts/user/",
        {"action": "deactivate_selected", "_selected_action": [admin_cast.stranger_supervisor.pk]},
    )
    assert User.objects.get(pk=admin_cast.stranger_supervisor.pk).is_active


def test_a_company_admin_cannot_grant_admin_access_or_superuser_rights(admin_cast):
    owner = admin_cast.owner
    response = admin_cast.browser("company_admin").post(
        f"/admin/accounts/user/{owner.pk}/change/",
        change_form_data(owner, is_staff="on", is_superuser="on", user_permissions=["1"]),
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert not owner.is_staff
    assert not owner.is_superuser
    assert not owner.user_permissions.exists()
    form = admin_cast.browser("company_admin").get(f"/admin/accounts/user/{owner.pk}/change/").context["adminform"]
    assert not {"is_staff", "is_superuser", "groups", "user_permissions"} & set(form.form.fields)


def test_someone_who_also_works_for_another_company_is_view_only(admin_cast):
    moonlighter = admin_cast.technician
    services.membership_ensure(user=moonlighter, estate=admin_cast.other_estate, role=Role.TECHNICIAN)
    client = admin_cast.browser("company_admin")
    assert client.get(f"/admin/accounts/user/{moonlighter.pk}/change/").status_code == 200
    response = client.post(
        f"/admin/accounts/user/{moonlighter.pk}/change/", change_form_data(moonlighter, is_active="")
    )
    assert response.status_code == 403
    assert User.objects.get(pk=moonlighter.pk).is_active
    assert client.get(f"/admin/accounts/user/{moonlighter.pk}/password/").status_code == 403


def test_a_company_admin_creates_an_account_with_its_first_role(admin_cast):
    client = admin_cast.browser("company_admin")
    form = client.get("/admin/accounts/user/add/").context["adminform"].form
    assert set(form.fields["estate"].queryset) == {admin_cast.estate}
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "new_tech",
            "name": "新技工",
            "phone": "+86 138-0013-8000",
            "usable_password": "true",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
            "estate": admin_cast.estate.pk,
            "role": Role.TECHNICIAN,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = User.objects.get(username="new_tech")
    assert created.phone == "13800138000"
    assert not created.is_staff
    assert Membership.objects.filter(user=created, estate=admin_cast.estate, role=Role.TECHNICIAN).exists()
    assert client.get(f"/admin/accounts/user/{created.pk}/change/").status_code == 200


def test_a_company_admin_cannot_create_an_account_in_another_company_estate(admin_cast):
    response = admin_cast.browser("company_admin").post(
        "/admin/accounts/user/add/",
        {
            "username": "spy",
            "usable_password": "false",
            "estate": admin_cast.other_estate.pk,
            "role": Role.TECHNICIAN,
        },
    )
    assert response.status_code == 200
    assert "estate" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="spy").exists()


def test_a_manager_cannot_create_a_company_administrator(admin_cast):
    response = admin_cast.browser("manager").post(
        "/admin/accounts/user/add/",
        {"username": "boss", "usable_password": "false", "estate": admin_cast.estate.pk, "role": Role.COMPANY_ADMIN},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors().as_data()
    assert [error.code for error in errors] == ["role_not_allowed"]
    assert not User.objects.filter(username="boss").exists()


def test_an_invalid_phone_number_is_refused_with_the_rule(admin_cast):
    response = admin_cast.browser("company_admin").post(
        f"/admin/accounts/user/{admin_cast.owner.pk}/change/", change_form_data(admin_cast.owner, phone="12345")
    )
    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors


def test_user_list_estate_filter_never_names_another_company_estate(admin_cast):
    # The owner also lives in the other company's estate: the filter must still not reveal that estate's name.
    services.residency_create(user=admin_cast.owner, room=admin_cast.stranger_room)
    html = admin_cast.browser("company_admin").get("/admin/accounts/user/").content.decode()
    assert admin_cast.estate.name in html
    assert admin_cast.other_estate.name not in html


def test_the_api_token_list_never_shows_the_key_hash(admin_cast):
    token, _raw = services.api_token_issue(user=admin_cast.owner)
    stranger_token, _raw = services.api_token_issue(user=admin_cast.stranger_supervisor)
    client = admin_cast.browser("company_admin")
    response = client.get("/admin/accounts/apitoken/")
    assert listed_pks(response) == {token.pk}
    detail = client.get(f"/admin/accounts/apitoken/{token.pk}/change/")
    assert detail.status_code == 200
    assert token.prefix in detail.content.decode()
    for page in (response, detail):
        assert token.key_hash not in page.content.decode()
    assert client.post(f"/admin/accounts/apitoken/{token.pk}/change/", {"prefix": "x"}).status_code == 403
    assert ApiToken.objects.get(pk=token.pk).prefix == token.prefix


def test_technician_with_admin_access_is_forbidden_the_user_list(admin_cast):
    assert admin_cast.browser("technician").get("/admin/accounts/user/").status_code == 403


def test_deleting_a_user_takes_their_tokens_along(admin_cast):
    services.api_token_issue(user=admin_cast.technician)
    response = admin_cast.browser("company_admin").post(
        f"/admin/accounts/user/{admin_cast.technician.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=admin_cast.technician.pk).exists()
    assert not ApiToken.objects.filter(user_id=admin_cast.technician.pk).exists()


def test_a_user_who_also_lives_in_another_company_estate_cannot_be_deleted_by_the_company_admin(admin_cast):
    services.residency_create(user=admin_cast.owner, room=admin_cast.stranger_room)
    response = admin_cast.browser("company_admin").post(
        f"/admin/accounts/user/{admin_cast.owner.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert User.objects.filter(pk=admin_cast.owner.pk).exists()
