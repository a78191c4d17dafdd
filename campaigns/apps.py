from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        # Registers the outbox handlers (after the customers app's: see campaigns.tasks).
        from campaigns import tasks  # noqa: F401
        from crm.navigation import NavItem, register

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
