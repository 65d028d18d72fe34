"""Strong identifiers read from a listing: GTINs, manufacturer part numbers and model codes,
and the processor / graphics models that tell two computer configurations apart.

* `canonical_gtin`: a checksum-valid GTIN-8/12/13/14 in one form (14 digits, zero-padded), so
  an EAN-13 and the UPC-A or GTIN-14 spelling of the same number compare equal.
* `model_codes`: maker codes from a title, separators removed and lowercased (`KDL-40V5100` =
  `kdl40v5100`, `[20GF0001US]` = `20gf0001us`); units (`256gb`, `55in`, `750ml`) and processor
  or GPU models are not codes.
* `code_relation`: how two codes relate (equal, a regional or colour suffix apart, one inside
  the other) so that `wh1000xm3b` and `wh1000xm3` count as the same model.
* `processor_models`: `i5-1235u`, `ryzen 5 5600h`, `rtx 4060`, `m2 pro`, normalized.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from catalog.domain import units

__all__ = [
    "CodeRelation",
    "canonical_gtin",
    "code_relation",
    "code_stem",
    "model_codes",
    "processor_models",
]

_GTIN_LENGTHS = frozenset({8, 12, 13, 14})


def canonical_gtin(value: object) -> str | None:
    """The 14-digit form of a checksum-valid GTIN-8/12/13/14, else None.

    Spaces and hyphens are ignored; an all-zero number or a wrong check digit is not a GTIN."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = re.sub(r"[\s-]", "", value)
    else:
        return None
    if not text.isdigit() or len(text) not in _GTIN_LENGTHS or not text.strip("0"):
        return None
    body, check = text[:-1], int(text[-1])
    # GS1 check digit: weights 3,1,3,1... from the rightmost digit of the body.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        return None
    return text.zfill(14)


# A unit or quantity glued to a number is a measure, never a model code: 256gb, 55in, 1.5l,
# 750ml, 2x1, 4k, 1080p, 12v, 65w, 3pack.
_UNIT_TOKEN = re.compile(
    r"\d+(?:[.,]\d+)?(?:tb|gb|mb|kb|ghz|mhz|hz|in|inch|ml|cc|cl|dl|l|lt|lts|ltr|g|gr|grs|kg|kgs|"
    r"mg|oz|lb|lbs|un|und|uds|u|mah|wh|w|kw|v|mm|cm|m|mt|ft|mp|k|p|x|pk|pack|pcs|pc|ct|"
    r"st|nd|rd|th|hs|h|min|s|ch|pulg|pul|watt|watts|bit|db|ms|rpm|a|ma|ah|gen)"
)
_PACK_TOKEN = re.compile(r"\d+x\d+(?:[.,]\d+)?[a-z]*|x\d+[a-z]*|\d+[a-z]?x\d+[a-z]?")
_RESOLUTION = re.compile(r"\d{3,4}x\d{3,4}")
_HAS_ALPHA = re.compile(r"[a-z]")
_HAS_DIGIT = re.compile(r"\d")
# Compound tokens: letters and digits joined by separators a maker puts inside a code.
_COMPOUND = re.compile(r"[a-z0-9]+(?:[-/._][a-z0-9]+)*")
_BRACKETED = re.compile(r"[\[(]([a-z0-9][a-z0-9 ._/-]{2,30})[\])]")

_CPU = re.compile(
    r"\b(?:(?:core\s*)?(?:intel\s*)?(i[3579])\s*-?\s*(\d{4,5}(?:[a-z]{1,3}\d?)?)"
    r"|(ryzen)\s*([3579])\s*(?:pro\s*)?(\d{4}[a-z]{0,3})"
    r"|(celeron|pentium|athlon)\s*(?:silver|gold)?\s*([a-z]?\d{3,5}[a-z]{0,2})"
    r"|(core\s*ultra)\s*([3579])\s*-?\s*(\d{3}[a-z]{0,2})"
    r"|apple\s*(m[1-4])(?:\s*(pro|max|ultra))?"
    r"|\b(m[1-4])\s+(pro|max|ultra)\s+chip"
    r"|(snapdragon)\s*(?:x\s*)?(elite|plus|\d{3,4}[a-z]?)"
    r"|(rtx|gtx|rx)\s*-?\s*(\d{3,4})\s*(ti|super|xt|xtx)?)\b"
)


def processor_models(title: str) -> frozenset[str]:
    """CPU and GPU models named in a title, compacted: `i5-1235u` -> `i5-1235u`, `Ryzen 5 5600H`
    -> `ryzen5-5600h`, `RTX 4060 Ti` -> `rtx4060ti`, `Apple M2 Pro` -> `m2pro`."""
    return _processor_models(units.fold(title or "")[:500])


@lru_cache(maxsize=65536)
def _processor_models(text: str) -> frozenset[str]:
    found: set[str] = set()
    for match in _CPU.finditer(text):
        groups = [g for g in match.groups() if g]
        if not groups:
            continue
        head = re.sub(r"\s+", "", groups[0])
        if head in ("rtx", "gtx", "rx"):
            found.add(head + "".join(groups[1:]))
        elif head in ("ryzen", "coreultra"):
            found.add(f"{head}{groups[1]}-{''.join(groups[2:])}")
        elif head in ("celeron", "pentium", "athlon", "snapdragon"):
            found.add(f"{head}-{groups[1]}")
        else:
            found.add(f"{head}-{''.join(groups[1:])}" if head.startswith("i") else "".join(groups))
    return frozenset(found)


def _is_code(token: str) -> bool:
    if len(token) < 4 or len(token) > 24:
        return False
    if not _HAS_DIGIT.search(token):
        return False
    if not _HAS_ALPHA.search(token):
        # All digits: a long catalogue number (7599838199) is a part number; a year or a
        # quantity is not.
        return len(token) >= 6
    if _UNIT_TOKEN.fullmatch(token) or _PACK_TOKEN.fullmatch(token) or _RESOLUTION.fullmatch(token):
        return False
    # At least two digits, or a single digit inside a longer letter run (xm3 is a code only as
    # part of wh1000xm3): "4k", "a5" and "v2" are too short to identify anything.
    return sum(c.isdigit() for c in token) >= 2 or len(token) >= 5


def model_codes(title: str, brand: str | None = None) -> frozenset[str]:
    """Manufacturer part numbers and model codes in `title`, lowercase with separators removed.

    `KDL-40V5100` and `kdl40v5100` give `kdl40v5100`; `Dell XPS 13 [20GF0001US]` gives
    `20gf0001us`; `WH-1000XM3/B` gives `wh1000xm3b`. Measures (`256GB`, `55"`, `750 ml`) and
    processor or GPU models are left out. A code equal to the brand is dropped."""
    return _model_codes(units.fold(title or "")[:500], units.fold(brand or ""))


@lru_cache(maxsize=65536)
def _model_codes(text: str, brand: str) -> frozenset[str]:
    processors = _processor_models(text)
    skip = {p.replace("-", "") for p in processors}
    skip.add(re.sub(r"[^a-z0-9]", "", brand))
    codes: set[str] = set()
    pieces: list[str] = [m.group(1) for m in _BRACKETED.finditer(text)]
    pieces.extend(m.group(0) for m in _COMPOUND.finditer(text))
    for piece in pieces:
        parts = [p for p in re.split(r"[-/._ ]", piece) if p]
        joined = "".join(parts)
        if len(parts) > 1 and _is_code(joined) and not _looks_like_measure(parts):
            codes.add(joined)
            # "cc-9011050-ww": the code without its regional or colour suffix too.
            if len(parts[-1]) <= 3 and parts[-1].isalpha() and _is_code("".join(parts[:-1])):
                codes.add("".join(parts[:-1]))
        for part in parts:
            if _is_code(part):
                codes.add(part)
    return frozenset(c for c in codes if c not in skip and not _inside_processor(c, skip))


_UNIT_WORDS = frozenset(
    [
        "tb",
        "gb",
        "mb",
        "in",
        "inch",
        "ml",
        "cc",
        "l",
        "lt",
        "g",
        "gr",
        "kg",
        "mg",
        "oz",
        "lb",
        "v",
        "w",
        "mm",
        "cm",
        "m",
        "hz",
        "ghz",
        "mah",
        "mp",
        "k",
        "p",
        "x",
        "pack",
        "un",
    ]
)


def _looks_like_measure(parts: list[str]) -> bool:
    """`1.5l`, `2.5-inch`, `16/512gb`, `100-240v`: numbers and units joined, not a code."""
    return all(p.isdigit() or _UNIT_TOKEN.fullmatch(p) or p in _UNIT_WORDS for p in parts) and any(
        not p.isdigit() for p in parts
    )


def _inside_processor(code: str, processors: set[str]) -> bool:
    return any(code in p or p in code for p in processors if len(p) >= 4)


_SUFFIX = re.compile(r"^(.*\d[a-z0-9]*?)([a-z]{1,3})$")


def code_stem(code: str) -> str:
    """A code without a trailing regional or colour letter suffix (`wh1000xm3b` -> `wh1000xm3`,
    `kdl40v5100` unchanged): the key two spellings of one model share."""
    match = _SUFFIX.match(code)
    if match is None or len(match.group(1)) < 4:
        return code
    return match.group(1)


CodeRelation = Literal["equal", "suffix", "contained", "none"]


def code_relation(left: str, right: str) -> CodeRelation:
    """`equal`; `suffix`: one is the other plus up to three trailing letters (`wh1000xm3b` /
    `wh1000xm3`); `contained`: the shorter (at least five characters, with digits) lies inside the
    longer (`s051160` / `c13s051160`); else `none`."""
    if left == right:
        return "equal"
    short, long = (left, right) if len(left) <= len(right) else (right, left)
    if long.startswith(short) and long[len(short) :].isalpha() and len(long) - len(short) <= 3:
        return "suffix"
    if code_stem(left) == code_stem(right) and len(code_stem(left)) >= 5:
        return "suffix"
    if len(short) >= 5 and _HAS_DIGIT.search(short) and short in long:
        return "contained"
    return "none"
