"""Validation and masking of Chinese phone numbers and resident ID numbers (居民身份证号)."""

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalize_phone(raw: str) -> str:
    """Strip spaces, dashes and a +86 / 0086 prefix; return the 11-digit mainland mobile number or raise."""
    value = re.sub(r"[\s\-()]", "", str(raw or ""))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    if not _MOBILE.match(value):
        raise ValidationError(
            _("Enter an 11-digit mainland mobile number starting with 13–19, e.g. 13812345678."), code="phone"
        )
    return value


def validate_phone(value: str) -> None:
    normalize_phone(value)


def id_number_checksum_ok(value: str) -> bool:
    """GB 11643-1999: the 18th character is a weighted mod-11 check over the first 17 digits."""
    total = sum(int(ch) * weight for ch, weight in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def normalize_id_number(raw: str) -> str:
    """Return the 18-character resident ID number (upper-case X) or raise with the rule it breaks."""
    value = str(raw or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise ValidationError(_("An ID number has 17 digits followed by a digit or X."), code="id_number_format")
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date inside the ID number is not a real date."), code="id_number_date"
        ) from None
    if not id_number_checksum_ok(value):
        raise ValidationError(_("The ID number's check digit is wrong."), code="id_number_checksum")
    return value


def validate_id_number(value: str) -> None:
    if value:
        normalize_id_number(value)


def mask_phone(value: str | None) -> str:
    """138****1234: enough for staff to confirm with the owner, not enough to harvest."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return f"{value[:3]}****{value[-4:]}"


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"
