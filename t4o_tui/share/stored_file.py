"""A run's file kept in the database in parts (several machines on one PostgreSQL server, issue 14).

A file larger than one row holds (engine.executor.STORED_FILE_MAX) is written by the machine that
ran it as artifact_chunk rows of its run, keyed by the file's SHA-256. A share server on another
machine streams it from there a part at a time, never holding the whole file: `StoredParts` reads
like a file opened for the share server's streaming, one query per part, and checks the SHA-256 as
the last part goes out (a mismatch cuts the answer short, so the client sees a broken download,
never a wrong file taken for a whole one).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

log = logging.getLogger("t4o_tui.share")


class StoredFileDamaged(Exception):
    """The parts read do not make the file that was kept (a part missing or changed)."""


class StoredParts:
    """The parts of one stored file, read in order; `size` is the whole file's size."""

    def __init__(self, db: Any, run_id: int, sha256: str, parts: int, size: int) -> None:
        self.db, self.run_id, self.sha256, self.parts, self.size = db, run_id, sha256, parts, size
        self._next = 0
        self._digest = hashlib.sha256()
        self._sent = 0

    @classmethod
    def complete(cls, db: Any, run_id: int, sha256: str, parts: int, size: int) -> StoredParts | None:
        """The stored file, when all its parts are there with the right total size; else None."""
        row = db.connection().execute(
            "SELECT count(*), coalesce(sum(length(bytes)), 0) FROM artifact_chunk WHERE run_id = ? AND sha256 = ?",
            (run_id, sha256)).fetchone()
        if (int(row[0]), int(row[1])) != (parts, size):
            log.warning("share: the file of run %d kept in the database is incomplete (%s of %d parts, %s of %d bytes)",
                        run_id, row[0], parts, row[1], size)
            return None
        return cls(db, run_id, sha256, parts, size)

    def read(self, _size: int = -1) -> bytes:
        """The next part (b"" after the last). Raises StoredFileDamaged when the parts do not make the file."""
        if self._next >= self.parts:
            return b""
        try:
            row = self.db.connection().execute(
                "SELECT bytes FROM artifact_chunk WHERE run_id = ? AND sha256 = ? AND seq = ?",
                (self.run_id, self.sha256, self._next)).fetchone()
        except Exception as exc:  # the server went away mid-answer: the answer is cut, said why
            raise StoredFileDamaged(f"reading part {self._next} of the file of run {self.run_id} failed: "
                                    f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from exc
        if row is None:
            raise StoredFileDamaged(f"part {self._next} of the file of run {self.run_id} is gone")
        part = bytes(row[0])
        self._next += 1
        self._sent += len(part)
        self._digest.update(part)
        if self._next == self.parts and (self._sent != self.size or self._digest.hexdigest() != self.sha256):
            raise StoredFileDamaged(f"the file of run {self.run_id} kept in the database does not match its checksum")
        return part

    def close(self) -> None:
        """Nothing held between parts: each is its own query."""
