"""Memberships: no database check of each new row's segment (a full refresh inserts hundreds of
thousands), and the members index ascending by id (read backwards for "newest first"), so that a
refresh's new rows are appended at the index's right-hand edge."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0003_membership_lighter_writes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='segmentmembership',
            name='campaigns_membership_members',
        ),
        migrations.AlterField(
            model_name='segmentmembership',
            name='segment',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='campaigns.segment', verbose_name='segment'),
        ),
        migrations.AddIndex(
            model_name='segmentmembership',
            index=models.Index(condition=models.Q(('exited_at__isnull', True)), fields=['segment', 'id'], name='campaigns_membership_members'),
        ),
    ]
