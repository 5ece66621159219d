"""Account lockout after repeated failed passwords.

Counted per username (not per address, so a distributed guesser gains nothing) in the cache, which is
Redis in production and so shared by every web process.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from apps.core.crypto import lookup_hash


def _key(username: str) -> str:
    return f"login-failures:{lookup_hash(username.strip().lower())}"


def is_locked(username: str) -> bool:
    return cache.get(_key(username), 0) >= settings.LOGIN_MAX_FAILURES


def register_failure(username: str) -> int:
    """Count one failure; the lockout window restarts with each failure."""
    key = _key(username)
    cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
    failures = cache.incr(key)
    cache.touch(key, settings.LOGIN_LOCKOUT_SECONDS)
    return failures


def clear_failures(username: str) -> None:
    cache.delete(_key(username))
