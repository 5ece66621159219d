"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with key rotation, and keyed hashes for lookups.

Keys come from settings.ENCRYPTION_KEYS (environment in production; generated for the embedded mode).
The first key encrypts; every key decrypts, so a new key can be put in front and old rows re-encrypted
in the background.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(plaintext: str) -> str:
    return _fernet(tuple(settings.ENCRYPTION_KEYS)).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet(tuple(settings.ENCRYPTION_KEYS)).decrypt(token.encode()).decode()


def lookup_hash(value: str) -> str:
    """A keyed hash of a secret, for finding a row by a secret without storing the secret."""
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; Python code sees plaintext. Never filter on it (use lookup_hash)."""

    # An empty value stays empty (and NULL stays NULL): "no secret" is not a secret worth hiding, and a
    # non-nullable column must not receive NULL for it.
    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return value if value in (None, "") else decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        return value if value in (None, "") else encrypt(value)
