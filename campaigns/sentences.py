"""A rule read aloud: the sentence the builder shows under the conditions, in the user's language."""

from typing import Any

from django.utils.translation import gettext as _

from campaigns.rules import FIELDS, Param

# One template per operator, so that each language may order the words its own way.
_TEMPLATES = {
    "eq": lambda: _("%(field)s is %(value)s"),
    "ne": lambda: _("%(field)s is not %(value)s"),
    "gt": lambda: _("%(field)s is more than %(value)s"),
    "gte": lambda: _("%(field)s is at least %(value)s"),
    "lt": lambda: _("%(field)s is less than %(value)s"),
    "lte": lambda: _("%(field)s is at most %(value)s"),
    "in": lambda: _("%(field)s is one of %(value)s"),
    "not_in": lambda: _("%(field)s is none of %(value)s"),
    "is_set": lambda: _("%(field)s is known"),
    "not_set": lambda: _("%(field)s is not known"),
    "within_days": lambda: _("%(field)s within the last %(value)s days"),
    "not_within_days": lambda: _("no %(field)s within the last %(value)s days"),
}


def _choice_label(choices: tuple[tuple[str, Any], ...], value: Any) -> str:
    return str(dict(choices).get(value, value))


def _value_text(node: dict[str, Any], segment_names: dict[int, str]) -> str:
    spec = FIELDS[node["field"]]
    value: Any = node.get("value")
    if spec.value_type == "segment":
        return f"“{segment_names.get(value, f'#{value}')}”"
    values = value if isinstance(value, list) else [value]
    if spec.choices:
        values = [_choice_label(spec.choices, item) for item in values]
    return ", ".join(str(item) for item in values)


def _qualified_field(node: dict[str, Any]) -> str:
    spec = FIELDS[node["field"]]
    label = str(spec.label)
    details = []
    for name in ("kind", "channel"):
        param: Param | None = spec.params.get(name)
        if param and node.get(name):
            details.append(_choice_label(param.choices, node[name]))
    if node.get("source"):
        details.append(_("from %(source)s") % {"source": node["source"]})
    if details:
        label = f"{label} ({', '.join(details)})"
    if node.get("days") is not None:
        label = _("%(field)s in the last %(days)s days") % {"field": label, "days": node["days"]}
    return label


def condition_sentence(node: dict[str, Any], segment_names: dict[int, str] | None = None) -> str:
    """One condition in words, e.g. "Age is at least 30"."""
    names = segment_names or {}
    spec = FIELDS[node["field"]]
    if spec.name == "consent":
        channel = _choice_label(spec.params["channel"].choices, node.get("channel"))
        purpose = _choice_label(spec.params["purpose"].choices, node.get("purpose"))
        template = (
            _("consents to %(channel)s for %(purpose)s")
            if node.get("value")
            else _("does not consent to %(channel)s for %(purpose)s")
        )
        return template % {"channel": channel, "purpose": purpose}
    if spec.name == "segment":
        template = (
            _("is in the segment %(value)s")
            if node["operator"] == "eq"
            else _("is not in the segment %(value)s")
        )
        return template % {"value": _value_text(node, names)}
    return _TEMPLATES[node["operator"]]() % {
        "field": _qualified_field(node),
        "value": _value_text(node, names),
    }


def _group_sentence(node: dict[str, Any], names: dict[int, str], nested: bool) -> str:
    parts = [
        _group_sentence(child, names, True) if "conditions" in child else condition_sentence(child, names)
        for child in node.get("conditions", [])
    ]
    if not parts:
        return _("everyone") if node.get("op") == "and" else _("no one")
    joiner = _(" and ") if node.get("op") == "and" else _(" or ")
    text = joiner.join(parts)
    return f"({text})" if nested and len(parts) > 1 else text


def rule_sentence(rule: dict[str, Any], segment_names: dict[int, str] | None = None) -> str:
    """The whole rule in words: "Customers where age is at least 30 and (…)"."""
    if not rule.get("conditions"):
        return _("All active customers.")
    return _("Customers where %(conditions)s.") % {
        "conditions": _group_sentence(rule, segment_names or {}, nested=False)
    }
