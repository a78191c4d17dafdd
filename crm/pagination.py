"""Keyset pagination for the staff UI's lists: newest first by id, never OFFSET, never COUNT(*)."""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from crm.admin_utils import search_id


@dataclass(frozen=True)
class KeysetPage:
    """One page of a list ordered by descending id, with what the pager (crm/partials/keyset_pager.html)
    needs: the id to read older rows from, and the request's other parameters to keep."""

    rows: list[Any]
    older: int | None
    is_first_page: bool
    query: str


def keyset_page(request: HttpRequest, queryset: QuerySet[Any], size: int = 50) -> KeysetPage:
    """The page of ``queryset`` (ordered by ``-id``) below ``?before=<id>``, in one query of ``size + 1`` rows."""
    before = search_id(request.GET.get("before", ""))
    if before is not None:
        queryset = queryset.filter(pk__lt=before)
    rows = list(queryset.order_by("-pk")[: size + 1])
    query = request.GET.copy()
    query.pop("before", None)
    return KeysetPage(
        rows=rows[:size],
        older=rows[size - 1].pk if len(rows) > size else None,
        is_first_page=before is None,
        query=query.urlencode(),
    )
