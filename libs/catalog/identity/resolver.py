"""Which master product a listing is: the one decision every catalog runs.

`Resolver.resolve` asks a `CandidateSource` (the in-memory catalog of `catalog normalize` or the
persister's Postgres catalog):

1. `known`: the listing was resolved before with the same title and GTIN -> that master, no
   matching (`known`);
2. `candidates`: plausible masters (shared identifiers, brand and code tokens, text neighbours);
3. each candidate is scored by the pairwise `Matcher` (several candidates naming one master keep
   the best score);
4. the best score at or above `attach_at` -> that master (`attached`); no candidate at or above
   `new_below` -> a new master (`new`, id from the listing key); in between, a `Judge` when one is
   given (an LLM pairwise judgement, or the matcher's own yes/no offline) decides (`judged`),
   else the listing goes to review with its scored candidates (`review`, no master).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence

from catalog import metrics
from catalog.identity.features import identity_conflict
from catalog.identity.matcher import Matcher, load_matcher
from catalog.identity.model import Candidate, CandidateSource, Decision, Facts

__all__ = [
    "JUDGED_CANDIDATES",
    "Judge",
    "MatcherJudge",
    "Resolver",
    "load_resolver",
    "matcher_judge",
    "new_master_id",
]

Judge = Callable[[Facts, Candidate], Awaitable[bool]]
"""Says whether a listing (its facts) is the candidate's product."""

JUDGED_CANDIDATES = 3
"""At most this many candidates of the uncertain band are judged, best first."""


def new_master_id(listing_key: str) -> str:
    """The id of a master first seen as `listing_key`: deterministic, 32 hex chars, so a replayed
    listing creates the same master."""
    return hashlib.sha256(f"master|{listing_key}".encode()).hexdigest()[:32]


class Resolver:
    """Scores candidates with `matcher` and decides with its thresholds (or the ones given)."""

    def __init__(
        self,
        matcher: Matcher,
        *,
        attach_at: float | None = None,
        new_below: float | None = None,
        candidate_limit: int = 20,
    ) -> None:
        self.matcher = matcher
        self.fixed = attach_at is not None or new_below is not None
        """Thresholds given here hold for every category group."""
        self.attach_at = matcher.thresholds.attach_at if attach_at is None else attach_at
        self.new_below = matcher.thresholds.new_below if new_below is None else new_below
        if not 0.0 <= self.new_below <= self.attach_at <= 1.0:
            raise ValueError("thresholds must satisfy 0 <= new_below <= attach_at <= 1")
        if candidate_limit < 1:
            raise ValueError("candidate_limit must be at least 1")
        self.candidate_limit = candidate_limit

    def bounds(self, facts: Facts) -> tuple[float, float]:
        """`(attach_at, new_below)` for the listing: its category group's, unless fixed."""
        if self.fixed:
            return self.attach_at, self.new_below
        thresholds = self.matcher.thresholds_for(facts.category)
        return thresholds.attach_at, thresholds.new_below

    def score(self, facts: Facts, candidate: Candidate) -> float:
        """Probability that the listing is the candidate's product."""
        return self.matcher.score(facts, candidate.facts, candidate.retailers or None)

    def score_pairs(self, pairs: Sequence[tuple[Facts, Candidate]]) -> list[float]:
        """`score` of each `(facts, candidate)`, bit for bit, the model run once for all."""
        return self.matcher.score_pairs(
            [(facts, c.facts, c.retailers or None) for facts, c in pairs]
        )

    def rank(self, facts: Facts, candidates: list[Candidate]) -> list[tuple[Candidate, float]]:
        """Each master once, with its best-scoring candidate, best first (ties: master id). A
        master one of whose offers states another identity than the listing (another model
        code, size or CPU: `identity_conflict`) scores 0: the listing would join a product it
        is known not to be, through an offer that says less."""
        best: dict[str, tuple[Candidate, float]] = {}
        scores = self.matcher.scores(facts, [(c.facts, c.retailers or None) for c in candidates])
        # A conflict scores exactly 0 (`Matcher.score`), which a model's probability never is:
        # only those are checked again.
        refused = {
            c.master_id
            for c, score in zip(candidates, scores, strict=True)
            if score == 0.0 and identity_conflict(facts, c.facts)
        }
        if refused:
            metrics.MASTERS_REFUSED.inc(len(refused))
        for candidate, score in zip(candidates, scores, strict=True):
            if candidate.master_id in refused:
                score = 0.0
            held = best.get(candidate.master_id)
            if held is None or score > held[1]:
                best[candidate.master_id] = (candidate, score)
        return sorted(best.values(), key=lambda item: (-item[1], item[0].master_id))

    async def resolve(
        self,
        source: CandidateSource,
        listing_key: str,
        facts: Facts,
        judge: Judge | None = None,
    ) -> Decision:
        known = await source.known(listing_key, facts.title, facts.gtin)
        if known is not None:
            return Decision(outcome="known", master_id=known, score=1.0)
        candidates = list(await source.candidates(facts, self.candidate_limit))
        ranked = self.rank(facts, candidates)
        scored = tuple((candidate.master_id, round(score, 6)) for candidate, score in ranked)
        attach_at, new_below = self.bounds(facts)
        if ranked and ranked[0][1] >= attach_at:
            best, score = ranked[0]
            return Decision("attached", best.master_id, score, scored)
        band = [(c, s) for c, s in ranked if s >= new_below]
        if not band:
            top = ranked[0][1] if ranked else 0.0
            return Decision("new", new_master_id(listing_key), top, scored)
        if judge is None:
            return Decision("review", None, band[0][1], scored)
        for candidate, score in band[:JUDGED_CANDIDATES]:
            if isinstance(judge, MatcherJudge) and judge.matcher is self.matcher:
                verdict = score >= judge.threshold_for(facts)  # the score is already known
            else:
                verdict = await judge(facts, candidate)
            if verdict:
                return Decision("judged", candidate.master_id, score, scored)
        return Decision("judged", new_master_id(listing_key), band[0][1], scored)


class MatcherJudge:
    """A judge that answers with the matcher itself: same product iff the score reaches
    `threshold` (default: the model's `judge_at` for the listing's category group, chosen on
    the training data). What the uncertain band gets in-process, where no pairwise LLM
    judgement is wired in."""

    def __init__(self, matcher: Matcher, threshold: float | None = None) -> None:
        self.matcher = matcher
        self.threshold = threshold

    def threshold_for(self, facts: Facts) -> float:
        if self.threshold is not None:
            return self.threshold
        return self.matcher.thresholds_for(facts.category).judge_at

    async def __call__(self, facts: Facts, candidate: Candidate) -> bool:
        score = self.matcher.score(facts, candidate.facts, candidate.retailers or None)
        return score >= self.threshold_for(facts)


def matcher_judge(matcher: Matcher, threshold: float | None = None) -> MatcherJudge:
    return MatcherJudge(matcher, threshold)


def load_resolver() -> Resolver:
    """A resolver with the shipped matcher model and its thresholds."""
    return Resolver(load_matcher())
