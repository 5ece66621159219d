"""Tokens and secrets never reach a log line."""

import logging

import pytest

from apps.core.logging import RedactSecretsFilter, redact

JWT = "eyJhbGciOiJSUzM4NCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-123", "abc.def-123"),
        (f"id_token {JWT}", "eyJzdWIiOiJhbGljZSJ9"),
        ("POST body access_token=s3cr3tvalue&scope=x", "s3cr3tvalue"),
        ('{"refresh_token": "r3fr3sh"}', "r3fr3sh"),
        ("client_secret=topsecret", "topsecret"),
        ("code_verifier=verif1er", "verif1er"),
        ("callback ?code=authcode123&state=s", "authcode123"),
    ],
)
def test_redact_removes_secrets(text, secret):
    assert secret not in redact(text)


def test_filter_rewrites_formatted_messages():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token response %s", (f"access_token={JWT}",), None)
    assert RedactSecretsFilter().filter(record) is True
    assert JWT not in record.getMessage()
    assert "[redacted" in record.getMessage()


def test_harmless_messages_are_left_alone():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "launched %s", ("Patient/p-001",), None)
    RedactSecretsFilter().filter(record)
    assert record.getMessage() == "launched Patient/p-001"
