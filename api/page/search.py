"""The search box: a service name opens its focus view, a team its team view, anything else
gets the nearest names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class SearchResult:
    """Where a search leads: a node, a team, or nowhere with suggestions."""

    node: str | None = None
    team: str | None = None
    nearest: list[str] = field(default_factory=list)


def search(query: str, nodes: Iterable[str], teams: dict[str, str], limit: int = 8) -> SearchResult:
    """Resolve `query` against node names (exact) and teams (name or title, any case).

    `teams` maps each team's name to its title. Unknown queries get up to `limit` nearest names:
    those sharing the longest start with it first, then those containing it, then the closest by
    difflib's ratio.
    """
    text = query.strip()
    names = list(nodes)
    known = set(names)
    if text in known:
        return SearchResult(node=text)
    folded = text.casefold()
    for name, title in teams.items():
        if folded in (name.casefold(), (title or "").casefold()):
            return SearchResult(team=name)
    by_case = [n for n in names if n.casefold() == folded]
    if len(by_case) == 1:
        return SearchResult(node=by_case[0])
    candidates = sorted(known | set(teams))
    shared = {n: _common_prefix(folded, n.casefold()) for n in candidates}
    least = max(2, len(folded) // 2)
    prefixed = sorted((n for n in candidates if shared[n] >= least), key=lambda n: (-shared[n], len(n), n))[:limit]
    containing = [n for n in candidates if folded and folded in n.casefold()][:limit]
    close = difflib.get_close_matches(text, candidates, n=limit, cutoff=0.5)
    nearest = list(dict.fromkeys([*prefixed, *containing, *close]))[:limit]
    return SearchResult(nearest=nearest)


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters two strings share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
