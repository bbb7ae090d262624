"""Typed settings schemas for jobs: parse what an admin typed, check stored values, say what is wrong."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from t4o_tui.timefmt import format_duration_text, parse_duration_text

TYPES = ("text", "integer", "number", "boolean", "choice", "multi-choice", "file", "datetime", "duration")

_TRUE = {"1", "true", "yes", "y", "on", "ja", "j"}
_FALSE = {"0", "false", "no", "n", "off", "nei"}


class SettingError(ValueError):
    """One setting is wrong: `key` names it, the message says why in the admin's words."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"setting '{key}': {message}")
        self.key = key
        self.message = message


def parse_datetime_text(text: str) -> datetime:
    """An aware datetime from ISO 8601; a time without offset is taken as UTC."""
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    dt = datetime.fromisoformat(t)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Setting:
    """One field of a job's settings schema."""

    key: str
    type: str
    label: str
    help: str = ""
    required: bool = False
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"unknown setting type {self.type!r}")

    # -- from text (CLI, forms) ---------------------------------------------------------------
    def parse(self, text: str) -> Any:
        """Turn typed text into a value of this setting's type; SettingError when it cannot."""
        raw = text.strip()
        if raw == "":
            if self.required:
                raise SettingError(self.key, "is required")
            return None
        try:
            value = _PARSE.get(self.type, _as_typed)(raw)
        except ValueError as exc:
            raise SettingError(self.key, str(exc)) from None
        return self.check(value)

    # -- stored values --------------------------------------------------------------------------
    def check(self, value: Any) -> Any:
        """Check a stored value (JSON types); return it normalised, or raise SettingError."""
        if value is None or value == "" or value == []:
            if self.required:
                raise SettingError(self.key, "is required")
            return None
        try:
            value = _CHECK[self.type](self, value)
        except ValueError as exc:
            raise SettingError(self.key, str(exc)) from None
        shown = _SHOWN.get(self.type)
        if shown is not None:
            if self.min is not None and value < self.min:
                raise SettingError(self.key, f"must be at least {shown(self.min)} (got {shown(value)})")
            if self.max is not None and value > self.max:
                raise SettingError(self.key, f"must be at most {shown(self.max)} (got {shown(value)})")
        return value

    def format(self, value: Any) -> str:
        """The value as an admin would type it."""
        if value is None:
            return ""
        if self.type == "boolean":
            return "true" if value else "false"
        if self.type == "duration":
            return format_duration_text(float(value))
        if self.type == "multi-choice":
            return ",".join(value)
        if self.type == "number":
            return f"{value:g}"
        return str(value)

    def describe_type(self) -> str:
        parts = [self.type]
        if self.type == "choice" or (self.type == "multi-choice" and self.choices):
            parts.append("(" + "|".join(c[0] for c in self.choices) + ")")
        if self.min is not None or self.max is not None:
            lo = "" if self.min is None else self.format(self.min)
            hi = "" if self.max is None else self.format(self.max)
            parts.append(f"[{lo}..{hi}]")
        if self.required:
            parts.append("required")
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "type": self.type,
            "label": self.label,
            "help": self.help,
            "required": self.required,
            "default": self.default,
            "min": self.min,
            "max": self.max,
            "choices": [list(c) for c in self.choices],
        }


# -- per type: typed text to a value (a ValueError's message is the admin's error) ---------------
def _as_typed(raw: str) -> str:
    return raw


def _parse_integer(raw: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", raw):
        raise ValueError(f"'{raw}' is not a whole number")
    return int(raw)


def _parse_number(raw: str) -> float:
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise ValueError(f"'{raw}' is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"'{raw}' is not a finite number")
    return value


def _parse_boolean(raw: str) -> bool:
    low = raw.lower()
    if low not in _TRUE | _FALSE:
        raise ValueError(f"'{raw}' is not yes/no (use true or false)")
    return low in _TRUE


# text and choice keep the text as typed; check() then holds a choice to its list.
_PARSE: dict[str, Callable[[str], Any]] = {
    "integer": _parse_integer,
    "number": _parse_number,
    "boolean": _parse_boolean,
    "multi-choice": lambda raw: [v.strip() for v in raw.split(",") if v.strip()],
    "duration": parse_duration_text,
    "datetime": lambda raw: parse_datetime_text(raw).isoformat(),
    "file": lambda raw: str(Path(raw).expanduser().resolve()),
}


# -- per type: a stored (JSON) value checked and normalised ---------------------------------------
def _check_boolean(_s: Setting, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _check_integer(_s: Setting, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError("must be a whole number")
    return value


def _real(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _check_number(_s: Setting, value: Any) -> float:
    if not _real(value):
        raise ValueError("must be a number")
    return float(value)


def _check_duration(_s: Setting, value: Any) -> float:
    if not _real(value):
        raise ValueError("must be a duration in seconds")
    return float(value)


def _check_choice(s: Setting, value: Any) -> Any:
    allowed = [c[0] for c in s.choices]
    if value not in allowed:
        raise ValueError(f"'{value}' is not one of: {', '.join(allowed)}")
    return value


def _check_multi_choice(s: Setting, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of choices")
    allowed = [c[0] for c in s.choices]
    bad = [v for v in value if v not in allowed] if allowed else []
    if bad:
        raise ValueError(f"'{bad[0]}' is not one of: {', '.join(allowed)}")
    return value


def _check_datetime(_s: Setting, value: Any) -> str:
    try:
        return parse_datetime_text(str(value)).isoformat()
    except ValueError:
        raise ValueError(f"'{value}' is not a date and time (ISO 8601, e.g. 2026-06-01T10:00:00+02:00)") from None


def _check_text(_s: Setting, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value


_CHECK: dict[str, Callable[[Setting, Any], Any]] = {
    "text": _check_text,
    "integer": _check_integer,
    "number": _check_number,
    "boolean": _check_boolean,
    "choice": _check_choice,
    "multi-choice": _check_multi_choice,
    "file": _check_text,
    "datetime": _check_datetime,
    "duration": _check_duration,
}
assert set(_CHECK) == set(TYPES), "every setting type needs a check"

# The types with a range (min/max), and how a bound is shown in the error.
_SHOWN: dict[str, Callable[[Any], str]] = {
    "integer": lambda v: f"{v:g}",
    "number": lambda v: f"{v:g}",
    "duration": format_duration_text,
}


@dataclass(frozen=True)
class Schema:
    """The ordered settings of a job."""

    fields: tuple[Setting, ...] = field(default_factory=tuple)

    def __iter__(self) -> Iterable[Setting]:  # type: ignore[override]
        return iter(self.fields)

    def get(self, key: str) -> Setting | None:
        return next((f for f in self.fields if f.key == key), None)

    def defaults(self) -> dict[str, Any]:
        return {f.key: f.default for f in self.fields if f.default is not None}

    def parse_assignments(self, pairs: Iterable[str]) -> dict[str, Any]:
        """`key=value` strings (CLI) to typed values; SettingError on the first bad one."""
        out: dict[str, Any] = {}
        for pair in pairs:
            if "=" not in pair:
                raise SettingError(pair, "expected key=value")
            key, _, text = pair.partition("=")
            key = key.strip()
            f = self.get(key)
            if f is None:
                raise SettingError(key, f"unknown setting (known: {', '.join(x.key for x in self.fields) or 'none'})")
            out[key] = f.parse(text)
        return out

    def validate(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[SettingError]]:
        """Defaults filled in and every value checked; returns (clean, errors) with all errors."""
        errors: list[SettingError] = []
        clean: dict[str, Any] = {}
        for key in values:
            if self.get(key) is None:
                errors.append(SettingError(key, f"unknown setting (known: {', '.join(x.key for x in self.fields) or 'none'})"))
        for f in self.fields:
            raw = values.get(f.key, f.default)
            try:
                v = f.check(raw)
            except SettingError as exc:
                errors.append(exc)
                continue
            if v is not None:
                clean[f.key] = v
        return clean, errors


SECRET_MASK = "********"


def is_secret(key: str) -> bool:
    """A setting that must not be shown: a password (e.g. live results' service password)."""
    return "password" in key or key.endswith(("_secret", "_token"))


def masked(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as listings and `task show` print them: secrets replaced by a mask."""
    return {k: (SECRET_MASK if is_secret(k) and v else v) for k, v in settings.items()}
