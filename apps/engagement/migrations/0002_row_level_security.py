from django.db import migrations

from apps.core.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("engagement", "0001_initial")]

    operations = [
        EnableRowLevelSecurity("CardDismissal"),
        EnableRowLevelSecurity("StoredResponse"),
    ]
