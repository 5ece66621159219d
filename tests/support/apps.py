from django.apps import AppConfig


class TestSupportConfig(AppConfig):
    """A tenant-owned model and a tenant task used only by the foundation's tests (installed by test settings)."""

    name = "tests.support"
    label = "test_support"
