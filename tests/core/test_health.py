import pytest
from django.test import override_settings

from apps.core import health


@pytest.mark.django_db
def test_healthz_is_ok_without_auth(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_names_each_check(client, settings):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "ok"
    assert body["checks"]["broker"] == ("ok" if settings.REDIS_URL else "in-process")


@pytest.mark.django_db
def test_readyz_reports_an_unreachable_broker_as_503(client):
    # Nothing listens on port 1 of loopback: a real refused connection, no mock.
    from config.celery import app

    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        original = app.conf.broker_url
        app.conf.broker_url = "redis://127.0.0.1:1/0"
        try:
            response = client.get("/readyz")
        finally:
            app.conf.broker_url = original
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"].startswith("error:")
    assert body["checks"]["database"] == "ok"


def test_checks_do_not_leak_exception_text(monkeypatch):
    def boom():
        raise RuntimeError("password=hunter2 at db.internal")

    monkeypatch.setitem(health.CHECKS, "database", boom)
    monkeypatch.setitem(health.CHECKS, "cache", lambda: "ok")
    monkeypatch.setitem(health.CHECKS, "broker", lambda: "ok")
    healthy, results = health.run_checks()
    assert not healthy
    assert results["database"] == "error: RuntimeError"
