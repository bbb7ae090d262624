"""IOF XML 3.0 in one import: lenient readers, strict writers, the error they raise.

    from t4o_tui.orienteering import iof
    doc = iof.read_course_data(path.read_bytes())     # raises iof.IofError (a ValueError)

Readers live in `iof_read`, writers in `iof_write`, the safe parsing in `xmlsafe`; data in `model`.
"""

from __future__ import annotations

from t4o_tui.orienteering.iof_read import (
    FINISH_CODES,
    READABLE,
    START_CODES,
    read_class_list,
    read_course_data,
    read_entry_list,
    read_iof,
    read_result_list,
    read_start_list,
)
from t4o_tui.orienteering.iof_write import validate, write_start_list
from t4o_tui.orienteering.xmlsafe import IOF_NS, IofError

__all__ = [
    "FINISH_CODES",
    "IOF_NS",
    "READABLE",
    "START_CODES",
    "IofError",
    "read_class_list",
    "read_course_data",
    "read_entry_list",
    "read_iof",
    "read_result_list",
    "read_start_list",
    "validate",
    "write_start_list",
]
