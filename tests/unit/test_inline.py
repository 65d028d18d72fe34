"""In-process normalization (`catalog.inline`) and the `catalog normalize` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from catalog.cli import app
from catalog.inline import InlineNormalizer, open_normalizer
from catalog.settings import Settings, ValidationSettings
from openai_emulator import EmulatorConfig, Faults
from schemas.models import RawListing

DEVSET = Path(__file__).resolve().parents[1] / "data" / "devset.jsonl"

# A complete, confident title: the router answers it from the rules tier.
PHONE = {
    "retailer": "falabella",
    "sku": "P1",
    "name": "Smartphone Samsung Galaxy A55 5G 128GB 8GB RAM Azul Marino",
    "category": "Celulares y Teléfonos",
    "price": 349990,
    "brand": "SAMSUNG",
}
# The same phone at another store, written differently.
PHONE_AGAIN = {
    "retailer": "ripley",
    "sku": "R9",
    "name": "SAMSUNG GALAXY A55 8GB RAM 128GB 5G AZUL",
    "category": "Celulares",
    "price": "$339.990",
}
# A different storage size: a different product.
PHONE_256 = {**PHONE, "sku": "P2", "name": PHONE["name"].replace("128GB", "256GB")}
# Nothing the rules can resolve: it needs a model.
VAGUE = {
    "retailer": "paris",
    "sku": "V1",
    "name": "Producto sorpresa edicion limitada",
    "price": 9990,
}
# Below the business price floor: rejected by the router.
CHEAP = {"retailer": "lider", "sku": "C1", "name": "Chicle Trident menta", "price": 5}


def _listing(data: dict[str, Any]) -> RawListing:
    return RawListing.model_validate(data)


def _settings() -> Settings:
    return Settings(environment="test")


def _needs_llm_listings(limit: int = 12) -> list[RawListing]:
    """Dev-set listings the router does not send to the rules tier."""
    from router.logic import Router

    router = Router(_settings())
    found: list[RawListing] = []
    with DEVSET.open(encoding="utf-8") as handle:
        for line in handle:
            listing = RawListing.model_validate(json.loads(line)["listing"])
            if router.route(listing).tier != "rules":
                found.append(listing)
            if len(found) >= limit:
                break
    return found


async def test_rules_only_keeps_order_and_reports_each_outcome() -> None:
    listings = [_listing(d) for d in (VAGUE, PHONE, CHEAP, PHONE_AGAIN, PHONE_256)]
    async with open_normalizer(_settings(), "none") as normalizer:
        results = await normalizer.normalize(listings)
    assert [r.listing.sku for r in results] == ["V1", "P1", "C1", "R9", "P2"]
    vague, phone, cheap, again, bigger = results
    assert vague.product is None and vague.error is not None
    assert vague.error.startswith("needs an LLM: ")
    assert cheap.product is None and cheap.error is not None
    assert cheap.error.startswith("rejected (business_rule)")
    assert phone.product is not None and again.product is not None and bigger.product is not None
    assert phone.product.source == "rules"
    assert (phone.product.brand, phone.product.category) == ("SAMSUNG", "smartphones")
    assert phone.product.attributes["storage_gb"] == 128
    assert phone.product.product_fingerprint == again.product.product_fingerprint
    assert phone.product.product_fingerprint != bigger.product.product_fingerprint
    assert all(r.llm_calls == 0 for r in results)


async def test_rules_only_accepts_a_complete_llm_bound_listing_that_passes_the_gate() -> None:
    listings = _needs_llm_listings(40)
    async with open_normalizer(_settings(), "none") as normalizer:
        results = await normalizer.normalize(listings)
    accepted = [r for r in results if r.product is not None]
    refused = [r for r in results if r.product is None]
    # Both outcomes occur among LLM-bound listings: the gate decides, not the tier.
    assert accepted and refused
    assert all(r.product.source == "rules" and r.product.tier != "rules" for r in accepted)  # type: ignore[union-attr]
    assert all((r.error or "").startswith("needs an LLM") for r in refused)


async def test_emulator_answers_llm_bound_listings_through_the_validator() -> None:
    listings = _needs_llm_listings(12)
    async with open_normalizer(_settings(), "emulator", concurrency=4) as normalizer:
        results = await normalizer.normalize(listings)
    assert [r.listing.sku for r in results] == [x.sku for x in listings]
    assert all(r.llm_calls >= 1 for r in results)
    assert all(r.llm_calls <= normalizer.settings.validation.max_llm_attempts for r in results)
    for result in results:
        if result.product is None:
            assert result.review is not None and result.error is not None
            assert result.error.startswith("review: ")
            assert any(reason.startswith("gpt-") for reason in result.review.reasons)
        else:
            assert result.product.source in ("llm", "rules")
    assert any(r.product is not None and r.product.source == "llm" for r in results)


async def test_broken_answers_use_every_attempt_then_the_last_resort() -> None:
    settings = _settings().model_copy(update={"validation": ValidationSettings(max_llm_attempts=3)})
    listings = _needs_llm_listings(4)
    broken = EmulatorConfig(faults=Faults(malformed_json_rate=1.0))
    async with open_normalizer(settings, "emulator", emulator=broken) as normalizer:
        results = await normalizer.normalize(listings)
    for result in results:
        assert result.llm_calls == 3
        # Never an LLM answer: the rules extraction when it passes the gate, else review.
        if result.product is not None:
            assert result.product.source == "rules"
        else:
            assert result.review is not None
            assert sum("unparseable_answer" in r for r in result.review.reasons) == 3


async def test_emulator_and_rules_agree_on_rules_tier_listings() -> None:
    listings = [_listing(d) for d in (PHONE, PHONE_AGAIN)]
    async with open_normalizer(_settings(), "none") as normalizer:
        rules = await normalizer.normalize(listings)
    async with open_normalizer(_settings(), "emulator") as normalizer:
        emulated = await normalizer.normalize(listings)
    assert [r.product.product_fingerprint for r in rules if r.product] == [
        r.product.product_fingerprint for r in emulated if r.product
    ]
    assert all(r.llm_calls == 0 for r in emulated)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        InlineNormalizer(_settings(), concurrency=0)


async def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown LLM mode"):
        async with open_normalizer(_settings(), "magic"):  # type: ignore[arg-type]
            pass


# ------------------------------------------------------------------------------- the command


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_cli_writes_one_line_per_input_line_in_order(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "in.jsonl",
        [
            json.dumps(PHONE),
            "{not json",
            "",
            json.dumps(CHEAP),
            json.dumps({"retailer": "paris", "sku": "X", "price": 100}),
            json.dumps(PHONE_AGAIN),
            json.dumps(PHONE_256),
        ],
    )
    out = tmp_path / "out" / "result.jsonl"
    result = CliRunner().invoke(app, ["normalize", str(source), "-o", str(out), "--llm", "none"])
    assert result.exit_code == 1, result.output  # invalid lines are a problem
    lines = _read(out)
    assert len(lines) == 6  # the blank line is not a record
    phone, bad_json, cheap, no_name, again, bigger = lines
    assert phone["sku"] == "P1" and phone["brand"] == "SAMSUNG" and phone["source"] == "rules"
    assert set(phone) == {
        "retailer",
        "sku",
        "brand",
        "model",
        "normalized_name",
        "category",
        "attributes",
        "confidence",
        "tier",
        "source",
        "input_fingerprint",
        "product_fingerprint",
        "resolution",
        "match_score",
    }
    assert phone["resolution"] == "new" and again["resolution"] in ("attached", "judged")
    assert bigger["resolution"] in ("new", "judged") and 0.0 <= bigger["match_score"] <= 1.0
    assert bad_json["line"] == 2 and "not JSON" in bad_json["error"]
    assert cheap == {"retailer": "lider", "sku": "C1", "error": cheap["error"]}
    assert "business_rule" in cheap["error"]
    assert no_name["line"] == 5 and "name" in no_name["error"]
    assert again["sku"] == "R9"
    assert again["product_fingerprint"] == phone["product_fingerprint"]
    assert bigger["product_fingerprint"] != phone["product_fingerprint"]
    assert "3 of 6 line(s) normalized" in result.output
    assert "invalid lines 2" in result.output and "rejected 1" in result.output


def test_cli_exits_0_when_every_line_is_normalized(tmp_path: Path) -> None:
    source = _write(tmp_path / "in.jsonl", [json.dumps(PHONE), json.dumps(PHONE_AGAIN)])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["normalize", str(source), "-o", str(out), "--llm", "none"])
    assert result.exit_code == 0, result.output
    assert [line["sku"] for line in _read(out)] == ["P1", "R9"]


def test_cli_with_the_emulator(tmp_path: Path) -> None:
    listings = _needs_llm_listings(3)
    source = _write(tmp_path / "in.jsonl", [x.model_dump_json() for x in listings])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app, ["normalize", str(source), "-o", str(out), "--llm", "emulator", "--concurrency", "2"]
    )
    assert result.exit_code in (0, 1), result.output
    lines = _read(out)
    assert [line["sku"] for line in lines] == [x.sku for x in listings]
    assert all("error" in line or line["source"] in ("llm", "rules") for line in lines)


def test_cli_refuses_an_unknown_llm_mode(tmp_path: Path) -> None:
    source = _write(tmp_path / "in.jsonl", [json.dumps(PHONE)])
    result = CliRunner().invoke(
        app, ["normalize", str(source), "-o", str(tmp_path / "o.jsonl"), "--llm", "magic"]
    )
    assert result.exit_code == 2


def test_cli_reports_an_unreachable_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog.cli import common

    settings = _settings().model_copy(
        update={
            "llm": _settings().llm.model_copy(
                update={"base_url": "http://127.0.0.1:9/v1", "timeout_s": 2.0}
            )
        }
    )
    monkeypatch.setattr(common, "get_settings", lambda: settings)
    source = _write(tmp_path / "in.jsonl", [json.dumps(PHONE)])
    result = CliRunner().invoke(
        app, ["normalize", str(source), "-o", str(tmp_path / "o.jsonl"), "--llm", "configured"]
    )
    assert result.exit_code == 3
