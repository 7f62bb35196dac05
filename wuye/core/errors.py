"""Errors that services raise and that the API and pages turn into clear answers.

A service never returns an HTTP response; it raises one of these with a translated message. The API maps them to
status codes with a machine-readable `code`; pages show the message next to the field.
"""

from dataclasses import dataclass, field


@dataclass
class FieldError:
    field: str
    code: str
    message: str
    row: int | None = None

    def as_dict(self) -> dict:
        data = {"field": self.field, "code": self.code, "message": str(self.message)}
        if self.row is not None:
            data["row"] = self.row
        return data


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, errors: list[FieldError] | None = None):
        super().__init__(str(message))
        self.message = str(message)
        if code:
            self.code = code
        self.errors: list[FieldError] = errors or []

    def as_dict(self) -> dict:
        data: dict = {"code": self.code, "message": self.message}
        if self.errors:
            data["errors"] = [error.as_dict() for error in self.errors]
        return data


class ValidationFailed(DomainError):
    """Input broke a rule; `errors` names each field (and row, for imports) and the rule."""

    status = 422
    code = "validation_failed"


class Forbidden(DomainError):
    """The user may see the object but may not take this action."""

    status = 403
    code = "forbidden"


class NotFound(DomainError):
    """The object does not exist, or the user may not see it (existence is not revealed)."""

    status = 404
    code = "not_found"


class Throttled(DomainError):
    status = 429
    code = "throttled"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


@dataclass
class ErrorCollector:
    """Gathers field errors, then raises them together: users fix a form once, not once per field."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, code: str, message: str, row: int | None = None) -> None:
        self.errors.append(FieldError(field=field_name, code=code, message=str(message), row=row))

    def raise_if_any(self, message: str) -> None:
        if self.errors:
            raise ValidationFailed(message, errors=self.errors)
