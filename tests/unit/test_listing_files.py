"""Raw listings from files written by stores and scrapers, not only in the contract's shape."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from catalog.cli import app
from catalog.cli.listing_files import contract_record, derived_sku, price_text, read_listings
from catalog.cli.normalize import CSV_COLUMNS


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_a_spreadsheet_export_with_spanish_headers_reads_as_listings(tmp_path: Path) -> None:
    # A byte-order mark, semicolons, the store's own names and a column the contract lacks.
    feed = _write(
        tmp_path / "jumbo.csv",
        "Tienda;Título;Precio;Código de Barras;Marca;query_category\n"
        "Jumbo;Leche Colun Entera 1 L;$1.090;7 802920-000017;Colun;Leche\n"
        "Jumbo;Yogurt Soprole Frutilla 155 g;$ 549,00- 52%;n/a;-;Yogurt\n"
        "Jumbo;Leche Colun Entera 1 L;$1.150;;;Leche\n",
        encoding="utf-8-sig",
    )
    read = read_listings(feed)
    assert read.errors == []
    assert read.numbers == [2, 3, 4]
    assert read.ignored == ["query_category"]
    milk, yogurt, milk_again = read.listings
    assert (milk.retailer, milk.name, milk.price) == ("jumbo", "Leche Colun Entera 1 L", 1090)
    assert milk.ean == "7802920000017" and milk.brand == "Colun"
    assert yogurt.price == 549  # the amount, not the discount written after it
    assert yogurt.ean is None and yogurt.brand is None  # placeholders are absent values
    # No sku column: the title gives one, so the same title is the same listing again.
    assert milk.sku == milk_again.sku != yogurt.sku
    assert milk.listing_key != yogurt.listing_key


def test_a_file_in_the_contracts_shape_reads_as_it_is(tmp_path: Path) -> None:
    record = {"retailer": "paris", "sku": "2919568", "name": "AirPods Pro 2", "price": 249990}
    feed = _write(tmp_path / "feed.jsonl", json.dumps(record) + "\n\n" + json.dumps(record))
    read = read_listings(feed)
    assert read.numbers == [1, 3] and read.ignored == []
    assert [x.model_dump(include=set(record)) for x in read.listings] == [record, record]


def test_a_json_array_with_urls_takes_its_skus_from_them(tmp_path: Path) -> None:
    items: list[Any] = [
        {"store": "ripley", "title": "Notebook HP 15", "price": 499990, "url": "https://r.cl/1"},
        {"store": "ripley", "title": "Notebook HP 15", "price": 459990, "url": "https://r.cl/2"},
        ["not", "an", "object"],
    ]
    read = read_listings(_write(tmp_path / "scrape.json", json.dumps(items)))
    first, second = read.listings
    assert first.sku == derived_sku({"url": "https://r.cl/1"}) and first.sku != second.sku
    assert read.errors == [(3, "a record must be an object, not list")]


def test_the_contracts_own_name_comes_before_a_store_s(tmp_path: Path) -> None:
    record, ignored = contract_record(
        {"title": "Arroz Tucapel", "name": "Arroz Tucapel Grado 1 1 kg", "Nombre": "x"}
    )
    assert record["name"] == "Arroz Tucapel Grado 1 1 kg"
    assert ignored == ["title", "Nombre"]
    # An empty contract column does not hide a filled one of another name.
    record, _ = contract_record({"name": "", "title": "Arroz Tucapel 1 kg", "sku": "9"})
    assert record == {"name": "Arroz Tucapel 1 kg", "sku": "9"}


def test_a_missing_field_names_the_columns_that_would_give_it(tmp_path: Path) -> None:
    feed = _write(tmp_path / "feed.csv", "title,price\nArroz Tucapel 1 kg,1290\n")
    read = read_listings(feed)
    assert read.listings == []
    [(number, problem)] = read.errors
    assert number == 2
    assert problem.startswith("retailer: Field required") and "store" in problem


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("$ 549,00- 52%", "549,00"),
        ("$\xa04299,00- 21%", "4299,00"),
        ("3x $2.000", "2.000"),
        ("12.990", "12.990"),
        ("consultar", "consultar"),
    ],
)
def test_a_scraped_price_is_read_as_its_amount(text: str, amount: str) -> None:
    assert price_text(text) == amount


def test_a_price_with_no_amount_is_still_refused(tmp_path: Path) -> None:
    feed = _write(tmp_path / "feed.csv", "store,title,price\nhites,Parlante JBL Go 3,consultar\n")
    [(_, problem)] = read_listings(feed).errors
    assert problem.startswith("price:") and "not a CLP amount" in problem


def test_normalize_reads_a_store_s_csv(tmp_path: Path) -> None:
    feed = _write(
        tmp_path / "store.csv",
        "store,title,price,rating\n"
        "lider,Arroz Tucapel Grado 1 1 kg,1290,4.5\n"
        "lider,,990,3\n"
        "jumbo,Arroz Tucapel Grado 1 1 kg,1350,5\n",
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["normalize", str(feed), "-o", str(out), "--llm", "none"])
    assert result.exit_code == 1, result.output  # one record has no title
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3
    first, bad, second = lines
    assert bad["line"] == 3 and bad["error"].startswith("name: Field required")
    assert first["retailer"] == "lider" and second["retailer"] == "jumbo"
    assert first["sku"] == second["sku"]  # one title, whatever the store
    assert "rating" in result.output  # the ignored column is named


def test_normalize_writes_its_lines_to_standard_output_with_o_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = _write(
        tmp_path / "store.csv",
        "store,title,price\nlider,Arroz Tucapel Grado 1 1 kg,1290\njumbo,Arroz Tucapel 1 kg,1350\n",
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["normalize", str(feed), "-o", "-", "--llm", "none"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]  # nothing else on stdout
    assert [line["retailer"] for line in lines] == ["lider", "jumbo"]
    assert "2 of 2 line(s) normalized" in result.stderr and "standard output" in result.stderr
    assert not (tmp_path / "-").exists()


def test_a_store_s_excel_export_reads_as_its_csv_would(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])  # a blank first row before the header, as exports often have
    sheet.append(["Tienda", "Nombre", "Precio", "EAN"])
    sheet.append(["Lider", "Arroz Tucapel Grado 1 1 kg", 1290, 7801320000017])
    sheet.append(["Jumbo", "Arroz Tucapel 1 kg", 1350.0, None])
    sheet.append(["Jumbo", None, 990, None])
    feed = tmp_path / "export.xlsx"
    book.save(feed)
    read = read_listings(feed)
    assert [(x.retailer, x.name, x.price) for x in read.listings] == [
        ("lider", "Arroz Tucapel Grado 1 1 kg", 1290),
        ("jumbo", "Arroz Tucapel 1 kg", 1350),
    ]
    assert read.listings[0].ean == "7801320000017"  # a number typed into a cell, as written
    [(row, problem)] = read.errors
    assert row == 5 and problem.startswith("name: Field required")  # the spreadsheet's row
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["normalize", str(feed), "-o", str(out), "--llm", "none"])
    assert result.exit_code == 1 and "2 of 3 line(s) normalized" in result.output


def test_a_file_that_is_no_workbook_is_one_error(tmp_path: Path) -> None:
    fake = _write(tmp_path / "export.xlsx", "Tienda,Nombre\nLider,Arroz\n")
    [(row, problem)] = read_listings(fake).errors
    assert row == 1 and problem.startswith("not an Excel workbook (.xlsx)")
    old = _write(tmp_path / "export.xls", "")
    assert read_listings(old).errors == [
        (1, "an Excel 97-2003 workbook (.xls): save it as .xlsx or CSV")
    ]


def test_one_store_s_export_takes_its_store_from_the_command_line(tmp_path: Path) -> None:
    feed = _write(tmp_path / "export.csv", "sku,nombre,precio\n77,Arroz Tucapel 1 kg,1290\n")
    assert read_listings(feed).errors[0][1].startswith("retailer: Field required")
    [listing] = read_listings(feed, "Santa Isabel").listings
    assert listing.listing_key == "santa_isabel:77"
    # A record's own store comes first.
    both = _write(tmp_path / "both.csv", "store,sku,title,price\nlider,1,Arroz Tucapel 1 kg,990\n")
    assert read_listings(both, "jumbo").listings[0].retailer == "lider"
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app, ["normalize", str(feed), "-o", str(out), "--llm", "none", "--retailer", "unimarc"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["retailer"] == "unimarc"


def test_normalize_writes_a_csv_for_a_spreadsheet(tmp_path: Path) -> None:
    feed = _write(
        tmp_path / "store.csv",
        "store;title;price\n"
        "lider;Leche Colun Entera 1 L;1090\n"
        "lider;;990\n"
        "jumbo;Leche Entera Colun 1 L;1150\n",
    )
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["normalize", str(feed), "-o", str(out), "--llm", "none"])
    assert result.exit_code == 1, result.output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["line"] for row in rows] == ["2", "3", "4"]
    milk, bad, again = rows
    assert milk["name"] == "Leche Colun Entera 1 L" and milk["brand"] == "COLUN"
    assert json.loads(milk["attributes"])["volume_ml"] == 1000
    assert bad["name"] == "" and bad["error"].startswith("name: Field required")
    assert again["retailer"] == "jumbo"
    assert again["product_fingerprint"] == milk["product_fingerprint"] != ""
    assert "1 master product(s), 1 with listings of 2+ stores" in result.output
    # Every field of the JSON lines has its column (a new one is not dropped on the way).
    jsonl = tmp_path / "out.jsonl"
    CliRunner().invoke(app, ["normalize", str(feed), "-o", str(jsonl), "--llm", "none"])
    for line in jsonl.read_text(encoding="utf-8").splitlines():
        assert set(json.loads(line)) <= set(CSV_COLUMNS)


def test_a_spreadsheet_saved_in_the_windows_code_page_reads_too(tmp_path: Path) -> None:
    feed = tmp_path / "paris.csv"
    feed.write_bytes(
        "tienda;título;precio\r\nParis;Café Marley Coffee 250 g;$5.990\r\n".encode("cp1252")
    )
    [listing] = read_listings(feed).listings
    assert (listing.retailer, listing.name, listing.price) == (
        "paris",
        "Café Marley Coffee 250 g",
        5990,
    )


def test_a_json_file_that_does_not_parse_is_one_error(tmp_path: Path) -> None:
    feed = _write(tmp_path / "scrape.json", '[{"store": "lider",\n "title": ]')
    read = read_listings(feed)
    assert read.listings == [] and read.numbers == [2]
    assert read.errors[0][0] == 2 and read.errors[0][1].startswith("not JSON")


def test_normalize_scores_grouping_against_a_column_it_holds_out(tmp_path: Path) -> None:
    # The rice's EAN is the milk's (as a mislabeled row would be): read by the normalizer, the
    # shared GTIN would put all three in one master; held out, only the two milks are one.
    feed = _write(
        tmp_path / "labeled.csv",
        "store,title,price,ean\n"
        "lider,Leche Colun Entera 1 L,1090,7802920000017\n"
        "jumbo,Leche Entera Colun 1 L,1150,7802920000017\n"
        "tottus,Arroz Tucapel Grado 1 1 kg,1290,7802920000017\n"
        "unimarc,Aceite Belmont 1 L,2490,\n",
    )
    read = read_listings(feed, truth="EAN")
    assert read.truths == ["7802920000017"] * 3 + [None]
    assert all(listing.ean is None for listing in read.listings)
    out = tmp_path / "out.jsonl"
    args = ["normalize", str(feed), "-o", str(out), "--llm", "none", "--truth", "ean"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "grouping against ean: precision 1.000, recall 0.333, F1 0.500" in result.output
    assert "over 3 true cross-store pair(s); 0 keyed listing(s) without a master" in result.output
    # COLUN / COLUN / TUCAPEL: one pair of three agrees.
    assert "the same brand in 33.3% of 3 cross-store pair(s)" in result.output
    missing = CliRunner().invoke(app, [*args[:-1], "upc"])
    assert missing.exit_code == 2 and "no record" in missing.output


def test_a_csv_that_breaks_off_keeps_the_records_before_it(tmp_path: Path) -> None:
    # A cell over the csv module's field limit (an unclosed quote swallowing the rest of a
    # large file looks like this): the records before it are read, the rest is one error.
    huge = "x" * 200_000
    feed = _write(
        tmp_path / "broken.csv",
        f'store,title,price\nlider,Arroz Tucapel 1 kg,1290\nlider,"{huge},990\n',
    )
    read = read_listings(feed)
    assert [x.name for x in read.listings] == ["Arroz Tucapel 1 kg"]
    [(number, problem)] = read.errors
    assert number == 3 and problem.startswith("not CSV from here on: field larger than")


def test_a_record_is_numbered_by_its_first_line(tmp_path: Path) -> None:
    feed = _write(
        tmp_path / "multiline.csv",
        'store,title,price\nlider,"Arroz Tucapel\nGrado 1 1 kg",1290\nlider,,990\n',
    )
    read = read_listings(feed)
    assert read.numbers == [2, 4]
    assert read.errors[0][0] == 4


def test_a_record_without_a_price_is_normalized_but_not_published(tmp_path: Path) -> None:
    feed = _write(
        tmp_path / "titles.csv",
        "store,title,precio\n"
        "jumbo,Leche Colun Entera 1 L,\n"
        "lider,Leche Entera Colun 1L,consultar\n"
        "unimarc,Leche Colun Entera 1 Litro,$1.090\n",
    )
    # The pipeline's contract: an offer has a price.
    published = read_listings(feed)
    assert [n for n, _ in published.errors] == [2, 3]
    assert published.errors[0][1].startswith("price: Field required (a column named price")
    assert "not a CLP amount" in published.errors[1][1]
    # Naming a product needs none.
    named = read_listings(feed, require_price=False)
    assert not named.errors and [x.price for x in named.listings] == [None, None, 1090]
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["normalize", str(feed), "-o", str(out), "--llm", "none"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [x["brand"] for x in lines] == ["COLUN"] * 3
    assert len({x["product_fingerprint"] for x in lines}) == 1
