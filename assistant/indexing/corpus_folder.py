"""Adding and removing articles in the corpus folder (used by the browser's corpus tab and the API).

Nothing is deleted: a removed article's file moves to <corpus>/.removed/, which ingest ignores.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ..errors import CorpusError, DocumentError
from .documents import load_document

REMOVED_FOLDER = ".removed"
MAX_FILES_AT_ONCE = 100


def file_name(given: str) -> str:
    """The name an uploaded file is kept under in the corpus folder: the last part of the name the client
    gave (a path, with / or \\, or `..`, never leads out of the folder). Raises DocumentError for a name
    that would leave nothing, or a hidden file that ingest would never read."""
    name = given.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name in ("", ".", "..") or any(ord(c) < 32 or c == "\x7f" for c in name):
        raise DocumentError(f"{given!r}: not a usable file name")
    if name.startswith("."):
        raise DocumentError(f"{given!r}: a name starting with '.' is a hidden file, which is never indexed")
    return name


def add_files(corpus_dir: Path, paths: list[Path]) -> tuple[list[str], dict[str, str]]:
    """Copy the readable files into the corpus, at most MAX_FILES_AT_ONCE (CorpusError beyond: nothing is
    added).

    Returns (doc_ids added or replaced, {file name: why it was rejected}).
    """
    if len(paths) > MAX_FILES_AT_ONCE:
        raise CorpusError(
            f"{len(paths)} files at once is over the limit of {MAX_FILES_AT_ONCE}: add them in smaller "
            "groups, or copy them into the corpus folder and run `assistant ingest`"
        )
    added: list[str] = []
    rejected: dict[str, str] = {}
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for path in paths:
        try:
            file_name(path.name)
            doc = load_document(path)  # the same checks ingest makes: type, size, text, encoding
        except DocumentError as exc:
            rejected[path.name] = str(exc).replace(str(path), path.name)
            continue
        except OSError as exc:
            rejected[path.name] = f"{path.name}: cannot read ({exc.strerror})"
            continue
        for old in _files_of(corpus_dir, doc.doc_id):  # same name, other type: the new one replaces it
            if old.name != path.name:
                _move_aside(corpus_dir, old)
        shutil.copyfile(path, corpus_dir / path.name)
        added.append(doc.doc_id)
    return added, rejected


def remove_document(corpus_dir: Path, doc_id: str) -> list[Path]:
    """Move the files of doc_id out of the corpus (into .removed/); returns where they went."""
    return [_move_aside(corpus_dir, path) for path in _files_of(corpus_dir, doc_id)]


def _files_of(corpus_dir: Path, doc_id: str) -> list[Path]:
    return [p for p in corpus_dir.iterdir() if p.is_file() and p.stem == doc_id]


def _move_aside(corpus_dir: Path, path: Path) -> Path:
    target_dir = corpus_dir / REMOVED_FOLDER
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        target = target_dir / f"{path.stem}.{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}"
    shutil.move(str(path), str(target))
    return target
