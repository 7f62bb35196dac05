"""Sign-in, tokens, throttling, logout and disabled accounts, through the API as a client would use it."""

import datetime as dt

import pytest
import time_machine

from wuye.accounts import services
from wuye.accounts.models import ApiToken, LoginFailure
from wuye.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db


def token_for(client, username: str, password: str = PASSWORD):
    return client.post(
        "/api/v1/auth/token", {"username": username, "password": password}, content_type="application/json"
    )


def test_token_with_username_then_me_returns_the_owner_and_their_room(client, cast):
    response = token_for(client, "owner")
    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "owner"
    assert [room["label"] for room in body["rooms"]] == ["1-1-101"]
    assert [(m["estate_id"], m["role"]) for m in body["memberships"]] == [(cast.estate.id, "owner")]


def test_token_with_phone_number_signs_in_the_same_account(client, cast):
    response = token_for(client, cast.owner.phone)
    assert response.status_code == 200
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json()['token']}"})
    assert me.json()["id"] == cast.owner.id


def test_only_a_hash_of_the_token_is_stored(client, cast):
    raw = token_for(client, "owner").json()["token"]
    stored = ApiToken.objects.get(user=cast.owner)
    assert raw not in (stored.key_hash, stored.prefix + "x")
    assert stored.key_hash != raw and len(stored.key_hash) == 64


def test_wrong_password_gets_401_with_a_message_that_does_not_reveal_the_account(client, cast):
    wrong = token_for(client, "owner", "nope")
    missing = token_for(client, "nobody-here", "nope")
    assert wrong.status_code == missing.status_code == 401
    assert wrong.json()["code"] == missing.json()["code"] == "bad_credentials"
    assert wrong.json()["message"] == missing.json()["message"]


def test_missing_fields_get_422_naming_the_field(client, cast):
    response = client.post("/api/v1/auth/token", {"username": "owner"}, content_type="application/json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert [error["field"] for error in body["errors"]] == ["password"]


def test_validation_messages_follow_the_callers_language(client, cast):
    zh = client.post("/api/v1/auth/token", {}, content_type="application/json", headers={"Accept-Language": "zh-hans"})
    en = client.post("/api/v1/auth/token", {}, content_type="application/json", headers={"Accept-Language": "en"})
    assert zh.status_code == en.status_code == 422
    assert en.json()["errors"][0]["message"] == "This field is required."
    assert zh.json()["errors"][0]["message"] != en.json()["errors"][0]["message"]


def test_repeated_failures_lock_the_account_even_with_the_right_password(client, cast, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        assert token_for(client, "owner", "bad").status_code == 401
    locked = token_for(client, "owner")
    assert locked.status_code == 429
    assert locked.json()["code"] == "throttled"
    # Another account from the same address is not locked by these three failures.
    assert token_for(client, "other_owner").status_code == 200


def test_the_lock_lifts_when_the_window_has_passed(client, cast, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600
    with time_machine.travel(dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        token_for(client, "owner", "bad")
        token_for(client, "owner", "bad")
        assert token_for(client, "owner").status_code == 429
        traveller.shift(dt.timedelta(minutes=11))
        assert token_for(client, "owner").status_code == 200
    assert not LoginFailure.objects.filter(identifier="owner").exists()


def test_logout_revokes_the_token_in_use(client, cast):
    raw = token_for(client, "owner").json()["token"]
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_disabled_account_loses_its_token_and_session_at_once(cast):
    api = cast.api("supervisor")
    page = cast.browser("supervisor")
    assert api.get("/api/v1/me").status_code == 200
    assert page.get("/desk/").status_code == 200
    services.user_deactivate(user=cast.supervisor)
    assert api.get("/api/v1/me").status_code == 401
    assert page.get("/desk/").status_code == 302  # back to sign-in
    assert token_for(page, "supervisor").status_code == 401


def test_disabling_without_the_service_still_stops_tokens(cast):
    api = cast.api("technician")
    cast.technician.is_active = False
    cast.technician.save(update_fields=["is_active"])
    assert api.get("/api/v1/me").status_code == 401


def test_expired_token_is_refused(client, cast, settings):
    settings.API_TOKEN_TTL_DAYS = 1
    with time_machine.travel(dt.datetime(2026, 11, 1, tzinfo=dt.UTC), tick=False):
        raw = token_for(client, "owner").json()["token"]
    with time_machine.travel(dt.datetime(2026, 11, 3, tzinfo=dt.UTC), tick=False):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_garbage_bearer_token_gets_401_json(client, cast):
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_session_post_to_the_api_without_csrf_token_is_refused(cast):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.owner)
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code in (401, 403)


def test_prune_removes_expired_tokens_and_old_failures(cast):
    now = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    services.api_token_issue(user=cast.owner, now=now - dt.timedelta(days=60))
    kept, _raw = services.api_token_issue(user=cast.owner, now=now)
    services.login_failure_record(identifier="x", ip_address=None, now=now - dt.timedelta(days=1))
    services.login_failure_record(identifier="y", ip_address=None, now=now)
    assert services.credentials_prune(now=now) == (1, 1)
    assert list(ApiToken.objects.values_list("id", flat=True)) == [kept.id]
    assert list(LoginFailure.objects.values_list("identifier", flat=True)) == ["y"]
