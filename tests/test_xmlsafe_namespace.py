"""xmlsafe.parse reads IOF elements without their namespace however the file declares it (issue 19:
the default declaration is blanked before the parse instead of renaming every element after it)."""

from __future__ import annotations

import pytest
from lxml import etree

from t4o_tui.orienteering.xmlsafe import IOF_NS, IofError, parse

BODY = "<Event><Name>Cup</Name></Event><PersonEntry><Person><Name><Given>Ada</Given></Name></Person></PersonEntry>"


def tags(root: etree._Element) -> list[str]:
    return [el.tag for el in root.iter()]


@pytest.mark.parametrize("doc", [
    f'<EntryList xmlns="{IOF_NS}" iofVersion="3.0">{BODY}</EntryList>',
    f"<EntryList iofVersion='3.0' xmlns = '{IOF_NS}'>{BODY}</EntryList>",
    f'<iof:EntryList xmlns:iof="{IOF_NS}">{BODY.replace("<", "<iof:").replace("<iof:/", "</iof:")}</iof:EntryList>',
    f'<EntryList>{BODY.replace("<Event>", f"<Event xmlns={chr(34)}{IOF_NS}{chr(34)}>")}</EntryList>',
    f"<EntryList>{BODY}</EntryList>",
])
def test_iof_elements_lose_their_namespace(doc: str) -> None:
    root, _ = parse(doc.encode())
    assert tags(root) == ["EntryList", "Event", "Name", "PersonEntry", "Person", "Name", "Given"]
    assert root.find("Event/Name").text == "Cup"  # type: ignore[union-attr]


def test_root_still_declares_iof_xml() -> None:
    # ResultList reading notes a file without the namespace: the blanked declaration must not look like one.
    root, _ = parse(f'<?xml version="1.0"?>\n<ResultList xmlns="{IOF_NS}"/>'.encode())
    assert IOF_NS in root.nsmap.values()
    bare, _ = parse(b"<ResultList/>")
    assert IOF_NS not in bare.nsmap.values()


def test_other_namespaces_are_kept() -> None:
    root, _ = parse(f'<EntryList xmlns="{IOF_NS}" xmlns:x="urn:x"><x:Logo>L</x:Logo><Event/></EntryList>'.encode())
    assert tags(root) == ["EntryList", "{urn:x}Logo", "Event"]


def test_error_columns_unchanged_on_a_one_line_file() -> None:
    # Blanking keeps every character's place: the column of an error after the declaration is the file's.
    doc = f'<EntryList xmlns="{IOF_NS}"><Event><Name>Cup</Nme></Event></EntryList>'
    with pytest.raises(IofError) as err:
        parse(doc.encode())
    assert err.value.line == 1
    assert err.value.column == doc.index("</Nme>") + len("</Nme>") + 1  # libxml2 points past the tag


def test_declaration_text_in_an_attribute_value_is_left_alone() -> None:
    doc = f'<EntryList creator="a > b" xmlns="{IOF_NS}"><Event/></EntryList>'
    root, _ = parse(doc.encode())
    assert tags(root) == ["EntryList", "Event"] and root.get("creator") == "a > b"


@pytest.mark.parametrize("doc", [
    f'<?xml version="1.0" encoding="UTF-8"?>\n<!-- Ødegård -->\n<EntryList xmlns="{IOF_NS}">{BODY}</EntryList>\n\x1a',
    f'\n\n<?xml version="1.0"?><EntryList xmlns="{IOF_NS}" creator="a > b">{BODY.replace("Ada", "Åse &amp; Bjørn")}</EntryList>',
    f"<EntryList>{BODY}</EntryList>",
    f'<iof:EntryList xmlns:iof="{IOF_NS}"><iof:Event><iof:Name>Cup</iof:Name></iof:Event></iof:EntryList>',
])
def test_utf8_files_take_the_short_way_to_the_same_tree(doc: str) -> None:
    # UTF-8 is parsed as bytes, without decoding to text and back; UTF-16 still goes the long way.
    from t4o_tui.orienteering.xmlsafe import _parse_utf8

    data = doc.encode("utf-8")
    assert _parse_utf8(data) is not None
    short, warnings = parse(data)
    long, _ = parse(doc.replace('encoding="UTF-8"', "").encode("utf-16"))
    assert warnings == []
    assert etree.tostring(short, method="c14n") == etree.tostring(long, method="c14n")
    assert short.nsmap == long.nsmap


def test_bytes_that_are_not_utf8_still_fall_back_to_windows_1252_with_a_warning() -> None:
    root, warnings = parse(b"<EntryList><Event><Name>Bj\xf8rn</Name></Event></EntryList>")
    assert root.find("Event/Name").text == "Bjørn"  # type: ignore[union-attr]
    assert warnings == ["the file declares no encoding but is not valid UTF-8 (line 1): read as windows-1252"]
