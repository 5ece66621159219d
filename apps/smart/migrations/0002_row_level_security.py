from django.db import migrations

from apps.core.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("smart", "0001_initial")]

    operations = [
        EnableRowLevelSecurity("LaunchState"),
        EnableRowLevelSecurity("SmartIdentity"),
        EnableRowLevelSecurity("TokenGrant"),
        EnableRowLevelSecurity("SmartSession"),
    ]
