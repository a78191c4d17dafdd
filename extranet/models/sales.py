"""Daily sales rollups of purchase lines, the tables supplier dashboards read.

Raw purchase lines (hundreds of millions) are folded into small tables as they arrive: one row per
supplier, day, channel and location (time series, channels, stores, totals), one per supplier, product
and day (products, weeks of supply), the same two per calendar month, from which a range reads its
whole months (the days at its edges still come from the daily tables), and the supplier's per week, for
weekly series. Lines are immutable and only ever added, so a fold
adds the lines after a watermark (``SalesRollupState``) to the rows and moves the watermark, in one
transaction: each line is counted exactly once.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Product, Supplier


class SalesFigures(models.Model):
    """The sums every rollup row carries: sold and returned units, revenue and cost, net of nothing."""

    units = models.BigIntegerField(_("units sold"), default=0)
    revenue = models.DecimalField(_("revenue"), max_digits=18, decimal_places=2, default=0)
    cost = models.DecimalField(_("cost"), max_digits=18, decimal_places=2, default=0)
    return_units = models.BigIntegerField(_("units returned"), default=0)
    return_revenue = models.DecimalField(_("returned revenue"), max_digits=18, decimal_places=2, default=0)
    return_cost = models.DecimalField(_("returned cost"), max_digits=18, decimal_places=2, default=0)

    class Meta:
        abstract = True


class SupplierSalesDay(SalesFigures):
    """One supplier's sales of one day through one channel at one location (none for online sales)."""

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField(_("day"))
    channel = models.CharField(_("channel"), max_length=10)
    # 0 stands for "no location", so that the unique constraint (and the upsert on it) holds for online
    # sales too; a NULL would never conflict.
    location_id_or_zero = models.BigIntegerField(_("location"), default=0)

    class Meta:
        verbose_name = _("supplier sales day")
        verbose_name_plural = _("supplier sales days")
        ordering = ["supplier_id", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "day", "channel", "location_id_or_zero"],
                name="extranet_supplier_day_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.supplier_id} {self.day} {self.channel}"


class SupplierSalesMonth(SalesFigures):
    """One supplier's sales of one calendar month through one channel at one location.

    Totals, channels, stores and monthly series over a range read its whole months here and only the
    days at its edges from ``SupplierSalesDay``.
    """

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    channel = models.CharField(_("channel"), max_length=10)
    location_id_or_zero = models.BigIntegerField(_("location"), default=0)  # as in SupplierSalesDay

    class Meta:
        verbose_name = _("supplier sales month")
        verbose_name_plural = _("supplier sales months")
        ordering = ["supplier_id", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "month", "channel", "location_id_or_zero"],
                name="extranet_supplier_month_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.supplier_id} {self.month:%Y-%m} {self.channel}"


class SupplierSalesWeek(SalesFigures):
    """One supplier's sales of one week (Monday to Sunday) through one channel at one location.

    Weekly series read a range's whole weeks here and only the days at its edges from
    ``SupplierSalesDay``.
    """

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    week = models.DateField(_("week"), help_text=_("The Monday of the week."))
    channel = models.CharField(_("channel"), max_length=10)
    location_id_or_zero = models.BigIntegerField(_("location"), default=0)  # as in SupplierSalesDay

    class Meta:
        verbose_name = _("supplier sales week")
        verbose_name_plural = _("supplier sales weeks")
        ordering = ["supplier_id", "week"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "week", "channel", "location_id_or_zero"],
                name="extranet_supplier_week_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.supplier_id} {self.week} {self.channel}"


class ProductSalesDay(SalesFigures):
    """One product's sales of one day, all channels and locations together."""

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("product sales day")
        verbose_name_plural = _("product sales days")
        ordering = ["supplier_id", "day", "product_id"]
        constraints = [
            # Dashboards read one supplier's days in a range: the unique index starts with them.
            models.UniqueConstraint(fields=["supplier", "day", "product"], name="extranet_product_day_unique")
        ]
        indexes = [
            # A page of products' recent sales (weeks of supply) from the index alone. The units are key
            # columns rather than INCLUDE ones, which SQLite does not have.
            models.Index(
                fields=["product", "day", "units", "return_units"],
                name="extranet_product_day_recent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.day}"


class ProductSalesMonth(SalesFigures):
    """One product's sales of one calendar month, all channels and locations together.

    A ranking of products over a range reads the range's whole months here (one row per product and
    month) and only the days at its edges from ``ProductSalesDay``: a year is about twelve rows a product
    instead of 365.
    """

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))

    class Meta:
        verbose_name = _("product sales month")
        verbose_name_plural = _("product sales months")
        ordering = ["supplier_id", "month", "product_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "month", "product"], name="extranet_product_month_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.month:%Y-%m}"


class SalesRollupState(models.Model):
    """Where the fold of purchase lines into the rollups stands (a single row).

    ``watermark`` is the id of the last line folded. Line ids are handed out when a transaction inserts,
    not when it commits, so a line with a smaller id can appear after a larger one: a fold only goes up to
    ``horizon``, the largest id seen at least ``EXTRANET_ROLLUP_LAG_SECONDS`` earlier, by which time every
    transaction that held a smaller id has long committed.
    """

    watermark = models.BigIntegerField(_("last line folded"), default=0)
    horizon = models.BigIntegerField(_("largest line seen"), default=0)
    horizon_seen_at = models.DateTimeField(_("largest line seen at"), null=True, blank=True)
    folded_at = models.DateTimeField(_("last fold that added lines"), null=True, blank=True)

    class Meta:
        verbose_name = _("sales rollup state")
        verbose_name_plural = _("sales rollup state")

    def __str__(self) -> str:
        return f"≤ {self.watermark}"
