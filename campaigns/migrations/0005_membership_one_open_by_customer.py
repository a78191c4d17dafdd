"""Memberships: the one-open-stay unique index by (customer, segment) instead of (segment, customer), so
that it also serves "the segments this customer is in" and the separate (customer, segment) index goes:
each row a refresh inserts now updates two indexes besides the primary key instead of three."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0004_membership_no_segment_check'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='segmentmembership',
            name='campaigns_membership_one_open',
        ),
        migrations.RemoveIndex(
            model_name='segmentmembership',
            name='campaigns_membership_customer',
        ),
        migrations.AddConstraint(
            model_name='segmentmembership',
            constraint=models.UniqueConstraint(condition=models.Q(('exited_at__isnull', True)), fields=('customer', 'segment'), name='campaigns_membership_one_open'),
        ),
    ]
