"""English and 繁體中文: Accept-Language, the language switcher, and complete catalogues."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

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
