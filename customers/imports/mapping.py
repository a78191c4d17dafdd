"""The fields a CSV column may go to, and mappings from columns to fields: suggested and checked."""

import logging
import re
from dataclasses import dataclass
from typing import Any, TypeAlias

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import ImportJob

logger = logging.getLogger(__name__)

Label: TypeAlias = str | Promise


PREVIEW_ROWS = 20
IGNORE = ""  # the mapping's value for a column that is not imported
PROPERTY = "property"  # an event column kept under its own name in the event's properties

# --- targets: the fields a column may go to ------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A field of the import a CSV column may go to; ``synonyms`` are header names that suggest it."""

    name: str
    label: Label
    required: bool = False
    synonyms: tuple[str, ...] = ()


CUSTOMER_TARGETS = (
    Target(
        "external_id",
        gettext_lazy("Customer number in the source system"),
        required=True,
        synonyms=(
            "id",
            "customer id",
            "customer no",
            "customer number",
            "member id",
            "member no",
            "member number",
            "고객번호",
            "회원번호",
            "고객 id",
            "회원 id",
            "고객코드",
            "회원코드",
            "고객아이디",
            "회원아이디",
        ),
    ),
    Target("name", gettext_lazy("Name"), synonyms=("full name", "customer name", "이름", "성명", "고객명")),
    Target(
        "email",
        gettext_lazy("Email"),
        synonyms=("e-mail", "mail", "email address", "이메일", "메일", "이메일주소", "전자우편"),
    ),
    Target(
        "phone",
        gettext_lazy("Phone"),
        synonyms=(
            "mobile",
            "tel",
            "telephone",
            "cell phone",
            "phone number",
            "mobile phone",
            "전화번호",
            "휴대폰",
            "휴대폰번호",
            "핸드폰",
            "핸드폰번호",
            "휴대전화",
            "연락처",
        ),
    ),
    Target(
        "birth_date",
        gettext_lazy("Birth date"),
        synonyms=("birthdate", "birthday", "dob", "date of birth", "생년월일", "생일"),
    ),
    Target("gender", gettext_lazy("Gender"), synonyms=("sex", "성별")),
    Target("address", gettext_lazy("Address"), synonyms=("addr", "주소")),
    Target("postal_code", gettext_lazy("Postal code"), synonyms=("postcode", "zip", "zip code", "우편번호")),
    Target("region", gettext_lazy("Region"), synonyms=("city", "area", "지역", "시도")),
    Target(
        "preferred_language",
        gettext_lazy("Preferred language"),
        synonyms=("language", "lang", "언어", "선호언어"),
    ),
    Target(
        "signup_at",
        gettext_lazy("Signed up at"),
        synonyms=(
            "signup",
            "signup date",
            "joined",
            "join date",
            "registered",
            "가입일",
            "가입일시",
            "가입일자",
        ),
    ),
)

EVENT_TARGETS = (
    Target(
        "external_id",
        gettext_lazy("Event id in the source system"),
        required=True,
        synonyms=(
            "id",
            "event id",
            "transaction id",
            "order id",
            "order no",
            "거래번호",
            "주문번호",
            "이벤트번호",
            "이벤트 id",
        ),
    ),
    Target(
        "customer_id",
        gettext_lazy("Customer number in the source system"),
        synonyms=(
            "customer",
            "customer no",
            "customer number",
            "member id",
            "고객번호",
            "회원번호",
            "고객 id",
        ),
    ),
    Target("customer_email", gettext_lazy("Customer email"), synonyms=("email", "e-mail", "이메일")),
    Target(
        "customer_phone",
        gettext_lazy("Customer phone"),
        synonyms=("phone", "mobile", "전화번호", "휴대폰", "휴대폰번호", "연락처"),
    ),
    Target("customer_name", gettext_lazy("Customer name"), synonyms=("name", "이름", "성명", "고객명")),
    Target(
        "kind", gettext_lazy("Kind"), required=True, synonyms=("type", "event type", "유형", "종류", "구분")
    ),
    Target("channel", gettext_lazy("Channel"), required=True, synonyms=("채널",)),
    Target(
        "occurred_at",
        gettext_lazy("Occurred at"),
        required=True,
        synonyms=(
            "date",
            "datetime",
            "time",
            "timestamp",
            "일시",
            "거래일시",
            "발생일시",
            "날짜",
            "주문일시",
        ),
    ),
    Target("amount", gettext_lazy("Amount"), synonyms=("total", "금액", "결제금액", "거래금액")),
    Target("currency", gettext_lazy("Currency"), synonyms=("통화",)),
    Target("summary", gettext_lazy("Summary"), synonyms=("description", "memo", "내용", "요약", "메모")),
    Target("nps_score", gettext_lazy("NPS score"), synonyms=("nps", "추천점수")),
    Target(
        "location", gettext_lazy("Store or location code"), synonyms=("store", "매장", "매장코드", "지점")
    ),
    Target("sku", gettext_lazy("Product SKU"), synonyms=("product code", "상품코드", "품번")),
    Target("quantity", gettext_lazy("Quantity"), synonyms=("qty", "수량")),
    Target("unit_price", gettext_lazy("Unit price"), synonyms=("price", "단가", "가격")),
    Target(PROPERTY, gettext_lazy("Extra property (kept under the column's name)")),
)

TARGETS: dict[str, tuple[Target, ...]] = {
    ImportJob.Kind.CUSTOMERS: CUSTOMER_TARGETS,
    ImportJob.Kind.EVENTS: EVENT_TARGETS,
}
_CUSTOMER_NAMING_TARGETS = ("customer_id", "customer_email", "customer_phone")


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-./()]+", "", name).lower()


_SUGGESTIONS: dict[str, dict[str, str]] = {
    kind: {_normal(synonym): t.name for t in targets for synonym in (t.name, *t.synonyms)}
    for kind, targets in TARGETS.items()
}


def target_choices(kind: str) -> list[tuple[str, Label]]:
    """The fields of an import of this kind, as (name, label) choices, after "ignore"."""
    return [(IGNORE, gettext_lazy("Ignore this column"))] + [(t.name, t.label) for t in TARGETS[kind]]


def mapping_suggest(*, kind: str, header: list[str]) -> dict[str, str]:
    """A mapping guessed from the header's names, in English or Korean; unknown columns are ignored."""
    lookup = _SUGGESTIONS[kind]
    used: set[str] = set()
    mapping = {}
    for name in header:
        if not name:
            continue
        target = lookup.get(_normal(name), IGNORE)
        if target in used:
            target = IGNORE
        used.add(target)
        mapping[name] = target
    return mapping


# --- mappings --------------------------------------------------------------------------------------


def mapping_clean(*, kind: str, header: list[str], mapping: Any) -> dict[str, str]:
    """The mapping, checked against the file's header: every named column goes to a field of this kind
    of import or is ignored, no field gets two columns, and the required fields have one. Raises
    ``ValidationError`` with errors by column name (``__all__`` for the mapping as a whole)."""
    if not isinstance(mapping, dict) or not all(isinstance(key, str) for key in mapping):
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    ValidationError(_("A mapping names each column and its field."), code="invalid")
                ]
            }
        )
    targets = {t.name: t for t in TARGETS[kind]}
    errors: dict[str, list[ValidationError]] = {}

    def add(key: str, message: str, code: str) -> None:
        errors.setdefault(key, []).append(ValidationError(message, code=code))

    columns = [name for name in header if name]
    cleaned: dict[str, str] = {}
    used: dict[str, str] = {}
    for name, target in mapping.items():
        if name not in columns:
            add(name, _("The file has no column named “%(name)s”.") % {"name": name}, "unknown_column")
            continue
        target = target or IGNORE
        if not isinstance(target, str) or (target != IGNORE and target not in targets):
            add(name, _("“%(target)s” is not a field of this import.") % {"target": target}, "invalid_choice")
            continue
        if target not in (IGNORE, PROPERTY) and target in used:
            add(
                name,
                _("Column “%(other)s” already goes to %(field)s.")
                % {"other": used[target], "field": targets[target].label},
                "duplicate_target",
            )
            continue
        used.setdefault(target, name)
        cleaned[name] = target
    for name in columns:
        if name not in mapping:
            add(name, _("Choose a field for this column, or ignore it."), "unmapped_column")
    for target in targets.values():
        if target.required and target.name not in used:
            add(
                NON_FIELD_ERRORS,
                _("Choose the column that holds %(field)s: it is required.") % {"field": target.label},
                "required",
            )
    if kind == ImportJob.Kind.EVENTS and not any(name in used for name in _CUSTOMER_NAMING_TARGETS):
        add(
            NON_FIELD_ERRORS,
            _("Choose a column that names the customer: their number, email or phone."),
            "required",
        )
    if errors:
        raise ValidationError(errors)
    return cleaned
