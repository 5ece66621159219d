from django.db import migrations

from apps.core.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        EnableRowLevelSecurity("Membership"),
        EnableRowLevelSecurity("EhrConnection"),
        EnableRowLevelSecurity("TenantKey"),
        EnableRowLevelSecurity("Invitation"),
    ]
