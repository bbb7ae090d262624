"""Safe, lenient parsing of XML files from other programs: encoding detection, no DTDs, clear errors."""

from __future__ import annotations

import codecs
import re
from datetime import date, datetime, tzinfo
from typing import AnyStr, TypeAlias

from lxml import etree

El: TypeAlias = etree._Element

IOF_NS = "http://www.orienteering.org/datastandard/3.0"

# Declared encodings read as windows-1252: it is a superset of ISO-8859-1 in the printable range,
# and Windows programs that declare ISO-8859-1 routinely write 1252's dashes and quotes (0x80-0x9F).
_LATIN1_NAMES = {
    "iso-8859-1",
    "iso8859-1",
    "iso_8859-1",
    "latin-1",
    "latin1",
    "l1",
    "windows-1252",
    "cp1252",
}
_UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_XML_DECL = re.compile(r"\s*<\?xml\b[^>]*\?>")
_HTML = re.compile(r"\s*(<!--.*?-->\s*)*<html\b", re.IGNORECASE | re.DOTALL)
_MISMATCH = re.compile(r"Opening and ending tag mismatch: (\S+) line (\d+) and (\S+)")
_PREMATURE = re.compile(r"Premature end of data in tag (\S+) line (\d+)")
_IOF_DEFAULT = re.compile(r"\sxmlns\s*=\s*([\"'])" + re.escape(IOF_NS) + r"\1")
_IOF_ANY = f"{{{IOF_NS}}}*"
_IOF_PREFIX = "iof"
_XML_DECL_BYTES = re.compile(rb"\s*<\?xml\b[^>]*\?>")
_HEAD = 65536  # bytes looked at for the prolog and the root's start tag on the fast way


class IofError(ValueError):
    """An unreadable or unsuitable file; `line`/`column` point into it when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        where = ""
        if line is not None:
            where = f"line {line}, column {column}: " if column is not None else f"line {line}: "
        super().__init__(where + message)


def _position(data: AnyStr, offset: int, newline: AnyStr) -> tuple[int, int]:
    return data.count(newline, 0, offset) + 1, offset - data.rfind(newline, 0, offset)


def decode(data: bytes) -> tuple[str, list[str]]:
    """Bytes to text by BOM, declaration or UTF-8 with a windows-1252 fallback; returns (text, warnings)."""
    if data[:4] == b"PK\x03\x04":
        raise IofError("this is a ZIP archive (a zipped export or an Excel file?), not an XML file")
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8"), []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16"), []
    m = _DECLARED.match(data[:400])
    declared = m.group(1).decode("ascii").lower() if m else None
    if declared is None or declared in _UTF8_NAMES:
        try:
            return data.decode("utf-8"), []
        except UnicodeDecodeError as e:
            line, _ = _position(data, e.start, b"\n")
            said = f"declares {declared}" if declared else "declares no encoding"
            return _cp1252(data), [
                f"the file {said} but is not valid UTF-8 (line {line}): read as windows-1252"
            ]
    if declared in _LATIN1_NAMES:
        if not data.isascii():
            # Exporters that declare ISO-8859-1 and write UTF-8 exist; text in a single-byte
            # encoding with letters beyond ASCII is almost never valid UTF-8 by chance.
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                return text, [f"the file declares {declared} but its bytes are UTF-8: read as UTF-8"]
        return _cp1252(data), []
    try:
        codecs.lookup(declared)
    except LookupError:
        raise IofError(f"unknown encoding {declared!r} in the XML declaration", 1) from None
    return _strict(data, declared), []


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line, column = _position(data, e.start, b"\n")
        raise IofError(f"the bytes here are not valid {encoding}", line, column) from None


def _cp1252(data: bytes) -> str:
    # The five bytes 1252 leaves undefined become U+FFFD instead of failing the whole import.
    return data.decode("cp1252", errors="replace")


def check_prolog(text: str) -> str | None:
    """Refuse a DTD with declarations (entity bombs, external entities); returns the DOCTYPE name, if any."""
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if text.startswith("<?", i):
            end = text.find("?>", i)
        elif text.startswith("<!--", i):
            end = text.find("-->", i)
        elif text[i : i + 9].upper() == "<!DOCTYPE":
            return _doctype(text, i)
        else:
            return None
        if end < 0:
            return None  # unterminated: the parser reports it with its position
        i = end + 2
    return None


def _doctype(text: str, start: int) -> str:
    quote = ""
    for j in range(start + 9, len(text)):
        c = text[j]
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c == "[":
            line, column = _position(text, start, "\n")
            raise IofError(
                "the file declares a DTD (<!DOCTYPE … [ … ]>), which can hide entity bombs and "
                "external entities; IOF XML files never need one, so the file is refused",
                line,
                column,
            )
        elif c == ">":
            # A bare <!DOCTYPE x SYSTEM "IOFdata.dtd"> (IOF 2.0.3 files) is harmless: it is never loaded.
            parts = text[start + 9 : j].split()
            return parts[0] if parts else ""
    return ""


def _parser() -> etree.XMLParser:
    # The input is always re-encoded to UTF-8 first, so `encoding` overrides whatever the file declares.
    return etree.XMLParser(
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        strip_cdata=True,
        # Not collect_ids=False: in lxml 6 that flag makes libxml2 load the external DTD after all.
    )


def _syntax_message(
    e: etree.XMLSyntaxError, log: etree._ListErrorLog
) -> tuple[str, int | None, int | None]:
    # The parser's own log: the exception's copy of the global one may start with older, unrelated errors.
    entry = next(iter(log.filter_from_errors()), None)
    message = (entry.message if entry is not None else e.msg or "not well-formed XML").strip()
    line, column = (entry.line, entry.column) if entry is not None else (e.position or (None, None))
    if m := _MISMATCH.match(message):
        message = f"<{m[1]}> opened on line {m[2]} is closed by </{m[3]}>"
    elif m := _PREMATURE.match(message):
        message = f"the file ends inside <{m[1]}> opened on line {m[2]}: is it cut short?"
    elif message.startswith("Document is empty"):
        message = "the file is empty"
    elif message.startswith("Start tag expected"):
        message = "not an XML file (it does not start with '<')"
    return message, line or None, column or None


def parse(data: bytes) -> tuple[etree._Element, list[str]]:
    """Parse safely; IOF-namespace tags lose their namespace, so `el.find("Name")` works either way."""
    fast = _parse_utf8(data)
    if fast is not None:
        return fast, []
    text, warnings = decode(data)
    text = text.rstrip().rstrip("\x1a\x00")  # DOS end-of-file marks after the root element
    if m := _XML_DECL.match(text):
        # The text is decoded already, and blanking (not cutting) keeps every line and column in place;
        # it also forgives blank lines before the declaration, which some web exports emit.
        text = re.sub(r"[^\n]", " ", m.group()) + text[m.end() :]
    doctype = check_prolog(text)
    text, blanked = _blank_iof_default(text)
    parser = _parser()
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as e:
        message, line, column = _syntax_message(e, parser.error_log)
        if (doctype or "").lower() == "html" or _HTML.match(text):
            message = "this is an HTML page, not an IOF XML 3.0 file"
        raise IofError(message, line, column) from None
    return _checked(root, blanked), warnings


def _parse_utf8(data: bytes) -> etree._Element | None:
    """The common case without decoding the file to text and back (which took as long as the
    parse): a file declared UTF-8 (or not declared) handed to libxml2 as it is, with the same
    blanking, prolog check, parser flags and checks as below. None when that does not go through
    (another encoding, bytes that are not UTF-8, any syntax error): then parse() takes the long
    way, which also words the errors and the windows-1252 fallback."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    elif data[:4] == b"PK\x03\x04" or data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    m = _DECLARED.match(data[:400])
    if m is not None and m.group(1).decode("ascii").lower() not in _UTF8_NAMES:
        return None
    body = data.rstrip().rstrip(b"\x1a\x00")
    if m := _XML_DECL_BYTES.match(body):
        body = re.sub(rb"[^\n]", b" ", m.group()) + body[m.end() :]
    # The prolog and the root's start tag, as text: markup is ASCII, and UTF-8 never puts an
    # ASCII byte inside a character, so a character offset here is a byte offset of the same text.
    try:
        head = codecs.getincrementaldecoder("utf-8")().decode(body[:_HEAD], final=len(body) <= _HEAD)
    except UnicodeDecodeError:
        return None
    check_prolog(head)  # a DTD is refused here as on the long way
    where = _root_start(head)
    if where is None:
        return None
    blanked = False
    if (d := _IOF_DEFAULT.search(head, where[0], where[1])) is not None:
        start = len(head[: d.start()].encode("utf-8"))
        end = start + len(d.group())  # the declaration is ASCII
        body = body[:start] + re.sub(rb"[^\n]", b" ", body[start:end]) + body[end:]
        blanked = True
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError:
        return None
    return _checked(root, blanked)


def _checked(root: etree._Element, blanked: bool) -> etree._Element:
    # Belt and braces, should the prolog check or a parser flag ever let a DTD through.
    info = root.getroottree().docinfo
    dtd = info.internalDTD
    if info.externalDTD is not None or (
        dtd is not None and (list(dtd.iterentities()) or list(dtd.iterelements()))
    ):
        raise IofError("the file declares a DTD, which is refused for safety", 1)
    # One walk, by lxml's own tag filter (no element walk in Python; two walks cost 35 ms at 10k
    # entries, one 20 ms), for two things:
    for el in root.iter(etree.Entity, _IOF_ANY):
        if el.tag is etree.Entity:  # lxml's own mark of an entity reference
            # Only possible beside a bare external DOCTYPE, which is never loaded: the text would silently vanish.
            raise IofError(
                f"unknown entity {el.text} (XML knows only &amp; &lt; &gt; &quot; &apos; and &#…;)",
                el.sourceline,
            )
        # Elements in the IOF namespace that the blanked declaration did not cover (a prefix, a
        # nested declaration): renamed one by one.
        el.tag = el.tag[len(IOF_NS) + 2 :]
    if blanked:
        # The root still says it is IOF XML 3.0 (readers check root.nsmap), now under a prefix.
        prefix = _IOF_PREFIX if _IOF_PREFIX not in root.nsmap else _IOF_PREFIX + "3"
        etree.cleanup_namespaces(root, top_nsmap={prefix: IOF_NS}, keep_ns_prefixes=[prefix])
    return root


def _root_start(text: str) -> tuple[int, int] | None:
    """Where the root element's start tag is (from '<' to '>'), past the prolog; None if not found."""
    i, n = 0, len(text)
    while True:
        i = text.find("<", i)
        if i < 0 or i + 1 >= n:
            return None
        if text.startswith(("<?", "<!--"), i):
            end = text.find("?>" if text[i + 1] == "?" else "-->", i)
            if end < 0:
                return None
            i = end + 2
        elif text.startswith("<!", i):  # a bare DOCTYPE (check_prolog refused any other)
            i = text.find(">", i)
            if i < 0:
                return None
        else:
            break
    quote = ""
    for j in range(i + 1, n):
        c = text[j]
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c == ">":
            return i, j
    return None


def _blank_iof_default(text: str) -> tuple[str, bool]:
    """The root's xmlns="…IOF XML 3.0…" blanked to spaces (lines and columns stay), so the parser
    reads the file's IOF elements without a namespace: renaming every element after the parse
    took longer than the parse itself."""
    where = _root_start(text)
    if where is None:
        return text, False
    m = _IOF_DEFAULT.search(text, where[0], where[1])
    if m is None:
        return text, False
    return text[: m.start()] + re.sub(r"[^\n]", " ", m.group()) + text[m.end() :], True


# ---- lenient values: whitespace forgiven; a bad value raises IofError naming its line ----------


def clean(s: str | None) -> str | None:
    # Collapses runs of whitespace too: " Bane  01\n" and "Bane 01" must match the same course.
    if s is None:
        return None
    return " ".join(s.split()) or None


def text_of(el: El | None, name: str) -> str | None:
    child = el.find(name) if el is not None else None
    return clean(child.text) if child is not None else None


def number_of(el: El, name: str) -> float | None:
    child = el.find(name)
    s = clean(child.text) if child is not None else None
    if s is None or child is None:
        return None
    try:
        return float(s.replace(",", "."))  # some programs write the decimal comma of their locale
    except ValueError:
        raise IofError(f"<{name}> is {s!r}, expected a number", child.sourceline) from None


def metres_of(el: El, name: str) -> int | None:
    v = number_of(el, name)
    return round(v) if v is not None else None


def int_value(s: str | None, what: str, line: int | None) -> int | None:
    if s is None:
        return None
    try:
        return int(float(s))
    except ValueError:
        raise IofError(f"{what} is {s!r}, expected a whole number", line) from None


def int_of(el: El, name: str) -> int | None:
    child = el.find(name)
    return (
        int_value(clean(child.text), f"<{name}>", child.sourceline) if child is not None else None
    )


def int_attr(el: El, name: str) -> int | None:
    return int_value(clean(el.get(name)), f"{name}=", el.sourceline)


def datetime_value(s: str, tz: tzinfo, line: int | None) -> datetime:
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise IofError(
            f"{s!r} is not a date and time (like 2025-06-01T10:00:00+02:00)", line
        ) from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)


def datetime_of(el: El, name: str, tz: tzinfo) -> datetime | None:
    child = el.find(name)
    s = clean(child.text) if child is not None else None
    return datetime_value(s, tz, child.sourceline) if s is not None and child is not None else None


def date_value(s: str | None, line: int | None) -> date | None:
    if s is None:
        return None
    try:
        return date.fromisoformat(s[:10])  # xsd:date may carry a zone: 1972-12-16+01:00
    except ValueError:
        raise IofError(f"{s!r} is not a date (like 2025-06-01)", line) from None


def date_and_time(el: El | None, tz: tzinfo) -> tuple[date | None, datetime | None]:
    if el is None:
        return None, None
    d = date_value(text_of(el, "Date"), el.sourceline)
    t = text_of(el, "Time")
    if d is None or t is None:
        return d, None
    return d, datetime_value(f"{d.isoformat()}T{t}", tz, el.sourceline)
