"""Raw listings from files: the contract's own fields, or the names stores and scrapers write.

`catalog publish` and `catalog normalize` read JSONL (one object a line), JSON (an array of
objects), CSV (comma, semicolon or tab separated, with or without a byte-order mark, as
spreadsheets save them), in UTF-8 or, failing that, the Windows code page (cp1252), and Excel
workbooks (`.xlsx`: the first sheet, its first non-empty row the header). A record
in the raw contract's shape (`schemas.models.RawListing`) reads as it is. A scraper's own
names are mapped to the contract's fields (`FIELD_NAMES`: `store` / `tienda` -> `retailer`,
`title` / `nombre` -> `name`, `precio` -> `price`, `gtin` / `barcode` -> `ean`, `marca` ->
`brand`, ...), compared without case, accents or separators (`Product Name` is
`product_name`); where a record holds several names of one field, the contract's own name comes
first, then the order of `FIELD_NAMES`. Names that map to no field are left out and listed once
(`ReadResult.ignored`), so one extra column does not turn every record away. Empty values and
placeholders (`n/a`, `-`, `null`) are absent values; a price written with more than its amount
(`$ 549,00- 52%`) is read as its amount (`price_text`). A record without a `sku` takes one from
its `url`, else from its title (`derived_sku`): the same page or title of one store is then the
same listing each time a file of that store is read again.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from catalog.cli.common import err
from catalog.kafka.codec import encode
from catalog.kafka.topics import RAW, RAW_MAX_BYTES
from schemas.models import RawListing

__all__ = [
    "FIELD_NAMES",
    "RETAILER_HELP",
    "ReadResult",
    "contract_record",
    "derived_sku",
    "price_text",
    "read_listings",
    "report_ignored",
]

FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "retailer": ("store", "store_name", "shop", "seller", "merchant", "vendor", "tienda",
                 "comercio", "vendedor", "retailer_name"),
    "sku": ("id", "sku_id", "item_id", "product_id", "offer_id", "listing_id", "codigo",
            "codigo_producto", "id_producto"),
    "name": ("title", "product_name", "product_title", "product", "item_name", "nombre",
             "titulo", "producto", "nombre_producto"),
    "price": ("precio", "current_price", "sale_price", "offer_price", "precio_oferta",
              "precio_actual", "precio_internet"),
    "price_original": ("list_price", "original_price", "regular_price", "precio_normal",
                       "precio_lista", "precio_original"),
    "ean": ("gtin", "gtin13", "ean13", "upc", "barcode", "codigo_barras", "codigo_de_barras"),
    "brand": ("marca", "manufacturer", "fabricante", "maker"),
    "category": ("categoria", "category_name", "category_path", "breadcrumb", "seccion",
                 "section", "department", "departamento"),
    "url": ("link", "product_url", "href", "enlace"),
}  # fmt: skip
"""Each contract field and the other names a file may give it, most specific first."""

RETAILER_HELP = "the store of records that name none (one store's own export)"

# Written in spreadsheets and scrapers' exports where a value is missing.
_PLACEHOLDERS = frozenset({"", "-", "--", "n/a", "na", "null", "none", "nan"})
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_EAN_SEPARATORS = re.compile(r"[\s-]")
_CSV_DELIMITERS = ",;\t"
_DIGIT = re.compile(r"\d")
_AMOUNT_AFTER_SIGN = re.compile(r"\$\s*(\d[\d.,]*)")
_AMOUNT = re.compile(r"\d[\d.,]*")


def _name_key(name: str) -> str:
    """A column name compared without case, accents or separators (`Código de Barras` ->
    `codigo_de_barras`)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _SEPARATORS.sub("_", folded.lower()).strip("_")


def _fields_by_name() -> dict[str, tuple[str, int]]:
    """Each accepted name -> (its field, its rank among the field's names: 0 for the field)."""
    names: dict[str, tuple[str, int]] = {
        name: (name, 0) for name in RawListing.model_fields if name not in FIELD_NAMES
    }
    for name, others in FIELD_NAMES.items():
        for rank, other in enumerate((name, *others)):
            names[_name_key(other)] = (name, rank)
    return names


_FIELDS = _fields_by_name()


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _PLACEHOLDERS)


def price_text(value: str) -> str:
    """The amount in a scraped price string, what the contract's price parser reads: the first
    one written after a `$`, else the first number (`$ 549,00- 52%` -> `549,00`); the string
    as it is when it holds no number, for the contract to refuse."""
    found = _AMOUNT_AFTER_SIGN.search(value)
    if found is not None:
        return found.group(1).rstrip(".,")
    number = _AMOUNT.search(value)
    return number.group().rstrip(".,") if number is not None else value


def derived_sku(record: Mapping[str, Any]) -> str | None:
    """A sku for a record that has none: from its `url`, else its title (letter case and runs
    of spaces do not count); None without either."""
    for source, prefix in (("url", "u"), ("name", "t")):
        value = record.get(source)
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split()).lower()
            return prefix + hashlib.sha256(text.encode()).hexdigest()[:20]
    return None


def contract_record(
    raw: Mapping[str, Any], retailer: str | None = None, *, require_price: bool = True
) -> tuple[dict[str, Any], list[str]]:
    """The record with its names mapped to the contract's fields (`retailer`: the store of a
    record that names none), and the names that map to none (or to a field an earlier name
    already gave). Without `require_price`, a price written without any number (`consultar`,
    `$NaN`) is no price rather than an error."""
    chosen: dict[str, tuple[int, str, Any]] = {}
    ignored: list[str] = []
    for key, value in raw.items():
        name = str(key)
        target = _FIELDS.get(_name_key(name))
        if target is None:
            ignored.append(name)
            continue
        field_name, rank = target
        if _absent(value):
            continue
        held = chosen.get(field_name)
        if held is not None and held[0] <= rank:
            ignored.append(name)
            continue
        if held is not None:
            ignored.append(held[1])
        chosen[field_name] = (rank, name, value)
    record = {name: value for name, (_, _, value) in chosen.items()}
    if isinstance(record.get("attributes"), str):
        record["attributes"] = json.loads(record["attributes"])
    for price in ("price", "price_original"):
        if isinstance(record.get(price), str):
            record[price] = price_text(record[price])
            if not require_price and not _DIGIT.search(record[price]):
                del record[price]
    ean = record.get("ean")
    if isinstance(ean, int) and not isinstance(ean, bool):
        record["ean"] = str(ean)
    elif isinstance(ean, str):
        record["ean"] = _EAN_SEPARATORS.sub("", ean)
    if retailer is not None and "retailer" not in record:
        record["retailer"] = retailer
    if "sku" not in record:
        sku = derived_sku(record)
        if sku is not None:
            record["sku"] = sku
    return record, ignored


@dataclass
class ReadResult:
    listings: list[RawListing] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    """Every record's number in file order (its line; a JSON array's element, from 1)."""
    ignored: list[str] = field(default_factory=list)
    """Names in the file that map to no contract field, each once, in order of appearance."""
    truths: list[str | None] = field(default_factory=list)
    """With `truth`: each listing's value of that column (None where it is empty)."""
    truth_found: bool = False
    """With `truth`: some record has the column."""


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Windows save CSV in their ANSI code page, not in UTF-8.
        return data.decode("cp1252", errors="replace")


def _cell(value: Any) -> str:
    """A spreadsheet cell as a CSV file would hold it: a whole number without its `.0` (a price,
    an EAN typed as a number), a date in ISO form, nothing as an empty text."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _workbook_records(path: Path) -> Iterator[tuple[int, Any]]:
    """The first sheet's rows after its header (its first row with a value), numbered as the
    spreadsheet numbers them."""
    import openpyxl  # only for a workbook: every other file and command starts without it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        yield 1, ValueError(f"not an Excel workbook (.xlsx): {exc}")
        return
    try:
        sheet = book.worksheets[0]
        header: list[str] | None = None
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell(v).strip() for v in row]
            if not any(cells):
                continue
            if header is None:
                header = cells
                continue
            yield number, {name: value for name, value in zip(header, cells, strict=False) if name}
    finally:
        book.close()


def _records(path: Path) -> Iterator[tuple[int, Any]]:
    """(number, record) of each record: a dict, a JSONL line's text (parsed by the caller, so a
    broken line is one error, not the end of the file), or the error of a JSON file that does
    not parse, of a CSV file whose rest cannot be read or of a workbook that does not open."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        yield from _workbook_records(path)
        return
    if suffix == ".xls":
        yield 1, ValueError("an Excel 97-2003 workbook (.xls): save it as .xlsx or CSV")
        return
    text = _text(path)
    if suffix == ".csv":
        # Spreadsheets in Spanish-speaking locales separate with semicolons: the header line's
        # most frequent separator is the file's.
        header = text.split("\n", 1)[0]
        delimiter = max(_CSV_DELIMITERS, key=lambda d: (header.count(d), d == ","))
        rows = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
        # A record is numbered by its first line (a quoted cell may hold line breaks).
        last = 0
        try:
            if rows.fieldnames is None:
                return
            last = rows.line_num
            for row in rows:
                yield last + 1, {k: v for k, v in row.items() if k is not None}
                last = rows.line_num
        except csv.Error as exc:
            # The rest of the file cannot be split into records: one error, where it stopped.
            yield last + 1, ValueError(f"not CSV from here on: {exc}")
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield exc.lineno, exc
            return
        for index, item in enumerate(data if isinstance(data, list) else [data]):
            yield index + 1, item
    else:
        for index, line in enumerate(text.split("\n")):
            if line.strip():
                yield index + 1, line


_HINTS = {name: ", ".join((name, *others[:4])) for name, others in FIELD_NAMES.items()}


def _problem(exc: ValidationError) -> str:
    errors = exc.errors(include_input=False)
    # A missing sku is taken from the title: without a title, the title is what is missing.
    first = min(errors, key=lambda e: tuple(e["loc"]) == ("sku",))
    where = ".".join(str(p) for p in first["loc"]) or "<root>"
    problem = f"{where}: {first['msg']}"
    if first["type"] == "missing" and where in _HINTS:
        problem += f" (a column named {_HINTS[where]}, ...)"
    return problem


def read_listings(
    path: Path,
    retailer: str | None = None,
    truth: str | None = None,
    *,
    require_price: bool = True,
) -> ReadResult:
    """Every record of a JSONL, JSON, CSV or .xlsx file, validated against the raw listing contract
    after its names are mapped (`contract_record`; `retailer`: the store of records that name
    none, as in one store's own export); a record that fails is an error with its number, not
    a listing. `truth` names a column held out of the listings (an EAN or a product id to score
    grouping against, which the normalizer must not see): its values are in `truths`. A record
    without a price is an error where `require_price` (what the pipeline takes: an offer has a
    price), a listing without one otherwise (what `catalog normalize` names)."""
    result = ReadResult()
    ignored: dict[str, None] = {}
    truth_key = _name_key(truth) if truth is not None else None
    for number, item in _records(path):
        result.numbers.append(number)
        try:
            if isinstance(item, ValueError):
                raise item
            raw = json.loads(item) if isinstance(item, str) else item
            if not isinstance(raw, dict):
                raise ValueError(f"a record must be an object, not {type(raw).__name__}")
            held: Any = None
            if truth_key is not None:
                names = [k for k in raw if _name_key(str(k)) == truth_key]
                result.truth_found = result.truth_found or bool(names)
                values = [raw[k] for k in names if not _absent(raw[k])]
                held = str(values[0]).strip() if values else None
                raw = {k: v for k, v in raw.items() if k not in names}
            record, unknown = contract_record(raw, retailer, require_price=require_price)
            ignored.update(dict.fromkeys(unknown))
            listing = RawListing.model_validate(record)
            if require_price and listing.price is None:
                raise ValueError(f"price: Field required (a column named {_HINTS['price']}, ...)")
        except json.JSONDecodeError as exc:
            result.errors.append((number, f"not JSON: {exc.msg}"))
            continue
        except ValidationError as exc:
            result.errors.append((number, _problem(exc)))
            continue
        except ValueError as exc:
            result.errors.append((number, str(exc)))
            continue
        size = len(encode(listing))
        if size > RAW_MAX_BYTES:
            too_big = f"listing of {size:,} bytes exceeds the {RAW_MAX_BYTES:,}-byte maximum"
            result.errors.append((number, f"{too_big} of {RAW.name}"))
            continue
        result.listings.append(listing)
        result.truths.append(held)
    result.ignored = list(ignored)
    return result


def report_ignored(path: Path, ignored: list[str]) -> None:
    """One line on stderr naming the file's names that map to no contract field."""
    if ignored:
        shown = ", ".join(ignored[:20]) + (", ..." if len(ignored) > 20 else "")
        err.print(f"{path}: ignored (no such field): {shown}", markup=False, highlight=False)
