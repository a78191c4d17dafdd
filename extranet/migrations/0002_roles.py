from django.db import migrations

from crm.roles import Role, grant_permissions, model_permissions


def grant(apps, schema_editor):
    grant_permissions(
        apps,
        {
            Role.ADMINISTRATOR: model_permissions("extranet", ["suppliermembership", "inventorylevel"]),
            Role.BUYER: model_permissions("extranet", ["suppliermembership", "inventorylevel"], ("view",)),
            # Supplier roles act only in the extranet; what they read is scoped by their membership.
            Role.SUPPLIER_ADMIN: [
                "extranet.access_extranet", "extranet.manage_supplier_users", "extranet.propose_orders",
            ],
            Role.SUPPLIER_MEMBER: ["extranet.access_extranet", "extranet.propose_orders"],
            Role.SUPPLIER_READ_ONLY: ["extranet.access_extranet"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("extranet", "0001_initial"), ("crm", "0002_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
