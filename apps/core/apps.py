from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from apps.core.rls import install_tenant_setting_wrapper

        connection_created.connect(install_tenant_setting_wrapper, dispatch_uid="carelaunch-rls")
