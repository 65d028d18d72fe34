"""An in-memory catalog of masters: what `catalog normalize` and the evaluation resolve against.

Blocking (which masters are worth scoring) uses the same keys the Postgres catalog uses:

* the GTIN;
* model codes, and their stems without regional or colour suffixes (`wh1000xm3b` ->
  `wh1000xm3`);
* an inverted index of title tokens weighted by inverse document frequency: the masters sharing
  the most rare tokens with the listing come first (a cheap stand-in for trigram neighbours).

`record` stores a decision: a new master, or an offer attached to one, whose facts then learn from
the offer (`fuse`). A candidate master is offered to the matcher as its latest offers (one
candidate each; the resolver keeps the best score per master): on the training sets this finds more
true matches than comparing with the fused facts alone, at the same precision. A listing key
remembers its title, GTIN and master so that a re-scrape of the same listing is `known`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from catalog.identity.facts import fuse
from catalog.identity.features import profile
from catalog.identity.identifiers import code_stem
from catalog.identity.model import OFFERS_PER_MASTER, Candidate, Facts

__all__ = ["InMemoryCatalog", "MasterRecord"]

# A token in more than this share of masters says nothing about identity; skipping its posting
# list keeps blocking fast on large catalogs.
_COMMON_SHARE = 0.05
_COMMON_MIN = 50


@dataclass
class MasterRecord:
    master_id: str
    facts: Facts
    """Fused from every offer (`fuse`)."""
    retailers: set[str] = field(default_factory=set)
    offers: int = 0
    recent: list[Facts] = field(default_factory=list)
    """The facts of the latest `OFFERS_PER_MASTER` offers."""


class InMemoryCatalog:
    """A `CandidateSource` held in memory, filled by `record`."""

    def __init__(self) -> None:
        self.masters: dict[str, MasterRecord] = {}
        self.listings: dict[str, tuple[str, str | None, str]] = {}
        self._by_gtin: dict[str, set[str]] = {}
        self._by_code: dict[str, set[str]] = {}
        self._by_token: dict[str, set[str]] = {}

    async def known(self, listing_key: str, title: str, gtin: str | None) -> str | None:
        held = self.listings.get(listing_key)
        if held is None or held[0] != title or held[1] != gtin:
            return None
        master_id = held[2]
        return master_id if master_id in self.masters else None

    async def candidates(self, facts: Facts, limit: int) -> Sequence[Candidate]:
        """The `limit` best masters of `candidate_ids`, each as one candidate per recent offer
        (latest first)."""
        found: list[Candidate] = []
        for master_id in self.candidate_ids(facts, limit):
            record = self.masters[master_id]
            retailers = frozenset(record.retailers)
            found.extend(
                Candidate(master_id, offer, retailers) for offer in reversed(record.recent)
            )
        return found

    def candidate_ids(self, facts: Facts, limit: int) -> list[str]:
        """Masters sharing an identifier first, then the best token overlaps (IDF-weighted)."""
        chosen: dict[str, None] = {}
        if facts.gtin is not None:
            chosen.update(dict.fromkeys(sorted(self._by_gtin.get(facts.gtin, ()))))
        for key in sorted(self._code_keys(facts.codes)):
            chosen.update(dict.fromkeys(sorted(self._by_code.get(key, ()))))
        if len(chosen) >= limit:
            return list(chosen)[:limit]
        total = max(len(self.masters), 1)
        common = max(_COMMON_MIN, int(_COMMON_SHARE * total))
        overlap: dict[str, float] = {}
        # Sorted: the same sums in the same order in every process (string hashing varies).
        for token in sorted(profile(facts.title).tokens):
            posting = self._by_token.get(token)
            if not posting or len(posting) > common:
                continue
            weight = math.log(1.0 + total / len(posting))
            for master_id in posting:
                overlap[master_id] = overlap.get(master_id, 0.0) + weight
        ranked = sorted(overlap.items(), key=lambda item: (-item[1], item[0]))
        for master_id, _ in ranked:
            if len(chosen) >= limit:
                break
            chosen.setdefault(master_id, None)
        return list(chosen)[:limit]

    @staticmethod
    def _code_keys(codes: frozenset[str]) -> set[str]:
        keys = set(codes)
        keys.update(code_stem(code) for code in codes)
        return {key for key in keys if len(key) >= 4}

    def record(self, listing_key: str, facts: Facts, master_id: str) -> MasterRecord:
        """Store the decision that `listing_key` (with `facts`) is `master_id`'s product: a new
        master when it is not held yet, else an offer the master learns from."""
        record = self.masters.get(master_id)
        if record is None:
            record = MasterRecord(master_id, facts)
            self.masters[master_id] = record
        else:
            record.facts = fuse(record.facts, facts)
        record.offers += 1
        record.recent = [*record.recent[-(OFFERS_PER_MASTER - 1) :], facts]
        if facts.retailer:
            record.retailers.add(facts.retailer)
        self.listings[listing_key] = (facts.title, facts.gtin, master_id)
        if facts.gtin is not None:
            self._by_gtin.setdefault(facts.gtin, set()).add(master_id)
        for key in self._code_keys(facts.codes):
            self._by_code.setdefault(key, set()).add(master_id)
        for token in profile(facts.title).tokens:
            self._by_token.setdefault(token, set()).add(master_id)
        return record
