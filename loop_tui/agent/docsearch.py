"""BM25 search over the packaged user documentation (`loop_tui/docs/*.md`), split into sections.

Each `#`/`##`/`###` heading starts a section; a section's title is "Page › Heading". Titles count
double, so a query that names a feature finds the section about it first.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

_WORD = re.compile(r"[a-z0-9_]+")
_STOP = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i", "in", "is", "it", "me", "my", "of", "on", "or", "the", "this", "to", "what", "when", "where", "which", "with", "you", "your"]
)
K1, B = 1.4, 0.75


@dataclass(frozen=True)
class Section:
    """One documentation section: its file, heading title and Markdown body."""

    file: str
    title: str
    body: str


@dataclass(frozen=True)
class Hit:
    """A ranked section with a short passage around the best-matching lines."""

    title: str
    file: str
    score: float
    passage: str


def tokenize(text: str) -> list[str]:
    """Lower-case words minus stop words, with a light plural/suffix fold."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
    return [_stem(w) for w in words]


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def split_sections(file: str, markdown: str) -> list[Section]:
    """Split a Markdown page at its headings."""
    page_title = file.removesuffix(".md")
    sections: list[Section] = []
    title, lines = page_title, list[str]()
    for line in markdown.splitlines():
        heading = re.match(r"^(#{1,3})\s+(.*)", line)
        if heading:
            if any(s.strip() for s in lines):
                sections.append(Section(file, title, "\n".join(lines).strip()))
            if heading.group(1) == "#":
                page_title = heading.group(2).strip()
                title = page_title
            else:
                title = f"{page_title} › {heading.group(2).strip()}"
            lines = []
        else:
            lines.append(line)
    if any(s.strip() for s in lines):
        sections.append(Section(file, title, "\n".join(lines).strip()))
    return sections


class DocsIndex:
    """A BM25 index over documentation sections."""

    def __init__(self, sections: list[Section]) -> None:
        self.sections = sections
        self._terms = [Counter(tokenize(s.title) * 2 + tokenize(s.body)) for s in sections]
        self._lengths = [sum(t.values()) for t in self._terms]
        self._avg = (sum(self._lengths) / len(self._lengths)) if sections else 1.0
        df: Counter[str] = Counter()
        for terms in self._terms:
            df.update(terms.keys())
        n = len(sections)
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def search(self, query: str, limit: int = 5) -> list[Hit]:
        """The best sections for `query`, best first (empty when nothing matches)."""
        q = tokenize(query)
        scored = []
        for i, terms in enumerate(self._terms):
            score = 0.0
            for t in set(q):
                f = terms.get(t, 0)
                if f:
                    norm = f * (K1 + 1) / (f + K1 * (1 - B + B * self._lengths[i] / self._avg))
                    score += self._idf[t] * norm
            if score > 0:
                scored.append((score, i))
        scored.sort(key=lambda x: (-x[0], x[1]))
        return [self._hit(i, score, q) for score, i in scored[:limit]]

    def _hit(self, i: int, score: float, q: list[str]) -> Hit:
        section = self.sections[i]
        return Hit(section.title, section.file, round(score, 3), _passage(section.body, set(q)))


def _passage(body: str, query_terms: set[str], max_chars: int = 700) -> str:
    """The section body if short, else the paragraphs that mention the query terms most."""
    if len(body) <= max_chars:
        return body
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    ranked = sorted(
        range(len(paragraphs)), key=lambda j: -sum(1 for w in tokenize(paragraphs[j]) if w in query_terms)
    )
    chosen: list[int] = []
    used = 0
    for j in ranked:
        if used + len(paragraphs[j]) > max_chars and chosen:
            break
        chosen.append(j)
        used += len(paragraphs[j])
    text = "\n\n".join(paragraphs[j] for j in sorted(chosen))
    return text[:max_chars] + ("…" if len(text) > max_chars else "")


@cache
def docs_index() -> DocsIndex:
    """The index over every packaged docs page (built once per process)."""
    root = resources.files("loop_tui").joinpath("docs")
    sections: list[Section] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".md"):
            sections.extend(split_sections(entry.name, entry.read_text(encoding="utf-8")))
    return DocsIndex(sections)
