"""Cells of files that people open in a spreadsheet: what a spreadsheet would run as a formula.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some spreadsheets
skip before reading the rest) is read as a formula by Excel, LibreOffice and Google Sheets; a crafted one
can run commands or send data away (CSV injection, OWASP). Imports refuse such cells; exports escape them.
"""

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# "+" or "-" before a number or a phone number is data, not a formula: -5, +82 10-1234-5678, -1,000.50.
_SIGNED_NUMBER_OR_PHONE = re.compile(r"^[+-][\d(][\d\s().,-]*$")


def is_formula(value: str) -> bool:
    """Whether a spreadsheet would take this imported cell for a formula.

    A lone sign and a signed number or phone number are allowed, since files are full of them.
    """
    if not value or value[0] not in FORMULA_STARTS:
        return False
    if value[0] in "+-":
        return len(value) > 1 and not _SIGNED_NUMBER_OR_PHONE.match(value)
    return True


def spreadsheet_safe(value: object) -> str:
    """The text of a cell for an exported file, with a leading ``'`` if a spreadsheet could run it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
