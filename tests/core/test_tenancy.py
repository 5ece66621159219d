"""Tenancy core: scoped managers refuse unscoped queries; PostgreSQL row-level security is the backstop."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError, ProgrammingError
from django_scopes.exceptions import ScopeError

from apps.core.tenancy import all_tenants, current_tenant_id, tenant_scope
from tests.support.models import Note


@pytest.fixture
def notes(tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        a = Note.objects.create(tenant=tenant_a, body="alpha note")
    with tenant_scope(tenant_b):
        b = Note.objects.create(tenant=tenant_b, body="beta note")
    return a, b


def test_unscoped_query_raises(notes):
    with pytest.raises(ScopeError):
        list(Note.objects.all())
    with pytest.raises(ScopeError):
        Note.objects.get(pk=notes[0].pk)


def test_scoped_query_sees_only_its_tenant(notes, tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        assert [n.body for n in Note.objects.all()] == ["alpha note"]
        assert current_tenant_id() == tenant_a.pk
        assert not Note.objects.filter(pk=notes[1].pk).exists()
    with tenant_scope(tenant_b):
        assert [n.body for n in Note.objects.all()] == ["beta note"]


def test_all_tenants_is_explicit(notes):
    with all_tenants():
        assert Note.objects.count() == 2
        assert current_tenant_id() is None


def _raw_bodies() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM test_support_note ORDER BY body")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
def test_runtime_role_is_subject_to_rls(db):
    """Superusers and BYPASSRLS roles skip every policy: the role CI connects as must be neither."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
        cursor.execute("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'test_support_note'")
        assert cursor.fetchone() == (True, True)


@pytest.mark.postgres
def test_raw_sql_under_tenant_a_setting_returns_no_tenant_b_rows(notes, tenant_a):
    # The setting by hand, no scope open: exactly what the policy sees.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_a.pk)])
        cursor.execute("SELECT body, tenant_id FROM test_support_note")
        rows = cursor.fetchall()
    assert rows == [("alpha note", tenant_a.pk)]


@pytest.mark.postgres
def test_raw_sql_inside_scope_is_filtered_by_the_database(notes, tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        assert _raw_bodies() == ["alpha note"]
    with tenant_scope(tenant_b):
        assert _raw_bodies() == ["beta note"]
    with all_tenants():
        assert _raw_bodies() == ["alpha note", "beta note"]
    # No scope at all: the policy shows nothing.
    assert _raw_bodies() == []


@pytest.mark.postgres
def test_rls_refuses_writing_a_row_for_another_tenant(notes, tenant_a, tenant_b):
    refused = pytest.raises((DatabaseError, ProgrammingError, IntegrityError))
    with tenant_scope(tenant_a), refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO test_support_note (tenant_id, body) VALUES (%s, 'smuggled')", [tenant_b.pk])


@pytest.mark.postgres
def test_setting_follows_scope_changes_inside_one_transaction(notes, tenant_a, tenant_b):
    with transaction.atomic():
        with tenant_scope(tenant_a):
            assert _raw_bodies() == ["alpha note"]
        with tenant_scope(tenant_b):
            assert _raw_bodies() == ["beta note"]
        assert _raw_bodies() == []


@pytest.mark.postgres
def test_setting_rolled_back_with_its_savepoint(notes, tenant_a, tenant_b):
    with tenant_scope(tenant_a), transaction.atomic():
        try:
            with transaction.atomic():
                assert _raw_bodies() == ["alpha note"]
                raise RuntimeError("roll this savepoint back")
        except RuntimeError:
            pass
        # PostgreSQL forgot the setting with the savepoint; the wrapper must notice and set it again.
        assert _raw_bodies() == ["alpha note"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_autocommit_statements_carry_the_setting(tenant_a, tenant_b):
    """Outside any transaction each statement runs alone; the wrapper gives it its own short one."""
    with tenant_scope(tenant_a):
        Note.objects.create(tenant=tenant_a, body="committed alpha")
    with tenant_scope(tenant_b):
        Note.objects.create(tenant=tenant_b, body="committed beta")
    assert not connection.in_atomic_block
    with tenant_scope(tenant_a):
        assert _raw_bodies() == ["committed alpha"]
    with tenant_scope(tenant_b):
        assert list(Note.objects.values_list("body", flat=True)) == ["committed beta"]
