"""Shared building blocks and the retail catalog that every app reads: suppliers, products, locations."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    """An abstract base that records when a row was created and last changed."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class Currency(models.TextChoices):
    """ISO 4217 currencies the demo and the forms offer; the database accepts any three-letter code."""

    KRW = "KRW", _("Korean won")
    USD = "USD", _("US dollar")
    EUR = "EUR", _("Euro")
    JPY = "JPY", _("Japanese yen")
    CNY = "CNY", _("Chinese yuan")
    GBP = "GBP", _("Pound sterling")


def currency_check(field: str, name: str) -> models.CheckConstraint:
    """A constraint that a currency column holds three upper-case letters."""
    return models.CheckConstraint(condition=Q(**{f"{field}__regex": r"^[A-Z]{3}$"}), name=name)


class User(AbstractUser):
    """A person who logs in: staff (service reps, marketers, buyers, administrators) or a supplier's user.

    What a user may do comes from their role groups (see ``crm.roles``); supplier users are tied to
    their supplier through extranet memberships.
    """

    preferred_language = models.CharField(
        _("preferred language"),
        max_length=8,
        blank=True,
        choices=[("en", _("English")), ("ko", _("Korean"))],
        help_text=_("The language of the interface; empty follows the browser."),
    )

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]  # django-stubs omits Meta
        swappable = "AUTH_USER_MODEL"
        permissions = [("access_staff_ui", _("Can use the staff web interface"))]
        constraints = [
            models.UniqueConstraint(Lower("email"), condition=~Q(email=""), name="crm_user_email_unique_ci"),
        ]


class Supplier(TimeStampedModel):
    """A supplier (a brand or vendor) whose products the retailer sells; a tenant of the extranet."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    contact_email = models.EmailField(_("contact email"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel):
    """A product in the shared catalog, sold by one supplier, with its current cost and price."""

    supplier = models.ForeignKey(
        Supplier,
        verbose_name=_("supplier"),
        on_delete=models.PROTECT,
        related_name="products",
        db_index=False,  # served by the (supplier, sku) index below
    )
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default=Currency.KRW)
    cost = models.DecimalField(_("unit cost"), max_digits=14, decimal_places=2)
    price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        indexes = [models.Index(fields=["supplier", "sku"], name="crm_product_supplier_sku")]
        constraints = [
            models.CheckConstraint(condition=Q(cost__gte=0), name="crm_product_cost_not_negative"),
            models.CheckConstraint(condition=Q(price__gte=0), name="crm_product_price_not_negative"),
            currency_check("currency", "crm_product_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Location(TimeStampedModel):
    """A place where stock is held or sales happen: a store, a warehouse or an online shop."""

    class Kind(models.TextChoices):
        STORE = "store", _("Store")
        WAREHOUSE = "warehouse", _("Warehouse")
        ONLINE = "online", _("Online shop")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    region = models.CharField(_("region"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class OutboxMessage(models.Model):
    """Work that must happen because data changed, written in the same transaction as that data.

    The broker is not the system of record: a relay task hands pending messages to their handlers
    (``crm.outbox``) and marks them processed; a message whose enqueue was lost (the broker was down, the
    web worker died after commit) is picked up by the periodic relay. Handlers are idempotent.
    """

    topic = models.CharField(_("topic"), max_length=64)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], condition=Q(processed_at__isnull=True), name="crm_outbox_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key`` header, replayed for retries.

    Stripe's semantics: the same key with the same request answers the stored response; with another
    request it is refused (422); while the first request still runs, a retry is refused (409).
    Keys are per user and kept for ``IDEMPOTENCY_KEY_TTL``.
    """

    user = models.ForeignKey(
        "crm.User", verbose_name=_("user"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(_("key"), max_length=255)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    request_hash = models.CharField(_("request fingerprint"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="crm_idempotency_key_per_user")]

    def __str__(self) -> str:
        return self.key


class LoginAttempt(models.Model):
    """Failed sign-ins of one username from one address, counted towards a lockout (``crm.security``).

    One counter serves every login page (staff, admin, extranet): an attacker cannot double their
    guesses by alternating between them.
    """

    username = models.CharField(_("username"), max_length=150)
    ip_address = models.GenericIPAddressField(_("IP address"))
    failures = models.PositiveIntegerField(_("failures"), default=0)
    last_failure_at = models.DateTimeField(_("last failure"))
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("login attempt")
        verbose_name_plural = _("login attempts")
        ordering = ["-last_failure_at"]
        constraints = [
            models.UniqueConstraint(fields=["username", "ip_address"], name="crm_login_attempt_unique")
        ]

    def __str__(self) -> str:
        return f"{self.username}@{self.ip_address}: {self.failures}"
