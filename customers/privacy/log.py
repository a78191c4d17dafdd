"""Writing the personal-data access log from a request: who (account or token's account), from where (IP
address), through which door (the route), what (the action), whose data (the customers), and for
downloads the reason given.

``access_record`` is the one function every door calls, directly or through the hooks of
``customers.privacy.hooks``. It raises when the record cannot be written, so a request never succeeds
without its record (fail closed).
"""

from collections.abc import Iterable

from django.http import HttpRequest
from django.utils.ipv6 import clean_ipv6_address

from customers.privacy.chain import record_write
from customers.privacy.models import AccessAction, AccessRecord

# Actions that produce a file: the person must have given a reason first.
FILE_ACTIONS = frozenset({AccessAction.DOWNLOAD, AccessAction.EXPORT, AccessAction.PRINT})


class ReasonRequired(ValueError):
    """A download or export was attempted without the reason the law asks for."""


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from, as the server saw it (``REMOTE_ADDR``; a proxy in front must
    set it, e.g. gunicorn's ``--forwarded-allow-ips`` with the proxy's address)."""
    address = request.META.get("REMOTE_ADDR") or None
    if address and ":" in address:
        try:
            return clean_ipv6_address(address)
        except Exception:
            return None
    return address


def request_route(request: HttpRequest) -> str:
    """The door: the URL's name (``customers:merge_detail``, ``api:customer-detail``), else its path."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name:
        return f"{request.method} {match.view_name}"
    return f"{request.method} {request.path}"


def access_record(
    request: HttpRequest,
    action: str,
    customer_ids: Iterable[int],
    reason: str | None = None,
    *,
    route: str | None = None,
) -> AccessRecord:
    """Write the access record of this request. A file action needs a non-empty ``reason``."""
    reason = (reason or "").strip()
    if action in FILE_ACTIONS and not reason:
        raise ReasonRequired(action)
    user = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    return record_write(
        user_id=user.pk if authenticated else None,  # type: ignore[union-attr]
        username=user.get_username() if authenticated else "",  # type: ignore[union-attr]
        ip=client_ip(request),
        action=action,
        route=route or request_route(request),
        customer_ids=customer_ids,
        reason=reason[:500],
    )
