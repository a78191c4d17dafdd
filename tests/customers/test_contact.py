"""Normalising contact values and recognising placeholders (customers/contact.py)."""

import pytest

from customers.contact import is_placeholder_email, is_placeholder_phone, normalize_email, normalize_phone


@pytest.mark.parametrize(
    "raw",
    [
        "010-1234-5678",
        "01012345678",
        "010 1234 5678",
        "+82 10 1234 5678",
        "+82-10-1234-5678",
        "+82 010 1234 5678",
        "0082 10 1234 5678",
        "82-10-1234-5678",
        " (010) 1234-5678 ",
    ],
)
def test_korean_mobile_numbers_in_any_common_format_normalise_alike(raw: str) -> None:
    assert normalize_phone(raw) == "+821012345678"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("02-123-4567", "+8221234567"),
        ("+1 415 555 0100", "+14155550100"),
        ("", ""),
        (None, ""),
        ("n/a", ""),
        ("12345", ""),
        ("+1234567890123456", ""),
    ],
)
def test_other_phone_numbers(raw: str | None, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "placeholder"),
    [
        ("000-0000-0000", True),
        ("010-0000-0000", True),
        ("010-1111-1111", True),
        ("010-1234-5678", True),
        ("", True),
        ("unknown", True),
        ("010-2937-4410", False),
        ("+82 10 8841 2093", False),
    ],
)
def test_placeholder_phones(raw: str, placeholder: bool) -> None:
    assert is_placeholder_phone(raw) is placeholder


@pytest.mark.parametrize(
    ("raw", "placeholder"),
    [
        ("test@test.com", True),
        ("none@none.com", True),
        ("noemail@gmail.com", True),
        ("a@b", True),
        ("aaaa@naver.com", True),
        ("", True),
        ("someone@example.com", True),
        ("minji.kim@example.kr", False),
        ("Minji.Kim@Naver.com", False),
    ],
)
def test_placeholder_emails(raw: str, placeholder: bool) -> None:
    assert is_placeholder_email(raw) is placeholder


def test_normalize_email_trims_and_lowers() -> None:
    assert normalize_email("  Minji.Kim@Naver.COM ") == "minji.kim@naver.com"
    assert normalize_email("not an email") == ""
