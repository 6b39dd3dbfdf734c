"""llama.cpp's evaluation of a fixed prompt prefix, kept on disk so a new process loads it instead.

Reading the answer prompt's fixed start takes the local model seconds on two cores; its saved state (the
KV cache of those tokens) loads in milliseconds (docs/design.md). A file is named by what its state
depends on: the llama.cpp build, the model file, the context size and the prompt text. Any
file that cannot be read back is evaluated again and rewritten; one that cannot be written is skipped.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
from pathlib import Path
from typing import Any

KEEP = 4  # state files kept in the folder (one per model and prompt in use); older ones are deleted


def state_path(folder: Path, llama: Any, prompt: str) -> Path:
    import llama_cpp

    model = Path(llama.model_path).resolve()
    stat = model.stat()
    parts = [llama_cpp.__version__, str(model), stat.st_size, stat.st_mtime_ns, llama.n_ctx(), prompt]
    key = "\0".join(str(part) for part in parts)
    return folder / f"prefix-{hashlib.sha256(key.encode()).hexdigest()[:24]}.llama-state"


def load(llama: Any, path: Path) -> bool:
    """Put the saved state into llama's context; False (and a clean context) when there is none to use."""
    import llama_cpp

    if not path.is_file():
        return False
    capacity = llama.n_ctx()
    tokens = (llama_cpp.llama_token * capacity)()
    count = ctypes.c_size_t(0)
    loaded = llama_cpp.llama_state_load_file(
        llama.ctx, os.fsencode(path), tokens, capacity, ctypes.byref(count)
    )
    if not loaded or count.value == 0:
        llama.reset()  # n_tokens = 0: the next evaluation overwrites whatever a failed load left
        return False
    llama.input_ids[: count.value] = tokens[: count.value]
    llama.n_tokens = count.value
    with contextlib.suppress(OSError):  # a read-only cache folder still serves its states
        os.utime(path)  # recently used: kept by prune()
    return True


def save(llama: Any, path: Path) -> None:
    """Write the evaluated tokens' state beside its siblings, atomically; a cache, so no error is fatal."""
    import llama_cpp

    count = llama.n_tokens
    tokens = (llama_cpp.llama_token * count)(*llama.input_ids[:count])
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if llama_cpp.llama_state_save_file(llama.ctx, os.fsencode(tmp), tokens, count):
            os.replace(tmp, path)
        prune(path.parent)
    except OSError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def prune(folder: Path) -> None:
    files = sorted(folder.glob("prefix-*.llama-state"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP:]:
        old.unlink(missing_ok=True)
