"""English and 繁體中文: Accept-Language, the language switcher, and complete catalogues."""

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import CI

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(
    [*ROOT.glob("locale/*/LC_MESSAGES/django.po"), *ROOT.glob("apps/**/locale/*/LC_MESSAGES/django.po")]
)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "expected", "html_lang"),
    [
        ("en-US,en;q=0.9", "Welcome to CareLaunch", 'lang="en"'),
        ("zh-TW,zh;q=0.9,en;q=0.5", "歡迎使用 CareLaunch", 'lang="zh-Hant-TW"'),
        ("zh-Hant", "歡迎使用 CareLaunch", 'lang="zh-Hant-TW"'),
    ],
)
def test_home_page_follows_accept_language(client, accept_language, expected, html_lang):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE=accept_language)
    body = response.content.decode()
    assert response.status_code == 200
    assert expected in body
    assert html_lang in body


@pytest.mark.django_db
def test_language_switcher_overrides_the_browser(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/"})
    assert response.status_code == 302
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "歡迎使用 CareLaunch" in body
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Welcome to CareLaunch" in client.get("/", HTTP_ACCEPT_LANGUAGE="zh-TW").content.decode()


def test_there_is_a_zh_hant_catalogue():
    assert ROOT / "locale/zh_Hant/LC_MESSAGES/django.po" in CATALOGUES


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_catalogue_is_complete(path):
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    assert not catalogue.fuzzy, "the catalogue header is marked fuzzy: Babel and Django would skip it"
    untranslated = [m.id for m in catalogue if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def _translated_msgids() -> set[str]:
    ids: set[str] = set()
    for path in CATALOGUES:
        with path.open("rb") as handle:
            for message in read_po(handle):
                if message.id and not message.fuzzy:
                    ids.add(message.id if isinstance(message.id, str) else message.id[0])
    return ids


def test_every_translatable_string_in_the_code_has_a_zh_hant_translation(tmp_path):
    """Extract every msgid from the code and templates (Django's makemessages, into a scratch copy of the
    tree) and check each one is translated in some catalogue: a new English string cannot slip through."""
    if shutil.which("xgettext") is None:
        if CI:
            pytest.fail("CI=true and GNU gettext (xgettext) is missing", pytrace=False)
        pytest.skip("needs GNU gettext (xgettext) to extract strings")
    for name in ("apps", "templates", "config"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("locale", "__pycache__", "*.mo"))
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    (tmp_path / "locale").mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "CARELAUNCH_DATA_DIR": str(tmp_path / "var"),
    }
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "xx", "--no-location", "--no-wrap"],
        cwd=tmp_path, env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    pot = (tmp_path / "locale/xx/LC_MESSAGES/django.po").read_text()
    # A fresh catalogue carries placeholder plural rules that Babel refuses to parse.
    pot = pot.replace("nplurals=INTEGER; plural=EXPRESSION;", "nplurals=1; plural=0;")
    extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(io.StringIO(pot)) if m.id}
    assert len(extracted) > 300, "extraction found too few strings: is makemessages scanning the tree?"
    missing = sorted(extracted - _translated_msgids())
    assert missing == []
