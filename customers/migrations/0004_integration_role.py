from django.db import migrations

from crm.roles import Role, grant_permissions, model_permissions


def grant(apps, schema_editor):
    grant_permissions(
        apps,
        {
            Role.INTEGRATION: [
                *model_permissions("customers", ["customer", "interaction"], ("view", "add", "change")),
                *model_permissions(
                    "customers",
                    [
                        "customeridentity",
                        "purchaseline",
                        "contract",
                        "consent",
                        "customeranalytics",
                        "sourcesystem",
                    ],
                    ("view",),
                ),
            ],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_customeridentity_match_note_and_more"),
        ("crm", "0004_idempotency_key"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
