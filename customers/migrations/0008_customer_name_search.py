"""Name search indexes (PostgreSQL only): a pg_trgm GIN index for parts of a name anywhere, and a
``text_pattern_ops`` B-tree for the start of a name, both on ``UPPER(name)``, the expression Django's
``icontains``/``istartswith`` compile to. SQLite has neither and searches without them.

Built ``CONCURRENTLY`` (hence ``atomic = False``), so that applying this to a live customer table does not
block writes. The indexes are not in the model's ``Meta`` because they cannot exist on SQLite.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "customers_customer_name_trgm": "USING gin (UPPER(name) gin_trgm_ops)",
    "customers_customer_name_prefix": "(UPPER(name) text_pattern_ops)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON customers_customer {definition}"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("customers", "0007_analytics_last_nps_at")]

    operations = [TrigramExtension(), migrations.RunPython(create, drop, elidable=False)]
