"""The brand evaluation on tiny data sets written here (no ../shared needed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from catalog.evaluation import brands as brand_eval


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _wdc_products(folder: Path) -> None:
    folder.mkdir(parents=True)
    header = ["id", "brand", "title", "description", "price", "pricecurrency", "cluster_id"]
    _write_csv(
        folder / "tableA.csv",
        header,
        [
            ["1", "Samsung", "Samsung 860 EVO 500GB SSD", "", "", "", "7"],
            ["2", "Nicht angegeben", "Kingston A400 240GB", "", "", "", "8"],
            ["3", "TP-LINK", "Switch TP-Link TL-SG105E 5 Port", "", "", "", "9"],
            ["4", "", "Logitech M185 Mouse", "", "", "", "10"],
            ["5", "Zorblatt", "Zorblatt Widget 3000", "", "", "", "11"],
        ],
    )
    _write_csv(folder / "tableB.csv", header, [["3", "TP-LINK", "Switch TP-Link", "", "", "", "9"]])
    _write_csv(
        folder / "train.csv",
        ["ltable_id", "rtable_id", "label"],
        [["1", "2", "0"], ["1", "4", "0"]],
    )
    _write_csv(
        folder / "valid.csv",
        ["ltable_id", "rtable_id", "label"],
        [["3", "5", "0"], ["3", "1", "0"]],
    )


def _wdc_pave(folder: Path) -> None:
    target = folder / brand_eval.PAVE_FOLDER
    target.mkdir(parents=True)

    def row(offer_id: int, title: str, scores: dict[str, dict[str, object]]) -> str:
        return json.dumps(
            {
                "id": offer_id,
                "category": "Office Products",
                "input_title": title,
                "target_scores": scores,
            }
        )

    report = [row(1, "Canon PG-245 Ink", {"Brand": {"Canon": {"pid": [0], "score": 1}}})]
    develop = [
        row(2, "Avery Labels 2 x 4", {"Brand": {"Avery": {"pid": [0], "score": 1}}}),
        # Stated only in the description: no title label.
        row(3, "Toner Cartridge Black", {"Brand": {"Brother": {"pid": [1], "score": 1}}}),
        row(4, "Sharp MX-C40 Toner", {"Manufacturer": {"n/a": 1}}),
    ]
    (target / "train.jsonl").write_text("\n".join(report) + "\n", encoding="utf-8")
    (target / "train_large.jsonl").write_text("\n".join(report + develop) + "\n", encoding="utf-8")


def test_title_states_keeps_labels_the_title_names_as_whole_words() -> None:
    assert brand_eval.title_states("TP-LINK", "Switch TP-Link TL-SG105E")
    assert brand_eval.title_states("Daniel Wellington", "Relógio DANIEL WELLINGTON Classic")
    assert not brand_eval.title_states("Nicht angegeben", "Samsung 860 EVO")
    assert not brand_eval.title_states("LG", "Toalla de algodón")
    assert not brand_eval.title_states("", "Samsung 860 EVO")


def test_brand_key_compares_canonical_spellings() -> None:
    assert brand_eval.brand_key("TP-Link") == brand_eval.brand_key("TP-LINK")
    assert brand_eval.brand_key("apple inc") == brand_eval.brand_key("Apple")
    assert brand_eval.brand_key("Traveler's Company") == brand_eval.brand_key("TRAVELER'S COMPANY")
    assert brand_eval.brand_key("Sony") != brand_eval.brand_key("Samsung")
    assert brand_eval.brand_key(None) == ""


def test_wdc_products_split_by_the_pairs_files_and_noisy_labels_dropped(tmp_path: Path) -> None:
    _wdc_products(tmp_path / "wdc-products")
    cases, labeled = brand_eval.wdc_products_cases(tmp_path / "wdc-products")
    assert [c.id for c in cases["develop"]] == ["1"]  # "Nicht angegeben" is not in its title
    assert labeled["develop"] == 2
    assert sorted(c.id for c in cases["report"]) == ["3", "5"]  # 1 is referenced by train too
    assert next(c for c in cases["report"] if c.id == "3").title.startswith("Switch TP-Link TL")


def test_wdc_pave_report_split_is_train_and_develop_the_rest_of_train_large(tmp_path: Path) -> None:
    _wdc_pave(tmp_path / "wdc-pave")
    cases, labeled = brand_eval.wdc_pave_cases(tmp_path / "wdc-pave")
    assert [c.id for c in cases["report"]] == ["1"]
    assert [c.id for c in cases["develop"]] == ["2"]
    assert labeled == {"develop": 1, "report": 1}


def test_score_counts_accuracy_coverage_and_precision() -> None:
    cases = [
        brand_eval.BrandCase("1", "Samsung 860 EVO", ("Samsung",)),
        brand_eval.BrandCase("2", "Switch TP-Link TL-SG105E", ("TP-LINK",)),
        brand_eval.BrandCase("3", "Zorblatt Widget", ("Zorblatt",)),
        brand_eval.BrandCase("4", "Acme Anvil", ("Acme",)),
    ]
    answers = {"1": "SAMSUNG", "2": "tp link", "3": "WIDGET", "4": None}
    by_title = {c.title: answers[c.id] for c in cases}
    scores = brand_eval.score(cases, by_title.get)
    assert (scores.offers, scores.correct, scores.branded) == (4, 2, 3)
    assert scores.accuracy == 0.5
    assert scores.coverage == 0.75
    assert [e.title for e in scores.errors] == ["Zorblatt Widget", "Acme Anvil"]


def test_unseen_brands_keeps_report_cases_whose_brand_develop_never_names() -> None:
    develop = [brand_eval.BrandCase("1", "Samsung 860", ("Samsung",))]
    report = [
        brand_eval.BrandCase("2", "SAMSUNG T7", ("SAMSUNG",)),
        brand_eval.BrandCase("3", "Kingston A400", ("Kingston",)),
    ]
    assert [c.id for c in brand_eval.unseen_brands(report, develop)] == ["3"]


def test_evaluate_runs_the_rules_on_titles_and_skips_missing_data(tmp_path: Path) -> None:
    assert brand_eval.evaluate(tmp_path) == {}
    _wdc_products(tmp_path / "wdc-products")
    _wdc_pave(tmp_path / "wdc-pave")
    results = brand_eval.evaluate(tmp_path)
    assert set(results) == {"wdc-products", "wdc-pave"}
    develop = results["wdc-products"]["develop"]
    assert (develop.offers, develop.correct) == (1, 1)  # "Samsung 860 EVO 500GB SSD"
    assert results["wdc-pave"]["report"].correct == 1  # "Canon PG-245 Ink"
    assert brand_eval.main(["--data-dir", str(tmp_path / "absent")]) == 0
    out = tmp_path / "brands.json"
    assert brand_eval.main(["--data-dir", str(tmp_path), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["wdc-products"]["develop"]["accuracy"] == 1.0
