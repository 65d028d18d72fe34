"""The vocabulary of identity resolution, shared by every catalog it runs against.

A `Facts` is what one listing (or one master product, fused from its offers) says about which
product it is. A `CandidateSource` is a catalog of masters: the in-memory index behind
`catalog normalize` or the Postgres catalog behind the persister. The resolver scores candidates
with the pairwise matcher and returns a `Decision`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

AttributeValue = str | int | float | bool

Outcome = Literal["known", "attached", "new", "judged", "review"]
"""known: a re-scrape of a resolved listing (same title and EAN), no matching done;
attached: a candidate scored above the match threshold;
new: no plausible candidate, a new master;
judged: an LLM pairwise judgement decided the uncertain band;
review: the uncertain band with no LLM configured, queued with its candidates."""

OFFERS_PER_MASTER = 5
"""A candidate master is offered to the matcher through this many of its latest offers, each as
its own candidate (the resolver keeps a master's best score): the matcher is trained on listing
pairs, two stores' titles of one product rarely both resemble a third store's, and a fused title
resembles none of them exactly. A catalog's candidate limit counts masters, not offers: counted
in offers, four masters of five offers each would leave out every other master sharing the
listing's model code (on WDC Products train, 290 true pairs scoring 0.5 or more were never
compared)."""


@dataclass(frozen=True)
class Facts:
    """What a listing or a master says about its identity."""

    title: str
    """Normalized title (`catalog.domain.identity.normalize_title`)."""
    brand: str | None = None
    """Canonical brand, when one is known."""
    category: str | None = None
    """Taxonomy node id (a typed leaf or a coarse node)."""
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    gtin: str | None = None
    """Checksum-valid GTIN in its canonical form (`catalog.identity.identifiers.canonical_gtin`)."""
    codes: frozenset[str] = frozenset()
    """Normalized manufacturer part numbers and model codes read from the title."""
    model: str | None = None
    """The model normalization read (`iPhone 15 Pro`), when it read one."""
    price: float | None = None
    retailer: str | None = None


@dataclass(frozen=True)
class Candidate:
    """A master product the catalog offers as a possible match."""

    master_id: str
    facts: Facts
    retailers: frozenset[str] = frozenset()
    """Stores that already have an offer on this master."""


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    master_id: str | None
    """The master the listing belongs to; None only for `review`."""
    score: float = 0.0
    """The matcher's probability for the chosen (or best) candidate."""
    candidates: tuple[tuple[str, float], ...] = ()
    """Every scored candidate, best first: what review shows a person."""


class CandidateSource(Protocol):
    """A catalog of master products that resolution reads."""

    async def known(self, listing_key: str, title: str, gtin: str | None) -> str | None:
        """The master of a listing already resolved with this same title and GTIN, if any."""
        ...

    async def candidates(self, facts: Facts, limit: int) -> Sequence[Candidate]:
        """Plausible masters for `facts`: same identifier, same brand and model-code tokens,
        trigram and vector neighbours within the category group; at most `limit` masters, each
        as one candidate per recent offer."""
        ...
