from django.db import migrations

from crm.roles import Role, grant_permissions, model_permissions

MODELS = [
    "sourcesystem", "customer", "customeridentity", "interaction", "purchaseline",
    "contract", "consent", "consentchange", "customeranalytics",
]
PROFILE = ["customer", "customeridentity", "interaction", "purchaseline", "contract", "consent",
           "consentchange", "customeranalytics", "sourcesystem"]


def grant(apps, schema_editor):
    grant_permissions(
        apps,
        {
            Role.ADMINISTRATOR: model_permissions("customers", MODELS),
            # Reps read the whole profile, correct it, log calls and notes, and record consent changes.
            Role.SERVICE_REP: [
                *model_permissions("customers", PROFILE, ("view",)),
                "customers.change_customer", "customers.add_interaction",
                "customers.change_consent", "customers.add_consentchange",
            ],
            Role.MARKETER: model_permissions("customers", PROFILE, ("view",)),
            # Buyers read sales of the products they buy, never customers.
            Role.BUYER: ["customers.view_purchaseline"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial"), ("crm", "0002_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
