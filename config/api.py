"""The JSON API at /api/v1/: one NinjaAPI, its authentication, and the mapping from errors to answers.

Every answer that is not a success has the same shape: {"code": "...", "message": "...", "errors": [...]}, with the
message in the caller's language (Accept-Language or the session's choice) and `errors` naming each field and rule.
"""

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

from wuye.accounts import services as account_services
from wuye.core.errors import DomainError


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>` from POST /api/v1/auth/token."""

    def authenticate(self, request: HttpRequest, token: str):
        user = account_services.api_token_authenticate(raw=token)
        if user is not None:
            request.user = user
            request.api_token = token
        return user


class ActiveSession(SessionAuth):
    """The page session (with CSRF on writes); refuses disabled accounts."""

    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


api = NinjaAPI(
    title="wuye API",
    version="1",
    description="物业服务质量平台 wuye — the property service quality platform.",
    auth=[BearerToken(), ActiveSession()],
    urls_namespace="api",
    docs_url="/docs",
)


def _pydantic_message(error: dict) -> str:
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    messages = {
        "missing": _("This field is required."),
        "string_too_short": _("Must be at least %(min)s characters.") % {"min": context.get("min_length")},
        "string_too_long": _("Must be at most %(max)s characters.") % {"max": context.get("max_length")},
        "int_parsing": _("Must be a whole number."),
        "float_parsing": _("Must be a number."),
        "decimal_parsing": _("Must be a number."),
        "bool_parsing": _("Must be true or false."),
        "date_from_datetime_parsing": _("Must be a date like 2026-11-27."),
        "date_parsing": _("Must be a date like 2026-11-27."),
        "datetime_parsing": _("Must be a date and time like 2026-11-27T09:30:00+08:00."),
        "enum": _("Must be one of: %(choices)s.") % {"choices": context.get("expected", "")},
        "literal_error": _("Must be one of: %(choices)s.") % {"choices": context.get("expected", "")},
        "greater_than_equal": _("Must be at least %(limit)s.") % {"limit": context.get("ge")},
        "less_than_equal": _("Must be at most %(limit)s.") % {"limit": context.get("le")},
        "json_invalid": _("The request body is not valid JSON."),
        "model_attributes_type": _("Must be a JSON object."),
        "dict_type": _("Must be a JSON object."),
        "string_type": _("Must be text."),
    }
    return messages.get(kind) or error.get("msg", _("Invalid value."))


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    errors = []
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", []) if part not in ("body", "query", "path", "form")]
        # ninja nests the payload under the parameter name; the field the user knows is the last part.
        location = location[1:] if len(location) > 1 else location
        errors.append(
            {"field": ".".join(location), "code": error.get("type", "invalid"), "message": _pydantic_message(error)}
        )
    return api.create_response(
        request, {"code": "validation_failed", "message": _("Some fields are not valid."), "errors": errors}, status=422
    )


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc):
    return api.create_response(
        request, {"code": "unauthenticated", "message": _("Sign in first: send a valid bearer token.")}, status=401
    )


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(request, {"code": "not_found", "message": _("Not found.")}, status=404)


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return api.create_response(request, {"code": "error", "message": str(exc)}, status=exc.status_code)


def _register_routers() -> None:
    from wuye.accounts.api import router as accounts_router
    from wuye.estates.api import router as estates_router
    from wuye.notifications.api import router as notifications_router

    api.add_router("/", accounts_router)
    api.add_router("/", estates_router)
    api.add_router("/", notifications_router)
    api.add_router("/", "wuye.workorders.api.router")
    api.add_router("/", "wuye.engagement.api.router")
    api.add_router("/", "wuye.dispatch.api.router")
    api.add_router("/", "wuye.iot.api.router")
    api.add_router("/", "wuye.standards.api.router")
    api.add_router("/", "wuye.kpis.api.router")
    api.add_router("/", "wuye.staff.api.router")
    api.add_router("/", "wuye.equipment.api.router")


_register_routers()
