import django.db.models.deletion
from django.db import migrations, models

from apps.core.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    initial = True
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="Note",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("body", models.CharField(max_length=200)),
                (
                    "tenant",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="core.tenant",
                    ),
                ),
            ],
            options={"indexes": [models.Index(fields=["tenant", "body"], name="note_tenant_body")]},
        ),
        EnableRowLevelSecurity("Note"),
    ]
