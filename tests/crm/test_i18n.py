"""The Korean catalogue is complete, has no fuzzy guesses, and the committed .mo is compiled from the .po.

The .po and .mo files are read with a few lines of plain Python, so the test needs neither gettext tools
nor an extra package.
"""

import ast
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import translation

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"

PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]")


@dataclass
class Entry:
    """One message of a .po file; ``msgstr`` holds one string, or one per plural form."""

    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The message's key in a compiled catalogue, as msgfmt writes it."""
        key = self.msgid if self.msgid_plural is None else f"{self.msgid}\x00{self.msgid_plural}"
        return key if self.msgctxt is None else f"{self.msgctxt}\x04{key}"


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file, header included; obsolete (``#~``) entries are left out."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] = ("", 0)
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            entry = None
            continue
        if entry is None or (entry.msgstr and not line.startswith(('"', "msgstr["))):
            # A blank line, or a comment or keyword after a complete entry, starts the next entry.
            entry = Entry(line=number)
            entries.append(entry)
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            name, index = target
            value = ast.literal_eval(line)
            if name == "msgstr":
                entry.msgstr[index] += value
            else:
                setattr(entry, name, (getattr(entry, name) or "") + value)
        else:
            keyword, value = line.split(" ", 1)
            text = ast.literal_eval(value)
            if keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
                entry.msgstr.append(text)
                target = ("msgstr", index)
            else:
                setattr(entry, keyword, text)
                target = (keyword, 0)
    return entries


def read_mo(path: Path) -> dict[str, str]:
    """The messages of a compiled .mo file (GNU gettext's format), header included."""
    data = path.read_bytes()
    order = "<" if struct.unpack("<I", data[:4])[0] == 0x950412DE else ">"
    _revision, count, originals, translations = struct.unpack(f"{order}4I", data[4:20])
    catalogue = {}
    for index in range(count):
        length, offset = struct.unpack(f"{order}2I", data[originals + 8 * index : originals + 8 * index + 8])
        key = data[offset : offset + length].decode()
        length, offset = struct.unpack(
            f"{order}2I", data[translations + 8 * index : translations + 8 * index + 8]
        )
        catalogue[key] = data[offset : offset + length].decode()
    return catalogue


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return read_po(PO_FILE)


def test_po_file_has_messages(entries: list[Entry]) -> None:
    assert len([entry for entry in entries if entry.msgid]) > 100


def test_every_message_is_translated(entries: list[Entry]) -> None:
    untranslated = [f"line {e.line}: {e.msgid!r}" for e in entries if e.msgid and not all(e.msgstr)]
    assert not untranslated, "Untranslated messages:\n" + "\n".join(untranslated)


def test_no_translation_is_fuzzy(entries: list[Entry]) -> None:
    fuzzy = [f"line {e.line}: {e.msgid!r}" for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, "Fuzzy entries (review, then remove the flag):\n" + "\n".join(fuzzy)


def test_translations_keep_the_placeholders(entries: list[Entry]) -> None:
    # Korean has one plural form, used for every count: it carries the plural's placeholders (the ones
    # msgfmt checks it against), which may be more than the singular's.
    broken = [
        f"line {e.line}: {e.msgid!r}"
        for e in entries
        if e.msgid
        and any(
            sorted(set(PLACEHOLDER.findall(s))) != sorted(set(PLACEHOLDER.findall(e.msgid_plural or e.msgid)))
            for s in e.msgstr
        )
    ]
    assert not broken, "Translations whose placeholders differ from the original:\n" + "\n".join(broken)


def test_compiled_catalogue_is_up_to_date(entries: list[Entry]) -> None:
    # The header is left out: msgfmt drops some of its fields (POT-Creation-Date) from the .mo.
    expected = {
        e.key: "\x00".join(e.msgstr) for e in entries if e.msgid and all(e.msgstr) and "fuzzy" not in e.flags
    }
    compiled = {key: value for key, value in read_mo(MO_FILE).items() if key}
    assert compiled == expected, "django.mo is stale: run `manage.py compilemessages -l ko`."


@override_settings(LANGUAGE_CODE="en")
def test_django_uses_the_catalogue() -> None:
    with translation.override("ko"):
        assert translation.gettext("Staff sign in") == "직원 로그인"
