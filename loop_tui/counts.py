"""Counts said in words: "1 row", "2 rows", "1,204 rows" (every count a user reads goes through `counted`)."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` with its noun in the right number, thousands separated: counted(1, "row") == "1 row"."""
    word = noun if n == 1 else (plural or noun + "s")
    return f"{n:,} {word}"
