"""The OpenAPI schema builds without warnings and lists every API endpoint."""

import io

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from crm.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def api_routes(patterns: list, prefix: str = "") -> set[str]:
    """Every URL under /api/v1/ as the schema writes it ({id} for a parameter)."""
    import re

    routes = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes |= api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            route = route.replace("^", "").replace("$", "").replace("\\.(?P<format>[a-z0-9]+)/?", "")
            if "(?P<format>" in route:
                continue
            routes.add(
                "/"
                + re.sub(
                    r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>", lambda m: "{" + str(m[1] or m[2]) + "}", route
                )
            )
    return routes


def test_schema_builds_without_warnings() -> None:
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "openapi: 3" in out.getvalue()


def test_every_endpoint_is_in_the_schema() -> None:
    client = APIClient()
    client.force_authenticate(UserFactory(role=Role.ADMINISTRATOR))
    schema = client.get("/api/schema/", {"format": "json"}).json()
    import re

    def shape(path: str) -> str:  # the schema names {pk} after the model field ({id})
        return re.sub(r"\{\w+\}", "{}", path)

    routes = {shape(route) for route in api_routes(get_resolver().url_patterns)}
    documented = {shape(path) for path in schema["paths"]}
    assert routes, "no API routes found"
    assert routes <= documented, routes - documented


def test_docs_page_serves_swagger_ui_from_our_static_files() -> None:
    client = APIClient()
    client.force_authenticate(UserFactory(role=Role.ADMINISTRATOR))
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()
