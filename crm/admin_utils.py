"""Building blocks for the Django admin of tables with millions of rows.

The admin's defaults read whole tables: ``COUNT(*)`` for the paginator and again for the full result
count, ``SELECT DISTINCT`` for date hierarchies and facet counts, a ``<select>`` of every row for each
foreign key. On 10 million customers and 200 million interactions each of those is seconds to minutes.
``LargeTableAdmin`` switches them off and counts with ``EstimatedCountPaginator``; the apps' admins
choose searches, filters and orderings that an index serves.
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.admin.utils import flatten_fieldsets
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise, cached_property
from django.utils.html import format_html
from django.utils.http import urlencode

# The largest value of a bigint primary key: a longer run of digits is no id, and PostgreSQL would
# refuse to compare it with one.
MAX_ID = 2**63 - 1

# Leaf partitions' estimates summed, so that the estimate still holds once a table is partitioned
# (DESIGN.md: interactions by time); autovacuum never analyzes a partitioned parent itself.
# A never-analyzed table has reltuples -1, counted as 0 so that the caller counts instead.
_ESTIMATE_SQL = """
    SELECT COALESCE(SUM(GREATEST(c.reltuples, 0)), 0)::bigint
    FROM pg_class AS c
    WHERE (c.oid = to_regclass(%(table)s) AND c.relkind <> 'p')
       OR c.oid IN (SELECT relid FROM pg_partition_tree(to_regclass(%(table)s)) WHERE isleaf)
"""


def table_row_estimate(model: type[Model], using: str) -> int:
    """The planner's estimate of a model's table rows (``pg_class.reltuples``): free to read, as fresh
    as the last ANALYZE or autovacuum. PostgreSQL only."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(_ESTIMATE_SQL, {"table": connection.ops.quote_name(model._meta.db_table)})
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def is_unfiltered(queryset: QuerySet[Any]) -> bool:
    """True when the queryset reads every row of its table once: no WHERE, DISTINCT, GROUP BY or UNION."""
    query = queryset.query
    return not (query.where or query.distinct or query.combinator or query.group_by is not None)


class EstimatedCountPaginator(Paginator):
    """A paginator whose count never reads a whole large table.

    On PostgreSQL, an unfiltered list takes the planner's estimate of the table's rows, and a filtered
    one (or a table too small for a useful estimate) counts at most ``count_cap + 1`` rows: a count of
    10,001 reads "more than 10,000". Elsewhere (SQLite, for development and small data) it counts exactly.
    The admin still pages with OFFSET, so the last pages of a huge list are slow to open, and pages past
    the true end of an estimated count are empty.
    """

    count_cap = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().count
        if is_unfiltered(queryset):
            estimate = table_row_estimate(queryset.model, using=queryset.db)
            if estimate > self.count_cap:
                return estimate
        # SELECT COUNT(*) FROM (SELECT id FROM ... WHERE ... LIMIT cap + 1): stops at the cap.
        return queryset.order_by()[: self.count_cap + 1].count()


class LargeTableAdmin(admin.ModelAdmin):
    """A ModelAdmin for a table of millions of rows.

    Counts are estimated or capped, the "N total" count and the facet counts are off, and there is no
    date hierarchy: each of those reads the whole table. The bulk delete action is removed: deleting
    "all N selected" would load every row into memory. Subclasses keep ``ordering`` and ``sortable_by``
    to columns an index serves, ``list_filter`` to choices, booleans and small related tables, and
    ``search_fields`` (or ``get_search_results``) to exact or prefix lookups on indexed columns.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    date_hierarchy = None
    list_per_page = 50

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ViewOnlyInline(InlineModelAdmin):
    """An inline that shows rows and never adds, changes or deletes them here; mix it before
    ``admin.TabularInline`` or ``admin.StackedInline``."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # Every field shown: the admin builds a form even for an inline it only shows, and a form field
        # would mean a query for its choices or a refusal of a non-editable field.
        return flatten_fieldsets(self.fieldsets) if self.fieldsets else (self.fields or ())

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class NewestInlineFormSet(BaseInlineFormSet):
    """An inline formset of only the ``limit`` first rows of the parent's, in the inline's ordering.

    The admin filters an inline's queryset by its parent after ``InlineModelAdmin.get_queryset``, so the
    slice cannot be taken there; it is taken here, once the parent is applied, giving one
    ``WHERE parent = %s ORDER BY ... LIMIT n`` query that an index starting with the parent serves.
    """

    limit = 20

    def get_queryset(self) -> QuerySet[Any]:
        if not hasattr(self, "_newest"):
            newest = super().get_queryset()[: self.limit]
            # Forms index into the rows one at a time: read them now, in one query, not one per form.
            len(newest)
            self._newest = newest
        return self._newest


def search_id(term: str) -> int | None:
    """The term as a primary key value, or None when it cannot be one."""
    term = term.strip()
    if term.isascii() and term.isdigit() and int(term) <= MAX_ID:
        return int(term)
    return None


class ExactIdSearchMixin(admin.ModelAdmin):
    """Search one integer column for the term, exactly, through its index.

    Django's own ``"id__exact"`` search field compares ``CAST(id AS varchar)`` with the term, which no
    index serves. ``search_fields`` must still name the column: the admin shows the search box only then.
    """

    search_id_field = "pk"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        if not search_term.strip():
            return queryset, False
        value = search_id(search_term)
        if value is None:
            return queryset.none(), False
        return queryset.filter(**{self.search_id_field: value}), False


def changelist_link(model: type[Model], text: str | Promise, **filters: str | int) -> str:
    """A link to a model's admin changelist with the given filters, e.g. ``customer__id__exact=5``."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(filters), text)


def add_link(model: type[Model], text: str | Promise, **initial: str | int) -> str:
    """A link to a model's admin add page with initial values, e.g. ``customer=5``."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(initial), text)
