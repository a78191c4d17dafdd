"""The consent table's partial index of granted consents by channel and purpose, which segment conditions
and consent checks read instead of the whole table.

Built ``CONCURRENTLY`` on PostgreSQL (hence ``atomic = False``), so that applying it to a live consent table
of millions of rows does not block consent changes and ingestion; SQLite builds it plainly.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """``AddIndexConcurrently`` on PostgreSQL, a plain ``AddIndex`` on other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0009_merge_0008_customer_name_search_0008_privacy"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="consent",
            index=models.Index(
                condition=models.Q(("granted", True)),
                fields=["channel", "purpose", "customer"],
                name="customers_consent_granted",
            ),
        ),
    ]
