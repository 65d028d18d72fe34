"""Deterministic title extractor: the rules tier.

`extract()` turns a retailer title into an `Extraction`: taxonomy category, canonical brand, model
(the title minus brand, category nouns, attribute tokens and retailer noise, in canonical casing),
typed attributes of the category, a normalized name, the required attributes that are missing and
a confidence. It is pure, never raises on any text and is fast (compiled patterns, cached
taxonomy and brand data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from catalog.domain import units
from catalog.domain.brands import BrandAliases, BrandMatch, brand_spelling, load_brands
from catalog.domain.brands import house_brand as named_house_brand
from catalog.domain.taxonomy import OTHER, AttributeValue, Category, Taxonomy, load_taxonomy
from catalog.domain.units import PhraseIndex
from schemas.models import Extraction, RawListing

__all__ = [
    "NOUN_COMPLEMENTS",
    "ModelParts",
    "extract",
    "extract_listing",
    "format_attribute",
    "names_carry_part_numbers",
    "names_part_number",
    "normalized_name",
    "part_number",
    "with_part_number",
]

# Confidence weights; they sum to 1 and the result is scaled by _MAX_CONFIDENCE, so a title with
# category, known brand, model and every required attribute scores 0.97.
_W_CATEGORY = 0.25
_W_BRAND = 0.30
# A brand outside the alias table (the retailer's brand field, a title-leading name): read, but
# not confirmed; a typed listing with one is left to a model rather than the rules tier.
_W_UNKNOWN_BRAND = 0.22
_W_OTHER = 0.15  # the `other` node: placed by default, not read
_W_MODEL = 0.15
_W_REQUIRED = 0.30
# Share of the attribute weight earned whatever the coverage: an attribute the title does not
# state is unknown, not a doubt about what was read (open world). The rest follows coverage.
_ATTRIBUTE_FLOOR = 0.6
_MAX_CONFIDENCE = 0.97

_MAX_TITLE = 500

# Retailer noise: never part of a product's identity.
_NOISE_WORDS = (
    "liberado",
    "liberada",
    "liberados",
    "nuevo",
    "nueva",
    "new",
    "oferta",
    "ofertas",
    "promo",
    "promocion",
    "sellado",
    "sellada",
    "reacondicionado",
    "reacondicionada",
    "refurbished",
    "open box",
    "caja abierta",
    "exhibicion",
    "envio gratis",
    "despacho gratis",
    "version global",
    "global version",
    "importado",
    "pack",
    "unidad",
    "unidades",
    "ultimas unidades",
    "exclusivo online",
    "outlet",
    "cyber",
    "black friday",
    "hot sale",
    "garantia",
    "garantia oficial",
    "tienda oficial",
    "oficial",
    "dual sim",
    "esim",
    "ddr3",
    "ddr4",
    "ddr5",
    "lpddr4",
    "lpddr4x",
    "lpddr5",
    "lpddr5x",
    "gddr5",
    "gddr6",
    "gddr6x",
    "gddr7",
    "wifi 6",
    "wifi 6e",
    "wi fi 6",
    "gen3",
    "gen4",
    "gen5",
    "gen 3",
    "gen 4",
    "gen 5",
    "pcie",
    "ram",
    "memoria ram",
    "rom",
    # Packaging: how one product is sold, never which product it is.
    "botella",
    "botellas",
    "caja",
    "lata",
    "latas",
    "bidon",
    "pote",
    "tubo",
    "frasco",
    "envase",
    "doypack",
    "sachet",
    "desechable",
    # Sold by weight: how the store prices it, not which product it is.
    "x kg",
    "por kg",
    "el kg",
    "x kilo",
    "por kilo",
    "a granel",
    "granel",
)
_FILLERS = frozenset(
    {
        "de",
        "con",
        "para",
        "y",
        "e",
        "la",
        "el",
        "los",
        "las",
        "del",
        "en",
        "a",
        "al",
        "por",
        "sin",
        "un",
        "una",
        "the",
        "and",
        "for",
        "with",
        "o",
        "u",
        "x",
        "+",
    }
)

# Display casing of well-known words (folded form -> canonical form).
_CASING = {
    "iphone": "iPhone",
    "ipad": "iPad",
    "imac": "iMac",
    "macbook": "MacBook",
    "airpods": "AirPods",
    "homepod": "HomePod",
    "playstation": "PlayStation",
    "dualsense": "DualSense",
    "thinkpad": "ThinkPad",
    "thinkbook": "ThinkBook",
    "ideapad": "IdeaPad",
    "ideacentre": "IdeaCentre",
    "vivobook": "Vivobook",
    "zenbook": "Zenbook",
    "geforce": "GeForce",
    "matebook": "MateBook",
    "matepad": "MatePad",
    "freebuds": "FreeBuds",
    "powershot": "PowerShot",
    "ecotank": "EcoTank",
    "deskjet": "DeskJet",
    "laserjet": "LaserJet",
    "officejet": "OfficeJet",
    "partybox": "PartyBox",
    "ultragear": "UltraGear",
    "nanocell": "NanoCell",
    "quietcomfort": "QuietComfort",
    "soundlink": "SoundLink",
    "oneplus": "OnePlus",
    "gopro": "GoPro",
    "proart": "ProArt",
    "aorus": "AORUS",
    "eos": "EOS",
    "no": "No",
    "n°": "No",
    "ti": "Ti",
    "ps5": "PS5",
    "ps4": "PS4",
    "xbox": "Xbox",
    "mckay": "McKay",
}
_UPPER = frozenset(
    {
        "rog",
        "tuf",
        "xps",
        "oc",
        "rgb",
        "usb",
        "led",
        "vip",
        "itx",
        "atx",
        "amp",
        "ssd",
        "hdd",
        "uhd",
        "hdr",
        "ips",
        "tws",
        "anc",
        "gps",
        "nfc",
        "se",
        "fe",
        "xl",
        "xxl",
        "lp",
        "sc",
        "ftw",
        "oled",
        "qled",
        "gt",
        "gts",
        "gtr",
        "rs",
        "rt",
        "tkl",
        "tv",
        "pc",
        "aio",
        "jbl",
        "msi",
        "hp",
        "lg",
        "xt",
        "xtx",
        "gre",
        "ex",
        "dj",
        "ii",
        "iii",
        "iv",
        "vr",
        "ai",
        "ufs",
        "ddr",
        "pd",
        "lte",
        "cpu",
        "gpu",
        "dc",
        "ac",
        "uv",
        "hd",
        "fhd",
        "qhd",
        "ccu",
        "tcl",
        "zte",
        "aoc",
        "wd",
    }
)
_TOKEN = re.compile(r"[0-9a-z°]+(?:[\-./'’][0-9a-z°]+)*(?:\+(?![0-9a-z]))?")
_NUMERO = re.compile(r"n[°o]\.?(\d{1,3})")
_BRACKETS = re.compile(r"\[[^\]]*\]?|\([^)]*\)?")
_DIGIT = re.compile(r"\d")
_SUFFIX_LETTER = re.compile(r"\d+[a-z]")
_ALPHA = re.compile(r"[^\W\d_]")
_ALNUM = re.compile(r"[^a-z0-9]+")
# Interface versions say how a device connects, not which one it is ("PCIe 4.0", "USB 3.2 Gen 2").
_INTERFACE = re.compile(
    r"(?<![a-z0-9])(?:pcie|pci\s*express|pci\s*e|usb(?:[\s-]*c)?|thunderbolt)"
    r"\s*(?:gen\s*)?\d(?:\.\d)?(?:\s*gen\s*\d(?:x\d)?)?(?![a-z0-9])"
)
# Product generations, in any of the ways stores write them: "10th Generation", "10ª Gen",
# "10 Generación", "(2da generación)"; rendered "10th Gen" even inside brackets.
_GENERATION = re.compile(
    r"(?<![a-z0-9])(\d{1,2})\s*(?:st|nd|rd|th|a|o|da|ra|ta|va|na|ma|°|º)?\.?\s*"
    r"(?:gen|generacion|generation)(?![a-z0-9])"
)
# A store's words before the model ("Monitor Gaming 27G2SP", "Notebook Gamer Victus 15").
_CASE_SIZE = re.compile(r"(?<![a-z0-9.,])(\d{2})\s*mm(?![a-z0-9])")
_LEADING_QUALIFIERS = frozenset({"gaming", "gamer"})
# Categories whose maker part numbers follow the series name ("IdeaPad Slim 3 15AMN8",
# "Nitro V 15 ANV15-51"): the series and the identity attributes identify the product.
_SERIES_CATEGORIES = frozenset({"notebooks", "desktops"})
_CODE_SUFFIX = re.compile(r"^(?=[a-z0-9]*\d)(?=[a-z0-9]*[a-z])([a-z0-9]{4,})-[a-z]$")
_TV_CODE = re.compile(r"^([a-z]{0,4})(\d{2})([a-z]{1,5}\d{2,4})([a-z]*)$")
# Words left next to a colour at the end of a title are part of a marketing colour name
# ("Azul Ultramar", "Titanio Desierto", "Gris Luna", "Awesome Navy", "Mist Blue").
_COLOR_TAIL = re.compile(r"(?:\s+[a-z]{3,}){1,2}\s*$")
_COLOR_ADJECTIVE = re.compile(r"(?<![a-z0-9])([a-z]{3,})\s+$")
# Makers' English colour names put a fancy word before the hue ("Awesome Navy", "Mist Blue").
_COLOR_ADJECTIVES = frozenset(
    {
        "awesome",
        "ripple",
        "indigo",
        "mist",
        "titan",
        "cosmic",
        "ocean",
        "forest",
        "sky",
        "arctic",
        "alpine",
        "deep",
        "light",
        "dark",
        "icy",
        "ice",
        "storm",
        "obsidian",
        "jet",
        "matte",
        "glacier",
        "lunar",
        "sunset",
        "aurora",
        "emerald",
        "sapphire",
        "coral",
        "misty",
        "pacific",
        "sierra",
        "stellar",
        "shadow",
        "cool",
        "marble",
        "pearl",
        "sage",
        "sand",
        "hazel",
        "cobalt",
        "jade",
        "mint",
        "olive",
        "royal",
        "electric",
    }
)


@dataclass(frozen=True)
class ModelParts:
    """The pieces of an extraction before it is wrapped in the contract model."""

    brand: str | None
    brand_known: bool
    model: str
    category: str | None
    attributes: dict[str, AttributeValue]


# ---------------------------------------------------------------------------- attributes


def _category_attributes(category: Category, folded: str, title: str) -> dict[str, AttributeValue]:
    names = category.attributes
    found: dict[str, AttributeValue] = {}

    def put(name: str, value: AttributeValue | None) -> None:
        if value is not None and name in names and name not in found:
            found[name] = value

    gb = units.gb_tokens(folded) if ("storage_gb" in names or "ram_gb" in names) else []
    if "ram_gb" in names:
        put("ram_gb", next((v for _, _, v, role in gb if role == "ram" and 1 <= v <= 512), None))
    if "storage_gb" in names:
        ram_starts = {s for s, _, _, role in gb if role == "ram"}
        plain = [v for s, _, v, role in gb if not role and s not in ram_starts]
        if "ram_gb" in names and "ram_gb" not in found and len(set(plain)) >= 2:
            # "16GB 512GB": the small one is RAM.
            small = min(plain)
            if small <= 64:
                found["ram_gb"] = small
                plain = [v for v in plain if v != small]
        if category.id in ("notebooks", "desktops") and "ram_gb" not in found and plain:
            # "RTX 3050 8GB 512GB": a computer's title states its RAM, its video memory seldom;
            # the one small size after the graphics chip, unmarked, is the RAM.
            after_chip = [
                v
                for _s, end, v, role in gb
                if role == "vram" and v <= 64 and not units.marked_video_memory(folded, end)
            ]
            if len(after_chip) == 1 and after_chip[0] < max(plain):
                found["ram_gb"] = after_chip[0]
        if (
            category.id in ("notebooks", "desktops")
            and plain
            and max(plain) <= 32
            and "ram_gb" not in found
        ):
            found["ram_gb"] = max(plain)
            plain = []
        if plain:
            found["storage_gb"] = max(plain)
    if "vram_gb" in names:
        put("vram_gb", units.parse_vram_gb(folded, loose=category.id == "video_cards"))
        if "vram_gb" not in found and category.id == "video_cards":
            put("vram_gb", next((v for _, _, v, _ in units.gb_tokens(folded) if v <= 48), None))
    if "screen_in" in names:
        put("screen_in", units.parse_screen_in(folded))
        if "screen_in" not in found and category.id in ("smart_tv", "monitors"):
            put("screen_in", units.tv_size_from_model_code(folded))
    simple = (
        ("volume_ml", units.parse_volume_ml),
        ("weight_g", units.parse_weight_g),
        ("pack_count", units.parse_pack_count),
        ("capacity_l", units.parse_capacity_l),
        ("capacity_kg", units.parse_capacity_kg),
        ("power_w", units.parse_power_w),
        ("refresh_hz", units.parse_refresh_hz),
        ("battery_mah", units.parse_battery_mah),
        ("megapixels", units.parse_megapixels),
        ("case_mm", units.parse_case_mm),
        ("abv", units.parse_abv),
        ("color", units.parse_color),
        ("concentration", units.parse_concentration),
        ("gender", units.parse_gender),
        ("network", units.parse_network),
        ("resolution", units.parse_resolution),
        ("panel", units.parse_panel),
        ("fat_level", units.parse_fat_level),
        ("processor", units.parse_processor),
        ("gpu_model", units.parse_gpu_model),
    )
    for name, parser in simple:
        if name in names and name not in found:
            put(name, parser(folded))
    if len(category.keyword_index):
        for _s, _e, (name, value) in category.keyword_index.scan(units.word_tokens(folded)):
            spec = names.get(name)
            if spec is None or name in found:
                continue
            put(name, True if spec.type == "bool" else value)
    return found


# ---------------------------------------------------------------------------- model


class _Spans:
    """Character spans removed from (or replaced in) the model."""

    def __init__(self) -> None:
        self.drop: list[tuple[int, int]] = []
        self.replace: list[tuple[int, int, str]] = []

    def add(self, start: int, end: int) -> None:
        if end > start:
            self.drop.append((start, end))


_NOISE_INDEX: PhraseIndex[str] = PhraseIndex((w, "noise") for w in _NOISE_WORDS)
_STRIP_CACHE: dict[str, PhraseIndex[str]] = {}


def _strip_index(category: Category | None) -> PhraseIndex[str]:
    key = category.id if category else ""
    index = _STRIP_CACHE.get(key)
    if index is None:
        index = PhraseIndex((w, "strip") for w in (category.strip_words if category else ()))
        for word in _NOISE_WORDS:
            index.add(word, "noise")
        _STRIP_CACHE[key] = index
    return index


def _case_word(original: str, folded: str, kind: str) -> str:
    known = _CASING.get(folded)
    if known is not None:
        return known
    if kind == "goods" and folded in _FILLERS:
        return folded
    has_digit = _DIGIT.search(folded) is not None
    if not has_digit and _ALPHA.search(original) is None:
        return original
    if has_digit:
        if _ALPHA.search(original) is None or _SUFFIX_LETTER.fullmatch(original):
            return original  # "11i", "7s": a lowercase suffix letter is part of the name
        return original.upper()
    parts = re.split(r"([\-./'’])", original)
    out: list[str] = []
    for part in parts:
        if not part or not _ALPHA.search(part):
            out.append(part)
            continue
        low = units.fold(part)
        mixed = not part.isupper() and not part.islower() and part[1:] != part[1:].lower()
        if mixed:
            out.append(part)
        elif low in _UPPER or (len(low) <= 2 and low not in _FILLERS):
            out.append(part.upper())
        elif out and out[-1] in ("'", "’"):
            out.append(part.lower())
        else:
            out.append(part[:1].upper() + part[1:].lower())
    return "".join(out)


def _build_model(
    title: str,
    folded: str,
    category: Category | None,
    spans: _Spans,
) -> str:
    kind = category.kind if category else "tech"
    words: list[str] = []
    emitted: set[int] = set()
    drops = sorted(spans.drop)
    replaces = spans.replace
    for match in _TOKEN.finditer(folded):
        start, end = match.span()
        replaced = False
        for index, (r_start, r_end, text) in enumerate(replaces):
            if start < r_end and r_start < end:
                if index not in emitted:
                    emitted.add(index)
                    if text:
                        words.append(text)
                replaced = True
                break
        if replaced:
            continue
        if _overlaps(start, end, drops):
            continue
        token = match.group()
        original = title[start:end]
        numero = _NUMERO.fullmatch(token)
        if numero is not None and ("°" in token or "º" in original or original[:1] == "N"):
            # Chanel "N°5" / "Nº5" / "No5" -> "No 5".
            words.append("No " + numero.group(1))
            continue
        if token in _FILLERS and kind == "tech":
            continue
        words.append(_case_word(original, token, kind))
    if kind == "tech":
        words = _clean_codes(words, category.id if category else None)
    words = _dedupe(words)
    # Drop dangling function words at the ends ("Leche de" -> "Leche", "para Good Girl").
    while words and words[-1] in _FILLERS:
        words.pop()
    while words and units.fold(words[0]) in _FILLERS:
        if kind == "goods" and units.fold(words[0]) != "para":
            words[0] = words[0].capitalize()
            break
        words.pop(0)
    return " ".join(words)


def _generation(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix} Gen"


def _is_code(key: str) -> bool:
    """A maker code: letters and at least two digits, four characters or more ("DU7000")."""
    return len(key) >= 4 and sum(c.isdigit() for c in key) >= 2 and not key.isdigit()


def _clean_codes(words: list[str], category_id: str | None) -> list[str]:
    """Model-number hygiene for tech products.

    * a store qualifier before the model goes ("Gaming 27G2SP" -> "27G2SP");
    * a colour-variant letter after a code goes ("27GS60F-B" -> "27GS60F");
    * a TV code reads as its series ("UN55DU7000GXZS" -> "DU7000", "65C655" -> "C655");
    * a part number that repeats another model word goes ("DU7000 UN55DU7000GXZS",
      "RTX 4060 Dual OC DUAL-RTX4060-O8G"), with a short prefix it spells out ("KD X77L KD-55X77L");
    * in notebooks and desktops a part number after the series goes ("Nitro V 15 ANV15-51").
    """
    while len(words) > 1 and units.fold(words[0]) in _LEADING_QUALIFIERS:
        words = words[1:]
    out: list[str] = []
    prefixes: set[str] = set()
    for word in words:
        folded = units.fold(word)
        suffix = _CODE_SUFFIX.match(folded)
        if suffix is not None and len(_ALNUM.sub("", suffix.group(1))) >= 5:
            word = word[: len(suffix.group(1))]
            folded = suffix.group(1)
        if category_id == "smart_tv":
            code = _TV_CODE.match(_ALNUM.sub("", folded))
            if code is not None and int(code.group(2)) in units.TV_SIZES:
                series = code.group(3) + (code.group(4) if len(code.group(4)) <= 2 else "")
                word = series.upper()
                if code.group(1):
                    prefixes.add(code.group(1))
        out.append(word)
    keys = [_ALNUM.sub("", units.fold(w)) for w in out]
    drop = {i for i, key in enumerate(keys) if key in prefixes}
    for i, key in enumerate(keys):
        if not _is_code(key):
            continue
        for j, other in enumerate(keys):
            if (
                i != j
                and len(other) >= 3
                and len(key) >= len(other) + 2
                and other in key
                and any(c.isdigit() for c in other)
            ):
                drop.add(i)
                for k, short in enumerate(keys):
                    if k != i and short.isalpha() and len(short) <= 2 and key.startswith(short):
                        drop.add(k)
                break
    if category_id in _SERIES_CATEGORIES:
        seen_number = False
        for i, key in enumerate(keys):
            if seen_number and _is_code(key) and len(key) >= 5:
                drop.add(i)
            seen_number = seen_number or any(c.isdigit() for c in key)
    return [w for i, w in enumerate(out) if i not in drop] if len(drop) < len(out) else out


def _dedupe(words: list[str]) -> list[str]:
    """A word the title repeats counts once ("Aerosol ... Aerosol", "Robot Robot Vacuum")."""
    seen: set[str] = set()
    out: list[str] = []
    for word in words:
        key = units.fold(word)
        if key in seen and not key.isdigit() and key not in _FILLERS:
            continue
        seen.add(key)
        out.append(word)
    return out


def _model_spans(
    category: Category | None,
    folded: str,
    brand_span: tuple[int, int] | None,
    attributes: Mapping[str, AttributeValue],
    brand: str | None,
) -> _Spans:
    spans = _Spans()
    if brand_span is not None:
        spans.add(*brand_span)
    for match in _GENERATION.finditer(folded):
        spans.replace.append((match.start(), match.end(), _generation(int(match.group(1)))))
    for match in _BRACKETS.finditer(folded):
        spans.add(*match.span())
    for match in _INTERFACE.finditer(folded):
        spans.add(*match.span())
    tokens = units.word_tokens(folded)
    if brand:
        rewrites = load_brands().model_words(brand)
        if len(rewrites):
            for start, end, text in rewrites.scan(tokens):
                spans.replace.append((start, end, text))
    if category is not None and "case_mm" in category.keep_in_model:
        # Watches: the case size is part of the model name ("Watch Series 10 46mm").
        for match in _CASE_SIZE.finditer(folded):
            spans.replace.append((match.start(), match.end(), match.group(1) + "mm"))
    packs = category is None or "pack_count" in category.attributes
    for start, end in units.unit_spans(folded, packs=packs):
        spans.add(start, end)
    for start, end, _kind in _strip_index(category).scan(tokens):
        spans.add(start, end)
    if category is None:
        return spans
    names = category.attributes
    keep = set(category.keep_in_model)
    if "color" in names:
        for start, end, _color in units.color_spans(folded):
            spans.add(start, end)
            tail = _COLOR_TAIL.match(folded, end)
            if tail is not None:
                spans.add(end, tail.end())
            before = _COLOR_ADJECTIVE.search(folded, 0, start)
            if before is not None and before.group(1) in _COLOR_ADJECTIVES:
                spans.add(before.start(1), before.end(1))
    for name in ("resolution", "panel", "network", "concentration", "gender", "refresh_hz", "abv"):
        if name in names and name not in keep:
            for start, end in units.attribute_spans(folded, name):
                spans.add(start, end)
    for name, finder in (("processor", units.processor_span), ("gpu_model", units.gpu_span)):
        if name not in names:
            continue
        found = finder(folded)
        if found is None:
            continue
        start, end, canonical = found
        if name in keep:
            text = canonical
            if brand and units.fold(text).startswith(units.fold(brand) + " "):
                text = text[len(brand) + 1 :]
            spans.replace.append((start, end, text))
        else:
            spans.add(start, end)
    if len(category.keyword_index):
        for start, end, (name, _value) in category.keyword_index.scan(tokens):
            if name not in keep and name in attributes:
                spans.add(start, end)
    return spans


# ---------------------------------------------------------------------------- naming


def _fmt_gb(value: int) -> str:
    if value >= 1024 and value % 1024 == 0:
        return f"{value // 1024}TB"
    return f"{value}GB"


def format_attribute(name: str, value: AttributeValue) -> str | None:
    """Display form of an attribute in a normalized name (`storage_gb=1024` -> `"1TB"`)."""
    if isinstance(value, bool):
        return None
    if name in ("storage_gb", "vram_gb") and isinstance(value, int):
        return _fmt_gb(value)
    if name == "ram_gb" and isinstance(value, int):
        return _fmt_gb(value) + " RAM"
    if name == "screen_in" and isinstance(value, int | float):
        return f'{value:g}"'
    if name == "volume_ml" and isinstance(value, int | float):
        if value >= 1000 and value % 100 == 0:
            return f"{value / 1000:g}L"
        return f"{value:g}ml"
    if name == "weight_g" and isinstance(value, int | float):
        if value >= 1000 and value % 100 == 0:
            return f"{value / 1000:g}kg"
        return f"{value:g}g"
    if name == "pack_count" and isinstance(value, int | float):
        return f"x{value:g}" if value > 1 else None
    suffix = {
        "capacity_l": "L",
        "capacity_kg": "kg",
        "power_w": "W",
        "refresh_hz": "Hz",
        "case_mm": "mm",
        "megapixels": "MP",
        "battery_mah": "mAh",
        "abv": "%",
    }.get(name)
    if suffix is not None and isinstance(value, int | float):
        return f"{value:g}{suffix}"
    if name == "color" and isinstance(value, str):
        return value.capitalize()
    if name == "diaper_size":
        return f"Talla {value}"
    if isinstance(value, str):
        return value
    return None


def normalized_name(
    brand: str | None,
    model: str | None,
    category: Category | None,
    attributes: Mapping[str, AttributeValue],
) -> str:
    """Canonical display name: `"BRAND model key-attributes"`."""
    parts = [p for p in (brand, model) if p]
    if category is not None:
        model_folded = units.fold(model or "")
        for name in category.name_attributes:
            value = attributes.get(name)
            if value is None:
                continue
            shown = format_attribute(name, value)
            if shown and units.fold(shown) not in model_folded:
                parts.append(shown)
    return " ".join(parts)


# A manufacturer's part number set apart in brackets, as price-comparison sites and stores
# write it ("IdeaPad Slim 3 15IAN8 (82XB0005CL)", "[18J38UA]").
_BRACKETED_PART_NUMBER = re.compile(r"[(\[]\s*([A-Za-z0-9][A-Za-z0-9\-/#.]{4,23})\s*[)\]]")


# A title this short that holds one code is a maker's name and its part number
# ("ASUS TUF-RTX3070-O8G-V2-GAMING").
_SHORT_TITLE_WORDS = 3
_MIN_CODE_CHARACTERS = 6


def _is_part_number(word: str, shortest: int = 1) -> bool:
    """Letters and digits, at least `shortest` of them."""
    letters = sum(c.isalpha() for c in word)
    digits = sum(c.isdigit() for c in word)
    return letters > 0 and digits > 0 and letters + digits >= shortest


# A code written in hyphen-joined pieces of letters and digits ("X1502ZA-EJ1426W",
# "A515-57-51W3", "12VE-464XCL"): how makers write part numbers, long enough not to be a size.
_HYPHENATED_CODE = re.compile(r"(?<![\w\-/.])([a-z0-9]+(?:-[a-z0-9]+)+)(?![\w\-/])")
_MIN_HYPHENATED_CODE = 8
# A hardware revision ("rev. 2.0", "Rev 1.1").
_REVISION = re.compile(r"\brev\.?\s*(\d+(?:\.\d+)?)\b", re.IGNORECASE)
# The fewest characters of a code's stem that, written in a name, names the code.
_MIN_NAMED_STEM = 6
# Hyphenated specifications, not part numbers: memory standards ("DDR4-3200", "PC4-25600").
_SPECIFICATION = re.compile(r"(?:lp)?g?ddr\d|pc\d")


def _hyphenated_part_number(title: str) -> str | None:
    """The one hyphenated code of a title that is no processor, GPU chip, size or memory
    standard."""
    folded = units.fold(title)
    found = [
        match
        for match in _HYPHENATED_CODE.finditer(folded)
        if _is_part_number(compact := match.group(1).replace("-", ""), _MIN_HYPHENATED_CODE)
        and not _SPECIFICATION.match(compact)
    ]
    if not found:
        return None  # most titles: no chip or size to look for
    chips = [span for span in (units.processor_span(folded), units.gpu_span(folded)) if span]
    sizes = units.unit_spans(folded)
    codes: set[str] = set()
    for match in found:
        start, end = match.span(1)
        if any(s < end and start < e for s, e, *_ in chips):
            continue
        pieces: list[tuple[int, int]] = []
        at = start
        for piece in match.group(1).split("-"):
            pieces.append((at, at + len(piece)))
            at += len(piece) + 1
        # A piece that is a size ("IPS-144Hz"); a unit inside a piece ("EJ1426W") is a code's.
        if any(s <= p_start and p_end <= e for s, e in sizes for p_start, p_end in pieces):
            continue
        codes.add(title[start:end].upper())
    return codes.pop() if len(codes) == 1 else None


def part_number(title: str) -> str | None:
    """The part number a title states apart, upper case: the first one in brackets, else the
    one code of a title that is little more than a maker and its part number, else the one
    hyphenated code of the title (`_hyphenated_part_number`)."""
    for match in _BRACKETED_PART_NUMBER.finditer(title):
        if _is_part_number(match.group(1)):
            return match.group(1).upper()
    words = [w.strip(".,;:") for w in title.split()]
    if len(words) <= _SHORT_TITLE_WORDS:
        codes = [w for w in words if _is_part_number(w, _MIN_CODE_CHARACTERS)]
        if len(codes) == 1:
            return codes[0].upper()
    return _hyphenated_part_number(title)


def names_carry_part_numbers(category: Category | None) -> bool:
    """Technology names carry the part number a title states apart (`with_part_number`)."""
    return category is not None and category.kind == "tech"


def names_part_number(name: str, code: str) -> bool:
    """Whether `name` already writes `code` (case, accents and hyphens aside)."""
    return units.fold(code).replace("-", "") in units.fold(name).replace("-", "")


def with_part_number(name: str, title: str, category: Category | None) -> str:
    """The display name with the part number the title states apart (`part_number`) and the name
    lacks, in the categories whose names carry one: two configurations of one line ("LENOVO
    IdeaPad Slim 3", "ASUS RTX 3070 8GB") are told apart where the title states no
    specifications."""
    if not names_carry_part_numbers(category):
        return name
    revision = _REVISION.search(title)
    if revision is not None and not _REVISION.search(name):
        # "GV-N1656OC-4GD (rev. 2.0)": another board than the first revision, same part number.
        name = f"{name} rev. {revision.group(1)}"
    code = part_number(title)
    if code is None or names_part_number(name, code):
        return name
    stem = code.rsplit("-", 1)[0]
    if (
        "-" in code
        and len(stem.replace("-", "")) >= _MIN_NAMED_STEM
        and names_part_number(name, stem)
    ):
        return name  # "LG UltraGear 27GN750" of "27GN750-B": the colour or region aside
    return f"{name} {code}"


# ---------------------------------------------------------------------------- extract


def _brand_span(
    brands: BrandAliases, title: str, tokens: list[tuple[int, int, str]], brand: str
) -> tuple[int, int] | None:
    for match in brands.matches(title):
        if match.brand == brand and match.kind == "alias":
            return match.start, match.end
    index: PhraseIndex[int] = PhraseIndex([(brand, 1)])
    found = index.scan(tokens)
    return (found[0][0], found[0][1]) if found else None


_MIN_BRAND_LETTERS = 2
_MAX_LEADING_WORDS = 3
# Characters that join two word pieces into one name ("D-Link", "D'Addario", "Elmer's").
_GLUE = "-'’"
# Product words a title may open with before its brand ("Disco Duro Externo LaCie ...").
_MAX_PRODUCT_WORDS = 3
# The fewest characters of a title-opening part number ("MBD2147RC", "22947800"; not "500 g").
_MIN_PART_NUMBER = 5
# A capital inside a word: a maker's own spelling ("LaCie", "iiyama G-Master"; not "La Ropa").
_CAMEL = re.compile(r"[a-z][A-Z]")
# Words that close a company's name ("Focus Foodservice LLC", "MVP Group", "Royal Industries").
_COMPANY_WORDS = frozenset(
    {
        "inc", "llc", "ltd", "limited", "gmbh", "corp", "corporation", "co", "company", "group",
        "industries", "enterprises", "international", "manufacturing", "brands", "labs",
        "laboratories", "technologies", "systems", "networks", "electronics", "packaging",
        "products", "jewelers",
    }
)  # fmt: skip
# Words after a brand that make it the system a product fits ("Nikon Fit", "Sony E mount").
_FIT_WORDS = frozenset({"fit", "fits", "mount", "mounts", "bajonett", "montura", "compatible"})
# Words before "by" that do not introduce the product's maker ("Powered by Intel").
_BY_NOT_MAKER = frozenset({"powered", "inspired", "driven", "sold", "followed", "signed", "used"})
# Prepositions that open a noun's complement in a Spanish title ("Pulpa de Tomate", "Muslos al
# Vacío", "Malta sin Alcohol"); the emulator's brand reading uses them too.
NOUN_COMPLEMENTS = frozenset({"de", "del", "al", "con", "sin", "para"})
# Words that open a brand name and join the next word ("La Serenísima", "Saint Felicien").
_NAME_PREFIXES = frozenset(
    {"la", "el", "los", "las", "don", "dona", "san", "santa", "santo", "saint", "st", "dr", "mr"}
)
# Participles and adjectives describe a product ("Descremado", "Molida"), they do not name one.
_ADJECTIVE_ENDINGS = ("ado", "ada", "ados", "adas", "ido", "ida", "idos", "idas")


_DESCRIPTIVE_ATTRIBUTES = ("fat_level", "lactose_free", "sugar_free", "concentration", "gender")


def _blocked_spans(folded: str, taxonomy: Taxonomy) -> list[tuple[int, int]]:
    """Spans that are never a brand: category nouns, sizes and units, colours, descriptions."""
    spans = [(s, e) for s, e, _cat, _strength in taxonomy.cue_matches(folded)]
    spans.extend(units.unit_spans(folded))
    spans.extend((s, e) for s, e, _color in units.color_spans(folded))
    for name in _DESCRIPTIVE_ATTRIBUTES:
        spans.extend(units.attribute_spans(folded, name))
    return spans


def _brand_word(
    token: tuple[int, int, str], title: str, brands: BrandAliases, blocked: list[tuple[int, int]]
) -> bool:
    start, end, word = token
    letters = sum(c.isalpha() for c in word)
    digits = sum(c.isdigit() for c in word)
    if letters < _MIN_BRAND_LETTERS or (digits and (letters < 5 or digits * 2 > letters)):
        return False  # a size or a model code; "Twenty20" is a name
    if brands.is_generic_word(word) or word in _FILLERS or brands.is_line(word):
        return False
    if brands.is_product_word(word):
        return False  # "Memoire DDR3 HyperX", "Genuine Oki Toner"
    if len(word) >= 6 and word.endswith(_ADJECTIVE_ENDINGS):
        return False
    return not _overlaps(start, end, blocked)


def _joined(title: str, left: tuple[int, int, str], right: tuple[int, int, str]) -> bool:
    """Two words written as one name: "Cuisine & Co", "Black+Decker", "Procter and Gamble"."""
    gap = title[left[1] : right[0]].strip().lower()
    return gap in ("&", "+", "-") or (gap == "" and right[0] == left[1])


def _name_at(
    title: str,
    tokens: list[tuple[int, int, str]],
    index: int,
    brands: BrandAliases,
    blocked: list[tuple[int, int]],
) -> tuple[int, int] | None:
    """The brand name starting at token `index`, as a character span, if one starts there: one
    word, a prefix and its word ("La Serenísima"), words joined by "&" ("Cuisine & Co"), or, in
    a mixed-case title, a run of capitalised words ("Relógio DANIEL WELLINGTON Classic")."""
    token = tokens[index]
    glued = index
    while (
        glued + 1 < len(tokens)
        and tokens[glued + 1][0] == tokens[glued][1] + 1
        and title[tokens[glued][1]] in _GLUE
    ):
        glued += 1  # "D-Link", "D'Addario": one name written with a hyphen or an apostrophe
    if glued > index:
        pieces = [t[2] for t in tokens[index : glued + 1]]
        if any(_DIGIT.search(piece) for piece in pieces):
            return None  # "UVC-G4-PRO", "WS-C2960X": a model code, not a name
        word = "".join(pieces)
        if _brand_word((token[0], tokens[glued][1], word), title, brands, blocked):
            return token[0], _company_end(title, tokens, glued)
        return None
    if token[2] in _NAME_PREFIXES and index + 1 < len(tokens):
        follower = tokens[index + 1]
        if _brand_word(follower, title, brands, blocked):
            return token[0], _company_end(title, tokens, index + 1)
    if not _brand_word(token, title, brands, blocked):
        return None
    end = token
    capitals = _upper_word(title, token) and _is_mixed_case(title)
    for follower in tokens[index + 1 : index + _MAX_LEADING_WORDS]:
        gap = title[end[1] : follower[0]].strip().lower()
        if follower[2] == "and":
            continue  # "Cuisine And Co": the joining word itself
        joined = gap in ("&", "+", "and") or (gap == "" and follower[0] == end[1])
        # A mixed-case title writes its maker in capitals: the capitalised words run together.
        joined = joined or (
            capitals
            and gap == ""
            and _upper_word(title, follower)
            and not _DIGIT.search(follower[2])
        )
        if not joined or not _brand_word(follower, title, brands, blocked):
            break
        end = follower
    return token[0], _company_end(title, tokens, tokens.index(end))


def _company_end(title: str, tokens: list[tuple[int, int, str]], last: int) -> int:
    """Where a name ends once the company word closing it is counted: "Focus Foodservice LLC",
    "MVP Group", "Traveler's Company" (at most two capitalised words on, in a mixed-case
    title)."""
    following = tokens[last + 1 : last + 3]
    if not any(t[2] in _COMPANY_WORDS for t in following) or not _is_mixed_case(title):
        return tokens[last][1]  # "speck products seethru case": no casing tells a name's end
    end = tokens[last][1]
    for follower in following:
        if title[end : follower[0]] != " " or _DIGIT.search(follower[2]):
            break
        if not title[follower[0]].isupper():
            break
        if follower[2] in _COMPANY_WORDS:
            return follower[1]
        end = follower[1]
    return tokens[last][1]


def _upper_word(title: str, token: tuple[int, int, str]) -> bool:
    """The word is written in capitals ("WELLINGTON"; not "X" nor "4K")."""
    text = title[token[0] : token[1]]
    return sum(c.isalpha() for c in text) >= _MIN_BRAND_LETTERS and text.isupper()


def _leading_name(
    title: str,
    tokens: list[tuple[int, int, str]],
    brands: BrandAliases,
    blocked: list[tuple[int, int]],
    mixed: bool,
) -> str | None:
    """The name a title starts with, if it starts with one (capitalised in a mixed-case title).

    A word a noun complement follows is the product's noun, not its maker's name ("Bocaditos
    De Pollo Sadia", "Almohaditas sin TACC ... Snuks", "Pulpa de Tomate"): a Spanish title
    opens with what the product is; makers whose name has such a phrase are matched whole by
    the alias table before this reading."""
    if not tokens or (mixed and not title[tokens[0][0] : tokens[0][0] + 1].isupper()):
        return None
    span = _name_at(title, tokens, 0, brands, blocked)
    if span is None:
        return None
    after = next((t for t in tokens if t[0] >= span[1]), None)
    if after is not None and after[2] in NOUN_COMPLEMENTS:
        return None
    return title[span[0] : span[1]]


def _repeated_name(
    title: str,
    tokens: list[tuple[int, int, str]],
    brands: BrandAliases,
    blocked: list[tuple[int, int]],
) -> str | None:
    """A title opening with the same name twice names its maker there ("Park Tool Park Tool
    CC-3.2", "D'Addario D'Addario EJ16"): stores prepend their brand field to a title that
    already starts with it."""
    for size in range(1, _MAX_LEADING_WORDS + 1):
        if 2 * size > len(tokens):
            break
        first = [t[2] for t in tokens[:size]]
        if first != [t[2] for t in tokens[size : 2 * size]]:
            continue
        start, end = tokens[0][0], tokens[size - 1][1]
        if any(_DIGIT.search(word) for word in first) or sum(map(len, first)) < 2:
            return None
        if all(brands.is_generic_word(word) or word in _FILLERS for word in first):
            return None
        if _overlaps(start, end, blocked):
            return None
        return title[start:end]
    return None


def _by_name(
    title: str,
    tokens: list[tuple[int, int, str]],
    brands: BrandAliases,
    blocked: list[tuple[int, int]],
    mixed: bool,
) -> str | None:
    """The maker a title states with "by" ("Labels, 2 x 4, White by Avery AVE05444", "Mighty
    Tea by Ocean Spray"): a name after "by", capitalised in a mixed-case title, with the
    capitalised words that follow it."""
    known: dict[int, BrandMatch] | None = None
    for index in range(1, len(tokens) - 1):
        if tokens[index][2] != "by" or tokens[index - 1][2] in _BY_NOT_MAKER:
            continue
        first = tokens[index + 1]
        if known is None:
            known = {hit.start: hit for hit in brands.matches(title) if hit.kind == "alias"}
        if first[0] in known:  # "Pad by 3M MMM08004": a known maker, whatever its spelling
            return title[first[0] : known[first[0]].end]
        if mixed and not title[first[0]].isupper():
            continue
        span = _name_at(title, tokens, index + 1, brands, blocked)
        if span is None and _stated_word(first, title, brands, blocked):
            span = first[0], first[1]  # "Pads by Universal UNV35688": said outright
        if span is None:
            continue
        end = span[1]
        following = [t for t in tokens[index + 2 :] if t[0] >= end]
        for follower in following[: _MAX_LEADING_WORDS - 1]:
            if not mixed or title[end : follower[0]] != " " or not title[follower[0]].isupper():
                break
            if _DIGIT.search(follower[2]) or not _brand_word(follower, title, brands, blocked):
                break
            end = follower[1]
        return title[span[0] : end]
    return None


def _stated_word(
    token: tuple[int, int, str], title: str, brands: BrandAliases, blocked: list[tuple[int, int]]
) -> bool:
    """A common word that is a name where the title says it is one ("by Universal"): not a
    joining word, product word, size, colour or code."""
    start, end, word = token
    if _DIGIT.search(word) or word in _FILLERS or brands.is_product_word(word):
        return False
    if sum(c.isalpha() for c in word) < _MIN_BRAND_LETTERS:
        return False
    return not _overlaps(start, end, blocked)


def _name_after_product_words(
    title: str,
    tokens: list[tuple[int, int, str]],
    brands: BrandAliases,
    blocked: list[tuple[int, int]],
    mixed: bool,
) -> str | None:
    """The name after the part number or product words a title opens with ("Relógio DANIEL
    WELLINGTON Classic", "Pneu Maxxis Ardent", "Disco Duro Externo LaCie Rugged"): in a
    mixed-case title it must be capitalised."""

    def product_word(token: tuple[int, int, str]) -> bool:
        start, end, word = token
        if word in _NAME_PREFIXES:
            return False  # "Leche Entera La Serenísima": the name starts there
        return (
            brands.is_product_word(word)
            or brands.is_generic_word(word)
            or word in _FILLERS
            or _overlaps(start, end, blocked)
        )

    # A part number may open a mixed-case title ("22947800 Artesyn Power Supply", "MBD2147RC
    # Fujitsu 146-GB"): its pieces are skipped, and the capitalised name after it is the
    # maker's ("abs48 wood tv stand" says nothing).
    index = 0
    if mixed and len(tokens[0][2]) >= _MIN_PART_NUMBER and _DIGIT.search(tokens[0][2]):
        while index < len(tokens) and _DIGIT.search(tokens[index][2]):
            if _overlaps(tokens[index][0], tokens[index][1], blocked):
                return None  # a size, not a part number
            index += 1
    part_number = index
    while index < min(len(tokens), part_number + _MAX_PRODUCT_WORDS) and product_word(
        tokens[index]
    ):
        if _DIGIT.search(tokens[index][2]):
            return None
        index += 1
    if index == 0 or index >= len(tokens):
        return None
    if part_number == 0 and all(
        brands.is_generic_word(t[2]) or t[2] in _FILLERS for t in tokens[:index]
    ):
        return None  # "twin tub dtt420", "New Age 13048GSC": no product word opens the title
    token = tokens[index]
    if _DIGIT.search(token[2]) or (mixed and not title[token[0]].isupper()):
        return None
    span = _name_at(title, tokens, index, brands, blocked)
    if span is None:
        return None
    name = title[span[0] : span[1]]
    following = [t for t in tokens[index + 1 :] if t[0] >= span[1]]
    # A grocery title names its product in Title Case ("Sal Lobos de Mesa", "Palta Hass"): a
    # word after the product noun is a maker only when something says so: a product word the
    # taxonomy does not list (another language's), the maker's own casing ("LaCie", "DANIEL
    # WELLINGTON" in a mixed-case title), or a model code right after it ("Netgear GS108E").
    said = (
        part_number > 0
        or any(
            brands.is_product_word(t[2]) and not _overlaps(t[0], t[1], blocked)
            for t in tokens[:index]
        )
        # Two capitals are an abbreviation as often as a maker ("Memoria USB DT Exodia").
        or (
            mixed
            and (
                (name.isupper() and sum(c.isalpha() for c in name) > 2)
                or any(_CAMEL.search(word) for word in name.split())
            )
        )
        or (bool(following) and _model_code(following[0], blocked))
    )
    return name if said else None


def _overlaps(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    """Whether [start, end) shares a character with any of `spans`."""
    return any(start < span_end and span_start < end for span_start, span_end in spans)


def _model_code(token: tuple[int, int, str], blocked: list[tuple[int, int]]) -> bool:
    """Letters and digits in one word that is not a size ("GS108E", "X77L"; not "250g")."""
    start, end, word = token
    if not (_DIGIT.search(word) and _ALPHA.search(word)):
        return False
    return not _overlaps(start, end, blocked)


_GLUED_CODE = re.compile(r"([a-z]+)(\d[a-z0-9]*)")


def _glued_brand(tokens: list[tuple[int, int, str]], brands: BrandAliases) -> str | None:
    """A known brand written onto its model code at the start of a title ("HP15-dw1001nl",
    "Lenovo82H8 IdeaPad"): letters, then digits, where the letters are a brand's alias. Only the
    first words, where a title names its maker; a code later on is a model ("RTX3050")."""
    for _start, _end, word in tokens[:_MAX_LEADING_WORDS]:
        match = _GLUED_CODE.fullmatch(word)
        if match is None or len(match.group(1)) < _MIN_BRAND_LETTERS:
            continue
        canonical = brands.canonical(match.group(1))
        info = brands.get(canonical) if canonical else None
        if info is not None and not info.weak:
            return info.name
    return None


def _opens_twice(tokens: list[tuple[int, int, str]]) -> bool:
    """The first words come again right after themselves ("Park Tool Park Tool ...")."""
    words = [t[2] for t in tokens[: 2 * _MAX_LEADING_WORDS]]
    return any(words[:size] == words[size : 2 * size] for size in range(1, _MAX_LEADING_WORDS + 1))


def _stated_or_leading(
    title: str,
    tokens: list[tuple[int, int, str]],
    brands: BrandAliases,
    folded: str,
    taxonomy: Taxonomy,
    outranked: bool,
    fitted: bool,
) -> str | None:
    """The maker stated outright (named twice at the start, or "by" a name), which outranks a
    brand met later in the title; else the title's leading name when it outranks that brand
    (`outranked`) or that brand is the mount the product fits (`fitted`; an unknown leading
    name only)."""
    blocked = _blocked_spans(folded, taxonomy)
    mixed = _is_mixed_case(title)
    named = _repeated_name(title, tokens, brands, blocked) or _by_name(
        title, tokens, brands, blocked, mixed
    )
    if named is not None:
        return named
    leading = _leading_name(title, tokens, brands, blocked, mixed)
    if leading is None or not (outranked or (fitted and brands.canonical(leading) is None)):
        return None
    return leading


def _known_at(brands: BrandAliases, title: str, name: str) -> str | None:
    """The known brand a name read from the title starts with ("by Ocean Spray OCS22712" ->
    OCEAN SPRAY, though "Spray" alone is a generic word)."""
    known = brands.canonical(name)
    if known is not None:
        return known
    start = title.find(name)
    if start < 0:
        return None
    for hit in brands.matches(title[start:]):
        if hit.start == 0 and hit.kind == "alias":
            return hit.brand
    return None


def _fitted(hit: BrandMatch, tokens: list[tuple[int, int, str]]) -> bool:
    """A brand named as the mount or system the product fits ("Sigma 35mm f1.4 ... Nikon Fit",
    "Sigma 50mm F1.4 ... Sony E mount"), not its maker."""
    after = [word for start, _end, word in tokens if start >= hit.end][: _MAX_LEADING_WORDS - 1]
    return any(word in _FIT_WORDS for word in after)


def _is_mixed_case(title: str) -> bool:
    """Some letters in capitals and some not (a cased letter changes under upper or lower)."""
    return title.upper() != title and title.lower() != title


# An alias this short is easily a piece of a model code ("WD-65735" is not Western Digital).
_SHORT_ALIAS = 3
# "case for Apple MacBook", "funda para iPhone": the brand the product fits, not its maker.
_FITS = re.compile(r"(?:^|\s)(?:for|para|compatible (?:con|with)|fits|p/)\s*$")


def _leads_over(hit: BrandMatch, title: str, tokens: list[tuple[int, int, str]]) -> bool:
    """A known brand found later in the title that a leading name outranks: a product line
    ("Speck case for iPod", "Weber grill ... cooking surface"), a brand that is also a common
    word, or a short alias inside a code."""
    if not tokens or hit.start <= tokens[0][0]:
        return False
    short = len(units.alias_key(title[hit.start : hit.end]).replace(" ", "")) <= _SHORT_ALIAS
    fits = _FITS.search(units.fold(title[: hit.start])) is not None
    return hit.kind == "line" or hit.weak or short or fits


def _title_brand(
    title: str,
    tokens: list[tuple[int, int, str]],
    taxonomy: Taxonomy,
    brands: BrandAliases,
    folded: str,
) -> str | None:
    """A brand outside the alias table, read from the title's shape.

    * The leading name of a title that starts with one ("Linksys EtherFast 8-Port",
      "linksys etherfast ..."): not a category noun, size, colour, number, description or
      generic word ("Set", "Wireless", "Nuevo"); in a mixed-case title it must be capitalised.
    * In a sentence-case title, the first capitalised name after its first word ("Queso
      colonia Verónica horma x kg.", "Yogur entero La Serenísima frutilla 190 g").
    """
    if not tokens:
        return None
    blocked = _blocked_spans(folded, taxonomy)
    mixed = _is_mixed_case(title)

    def capitalised(token: tuple[int, int, str]) -> bool:
        return title[token[0] : token[0] + 1].isupper()

    first = tokens[0]
    leading = _leading_name(title, tokens, brands, blocked, mixed)
    if leading is not None:
        return leading
    after_product = _name_after_product_words(title, tokens, brands, blocked, mixed)
    if after_product is not None:
        return after_product
    if not mixed or not capitalised(first):
        return None
    rest = [t for t in tokens[1:] if not _DIGIT.search(t[2]) and t[2] not in _FILLERS]
    if not rest or sum(1 for t in rest if not capitalised(t)) * 2 < len(rest):
        # Title Case: capitals say nothing about names (a model reads those titles).
        return None
    for index in range(1, len(tokens)):
        token = tokens[index]
        if _DIGIT.search(token[2]):
            break  # sizes and codes come after the name
        if not capitalised(token):
            continue
        span = _name_at(title, tokens, index, brands, blocked)
        if span is not None:
            return title[span[0] : span[1]]
    return None


def _names_no_maker(
    tokens: list[tuple[int, int, str]], taxonomy: Taxonomy, brands: BrandAliases, folded: str
) -> bool:
    """The title names a product and nothing that could be its maker: every word is a product
    noun, a size, a colour, a description or a generic word ("Huevo Blanco Grande 12 Ud.",
    "Puré de Papas Original x 125 g"). Such a product is sold unbranded."""
    cues = [(s, e) for s, e, _cat, _strength in taxonomy.cue_matches(folded)]
    if not cues or not tokens:
        return False
    blocked = [*cues, *_blocked_spans(folded, taxonomy)]
    for start, end, word in tokens:
        if _DIGIT.search(word) or word in _FILLERS or brands.is_generic_word(word):
            continue
        if len(word) >= 6 and word.endswith(_ADJECTIVE_ENDINGS):
            continue
        if not _overlaps(start, end, blocked):
            return False
    return True


def _clean_hint(hint: str) -> str | None:
    return brand_spelling(hint)


def parts(
    title: str,
    retailer_category: str | None = None,
    brand_hint: str | None = None,
    retailer_attributes: Mapping[str, object] | None = None,
    *,
    house_brand: str | None = None,
    taxonomy: Taxonomy | None = None,
    brands: BrandAliases | None = None,
) -> ModelParts:
    """The extraction pieces (brand, model, category, attributes) without scoring."""
    taxonomy = taxonomy or load_taxonomy()
    brands = brands or load_brands()
    title = title[:_MAX_TITLE] if isinstance(title, str) else ""
    folded = units.fold(title)
    tokens = units.word_tokens(folded)

    brand: str | None = None
    brand_known = False
    if brand_hint and isinstance(brand_hint, str) and brand_hint.strip():
        brand = brands.canonical(brand_hint)
        brand_known = brand is not None
        if brand is None:
            title_brand = brands.find_in_title(brand_hint)
            if title_brand is not None:
                brand, brand_known = title_brand, True
            else:
                brand = _clean_hint(brand_hint)
    if brand is None:
        hit = brands.match(title)
        opens = hit is not None and hit.kind == "alias" and hit.start == tokens[0][0]
        named: str | None = None
        glued = None if opens else _glued_brand(tokens, brands)
        if glued is not None:
            brand, brand_known, hit = glued, True, None
        elif not opens:
            stated = _opens_twice(tokens) or any(t[2] == "by" for t in tokens[1:-1])
            outranked = hit is not None and _leads_over(hit, title, tokens)
            fitted = hit is not None and _fitted(hit, tokens)
            if stated or outranked or fitted:
                named = _stated_or_leading(
                    title, tokens, brands, folded, taxonomy, outranked, fitted
                )
        if named is not None:
            known = _known_at(brands, title, named)
            brand, brand_known, hit = known or _clean_hint(named), known is not None, None
        if hit is not None:
            brand, brand_known = hit.brand, True
    if brand is None and house_brand:
        # The store's own brand, named in its title: as sure as a known one, and no word of the
        # name is left to be guessed as the maker.
        brand, brand_known = brands.canonical(house_brand) or house_brand, True
    if brand is None:
        named = _title_brand(title, tokens, taxonomy, brands, folded)
        if named is not None:
            brand = _clean_hint(named)

    category_id = taxonomy.resolve(retailer_category, title)
    if category_id is None and units.gpu_span(folded) is not None:
        # "ASUS DUAL-RTX3050-O6G": a GPU chip with no other cue is a video card.
        category_id = "video_cards"
    current = taxonomy.get(category_id)
    if (current is None or current.is_root) and brand_known:
        default = brands.default_category(brand)
        if default is not None and (current is None or default in taxonomy.descendants(current.id)):
            category_id = default
    if category_id is None and OTHER in taxonomy:
        category_id = OTHER  # every listing gets a node of the tree
    category = taxonomy.get(category_id)
    if brand is None and (
        (category is not None and category.unbranded)
        or brands.sold_unbranded(title)
        or _names_no_maker(tokens, taxonomy, brands, folded)
    ):
        # Fruit, meat by weight, bulk goods: a product sold without a brand, declared as such.
        brand, brand_known = brands.unbranded, True
    leaf = category if category is not None and not category.is_root else None

    attributes: dict[str, AttributeValue] = {}
    if leaf is not None:
        attributes = _category_attributes(leaf, folded, title)
        if retailer_attributes:
            for name, value in leaf.canonical_attributes(retailer_attributes).items():
                attributes.setdefault(name, value)

    span = (
        _brand_span(brands, title, tokens, brand)
        if brand and not brands.is_unbranded(brand)
        else None
    )
    spans = _model_spans(leaf, folded, span, attributes, brand)
    model = _build_model(title, folded, leaf, spans)
    if not model and span is not None and leaf is not None and leaf.kind == "goods":
        # Nothing but category words left ("Bebida Gaseosa Bilz 1.5 L"): the product is named
        # after its brand.
        model = _case_word(title[span[0] : span[1]], folded[span[0] : span[1]], "goods")
    if not model:
        # Nothing but category words left ("Bebida 3 L"): keep the product noun.
        model = _build_model(title, folded, leaf, _model_spans(None, folded, span, {}, brand))
    return ModelParts(brand, brand_known, model, category_id, attributes)


def extract(
    title: str,
    retailer_category: str | None = None,
    brand_hint: str | None = None,
    retailer_attributes: Mapping[str, object] | None = None,
    house_brand: str | None = None,
) -> Extraction:
    """Rules-tier normalization of one listing title; never raises on any text. `house_brand` is
    the store's own brand when its title names it (`catalog.domain.brands.house_brand`): the
    brand where the title names no known one."""
    try:
        result = parts(
            title, retailer_category, brand_hint, retailer_attributes, house_brand=house_brand
        )
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError):
        return Extraction(confidence=0.0)
    taxonomy = load_taxonomy()
    category = taxonomy.get(result.category)
    leaf = category if category is not None and not category.is_root else None
    missing = leaf.missing(result.attributes) if leaf is not None else []
    score = 0.0
    if category is not None and category.id == OTHER:
        # Where nothing placed the listing (it still reads the colour or count stated).
        score += _W_OTHER + _W_REQUIRED
    elif leaf is not None:
        coverage = leaf.coverage(result.attributes)
        score += _W_CATEGORY + _W_REQUIRED * (_ATTRIBUTE_FLOOR + (1 - _ATTRIBUTE_FLOOR) * coverage)
    elif category is not None:
        score += _W_CATEGORY + _W_REQUIRED  # a coarse node requires nothing
    if result.brand:
        score += _W_BRAND if result.brand_known else _W_UNKNOWN_BRAND
    if result.model:
        score += _W_MODEL
    confidence = round(min(1.0, score) * _MAX_CONFIDENCE, 4)
    model = result.model or None
    shown_brand = None if load_brands().is_unbranded(result.brand) else result.brand
    name = normalized_name(shown_brand, model, leaf, result.attributes) or None
    if name:
        name = with_part_number(name, title, category)
    return Extraction(
        brand=result.brand,
        model=model,
        normalized_name=name,
        category=result.category,
        attributes=result.attributes,
        confidence=confidence,
        missing_required=missing,
    )


def extract_listing(listing: RawListing) -> Extraction:
    """`extract` over everything a raw listing says about itself: title, the store's category,
    brand field and attributes, and the store's house brand when its title names the store."""
    return extract(
        listing.name,
        retailer_category=listing.category,
        brand_hint=listing.brand,
        retailer_attributes=listing.attributes,
        house_brand=named_house_brand(listing.name, listing.retailer),
    )
