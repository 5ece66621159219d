"""Per-address rate limits for /launch and the callback (Django cache counters; Redis in production).

Fixed one-minute windows: cheap (one `add` + one `incr`), shared by every web process through the cache,
and a flood is cut off before any database row is written or any EHR is contacted.
"""

from __future__ import annotations

import time
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60


def hit(bucket: str, address: str, limit: int) -> int:
    """Count one request; return 0 when allowed, else the seconds until the window ends (Retry-After)."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"smart:rl:{bucket}:{address}:{window}"
    if cache.add(key, 1, WINDOW_SECONDS + 5):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, WINDOW_SECONDS + 5)
            count = 1
    if count <= limit:
        return 0
    return max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)


def limited(bucket: str, setting: str):
    """View decorator: 429 with Retry-After past the per-address limit named by `setting`."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args: Any, **kwargs: Any):
            retry_after = hit(bucket, getattr(request, "client_ip", "") or "-", int(getattr(settings, setting)))
            if retry_after:
                from apps.smart.views import rate_limited_response

                return rate_limited_response(request, retry_after, bucket)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
