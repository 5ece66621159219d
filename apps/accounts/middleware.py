from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

SESSION_STARTED_KEY = "carelaunch_session_started"
SESSION_LAST_SEEN_KEY = "carelaunch_session_last_seen"


class SessionLifetimeMiddleware:
    """End signed-in sessions after SESSION_IDLE_TIMEOUT of inactivity or SESSION_ABSOLUTE_LIFETIME in all.

    Enforced on the server from timestamps kept in the session, so a client cannot extend its own
    session by replaying an old cookie.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            started = request.session.get(SESSION_STARTED_KEY, now)
            last_seen = request.session.get(SESSION_LAST_SEEN_KEY, now)
            if now - last_seen > settings.SESSION_IDLE_TIMEOUT or now - started > settings.SESSION_ABSOLUTE_LIFETIME:
                logout(request)
                request.session_expired = True
            else:
                request.session[SESSION_STARTED_KEY] = started
                request.session[SESSION_LAST_SEEN_KEY] = now
        return self.get_response(request)
