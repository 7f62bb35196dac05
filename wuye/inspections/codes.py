"""Signed checkpoint codes: what a patrol label's QR code (or NFC tag) carries, and how a scan is checked.

A label carries the checkpoint's random `uid` and a MAC of it under a key derived from SECRET_KEY and the estate
(Django's `salted_hmac` with a salt per estate — the same derivation `django.core.signing` uses):

    QR / NFC payload   WYP1:K7M2Q-9XR4T-3HD8W-PZ6NB
    printed under it   K7M2Q-9XR4T-3HD8W-PZ6NB        (typed in when the camera cannot read the label)

Ten Crockford base-32 characters of uid (50 random bits) and ten of MAC (50 bits): short enough to type on a phone,
and a code cannot be forged without the key. Because the key depends on the estate, a label photocopied from another
estate fails the check in this one. Reading is forgiving the way Crockford base 32 is: case, spaces and dashes are
ignored, O reads as 0 and I/L as 1.

Changing SECRET_KEY invalidates every printed label unless the old key stays in SECRET_KEY_FALLBACKS (checked too)
until the labels are reprinted.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

PREFIX = "WYP1:"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U
UID_LENGTH = 10
MAC_LENGTH = 10
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_uid() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(UID_LENGTH))


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def _mac(estate_id: int, uid: str, secret: str | bytes) -> str:
    digest = salted_hmac(
        f"wuye.inspections.checkpoint:estate-{estate_id}", uid, secret=secret, algorithm="sha256"
    ).digest()
    bits = int.from_bytes(digest[:7], "big") >> (56 - 5 * MAC_LENGTH)
    return _encode(bits, MAC_LENGTH)


def _group(text: str) -> str:
    return "-".join(text[i : i + 5] for i in range(0, len(text), 5))


def label_code(estate_id: int, uid: str) -> str:
    """The code printed under the QR: uid and MAC in groups of five."""
    return _group(uid + _mac(estate_id, uid, settings.SECRET_KEY))


def payload(estate_id: int, uid: str) -> str:
    """What the QR code and the NFC tag (an NDEF text record) hold."""
    return PREFIX + label_code(estate_id, uid)


@dataclass(frozen=True)
class ReadCode:
    uid: str
    mac: str


def parse(text: object) -> ReadCode | None:
    """The uid and MAC in a scanned or typed code, or None when it is not shaped like one."""
    if not isinstance(text, str) or len(text) > 100:
        return None
    cleaned = text.strip().upper()
    if cleaned.startswith(PREFIX):
        cleaned = cleaned[len(PREFIX) :]
    cleaned = cleaned.replace("-", "").replace(" ", "").translate(_READ_AS)
    if len(cleaned) != UID_LENGTH + MAC_LENGTH or any(char not in ALPHABET for char in cleaned):
        return None
    return ReadCode(uid=cleaned[:UID_LENGTH], mac=cleaned[UID_LENGTH:])


def verify(estate_id: int, code: ReadCode) -> bool:
    """Whether the code was made with this estate's key (the current one or a fallback being phased out)."""
    secrets_in_use = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(constant_time_compare(_mac(estate_id, code.uid, secret), code.mac) for secret in secrets_in_use)
