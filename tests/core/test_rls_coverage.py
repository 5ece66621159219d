"""Every tenant-owned table is under row-level security: no model can forget its migration operation."""

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from apps.core.models import TenantOwnedModel
from apps.core.rls import EnableRowLevelSecurity


def _tenant_owned_models():
    return [m for m in apps.get_models() if issubclass(m, TenantOwnedModel) and not m._meta.proxy]


def test_there_are_tenant_owned_models():
    assert len(_tenant_owned_models()) >= 1


@pytest.mark.django_db
def test_each_tenant_owned_model_has_an_rls_migration_operation():
    loader = MigrationLoader(connection)
    covered = {
        (app_label, operation.model_name.lower())
        for (app_label, _name), migration in loader.disk_migrations.items()
        for operation in migration.operations
        if isinstance(operation, EnableRowLevelSecurity)
    }
    missing = [m._meta.label for m in _tenant_owned_models() if (m._meta.app_label, m._meta.model_name) not in covered]
    assert missing == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_each_tenant_owned_table_has_forced_rls_and_a_policy():
    tables = [m._meta.db_table for m in _tenant_owned_models()] + ["audit_auditevent"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relname = ANY(%s) AND c.relrowsecurity AND c.relforcerowsecurity "
            "AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')",
            [tables],
        )
        protected = {row[0] for row in cursor.fetchall()}
    assert sorted(set(tables) - protected) == []


def test_tenant_owned_indexes_and_unique_constraints_lead_with_the_tenant():
    """Exceptions, on purpose: one-to-one links (unique by nature), and hashes of random secrets (state,
    invitation token, session handle), which are looked up before the tenant is known and must be unique
    across all tenants."""
    offenders = []
    for model in _tenant_owned_models():
        for constraint in model._meta.constraints:
            fields = list(getattr(constraint, "fields", ()) or ())
            if fields and fields[0] != "tenant":
                offenders.append(f"{model._meta.label}: constraint {constraint.name}")
        for field in model._meta.fields:
            exempt = field.primary_key or field.one_to_one or field.name.endswith("_hash")
            if field.unique and not exempt:
                offenders.append(f"{model._meta.label}.{field.name}: unique without the tenant")
    assert offenders == []
