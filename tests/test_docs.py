"""The docs match the code: every environment variable the settings read is in the README's table."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _variables_read_by_settings() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r'(?:env_(?:str|bool|int|list)|persistent_secret)\(\s*"([A-Z0-9_]+)"', text))
        names |= set(re.findall(r'os\.environ(?:\.get)?[\(\[]\s*"([A-Z0-9_]+)"', text))
    return names


def test_every_environment_variable_is_documented():
    readme = (ROOT / "README.md").read_text()
    undocumented = sorted(name for name in _variables_read_by_settings() if f"`{name}`" not in readme)
    assert undocumented == []


def test_readme_quick_start_is_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
