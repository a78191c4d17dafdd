from django.db import migrations

from crm.roles import STAFF_ROLES, SUPPLIER_ROLES, Role, grant_permissions, model_permissions

CATALOG = ["supplier", "product", "location"]


def create_roles(apps, schema_editor):
    grant_permissions(apps, {role: [] for role in (*STAFF_ROLES, *SUPPLIER_ROLES)})
    grant_permissions(
        apps,
        {
            Role.ADMINISTRATOR: [
                "crm.access_staff_ui", *model_permissions("crm", ["user", *CATALOG]),
                *model_permissions("auth", ["group"]), *model_permissions("authtoken", ["token", "tokenproxy"]),
            ],
            Role.SERVICE_REP: ["crm.access_staff_ui", *model_permissions("crm", CATALOG, ("view",))],
            Role.MARKETER: ["crm.access_staff_ui", *model_permissions("crm", CATALOG, ("view",))],
            Role.BUYER: ["crm.access_staff_ui", *model_permissions("crm", CATALOG, ("view",)), "crm.change_product"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
