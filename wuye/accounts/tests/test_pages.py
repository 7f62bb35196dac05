"""Sign-in and sign-out pages, landing, and the language switch."""

import pytest
from django.test import Client

from wuye.testing.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_sign_in_page_is_chinese_by_default(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.content.decode()


def test_owner_signs_in_with_phone_and_lands_on_the_portal(client, cast):
    response = client.post("/accounts/login/", {"identifier": cast.owner.phone, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/").headers["Location"] == "/portal/"


def test_supervisor_lands_on_the_desk(client, cast):
    response = client.post("/accounts/login/", {"identifier": "supervisor", "password": PASSWORD})
    assert response["Location"] == "/desk/"


def test_user_without_any_role_is_told_so(client, db):
    UserFactory(username="loner")
    client.post("/accounts/login/", {"identifier": "loner", "password": PASSWORD})
    response = client.get("/", follow=True)
    assert response.status_code == 403
    assert response.redirect_chain[-1][0] == "/accounts/no-role/"


def test_wrong_password_shows_the_form_again_with_an_error(client, cast):
    response = client.post("/accounts/login/", {"identifier": "owner", "password": "wrong"})
    assert response.status_code == 401
    assert "_auth_user_id" not in client.session


def test_sign_in_page_is_throttled_too(client, cast, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    client.post("/accounts/login/", {"identifier": "owner", "password": "wrong"})
    client.post("/accounts/login/", {"identifier": "owner", "password": "wrong"})
    response = client.post("/accounts/login/", {"identifier": "owner", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_next_parameter_cannot_send_people_off_site(client, cast):
    response = client.post("/accounts/login/?next=https://evil.example/", {"identifier": "owner", "password": PASSWORD})
    assert response["Location"] == "/portal/"


def test_logout_ends_the_session(cast):
    client = cast.browser("owner")
    assert client.get("/portal/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/portal/").status_code == 302


def test_logout_by_get_is_refused(cast):
    client = cast.browser("owner")
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/portal/").status_code == 200


def test_language_switch_to_english_changes_the_page(cast):
    client = cast.browser("owner")
    assert "您好，王业主" in client.get("/portal/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/portal/"})
    page = client.get("/portal/").content.decode()
    assert '<html lang="en">' in page
    assert "Hello, 王业主" in page


def test_healthz_answers_ok_when_the_database_answers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_fails(client, db, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(self, sql, params=None):
        raise RuntimeError("database down")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = Client().get("/healthz")
    assert response.status_code == 503


def test_pages_stay_chinese_for_an_english_browser_until_english_is_chosen(cast):
    client = cast.browser("owner")
    page = client.get("/portal/", headers={"Accept-Language": "en-US,en;q=0.9"}).content.decode()
    assert "您好，王业主" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/portal/"})
    assert "Hello, 王业主" in client.get("/portal/", headers={"Accept-Language": "zh-CN"}).content.decode()
