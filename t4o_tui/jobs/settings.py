"""Settings schemas as the jobs import them. Defined in `t4o_tui.engine.settings`, where the engine
checks a task's settings when it is saved: jobs import the engine, never the reverse."""

from __future__ import annotations

from t4o_tui.engine.settings import TYPES, Schema, Setting, SettingError, parse_datetime_text
from t4o_tui.timefmt import format_duration_text, parse_duration_text

__all__ = ["TYPES", "Schema", "Setting", "SettingError", "format_duration_text", "parse_datetime_text",
           "parse_duration_text"]
