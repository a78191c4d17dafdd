"""Contact values: normalising phones and emails for matching and search, and telling real values from
placeholders that source systems put in mandatory fields (``test@test.com``, ``000-0000-0000``).

Identity resolution never matches on a placeholder: two customers who both typed ``010-0000-0000`` are
not the same person.
"""

import re

_NON_DIGITS = re.compile(r"\D+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Local parts and domains that people and systems type when an email is required but unknown.
_PLACEHOLDER_EMAIL_LOCALS = frozenset(
    {
        "test",
        "tests",
        "none",
        "no",
        "noemail",
        "no-email",
        "noreply",
        "no-reply",
        "donotreply",
        "na",
        "n-a",
        "null",
        "unknown",
        "email",
        "example",
        "sample",
        "dummy",
        "fake",
        "asdf",
        "qwerty",
        "abc",
        "aaa",
        "xxx",
    }
)
_PLACEHOLDER_EMAIL_DOMAINS = frozenset(
    {
        "test.com",
        "test.kr",
        "example.com",
        "example.org",
        "example.net",
        "none.com",
        "noemail.com",
        "email.com",
        "domain.com",
        "fake.com",
        "invalid",
        "localhost",
    }
)


def normalize_email(value: str | None) -> str:
    """Trimmed, lower-cased email, or "" when it is empty or not an email."""
    email = (value or "").strip().lower()
    return email if _EMAIL.match(email) else ""


def is_placeholder_email(value: str | None) -> bool:
    """True when an email must never be used to match customers."""
    email = normalize_email(value)
    if not email:
        return True
    local, _, domain = email.partition("@")
    return local in _PLACEHOLDER_EMAIL_LOCALS or domain in _PLACEHOLDER_EMAIL_DOMAINS or len(set(local)) == 1


def normalize_phone(value: str | None, default_country: str = "82") -> str:
    """E.164 form of a phone number (``+821012345678``), or "" when it cannot be one.

    Accepts the forms people write: ``010-1234-5678``, ``010 1234 5678``, ``01012345678``,
    ``+82 10 1234 5678``, ``+82-10-1234-5678``, ``0082 10 1234 5678``, ``82-10-1234-5678``.
    A national number (leading 0) is taken to be in ``default_country`` (Korea).
    """
    raw = (value or "").strip()
    if not raw:
        return ""
    digits = _NON_DIGITS.sub("", raw)
    if raw.startswith("+"):
        international = digits
    elif digits.startswith("00"):
        international = digits[2:]
    elif digits.startswith("0"):
        international = default_country + digits[1:]
    elif digits.startswith(default_country) and len(digits) >= 11:
        international = digits
    else:
        return ""
    if international.startswith(default_country + "0"):  # +82 010-..., a redundant trunk zero
        international = default_country + international[len(default_country) + 1 :]
    # E.164 allows at most 15 digits; fewer than 8 is no subscriber number anywhere.
    if not 8 <= len(international) <= 15:
        return ""
    return "+" + international


def is_placeholder_phone(value: str | None) -> bool:
    """True when a phone number must never be used to match customers: unparseable, all one digit after
    the prefix, or a subscriber part of zeros or a simple run (0000-0000, 1234-5678)."""
    phone = normalize_phone(value)
    if not phone:
        return True
    national = phone[3:] if phone.startswith("+82") else phone[1:]
    subscriber = national[-8:]
    return (
        len(set(national)) <= 2
        or len(set(subscriber)) == 1
        or subscriber in {"12345678", "87654321", "00000000", "11112222"}
    )
