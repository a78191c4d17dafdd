"""The single customer view's data: customers, their identities in source systems, every interaction,
purchase lines, contracts, consent and the per-customer analytics row.

Sized for 10 million customers and 200 million interactions on one PostgreSQL server: every index here
serves a named read, and foreign keys whose lookups an index already starts with carry no index of their
own (``db_index=False``), because each index on the interaction table costs write speed and gigabytes.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from crm.models import Location, Product, Supplier, TimeStampedModel, currency_check


class SourceSystem(TimeStampedModel):
    """A system that sends customer data (a POS, the web shop, a call centre, a policy system...).

    ``trust_email`` and ``trust_phone`` say whether identity resolution may match this system's
    customers to existing ones by email or phone: a source that does not verify them must not.
    """

    class Kind(models.TextChoices):
        POS = "pos", _("Point of sale")
        WEB = "web", _("Website")
        APP = "app", _("Mobile app")
        CALL_CENTER = "call_center", _("Call centre")
        ECOMMERCE = "ecommerce", _("E-commerce")
        INSURANCE = "insurance", _("Insurance contracts")
        MARKETING = "marketing", _("Marketing platform")
        SURVEY = "survey", _("Survey tool")
        CRM = "crm", _("This CRM")
        OTHER = "other", _("Other")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    trust_email = models.BooleanField(_("trust email for matching"), default=False)
    trust_phone = models.BooleanField(_("trust phone for matching"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("source system")
        verbose_name_plural = _("source systems")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Customer(TimeStampedModel):
    """A person the company knows, with the profile fields that identify and describe them.

    A merged-away customer keeps its row with ``status=merged`` and ``merged_into`` pointing at the
    survivor, so that old ids keep answering; an erased one keeps its row with personal fields blanked.
    """

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        MERGED = "merged", _("Merged")
        ERASED = "erased", _("Erased")

    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True, help_text=_("As the customer gave it."))
    phone_normalized = models.CharField(
        _("normalised phone"),
        max_length=20,
        blank=True,
        editable=False,
        help_text=_("E.164 form used for matching and search, e.g. +821012345678."),
    )
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=8, blank=True)
    signup_at = models.DateTimeField(_("signed up at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
        db_index=False,  # partial index below
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-id"]
        permissions = [("merge_customer", _("Can merge customers and undo merges"))]
        indexes = [
            models.Index(Upper("email"), name="customers_customer_email_ci"),
            models.Index(
                fields=["phone_normalized"],
                condition=~Q(phone_normalized=""),
                name="customers_customer_phone",
            ),
            # Few customers are merged or erased: a partial index finds them without reading the rest.
            models.Index(
                fields=["status"], condition=~Q(status="active"), name="customers_customer_not_active"
            ),
            models.Index(
                fields=["merged_into"],
                condition=Q(merged_into__isnull=False),
                name="customers_customer_merged_into",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="merged") & Q(merged_into__isnull=False))
                | (~Q(status="merged") & Q(merged_into__isnull=True)),
                name="customers_customer_merged_has_survivor",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=F("id")), name="customers_customer_not_merged_into_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"


class CustomerIdentity(models.Model):
    """One customer's id in one source system; a customer has many, a (system, id) pair belongs to one.

    ``matched_by`` and ``match_note`` keep the identity-resolution decision that created the link.
    """

    class MatchedBy(models.TextChoices):
        NEW = "new", _("New customer")
        EMAIL = "email", _("Matched by email")
        PHONE = "phone", _("Matched by phone")
        MANUAL = "manual", _("Linked by staff")
        IMPORT = "import", _("Imported")
        MERGE = "merge", _("Moved by a merge")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="identities"
    )
    source_system = models.ForeignKey(
        SourceSystem,
        verbose_name=_("source system"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # served by the unique (source_system, external_id) index
    )
    external_id = models.CharField(_("external id"), max_length=128)
    matched_by = models.CharField(
        _("matched by"),
        max_length=10,
        choices=MatchedBy.choices,
        blank=True,
        default="",
        db_default="",
        help_text=_("How identity resolution linked this id to the customer."),
    )
    match_note = models.CharField(_("match note"), max_length=200, blank=True, default="", db_default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        ordering = ["source_system_id", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"], name="customers_identity_unique_per_source"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_system_id}:{self.external_id}"


class Interaction(models.Model):
    """One touchpoint with a customer, from any source system: the rows of the unified timeline.

    Unique per ``(source_system, external_id)`` so that a replayed event is refused by the database.
    The timeline index ``(customer, occurred_at DESC, id DESC)`` serves keyset reads of one customer's
    history; no other index is kept on this table.

    ``customer`` and ``source_system`` carry no foreign-key constraint in the database: on this table
    the per-row check cost as much as the insert itself (160 to 240 ms of a 1,000-event batch into 20M
    rows, each check locking a random customer row and so dirtying and logging its page). The references
    hold all the same: ingestion writes only ids it looked up or created in the same transaction,
    customers and source systems are never deleted (customers are merged or erased by anonymisation),
    and ``PROTECT`` still refuses a delete through the ORM.
    """

    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        RETURN = "return", _("Return")
        PAYMENT = "payment", _("Payment")
        SALES_CONTACT = "sales_contact", _("Sales contact")
        SERVICE_CALL = "service_call", _("Service call")
        WEB_VISIT = "web_visit", _("Web visit")
        APP_VISIT = "app_visit", _("App visit")
        PRODUCT_VIEW = "product_view", _("Product view")
        CART_ADD = "cart_add", _("Added to cart")
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        PUSH = "push", _("Push notification")
        SURVEY = "survey", _("Survey")
        CLAIM = "claim", _("Claim")
        CONTRACT_CHANGE = "contract_change", _("Contract change")
        NOTE = "note", _("Note")

    class Channel(models.TextChoices):
        STORE = "store", _("Store")
        WEB = "web", _("Web")
        APP = "app", _("App")
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        PUSH = "push", _("Push")
        POST = "post", _("Post")
        AGENT = "agent", _("Agent or branch")
        OTHER = "other", _("Other")

    # No database foreign-key constraints on the two references (see the class docstring): PROTECT is
    # Django's, checked before any delete through the ORM.
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="interactions",
        db_index=False,  # served by the timeline index, which starts with customer
        db_constraint=False,
    )
    source_system = models.ForeignKey(
        SourceSystem,
        verbose_name=_("source system"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # served by the unique (source_system, external_id) index
        db_constraint=False,
    )
    external_id = models.CharField(_("external id"), max_length=128)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    nps_score = models.PositiveSmallIntegerField(_("NPS score"), null=True, blank=True)
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                F("customer"), F("occurred_at").desc(), F("id").desc(), name="customers_interaction_timeline"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"], name="customers_interaction_unique_per_source"
            ),
            models.CheckConstraint(
                condition=(Q(amount__isnull=True) & Q(currency=""))
                | (Q(amount__isnull=False) & Q(currency__regex=r"^[A-Z]{3}$")),
                name="customers_interaction_amount_has_currency",
            ),
            models.CheckConstraint(
                condition=Q(nps_score__isnull=True) | (Q(kind="survey") & Q(nps_score__lte=10)),
                name="customers_interaction_nps_on_survey_0_10",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M}"


class PurchaseLine(models.Model):
    """One product line of a purchase or return.

    ``supplier``, ``occurred_at``, ``channel`` and ``location`` repeat facts of the product and the
    interaction: lines are immutable, and the copies let supplier dashboards read one supplier's sales
    by date from this table alone, without joining the 200-million-row interaction table.

    Like ``Interaction``'s, the references carry no foreign-key constraint in the database (their four
    checks cost 47 ms per 1,000 lines written): ingestion writes lines only for the interaction it has
    just inserted and for products it looked up, and ``on_delete`` is Django's.
    """

    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("interaction"),
        on_delete=models.CASCADE,
        related_name="lines",
        db_constraint=False,
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    supplier = models.ForeignKey(
        Supplier,
        verbose_name=_("supplier"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # served by the (supplier, occurred_at) index
        db_constraint=False,
    )
    location = models.ForeignKey(
        Location,
        verbose_name=_("location"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    channel = models.CharField(_("channel"), max_length=10, choices=Interaction.Channel.choices)
    is_return = models.BooleanField(_("return"), default=False)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    unit_cost = models.DecimalField(_("unit cost"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)

    class Meta:
        verbose_name = _("purchase line")
        verbose_name_plural = _("purchase lines")
        ordering = ["id"]
        indexes = [models.Index(fields=["supplier", "occurred_at"], name="customers_line_supplier_time")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="customers_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="customers_line_price_not_negative"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="customers_line_cost_not_negative"),
            currency_check("currency", "customers_line_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"


class Contract(TimeStampedModel):
    """A contract a customer holds (an insurance policy, a subscription, a membership)."""

    class Kind(models.TextChoices):
        AUTO = "auto", _("Auto insurance")
        LIFE = "life", _("Life insurance")
        HEALTH = "health", _("Health insurance")
        HOME = "home", _("Home insurance")
        TRAVEL = "travel", _("Travel insurance")
        SAVINGS = "savings", _("Savings plan")
        MEMBERSHIP = "membership", _("Membership")
        SUBSCRIPTION = "subscription", _("Subscription")

    class Status(models.TextChoices):
        QUOTE = "quote", _("Quote")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        LAPSED = "lapsed", _("Lapsed")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="contracts"
    )
    source_system = models.ForeignKey(
        SourceSystem,
        verbose_name=_("source system"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    external_id = models.CharField(_("contract number"), max_length=128)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("product name"), max_length=200)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    premium = models.DecimalField(_("premium"), max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    properties = models.JSONField(_("properties"), default=dict, blank=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"], name="customers_contract_unique_per_source"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="customers_contract_ends_after_start",
            ),
            models.CheckConstraint(
                condition=(Q(premium__isnull=True) & Q(currency=""))
                | (Q(premium__gte=0) & Q(currency__regex=r"^[A-Z]{3}$")),
                name="customers_contract_premium_has_currency",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.name}"


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PUSH = "push", _("Push")
    PHONE = "phone", _("Phone")
    POST = "post", _("Post")


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    PROFILING = "profiling", _("Profiling")
    THIRD_PARTY = "third_party", _("Sharing with third parties")


class Consent(models.Model):
    """A customer's current consent for one channel and purpose; its history is in ``ConsentChange``.

    No row means no consent: contacting a customer needs a row with ``granted`` true.
    """

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="consents",
        db_index=False,  # served by the unique (customer, channel, purpose) index
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel.choices)
    purpose = models.CharField(
        _("purpose"), max_length=12, choices=ConsentPurpose.choices, default=ConsentPurpose.MARKETING
    )
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=100, help_text=_("Where the customer said so."))
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["channel", "purpose"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "channel", "purpose"], name="customers_consent_one_per_channel_purpose"
            ),
        ]
        indexes = [
            # The customers who consented to one channel and purpose (segment conditions, campaign
            # sends), read from the index alone instead of the whole table.
            models.Index(
                fields=["channel", "purpose", "customer"],
                condition=Q(granted=True),
                name="customers_consent_granted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose}: {'yes' if self.granted else 'no'}"


class ConsentChange(models.Model):
    """One change of a customer's consent, kept forever as the record of what they agreed to and when."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="consent_changes",
        db_index=False,  # served by the (customer, changed_at) index
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel.choices)
    purpose = models.CharField(
        _("purpose"), max_length=12, choices=ConsentPurpose.choices, default=ConsentPurpose.MARKETING
    )
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=100)
    changed_at = models.DateTimeField(_("changed at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("consent change")
        verbose_name_plural = _("consent changes")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(F("customer"), F("changed_at").desc(), name="customers_consent_history")]

    def __str__(self) -> str:
        return (
            f"{self.channel}/{self.purpose} → {'yes' if self.granted else 'no'} at {self.changed_at:%Y-%m-%d}"
        )


class CustomerAnalytics(models.Model):
    """The per-customer feature row: analytical and behavioural facts kept up to date at ingestion,
    so that profiles and segments read one row instead of a customer's whole history.

    Money is in ``settings.CRM_BASE_CURRENCY``. See ``customers.analytics`` for the formulas.
    """

    class RFMGroup(models.TextChoices):
        CHAMPIONS = "champions", _("Champions")
        LOYAL = "loyal", _("Loyal")
        POTENTIAL = "potential", _("Potential loyalists")
        NEW = "new", _("New customers")
        AT_RISK = "at_risk", _("At risk")
        HIBERNATING = "hibernating", _("Hibernating")
        LOST = "lost", _("Lost")
        NONE = "none", _("No purchases")

    customer = models.OneToOneField(
        Customer,
        verbose_name=_("customer"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="analytics",
    )
    lifetime_value = models.DecimalField(_("lifetime value"), max_digits=16, decimal_places=2, default=0)
    purchases_total = models.PositiveIntegerField(_("purchases"), default=0)
    first_purchase_at = models.DateTimeField(_("first purchase"), null=True, blank=True)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    purchases_90d = models.PositiveIntegerField(_("purchases in the last 90 days"), default=0)
    spend_90d = models.DecimalField(
        _("spend in the last 90 days"), max_digits=16, decimal_places=2, default=0
    )
    last_web_visit_at = models.DateTimeField(_("last web visit"), null=True, blank=True)
    last_app_visit_at = models.DateTimeField(_("last app visit"), null=True, blank=True)
    visits_30d = models.PositiveIntegerField(_("visits in the last 30 days"), default=0)
    last_interaction_at = models.DateTimeField(_("last interaction"), null=True, blank=True)
    last_nps = models.PositiveSmallIntegerField(_("last NPS score"), null=True, blank=True)
    last_nps_at = models.DateTimeField(_("last NPS given at"), null=True, blank=True)
    rfm_recency = models.PositiveSmallIntegerField(_("RFM recency score"), default=0)
    rfm_frequency = models.PositiveSmallIntegerField(_("RFM frequency score"), default=0)
    rfm_monetary = models.PositiveSmallIntegerField(_("RFM monetary score"), default=0)
    rfm_group = models.CharField(
        _("RFM group"), max_length=12, choices=RFMGroup.choices, default=RFMGroup.NONE
    )
    churn_risk = models.DecimalField(_("churn risk"), max_digits=4, decimal_places=3, default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("customer analytics")
        verbose_name_plural = _("customer analytics")
        ordering = ["-customer_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(churn_risk__gte=0) & Q(churn_risk__lte=1), name="customers_analytics_churn_0_1"
            ),
            models.CheckConstraint(
                condition=Q(last_nps__isnull=True) | Q(last_nps__lte=10), name="customers_analytics_nps_0_10"
            ),
        ]

    def __str__(self) -> str:
        return f"analytics of #{self.customer_id}"


class MergeRecord(models.Model):
    """The audit of one customer merge: who merged whom into whom, when, and exactly which rows moved,
    so that the merge can be undone from this record."""

    survivor = models.ForeignKey(
        Customer, verbose_name=_("survivor"), on_delete=models.PROTECT, related_name="merges_received"
    )
    merged = models.ForeignKey(
        Customer, verbose_name=_("merged customer"), on_delete=models.PROTECT, related_name="merges_given"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    moved = models.JSONField(
        _("moved rows"), default=dict, help_text=_("Ids of the rows moved to the survivor, by table.")
    )
    snapshot = models.JSONField(
        _("profiles before"),
        default=dict,
        help_text=_("Both customers' fields as they were before the merge."),
    )
    created_at = models.DateTimeField(_("merged at"), auto_now_add=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(survivor=F("merged")), name="customers_merge_two_customers"),
        ]

    def __str__(self) -> str:
        return f"#{self.merged_id} → #{self.survivor_id}"


class ImportJob(models.Model):
    """A CSV file being imported: its column mapping, progress, and outcome.

    The import runs in Celery in chunks; ``processed_rows`` is the checkpoint a restarted task resumes
    from, and every row goes through the idempotent ingestion path, so a replayed chunk adds nothing.
    """

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        EVENTS = "events", _("Events")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=1, default=",")
    source_system = models.ForeignKey(
        SourceSystem,
        verbose_name=_("source system"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    created_rows = models.PositiveIntegerField(_("rows created"), default=0)
    duplicate_rows = models.PositiveIntegerField(_("duplicate rows"), default=0)
    rejected_rows = models.PositiveIntegerField(_("rejected rows"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        _("last progress"),
        null=True,
        blank=True,
        help_text=_("Written with every chunk; a running import without progress for long is resumed."),
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"


class ImportRowError(models.Model):
    """A rejected row of an import: where (row number, field) and why."""

    job = models.ForeignKey(
        ImportJob, verbose_name=_("import"), on_delete=models.CASCADE, related_name="row_errors"
    )
    row_number = models.PositiveIntegerField(_("row"))
    field = models.CharField(_("field"), max_length=100, blank=True)
    code = models.CharField(_("code"), max_length=40)
    message = models.CharField(_("message"), max_length=500)

    class Meta:
        verbose_name = _("import row error")
        verbose_name_plural = _("import row errors")
        ordering = ["job_id", "row_number", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "row_number", "field", "code"], name="customers_import_error_once"
            ),
        ]

    def __str__(self) -> str:
        return f"row {self.row_number} {self.field}: {self.message}"


# The privacy tables live in their own module of this app (customers.privacy); imported here so Django
# finds them.
from customers.privacy.models import (  # noqa: E402, F401
    AccessAction,
    AccessChainHead,
    AccessCheckpoint,
    AccessRecord,
    DataSubjectRequest,
)
