"""Single sign-on against a real OpenID provider served over HTTP on 127.0.0.1 during the test.

The provider is django-oauth-toolkit's OIDC implementation on the live server, reached as `localhost`;
CareLaunch (the relying party, mozilla-django-oidc) is reached as `127.0.0.1`, so the browser keeps two
separate cookie jars exactly as with a real, separate identity provider.
"""

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.test import override_settings
from oauth2_provider.models import Application

from apps.accounts.oidc import CareLaunchOIDCBackend

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_ID = "carelaunch-sso"
CLIENT_SECRET = "sso-test-secret-" + secrets.token_hex(8)
PASSWORD = "a long enough password 42"


def _rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def provider(live_server):
    op = live_server.url  # http://localhost:PORT
    rp = op.replace("localhost", "127.0.0.1")
    Application.objects.create(
        name="CareLaunch SSO",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=f"{rp}/oidc/callback/",
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    get_user_model().objects.create_user("alice", "alice@alpha.example", PASSWORD, first_name="Alice")
    overrides = {
        "ROOT_URLCONF": "tests.accounts.sso_support",
        "OAUTH2_PROVIDER": {
            "OIDC_ENABLED": True,
            "OIDC_RSA_PRIVATE_KEY": _rsa_pem(),
            "PKCE_REQUIRED": True,
            "OAUTH2_VALIDATOR_CLASS": "tests.accounts.sso_support.EmailClaimsValidator",
            "SCOPES": {"openid": "OpenID", "email": "Email", "profile": "Profile"},
        },
        "AUTHENTICATION_BACKENDS": [
            "django.contrib.auth.backends.ModelBackend",
            "apps.accounts.oidc.CareLaunchOIDCBackend",
        ],
        "OIDC_ENABLED": True,
        "OIDC_RP_CLIENT_ID": CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{op}/op/authorize/",
        "OIDC_OP_TOKEN_ENDPOINT": f"{op}/op/token/",
        "OIDC_OP_USER_ENDPOINT": f"{op}/op/userinfo/",
        "OIDC_OP_JWKS_ENDPOINT": f"{op}/op/.well-known/jwks.json",
        "OIDC_OP_ISSUER": f"{op}/op",
        "ALLOWED_HOSTS": ["localhost", "127.0.0.1"],
    }
    with override_settings(**overrides):
        yield {"op": op, "rp": rp}


def _sign_in_at_provider(browser: requests.Session, login_page: requests.Response) -> requests.Response:
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
    return browser.post(
        login_page.url,
        data={"csrfmiddlewaretoken": csrf, "username": "alice", "password": PASSWORD},
        headers={"Referer": login_page.url},
    )


def test_sso_login_through_a_real_provider(provider):
    browser = requests.Session()
    login_page = browser.get(f"{provider['rp']}/oidc/authenticate/", timeout=10)
    assert urlparse(login_page.url).hostname == "localhost"  # we are at the provider's sign-in page
    landing = _sign_in_at_provider(browser, login_page)
    assert landing.status_code == 200
    assert urlparse(landing.url).hostname == "127.0.0.1"
    assert "alice" in landing.text  # signed in to CareLaunch as the provider's user
    assert browser.cookies.get("sessionid", domain="127.0.0.1") is not None or any(
        c.name == "sessionid" and "127.0.0.1" in c.domain for c in browser.cookies
    )


def _code_for(browser: requests.Session, provider: dict, nonce: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": f"{provider['rp']}/oidc/callback/",
            "scope": "openid email",
            "state": secrets.token_urlsafe(16),
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    authorize = f"{provider['op']}/op/authorize/?{query}"
    page = browser.get(authorize, timeout=10)
    if "csrfmiddlewaretoken" in page.text:
        _sign_in_at_provider(browser, page)
    redirect = browser.get(authorize, allow_redirects=False, timeout=10)
    code = parse_qs(urlparse(redirect.headers["Location"]).query)["code"][0]
    return code, verifier


def _real_id_token(provider: dict, nonce: str) -> str:
    browser = requests.Session()
    code, verifier = _code_for(browser, provider, nonce)
    token = requests.post(
        f"{provider['op']}/op/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{provider['rp']}/oidc/callback/",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text
    return token.json()["id_token"]


def _tamper_payload(id_token: str) -> str:
    header, payload, signature = id_token.split(".")
    claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    forged = claims.replace("alice@alpha.example", "mallory@alpha.example").replace('"sub":', '"sub" :')
    encoded = base64.urlsafe_b64encode(forged.encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


def test_genuine_id_token_verifies_and_a_tampered_one_is_refused(provider):
    nonce = secrets.token_urlsafe(16)
    id_token = _real_id_token(provider, nonce)
    backend = CareLaunchOIDCBackend()
    assert backend.verify_token(id_token, nonce=nonce)["aud"] == CLIENT_ID
    with pytest.raises(SuspiciousOperation):
        backend.verify_token(_tamper_payload(id_token), nonce=nonce)


def test_id_token_for_another_client_or_issuer_is_refused(provider, settings):
    nonce = secrets.token_urlsafe(16)
    id_token = _real_id_token(provider, nonce)
    settings.OIDC_OP_ISSUER = "https://someone-else.example"
    with pytest.raises(SuspiciousOperation):
        CareLaunchOIDCBackend().verify_token(id_token, nonce=nonce)
    settings.OIDC_OP_ISSUER = f"{provider['op']}/op"
    settings.OIDC_RP_CLIENT_ID = "another-client"
    with pytest.raises(SuspiciousOperation):
        CareLaunchOIDCBackend().verify_token(id_token, nonce=nonce)


def test_nonce_mismatch_is_refused(provider):
    id_token = _real_id_token(provider, "the-right-nonce")
    with pytest.raises(SuspiciousOperation):
        CareLaunchOIDCBackend().verify_token(id_token, nonce="another-nonce")
