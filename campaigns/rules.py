"""The segment rule language: a fixed list of fields and operators, and the validation of a rule tree.

A rule is JSON::

    {"op": "and", "conditions": [
        {"field": "age", "operator": "gte", "value": 30},
        {"op": "or", "conditions": [
            {"field": "rfm_group", "operator": "in", "value": ["champions", "loyal"]},
            {"field": "interaction_count", "operator": "gte", "value": 3,
             "kind": "web_visit", "days": 30}
        ]}
    ]}

Only the names in ``FIELDS`` and ``OPERATORS`` are accepted; every value is checked against the field's
type and returned in a canonical form, and the compiler binds it as a query parameter. Anything else is
refused with an error that names where in the tree it is (``conditions.1.conditions.0.value``).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from customers.models import ConsentChannel, ConsentPurpose, Customer, CustomerAnalytics, Interaction

MAX_DEPTH = 4
MAX_CONDITIONS = 40
MAX_LIST = 100
MAX_DAYS = 36_500
MAX_TEXT = 200

COMPARE = ("eq", "ne", "gt", "gte", "lt", "lte")
CHOICE = ("eq", "ne", "in", "not_in")
TEXT = ("eq", "ne", "in", "not_in", "is_set", "not_set")
RECENCY = ("within_days", "not_within_days")
MEMBERSHIP = ("in", "not_in")

# What each operator means, for the documentation, the builder and the sentences.
OPERATORS: dict[str, Promise] = {
    "eq": _("is"),
    "ne": _("is not"),
    "gt": _("is more than"),
    "gte": _("is at least"),
    "lt": _("is less than"),
    "lte": _("is at most"),
    "in": _("is one of"),
    "not_in": _("is none of"),
    "is_set": _("is set"),
    "not_set": _("is not set"),
    "within_days": _("within the last N days"),
    "not_within_days": _("not within the last N days (or never)"),
}

GROUP_OPS = ("and", "or")


class RuleError(ValueError):
    """A rule that cannot be used; ``errors`` maps a path in the tree to what is wrong there."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors.items()))


@dataclass(frozen=True)
class Param:
    """An extra setting of a condition (``days``, ``kind``...): its type and whether it must be given."""

    kind: str  # "days" or "choice"
    required: bool = False
    choices: tuple[tuple[str, Any], ...] = ()
    default: str | None = None


@dataclass(frozen=True)
class Field:
    """A field a condition may test. ``value_type`` says what the value must be:
    ``int``, ``decimal``, ``choice``, ``text``, ``days`` (for recency operators), ``bool``, ``sku``,
    ``supplier``, ``segment``."""

    name: str
    label: Promise
    category: str
    value_type: str
    operators: tuple[str, ...]
    choices: tuple[tuple[str, Any], ...] = ()
    params: dict[str, Param] = field(default_factory=dict)
    minimum: Decimal | None = None
    maximum: Decimal | None = None


def _choices(text_choices: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(text_choices.choices)


_INTERACTION_PARAMS = {
    "days": Param("days", required=True),
    "kind": Param("choice", choices=_choices(Interaction.Kind)),
    "channel": Param("choice", choices=_choices(Interaction.Channel)),
    "source": Param("source"),
}
_PURCHASE_PARAMS = {"days": Param("days")}

CATEGORIES: dict[str, Promise] = {
    "profile": _("Profile"),
    "analytics": _("Analytics"),
    "behaviour": _("Behaviour"),
    "consent": _("Consent"),
    "segment": _("Segments"),
}

_FIELD_LIST = [
    Field("age", _("Age"), "profile", "int", COMPARE, minimum=Decimal(0), maximum=Decimal(150)),
    Field(
        "gender", _("Gender"), "profile", "choice", (*CHOICE, "is_set", "not_set"), _choices(Customer.Gender)
    ),
    Field("region", _("Region"), "profile", "text", TEXT),
    Field("postal_code", _("Postal code"), "profile", "text", TEXT),
    Field("preferred_language", _("Preferred language"), "profile", "text", TEXT),
    Field("signup_at", _("Signed up"), "profile", "days", (*RECENCY, "is_set", "not_set")),
    Field("created_at", _("Became a customer"), "profile", "days", RECENCY),
    Field("lifetime_value", _("Lifetime value"), "analytics", "decimal", COMPARE),
    Field("purchases_total", _("Number of purchases"), "analytics", "int", COMPARE, minimum=Decimal(0)),
    Field(
        "purchases_90d", _("Purchases in the last 90 days"), "analytics", "int", COMPARE, minimum=Decimal(0)
    ),
    Field("spend_90d", _("Spend in the last 90 days"), "analytics", "decimal", COMPARE),
    Field("visits_30d", _("Visits in the last 30 days"), "analytics", "int", COMPARE, minimum=Decimal(0)),
    Field(
        "last_nps",
        _("Last NPS score"),
        "analytics",
        "int",
        (*COMPARE, "is_set", "not_set"),
        minimum=Decimal(0),
        maximum=Decimal(10),
    ),
    Field(
        "churn_risk", _("Churn risk"), "analytics", "decimal", COMPARE, minimum=Decimal(0), maximum=Decimal(1)
    ),
    Field("rfm_group", _("RFM group"), "analytics", "choice", CHOICE, _choices(CustomerAnalytics.RFMGroup)),
    Field(
        "rfm_recency",
        _("RFM recency score"),
        "analytics",
        "int",
        COMPARE,
        minimum=Decimal(0),
        maximum=Decimal(5),
    ),
    Field(
        "rfm_frequency",
        _("RFM frequency score"),
        "analytics",
        "int",
        COMPARE,
        minimum=Decimal(0),
        maximum=Decimal(5),
    ),
    Field(
        "rfm_monetary",
        _("RFM monetary score"),
        "analytics",
        "int",
        COMPARE,
        minimum=Decimal(0),
        maximum=Decimal(5),
    ),
    Field("last_purchase_at", _("Last purchase"), "analytics", "days", (*RECENCY, "is_set", "not_set")),
    Field("last_interaction_at", _("Last activity"), "analytics", "days", (*RECENCY, "is_set", "not_set")),
    Field("last_visit_at", _("Last web or app visit"), "behaviour", "days", RECENCY),
    Field(
        "interaction_count",
        _("Number of interactions"),
        "behaviour",
        "int",
        COMPARE,
        params=_INTERACTION_PARAMS,
        minimum=Decimal(0),
    ),
    Field(
        "interaction_sum",
        _("Amount of interactions"),
        "behaviour",
        "decimal",
        COMPARE,
        params=_INTERACTION_PARAMS,
    ),
    Field(
        "bought_product", _("Bought product (SKU)"), "behaviour", "sku", MEMBERSHIP, params=_PURCHASE_PARAMS
    ),
    Field(
        "bought_supplier",
        _("Bought from supplier (code)"),
        "behaviour",
        "supplier",
        MEMBERSHIP,
        params=_PURCHASE_PARAMS,
    ),
    Field(
        "consent",
        _("Consent"),
        "consent",
        "bool",
        ("eq",),
        params={
            "channel": Param("choice", required=True, choices=_choices(ConsentChannel)),
            "purpose": Param(
                "choice", choices=_choices(ConsentPurpose), default=str(ConsentPurpose.MARKETING.value)
            ),
        },
    ),
    Field("segment", _("Member of segment"), "segment", "segment", ("eq", "ne")),
]
FIELDS: dict[str, Field] = {f.name: f for f in _FIELD_LIST}

EMPTY_RULE: dict[str, Any] = {"op": "and", "conditions": []}


@dataclass
class _Context:
    errors: dict[str, str] = field(default_factory=dict)
    conditions: int = 0
    skus: dict[str, str] = field(default_factory=dict)  # sku → path of its first use
    suppliers: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    segments: dict[int, str] = field(default_factory=dict)


def rule_validate(rule: Any, *, segment_id: int | None = None) -> dict[str, Any]:
    """Check a rule against the fixed field and operator lists and return it in canonical form.

    References (SKUs, supplier codes, source systems, segments) are looked up, at most one query for
    each kind that the rule uses; a reference to a segment that would make a cycle through
    ``segment_id`` (the segment being saved) is refused. Raises ``RuleError``.
    """
    context = _Context()
    if not isinstance(rule, dict):
        raise RuleError({"rule": str(_("A rule is a JSON object with 'op' and 'conditions'."))})
    clean = _group(rule, "", 1, context)
    if not context.errors:
        _check_references(context, segment_id)
    if context.errors:
        raise RuleError(context.errors)
    return clean


def _at(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _group(node: dict[str, Any], path: str, depth: int, context: _Context) -> dict[str, Any]:
    unknown = set(node) - {"op", "conditions"}
    if unknown:
        context.errors[_at(path, sorted(unknown)[0])] = str(
            _("Unknown key; a group has 'op' and 'conditions'.")
        )
    op = node.get("op")
    if op not in GROUP_OPS:
        context.errors[_at(path, "op")] = str(_("A group's op is 'and' or 'or'."))
    if depth > MAX_DEPTH:
        context.errors[path or "rule"] = str(_("Groups nest at most %(n)d deep.") % {"n": MAX_DEPTH})
        return dict(EMPTY_RULE)
    children = node.get("conditions")
    if not isinstance(children, list):
        context.errors[_at(path, "conditions")] = str(_("A group's conditions are a list."))
        return dict(EMPTY_RULE)
    clean: list[dict[str, Any]] = []
    for index, child in enumerate(children):
        where = _at(_at(path, "conditions"), str(index))
        if not isinstance(child, dict):
            context.errors[where] = str(_("A condition or group is a JSON object."))
        elif "conditions" in child or "op" in child:
            clean.append(_group(child, where, depth + 1, context))
        else:
            clean.append(_condition(child, where, context))
    return {"op": op, "conditions": clean}


def _condition(node: dict[str, Any], path: str, context: _Context) -> dict[str, Any]:
    context.conditions += 1
    if context.conditions == MAX_CONDITIONS + 1:
        context.errors[path] = str(_("A rule has at most %(n)d conditions.") % {"n": MAX_CONDITIONS})
    name = node.get("field")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        context.errors[_at(path, "field")] = str(
            _("Unknown field %(field)r; use one of: %(fields)s.")
            % {"field": name, "fields": ", ".join(FIELDS)}
        )
        return {}
    operator = node.get("operator")
    if not isinstance(operator, str) or operator not in spec.operators:
        context.errors[_at(path, "operator")] = str(
            _("Unknown operator %(operator)r for %(field)s; use one of: %(operators)s.")
            % {"operator": operator, "field": name, "operators": ", ".join(spec.operators)}
        )
        return {}
    unknown = set(node) - {"field", "operator", "value", *spec.params}
    if unknown:
        context.errors[_at(path, sorted(unknown)[0])] = str(
            _("Unknown key for the field %(field)s.") % {"field": name}
        )
    clean: dict[str, Any] = {"field": name, "operator": operator}
    value_path = _at(path, "value")
    try:
        clean["value"] = _value(spec, operator, node.get("value"))
    except ValueError as error:
        context.errors[value_path] = str(error)
    for param_name, param in spec.params.items():
        raw = node.get(param_name)
        if raw in (None, ""):
            if param.required:
                context.errors[_at(path, param_name)] = str(_("This setting is required."))
            elif param.default is not None:
                clean[param_name] = param.default
            continue
        try:
            clean[param_name] = _param(param, raw)
        except ValueError as error:
            context.errors[_at(path, param_name)] = str(error)
    if not context.errors.get(value_path):
        _remember_references(spec, clean, path, context)
    return clean


def _remember_references(spec: Field, clean: dict[str, Any], path: str, context: _Context) -> None:
    if spec.value_type == "sku":
        for sku in clean["value"]:
            context.skus.setdefault(sku, _at(path, "value"))
    elif spec.value_type == "supplier":
        for code in clean["value"]:
            context.suppliers.setdefault(code, _at(path, "value"))
    elif spec.value_type == "segment":
        context.segments.setdefault(clean["value"], _at(path, "value"))
    if clean.get("source"):
        context.sources.setdefault(clean["source"], _at(path, "source"))


def _number(raw: Any, integer: bool) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise ValueError(_("Enter a number."))
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(_("Enter a number.")) from None
    if not number.is_finite() or abs(number) >= Decimal("1e14"):
        raise ValueError(_("Enter a number."))
    if integer and number != number.to_integral_value():
        raise ValueError(_("Enter a whole number."))
    return number


def _scalar(spec: Field, raw: Any) -> Any:
    kind = spec.value_type
    if kind in ("int", "decimal"):
        number = _number(raw, integer=kind == "int")
        if spec.minimum is not None and number < spec.minimum:
            raise ValueError(_("Enter a number of at least %(n)s.") % {"n": spec.minimum})
        if spec.maximum is not None and number > spec.maximum:
            raise ValueError(_("Enter a number of at most %(n)s.") % {"n": spec.maximum})
        return int(number) if kind == "int" else format(number.normalize() if number else Decimal(0), "f")
    if kind == "choice":
        allowed = [value for value, _label in spec.choices]
        if raw not in allowed:
            raise ValueError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)})
        return raw
    if kind == "segment":
        return int(_number(raw, integer=True))
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_TEXT:
        raise ValueError(_("Enter a text of 1 to %(n)d characters.") % {"n": MAX_TEXT})
    return raw.strip()


def _value(spec: Field, operator: str, raw: Any) -> Any:
    if operator in ("is_set", "not_set"):
        if raw not in (None, "", True):
            raise ValueError(_("This operator takes no value."))
        return None
    if operator in RECENCY:
        return _days(raw)
    if spec.value_type == "bool":
        if not isinstance(raw, bool):
            raise ValueError(_("Enter true or false."))
        return raw
    if operator in ("in", "not_in"):
        items = [part.strip() for part in raw.split(",")] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items or len(items) > MAX_LIST:
            raise ValueError(_("Enter a list of 1 to %(n)d values.") % {"n": MAX_LIST})
        clean = [_scalar(spec, item) for item in items if item != ""]
        if not clean:
            raise ValueError(_("Enter a list of 1 to %(n)d values.") % {"n": MAX_LIST})
        return sorted(set(clean), key=clean.index)
    if spec.value_type in ("sku", "supplier"):
        raise ValueError(_("Enter a list of values."))
    return _scalar(spec, raw)


def _days(raw: Any) -> int:
    number = _number(raw, integer=True)
    if not 0 <= number <= MAX_DAYS:
        raise ValueError(_("Enter a number of days from 0 to %(n)d.") % {"n": MAX_DAYS})
    return int(number)


def _param(param: Param, raw: Any) -> Any:
    if param.kind == "days":
        return _days(raw)
    if param.kind == "choice":
        allowed = [value for value, _label in param.choices]
        if raw not in allowed:
            raise ValueError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)})
        return raw
    if not isinstance(raw, str) or len(raw) > 40:
        raise ValueError(_("Enter a source system code."))
    return raw


def _check_references(context: _Context, segment_id: int | None) -> None:
    from crm.models import Product, Supplier
    from customers.models import SourceSystem

    lookups: list[tuple[dict[Any, str], Callable[[list[Any]], set[Any]], Promise]] = [
        (
            context.skus,
            lambda keys: set(Product.objects.filter(sku__in=keys).values_list("sku", flat=True)),
            _("No product has the SKU %(value)s."),
        ),
        (
            context.suppliers,
            lambda keys: set(Supplier.objects.filter(code__in=keys).values_list("code", flat=True)),
            _("No supplier has the code %(value)s."),
        ),
        (
            context.sources,
            lambda keys: set(SourceSystem.objects.filter(code__in=keys).values_list("code", flat=True)),
            _("No source system has the code %(value)s."),
        ),
    ]
    for wanted, lookup, message in lookups:
        if wanted:
            found = lookup(list(wanted))
            for key, path in wanted.items():
                if key not in found:
                    context.errors.setdefault(path, str(message % {"value": key}))
    if context.segments:
        _check_segments(context, segment_id)


def _check_segments(context: _Context, segment_id: int | None) -> None:
    """Referenced segments must exist, and following their rules must never lead back to ``segment_id``."""
    from campaigns.models import Segment

    graph = {pk: rule_segment_ids(rule) for pk, rule in Segment.objects.values_list("pk", "rule")}
    for referenced, path in context.segments.items():
        if referenced not in graph:
            context.errors[path] = str(_("No segment has the id %(value)s.") % {"value": referenced})
            continue
        if segment_id is None:
            continue
        seen, stack = set(), [referenced]
        while stack:
            current = stack.pop()
            if current == segment_id:
                context.errors[path] = str(_("A segment cannot contain itself, directly or through others."))
                break
            if current not in seen:
                seen.add(current)
                stack.extend(graph.get(current, ()))


def rule_segment_ids(rule: Any) -> set[int]:
    """The ids of the segments a (validated) rule refers to."""
    found: set[int] = set()
    for leaf in rule_leaves(rule):
        if leaf.get("field") == "segment" and isinstance(leaf.get("value"), int):
            found.add(leaf["value"])
    return found


def rule_leaves(rule: Any) -> list[dict[str, Any]]:
    """The conditions of a rule tree, depth first, in the order they are written."""
    if not isinstance(rule, dict):
        return []
    if "conditions" not in rule:
        return [rule]
    leaves: list[dict[str, Any]] = []
    for child in rule.get("conditions") or []:
        leaves.extend(rule_leaves(child))
    return leaves


def age_cutoff(today: dt.date, years: int) -> dt.date:
    """The latest birth date of someone who is at least ``years`` old on ``today`` (29 February → 28)."""
    year = today.year - years
    try:
        return today.replace(year=year)
    except ValueError:
        return today.replace(year=year, day=28)
