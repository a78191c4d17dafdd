"""The segments that come with the CRM, created by a data migration and refreshed like any other.

Their names are stored in English and shown translated (``builtin_label``); their rules may be edited
by marketers, and the alert list of at-risk customers follows whatever the rule says.
"""

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

HIGH_VALUE = "high_value"
AT_RISK_VALUABLE = "at_risk_valuable"
DORMANT = "dormant"
NEW_LAST_7_DAYS = "new_last_7_days"

DORMANT_DAYS = 180

BUILTINS: dict[str, dict[str, Any]] = {
    HIGH_VALUE: {
        "name": "High-value customers",
        "description": "Lifetime value of 2,000,000 or more (RFM monetary score 4 or 5).",
        "rule": {
            "op": "and",
            "conditions": [{"field": "lifetime_value", "operator": "gte", "value": "2000000"}],
        },
    },
    AT_RISK_VALUABLE: {
        "name": "Valuable customers at risk of churning",
        "description": "Lifetime value of 1,000,000 or more and a churn risk of 0.5 or more: reps call them first.",
        "rule": {
            "op": "and",
            "conditions": [
                {"field": "lifetime_value", "operator": "gte", "value": "1000000"},
                {"field": "churn_risk", "operator": "gte", "value": "0.5"},
            ],
        },
    },
    DORMANT: {
        "name": "Dormant customers",
        "description": f"No activity in the last {DORMANT_DAYS} days, and known for longer than that.",
        "rule": {
            "op": "and",
            "conditions": [
                {"field": "last_interaction_at", "operator": "not_within_days", "value": DORMANT_DAYS},
                {"field": "created_at", "operator": "not_within_days", "value": DORMANT_DAYS},
            ],
        },
    },
    NEW_LAST_7_DAYS: {
        "name": "New customers of the last 7 days",
        "description": "Customers the CRM first knew in the last 7 days.",
        "rule": {"op": "and", "conditions": [{"field": "created_at", "operator": "within_days", "value": 7}]},
    },
}

BUILTIN_LABELS: dict[str, Promise] = {
    HIGH_VALUE: _("High-value customers"),
    AT_RISK_VALUABLE: _("Valuable customers at risk of churning"),
    DORMANT: _("Dormant customers"),
    NEW_LAST_7_DAYS: _("New customers of the last 7 days"),
}
