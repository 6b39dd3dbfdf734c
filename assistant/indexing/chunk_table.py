"""The chunks' texts and citation metadata, in a SQLite file of our own beside Chroma.

Chroma keeps each chunk's vector and doc_id only: every metadata key makes its add slower, where SQLite
writes a row in microseconds (docs/design.md, "Measurements behind the code").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import AssistantError, IndexCorruptError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, title TEXT NOT NULL, source TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (doc_id);
"""
_DAMAGED = {"SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CANTOPEN"}  # errors that mean "rebuild it"
METADATA = ("doc_id", "title", "source", "start", "end")  # a chunk's metadata, as chunking.Chunk gives it


class ChunkTable:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _db(self, create: bool = False) -> Iterator[sqlite3.Connection]:
        # A connection per call: the chat retrieves on several threads, and connecting is cheap.
        # Only create() may make the file: a reader finding it gone must not leave an empty one behind.
        try:
            db = sqlite3.connect(
                self.path if create else f"{self.path.absolute().as_uri()}?mode=rw", uri=True
            )
        except sqlite3.DatabaseError as exc:
            raise self._unreadable(exc) from None
        try:
            with db:  # one transaction, committed if the block succeeds
                yield db
        except sqlite3.DatabaseError as exc:
            if exc.sqlite_errorname in _DAMAGED or "no such table" in str(exc):
                raise self._unreadable(exc) from None
            # Busy (another process writing for over 5 s), a full disk...: the index is fine, say what failed.
            raise AssistantError(f"the chunk table {self.path}: {exc}") from None
        finally:
            db.close()

    def _unreadable(self, exc: Exception) -> IndexCorruptError:
        return IndexCorruptError(
            f"the chunk table {self.path} cannot be read ({exc}); run `assistant ingest` to rebuild the index"
        )

    def create(self) -> None:
        with self._db(create=True) as db:
            db.executescript(_SCHEMA)

    def check(self) -> None:
        """Raise IndexCorruptError now if the table is missing or unreadable (see _db)."""
        with self._db() as db:
            db.execute("SELECT 1 FROM chunks LIMIT 1").fetchall()

    def add(self, rows: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Rows of (chunk_id, text, metadata)."""
        with self._db() as db:
            db.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(cid, *(meta[key] for key in METADATA), text) for cid, text, meta in rows],
            )

    def delete_documents(self, doc_ids: list[str]) -> None:
        with self._db() as db:
            db.executemany("DELETE FROM chunks WHERE doc_id = ?", [(d,) for d in doc_ids])

    def counts(self) -> dict[str, int]:
        with self._db() as db:
            return dict(db.execute("SELECT doc_id, count(*) FROM chunks GROUP BY doc_id"))

    def texts(self) -> dict[str, str]:
        """Every chunk's text by id, in the order they were written."""
        with self._db() as db:
            return dict(db.execute("SELECT id, text FROM chunks ORDER BY rowid"))

    def get(self, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """(text, metadata) by id, for the ids the table holds."""
        marks = ",".join("?" * len(ids))
        query = f'SELECT id, text, doc_id, title, source, start, "end" FROM chunks WHERE id IN ({marks})'
        with self._db() as db:
            rows = db.execute(query, ids).fetchall()
        return {cid: (text, dict(zip(METADATA, meta, strict=True))) for cid, text, *meta in rows}
