"""Other names of one thing, read by the models as one name.

One of the articles calls India "Bharat" throughout, and readers ask about "India". The
embedder, BM25 and the cross-encoder would each treat the two as unrelated words, so the
passages that say "Bharat" went unfound (docs/benchmarks.md "Aliases"). Every text a model
reads, passages at indexing and questions at search, is rewritten with one canonical name
per alias group, as a search engine's synonym filter does; what users see keeps the
article's own words. The table is a setting (``ASSISTANT_ALIASES``, JSON) and part of the
index signature, so changing it re-embeds the corpus.
"""

from __future__ import annotations

import re
from functools import lru_cache

AliasTable = dict[str, list[str]]


class Aliases:
    """Rewrites each alias of a table with its canonical name (whole words, exact case)."""

    def __init__(self, table: AliasTable):
        self.canonical = {alias: name for name, aliases in table.items() for alias in aliases}
        # Longest first, so "Bharatiya" is not read as "Bharat" + "iya".
        names = sorted(self.canonical, key=len, reverse=True)
        alternatives = "|".join(map(re.escape, names))
        self.pattern = re.compile(rf"\b({alternatives})\b") if names else None

    def __call__(self, text: str) -> str:
        if self.pattern is None:
            return text
        return self.pattern.sub(lambda m: self.canonical[m.group(1)], text)


@lru_cache(maxsize=8)
def _compiled(frozen: tuple[tuple[str, tuple[str, ...]], ...]) -> Aliases:
    return Aliases({name: list(aliases) for name, aliases in frozen})


def aliases_of(table: AliasTable) -> Aliases:
    """The rewriter of ``table``, compiled once per distinct table."""
    return _compiled(tuple(sorted((k, tuple(v)) for k, v in table.items())))
