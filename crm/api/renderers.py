"""A lean JSON parser and renderer (orjson) for endpoints whose bodies are large: a batch of 1,000
events parses and answers several times faster than with the standard library's ``json``."""

from decimal import Decimal
from typing import Any

import orjson
from django.utils.functional import Promise
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer


def _default(value: Any) -> Any:
    """What orjson does not know: decimals as strings (as DRF's encoder gives them with
    ``COERCE_DECIMAL_TO_STRING``), lazy translations as text."""
    if isinstance(value, Decimal | Promise):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class ORJSONParser(BaseParser):
    """``application/json`` bodies, parsed by orjson. Malformed JSON answers 400 ``parse_error``."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as error:
            raise ParseError(f"JSON parse error - {error}") from error


class ORJSONRenderer(BaseRenderer):
    """JSON answers rendered by orjson, compact, UTF-8 (Korean text as is)."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, default=_default)
