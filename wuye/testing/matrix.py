"""The permission matrix: for one endpoint or page, what every cast member gets.

    CASES = [
        Case("GET", lambda c: f"/api/v1/estates/{c.estate.id}", expect={"owner": 200, ..., "anonymous": 401}),
    ]

    @pytest.mark.parametrize("case", CASES, ids=str)
    def test_permission_matrix(cast, case):
        assert_matrix(cast, case)

Every case must name every member of the cast (a new member or a forgotten one fails loudly), and the check reports
all mismatches at once. API cases call with bearer tokens; page cases (`page=True`) with a signed-in session.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .cast import MEMBERS, Cast


@dataclass
class Case:
    method: str
    url: Callable[[Cast], str] | str
    expect: dict[str, int]
    page: bool = False
    json: Callable[[Cast], Any] | Any = None
    data: Callable[[Cast], Any] | Any = None
    label: str = ""
    follow_redirect_to_login: bool = field(default=True)

    def __str__(self) -> str:
        return self.label or f"{self.method} {self.url if isinstance(self.url, str) else self.url.__name__}"


def _resolve(value, cast: Cast):
    return value(cast) if callable(value) else value


def call(cast: Cast, case: Case, member: str):
    client = cast.browser(member) if case.page else cast.api(member)
    url = _resolve(case.url, cast)
    method = getattr(client, case.method.lower())
    if case.json is not None:
        return method(url, data=_resolve(case.json, cast), content_type="application/json")
    if case.data is not None:
        return method(url, data=_resolve(case.data, cast))
    return method(url)


def anonymous_page_status(response) -> int:
    """Pages send anonymous visitors to sign in: count a redirect to the login page as 401."""
    if response.status_code == 302 and "/accounts/login/" in response.headers.get("Location", ""):
        return 401
    return response.status_code


def assert_matrix(cast: Cast, case: Case) -> None:
    missing = set(MEMBERS) - set(case.expect)
    assert not missing, f"{case}: the matrix must say what {sorted(missing)} get"
    wrong = []
    for member in MEMBERS:
        response = call(cast, case, member)
        status = anonymous_page_status(response) if case.page else response.status_code
        if status != case.expect[member]:
            wrong.append(f"{member}: expected {case.expect[member]}, got {status}")
    assert not wrong, f"{case}:\n  " + "\n  ".join(wrong)
