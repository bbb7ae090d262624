"""Entry tables: CSV or Excel files with a header row of column titles (orienteering.md, Imports).

Also the lenient table reading shared by the start and card file readers: decoding (UTF-8 with or
without BOM, UTF-16 with BOM, windows-1252), delimiter sniffing, header matching, line numbers.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from enum import Enum
from typing import Literal, TypeAlias, TypeVar

from t4o_tui.orienteering.times_of_day import time_of_day_on

T = TypeVar("T")


class NoValue(Enum):
    """Why a field of a row holds no value."""

    ABSENT = "absent"  # the column is not in the file: keep what is stored
    CLEAR = "clear"  # the column is there but the cell is blank: clear what is stored


ABSENT = NoValue.ABSENT
CLEAR = NoValue.CLEAR

Cell: TypeAlias = T | NoValue
"""A field read from a table: a value, CLEAR (blank cell) or ABSENT (no such column)."""

Sex = Literal["M", "F"]

MAX_PROBLEMS = 100


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file, with where it is."""

    message: str
    line: int | None = None
    column: str | None = None
    unit: str = "line"  # "row" for spreadsheets

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"{self.unit} {self.line}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class TableError(ValueError):
    """A file that cannot be read; lists every problem found (up to MAX_PROBLEMS)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = [str(p) for p in problems[:10]]
        if len(problems) > 10:
            shown.append(f"… and {len(problems) - 10} more")
        super().__init__("\n".join(shown))


class CellError(ValueError):
    """A cell that does not hold what its column needs; the message names the value."""


# --- decoding and CSV --------------------------------------------------------------------------

def decode_text(data: bytes) -> str:
    """Text from UTF-8 (with or without BOM), UTF-16 with BOM, else windows-1252 (see decode_report)."""
    return decode_report(data)[0]


def decode_report(data: bytes) -> tuple[str, str | None]:
    """decode_text's text, and a warning for a file whose lines are in two encodings.

    A file that is not UTF-8 is read line by line: a line that is UTF-8 as UTF-8, the others as
    windows-1252. So a UTF-8 file with rows added in a Windows editor keeps both kinds of names
    right (one decoding for the whole file garbled one kind: "Ã…se" for "Åse"), and the warning names
    the windows-1252 lines when some other line needed UTF-8."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export is UTF-16 with a BOM.
        return data.decode("utf-16", errors="replace"), None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    lines, legacy, multibyte = [], [], False
    for n, line in enumerate(data.split(b"\n"), 1):
        try:
            lines.append(line.decode("utf-8"))
            multibyte = multibyte or not line.isascii()
        except UnicodeDecodeError:
            legacy.append(n)
            lines.append(_windows_1252(line))
    warning = None
    if multibyte:
        shown = ", ".join(map(str, legacy[:10])) + (f" and {len(legacy) - 10} more" if len(legacy) > 10 else "")
        warning = (f"the file mixes two encodings: line{'s' if len(legacy) > 1 else ''} {shown} read as windows-1252, "
                   "the others as UTF-8")
    return "\n".join(lines), warning


def _windows_1252(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        # The five bytes cp1252 leaves undefined; ISO-8859-1 maps every byte.
        return data.decode("latin-1")


def sniff_delimiter(text: str, candidates: str = ";,\t") -> str:
    """The candidate occurring most often outside quotes in the first non-blank line; ',' if none."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = dict.fromkeys(candidates, 0)
    quoted = False
    for char in first:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(candidates, key=lambda c: counts[c])
    return best if counts[best] else ","


def read_csv_records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Non-blank records with the line each starts on; an unterminated quote is a TableError."""
    try:
        return _csv_records(text, delimiter, strict=True)
    except _TruncatedError as exc:
        raise TableError([Problem(
            "a quoted field opened here is never closed (is the file truncated?)", exc.line,
        )]) from None
    except csv.Error:
        # Strict mode also refuses stray quotes inside fields ("x"y); be lenient about those.
        try:
            return _csv_records(text, delimiter, strict=False)
        except csv.Error as exc:  # e.g. a NUL byte
            raise TableError([Problem(f"not a readable CSV file ({exc})")]) from None


class _TruncatedError(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _csv_records(text: str, delimiter: str, *, strict: bool) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    records: list[tuple[int, list[str]]] = []
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise _TruncatedError(start) from None
            raise
        if any(cell.strip() for cell in record):
            records.append((start, record))
        start = reader.line_num + 1


# --- header and raw tables ---------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A known column of the header: its index, canonical title and argument after a colon."""

    index: int
    title: str
    argument: str | None = None

    @property
    def label(self) -> str:
        return f"{self.title}:{self.argument}" if self.argument else self.title


@dataclass
class RawTable:
    """Header matched against the known titles; rows as cells (str from CSV, native from Excel)."""

    columns: list[Column]
    rows: list[tuple[int, list[object]]]
    unit: str = "line"
    warnings: list[str] = field(default_factory=list)


def split_title(text: str) -> tuple[str, str | None]:
    """'  card no : emiTag ' → ('CARD NO', 'emiTag'): case and spacing of the title ignored."""
    title, _, argument = text.partition(":")
    return " ".join(title.split()).upper(), (argument.strip() or None)


Aliases: TypeAlias = Callable[[list[str]], Mapping[str, str]]
"""Given the header's titles (as split_title gives them), other titles → known titles, or none."""


def read_table(data: bytes, known: Mapping[str, bool], aliases: Aliases | None = None,
               check_header: Callable[[RawTable], None] | None = None) -> RawTable:
    """Read CSV or .xlsx bytes; `known` maps each title to whether it takes an argument; `aliases`
    recognise the headers other programs write; `check_header` may refuse the columns (TableError)
    before the rows of a large file are read."""
    mixed: str | None = None  # a CSV's warning that its lines are in two encodings
    if data.startswith(b"PK\x03\x04"):
        header, rows, unit = _xlsx_rows(data)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TableError([Problem("old Excel .xls files are not read: save as .xlsx or CSV")])
    else:
        text, mixed = decode_report(data)
        delimiter = sniff_delimiter(text)
        first = _first_record(text, delimiter)
        if first is not None:
            # A wrong header is said at once, not after a large file has been read to its end.
            early = _match_header(first, [], "line", known, aliases)
            if check_header is not None:
                check_header(early)
        records = read_csv_records(text, delimiter)
        if not records:
            raise TableError([Problem("the file is empty")])
        as_cells: list[tuple[int, list[object]]] = [(n, list(r)) for n, r in records]
        header, rows, unit = as_cells[0], as_cells[1:], "line"
    table = _match_header(header, rows, unit, known, aliases)
    if check_header is not None:
        check_header(table)
    if mixed is not None:
        table.warnings.insert(0, mixed)
    return table


def _first_record(text: str, delimiter: str) -> tuple[int, list[object]] | None:
    """The first non-blank CSV record and its line, read without reading the rest of the text."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        for record in reader:
            if any(c.strip() for c in record):
                return reader.line_num - _record_newlines(record), list(record)
    except csv.Error:
        return None  # the full read says what is wrong, and where
    return None


def _record_newlines(record: list[str]) -> int:
    return sum(c.count("\n") for c in record)


def _match_header(
    header: tuple[int, list[object]], rows: list[tuple[int, list[object]]], unit: str,
    known: Mapping[str, bool], aliases: Aliases | None = None,
) -> RawTable:
    line, cells = header
    other = aliases([split_title("" if c is None else str(c))[0] for c in cells]) if aliases else {}
    columns: list[Column] = []
    unknown: list[str] = []
    warnings: list[str] = []
    seen: dict[tuple[str, str | None], int] = {}
    for index, cell in enumerate(cells):
        text = "" if cell is None else str(cell)
        if not text.strip():
            continue
        title, argument = split_title(text)
        if title in other and index > 0 and split_title(str(cells[index - 1] or ""))[0] in EXPORT_CLUB_NUMBERS:
            # OE layouts put the club's name right after its number; in French both it and the
            # runner's surname are titled "Nom".
            title, argument = "ORGANISATION NAME", None
        elif title not in known and title in other:
            title, argument = split_title(other[title])
        if title not in known:
            unknown.append(text.strip())
            continue
        if argument and not known[title]:
            warnings.append(f"column {title} takes no argument: ':{argument}' ignored")
            argument = None
        key = (title, argument)
        if key in seen:
            raise TableError([Problem(
                f"column {Column(index, title, argument).label} appears twice", line, unit=unit,
            )])
        seen[key] = index
        columns.append(Column(index, title, argument))
    if not columns:
        raise TableError([Problem(
            f"no known column; known: {', '.join(known)}", line, unit=unit,
        )])
    if unknown:
        more = f" and {len(unknown) - 15} more" if len(unknown) > 15 else ""  # an OE export has a hundred
        warnings.insert(0, f"unknown columns ignored: {', '.join(unknown[:15])}{more}")
    return RawTable(columns, rows, unit, warnings)


def _xlsx_rows(data: bytes) -> tuple[tuple[int, list[object]], list[tuple[int, list[object]]], str]:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - depends on the installation
        raise TableError([Problem("reading Excel files needs the openpyxl package")]) from None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged zip
        raise TableError([Problem(f"not a readable Excel .xlsx file ({exc})")]) from None
    try:
        sheet = book.worksheets[0]
        rows: list[tuple[int, list[object]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = list(values)
            if any(not _blank(c) for c in cells):
                rows.append((number, cells))
    finally:
        book.close()
    if not rows:
        raise TableError([Problem("the first sheet is empty")])
    return rows[0], rows[1:], "row"


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _text(cell: object) -> str:
    """A cell as stripped text; Excel's whole floats (1990.0) without the '.0'."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return "" if cell is None else str(cell).strip()


# --- cell parsers (raise CellError naming the value) -------------------------------------------

# With the one-letter codes OE-style exports write in their languages: H (Herren, herrar, homme), and
# D (Damen, damer), W (weiblich), K (kvinna, kvinde) for women, as the IOF XML reader takes them.
MALE = {"m", "male", "man", "men", "mann", "gutt", "h", "herr", "herre", "herren", "homme", "mand"}
FEMALE = {"f", "female", "woman", "women", "kvinne", "jente", "d", "dam", "dame", "damen", "w", "k", "kvinna", "kvinde",
          "femme"}


def parse_sex(cell: object) -> Sex:
    text = _text(cell).casefold()
    if text in MALE:
        return "M"
    if text in FEMALE:
        return "F"
    raise CellError(
        f"{_text(cell)!r} is not a sex (M, H, Male, Man, Men, Mann, Gutt / "
        "F, D, W, K, Female, Woman, Women, Kvinne, Jente)"
    )


def parse_year(cell: object, today: date | None = None) -> int:
    """1990; or 90 as the last hundred years up to `today` (timing programs export two digits)."""
    text = _text(cell)
    if isinstance(cell, datetime | date):
        return cell.year
    if re.fullmatch(r"\d{4}", text) and 1850 <= int(text) <= 2200:
        return int(text)
    if re.fullmatch(r"\d{2}", text):
        now = (today or date.today()).year
        year = now - now % 100 + int(text)
        return year if year <= now else year - 100
    raise CellError(f"{text!r} is not a year")


def parse_date(cell: object) -> date:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = _text(cell)
    # Excel dates arrive through CSV as '2025-12-31 00:00:00' now and then.
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?", text)
    if m:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    else:
        m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)  # 31.12.2025, common in Europe
        if not m:
            raise CellError(f"{text!r} is not a date (2025-12-31)")
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
    try:
        return date(y, mo, d)
    except ValueError:
        raise CellError(f"{text!r} is not a date (2025-12-31)") from None


def parse_positive(cell: object, what: str, max_digits: int = 9) -> int:
    """A whole number from 1 up to `max_digits` digits (bibs, card numbers)."""
    text = _text(cell)
    if re.fullmatch(r"\d+(?:\.0+)?", text):
        value = int(text.split(".")[0])
        if value >= 1 and len(str(value)) <= max_digits:
            return value
    raise CellError(f"{text!r} is not a {what}")


def parse_int(cell: object, what: str) -> int:
    text = _text(cell)
    if re.fullmatch(r"[+-]?\d+(?:[.,]0+)?", text):
        return int(re.split(r"[.,]", text)[0])
    raise CellError(f"{text!r} is not a {what}")


def parse_number(cell: object, what: str) -> float:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return float(cell)
    text = _text(cell).replace(" ", "")
    if re.fullmatch(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)", text):
        return float(text.replace(",", "."))
    raise CellError(f"{_text(cell)!r} is not a {what}")


def parse_start_time(cell: object, race_date: date | None, tz: tzinfo | None, first_start: float | None = None,
                     ) -> datetime:
    """'2025-12-31 23:59:59' (offset allowed) or a time on the race's date; `tz` for naive values. With
    the race's `first_start` (and `tz`), a time of day before it is the next day's soon after midnight
    (a night race's starts past midnight: timefmt.OVER_MIDNIGHT)."""
    value: datetime
    if isinstance(cell, datetime):
        value = cell
    elif isinstance(cell, time):
        value = _on_race_date(cell, race_date, str(cell), tz, first_start)
    else:
        text = _text(cell)
        if re.fullmatch(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?", text):
            parts = re.split(r"[:.,]", text)
            h, mi, s = int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else 0
            frac = parts[3] if len(parts) > 3 else ""
            try:
                clock = time(h, mi, s, int((frac + "000000")[:6]))
            except ValueError:
                raise CellError(f"{text!r} is not a start time") from None
            value = _on_race_date(clock, race_date, text, tz, first_start)
        else:
            try:
                value = datetime.fromisoformat(text.replace(",", "."))
            except ValueError:
                raise CellError(
                    f"{text!r} is not a start time (2025-12-31 23:59:59 or 23:59:59)"
                ) from None
            if len(text) <= 10:  # a bare date
                raise CellError(f"{text!r} is a date without a time of day")
    if value.tzinfo is None and tz is not None:
        value = value.replace(tzinfo=tz)
    return value


def _on_race_date(clock: time, race_date: date | None, text: str, tz: tzinfo | None, first_start: float | None,
                  ) -> datetime:
    if race_date is None:
        raise CellError(f"{text!r} is a time without a date, and the race has no date")
    if tz is None or clock.tzinfo is not None:
        return datetime.combine(race_date, clock)
    return time_of_day_on(race_date, clock, tz, first_start)


def parse_text(cell: object) -> str:
    return _text(cell)


# --- entry rows --------------------------------------------------------------------------------

ENTRY_COLUMNS: dict[str, bool] = {
    "ENTRY IDENTIFIER": True,
    "PERSON IDENTIFIER": True,
    "PERSON FIRST NAME": False,
    "PERSON LAST NAME": False,
    "PERSON NAME": False,
    "PERSON SEX": False,
    "PERSON BIRTHYEAR": False,
    "PERSON BIRTHDATE": False,
    "PERSON SEEDING": False,
    "PERSON POINTS": False,
    "PERSON BIB NO": False,
    "CLASS NAME": False,
    "ORGANISATION NAME": False,
    "CARD NO": True,
    "BIB NO": False,
    "START TIME": False,
    "COURSE NAME": False,
}
"""Known titles → whether they take an argument after a colon (identifier type, card type)."""


# The start and result lists OE (SportSoftware) and programs that copy its layout export, in
# English, German, French and Norwegian/Swedish versions: used when a header has a first-name and a
# surname column of theirs. Start and finish times are not taken (OE writes them relative to its
# zero time as often as not): start times come from the draw or a START TIME column.
EXPORT_FIRST_NAMES = {"FIRST NAME", "FIRSTNAME", "VORNAME", "PRÉNOM", "PRENOM", "FORNAVN", "FÖRNAMN", "FORNAMN"}
EXPORT_SURNAMES = {"SURNAME", "LAST NAME", "LASTNAME", "NACHNAME", "NOM", "ETTERNAVN", "EFTERNAMN", "EFTERNAVN"}
EXPORT_CLUB_NUMBERS = {"CLUB NO.", "CLUB-NR.", "N° CLUB", "Nº CLUB", "KLUBB NR.", "KLUBBNR.", "KLUB NR."}
EXPORT_ALIASES = {
    **dict.fromkeys(EXPORT_FIRST_NAMES, "PERSON FIRST NAME"),
    **dict.fromkeys(EXPORT_SURNAMES, "PERSON LAST NAME"),
    **dict.fromkeys(("STNO", "STNR", "N° DÉP.", "Nº DÉP.", "START NO", "STARTNR", "STARTNUMMER", "Nº START", "N° START", "NO START", "BIB"),
                    "BIB NO"),
    # OE2010 writes "Chipno"; the Scandinavian versions "Bricka" (SE) and "Brik" (DK).
    **dict.fromkeys(("SI CARD", "SI-CARD", "SICARD", "CHIP", "CHIPNO", "CHIPNR", "CHIP NO", "ECARD", "CARD", "BRICKA",
                     "BRIK", "PUCE"), "CARD NO"),
    **dict.fromkeys(("DATABASE ID", "DATENBANK ID", "ID ARCHIVE", "DATABAS NR.", "IDENT. BASE DE DONNÉES"),
                    "PERSON IDENTIFIER:OE"),
    **dict.fromkeys(("YB", "JG", "ÅR", "NÉ", "BIRTH YEAR", "YEAR OF BIRTH", "FØDSELSÅR", "FÖDELSEÅR"), "PERSON BIRTHYEAR"),
    **dict.fromkeys(("S", "G", "K", "SEX", "GENDER", "GESCHLECHT", "SEXE", "KJØNN", "KÖN"), "PERSON SEX"),
    # "Namn" is the club's name in the Swedish layout (the runner's are Efternamn and Förnamn).
    **dict.fromkeys(("CL.NAME", "ABK", "SHORT CLUB", "CLUB", "VEREIN", "KLUBB", "NAMN"), "ORGANISATION NAME"),
    **dict.fromkeys(("SHORT", "KURZ", "KORT", "COURT", "SHORT CAT", "CLASS", "KLASSE", "KLASS", "CATEGORY"), "CLASS NAME"),
    **dict.fromkeys(("COURSE", "BAHN"), "COURSE NAME"),
}


def export_aliases(titles: list[str]) -> Mapping[str, str]:
    """The OE-style aliases when the header looks like such an export, else none."""
    found = set(titles)
    return EXPORT_ALIASES if found & EXPORT_FIRST_NAMES and found & EXPORT_SURNAMES else {}


@dataclass
class EntryRow:
    """One row of an entry table. Each field: a value, CLEAR (blank cell) or ABSENT (no column).

    The dicts are keyed by the column's argument (None without one); a missing key means ABSENT.
    """

    line: int
    entry_identifiers: dict[str | None, str | NoValue] = field(default_factory=dict)
    person_identifiers: dict[str | None, str | NoValue] = field(default_factory=dict)
    given_name: Cell[str] = ABSENT
    family_name: Cell[str] = ABSENT
    sex: Cell[Sex] = ABSENT
    birth_year: Cell[int] = ABSENT
    birth_date: Cell[date] = ABSENT
    seeding: Cell[int] = ABSENT
    points: Cell[float] = ABSENT
    person_bib: Cell[int] = ABSENT
    class_name: Cell[str] = ABSENT
    organisation_name: Cell[str] = ABSENT
    cards: dict[str | None, int | NoValue] = field(default_factory=dict)
    bib: Cell[int] = ABSENT
    start_time: Cell[datetime] = ABSENT
    course_name: Cell[str] = ABSENT


@dataclass
class EntryTable:
    """The rows of an entry table, the known columns found, and warnings for the log."""

    rows: list[EntryRow]
    columns: list[str]
    warnings: list[str] = field(default_factory=list)


def split_name(name: str) -> tuple[str, str]:
    """(given, family): 'Family, Given' when there is a comma, else the last word is the family."""
    if "," in name:
        family, _, given = name.partition(",")
        return " ".join(given.split()), " ".join(family.split())
    words = name.split()
    if not words:
        return "", ""
    return " ".join(words[:-1]), words[-1]


def read_entry_table(
    data: bytes, *, race_date: date | None = None, tz: tzinfo | None = None, first_start: float | None = None,
) -> EntryTable:
    """Read a CSV or .xlsx entry table; raises TableError naming line and column of each problem."""
    raw = read_table(data, ENTRY_COLUMNS, export_aliases)
    titles = {c.title for c in raw.columns}
    warnings = list(raw.warnings)
    name_fills_given = "PERSON NAME" in titles and "PERSON FIRST NAME" not in titles
    name_fills_family = "PERSON NAME" in titles and "PERSON LAST NAME" not in titles
    if "PERSON NAME" in titles and not (name_fills_given or name_fills_family):
        warnings.append("PERSON NAME ignored: PERSON FIRST NAME and PERSON LAST NAME are present")

    parsers: dict[str, Callable[[object], object]] = {
        "PERSON SEX": parse_sex,
        "PERSON BIRTHYEAR": lambda c: parse_year(c, race_date),
        "PERSON BIRTHDATE": parse_date,
        "PERSON SEEDING": lambda c: parse_int(c, "seeding (a whole number)"),
        "PERSON POINTS": lambda c: parse_number(c, "number of points"),
        "PERSON BIB NO": lambda c: parse_positive(c, "bib number"),
        "BIB NO": lambda c: parse_positive(c, "bib number"),
        "CARD NO": lambda c: parse_positive(c, "card number"),
        "START TIME": lambda c: parse_start_time(c, race_date, tz, first_start),
    }
    fields = {
        "PERSON FIRST NAME": "given_name", "PERSON LAST NAME": "family_name",
        "PERSON SEX": "sex", "PERSON BIRTHYEAR": "birth_year", "PERSON BIRTHDATE": "birth_date",
        "PERSON SEEDING": "seeding", "PERSON POINTS": "points", "PERSON BIB NO": "person_bib",
        "CLASS NAME": "class_name", "ORGANISATION NAME": "organisation_name", "BIB NO": "bib",
        "START TIME": "start_time", "COURSE NAME": "course_name",
    }
    problems: list[Problem] = []
    rows: list[EntryRow] = []
    for line, cells in raw.rows:
        row = EntryRow(line)
        for column in raw.columns:
            cell = cells[column.index] if column.index < len(cells) else None
            value: object
            if _blank(cell):
                value = CLEAR
            else:
                try:
                    value = parsers.get(column.title, parse_text)(cell)
                except CellError as exc:
                    if len(problems) < MAX_PROBLEMS:
                        problems.append(Problem(str(exc), line, column.label, raw.unit))
                    continue
            if column.title == "ENTRY IDENTIFIER":
                row.entry_identifiers[column.argument] = value  # type: ignore[assignment]
            elif column.title == "PERSON IDENTIFIER":
                row.person_identifiers[column.argument] = value  # type: ignore[assignment]
            elif column.title == "CARD NO":
                row.cards[column.argument] = value  # type: ignore[assignment]
            elif column.title == "PERSON NAME":
                given, family = (CLEAR, CLEAR) if value is CLEAR else split_name(str(value))
                if name_fills_given:
                    row.given_name = given or CLEAR
                if name_fills_family:
                    row.family_name = family or CLEAR
            else:
                setattr(row, fields[column.title], value)
        if "PERSON BIRTHYEAR" not in titles and isinstance(row.birth_date, date):
            row.birth_year = row.birth_date.year
        elif isinstance(row.birth_year, int) and isinstance(row.birth_date, date) \
                and row.birth_year != row.birth_date.year:
            warnings.append(
                f"{raw.unit} {line}: PERSON BIRTHYEAR {row.birth_year} does not match "
                f"PERSON BIRTHDATE {row.birth_date.isoformat()}"
            )
        rows.append(row)
    if problems:
        raise TableError(problems)
    return EntryTable(rows, [c.label for c in raw.columns], warnings)
