"""What every config rule returns, and the "did you mean" hint they share."""

from __future__ import annotations

import difflib

Problem = tuple[str, str]


def suggest(word: str, candidates) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
