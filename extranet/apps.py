from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExtranetConfig(AppConfig):
    name = "extranet"
    verbose_name = _("Supplier extranet")

    def ready(self) -> None:
        from crm.navigation import NavItem, register
        from extranet import security  # noqa: F401  # records lockouts in the audit log

        register(
            NavItem(
                label=_("Proposed orders"),
                url_name="buying:queue",
                permission="extranet.view_proposedorder",
                description=_("Suppliers' proposed orders waiting for your decision."),
            )
        )
        register(
            NavItem(
                label=_("Supplier messages"),
                url_name="buying:threads",
                permission="extranet.view_messagethread",
                description=_("Conversations with the suppliers you work with."),
            )
        )
