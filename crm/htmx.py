"""htmx helpers for the staff UI's views."""

from django.http import HttpRequest


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx sent the request (it then wants a partial, not the whole page)."""
    return request.headers.get("HX-Request") == "true"
