"""Memberships: the one-open-stay unique index by (segment, customer) again instead of (customer, segment)
(issue 6). A refresh inserts its new rows in customer order: by customer first they landed on every leaf
page of the index, between each customer's other segments (page splits and writes all over a large
index), while by segment first they are appended to the segment's own range, for a new segment at the
index's right-hand edge. The segments of one customer are read with one probe per segment."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0005_membership_one_open_by_customer'),
        ('customers', '0010_consent_granted_index'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='segmentmembership',
            name='campaigns_membership_one_open',
        ),
        migrations.AddConstraint(
            model_name='segmentmembership',
            constraint=models.UniqueConstraint(condition=models.Q(('exited_at__isnull', True)), fields=('segment', 'customer'), name='campaigns_membership_one_open'),
        ),
    ]
