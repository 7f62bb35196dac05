"""Compile locale/*/LC_MESSAGES/django.po into .mo without GNU gettext, so a fresh machine needs no msgfmt.

The compiled .mo files are build output and are not committed; `make run` and `make test` build them.
"""

import ast
import struct
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def parse_po(text: str) -> dict[str, str]:
    """msgid → msgstr for every translated entry (plural forms joined with NUL, msgctxt with EOT, as gettext does)."""
    catalogue: dict[str, str] = {}
    entry: dict[str, list[str]] = {}
    key = None
    fuzzy = False

    def flush() -> None:
        nonlocal entry, fuzzy
        # The header (msgid "") is kept even when marked fuzzy, as GNU msgfmt does.
        if "msgid" in entry and (not fuzzy or "".join(entry["msgid"]) == ""):
            msgid = "".join(entry["msgid"])
            if "msgid_plural" in entry:
                msgid += "\0" + "".join(entry["msgid_plural"])
                forms = sorted(k for k in entry if k.startswith("msgstr["))
                msgstr = "\0".join("".join(entry[k]) for k in forms)
            else:
                msgstr = "".join(entry.get("msgstr", []))
            if "msgctxt" in entry:
                msgid = "".join(entry["msgctxt"]) + "\x04" + msgid
            if msgstr.replace("\0", "") or msgid == "":
                catalogue[msgid] = msgstr
        entry, fuzzy = {}, False

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            flush()
            key = None
            continue
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            if key is None:
                raise CommandError(f"line {number}: a string continues nothing")
            entry[key].append(ast.literal_eval(line))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword == "msgid" and "msgid" in entry:
            flush()
        key = keyword
        entry[key] = [ast.literal_eval(rest.strip())]
    flush()
    return catalogue


def write_mo(catalogue: dict[str, str], path: Path) -> None:
    keys = sorted(catalogue)
    ids = b"".join(k.encode() + b"\0" for k in keys)
    strs = b"".join(catalogue[k].encode() + b"\0" for k in keys)
    count = len(keys)
    header_size = 7 * 4
    ids_table_offset = header_size
    strs_table_offset = ids_table_offset + count * 8
    ids_offset = strs_table_offset + count * 8
    strs_offset = ids_offset + len(ids)
    id_entries, str_entries = [], []
    position = 0
    for k in keys:
        length = len(k.encode())
        id_entries.append((length, ids_offset + position))
        position += length + 1
    position = 0
    for k in keys:
        length = len(catalogue[k].encode())
        str_entries.append((length, strs_offset + position))
        position += length + 1
    output = struct.pack("<7I", 0x950412DE, 0, count, ids_table_offset, strs_table_offset, 0, 0)
    output += b"".join(struct.pack("<2I", *e) for e in id_entries)
    output += b"".join(struct.pack("<2I", *e) for e in str_entries)
    output += ids + strs
    path.write_bytes(output)


class Command(BaseCommand):
    help = "Compile the project's .po catalogues to .mo (pure Python; no GNU gettext needed)."

    def handle(self, *args, **options):
        for locale_dir in settings.LOCALE_PATHS:
            for po in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
                catalogue = parse_po(po.read_text(encoding="utf-8"))
                write_mo(catalogue, po.with_suffix(".mo"))
                self.stdout.write(f"compiled {po} ({len(catalogue) - 1} messages)")
