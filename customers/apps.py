from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        # Registers the outbox handlers.
        from customers import tasks  # noqa: F401

        self._register_customer_navigation()
        self._register_merge_navigation()
        self._register_import_navigation()
        self._register_privacy_navigation()

    def _register_customer_navigation(self) -> None:
        from crm.navigation import NavItem, register

        register(
            NavItem(
                label=_("Customers"),
                url_name="customers:customer_list",
                permission="customers.view_customer",
                description=_(
                    "Find a customer by name, email, phone or an id in any system, and read their whole history."
                ),
            )
        )

    def _register_merge_navigation(self) -> None:
        from crm.navigation import NavItem, register

        register(
            NavItem(
                label=_("Merge customers"),
                url_name="customers:merge_new",
                permission="customers.merge_customer",
                description=_("Join two records of the same person into one; a merge can be undone."),
            )
        )
        register(
            NavItem(
                label=_("Merges"),
                url_name="customers:merge_list",
                permission="customers.view_mergerecord",
                description=_("Who merged which customers, when and why, and what moved."),
            )
        )

    def _register_import_navigation(self) -> None:
        from crm.navigation import NavItem, register

        register(
            NavItem(
                label=_("Imports"),
                url_name="customers:import_list",
                permission="customers.view_importjob",
                description=_("Upload customers or events from CSV files and follow each import to the end."),
            )
        )

    def _register_privacy_navigation(self) -> None:
        from crm.navigation import NavItem, register

        register(
            NavItem(
                label=_("Data-subject requests"),
                url_name="customers:subject_requests",
                permission="customers.view_datasubjectrequest",
                description=_("Export a customer's data, or erase it, on their request."),
            )
        )
        register(
            NavItem(
                label=_("Access review"),
                url_name="customers:access_review",
                permission="customers.review_access_log",
                description=_("The monthly check of who accessed customers' personal data."),
            )
        )
