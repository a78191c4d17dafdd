"""The orjson parser and renderer (crm/api/renderers.py) that the events endpoint uses."""

import io
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ParseError

from crm.api.renderers import ORJSONParser, ORJSONRenderer


def test_the_renderer_writes_decimals_as_strings_lazy_text_and_korean_as_is() -> None:
    body = ORJSONRenderer().render(
        {"amount": Decimal("129000.50"), "label": gettext_lazy("Email"), "s": "구매"}
    )
    assert body.decode() == '{"amount":"129000.50","label":"Email","s":"구매"}'
    assert ORJSONRenderer().render(None) == b""


def test_the_renderer_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError):
        ORJSONRenderer().render({"x": object()})


def test_the_parser_reads_json_and_refuses_malformed_json() -> None:
    assert ORJSONParser().parse(io.BytesIO('[{"a": "가"}]'.encode())) == [{"a": "가"}]
    with pytest.raises(ParseError, match="JSON parse error"):
        ORJSONParser().parse(io.BytesIO(b"[{not json"))
