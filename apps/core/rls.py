"""PostgreSQL row-level security: the backstop behind the scoped managers.

Each tenant-owned table gets a policy on two per-transaction settings, `app.tenant_id` and
`app.all_tenants`. An execute wrapper installed on every PostgreSQL connection sets them (with
`set_config(..., is_local => true)`) from the active tenant scope before the first query of each
transaction; a statement run in autocommit mode is wrapped in its own short transaction so the setting
applies to it. The tables use FORCE ROW LEVEL SECURITY so even their owner is subject to the policy
(superusers always bypass RLS: the runtime role must not be one).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, transaction

from apps.core.tenancy import rls_setting

SET_TENANT_SQL = "SELECT set_config('app.tenant_id', %s, true), set_config('app.all_tenants', %s, true)"
NO_TENANT = ("", "")


def _marker_active(connection: Any, marker: Any) -> bool:
    # Django drops on-commit callbacks when their transaction or savepoint ends or rolls back, exactly
    # when PostgreSQL forgets a set_config(..., true): a registered marker means the setting still holds.
    return any(entry[1] is marker for entry in connection.run_on_commit)


def _apply_setting(connection: Any, raw_cursor: Any, wanted: tuple[str, str]) -> None:
    raw_cursor.execute(SET_TENANT_SQL, wanted)

    def marker() -> None:  # a no-op; its presence is the signal
        return None

    connection.run_on_commit.append((set(connection.savepoint_ids), marker, False))
    connection._carelaunch_rls = (wanted, marker)


def tenant_setting_wrapper(execute, sql, params, many, context):
    connection = context["connection"]
    wanted = rls_setting()
    current = getattr(connection, "_carelaunch_rls", None)
    if connection.in_atomic_block:
        holds = current is not None and _marker_active(connection, current[1])
        in_force = current[0] if holds else NO_TENANT
        if in_force != wanted:
            _apply_setting(connection, context["cursor"].cursor, wanted)
        return execute(sql, params, many, context)
    if wanted == NO_TENANT or not connection.get_autocommit():
        return execute(sql, params, many, context)
    with transaction.atomic(using=connection.alias):
        _apply_setting(connection, context["cursor"].cursor, wanted)
        return execute(sql, params, many, context)


def install_tenant_setting_wrapper(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "postgresql" and tenant_setting_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.append(tenant_setting_wrapper)


TENANT_MATCH = (
    "(current_setting('app.all_tenants', true) = 'on' "
    "OR tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint)"
)


class EnableRowLevelSecurity(migrations.operations.base.Operation):
    """Migration operation: turn on RLS with the tenant policy for one model's table (PostgreSQL only).

    Rows are visible, and can be written, only for the tenant in scope (or under all_tenants()).
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def state_forwards(self, app_label: str, state: Any) -> None:
        return None

    def _table(self, app_label: str, state: Any, schema_editor: Any) -> str:
        model = state.apps.get_model(app_label, self.model_name)
        return schema_editor.quote_name(model._meta.db_table)

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = self._table(app_label, to_state, schema_editor)
        schema_editor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        schema_editor.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING {TENANT_MATCH} WITH CHECK {TENANT_MATCH}"
        )

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = self._table(app_label, from_state, schema_editor)
        schema_editor.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        schema_editor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")

    def describe(self) -> str:
        return f"Enable row-level security on {self.model_name}"
