"""Secrets at rest: encrypted in the column, plaintext in Python, rotatable keys."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection

from apps.core import crypto
from apps.core.crypto import EncryptedTextField


def test_round_trip_and_ciphertext_differs():
    token = crypto.encrypt("access-token-value")
    assert "access-token-value" not in token
    assert crypto.decrypt(token) == "access-token-value"


def test_key_rotation_new_key_first_old_still_decrypts(settings):
    old = crypto.encrypt("rotated secret")
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.ENCRYPTION_KEYS]
    assert crypto.decrypt(old) == "rotated secret"
    assert crypto.decrypt(crypto.encrypt("new")) == "new"


def test_lookup_hash_is_stable_and_keyed(settings):
    first = crypto.lookup_hash("value")
    assert first == crypto.lookup_hash("value") and "value" not in first
    settings.SECRET_KEY = "another-key-" + "x" * 40
    assert crypto.lookup_hash("value") != first


def test_field_stores_ciphertext_and_keeps_empty_values_empty():
    field = EncryptedTextField()
    stored = field.get_prep_value("client-secret-123")
    assert stored != "client-secret-123"
    assert field.from_db_value(stored, None, connection) == "client-secret-123"
    assert field.get_prep_value("") == ""
    assert field.get_prep_value(None) is None
    assert field.from_db_value("", None, connection) == ""


def test_tampered_ciphertext_is_refused():
    token = crypto.encrypt("secret")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(InvalidToken):
        crypto.decrypt(tampered)
