"""The Russian catalog is complete: a merge or a new string cannot silently leave a page half in English."""
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

CATALOG = Path(__file__).resolve().parents[2] / "translations" / "ru" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _messages():
    with CATALOG.open("rb") as handle:
        return [message for message in read_po(handle, locale="ru") if message.id]


def _forms(value):
    return list(value) if isinstance(value, (tuple, list)) else [value]


@pytest.mark.parametrize("message", _messages(), ids=lambda m: _forms(m.id)[0][:60])
def test_every_russian_message_is_translated_with_its_placeholders(message):
    assert not message.fuzzy, "fuzzy entries are shown in English"
    wanted = set(PLACEHOLDER.findall(" ".join(_forms(message.id))))
    for form in _forms(message.string):
        assert form, "an empty translation is shown in English"
        # A plural form may leave out %(num)s (Russian "один файл"), never add or lose another name.
        assert set(PLACEHOLDER.findall(form)) - {"num"} == wanted - {"num"}


@pytest.mark.parametrize("language", ["en", "ru"])
def test_no_catalog_keeps_a_fuzzy_entry(language):
    path = CATALOG.parents[2] / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        fuzzy = [message.id for message in read_po(handle, locale=language) if message.id and message.fuzzy]
    assert fuzzy == []
