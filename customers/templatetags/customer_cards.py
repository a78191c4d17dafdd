"""The customer page's header and its four cards (analytics, consent, identities, contracts), written in
Python rather than by templates included per card.

The five templates cost about 3 ms a page in the template engine (some sixty variables, filters and
translations), more than the four statements that read what they show. The markup is the templates'
that these tags replaced (compared byte for byte in English and Korean); every value from the database
is escaped, personal fields are masked by ``{% personal %}``'s code, and labels are translated once per
language.

    {% load customer_cards %}
    {% customer_header customer %}
    {% customer_analytics analytics base_currency %}
    {% customer_consent customer consents %}
    {% customer_identities identities %}
    {% customer_contracts contracts %}
"""

import datetime as dt
from functools import lru_cache
from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, gettext_noop

from crm.html import escape
from crm.templatetags.crm_labels import label
from crm.templatetags.crm_urls import reverse_pk
from customers.templatetags.customer_status import customer_status
from customers.templatetags.privacy import personal

register = template.Library()

CARD_TITLE = '<h2 class="h6 text-body-secondary text-uppercase small"'


@lru_cache(maxsize=16)
def _labels(language: str | None) -> dict[str, str]:
    """The cards' fixed texts in ``language`` (the active one). As ``{% translate %}`` and
    ``{% blocktranslate %}`` wrote them: translations are the project's own text, not escaped (the values
    put into them are)."""
    texts = {
        "no_name": gettext_noop("(no name)"),
        "email": gettext_noop("Email"),
        "phone": gettext_noop("Phone"),
        "birth_date": gettext_noop("Birth date"),
        "address": gettext_noop("Address"),
        "language": gettext_noop("Language"),
        "open_merged": gettext_noop("Open the customer it was merged into"),
        "analytics": gettext_noop("Analytics"),
        "lifetime_value": gettext_noop("Lifetime value"),
        "rfm_group": gettext_noop("RFM group"),
        "churn_risk": gettext_noop("Churn risk"),
        "last_nps": gettext_noop("Last NPS"),
        "purchases": gettext_noop("Purchases"),
        "last_purchase": gettext_noop("Last purchase"),
        "visits": gettext_noop("Visits in the last 30 days"),
        "no_analytics": gettext_noop("No analytics yet: they appear with the customer's first interaction."),
        "consent": gettext_noop("Consent"),
        "granted": gettext_noop("Granted"),
        "refused": gettext_noop("Refused"),
        "no_consent": gettext_noop("No consent recorded: do not contact this customer."),
        "history_and_changes": gettext_noop("History and changes"),
        "history": gettext_noop("History"),
        "identities": gettext_noop("Identities in source systems"),
        "no_identities": gettext_noop("Known in no source system."),
        "contracts": gettext_noop("Contracts"),
        "no_contracts": gettext_noop("No contracts."),
    }
    labels = {key: gettext(text) for key, text in texts.items()}
    labels["customer_number"] = gettext("Customer #%(id)s")
    labels["signed_up"] = gettext("signed up %(date)s")
    labels["merged_into"] = gettext("This customer was merged into #%(id)s; its history is there.")
    return labels


@lru_cache(maxsize=4096)
def _short_date_of_day(day: dt.date, language: str | None) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT")


def _short_date(value: dt.date | dt.datetime | None, language: str | None) -> str:
    """``{{ value|date:"SHORT_DATE_FORMAT" }}``: a time in the interface's time zone, by its date."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return _short_date_of_day(value, language)


@register.simple_tag(takes_context=True)
def customer_header(context: template.Context, customer: Any) -> SafeString:
    """The profile: name, status, number and sign-up, the merge notice, and the masked personal fields."""
    language = get_language()
    labels = _labels(language)
    name = customer.name
    signed_up = ""
    if customer.signup_at:
        date = escape(_short_date(customer.signup_at, language))
        signed_up = f"· {labels['signed_up'] % {'date': date}}"
    merged = ""
    if customer.status == "merged":
        into = customer.merged_into_id
        url = escape(reverse_pk("customers:customer_detail", into))
        merged = (
            '\n        <div class="alert alert-secondary small py-2 mt-2 mb-0" role="note">\n'
            f"          {labels['merged_into'] % {'id': escape(into)}}\n"
            f'          <a class="alert-link" href="{url}">{labels["open_merged"]}</a>\n'
            "        </div>\n      "
        )
    gender = f" · {escape(label(customer, 'gender'))}" if customer.gender else ""
    region = f"{escape(customer.region)} " if customer.region else ""
    return mark_safe(  # noqa: S308  # every value escaped
        '\n\n<header class="card shadow-sm border-0 mb-4" data-testid="customer-header">\n'
        '  <div class="card-body d-flex flex-wrap gap-4 align-items-center">\n'
        f'    <span class="crm-avatar crm-avatar-xl" aria-hidden="true">{escape((name or "?")[:1])}</span>\n'
        '    <div class="flex-grow-1">\n'
        '      <div class="d-flex flex-wrap align-items-center gap-2">\n'
        f'        <h1 class="h3 mb-0">{escape(name) if name else labels["no_name"]}</h1>\n'
        f"        {customer_status(customer)}\n"
        "      </div>\n"
        '      <div class="text-body-secondary small">\n'
        f"        {labels['customer_number'] % {'id': escape(customer.pk)}}\n"
        f"        {signed_up}\n"
        "      </div>\n"
        f"      {merged}\n"
        "    </div>\n"
        '    <dl class="row small mb-0 crm-demographics">\n'
        f'      <dt class="col-4 fw-normal text-body-secondary">{labels["email"]}</dt>\n'
        f'      <dd class="col-8 text-break mb-1">{personal(context, customer, "email")}</dd>\n'
        f'      <dt class="col-4 fw-normal text-body-secondary">{labels["phone"]}</dt>\n'
        f'      <dd class="col-8 mb-1">{personal(context, customer, "phone")}</dd>\n'
        f'      <dt class="col-4 fw-normal text-body-secondary">{labels["birth_date"]}</dt>\n'
        f'      <dd class="col-8 mb-1">{personal(context, customer, "birth_date")}{gender}</dd>\n'
        f'      <dt class="col-4 fw-normal text-body-secondary">{labels["address"]}</dt>\n'
        f'      <dd class="col-8 mb-1">{region}{personal(context, customer, "address")}</dd>\n'
        f'      <dt class="col-4 fw-normal text-body-secondary">{labels["language"]}</dt>\n'
        f'      <dd class="col-8 mb-0">{escape(customer.preferred_language or "—")}</dd>\n'
        "    </dl>\n"
        "  </div>\n"
        "</header>\n"
    )


def _card(name: str, title: str, body: str) -> str:
    return (
        f'\n<section class="card shadow-sm border-0" data-testid="customer-{name}" '
        f'aria-labelledby="{name}-title">\n'
        '  <div class="card-body">\n'
        f'    {CARD_TITLE} id="{name}-title">{title}</h2>\n'
        f"    {body}\n"
        "  </div>\n"
        "</section>\n"
    )


def _churn_tone(risk: Any) -> str:
    if risk >= 0.6:
        return "text-danger"
    if risk >= 0.35:
        return "text-warning-emphasis"
    return "text-success"


@register.simple_tag
def customer_analytics(analytics: Any, base_currency: str) -> SafeString:
    """Lifetime value, RFM group and scores, churn risk, last NPS, purchases and visits."""
    language = get_language()
    labels = _labels(language)
    if not analytics:
        body = f'\n      <p class="small text-body-secondary mb-0">{labels["no_analytics"]}</p>\n    '
        return mark_safe(_card("analytics", labels["analytics"], body))  # noqa: S308  # escaped
    risk = analytics.churn_risk
    nps = "—" if analytics.last_nps is None else escape(analytics.last_nps)
    scores = f"{analytics.rfm_recency}{analytics.rfm_frequency}{analytics.rfm_monetary}"
    body = (
        '\n      <div class="row g-2 text-center small">\n'
        '        <div class="col-6"><div class="border rounded py-2">\n'
        f'          <div class="fs-5 fw-semibold">{floatformat(analytics.lifetime_value, "0g")}</div>\n'
        f'          <div class="text-body-secondary">{labels["lifetime_value"]} '
        f"({escape(base_currency or 'KRW')})</div>\n"
        "        </div></div>\n"
        '        <div class="col-6"><div class="border rounded py-2">\n'
        f'          <div class="fs-5 fw-semibold">{escape(label(analytics, "rfm_group"))}</div>\n'
        f'          <div class="text-body-secondary">{labels["rfm_group"]} · {escape(scores)}</div>\n'
        "        </div></div>\n"
        '        <div class="col-6"><div class="border rounded py-2">\n'
        f'          <div class="fs-5 fw-semibold {_churn_tone(risk)}">{round(float(risk) * 100)}%</div>\n'
        f'          <div class="text-body-secondary">{labels["churn_risk"]}</div>\n'
        "        </div></div>\n"
        '        <div class="col-6"><div class="border rounded py-2">\n'
        f'          <div class="fs-5 fw-semibold">{nps}</div>\n'
        f'          <div class="text-body-secondary">{labels["last_nps"]}</div>\n'
        "        </div></div>\n"
        "      </div>\n"
        '      <dl class="row small mt-3 mb-0">\n'
        f'        <dt class="col-7 fw-normal text-body-secondary">{labels["purchases"]}</dt>\n'
        f'        <dd class="col-5 text-end mb-1">{floatformat(analytics.purchases_total, "0g")}</dd>\n'
        f'        <dt class="col-7 fw-normal text-body-secondary">{labels["last_purchase"]}</dt>\n'
        f'        <dd class="col-5 text-end mb-1">'
        f"{escape(_short_date(analytics.last_purchase_at, language) or '—')}</dd>\n"
        f'        <dt class="col-7 fw-normal text-body-secondary">{labels["visits"]}</dt>\n'
        f'        <dd class="col-5 text-end mb-0">{escape(analytics.visits_30d)}</dd>\n'
        "      </dl>\n    "
    )
    return mark_safe(_card("analytics", labels["analytics"], body))  # noqa: S308  # every value escaped


@register.simple_tag(takes_context=True)
def customer_consent(context: template.Context, customer: Any, consents: list[Any]) -> SafeString:
    """Consent per channel and purpose, and for those who may read it the button to the full panel."""
    language = get_language()
    labels = _labels(language)
    if consents:
        last = len(consents) - 1
        rows = []
        for index, consent in enumerate(consents):
            title = f"{escape(consent.source)} {escape(_short_date(consent.changed_at, language))}"
            badge = (
                f'<span class="badge text-bg-success" title="{title}">{labels["granted"]}</span>'
                if consent.granted
                else f'<span class="badge text-bg-secondary" title="{title}">{labels["refused"]}</span>'
            )
            rows.append(
                '\n          <li class="d-flex justify-content-between align-items-center py-1'
                f'{" border-bottom" if index < last else ""}">\n'
                f"            <span>{escape(label(consent, 'channel'))} "
                f'<span class="text-body-secondary">· {escape(label(consent, "purpose"))}</span></span>\n'
                f"            \n              {badge}\n            \n          </li>\n        "
            )
        body = f'\n      <ul class="list-unstyled small mb-0">\n        {"".join(rows)}\n      </ul>\n    '
    else:
        body = f'\n      <p class="small text-body-secondary mb-0">{labels["no_consent"]}</p>\n    '
    user = context["request"].user
    button = ""
    if user.has_perm("customers.view_consent"):
        url = escape(reverse_pk("customers:consent_panel", customer.pk))
        text = (
            labels["history_and_changes"]
            if user.has_perm("customers.add_consentchange")
            else labels["history"]
        )
        button = (
            "\n      \n"
            '      <button type="button" class="btn btn-link btn-sm px-0 mt-2" data-testid="consent-open"\n'
            f'              hx-get="{url}" hx-target="closest section" hx-swap="outerHTML">\n'
            f"        {text}\n"
            "      </button>\n    "
        )
    return mark_safe(_card("consent", labels["consent"], f"{body}\n    {button}"))  # noqa: S308  # escaped


@register.simple_tag
def customer_identities(identities: list[Any]) -> SafeString:
    """The customer's id in each source system."""
    labels = _labels(get_language())
    if identities:
        last = len(identities) - 1
        rows = "".join(
            '\n          <li class="d-flex justify-content-between gap-2 py-1'
            f'{" border-bottom" if index < last else ""}">\n'
            f'            <span class="text-body-secondary">{escape(identity.source_system.name)}</span>\n'
            f'            <code class="text-body">{escape(identity.external_id)}</code>\n'
            "          </li>\n        "
            for index, identity in enumerate(identities)
        )
        body = f'\n      <ul class="list-unstyled small mb-0">\n        {rows}\n      </ul>\n    '
    else:
        body = f'\n      <p class="small text-body-secondary mb-0">{labels["no_identities"]}</p>\n    '
    return mark_safe(_card("identities", labels["identities"], body))  # noqa: S308  # every value escaped


CONTRACT_BADGES = {
    "active": "text-bg-success",
    "quote": "text-bg-info",
    "suspended": "text-bg-warning",
    "lapsed": "text-bg-warning",
}


@register.simple_tag
def customer_contracts(contracts: list[Any]) -> SafeString:
    """The customer's contracts with their kind, id, dates, premium and status."""
    language = get_language()
    labels = _labels(language)
    if not contracts:
        body = f'\n      <p class="small text-body-secondary mb-0">{labels["no_contracts"]}</p>\n    '
        return mark_safe(_card("contracts", labels["contracts"], body))  # noqa: S308  # escaped
    last = len(contracts) - 1
    rows = []
    for index, contract in enumerate(contracts):
        premium = ""
        if contract.premium is not None:
            premium = f"· {floatformat(contract.premium, '0g')} {escape(contract.currency)}"
        rows.append(
            f'\n          <li class="py-2{" border-bottom" if index < last else ""}">\n'
            '            <div class="d-flex justify-content-between gap-2">\n'
            f'              <span class="fw-semibold">{escape(contract.name)}</span>\n'
            f'              <span class="badge {CONTRACT_BADGES.get(contract.status, "text-bg-secondary")}">'
            f"{escape(label(contract, 'status'))}</span>\n"
            "            </div>\n"
            '            <div class="text-body-secondary">\n'
            f"              {escape(label(contract, 'kind'))} · "
            f'<code class="text-body-secondary">{escape(contract.external_id)}</code>\n'
            f"              · {escape(_short_date(contract.start_date, language))}–"
            f"{escape(_short_date(contract.end_date, language))}\n"
            f"              {premium}\n"
            "            </div>\n"
            "          </li>\n        "
        )
    body = f'\n      <ul class="list-unstyled small mb-0">\n        {"".join(rows)}\n      </ul>\n    '
    return mark_safe(_card("contracts", labels["contracts"], body))  # noqa: S308  # every value escaped
