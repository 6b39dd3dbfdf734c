"""Run by every Python child of the test session (this folder is on its PYTHONPATH): the network guard of
tests/netguard.py, loaded by path so the child needs nothing else of the repository on sys.path."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_netguard", Path(__file__).resolve().parent.parent / "netguard.py"
)
if _spec and _spec.loader:
    _guard = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_guard)
    _guard.install(child=True)
