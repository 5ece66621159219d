"""What must be refused (SMART checklist L1, T1, T2, T4, T6; RFC 9207; mix-up): against the sandbox over live
HTTP where the sandbox can play the part, and against a fault-injecting EHR on 127.0.0.1 where it cannot
(forged id_tokens, token endpoint errors)."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.utils import timezone
from jwcrypto import jwk

from apps.audit.models import AuditEvent
from apps.core.tenancy import all_tenants, tenant_scope
from apps.smart.models import LaunchState, TokenGrant
from apps.tenants.models import EhrConnection
from tests.smart.conftest import Browser, callback_query, connect, error_code
from tests.smart.fake_ehr import FakeEhr


def _events(reason: str | None = None) -> list[AuditEvent]:
    with all_tenants():
        events = list(AuditEvent.objects.filter(action="smart.launch", outcome="failure").order_by("id"))
    return [e for e in events if reason is None or e.detail.get("reason") == reason]


# --- unknown iss (L1) ------------------------------------------------------------------------------------------


@pytest.fixture
def fake():
    server = FakeEhr()
    yield server
    server.close()


@pytest.mark.django_db
def test_unknown_iss_gets_an_error_page_no_redirect_and_no_outbound_request(client, fake, tenant_a):
    response = client.get("/launch", {"iss": fake.fhir, "launch": "abc"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Location" not in response
    assert b'data-error="unknown_iss"' in response.content
    reference = response["X-Request-ID"]
    assert reference.encode() in response.content
    assert fake.count() == 0  # nothing reached the unknown server
    [event] = _events("unknown_iss")
    assert event.request_id == reference


@pytest.mark.django_db
def test_iss_of_a_suspended_tenant_or_near_miss_is_unknown(client, fake, tenant_a):
    connect(tenant_a, fake.fhir)
    tenant_a.status = "suspended"
    tenant_a.save()
    assert b"unknown_iss" in client.get("/launch", {"iss": fake.fhir, "launch": "x"}).content
    tenant_a.status = "active"
    tenant_a.save()
    for near in (fake.fhir + "/extra", fake.fhir.replace("/fhir", "/fhir2"), fake.base, "not a url"):
        assert b"unknown_iss" in client.get("/launch", {"iss": near, "launch": "x"}).content
    assert fake.count() == 0
    # A trailing slash is the same FHIR base (normalised): that one is known.
    assert client.get("/launch", {"iss": fake.fhir + "/", "launch": "x"}).status_code == 302


@pytest.mark.django_db
def test_missing_launch_parameter_is_refused(client, fake, tenant_a):
    connect(tenant_a, fake.fhir)
    assert b'data-error="missing_parameters"' in client.get("/launch", {"iss": fake.fhir}).content
    assert fake.count() == 0


@pytest.mark.django_db
def test_the_error_page_speaks_traditional_chinese(client, fake):
    response = client.get("/launch", {"iss": fake.fhir, "launch": "x"}, HTTP_ACCEPT_LANGUAGE="zh-Hant")
    text = response.content.decode()
    assert "參考編號" in text
    assert "此 EHR 尚未連接 CareLaunch" in text


@pytest.mark.django_db
def test_a_flood_of_launches_is_rate_limited_and_never_reaches_an_ehr(client, fake, tenant_a, settings):
    settings.SMART_RATE_LIMIT_LAUNCH = 5
    connect(tenant_a, fake.fhir)
    statuses = [client.get("/launch", {"iss": "https://forged.example/fhir", "launch": "x"}).status_code
                for _ in range(5)]  # fmt: skip
    assert statuses == [400] * 5
    limited = client.get("/launch", {"iss": fake.fhir, "launch": "x"})
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert fake.count() == 0  # not even discovery for the real connection once limited
    # Another address has its own budget.
    assert client.get("/launch", {"iss": fake.fhir, "launch": "x"}, REMOTE_ADDR="10.0.0.9").status_code == 302


@pytest.mark.django_db
def test_callback_is_rate_limited(client, tenant_a, fake, settings):
    settings.SMART_RATE_LIMIT_CALLBACK = 2
    connection = connect(tenant_a, fake.fhir)
    url = f"/t/alpha/callback/{connection.pk}"
    assert [client.get(url, {"state": "x", "code": "y"}).status_code for _ in range(2)] == [400, 400]
    assert client.get(url, {"state": "x", "code": "y"}).status_code == 429
    assert fake.count("/token") == 0


# --- state (T2), EHR errors (T1), mix-up, RFC 9207: live against the sandbox -----------------------------------

live = pytest.mark.django_db(transaction=True)


@live
def test_forged_state_is_refused_before_any_token_request(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    stopped = browser.run(browser.ehr_launch_url(ehr), stop_at_callback=True)
    location, query = callback_query(stopped)
    forged = location.replace(query["state"], "A" * 43)
    assert error_code(browser.get(forged)) == "state_unknown"
    # The code was not spent on the forged attempt: the genuine answer still completes.
    assert browser.run(location).status_code == 200
    assert len(_events("state_unknown")) == 1


@live
def test_reused_state_is_refused(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    stopped = browser.run(browser.ehr_launch_url(ehr), stop_at_callback=True)
    location, _query = callback_query(stopped)
    assert browser.run(location).status_code == 200
    assert error_code(browser.get(location)) == "state_used"
    with tenant_scope(tenant_a):
        assert TokenGrant.objects.count() == 1


@live
def test_expired_state_is_refused(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    stopped = browser.run(browser.ehr_launch_url(ehr), stop_at_callback=True)
    with tenant_scope(tenant_a):
        LaunchState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert error_code(browser.get(callback_query(stopped)[0])) == "state_expired"


@live
def test_state_from_another_browser_is_refused_and_does_not_burn_the_launch(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    victim = Browser(app, user_agent="Victim/1")
    attacker = Browser(app, user_agent="Attacker/1")
    attacker.get(f"{app.origin}/launch/patient/")  # any page: the attacker has cookies of its own
    stopped = victim.run(victim.ehr_launch_url(ehr), stop_at_callback=True)
    location, _ = callback_query(stopped)
    assert error_code(attacker.get(location)) == "state_other_browser"
    # A browser with a different binding cookie, even with the same address and user agent, is refused too.
    clone = Browser(app, user_agent="Victim/1")
    clone.session.cookies.set("carelaunch_browser", "x" * 43, domain="127.0.0.1")
    assert error_code(clone.get(location)) == "state_other_browser"
    assert victim.run(location).status_code == 200


@live
def test_access_denied_at_the_ehr_shows_a_clear_page_and_is_audited(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    response = browser.run(browser.ehr_launch_url(ehr), deny=True)
    assert response.status_code == 403
    assert error_code(response) == "access_denied"
    assert response.headers["X-Request-ID"] in response.text
    [event] = _events("access_denied")
    assert event.tenant_id == tenant_a.pk


@live
def test_code_delivered_to_another_connections_redirect_uri_is_refused(ehr, app, tenant_a):
    good = connect(tenant_a, ehr.fhir)
    other = connect(tenant_a, "http://127.0.0.1:9/fhir", label="Other")
    browser = Browser(app)
    stopped = browser.run(browser.ehr_launch_url(ehr), stop_at_callback=True)
    location, _ = callback_query(stopped)
    assert f"/callback/{good.pk}?" in location
    misdelivered = location.replace(f"/callback/{good.pk}?", f"/callback/{other.pk}?")
    assert error_code(browser.get(misdelivered)) == "wrong_redirect"
    # The state is spent: the flow is compromised, it cannot be finished at the right address either.
    assert error_code(browser.get(location)) == "state_used"
    with tenant_scope(tenant_a):
        assert TokenGrant.objects.count() == 0


@live
def test_state_of_another_tenant_is_unknown(ehr, app, tenant_a, tenant_b):
    connection = connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    stopped = browser.run(browser.ehr_launch_url(ehr), stop_at_callback=True)
    location, _ = callback_query(stopped)
    with tenant_scope(tenant_b):
        EhrConnection.objects.create(tenant=tenant_b, label="B", fhir_base_url="http://127.0.0.1:9/fhir",
                                     client_id="b", launch_ehr=True)  # fmt: skip
    assert error_code(browser.get(location.replace("/t/alpha/", "/t/beta/"))) == "state_unknown"
    assert f"/callback/{connection.pk}" in location
    assert browser.run(location).status_code == 200


@live
def test_rfc9207_iss_in_the_response_is_checked(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    stopped = browser.run(browser.ehr_launch_url(ehr), stop_at_callback=True)
    location, query = callback_query(stopped)
    assert query["iss"] == ehr.fhir
    base = location.split("?", 1)[0]
    wrong = {**query, "iss": "http://127.0.0.1:9/fhir"}
    assert error_code(browser.get(f"{base}?{urlencode(wrong)}")) == "issuer_mismatch"
    stopped = browser.run(browser.ehr_launch_url(ehr), stop_at_callback=True)
    location, query = callback_query(stopped)
    without = {k: v for k, v in query.items() if k != "iss"}
    assert error_code(browser.get(f"{location.split('?', 1)[0]}?{urlencode(without)}")) == "issuer_mismatch"


# --- token endpoint and id_token (T3, T4, T6) against the fault-injecting EHR ----------------------------------


def _start(client, fake) -> dict[str, str]:
    response = client.get("/launch", {"iss": fake.fhir, "launch": "launch-1"})
    assert response.status_code == 302, response.content[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def _finish(client, connection, query, **extra):
    return client.get(f"/t/alpha/callback/{connection.pk}", {"state": query["state"], "code": "code-1", **extra})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _token_body(id_token: str) -> dict:
    return {"access_token": "at-1", "token_type": "bearer", "scope": "launch openid fhirUser patient/*.rs",
            "expires_in": 3600, "id_token": id_token, "patient": "p-1"}  # fmt: skip


ID_TOKEN_CASES = {
    "tampered_signature": "bad_signature",
    "alg_none": "alg_not_allowed",
    "hs256_with_public_key": "alg_not_allowed",
    "wrong_aud": "wrong_aud",
    "wrong_iss": "wrong_iss",
    "expired": "expired",
    "nonce_mismatch": "nonce_mismatch",
    "unknown_signing_key": "unknown_key",
}


def _forged(fake: FakeEhr, case: str, *, nonce: str, client_id: str) -> str:
    if case == "tampered_signature":
        good = fake.id_token(nonce=nonce, client_id=client_id)
        header, payload, signature = good.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims["fhirUser"] = "Practitioner/admin"
        return f"{header}.{_b64(claims)}.{signature}"
    if case == "alg_none":
        claims = {"iss": fake.fhir, "sub": "u", "aud": client_id, "exp": int(time.time()) + 300,
                  "iat": int(time.time()), "nonce": nonce}  # fmt: skip
        return f"{_b64({'alg': 'none'})}.{_b64(claims)}."
    if case == "hs256_with_public_key":
        secret = jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(fake.key.export_to_pem()).rstrip(b"=").decode())
        return fake.id_token(nonce=nonce, client_id=client_id, key=secret, header={"alg": "HS256", "kid": "ehr-key-1"})
    if case == "wrong_aud":
        return fake.id_token(nonce=nonce, client_id=client_id, aud="someone-else")
    if case == "wrong_iss":
        return fake.id_token(nonce=nonce, client_id=client_id, iss="https://evil.example/fhir")
    if case == "expired":
        return fake.id_token(nonce=nonce, client_id=client_id, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
    if case == "nonce_mismatch":
        return fake.id_token(nonce="another-nonce", client_id=client_id)
    if case == "unknown_signing_key":
        other = jwk.JWK.generate(kty="RSA", size=2048, kid="not-published")
        return fake.id_token(
            nonce=nonce, client_id=client_id, key=other, header={"alg": "RS256", "kid": "not-published"}
        )
    raise AssertionError(case)


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(ID_TOKEN_CASES))
def test_forged_id_tokens_are_rejected(client, fake, tenant_a, case):
    connection = connect(tenant_a, fake.fhir)
    query = _start(client, fake)
    fake.token_reply = lambda form: (200, _token_body(_forged(fake, case, nonce=query["nonce"],
                                                             client_id=connection.client_id)))  # fmt: skip
    response = _finish(client, connection, query)
    assert response.status_code == 502
    assert b'data-error="id_token_invalid"' in response.content
    with tenant_scope(tenant_a):
        assert TokenGrant.objects.count() == 0
    [event] = _events("id_token_invalid")
    assert event.detail["check"] == ID_TOKEN_CASES[case]
    assert "at-1" not in json.dumps(event.detail)


@pytest.mark.django_db
def test_a_valid_id_token_from_the_fake_ehr_is_accepted_and_relative_fhir_user_resolved(client, fake, tenant_a):
    connection = connect(tenant_a, fake.fhir)
    query = _start(client, fake)
    fake.token_reply = lambda form: (
        200,
        _token_body(fake.id_token(nonce=query["nonce"], client_id=connection.client_id)),
    )
    response = _finish(client, connection, query)
    assert response.status_code == 302
    with tenant_scope(tenant_a):
        grant = TokenGrant.objects.get()
    assert grant.fhir_user == f"{fake.fhir}/Practitioner/pr-9"
    # The code exchange as the EHR received it (T3, public client).
    [(_m, _p, _h, form)] = [r for r in fake.requests if r[1] == "/token"]
    assert form["grant_type"] == ["authorization_code"] and form["code"] == ["code-1"]
    assert form["client_id"] == [connection.client_id]
    assert form["redirect_uri"] == [f"http://127.0.0.1:8000/t/alpha/callback/{connection.pk}"]
    assert 43 <= len(form["code_verifier"][0]) <= 128


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ((400, {"error": "invalid_grant"}), "token_error"),
        ((500, {"oops": True}), "token_error"),
        ((200, {"access_token": "a", "token_type": "mac", "scope": "openid"}), "token_response_invalid"),
        ((200, {"access_token": "a", "token_type": "Bearer"}), "token_response_invalid"),
        ((200, {"token_type": "Bearer", "scope": "x"}), "token_response_invalid"),
    ],
)
def test_token_endpoint_errors_give_an_error_page(client, fake, tenant_a, reply, code):
    connection = connect(tenant_a, fake.fhir)
    query = _start(client, fake)
    fake.token_reply = lambda form: reply
    response = _finish(client, connection, query)
    assert f'data-error="{code}"'.encode() in response.content
    assert len(_events(code)) == 1
    # A failed launch makes the next one re-read the EHR's configuration (checklist C4).
    before = fake.count("/fhir/.well-known/smart-configuration")
    _start(client, fake)
    assert fake.count("/fhir/.well-known/smart-configuration") == before + 1


@pytest.mark.django_db
def test_ehr_error_at_the_redirect_other_than_access_denied(client, fake, tenant_a):
    connection = connect(tenant_a, fake.fhir)
    query = _start(client, fake)
    response = client.get(f"/t/alpha/callback/{connection.pk}", {"state": query["state"], "error": "invalid_scope"})
    assert b'data-error="ehr_error"' in response.content and b"invalid_scope" in response.content
    assert fake.count("/token") == 0
