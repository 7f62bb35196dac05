"""pytest plugin (loaded with -p wuye.testing.plugin): the cast fixture and service checks."""

import os

import pytest


@pytest.fixture
def cast(db):
    from .cast import build_cast

    return build_cast()


def require_service(name: str, how_to_enable: str) -> None:
    """In CI a missing service fails the test; elsewhere it skips with a message saying how to enable it."""
    message = f"{name} is not reachable: {how_to_enable}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
