from django.db import migrations

from crm.roles import Role, grant_permissions, model_permissions

MODELS = [
    "proposedorder", "proposedorderline", "proposedorderevent", "supplierbuyerpermission",
    "auditevent", "loginattempt", "suppliersalesday", "productsalesday", "salesrollupstate",
]


def grant(apps, schema_editor):
    # The object permission that makes a staff user a buyer of one supplier. It belongs to the supplier
    # model (guardian checks the permission's content type against the object's) but is this app's to
    # define: the extranet owns buying, crm only the catalog.
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    supplier_type, _created = content_type_model.objects.get_or_create(app_label="crm", model="supplier")
    permission_model.objects.get_or_create(
        content_type=supplier_type, codename="buy_from_supplier",
        defaults={"name": "Can review and approve the supplier's proposed orders"},
    )
    grant_permissions(
        apps,
        {
            Role.ADMINISTRATOR: model_permissions("extranet", MODELS),
            Role.BUYER: model_permissions(
                "extranet", ["proposedorder", "proposedorderline", "proposedorderevent"], ("view",)
            ) + ["extranet.change_proposedorder"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("extranet", "0003_sales_orders_audit"), ("crm", "0002_roles"), ("contenttypes", "0002_remove_content_type_name")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
