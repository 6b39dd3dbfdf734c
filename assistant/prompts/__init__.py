"""Prompt templates live in .txt files beside this module so they can be read and changed on their own."""

from functools import cache
from importlib.resources import files


@cache
def load(name: str) -> str:
    return files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8").strip()
