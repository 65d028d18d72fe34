"""Hybrid recommendations: content similarity, item co-occurrence and popularity, fused with
weights tuned offline. Plain typed logic; the search service calls it from `GET /recommendations`.
"""

from catalog.recommendations.content import ContentSimilarity, ItemText
from catalog.recommendations.cooccurrence import CoOccurrence
from catalog.recommendations.fusion import FusionWeights, fuse
from catalog.recommendations.hybrid import CANDIDATE_DEPTH, recommend
from catalog.recommendations.interactions import KIND_WEIGHTS, Interaction, InteractionKind
from catalog.recommendations.metrics import (
    catalog_coverage,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from catalog.recommendations.popularity import Popularity

__all__ = [
    "CANDIDATE_DEPTH",
    "KIND_WEIGHTS",
    "CoOccurrence",
    "ContentSimilarity",
    "FusionWeights",
    "Interaction",
    "InteractionKind",
    "ItemText",
    "Popularity",
    "catalog_coverage",
    "fuse",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "recommend",
]
