from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")

    def ready(self) -> None:
        from crm import two_factor  # noqa: F401  # connects its sign-in receiver
        from crm.db import timestamps_loaded_in_c

        connection_created.connect(timestamps_loaded_in_c, dispatch_uid="crm.db.timestamps_loaded_in_c")
