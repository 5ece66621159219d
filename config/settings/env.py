"""Small helpers to read settings from the environment.

Every setting of CareLaunch comes from the environment (12-factor); the defaults run the embedded mode.
Secrets that the embedded mode needs are generated on first run and kept under the data directory,
which is outside git (see .gitignore).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw is None or raw.strip() == "" else int(raw)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def persistent_secret(name: str, data_dir: Path, generate: Callable[[], str]) -> str:
    """Return the secret from the environment, else from `data_dir/<name>`, creating it on first use.

    Only the embedded mode reaches the file branch; production settings insist on the environment.
    """
    value = os.environ.get(name)
    if value:
        return value
    path = data_dir / name.lower()
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = generate()
    # Created 0600 so another local user cannot read the embedded mode's keys.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def new_django_secret() -> str:
    return secrets.token_urlsafe(50)


def new_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
