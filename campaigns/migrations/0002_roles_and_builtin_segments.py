from django.db import migrations

from campaigns.builtins import BUILTINS
from crm.roles import Role, grant_permissions, model_permissions

MODELS = ["segment", "segmentmembership"]


def grant(apps, schema_editor):
    grant_permissions(
        apps,
        {
            Role.ADMINISTRATOR: model_permissions("campaigns", MODELS),
            # Marketers build segments and choose the members of static ones.
            Role.MARKETER: model_permissions("campaigns", MODELS),
            # Reps see which segments a customer is in, and the alert list of at-risk customers.
            Role.SERVICE_REP: model_permissions("campaigns", MODELS, ("view",)),
        },
    )


def create_builtins(apps, schema_editor):
    segment_model = apps.get_model("campaigns", "Segment")
    for key, spec in BUILTINS.items():
        segment_model.objects.get_or_create(
            builtin_key=key,
            defaults={
                "name": spec["name"],
                "description": spec["description"],
                "kind": "dynamic",
                "rule": spec["rule"],
            },
        )


def remove_builtins(apps, schema_editor):
    apps.get_model("campaigns", "Segment").objects.filter(builtin_key__in=list(BUILTINS)).delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_segments"), ("customers", "0007_analytics_last_nps_at"), ("crm", "0002_roles")]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(create_builtins, remove_builtins),
    ]
