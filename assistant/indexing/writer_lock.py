"""One writer at a time on an index folder, across processes.

Two processes writing one embedded Chroma folder lose vectors (Chroma's count says they are there, queries
do not find them: docs/design.md, "Several processes, one index"), so every write of the index (ingest, and
through it the chat's upload and remove) holds an exclusive `flock` on `<index>.lock`, a file beside the
index folder. Beside, not inside: ingest may move a damaged index folder aside and build a new one, and the
lock must stay on the name. A second writer waits for the first, saying so once, and gives up after
`Settings.write_wait` seconds with IndexBusyError; either way nothing is lost. The lock is the kernel's: it
goes when its holder exits, even by `kill -9`, so a crashed writer never leaves the index locked.
Readers take no lock: they reopen the index when its revision changes (store.IndexStore.outdated).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import IndexBusyError

log = logging.getLogger(__name__)
POLL = 0.2  # seconds between attempts while another process writes


def lock_path(index_dir: Path) -> Path:
    index_dir = index_dir.resolve()
    return index_dir.with_name(index_dir.name + ".lock")


@contextmanager
def writer_lock(index_dir: Path, wait: float) -> Iterator[None]:
    """Hold the index's write lock for the body; wait up to `wait` seconds for another writer."""
    path = lock_path(index_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(fd)
                if time.monotonic() >= deadline:
                    raise IndexBusyError(
                        f"another process{holder} is writing the index in {index_dir}/ and did not finish "
                        f"within {wait:g} s; nothing was changed: try again when it is done "
                        "(or wait longer: ASSISTANT_WRITE_WAIT)"
                    ) from None
                if not told:
                    log.warning("another process%s is writing the index in %s/: waiting", holder, index_dir)
                    told = True
                time.sleep(POLL)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {time.time():.0f}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would race a writer opening it)


def _holder(fd: int) -> str:
    """ " (pid N, for M s)" from what the holder wrote, or "" while it has not written yet."""
    try:
        pid, since = os.pread(fd, 64, 0).decode().split()
        return f" (pid {int(pid)}, for {max(0, time.time() - float(since)):.0f} s)"
    except (OSError, ValueError):
        return ""
