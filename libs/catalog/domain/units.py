"""Unit and attribute parsers for Chilean retail titles.

Every parser is a pure function of a string that never raises: it returns the canonical value
(e.g. gigabytes as `int`, inches as `float`, a canonical English colour) or `None` when the title
does not carry that attribute. Parsers work on `fold(text)` (lowercase, accents stripped), which
keeps the length of the text so that match offsets also point into the original title.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = [
    "COLORS",
    "PhraseIndex",
    "alias_key",
    "attribute_spans",
    "color_spans",
    "fold",
    "gb_tokens",
    "gpu_span",
    "marked_video_memory",
    "parse_abv",
    "parse_battery_mah",
    "parse_capacity_kg",
    "parse_capacity_l",
    "parse_case_mm",
    "parse_color",
    "parse_concentration",
    "parse_fat_level",
    "parse_gender",
    "parse_gpu_model",
    "parse_lactose_free",
    "parse_megapixels",
    "parse_network",
    "parse_number",
    "parse_pack_count",
    "parse_panel",
    "parse_power_w",
    "parse_processor",
    "parse_ram_gb",
    "parse_refresh_hz",
    "parse_resolution",
    "parse_screen_in",
    "parse_storage_gb",
    "parse_sugar_free",
    "parse_volume_ml",
    "parse_vram_gb",
    "parse_weight_g",
    "processor_span",
    "tv_size_from_model_code",
    "unit_spans",
    "word_tokens",
]


class _FoldTable(dict[int, str]):
    """`str.translate` table mapping each character to exactly one lowercase ASCII-ish char."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if unicodedata.category(char) in ("Cf", "Zs", "Cc"):
            # Soft hyphens, zero-width and non-breaking spaces read as a space.
            self[code] = " "
            return " "
        decomposed = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
        if len(base) != 1:
            # Keep the text length stable: a character that decomposes to several (or none)
            # keeps its lowercase form when that is one character, else becomes a space.
            lowered = char.lower()
            base = lowered if len(lowered) == 1 else " "
        self[code] = base
        return base


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Lowercase and strip accents without changing the length (`"Lácteos"` -> `"lacteos"`)."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD)


def parse_number(raw: str) -> float | None:
    """Parse `"1,5"`, `"1.5"`, `"1.000"` (thousands) or `"256"`; `None` if not a number."""
    raw = raw.strip()
    if not raw:
        return None
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", raw):
        raw = raw.replace(".", "")
    else:
        raw = raw.replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return value


_NUM = r"(\d+(?:[.,]\d+)?)"
# A number must not be glued to a preceding letter or digit ("qn55" is a model code, not 55),
# except the "x" of a multipack ("6x350ml": 6 units of 350 ml).
_LEFT = r"(?:(?<![a-z0-9.,])|(?<=\dx))"
# A unit ends its word, or a multipack's "x" follows it ("500mlx1", "125gx3").
_RIGHT = r"(?:(?![a-z0-9])|(?=x\d))"


def _search(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    try:
        return pattern.search(fold(text))
    except (TypeError, AttributeError):
        return None


# ---------------------------------------------------------------- storage and memory

# `512GB`, `1 TB`, and the hyphenated `300-GB` / `1.5-TB` of server-parts listings.
_GB_TOKEN = re.compile(_LEFT + _NUM + r"\s*-?\s*(tb|gb)(?![a-z0-9])")
_RAM_AFTER = re.compile(
    r"\s*(?:de\s+)?(?:memoria\s+)?(?:ram|(?:lp)?ddr\d?x?|(?:so-?)?dimm|unificada|unified)(?![a-z])"
)
_VRAM_AFTER = re.compile(r"\s*(?:de\s+)?(?:g?ddr\d?x?|vram|gddr)")
_GPU_BEFORE = re.compile(
    r"(?<![a-z])(?:rtx|gtx|rx|mx|arc\s*[ab]?|quadro)\s*-?\d{3,4}\s*(?:ti|super|xt|m)?\s*"
    r"(?:de\s*)?$"
)
_RAM_BEFORE = re.compile(r"(?:ram|memoria)\s*(?:de\s*)?(?::\s*)?$")
# "8GB RAM 256GB": the "RAM" belongs to the token before it.
_RAM_CLOSED = re.compile(r"(?:gb|tb)\s*(?:de\s*)?(?:memoria\s*)?ram\s*$")
_PLUS_PAIR = re.compile(_LEFT + r"(\d{1,2})\s*(?:gb)?\s*\+\s*(\d{2,4})\s*(gb|tb)(?![a-z0-9])")
# "256GB RAM 8GB" and "8GB RAM 256GB": "RAM" sits between the two sizes and could label either;
# memory is always the smaller of the two.
_RAM_BETWEEN = re.compile(
    _LEFT
    + _NUM
    + r"\s*(tb|gb)\s*(?:de\s*)?(?:memoria\s*)?ram\s*(?::\s*)?"
    + _NUM
    + r"\s*(tb|gb)(?![a-z0-9])"
)


def _gb_value(number: str, unit: str) -> int | None:
    value = parse_number(number)
    if value is None:
        return None
    gb = value * 1024 if unit == "tb" else value
    if gb <= 0 or gb > 1_048_576:
        return None
    return round(gb)


def _gb_candidates(folded: str) -> list[tuple[int, int, int, str]]:
    """All `N GB/TB` tokens as (start, end, gigabytes, role), role in {"ram", "vram", ""}."""
    found: list[tuple[int, int, int, str]] = []
    for match in _GB_TOKEN.finditer(folded):
        gb = _gb_value(match.group(1), match.group(2))
        if gb is None:
            continue
        role = ""
        tail = folded[match.end() : match.end() + 24]
        if _RAM_AFTER.match(tail) and not tail.lstrip().startswith(("gddr", "de gddr")):
            role = "ram"
        elif _VRAM_AFTER.match(tail) or _GPU_BEFORE.search(
            folded[max(0, match.start() - 24) : match.start()]
        ):
            # "RTX 2050 4GB 8GB 512GB": the size right after a graphics chip is its memory.
            role = "vram"
        else:
            head = folded[max(0, match.start() - 20) : match.start()]
            if _RAM_BEFORE.search(head) and not _RAM_CLOSED.search(head):
                role = "ram"
        found.append((match.start(), match.end(), gb, role))
    for match in _RAM_BETWEEN.finditer(folded):
        first = _gb_value(match.group(1), match.group(2))
        second = _gb_value(match.group(3), match.group(4))
        if first is None or second is None or first == second:
            continue
        ram_start = match.start(1) if first < second else match.start(3)
        found = [
            (
                start,
                end,
                gb,
                ("ram" if start == ram_start else "")
                if start in (match.start(1), match.start(3))
                else role,
            )
            for start, end, gb, role in found
        ]
    for match in _PLUS_PAIR.finditer(folded):
        # "8+256GB" / "8GB + 256GB": the first number is RAM.
        ram = int(match.group(1))
        if 1 <= ram <= 64:
            found.append((match.start(1), match.end(1), ram, "ram"))
    return found


def marked_video_memory(folded: str, end: int) -> bool:
    """The size token ending at `end` of folded text says it is video memory (`8GB GDDR6`,
    `12 GB VRAM`), rather than only following a graphics chip."""
    return _VRAM_AFTER.match(folded[end : end + 24]) is not None


def parse_storage_gb(text: str) -> int | None:
    """Storage capacity in GB: `256GB` -> 256, `1TB` -> 1024, `1 TB SSD` -> 1024.

    Tokens marked as RAM (`16GB RAM`, `32GB DDR5`, `8+256GB`) or video memory are skipped; of the
    remaining ones the largest is the storage.
    """
    try:
        candidates = _gb_candidates(fold(text))
        best: int | None = None
        ram_spans = {(s, e) for s, e, _, role in candidates if role == "ram"}
        for start, _end, gb, role in candidates:
            if role or any(s <= start < e for s, e in ram_spans):
                continue
            if best is None or gb > best:
                best = gb
        return best
    except (TypeError, AttributeError):
        return None


def parse_ram_gb(text: str) -> int | None:
    """RAM in GB when the title marks it: `16GB RAM`, `8 GB de RAM`, `RAM 32GB`, `32GB DDR5`."""
    try:
        folded = fold(text)
        for _start, _end, gb, role in _gb_candidates(folded):
            if role == "ram" and 1 <= gb <= 512:
                return gb
        return None
    except (TypeError, AttributeError):
        return None


_VRAM_LOOSE = re.compile(_LEFT + r"(\d{1,2})\s*(?:gb|g)(?:d\d)?(?![a-z0-9])")
# ASUS part numbers: "DUAL-RTX3050-O6G", "TUF-GTX1650-O4GD6", "PH-RTX3060-12G-V2".
_VRAM_CODE = re.compile(r"-o?(\d{1,2})g(?:d\d)?(?![a-z0-9])")
_GPU_CONTEXT = re.compile(
    r"(?<![a-z])(?:rtx|gtx|geforce|radeon|rx\s*\d|arc\s*[ab]\d|quadro|gt\s*\d)"
)
_VRAM_SIZES = frozenset({1, 2, 3, 4, 6, 8, 10, 11, 12, 16, 20, 24, 32, 48})


def parse_vram_gb(text: str, *, loose: bool = False) -> int | None:
    """Video memory in GB: `8GB GDDR6`, `12 GB VRAM`; with `loose`, also `8G` in a GPU title.

    `loose` is meant for video-card listings, where SoloTodo-style `RTX 3050 6G OC` is common.
    """
    try:
        folded = fold(text)
        for _start, _end, gb, role in _gb_candidates(folded):
            if role == "vram" and gb in _VRAM_SIZES:
                return gb
        if loose and _GPU_CONTEXT.search(folded):
            for match in _VRAM_CODE.finditer(folded):
                value = int(match.group(1))
                if value in _VRAM_SIZES:
                    return value
            for match in _VRAM_LOOSE.finditer(folded):
                tail = folded[match.end() : match.end() + 16]
                if _RAM_AFTER.match(tail) and "gddr" not in tail:
                    continue
                value = int(match.group(1))
                if value in _VRAM_SIZES:
                    return value
        return None
    except (TypeError, AttributeError, ValueError):
        return None


# ---------------------------------------------------------------- screens and displays

_SCREEN = re.compile(
    _LEFT
    + r"(\d{1,3}(?:[.,]\d{1,2})?)\s*(?:\"|''|”|″|“|pulgadas|pulgada|pulg\.?|plg\.?|inch(?:es)?"
    r"|in(?![a-z0-9])(?!\s*1(?!\d))|'(?![a-z0-9]))"
)


def parse_screen_in(text: str) -> float | None:
    """Screen diagonal in inches: `55"`, `55''`, `55 pulgadas`, `65 in`, `6.7"`, `15,6"`."""
    match = _search(_SCREEN, text)
    if match is None:
        return None
    value = parse_number(match.group(1))
    if value is None or not 1.0 <= value <= 120.0:
        return None
    return round(value, 1)


_TV_CODE = re.compile(
    r"\b(?:qn|un|xr|kd|oled|qled|tc|ue|ua|nu|cu)[\-]?(\d{2})[a-z]|\b(\d{2})(?:[a-z]{1,3}\d{2,4}[a-z]{0,4})\b"
)
# Screen sizes that TV makers encode in model codes.
TV_SIZES = frozenset({24, 32, 40, 42, 43, 48, 50, 55, 58, 60, 65, 70, 75, 77, 82, 83, 85, 86, 98})


def tv_size_from_model_code(text: str) -> float | None:
    """Screen size encoded in a TV model code: `QN55Q60C` -> 55, `OLED65C3PSA` -> 65, `50UR8750`."""
    try:
        for match in _TV_CODE.finditer(fold(text)):
            value = int(match.group(1) or match.group(2))
            if value in TV_SIZES:
                return float(value)
        return None
    except (TypeError, AttributeError, ValueError):
        return None


_RESOLUTION = re.compile(
    r"\b(8k|4k|uhd|ultra\s*hd|2160p|qhd|wqhd|2k|1440p|fhd|full\s*hd|fullhd|1080p|hd\s*ready|hd|720p)\b"
)
_RESOLUTION_MAP = {
    "8k": "8K",
    "4k": "4K",
    "uhd": "4K",
    "2160p": "4K",
    "qhd": "QHD",
    "wqhd": "QHD",
    "2k": "QHD",
    "1440p": "QHD",
    "fhd": "FHD",
    "fullhd": "FHD",
    "1080p": "FHD",
    "hd": "HD",
    "720p": "HD",
}
_RESOLUTION_RANK = {"HD": 0, "FHD": 1, "QHD": 2, "4K": 3, "8K": 4}


def parse_resolution(text: str) -> str | None:
    """Resolution class: 8K, 4K (UHD, 2160p), QHD (1440p), FHD (Full HD, 1080p) or HD (720p).

    When several appear the highest wins (`4K UHD HDR` -> 4K).
    """
    try:
        best: str | None = None
        for match in _RESOLUTION.finditer(fold(text)):
            key = re.sub(r"\s+", "", match.group(1))
            if key.startswith("ultrahd"):
                key = "uhd"
            elif key.startswith("fullhd"):
                key = "fhd"
            elif key.startswith("hdready"):
                key = "hd"
            value = _RESOLUTION_MAP.get(key)
            if value and (best is None or _RESOLUTION_RANK[value] > _RESOLUTION_RANK[best]):
                best = value
        return best
    except (TypeError, AttributeError):
        return None


_PANEL = re.compile(
    r"\b(neo\s*qled|mini[\s-]?led|qd[\s-]?oled|oled|qned|qled|nano\s*cell|nanocell|uled|amoled"
    r"|super\s*amoled|ips|va|tn|lcd|led)\b"
)
_PANEL_MAP = {
    "neoqled": "MiniLED",
    "miniled": "MiniLED",
    "qdoled": "OLED",
    "oled": "OLED",
    "qned": "MiniLED",
    "qled": "QLED",
    "nanocell": "NanoCell",
    "uled": "ULED",
    "amoled": "AMOLED",
    "superamoled": "AMOLED",
    "ips": "IPS",
    "va": "VA",
    "tn": "TN",
    "lcd": "LCD",
    "led": "LED",
}


def parse_panel(text: str) -> str | None:
    """Panel technology: OLED, QLED, MiniLED (incl. Neo QLED, QNED), NanoCell, ULED, IPS, LED..."""
    match = _search(_PANEL, text)
    if match is None:
        return None
    return _PANEL_MAP.get(re.sub(r"[\s-]+", "", match.group(1)))


_REFRESH = re.compile(_LEFT + r"(\d{2,3})\s*hz\b")


def parse_refresh_hz(text: str) -> int | None:
    """Refresh rate: `144Hz` -> 144, `165 hz` -> 165."""
    match = _search(_REFRESH, text)
    if match is None:
        return None
    value = int(match.group(1))
    return value if 24 <= value <= 1000 else None


# ---------------------------------------------------------------- volume, weight, packs

_VOLUME_NUMBER = _NUM.replace(r"(\d+", r"(\d+(?:\.\d{3})*")
_VOLUME = re.compile(
    _LEFT + _VOLUME_NUMBER + r"\s*(ml|mls|cc|cm3|c\.c\.|lts?\.?|litros?|ltrs?|l)" + _RIGHT
)
# A net content as stores write it, glued to its "x" ("X500g", "X1kg", "x500cc"); not a bare
# "l", which is how TV models end ("X77L").
_NET = r"(?<![a-z0-9])x"
_NET_VOLUME = re.compile(_NET + _VOLUME_NUMBER + r"\s*(ml|mls|cc|cm3|lts?|litros?)" + _RIGHT)
_FL_OZ = re.compile(_LEFT + _NUM + r"\s*(?:fl\.?\s*oz|oz\.?\s*fl)\b")


def parse_volume_ml(text: str) -> int | None:
    """Volume in ml: `100 ml`, `2L` -> 2000, `1,5 lt` -> 1500, `355cc`, `3.4 fl oz` -> 101."""
    try:
        folded = fold(text)
        match = _VOLUME.search(folded) or _NET_VOLUME.search(folded)
        if match is not None:
            value = parse_number(match.group(1))
            if value is None:
                return None
            unit = match.group(2)
            ml = value if unit.startswith(("m", "c")) else value * 1000
            return round(ml) if 0 < ml <= 1_000_000 else None
        match = _FL_OZ.search(folded)
        if match is not None:
            value = parse_number(match.group(1))
            if value is not None and 0 < value <= 1000:
                return round(value * 29.5735)
        return None
    except (TypeError, AttributeError):
        return None


_WEIGHT_NUMBER = r"(\d+(?:\.\d{3})*(?:[.,]\d+)?)"
_WEIGHT_UNIT = r"(kgs?\.?|kilos?|kilogramos?|grs?\.?|gramos?|grms?|g)" + _RIGHT
_WEIGHT = re.compile(_LEFT + _WEIGHT_NUMBER + r"\s*" + _WEIGHT_UNIT)
_NET_WEIGHT = re.compile(_NET + _WEIGHT_NUMBER + r"\s*" + _WEIGHT_UNIT)


# Ounces and pounds of weight (`8 oz`, `12 Ounce`, `2 lb`), never fluid ounces.
_IMPERIAL_WEIGHT = re.compile(
    r"(?<!fl\.\s)(?<!fl\s)(?<!fl\.)(?<!/)" + _LEFT + r"(\d+(?:\.\d+)?)\s*-?\s*"
    r"(oz\.?|ounces?|lbs?\.?|pounds?)(?![a-z0-9])(?!\s*fl\b)"
)
_GRAMS_PER_OUNCE = 28.3495
_GRAMS_PER_POUND = 453.592


def parse_weight_g(text: str) -> int | None:
    """Weight in grams: `1 kg` -> 1000, `155 g`, `250 grs`, `1,5 kilos` -> 1500; where no metric
    weight is written, `8 oz` -> 227, `12 Ounce` -> 340, `2 lb` -> 907."""
    try:
        folded = fold(text)
        match = _WEIGHT.search(folded) or _NET_WEIGHT.search(folded)
        if match is None:
            imperial = _IMPERIAL_WEIGHT.search(folded)
            if imperial is None or re.search(r"\bfl\.?\s*oz\b|\bfluid\b", folded):
                return None
            ounces = imperial.group(2).startswith(("oz", "ounce"))
            grams = float(imperial.group(1)) * (_GRAMS_PER_OUNCE if ounces else _GRAMS_PER_POUND)
            return round(grams) if 0 < grams <= 10_000_000 else None
        value = parse_number(match.group(1))
        if value is None:
            return None
        grams = value * 1000 if match.group(2).startswith("k") else value
        return round(grams) if 0 < grams <= 10_000_000 else None
    except (TypeError, AttributeError):
        return None


# A number followed by a unit is a size, not a count ("x 350 grs", "Pack de 500 ml").
_NOT_A_SIZE = (
    r"(?!\s*(?:l|lts?|litros?|ml|cc|cm3|kgs?|kilos?|g|grs?|grms?|gramos?|oz|lbs?|mg|cm|mm|mts?"
    r"|metros?)(?![a-z0-9]))"
)
_PACK_PATTERNS = (
    re.compile(
        r"\b(?:pack|paquete|caja|display|bandeja|set)\s*(?:de\s*|x\s*)?(\d{1,3})(?![a-z0-9.,])"
        + _NOT_A_SIZE
    ),
    # "6 x 350 ml": a count of sized units; "8.5 x 11" and "6 x 9" are dimensions.
    re.compile(
        _LEFT + r"(\d{1,3})\s*x\s*\d+(?:[.,]\d+)?\s*"
        r"(?:ml|cc|cm3|l|lts?|litros?|g|grs?|gramos?|kgs?|kilos?|oz|un|und|u)(?![a-z0-9])"
    ),
    # "350 ml x6", "Pack x 6"; not the second side of "8.5 x 11".
    re.compile(r"(?<![a-z0-9])(?<![0-9]\s)x\s*(\d{1,3})(?![a-z0-9.,])" + _NOT_A_SIZE),
    re.compile(
        _LEFT + r"(\d{1,3})\s*(?:un|uni|und|unid|unids|unidad|unidades|ud|uds|u|rollos?|latas"
        r"|botellas|sobres|saquitos|saq|sq|caps|capsulas|bolsitas)(?:\.|(?![a-z0-9]))"
    ),
    re.compile(_LEFT + r"(\d{1,3})\s*-?\s*pack\b"),
    re.compile(r"\b(?:pack|set|box|case|bag)\s+of\s+(\d{1,3})(?![a-z0-9.,])"),
)
# What English office and food suppliers write: `100/Pack`, `5000/Box`, `250 Sheets/Pack`,
# `12 Pads/Pack`, `30 Bags per Box`, `1,200 per Carton`; counts run into the thousands there.
_PER_CONTAINER = re.compile(
    _LEFT + r"(\d{1,2}(?:,\d{3})|\d{1,5})\s*(?:[a-z]{2,12}\s*)?(?:/\s*|\bper\s+)"
    r"(?:pack|pk|pkg|package|box|bx|carton|ctn|case|cs|ream|pad|dispenser|roll|bag|tube|jar|tub"
    r"|book)"
    r"(?![a-z])"
)
_SIX_PACK = re.compile(r"\bsix\s*-?\s*pack\b")


def parse_pack_count(text: str) -> int | None:
    """Units in a pack: `pack 6 un.`, `6 x 350 ml`, `x6`, `6un`, `12 unidades`, `24 rollos`,
    `20-Pack`, `pack of 12`, `100/Pack`, `250 Sheets/Pack`, `30 Bags per Box`."""
    try:
        folded = fold(text)
        per = _PER_CONTAINER.search(folded)
        if per is not None:
            value = int(per.group(1).replace(",", ""))
            if 1 <= value <= 10_000:
                return value
        for pattern in _PACK_PATTERNS:
            for match in pattern.finditer(folded):
                value = int(match.group(1))
                if 1 <= value <= 500:
                    return value
        if _SIX_PACK.search(folded):
            return 6
        return None
    except (TypeError, AttributeError, ValueError):
        return None


_LITERS = re.compile(_LEFT + _NUM + r"\s*(?:lts?\.?|litros?|ltrs?|l)(?![a-z0-9])")


def parse_capacity_l(text: str) -> float | None:
    """Capacity in liters (refrigerators, microwaves, kettles): `310 L`, `20 litros`, `1,7 lt`."""
    match = _search(_LITERS, text)
    if match is None:
        return None
    value = parse_number(match.group(1))
    if value is None or not 0 < value <= 5000:
        return None
    return round(value, 2)


_KG = re.compile(_LEFT + _NUM + r"\s*(?:kgs?\.?|kilos?)(?![a-z0-9])")


def parse_capacity_kg(text: str) -> float | None:
    """Load capacity in kg (washing machines, dryers): `9 kg` -> 9.0, `8,5 kilos` -> 8.5."""
    match = _search(_KG, text)
    if match is None:
        return None
    value = parse_number(match.group(1))
    if value is None or not 0 < value <= 100:
        return None
    return round(value, 1)


_POWER = re.compile(_LEFT + r"(\d{1,2}(?:\.\d{3})|\d{1,5})\s*(?:w|watts?|vatios?)(?![a-z0-9])")


def parse_power_w(text: str) -> int | None:
    """Power in watts: `1200W`, `800 watts`, `1.500 W` -> 1500."""
    match = _search(_POWER, text)
    if match is None:
        return None
    value = parse_number(match.group(1))
    if value is None or not 1 <= value <= 100_000:
        return None
    return round(value)


_MAH = re.compile(_LEFT + r"(\d{1,2}(?:\.\d{3})|\d{3,6})\s*mah\b")


def parse_battery_mah(text: str) -> int | None:
    """Battery capacity: `5000mAh`, `5.000 mAh` -> 5000."""
    match = _search(_MAH, text)
    if match is None:
        return None
    value = parse_number(match.group(1))
    return round(value) if value is not None and 100 <= value <= 100_000 else None


_MP = re.compile(_LEFT + _NUM + r"\s*(?:mp|mpx|megapixeles|megapixels?)\b")


def parse_megapixels(text: str) -> float | None:
    """Camera resolution: `24.2MP` -> 24.2, `50 mpx` -> 50.0."""
    match = _search(_MP, text)
    if match is None:
        return None
    value = parse_number(match.group(1))
    return round(value, 1) if value is not None and 0 < value <= 1000 else None


_CASE_MM = re.compile(_LEFT + r"(\d{2})\s*mm\b")


def parse_case_mm(text: str) -> int | None:
    """Smartwatch case size: `45mm`, `41 mm`."""
    match = _search(_CASE_MM, text)
    if match is None:
        return None
    value = int(match.group(1))
    return value if 20 <= value <= 60 else None


# ---------------------------------------------------------------- colours

COLORS: tuple[str, ...] = (
    "black",
    "white",
    "blue",
    "red",
    "green",
    "gray",
    "silver",
    "gold",
    "pink",
    "purple",
    "yellow",
    "orange",
    "brown",
    "beige",
    "titanium",
)

_COLOR_WORDS: dict[str, str] = {
    # Multi-word names first; the regex is built longest-first.
    "space gray": "gray",
    "space grey": "gray",
    "gris espacial": "gray",
    "gris grafito": "gray",
    "azul marino": "blue",
    "azul oscuro": "blue",
    "verde menta": "green",
    "blanco estelar": "white",
    "negro medianoche": "black",
    "phantom black": "black",
    "titanio natural": "titanium",
    "natural titanium": "titanium",
    "rose gold": "pink",
    "oro rosa": "pink",
    "negro": "black",
    "negra": "black",
    "negros": "black",
    "black": "black",
    "medianoche": "black",
    "midnight": "black",
    "onyx": "black",
    "blanco": "white",
    "blanca": "white",
    "blancos": "white",
    "white": "white",
    "starlight": "white",
    "azul": "blue",
    "blue": "blue",
    "celeste": "blue",
    "turquesa": "blue",
    "turquoise": "blue",
    "navy": "blue",
    "rojo": "red",
    "roja": "red",
    "red": "red",
    "burdeo": "red",
    "verde": "green",
    "green": "green",
    "mint": "green",
    "menta": "green",
    "gris": "gray",
    "gray": "gray",
    "grey": "gray",
    "grafito": "gray",
    "graphite": "gray",
    "plateado": "silver",
    "plateada": "silver",
    "plata": "silver",
    "silver": "silver",
    "dorado": "gold",
    "dorada": "gold",
    "oro": "gold",
    "gold": "gold",
    "rosado": "pink",
    "rosada": "pink",
    "rosa": "pink",
    "pink": "pink",
    "fucsia": "pink",
    "morado": "purple",
    "morada": "purple",
    "purpura": "purple",
    "purple": "purple",
    "violeta": "purple",
    "lila": "purple",
    "lavanda": "purple",
    "lavender": "purple",
    "amarillo": "yellow",
    "amarilla": "yellow",
    "yellow": "yellow",
    "naranja": "orange",
    "naranjo": "orange",
    "orange": "orange",
    "coral": "orange",
    "marron": "brown",
    "brown": "brown",
    "beige": "beige",
    "crema": "beige",
    "cream": "beige",
    "titanio": "titanium",
    "titanium": "titanium",
    "inox": "silver",
    "acero inoxidable": "silver",
    # Printing inks and paper stock.
    "cyan": "blue",
    "magenta": "pink",
    "violet": "purple",
    "ivory": "beige",
    "manila": "beige",
    "canary": "yellow",
    # No colour of its own, or many: what office and home goods state as their colour.
    "transparente": "transparent",
    "transparentes": "transparent",
    "transparent": "transparent",
    "clear": "transparent",
    "multicolor": "multicolor",
    "multicolores": "multicolor",
    "multicolour": "multicolor",
    "assorted colors": "multicolor",
    "assorted colours": "multicolor",
    "colores surtidos": "multicolor",
}
_COLOR_RE = re.compile(
    r"(?<![a-z0-9])("
    + "|".join(
        re.escape(w).replace(r"\ ", r"\s+") for w in sorted(_COLOR_WORDS, key=len, reverse=True)
    )
    + r")(?![a-z0-9])"
)
# "red" is also Spanish for network and part of brand/product names.
_NOT_COLOR_AFTER = re.compile(r"\s*(?:bull|label|5g|4g|lte|wifi|movil|de\s+datos)\b")


def color_spans(text: str) -> list[tuple[int, int, str]]:
    """Every colour word as (start, end, canonical colour), in title order."""
    try:
        folded = fold(text)
    except (TypeError, AttributeError):
        return []
    spans: list[tuple[int, int, str]] = []
    for match in _COLOR_RE.finditer(folded):
        if _NOT_COLOR_AFTER.match(folded, match.end()):
            continue
        key = re.sub(r"\s+", " ", match.group(1))
        spans.append((match.start(), match.end(), _COLOR_WORDS[key]))
    return spans


def parse_color(text: str) -> str | None:
    """Canonical English colour: `Negro` -> black, `Space Gray` -> gray, `Titanio Negro` -> black.

    A finish ("titanium") combined with a colour yields the colour; "Titanio Natural" -> titanium.
    """
    spans = color_spans(text)
    if not spans:
        return None
    for _start, _end, color in spans:
        if color != "titanium":
            return color
    return "titanium"


# ---------------------------------------------------------------- perfumes

_CONCENTRATION = re.compile(
    r"\b(eau\s+de\s+parfum|eau\s+de\s+toilette|eau\s+de\s+cologne|extrait\s+de\s+parfum|edp|edt|edc"
    r"|parfum|extrait|cologne|colonia)\b"
)
_CONCENTRATION_MAP = {
    "eaudeparfum": "EDP",
    "edp": "EDP",
    "eaudetoilette": "EDT",
    "edt": "EDT",
    "eaudecologne": "Cologne",
    "edc": "Cologne",
    "cologne": "Cologne",
    "colonia": "Cologne",
    "extraitdeparfum": "Parfum",
    "extrait": "Parfum",
    "parfum": "Parfum",
}


def parse_concentration(text: str) -> str | None:
    """Perfume concentration: EDP, EDT, Parfum (incl. Extrait) or Cologne (EDC, Eau de Cologne)."""
    match = _search(_CONCENTRATION, text)
    if match is None:
        return None
    return _CONCENTRATION_MAP.get(re.sub(r"\s+", "", match.group(1)))


_GENDER = re.compile(
    r"\b(unisex|mujer|mujeres|women|woman|femenino|femenina|dama|damas|femme|for\s+her|para\s+ella"
    r"|hombre|hombres|men|man|masculino|masculina|varon|varones|caballero|caballeros|homme"
    r"|for\s+him)\b"
)
_WOMEN = frozenset(
    {"mujer", "mujeres", "women", "woman", "femenino", "femenina", "dama", "damas", "femme"}
)


def parse_gender(text: str) -> str | None:
    """Target gender: women (mujer, dama, femme...), men (hombre, varón, homme...) or unisex."""
    match = _search(_GENDER, text)
    if match is None:
        return None
    word = re.sub(r"\s+", " ", match.group(1))
    if word == "unisex":
        return "unisex"
    if word in _WOMEN or word in ("for her", "para ella"):
        return "women"
    return "men"


# ---------------------------------------------------------------- processors and GPUs

_PROCESSOR_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"\b(?:intel\s*)?core\s*ultra\s*([3579])(?:[\s-]*(\d{3}[a-z]{0,2}))?\b"),
        lambda m: (
            "Intel Core Ultra " + m.group(1) + (" " + m.group(2).upper() if m.group(2) else "")
        ),
    ),
    (
        re.compile(
            # `i5-1235U`, `i7-12650H`, and the graphics tier of `i5-1135G7` / `i3-1005G1`.
            r"(?<![a-z0-9])(?:intel\s*)?(?:core\s*)?i([3579])"
            r"(?:[\s-]*(\d{4,5}(?:[a-z]{1,3}\d?)?|n\d{3}))?\b"
        ),
        lambda m: "Intel Core i" + m.group(1) + ("-" + m.group(2).upper() if m.group(2) else ""),
    ),
    (
        re.compile(r"\bintel\s*core\s*([357])(?:[\s-]*(\d{3}[a-z]{0,2}))?\b"),
        lambda m: "Intel Core " + m.group(1) + (" " + m.group(2).upper() if m.group(2) else ""),
    ),
    (
        # The same without the maker, where the model number says it is one (`Core 5 120U`).
        re.compile(r"\bcore\s*([357])[\s-]+(\d{3}[uhp]{1,2})\b"),
        lambda m: "Intel Core " + m.group(1) + " " + m.group(2).upper(),
    ),
    (
        re.compile(
            r"\b(?:intel\s*)?(celeron|pentium(?:\s*(?:gold|silver))?)\s*([a-z]?\d{3,4}[a-z]?)?\b"
        ),
        lambda m: (
            "Intel "
            + " ".join(w.capitalize() for w in m.group(1).split())
            + (" " + m.group(2).upper() if m.group(2) else "")
        ),
    ),
    (
        re.compile(r"\bintel\s*(n\d{2,3})\b"),
        lambda m: "Intel " + m.group(1).upper(),
    ),
    (
        re.compile(r"\b(?:amd\s*)?ryzen\s*ai\s*([579])\s*(?:(hx|pro)\s*)?(\d{3})\b"),
        lambda m: (
            "AMD Ryzen AI "
            + m.group(1)
            + (" " + m.group(2).upper() if m.group(2) else "")
            + " "
            + m.group(3)
        ),
    ),
    (
        re.compile(r"\b(?:amd\s*)?ryzen\s*([3579])(?:\s*pro)?(?:[\s-]*(\d{4}[a-z]{0,3}\d?))?\b"),
        lambda m: "AMD Ryzen " + m.group(1) + (" " + m.group(2).upper() if m.group(2) else ""),
    ),
    (
        # AMD short form: "R5-7535HS", "R7 7840HS".
        re.compile(r"(?<![a-z0-9])r([3579])[\s-]*(\d{4}[a-z]{0,3})\b"),
        lambda m: "AMD Ryzen " + m.group(1) + " " + m.group(2).upper(),
    ),
    (
        re.compile(r"\b(?:amd\s*)?athlon\s*(?:silver|gold)?\s*(\d{4}[a-z]{0,2})?\b"),
        lambda m: "AMD Athlon" + (" " + m.group(1).upper() if m.group(1) else ""),
    ),
    (
        re.compile(
            r"(?<![a-z0-9.])(?:apple\s*|chip\s*)?m([1-4])(?:\s*(pro|max|ultra))?\b"
            r"(?!\s*(?:\.|nvme|ssd|sata|2280|pcie|key))"
        ),
        lambda m: "Apple M" + m.group(1) + (" " + m.group(2).capitalize() if m.group(2) else ""),
    ),
    (
        re.compile(r"\bsnapdragon\s*(x\s*(?:elite|plus)|\d\s*s?\s*gen\s*\d|\d{3}g?\+?)"),
        lambda m: "Snapdragon " + _snapdragon(m.group(1)),
    ),
    (
        re.compile(
            r"\b(?:mediatek\s*)?(helio\s*[a-z]\d{2,3}|dimensity\s*\d{3,4}(?:\s*(?:\+|ultra|plus))?)"
        ),
        lambda m: "MediaTek " + _mediatek(m.group(1)),
    ),
    (
        re.compile(r"\bexynos\s*(\d{3,4})\b"),
        lambda m: "Exynos " + m.group(1),
    ),
    (
        re.compile(r"\b(?:google\s*)?tensor\s*(g\d)\b"),
        lambda m: "Google Tensor " + m.group(1).upper(),
    ),
    (
        re.compile(r"\b(?:chip\s*)?a(1\d)\s*(bionic|pro)\b"),
        lambda m: "Apple A" + m.group(1) + " " + m.group(2).capitalize(),
    ),
)


def _snapdragon(raw: str) -> str:
    raw = re.sub(r"\s+", " ", raw).strip()
    if raw.startswith("x"):
        return "X " + raw[1:].strip().capitalize()
    gen = re.fullmatch(r"(\d)\s*(s?)\s*gen\s*(\d)", raw)
    if gen:
        return f"{gen.group(1)}{gen.group(2)} Gen {gen.group(3)}"
    return raw.upper()


def _mediatek(raw: str) -> str:
    raw = re.sub(r"\s+", " ", raw).strip()
    family, _, rest = raw.partition(" ")
    if family == "helio":
        return "Helio " + rest.upper()
    return "Dimensity " + rest.replace(" plus", "+").replace(" +", "+").replace(" ultra", " Ultra")


def parse_processor(text: str) -> str | None:
    """Processor model, canonical: `Intel Core i7-13700H`, `Intel Core Ultra 7 155H`,
    `AMD Ryzen 7 7735HS`, `Apple M3 Pro`, `Snapdragon 8 Gen 3`, `MediaTek Dimensity 7050`."""
    match = processor_span(text)
    return match[2] if match else None


def processor_span(text: str) -> tuple[int, int, str] | None:
    """The earliest processor mention as (start, end, canonical name)."""
    try:
        folded = fold(text)
    except (TypeError, AttributeError):
        return None
    best: tuple[int, int, str] | None = None
    for pattern, render in _PROCESSOR_PATTERNS:
        match = pattern.search(folded)
        if match is not None and (best is None or match.start() < best[0]):
            best = (match.start(), match.end(), render(match))
    return best


_GPU_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(
            r"(?<![a-z0-9])(rtx|gtx)[\s-]*(\d{3,4})(?:\s*(ti\s*super|tis|ti|super|s))?(?![a-z0-9])"
        ),
        lambda m: (
            m.group(1).upper()
            + " "
            + m.group(2)
            + (" " + _gpu_suffix(m.group(3)) if m.group(3) else "")
        ),
    ),
    (
        re.compile(r"(?<![a-z0-9])(?:radeon\s*)?rx[\s-]*(\d{3,4})(?:\s*(xtx|xt|gre))?(?![a-z0-9])"),
        lambda m: "RX " + m.group(1) + (" " + m.group(2).upper() if m.group(2) else ""),
    ),
    (
        re.compile(r"\b(?:intel\s*)?arc\s*([ab]\d{3})\b"),
        lambda m: "Arc " + m.group(1).upper(),
    ),
    (
        re.compile(r"(?<![a-z0-9])gt[\s-]*(\d{3,4})(?![a-z0-9])"),
        lambda m: "GT " + m.group(1),
    ),
)


def _gpu_suffix(raw: str) -> str:
    raw = raw.replace(" ", "")
    if raw in ("tisuper", "tis"):
        return "Ti Super"
    return "Super" if raw in ("s", "super") else raw.capitalize()


def gpu_span(text: str) -> tuple[int, int, str] | None:
    """The earliest GPU chip mention as (start, end, canonical name)."""
    try:
        folded = fold(text)
    except (TypeError, AttributeError):
        return None
    best: tuple[int, int, str] | None = None
    for pattern, render in _GPU_PATTERNS:
        match = pattern.search(folded)
        if match is not None and (best is None or match.start() < best[0]):
            best = (match.start(), match.end(), render(match))
    return best


def parse_gpu_model(text: str) -> str | None:
    """GPU chip: `RTX 4070 Ti`, `GTX 1650`, `RX 7900 XTX`, `Arc A770`, `GT 1030`."""
    span = gpu_span(text)
    return span[2] if span else None


# ---------------------------------------------------------------- misc flags

_NETWORK = re.compile(r"(?<![a-z0-9])(5g|4g|lte|4g\s*lte)(?![a-z0-9])")


def parse_network(text: str) -> str | None:
    """Mobile network generation: 5G, or 4G (incl. LTE). 5G wins when both are listed."""
    try:
        best: str | None = None
        for match in _NETWORK.finditer(fold(text)):
            if match.group(1) == "5g":
                return "5G"
            best = "4G"
        return best
    except (TypeError, AttributeError):
        return None


_FAT = re.compile(r"\b(semi\s*-?\s*descremad[ao]|descremad[ao]|entera|semidescremad[ao])\b")


def parse_fat_level(text: str) -> str | None:
    """Milk fat level: whole (entera), semi_skimmed (semidescremada) or skimmed (descremada)."""
    match = _search(_FAT, text)
    if match is None:
        return None
    word = match.group(1).replace(" ", "").replace("-", "")
    if word.startswith("semi"):
        return "semi_skimmed"
    if word.startswith("descrem"):
        return "skimmed"
    return "whole"


_LACTOSE_FREE = re.compile(r"\b(?:sin\s+lactosa|lactose\s*free|deslactosad[ao]|0\s*%?\s*lactosa)\b")


def parse_lactose_free(text: str) -> bool | None:
    """True for `Sin Lactosa` / `Deslactosada`; None when not stated."""
    return True if _search(_LACTOSE_FREE, text) else None


_SUGAR_FREE = re.compile(r"\b(?:zero|sin\s+azucar|sugar\s*free|light|diet|0\s*%?\s*azucar)\b")


def parse_sugar_free(text: str) -> bool | None:
    """True for `Zero`, `Sin Azúcar`, `Light`, `Diet`; None when not stated."""
    return True if _search(_SUGAR_FREE, text) else None


_ABV = re.compile(_LEFT + r"(\d{1,2}(?:[.,]\d)?)\s*(?:°|grados|%\s*(?:vol|alc)?\.?)(?![a-z0-9])")


def parse_abv(text: str) -> float | None:
    """Alcohol by volume in percent: `35°` -> 35.0, `4,5% vol` -> 4.5, `40 grados` -> 40.0."""
    match = _search(_ABV, text)
    if match is None:
        return None
    value = parse_number(match.group(1))
    return value if value is not None and 0 < value <= 96 else None


# ---------------------------------------------------------------- text helpers

_WORD = re.compile(r"[a-z0-9]+")


def word_tokens(folded: str) -> list[tuple[int, int, str]]:
    """Alphanumeric runs of folded text as (start, end, word)."""
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(folded)]


def alias_key(text: str) -> str:
    """Matching key of a phrase: folded words joined by one space (`"Coca-Cola"` -> "coca cola")."""
    return " ".join(_WORD.findall(fold(text)))


class PhraseIndex(Generic[T]):
    """Leftmost-longest, word-boundary phrase lookup over word n-grams (case/accent-insensitive).

    Lookups are dictionary hits on n-grams of the title's words, so the cost grows with the title
    length and not with the number of phrases.
    """

    def __init__(self, phrases: Iterable[tuple[str, T]] = ()) -> None:
        self._table: dict[str, T] = {}
        self._max_words = 1
        # First word of each phrase -> the most words a phrase starting with it has: a scan
        # only builds the n-grams that can match.
        self._starts: dict[str, int] = {}
        for phrase, payload in phrases:
            self.add(phrase, payload)

    def add(self, phrase: str, payload: T, *, replace: bool = False) -> bool:
        key = alias_key(phrase)
        if not key or (key in self._table and not replace):
            return False
        self._table[key] = payload
        words = key.count(" ") + 1
        self._max_words = max(self._max_words, words)
        first = key.split(" ", 1)[0]
        self._starts[first] = max(self._starts.get(first, 0), words)
        return True

    def get(self, phrase: str) -> T | None:
        return self._table.get(alias_key(phrase))

    def __contains__(self, phrase: object) -> bool:
        return isinstance(phrase, str) and alias_key(phrase) in self._table

    def __len__(self) -> int:
        return len(self._table)

    def items(self) -> list[tuple[str, T]]:
        return list(self._table.items())

    def scan(self, tokens: list[tuple[int, int, str]]) -> list[tuple[int, int, T]]:
        """Non-overlapping matches as (char start, char end, payload), left to right."""
        found: list[tuple[int, int, T]] = []
        table = self._table
        count = len(tokens)
        i = 0
        starts = self._starts
        while i < count:
            top = min(starts.get(tokens[i][2], 0), count - i)
            for n in range(top, 0, -1):
                key = tokens[i][2] if n == 1 else " ".join(t[2] for t in tokens[i : i + n])
                payload = table.get(key)
                if payload is not None:
                    found.append((tokens[i][0], tokens[i + n - 1][1], payload))
                    i += n
                    break
            else:
                i += 1
        return found


_UNIT_ANY = re.compile(
    _LEFT + r"\d+(?:[.,]\d+)*\s*(?:tb|gb|mb|g|gr|grs|gramos?|kgs?|kilos?|ml|mls|cc|cm3|l|lts?|ltrs?"
    r"|litros?"
    r"|\"|''|”|″|pulgadas?|pulg|inch(?:es)?|in|hz|ghz|mhz|mah|mp|mpx|w|watts?|mm|cm|mts?|metros?"
    r"|un|uni|und|unid|unidades|ud|uds|u|rollos?|hojas|fl\.?\s*oz|oz|°|%|grados|v|k|p|tbw|rpm|btu)"
    r"(?:\.|(?![a-z0-9])|(?=x\d))"
)
_PACK_SPANS = (
    re.compile(r"\b(?:pack|paquete|display|six\s*pack)\s*(?:de\s*|x\s*)?\d{1,3}(?![a-z0-9])"),
    re.compile(_LEFT + r"\d{1,3}\s*x(?=\s*\d)"),
    re.compile(r"(?<![a-z0-9])x\s*\d{1,3}(?![a-z0-9.,])"),
    re.compile(_LEFT + r"\d+\s*\+\s*(?=\d+\s*(?:gb|tb))"),
)


def unit_spans(folded: str, *, packs: bool = True) -> list[tuple[int, int]]:
    """Spans of every number-with-unit token (`256GB`, `2L`, `55"`, `8+`, `X500g`) and, with
    `packs`, of pack sizes (`pack 6`, `6 x`, `x6`)."""
    spans = [m.span() for m in _UNIT_ANY.finditer(folded)]
    for net in (_NET_WEIGHT, _NET_VOLUME):
        spans.extend(m.span() for m in net.finditer(folded))
    for pattern in _PACK_SPANS if packs else _PACK_SPANS[-1:]:
        spans.extend(m.span() for m in pattern.finditer(folded))
    return spans


_SPAN_PATTERNS: dict[str, re.Pattern[str]] = {
    "resolution": _RESOLUTION,
    "panel": _PANEL,
    "network": _NETWORK,
    "concentration": _CONCENTRATION,
    "gender": _GENDER,
    "refresh_hz": _REFRESH,
    "fat_level": _FAT,
    "lactose_free": _LACTOSE_FREE,
    "sugar_free": _SUGAR_FREE,
    "abv": _ABV,
}


def attribute_spans(folded: str, attribute: str) -> list[tuple[int, int]]:
    """Spans of the words that express a word-like attribute (`4K`, `QLED`, `EDP`, `Mujer`...)."""
    pattern = _SPAN_PATTERNS.get(attribute)
    if pattern is None:
        return []
    return [m.span() for m in pattern.finditer(folded)]


def gb_tokens(folded: str) -> list[tuple[int, int, int, str]]:
    """Every `N GB/TB` token of folded text as (start, end, GB, role); role: "ram", "vram", ""."""
    return _gb_candidates(folded)
