"""pytest plugin (loaded with -p wuye.testing.plugin): the cast fixture and service checks."""

import contextlib
import os

import pytest


@pytest.fixture
def cast(db):
    from .cast import build_cast

    return build_cast()


@pytest.fixture
def admin_cast(cast):
    """The cast with Django-admin access: company_admin, manager and technician are staff users; plus a superuser."""
    from . import factories

    for member in ("company_admin", "manager", "technician"):
        cast.users[member].is_staff = True
        cast.users[member].save(update_fields=["is_staff"])
    cast.users["superuser"] = factories.UserFactory(username="root", is_staff=True, is_superuser=True)
    return cast


def listed_pks(response) -> set[int]:
    """Primary keys on an admin change list page."""
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


@contextlib.contextmanager
def module_data(django_db_blocker):
    """For a module-scoped fixture that builds expensive data once: the data lives in a transaction rolled back when
    the module ends, and each test (through the `db` fixture) runs inside it in a savepoint of its own, so what one
    test writes is undone before the next. Only for modules whose tests use `db`, not `transactional_db`."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


def require_service(name: str, how_to_enable: str) -> None:
    """In CI a missing service fails the test; elsewhere it skips with a message saying how to enable it."""
    message = f"{name} is not reachable: {how_to_enable}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not os.path.exists(CHROMIUM):
        require_service(
            "Chromium", "install Debian's chromium and fonts-noto-cjk (apt-get install chromium fonts-noto-cjk)"
        )
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it are safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live_cast(transactional_db, live_server):
    """The cast, in a database the live server thread can see."""
    from .cast import build_cast

    return build_cast()
