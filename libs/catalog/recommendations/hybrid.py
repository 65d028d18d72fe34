"""One call for a recommendation list: query each source, then fuse.

`GET /recommendations?product=X` passes `seeds=[X]`; `?user=U` passes U's recent items as seeds.
Content scores come from wherever the caller finds content neighbours (pgvector online,
`ContentSimilarity` offline), already limited to `CANDIDATE_DEPTH` or so.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from catalog.recommendations.cooccurrence import CoOccurrence
from catalog.recommendations.fusion import FusionWeights, fuse
from catalog.recommendations.popularity import Popularity

# How many candidates each source contributes before fusion (the offline evaluation uses the same).
CANDIDATE_DEPTH = 100


def recommend(
    seeds: Sequence[str],
    weights: FusionWeights,
    k: int,
    *,
    content: Mapping[str, float] | None = None,
    cooccurrence: CoOccurrence | None = None,
    popularity: Popularity | None = None,
    exclude: Collection[str] = (),
    depth: int = CANDIDATE_DEPTH,
) -> list[tuple[str, float]]:
    """The `k` best items for these seeds, best first, never a seed or an item of `exclude`.
    A missing source contributes nothing; with no seeds the list is popularity alone."""
    excluded = {*seeds, *exclude}
    collaborative = cooccurrence.neighbours(seeds, depth) if cooccurrence and seeds else {}
    popular = popularity.top(depth, exclude=excluded) if popularity else {}
    return fuse(content or {}, collaborative, popular, weights, k=k, exclude=excluded)
