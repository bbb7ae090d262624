"""A deterministic synthetic event for the demo, benches and tests: classes, courses, clubs, entries.

Everything comes from one `random.Random(seed)`: the same seed gives the same event, byte for byte
once written as IOF XML. Names and clubs are embedded (no network). Never used on a real event.

Decisions of our own:
- Class names are Norwegian (H = men, D = women); youth classes (max age N) get runners aged N-1..N,
  veteran classes (min age N) runners up to the next veteran class, H21/D21 runners aged 21-40,
  Open runners aged 10-75 of either sex. Age is the race year minus the birth year (IOF rules).
- About 85 % have an own SI card (unique 7-digit numbers, 1000000-8999999); the rest need a rental.
  `rental_cards` gives numbers from 9000001 up, so they never clash with own cards.
- Ids are Eventor-style numbers of type "Norway": persons 5-6 digits, entries 7 digits.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from t4o_tui.orienteering.iof_write import (
    write_class_list,
    write_course_data,
    write_entry_list,
)
from t4o_tui.orienteering.model import (
    Card,
    ClassCourseAssignment,
    ClassDef,
    Control,
    Course,
    CourseControl,
    CourseData,
    EntryRecord,
    EventInfo,
    Organisation,
    Person,
    Sex,
)

ID_TYPE = "Norway"
CREATOR = "t4o-tui synthetic"
DEFAULT_DATE = dt.date(2025, 6, 14)
DEFAULT_TZ = ZoneInfo("Europe/Oslo")
START_CODE, FINISH_CODE = "S1", "F1"
CONTROL_CODES = tuple(str(c) for c in range(31, 100))
OWN_CARD_SHARE = 0.85
RENTAL_BASE = 9_000_000

# ---- embedded names: Norwegian, Swedish and international --------------------------------------

_NO_MALE = """
Ola Per Lars Jan Kjell Bjørn Arne Svein Knut Geir Terje Tor Hans Odd Rune Trond Morten Erik Jon
Thomas Anders Martin Kristian Magnus Andreas Jonas Sondre Eirik Henrik Sindre Håkon Vegard Espen
Even Øyvind Ståle Stian Torbjørn Audun Eivind Halvor Gaute Asbjørn Sigurd Ivar Olav Leif Harald
Gunnar Einar Helge Steinar Vidar Frode Roar Dag Atle Tore Gard Jørgen Sverre Torgeir Aksel Emil
Filip Jakob Johannes Mathias Tobias Elias Noah Isak Sander Aleksander Kasper Oskar Mikkel Ludvig
Markus Adrian Sebastian Theodor Olai Even Vebjørn Trygve Eskil Brage Snorre Gjermund Amund Tarjei
Kristoffer Fredrik Petter Simen Joakim Ole Nils Steffen Ørjan Åsmund Arvid Bjarne Egil Finn Rolf
Ragnar Sigmund Torstein Kåre Reidar Jostein Lasse Pål Bård Ketil Magne Ove Njål Aslak Endre
"""
_NO_FEMALE = """
Kari Anne Inger Liv Ingrid Marit Solveig Randi Berit Astrid Gunn Hilde Tone Heidi Silje Marte
Ingvild Ida Thea Emma Nora Sara Maja Ella Sofie Hanna Emilie Julie Mari Kristine Karoline Camilla
Guro Ragnhild Synnøve Åse Sigrid Tuva Hedda Vilde Frida Oda Live Tiril Eline Ane Siri Kaja Mia
Ane Helene Linn Marianne Elisabeth Trine Tove Bente Wenche Grete Eva Lene Mona Nina Elin Ellen
Gro Torunn Jorunn Bodil Aud Ragnfrid Unni Eli Ingeborg Margit Signe Borghild Turid Vigdis Oddny
Hege Kristin Ann Ingun Torild Åshild Malin Andrea Amalie Aurora Selma Ingeborg Iben Idun Eira
Ylva Alma Leah Nathalie Martine Marthe Birgitte Janne Hanne Stine Tonje Maren Sunniva Veslemøy
"""
_SE_MALE = """
Sven Lars Johan Karl Erik Anders Per Nils Gustav Olof Magnus Mattias Fredrik Daniel Jonas Henrik
Oskar Axel Viktor Hugo Albin Elias Linus Gustaf Anton Isak Melker Viggo Hampus Jesper Linus
Mikael Stefan Peter Göran Bengt Åke Lennart Ulf Kjell Leif Torbjörn Mats Håkan Gösta Ingvar Rasmus
Emil Filip Jakob Ludvig Love Sixten Wilmer Otto Tage Elis Arvid Folke Gunnar Ragnar
"""
_SE_FEMALE = """
Anna Eva Maria Karin Kristina Lena Sara Emma Elin Ida Johanna Sofia Linnea Hanna Alva Elsa Maja
Wilma Saga Ebba Agnes Astrid Alice Ella Ingrid Tove Annika Ulrika Malin Jenny Helena Cecilia
Åsa Birgitta Margareta Gunilla Ingela Lotta Frida Matilda Moa Tilda Klara Vera Signe Tyra Stina
Amanda Louise Lovisa Hedvig Tuva Minna Greta Ronja Felicia Therese Josefin Camilla
"""
_INT_MALE = """
Thomas Daniel Matthias Simon Florian Jan Pavel Tomas Jussi Mikko Ville Antti Kasper Rasmus Søren
Mads Jonas Lukas Marc Pierre Lucas Thierry David James Oliver Harry William George Jack Ralph
Kiril Yannick Fabian Tim Gernot Baptiste Frédéric Wojciech Piotr Ferenc
"""
_INT_FEMALE = """
Anna Judith Sabine Lena Simona Natalia Marika Minna Venla Sanna Kirsi Ida Maja Signe Cecilie Louise
Julia Laura Marie Sophie Clara Catherine Emily Charlotte Amelia Jessica Lucy Hollie Megan Isia
Elena Tereza Vendula Katharina Sarina Elise Paula Zsófia Ewa Agata
"""
_NO_FAMILY = """
Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Johnsen Pettersen
Eriksen Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl Jørgensen Halvorsen Henriksen Lund
Sørensen Jakobsen Moen Gundersen Iversen Strand Solberg Svendsen Eide Knutsen Martinsen Paulsen
Bakken Kristoffersen Mathisen Lie Amundsen Nguyen Rasmussen Ali Lunde Solheim Berge Moe Nygård
Bakke Kristensen Fredriksen Holm Lien Hauge Christensen Andresen Nielsen Knudsen Evensen Sæther
Aas Myhre Hanssen Ahmed Haugland Thomassen Sivertsen Simonsen Danielsen Berntsen Sandvik Rønning
Arnesen Antonsen Næss Vik Haug Ellingsen Thorsen Edvardsen Birkeland Isaksen Gulbrandsen Ruud
Aasen Strøm Myklebust Tangen Ødegård Eliassen Helland Bøe Jenssen Aune Mikkelsen Tveit Brekke
Abrahamsen Madsen Bjørnstad Nordby Fjeld Skjelbred Lyngstad Tønnessen Gjerde Fossum Huseby Hovland
Nordmann Grønli Øvergaard Rustad Sletten Engebretsen Kvam Flaten Hegge Østby Løvaas Bråten Kleven
Vatne Rognstad Tjernshaugen Mørk Sundby Hovde Skogen Brenden Steen Dæhlie Bjørgen Gjelsvik
Kolstad Tveiten Hole Bergersen Valla Helgesen Lillestøl Sørli Nesheim Furuseth Heggelund Mæland
Breivik Aasheim Lindstad Østli Øien Kvalheim Alme Roalkvam Rekdal Grimstad Haraldseth Wiik
"""
_SE_FAMILY = """
Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson Pettersson
Jonsson Jansson Hansson Bengtsson Jönsson Lindberg Jakobsson Magnusson Olofsson Lindström Lindqvist
Lindgren Axelsson Berg Bergström Lundberg Lind Lundgren Lundqvist Mattsson Berglund Fredriksson
Sandberg Henriksson Forsberg Sjöberg Wallin Engström Eklund Danielsson Lundin Håkansson Björk
Bergman Gunnarsson Holm Wikström Samuelsson Isaksson Fransson Bergqvist Nyström Holmberg Arvidsson
Löfgren Söderberg Nyberg Blomqvist Claesson Nordström Mårtensson Lundström Viklund Björklund
Eliasson Pålsson Berggren Sandström Lund Nordin Ström Åberg Hermansson Ekström Holmgren Sundberg
Hedlund Dahlberg Hellström Sjögren Abrahamsson Falk Martinsson Öberg Andreasson Strömberg Månsson
Alm Hedberg Åkesson Nordqvist Ljung Ek Sundqvist Backström Franzén Hultgren Wennerholm Öhman
"""
_INT_FAMILY = """
Smith Jones Williams Brown Taylor Wilson Evans Thomas Roberts Walker Müller Schmidt Schneider Fischer
Weber Meyer Wagner Becker Hoffmann Schulz Novák Svoboda Dvořák Černý Procházka Kučera Virtanen
Korhonen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen Koskinen Järvinen Jensen Nielsen
Hansen Pedersen Rasmussen Christensen Dubois Martin Bernard Moreau Laurent Lefebvre Kowalski
Nowak Wiśniewski Nagy Kovács Tóth Rossi Bianchi Hubmann Merz Gueorgiou Hertner Rollier
"""


def _names(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(text.split()))  # unique, in the order written


# (male given, female given, family) per name pool
_POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "NOR": (_names(_NO_MALE), _names(_NO_FEMALE), _names(_NO_FAMILY)),
    "SWE": (_names(_SE_MALE), _names(_SE_FEMALE), _names(_SE_FAMILY)),
    "INT": (_names(_INT_MALE), _names(_INT_FEMALE), _names(_INT_FAMILY)),
}
_OWN_POOL_SHARE = 0.92  # a runner's name from the club's country; the rest international

# (name, short name, country)
_CLUBS: tuple[tuple[str, str, str], ...] = (
    ("Kristiansand OK", "KOK", "NOR"),
    ("IL Tyrving", "Tyrving", "NOR"),
    ("Halden SK", "HSK", "NOR"),
    ("Bækkelagets SK", "BSK", "NOR"),
    ("Lillomarka OL", "LOL", "NOR"),
    ("Nydalens SK", "NSK", "NOR"),
    ("Fossum IF", "Fossum", "NOR"),
    ("Wing OK", "Wing", "NOR"),
    ("Kolbotn IL", "Kolbotn", "NOR"),
    ("NTNUI", "NTNUI", "NOR"),
    ("Asker SK", "Asker", "NOR"),
    ("Bækkelaget OK", "BOK", "NOR"),
    ("Heming OL", "Heming", "NOR"),
    ("Ski IL", "Ski", "NOR"),
    ("Stokke IL", "Stokke", "NOR"),
    ("OK Moss", "Moss", "NOR"),
    ("Fredrikstad SK", "FSK", "NOR"),
    ("Sandnes IL", "Sandnes", "NOR"),
    ("Bergens TF", "BTF", "NOR"),
    ("Fana IL", "Fana", "NOR"),
    ("Tromsø Skiklubb Orientering", "TSK", "NOR"),
    ("Trondhjems OL", "TOL", "NOR"),
    ("Byåsen IL", "Byåsen", "NOR"),
    ("Gjøvik OK", "GOK", "NOR"),
    ("Hamar OK", "HOK", "NOR"),
    ("Lillehammer OK", "LOK", "NOR"),
    ("Ringerike OL", "ROL", "NOR"),
    ("Konnerud IL", "Konnerud", "NOR"),
    ("Tønsberg OK", "TOK", "NOR"),
    ("Larvik OK", "Larvik", "NOR"),
    ("Grimstad OK", "Grimstad", "NOR"),
    ("Arendal OK", "AOK", "NOR"),
    ("Vågsbygd IL", "Vågsbygd", "NOR"),
    ("Stavanger OK", "SOK", "NOR"),
    ("Haugesund IL", "HIL", "NOR"),
    ("Kristiansund OK", "KrOK", "NOR"),
    ("Ålesund OK", "ÅOK", "NOR"),
    ("Molde OK", "Molde", "NOR"),
    ("Bodø OK", "Bodø", "NOR"),
    ("Raumar OL", "Raumar", "NOR"),
    ("OK Linné", "Linné", "SWE"),
    ("IFK Göteborg", "IFKG", "SWE"),
    ("Södertälje-Nykvarn Orientering", "SNO", "SWE"),
    ("OK Ravinen", "Ravinen", "SWE"),
    ("Göteborg-Majorna OK", "GMOK", "SWE"),
    ("IFK Lidingö SOK", "Lidingö", "SWE"),
    ("OK Hällen", "Hällen", "SWE"),
    ("Tullinge SK", "Tullinge", "SWE"),
    ("Järla Orientering", "Järla", "SWE"),
    ("Stora Tuna OK", "STOK", "SWE"),
    ("Kalevan Rasti", "KR", "FIN"),
    ("Angelniemen Ankkuri", "AngA", "FIN"),
    ("OK Pan Århus", "Pan", "DEN"),
    ("Tisvilde Hegn OK", "THOK", "DEN"),
)

_EVENT_NAMES = (
    "Vårløpet",
    "Kretsløpet",
    "Sommercupen",
    "Skogsløpet",
    "Mellomdistansen",
    "Klubbmesterskapet",
    "Høstløpet",
    "Nattløpet",
)


# ---- classes and courses -----------------------------------------------------------------------


@dataclass(frozen=True)
class _ClassSpec:
    name: str
    sex: Sex | None
    min_age: int | None
    max_age: int | None
    ages: tuple[int, int]  # the runners' ages generated: lowest, highest
    weight: float  # share of the entries
    course: str


# Norwegian class names; weights roughly as at a Norwegian national event.
_CLASS_SPECS: tuple[_ClassSpec, ...] = (
    _ClassSpec("H21", "M", 21, None, (21, 40), 12, "A"),
    _ClassSpec("D21", "F", 21, None, (21, 40), 8, "B"),
    _ClassSpec("H18", "M", None, 18, (17, 18), 4, "B"),
    _ClassSpec("H35", "M", 35, None, (35, 49), 7, "B"),
    _ClassSpec("D35", "F", 35, None, (35, 49), 5, "C"),
    _ClassSpec("H50", "M", 50, None, (50, 64), 8, "C"),
    _ClassSpec("D50", "F", 50, None, (50, 64), 5, "D"),
    _ClassSpec("H16", "M", None, 16, (15, 16), 4, "C"),
    _ClassSpec("D16", "F", None, 16, (15, 16), 4, "D"),
    _ClassSpec("H65", "M", 65, None, (65, 80), 5, "D"),
    _ClassSpec("D65", "F", 65, None, (65, 80), 3, "E"),
    _ClassSpec("H14", "M", None, 14, (13, 14), 3, "E"),
    _ClassSpec("D14", "F", None, 14, (13, 14), 3, "E"),
    _ClassSpec("H12", "M", None, 12, (11, 12), 3, "F"),
    _ClassSpec("D12", "F", None, 12, (11, 12), 3, "F"),
    _ClassSpec("Open", None, None, None, (10, 75), 5, "G"),
)
DEFAULT_CLASSES = tuple(c.name for c in _CLASS_SPECS)

# course name → (shortest, longest) length in metres, mean leg length
_COURSE_SPECS: dict[str, tuple[int, int, int]] = {
    "A": (10_500, 12_000, 520),
    "B": (7_000, 8_200, 450),
    "C": (5_500, 6_500, 400),
    "D": (4_300, 5_100, 360),
    "E": (3_300, 4_000, 300),
    "F": (2_000, 2_600, 220),
    "G": (2_600, 3_300, 260),
    "H": (3_000, 3_800, 280),  # for classes the catalogue does not know
}


def _spec_for(name: str) -> _ClassSpec:
    """A known class, else one parsed from an H/D/M/W + age name, else an open class."""
    for spec in _CLASS_SPECS:
        if spec.name == name:
            return spec
    head, digits = name[:1].upper(), name[1:]
    if head in "HDMW" and digits.isdigit() and 8 <= int(digits) <= 95:
        sex: Sex = "M" if head in "HM" else "F"
        age = int(digits)
        if age < 21:
            return _ClassSpec(name, sex, None, age, (age - 1, age), 3, "E" if age <= 14 else "C")
        if age == 21:
            return _ClassSpec(name, sex, 21, None, (21, 40), 8, "A" if sex == "M" else "B")
        return _ClassSpec(name, sex, age, None, (age, age + 4), 3, "D" if age >= 60 else "C")
    return _ClassSpec(name, None, None, None, (10, 75), 3, "H")


# ---- the event -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticEvent:
    """A generated event: what an entry system and a course setter would deliver before race day."""

    seed: int
    event: EventInfo
    classes: tuple[ClassDef, ...]
    controls: tuple[Control, ...]
    courses: tuple[Course, ...]
    assignments: tuple[ClassCourseAssignment, ...]
    organisations: tuple[Organisation, ...]
    entries: tuple[EntryRecord, ...]
    tz: dt.tzinfo

    @property
    def race_year(self) -> int:
        assert self.event.date is not None
        return self.event.date.year

    def course_data(self) -> CourseData:
        """The course setter's file as data: controls, courses, class → course."""
        return CourseData(
            event=self.event,
            controls=self.controls,
            courses=self.courses,
            assignments=self.assignments,
            creator=CREATOR,
        )

    def course_for_class(self) -> dict[str, Course]:
        """Class name → its course."""
        by_name = {c.name: c for c in self.courses}
        return {a.class_name: by_name[a.course_name or ""] for a in self.assignments}

    def class_by_name(self) -> dict[str, ClassDef]:
        return {c.name: c for c in self.classes}


def _course(rng: random.Random, name: str) -> Course:
    low, high, mean_leg = _COURSE_SPECS[name]
    length = round(rng.randint(low, high), -1)
    n = max(4, round(length / mean_leg) - 1)
    codes = rng.sample(CONTROL_CODES, n)
    finish_leg = rng.randint(80, 200)  # the run-in: short, the same for everyone
    weights = [rng.uniform(0.4, 1.6) for _ in range(n)]
    scale = (length - finish_leg) / sum(weights)
    legs = [max(40, round(w * scale)) for w in weights]
    legs[-1] += length - finish_leg - sum(legs)  # leg lengths add up to the course length exactly
    if legs[-1] < 40:
        biggest = legs.index(max(legs))
        legs[biggest] -= 40 - legs[-1]
        legs[-1] = 40
    climb = round(length * rng.uniform(0.018, 0.04) / 5) * 5
    controls = (
        CourseControl(START_CODE, "Start"),
        *(CourseControl(c, "Control", leg) for c, leg in zip(codes, legs, strict=True)),
        CourseControl(FINISH_CODE, "Finish", finish_leg),
    )
    return Course(name=name, length=length, climb=climb, controls=controls, ids={"": name})


def _age_ok(spec: _ClassSpec, age: int) -> bool:
    return (spec.min_age is None or age >= spec.min_age) and (
        spec.max_age is None or age <= spec.max_age
    )


class _Ids:
    """Fresh Eventor-style ids and card numbers, never one already used."""

    def __init__(
        self,
        rng: random.Random,
        persons: set[str] | None = None,
        entries: set[str] | None = None,
        cards: set[str] | None = None,
    ) -> None:
        self.rng = rng
        self.persons = persons or set()
        self.entries = entries or set()
        self.cards = cards or set()

    def _fresh(self, used: set[str], low: int, high: int, n: int) -> list[str]:
        # Sampling a range is O(n), so 10 000 ids cost next to nothing; retries only skip used ones.
        out: list[str] = []
        while len(out) < n:
            for v in self.rng.sample(range(low, high), n - len(out)):
                s = str(v)
                if s not in used:
                    used.add(s)
                    out.append(s)
        return out

    def persons_(self, n: int) -> list[str]:
        return self._fresh(self.persons, 10_000, 999_999, n)

    def entries_(self, n: int) -> list[str]:
        return self._fresh(self.entries, 1_000_000, 9_999_999, n)

    def cards_(self, n: int) -> list[str]:
        return self._fresh(self.cards, 1_000_000, RENTAL_BASE, n)


def _entries(
    rng: random.Random,
    n: int,
    specs: Sequence[_ClassSpec],
    clubs: Sequence[Organisation],
    race_year: int,
    ids: _Ids,
) -> list[EntryRecord]:
    if n <= 0:
        return []
    picks = rng.choices(range(len(specs)), weights=[s.weight for s in specs], k=n)
    # Club sizes vary a lot in reality: a few big clubs, many small ones.
    club_weights = [1.0 / (1 + i * 0.15) for i in range(len(clubs))]
    club_picks = rng.choices(range(len(clubs)), weights=club_weights, k=n)
    person_ids = ids.persons_(n)
    entry_ids = ids.entries_(n)
    has_card = [rng.random() < OWN_CARD_SHARE for _ in range(n)]
    card_numbers = iter(ids.cards_(sum(has_card)))
    out: list[EntryRecord] = []
    for i in range(n):
        spec = specs[picks[i]]
        club = clubs[club_picks[i]]
        sex: Sex = spec.sex if spec.sex is not None else rng.choice(("M", "F"))
        pool = (club.country or "INT") if rng.random() < _OWN_POOL_SHARE else "INT"
        males, females, families = _POOLS.get(pool, _POOLS["INT"])
        age = rng.randint(*spec.ages)
        if not _age_ok(spec, age):
            age = spec.min_age or spec.max_age or age
        birth = dt.date(race_year - age, 1, 1) + dt.timedelta(days=rng.randrange(365))
        person = Person(
            given=rng.choice(males if sex == "M" else females),
            family=rng.choice(families),
            sex=sex,
            birth_date=birth,
            birth_year=birth.year,
            nationality=club.country,
            ids={ID_TYPE: person_ids[i]},
        )
        cards = (Card(next(card_numbers), "SI"),) if has_card[i] else ()
        out.append(
            EntryRecord(
                person=person,
                organisation=club,
                class_names=(spec.name,),
                cards=cards,
                entry_id=entry_ids[i],
            )
        )
    return out


def make_event(
    seed: int = 1,
    entries: int = 300,
    classes: int | Sequence[str] | None = None,
    date: dt.date | None = None,
    first_start: dt.datetime | None = None,
    tz: dt.tzinfo = DEFAULT_TZ,
    clubs: int | None = None,
) -> SyntheticEvent:
    """A synthetic event; `classes` is a count (the first of the catalogue) or class names.

    `first_start` must be timezone-aware; it defaults to 10:00 on `date` in `tz`.
    """
    if entries < 0:
        raise ValueError(f"entries is {entries}: expected 0 or more")
    if first_start is not None and first_start.utcoffset() is None:
        raise ValueError("first_start must be timezone-aware")
    if date is None:
        date = first_start.date() if first_start is not None else DEFAULT_DATE
    if first_start is None:
        first_start = dt.datetime.combine(date, dt.time(10, 0), tzinfo=tz)
    if classes is None:
        names: Sequence[str] = DEFAULT_CLASSES
    elif isinstance(classes, int):
        if not 1 <= classes <= len(_CLASS_SPECS):
            raise ValueError(f"classes is {classes}: between 1 and {len(_CLASS_SPECS)}")
        names = DEFAULT_CLASSES[:classes]
    else:
        names = list(dict.fromkeys(classes))
        if not names:
            raise ValueError("no class names given")
    specs = [_spec_for(n) for n in names]
    rng = random.Random(seed)

    event = EventInfo(
        name=f"{rng.choice(_EVENT_NAMES)} {date.year}",
        date=date,
        first_start=first_start,
        ids={ID_TYPE: str(rng.randint(15_000, 21_999))},
    )
    class_ids = rng.sample(range(100_000, 999_999), len(specs))
    class_defs = tuple(
        ClassDef(
            name=s.name,
            ids={ID_TYPE: str(cid)},
            sex=s.sex,
            min_age=s.min_age,
            max_age=s.max_age,
        )
        for s, cid in zip(specs, class_ids, strict=True)
    )
    course_names = sorted({s.course for s in specs})
    courses = tuple(_course(rng, name) for name in course_names)
    used = sorted({cc.code for c in courses for cc in c.controls if cc.type == "Control"}, key=int)
    controls = (
        Control(START_CODE, "Start"),
        *(Control(code) for code in used),
        Control(FINISH_CODE, "Finish"),
    )
    assignments = tuple(
        ClassCourseAssignment(class_name=s.name, course_name=s.course, class_ids=cd.ids)
        for s, cd in zip(specs, class_defs, strict=True)
    )
    n_clubs = clubs if clubs is not None else min(len(_CLUBS), max(30, 30 + entries // 100))
    n_clubs = max(1, min(n_clubs, len(_CLUBS)))
    club_rows = rng.sample(_CLUBS, n_clubs)
    club_ids = rng.sample(range(1, 999), n_clubs)
    organisations = tuple(
        Organisation(name=n, short_name=short, country=country, ids={ID_TYPE: str(cid)})
        for (n, short, country), cid in zip(club_rows, club_ids, strict=True)
    )
    records = _entries(rng, entries, specs, organisations, date.year, _Ids(rng))
    return SyntheticEvent(
        seed=seed,
        event=event,
        classes=class_defs,
        controls=controls,
        courses=courses,
        assignments=assignments,
        organisations=organisations,
        entries=tuple(records),
        tz=tz,
    )


def _create_time(ev: SyntheticEvent) -> dt.datetime:
    """A fixed creation time a week before the race, so the same seed writes the same bytes."""
    assert ev.event.first_start is not None
    return (ev.event.first_start - dt.timedelta(days=7)).replace(microsecond=0)


def entry_list_xml(ev: SyntheticEvent) -> bytes:
    """The entries as an IOF XML 3.0 EntryList, with the class definitions in the Event."""
    return write_entry_list(
        ev.event, ev.entries, creator=CREATOR, create_time=_create_time(ev), classes=ev.classes
    )


def class_list_xml(ev: SyntheticEvent) -> bytes:
    """The classes as an IOF XML 3.0 ClassList."""
    return write_class_list(ev.classes, creator=CREATOR, create_time=_create_time(ev))


def course_data_xml(ev: SyntheticEvent) -> bytes:
    """Controls, courses and class → course assignments as an IOF XML 3.0 CourseData."""
    return write_course_data(ev.course_data(), creator=CREATOR, create_time=_create_time(ev))


def make_late_entries(ev: SyntheticEvent, n: int, seed: int = 1) -> tuple[EntryRecord, ...]:
    """`n` more entries in the event's classes and clubs: new person and entry ids, new card numbers."""
    rng = random.Random(f"late:{ev.seed}:{seed}")  # independent of the event's own stream
    ids = _Ids(
        rng,
        persons={e.person.ids.get(ID_TYPE, "") for e in ev.entries},
        entries={e.entry_id or "" for e in ev.entries},
        cards={c.number for e in ev.entries for c in e.cards},
    )
    specs = [_spec_for(c.name) for c in ev.classes]
    return tuple(_entries(rng, n, specs, ev.organisations, ev.race_year, ids))


def late_entries(ev: SyntheticEvent, n: int, seed: int = 1) -> bytes:
    """An EntryList of `n` late entries (see `make_late_entries`), for a late-entries import."""
    create_time = _create_time(ev) + dt.timedelta(days=6)  # after the main entry list
    return write_entry_list(
        ev.event,
        make_late_entries(ev, n, seed),
        creator=CREATOR,
        create_time=create_time,
        classes=ev.classes,
    )


def rental_cards(n: int) -> tuple[str, ...]:
    """`n` rental card numbers (9000001 up): never an own card of a synthetic entry."""
    return tuple(str(RENTAL_BASE + i) for i in range(1, n + 1))
