"""The route inventory: every URL of the project either writes access records or is listed here as
touching no personal data, with the reason. ``unlogged_routes()`` answers the routes that do neither; a
test asserts it is empty, so a new door without logging fails the suite until it logs or is listed.

A feature that adds a route adds its hook (``customers.privacy.hooks``) or one line below.
"""

from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

# Routes (URL names) that show or change no customer's personal data.
NO_PERSONAL_DATA: dict[str, str] = {
    "home": "the staff home page: navigation only",
    "login": "staff sign-in",
    "logout": "staff sign-out",
    "language_set": "the user's language",
    "two_factor_setup": "the staff user's own second-factor device",
    "two_factor_verify": "the staff user's own second-factor code",
    "set_language": "Django's language switch",
    "customers:import_list": "file names, states and counts of imports; no rows",
    "customers:import_progress": "counts and rejected rows' numbers, fields and codes; no values",
    "customers:subject_requests": "the audit of requests: customer numbers, references, staff names",
    "customers:access_review": "the access log's review: staff accounts and counts, no customer values",
    "customers:retention_report": "customer numbers and dates of the dry run",
    "api:import-list": "file names, states and counts of imports; no rows",
    "api:import-detail": "an import's state and counts; no rows",
    "api:import-errors": "rejected rows' numbers, fields and codes; no values",
    "api:schema": "the OpenAPI schema",
    "api:docs": "the API documentation",
    "admin:index": "the admin's index",
    "admin:login": "admin sign-in",
    "admin:logout": "admin sign-out",
    "admin:password_change": "the user's own password",
    "admin:password_change_done": "the user's own password",
    "admin:autocomplete": "autocomplete serves products, suppliers and users; customers are picked by id",
    "admin:jsi18n": "translations for the admin's JavaScript",
    "admin:view_on_site": "a redirect",
    "admin:app_list": "the list of an app's tables",
    "admin:auth_user_password_change": "a staff user's password",
    "admin:otp_totp_totpdevice_config": "a second-factor device's setup key",
    "admin:otp_totp_totpdevice_qrcode": "a second-factor device's QR code",
    "campaigns:segment_list": "segments' names, rules and sizes; no members",
    "campaigns:segment_refresh": "starts a refresh; shows no member",
}

# Whole URL namespaces (name prefixes) that show no customer's personal data.
NO_PERSONAL_DATA_PREFIXES: dict[str, str] = {
    "extranet:": "the supplier extranet: catalog, stock, aggregated sales, orders and messages; no customers",
    "buying:": "buyers' queue of suppliers' proposed orders and their message threads; no customers",
    "api:extranet-": "the extranet API: the same supplier data as its pages; no customers",
}

# Admin tables without customers' personal data (the admin's own routes of these models are allowed).
NO_PERSONAL_DATA_MODELS: dict[str, str] = {
    "auth.group": "roles",
    "crm.user": "staff and supplier accounts (not customers)",
    "crm.supplier": "the catalog",
    "crm.product": "the catalog",
    "crm.location": "the catalog",
    "crm.outboxmessage": "work queued for handlers: ids only",
    "crm.loginattempt": "failed sign-ins: staff and supplier usernames and addresses, not customers",
    "crm.idempotencykey": "stored API answers for 24 hours; erased with the customer (customers.privacy.subject)",
    "authtoken.tokenproxy": "API tokens",
    "customers.accessrecord": "the access log itself: customer numbers only",
    "customers.accesscheckpoint": "the access log's checkpoints",
    "customers.accesschainhead": "the access log's chain head",
    "customers.datasubjectrequest": "the audit of requests: customer numbers and references",
    "customers.sourcesystem": "source systems",
    "customers.purchaseline": "product lines: product, price, quantity; no customer column",
    "customers.customeranalytics": "aggregates (scores, sums, dates) without identifying fields",
    "customers.importjob": "file names, states and counts of imports",
    "customers.importrowerror": "rejected rows' numbers, fields and codes",
    "extranet.suppliermembership": "supplier users' memberships",
    "extranet.inventorylevel": "stock levels",
    "otp_totp.totpdevice": "staff and supplier users' second-factor devices",
    "campaigns.segment": "segments' names, rules and sizes; members are in campaigns.segmentmembership",
}

# Apps whose admin tables hold no customer's personal data.
NO_PERSONAL_DATA_APPS: dict[str, str] = {
    "extranet": "the supplier extranet's orders, messages, rollups, invitations and audit",
}


def _walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<{pattern.pattern}>"
            yield name, pattern.callback


def route_logs(callback: Any) -> bool:
    """Whether a URL's view writes access records: a decorated function, a class-based view or DRF view
    with the mixin, or a ModelAdmin with the admin mixin."""
    from customers.privacy.hooks import PersonalDataAdminMixin

    if getattr(callback, "personal_data_logged", False):
        return True
    for attribute in ("view_class", "cls"):
        view_class = getattr(callback, attribute, None)
        if view_class is not None and getattr(view_class, "personal_data_logged", False):
            return True
    model_admin = getattr(callback, "model_admin", None)
    return isinstance(model_admin, PersonalDataAdminMixin)


def _allowed(name: str, callback: Any) -> bool:
    if name in NO_PERSONAL_DATA or name.startswith(tuple(NO_PERSONAL_DATA_PREFIXES)):
        return True
    model_admin = getattr(callback, "model_admin", None)
    if model_admin is not None and (
        model_admin.opts.label_lower in NO_PERSONAL_DATA_MODELS
        or model_admin.opts.app_label in NO_PERSONAL_DATA_APPS
    ):
        return True
    # The admin's catch-all redirect ("admin/<path>") and an object's bare URL redirect elsewhere.
    return name.startswith("admin:<")


def unlogged_routes() -> list[str]:
    """The routes that neither log nor are listed as touching no personal data."""
    return sorted(
        name
        for name, callback in _walk(get_resolver().url_patterns)
        if not route_logs(callback) and not _allowed(name, callback)
    )
