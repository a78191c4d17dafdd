"""The segment builder's form: a rule tree written as flat form fields, and read back.

Each node of the tree has a path (``r`` for the root group, ``r.0``, ``r.0.2``…) and is announced by a
hidden ``node`` input (``g:r``, ``c:r.0``) in document order; its settings are fields named
``<path>-<setting>``. What comes back is raw text: ``rule_validate`` checks it like any API input, so
the form never decides what is allowed.
"""

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from campaigns.models import Segment
from campaigns.rules import CATEGORIES, FIELDS, OPERATORS, RECENCY, Field

SETTINGS = ("field", "operator", "value", "days", "kind", "channel", "source", "purpose")
ANY_LABELS = {"kind": _("any kind"), "channel": _("any channel")}
DEFAULT_CONDITION: dict[str, Any] = {"field": "age", "operator": "gte", "value": ""}


class SegmentForm(forms.Form):
    """A segment's name and description; its rule comes from the builder's fields."""

    name = forms.CharField(
        label=_("Name"), max_length=200, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=Segment.Kind.choices,
        initial=Segment.Kind.DYNAMIC,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )


class StaticMembersForm(forms.Form):
    """Customer ids to put in or take out of a static segment: typed, or a file with one id a line
    (a CSV's first column; a header row is skipped)."""

    ids = forms.CharField(
        label=_("Customer ids"),
        required=False,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3, "placeholder": "1024, 2048"}),
        help_text=_("Separated by commas, spaces or new lines."),
    )
    file = forms.FileField(
        label=_("Or a CSV file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,.txt"}),
    )
    MAX_IDS = 100_000

    def customer_ids(self) -> list[int]:
        text = self.cleaned_data.get("ids") or ""
        upload = self.cleaned_data.get("file")
        if upload is not None:
            try:
                text += "\n" + upload.read(5_000_000).decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        ids: list[int] = []
        for line_number, line in enumerate(text.replace(",", "\n").replace(" ", "\n").splitlines(), start=1):
            cell = line.split(";")[0].strip().strip('"')
            if not cell:
                continue
            if not cell.isdigit() or len(cell) > 18:
                if line_number == 1 and not ids and upload is not None:
                    continue  # a header row
                raise forms.ValidationError(
                    _("%(value)s is not a customer id (entry %(n)d).")
                    % {"value": cell[:40], "n": line_number}
                )
            ids.append(int(cell))
        if not ids:
            raise forms.ValidationError(_("Give at least one customer id."))
        if len(ids) > self.MAX_IDS:
            raise forms.ValidationError(_("At most %(n)d ids at a time.") % {"n": self.MAX_IDS})
        return ids


def tree_from_post(data: QueryDict) -> dict[str, Any]:
    """The rule tree the builder's fields describe, as raw (unvalidated) JSON."""
    nodes: dict[str, dict[str, Any]] = {}
    root: dict[str, Any] = {"op": "and", "conditions": []}
    for announced in data.getlist("node"):
        kind, _sep, path = announced.partition(":")
        if kind == "g":
            node: dict[str, Any] = {"op": data.get(f"{path}-op", "and"), "conditions": []}
        else:
            node = {}
            for setting in SETTINGS:
                values = [v for v in data.getlist(f"{path}-{setting}") if v != ""]
                if values:
                    node[setting] = ",".join(values) if len(values) > 1 else values[0]
            if node.get("value") in ("true", "false") and node.get("field") == "consent":
                node["value"] = node["value"] == "true"
        if path == "r":
            root = node if kind == "g" else root
            nodes[path] = root
            continue
        parent = nodes.get(path.rpartition(".")[0])
        if parent is None or "conditions" not in parent:
            continue
        parent["conditions"].append(node)
        nodes[path] = node
    return root


def tree_apply(tree: dict[str, Any], action: str) -> dict[str, Any]:
    """Apply a builder button (``add_condition:<path>``, ``add_group:<path>``, ``remove:<path>``)."""
    verb, _sep, path = action.partition(":")
    indexes = [int(part) for part in path.split(".")[1:] if part.isdigit()]
    parent: dict[str, Any] | None = None
    node: Any = tree
    for index in indexes:
        children = node.get("conditions") if isinstance(node, dict) else None
        if not isinstance(children, list) or index >= len(children):
            return tree
        parent, node = node, children[index]
    if verb == "remove" and parent is not None:
        parent["conditions"].remove(node)
    elif verb == "add_condition" and "conditions" in node:
        node["conditions"].append(dict(DEFAULT_CONDITION))
    elif verb == "add_group" and "conditions" in node:
        node["conditions"].append({"op": "or", "conditions": [dict(DEFAULT_CONDITION)]})
    return tree


@dataclass
class BuilderNode:
    """A node of the tree as the template draws it."""

    path: str
    group: bool
    data: dict[str, Any]
    spec: Field | None = None
    children: list["BuilderNode"] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def operators(self) -> list[tuple[str, Any]]:
        return [(name, OPERATORS[name]) for name in self.spec.operators] if self.spec else []

    @property
    def value_widget(self) -> str:
        """How the value is entered: none, number, select, multiselect, boolean, segment or text."""
        spec, operator = self.spec, self.data.get("operator")
        if spec is None or operator in ("is_set", "not_set"):
            return "none"
        if operator in RECENCY or spec.value_type in ("int", "decimal"):
            return "number"
        if spec.value_type == "choice":
            return "multiselect" if operator in ("in", "not_in") else "select"
        if spec.value_type in ("bool", "segment"):
            return spec.value_type
        return "text"

    @property
    def values(self) -> list[str]:
        value = self.data.get("value")
        if isinstance(value, list):
            return [str(v) for v in value]
        return [str(v) for v in str(value).split(",")] if value not in (None, "") else []

    @property
    def value_text(self) -> str:
        value = self.data.get("value")
        return (
            ", ".join(str(v) for v in value)
            if isinstance(value, list)
            else ("" if value is None else str(value))
        )

    @property
    def params(self) -> list[tuple[str, Any, str, Any]]:
        """Each setting's name, spec, current value and the label of its "any" choice."""
        if self.spec is None:
            return []
        return [
            (
                name,
                param,
                "" if self.data.get(name) is None else str(self.data[name]),
                ANY_LABELS.get(name, ""),
            )
            for name, param in self.spec.params.items()
        ]


def builder_nodes(tree: dict[str, Any], errors: dict[str, str], path: str = "r") -> BuilderNode:
    """The view model of a tree, with the validation errors (``conditions.0.value``) put on their nodes."""
    if "conditions" in tree or path == "r":
        node = BuilderNode(path=path, group=True, data=tree)
        for index, child in enumerate(tree.get("conditions") or []):
            if isinstance(child, dict):
                node.children.append(builder_nodes(child, errors, f"{path}.{index}"))
    else:
        node = BuilderNode(path=path, group=False, data=tree, spec=FIELDS.get(tree.get("field", "")))
    prefix = _error_prefix(path)
    for where, message in errors.items():
        rest = where[len(prefix) :] if where.startswith(prefix) else None
        if rest is not None and "." not in rest.strip("."):
            node.errors[rest.strip(".") or "node"] = message
    return node


def _error_prefix(path: str) -> str:
    indexes = path.split(".")[1:]
    return "".join(f"conditions.{index}." for index in indexes)


def field_groups() -> list[tuple[Any, list[Field]]]:
    """The fields for the builder's select, by category."""
    return [(label, [f for f in FIELDS.values() if f.category == key]) for key, label in CATEGORIES.items()]
