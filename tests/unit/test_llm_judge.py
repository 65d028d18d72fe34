"""The pairwise LLM judgement: its prompt, its verdict parsing, and a real SDK call answered by
the emulator (which judges with the shipped matcher)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from openai import AsyncOpenAI

from catalog import metrics
from catalog.identity.identifiers import model_codes
from catalog.identity.llm_judge import (
    LLMJudge,
    build_match_messages,
    parse_match_prompt,
    parse_verdict,
)
from catalog.identity.matcher import load_matcher
from catalog.identity.model import Candidate, Facts
from catalog.identity.resolver import matcher_judge
from catalog.settings import LLMSettings
from openai_emulator import EmulatorConfig, run_in_background


def facts(title: str, brand: str | None = None, **extra: object) -> Facts:
    return Facts(title=title, brand=brand, codes=model_codes(title, brand), **extra)  # type: ignore[arg-type]


SAME = (
    facts("sony bravia kdl40v5100 40in lcd hdtv", "SONY"),
    facts("sony kdl-40v5100 bravia 40 lcd tv", "SONY"),
)
DIFFERENT = (
    facts("samsung galaxy s24 256gb negro", "SAMSUNG"),
    facts("samsung galaxy s24 512gb negro", "SAMSUNG"),
)


def test_the_prompt_carries_both_sides_and_reads_back() -> None:
    listing = Facts(
        title="leche entera colun 1 l",
        brand="COLUN",
        category="dairy",
        attributes={"volume_ml": 1000},
        gtin="07802900000017",
        codes=frozenset({"x1"}),
        price=1090.0,
        retailer="jumbo",
    )
    candidate = Candidate("m1", facts("leche entera colun 1l caja", "COLUN"), frozenset({"lider"}))
    messages = build_match_messages(listing, candidate)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "json" in messages[0]["content"].lower()  # json_object requires the word
    read = parse_match_prompt(messages[1]["content"])
    assert read is not None
    assert read[0] == listing
    assert read[1].facts.title == candidate.facts.title
    assert read[1].retailers == frozenset({"lider"})
    assert parse_match_prompt("Normalize this listing: leche") is None


@pytest.mark.parametrize(
    ("content", "verdict"),
    [
        pytest.param('{"same": true, "confidence": 0.9}', True, id="same"),
        pytest.param('{"same": false}', False, id="different"),
        pytest.param('{"same": "yes"}', None, id="not a boolean"),
        pytest.param("```json\n{}\n```", None, id="fenced"),
        pytest.param(None, None, id="empty"),
        pytest.param("[true]", None, id="not an object"),
    ],
)
def test_verdicts(content: str | None, verdict: bool | None) -> None:
    assert parse_verdict(content) is verdict


@pytest.fixture
async def client() -> AsyncIterator[tuple[AsyncOpenAI, LLMSettings]]:
    handle = await run_in_background(EmulatorConfig())
    llm = LLMSettings(base_url=handle.base_url, api_key="sk-test")  # type: ignore[arg-type]
    sdk = AsyncOpenAI(base_url=handle.base_url, api_key="sk-test", max_retries=0)
    try:
        yield sdk, llm
    finally:
        await sdk.close()
        await handle.stop()


async def test_the_emulator_judges_as_the_matcher(
    client: tuple[AsyncOpenAI, LLMSettings],
) -> None:
    sdk, llm = client
    judge = LLMJudge(sdk, llm)
    offline = matcher_judge(load_matcher())
    before = metrics.JUDGEMENTS.labels("same")._value.get()
    for left, right in (SAME, DIFFERENT):
        candidate = Candidate("c", right)
        assert await judge(left, candidate) is await offline(left, candidate)
    assert await judge(SAME[0], Candidate("c", SAME[1])) is True
    assert await judge(DIFFERENT[0], Candidate("c", DIFFERENT[1])) is False
    assert metrics.JUDGEMENTS.labels("same")._value.get() > before
    assert metrics.JUDGE_COST._value.get() > 0
