"""Typed settings schemas for jobs: parse what an admin typed, check stored values, say what is wrong."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
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
            if self.type == "integer":
                if not re.fullmatch(r"[+-]?\d+", raw):
                    raise ValueError(f"'{raw}' is not a whole number")
                value: Any = int(raw)
            elif self.type == "number":
                try:
                    value = float(raw.replace(",", "."))
                except ValueError:
                    raise ValueError(f"'{raw}' is not a number") from None
                if not math.isfinite(value):
                    raise ValueError(f"'{raw}' is not a finite number")
            elif self.type == "boolean":
                low = raw.lower()
                if low not in _TRUE | _FALSE:
                    raise ValueError(f"'{raw}' is not yes/no (use true or false)")
                value = low in _TRUE
            elif self.type == "multi-choice":
                value = [v.strip() for v in raw.split(",") if v.strip()]
            elif self.type == "duration":
                value = parse_duration_text(raw)
            elif self.type == "datetime":
                value = parse_datetime_text(raw).isoformat()
            elif self.type == "file":
                value = str(Path(raw).expanduser().resolve())
            else:
                value = raw
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
        t = self.type
        if t == "boolean":
            if not isinstance(value, bool):
                raise SettingError(self.key, "must be true or false")
        elif t == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise SettingError(self.key, "must be a whole number")
        elif t in ("number", "duration"):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise SettingError(self.key, "must be a number" if t == "number" else "must be a duration in seconds")
            value = float(value)
        elif t == "choice":
            allowed = [c[0] for c in self.choices]
            if value not in allowed:
                raise SettingError(self.key, f"'{value}' is not one of: {', '.join(allowed)}")
        elif t == "multi-choice":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SettingError(self.key, "must be a list of choices")
            allowed = [c[0] for c in self.choices]
            if allowed:
                bad = [v for v in value if v not in allowed]
                if bad:
                    raise SettingError(self.key, f"'{bad[0]}' is not one of: {', '.join(allowed)}")
        elif t == "datetime":
            try:
                value = parse_datetime_text(str(value)).isoformat()
            except ValueError:
                raise SettingError(self.key, f"'{value}' is not a date and time (ISO 8601, e.g. 2026-06-01T10:00:00+02:00)") from None
        elif not isinstance(value, str):
            raise SettingError(self.key, "must be text")
        if t in ("integer", "number", "duration"):
            shown = format_duration_text if t == "duration" else (lambda v: f"{v:g}")
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
