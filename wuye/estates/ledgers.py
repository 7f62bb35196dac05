"""Ledger import (placeholder — being written)."""

from dataclasses import dataclass

from django.db import models


class LedgerKind(models.TextChoices):
    ROOMS = "rooms", "rooms"
    OWNERS = "owners", "owners"


@dataclass
class ImportResult:
    kind: str
    rows: int
    created: int
    updated: int


def ledger_import(*, estate, kind: str, filename: str, content: bytes, dry_run: bool = False) -> ImportResult:
    raise NotImplementedError
