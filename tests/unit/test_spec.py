"""The rules of engagement and the data dictionary the acceptor loads must agree."""

from __future__ import annotations

import re
from pathlib import Path

import quickfix as fix

from venue.fix_codec import fix_dictionary

SPEC = Path(__file__).resolve().parents[2] / "spec" / "rules-of-engagement.md"


def documented_tags() -> set[int]:
    tags = set()
    for line in SPEC.read_text().splitlines():
        m = re.match(r"^\|\s*(\d+)\s*\|\s*([A-Za-z]+)\s*\|", line)
        if m:
            tags.add(int(m.group(1)))
    return tags


def test_every_documented_tag_exists_in_the_venue_dictionary():
    tags = documented_tags()
    assert len(tags) > 35, "the spec's tag tables were found"
    dictionary = fix.DataDictionary(str(fix_dictionary()))
    missing = sorted(t for t in tags if not dictionary.isField(t))
    assert missing == []


def test_custom_tags_are_allowed_where_the_venue_uses_them():
    dictionary = fix.DataDictionary(str(fix_dictionary()))
    assert dictionary.isMsgField("8", 880) and dictionary.isMsgField("8", 20001)
    assert dictionary.isMsgField("D", 2964) and dictionary.isMsgField("G", 2964)
    for msg_type, tag in (("A", 553), ("A", 554), ("D", 110), ("D", 126), ("D", 432), ("f", 326)):
        assert dictionary.isMsgField(msg_type, tag), (msg_type, tag)
