"""Password sign-in: lockout after repeated failures, a new session id at login, idle and absolute timeouts."""

import time

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.middleware import SESSION_LAST_SEEN_KEY, SESSION_STARTED_KEY
from apps.audit.models import AuditEvent
from apps.core.tenancy import all_tenants

PASSWORD = "correct horse battery staple"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("it-admin", "it@alpha.example", PASSWORD)


def _login(client, password):
    return client.post("/accounts/login/", {"username": "it-admin", "password": password})


def _is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_good_password_signs_in(client, user):
    response = _login(client, PASSWORD)
    assert response.status_code == 302
    assert _is_signed_in(client)


def test_lockout_after_repeated_failures_even_with_the_right_password(client, user, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        response = _login(client, "wrong password")
        assert response.status_code == 200
        assert not _is_signed_in(client)
    response = _login(client, PASSWORD)
    assert response.status_code == 200
    assert not _is_signed_in(client)
    assert "locked" in response.content.decode().lower()
    with all_tenants():
        outcomes = list(AuditEvent.objects.filter(action="accounts.login").values_list("outcome", flat=True))
    assert outcomes.count("failure") == 3
    assert "locked" in outcomes


def test_lockout_is_per_username_and_case_insensitive(client, user, settings):
    settings.LOGIN_MAX_FAILURES = 2
    for name in ("IT-ADMIN", "it-admin"):
        client.post("/accounts/login/", {"username": name, "password": "nope"})
    assert _login(client, PASSWORD).status_code == 200
    get_user_model().objects.create_user("other", "o@alpha.example", PASSWORD)
    assert client.post("/accounts/login/", {"username": "other", "password": PASSWORD}).status_code == 302


def test_lockout_expires(client, user, settings):
    settings.LOGIN_MAX_FAILURES = 1
    settings.LOGIN_LOCKOUT_SECONDS = 1
    _login(client, "wrong")
    assert _login(client, PASSWORD).status_code == 200
    time.sleep(1.2)
    assert _login(client, PASSWORD).status_code == 302


def test_login_gives_a_new_session_id(client, user):
    client.get("/accounts/login/")
    session = client.session
    session["pre_login"] = "x"
    session.save()
    before = session.session_key
    _login(client, PASSWORD)
    assert client.session.session_key != before


def _age_session(client, *, idle: int = 0, lived: int = 0) -> None:
    session = client.session
    now = int(time.time())
    session[SESSION_LAST_SEEN_KEY] = now - idle
    session[SESSION_STARTED_KEY] = now - lived
    session.save()


def test_idle_timeout_ends_the_session(client, user, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    _login(client, PASSWORD)
    client.get("/")
    _age_session(client, idle=30)
    client.get("/")
    assert _is_signed_in(client)
    _age_session(client, idle=61)
    client.get("/")
    assert not _is_signed_in(client)


def test_absolute_lifetime_ends_an_active_session(client, user, settings):
    settings.SESSION_ABSOLUTE_LIFETIME = 3600
    _login(client, PASSWORD)
    client.get("/")
    _age_session(client, idle=1, lived=3601)
    client.get("/")
    assert not _is_signed_in(client)


def test_signed_in_pages_are_not_cached(client, user):
    _login(client, PASSWORD)
    response = client.get("/")
    assert "no-store" in response["Cache-Control"]
