"""Production settings, and the commands `make run` depends on."""

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

from wuye.core.management.commands.compile_translations import parse_po, write_mo
from wuye.testing.plugin import require_service

ROOT = Path(__file__).resolve().parents[3]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # A fresh process as an operator would start it: no test-only variables (the browser fixture's
    # DJANGO_ALLOW_ASYNC_UNSAFE makes `check --deploy` warn).
    skipped = {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {k: v for k, v in os.environ.items() if k not in skipped} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="x" * 64 + "-a-long-random-production-secret",
        ALLOWED_HOSTS="wuye.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    environment = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment | {"DJANGO_SETTINGS_MODULE": "config.settings.production"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_malformed_boolean_setting_names_the_variable():
    result = run_manage("check", DJANGO_SETTINGS_MODULE="config.settings.local", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


SAMPLE_PO = r"""
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=1; plural=0;\n"

msgid "Sign in"
msgstr "登录"

#, python-format
msgid "Hello, %(name)s"
msgstr "您好，%(name)s"

msgctxt "room"
msgid "Unit"
msgstr "单元"

msgid "%(counter)s problem"
msgid_plural "%(counter)s problems"
msgstr[0] "%(counter)s 个问题"

#, fuzzy
msgid "Draft"
msgstr "草稿"

msgid "Untranslated"
msgstr ""

msgid ""
"A long "
"message"
msgstr ""
"一条长"
"消息"
"""


def test_compiled_catalogue_translates_like_gettext_expects(tmp_path):
    mo = tmp_path / "django.mo"
    write_mo(parse_po(SAMPLE_PO), mo)
    with mo.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    assert catalogue.gettext("Sign in") == "登录"
    assert catalogue.gettext("Hello, %(name)s") % {"name": "王"} == "您好，王"
    assert catalogue.pgettext("room", "Unit") == "单元"
    assert catalogue.ngettext("%(counter)s problem", "%(counter)s problems", 3) == "%(counter)s 个问题"
    assert catalogue.gettext("A long message") == "一条长消息"
    assert catalogue.gettext("Draft") == "Draft"  # fuzzy entries are not used
    assert catalogue.gettext("Untranslated") == "Untranslated"


def test_compiled_catalogue_matches_gnu_msgfmt(tmp_path):
    if shutil.which("msgfmt") is None:
        require_service("GNU msgfmt (the reference compiler)", "apt-get install gettext")
    po = tmp_path / "sample.po"
    po.write_text(SAMPLE_PO, encoding="utf-8")
    subprocess.run(["msgfmt", "-o", str(tmp_path / "gnu.mo"), str(po)], check=True)
    write_mo(parse_po(SAMPLE_PO), tmp_path / "ours.mo")
    with (tmp_path / "gnu.mo").open("rb") as gnu, (tmp_path / "ours.mo").open("rb") as ours:
        assert gettext.GNUTranslations(gnu)._catalog == gettext.GNUTranslations(ours)._catalog
