from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        # Registers the outbox handlers (after the customers app's: see campaigns.tasks).
        from campaigns import tasks  # noqa: F401
        from campaigns.selectors import customer_segments
        from crm.navigation import NavItem, register
        from customers.panels import CustomerPanel, panel_register

        # The customer page shows the segments the customer is in, and why.
        panel_register(
            CustomerPanel(
                template="campaigns/partials/customer_segments.html",
                context=lambda request, customer: {"customer_segments": customer_segments(customer.pk)},
                permission="campaigns.view_segment",
            )
        )

        register(
            NavItem(
                label=_("Segments"),
                url_name="campaigns:segment_list",
                permission="campaigns.view_segment",
                description=_("Groups of customers by profile, analytics and behaviour, kept up to date."),
            )
        )
        register(
            NavItem(
                label=_("At-risk customers"),
                url_name="campaigns:at_risk",
                permission="campaigns.view_segmentmembership",
                description=_("Valuable customers likely to leave: call them first."),
            )
        )
