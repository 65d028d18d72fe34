"""Pairwise features that decide whether two listings (or a listing and a master) are one product.

Every feature is a float, named, and computed from two `Facts` alone, so the same numbers come
out in training (`scripts/train_matcher.py`), in `catalog normalize` and in the persister. The
matcher's model file lists the names it was trained on; `pair_features` computes them all.

Families:

* identifiers: GTIN equal / conflicting; model codes equal, a regional or colour suffix apart,
  one inside the other, conflicting (both sides have codes, none related), a code of one side
  written into the other's title with other separators, a code on one side only;
* identity attributes: measures read from the titles (capacity GB, screen size in, volume ml,
  weight g, pack count, power W, ...) and the typed attributes, agreeing or conflicting; CPU and
  GPU models; bare numbers;
* brand equal / conflicting / unknown;
* text: rapidfuzz token-set, token-sort, partial and plain ratios, token Jaccard and containment,
  rare-token agreement (tokens with digits or long words); with the matcher's token weights
  (inverse document frequencies from its training titles, `TokenWeights`), the weighted cosine
  and the weighted share of each side's words the other lacks (two unknown brand names: both
  sides keep a rare word to themselves);
* price ratio, when both sides have a price;
* the same store already sells the other side (a store rarely lists one product twice).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from catalog.domain.brands import UNBRANDED, load_brands
from catalog.domain.identity import FUNCTION_WORDS
from catalog.domain.taxonomy import load_taxonomy
from catalog.domain.units import alias_key
from catalog.identity.identifiers import code_relation, processor_models
from catalog.identity.model import AttributeValue, Facts

__all__ = [
    "FEATURE_NAMES",
    "VETO_DIMENSIONS",
    "Profile",
    "TokenWeights",
    "category_group",
    "identity_conflict",
    "pair_features",
    "profile",
    "registered_brand_conflict",
]

FEATURE_NAMES: tuple[str, ...] = (
    "gtin_equal",
    "gtin_conflict",
    "code_equal",
    "code_suffix",
    "code_contained",
    "code_conflict",
    "code_in_text",
    "code_one_side",
    "code_longest",
    "measure_agree",
    "measure_conflict",
    "processor_agree",
    "processor_conflict",
    "attribute_agree",
    "attribute_conflict",
    "number_jaccard",
    "number_conflict",
    "brand_equal",
    "brand_conflict",
    "brand_unknown",
    "brand_in_title",
    "code_shape_conflict",
    "colour_agree",
    "colour_conflict",
    "flavour_agree",
    "flavour_conflict",
    "light_one_side",
    "code_shared_weight",
    "negation_conflict",
    "token_set_ratio",
    "token_sort_ratio",
    "partial_ratio",
    "ratio",
    "token_jaccard",
    "token_containment",
    "rare_token_jaccard",
    "idf_cosine",
    "idf_unmatched_min",
    "idf_unmatched_max",
    "code_token_shared",
    "code_token_unmatched",
    "number_unmatched",
    "unmatched_tokens_min",
    "unmatched_tokens_max",
    "soft_unmatched_min",
    "soft_unmatched_max",
    "loose_unmatched_min",
    "loose_unmatched_max",
    "char_trigram_jaccard",
    "length_ratio",
    "price_log_ratio",
    "price_missing",
    "same_retailer",
)

# Unit suffixes of `normalize_title` and the dimension and factor they measure in.
_MEASURE = re.compile(r"^x?(\d+(?:\.\d+)?)(tb|gb|mb|in|ml|l|kg|g|un|mah|w|hz|mp|mm|oz|lb|v|cm|m)$")
_DIMENSIONS: dict[str, tuple[str, float]] = {
    "tb": ("bytes", 1000.0),
    "gb": ("bytes", 1.0),
    "mb": ("bytes", 0.001),
    "in": ("inch", 1.0),
    "ml": ("volume", 1.0),
    "l": ("volume", 1000.0),
    "kg": ("mass", 1000.0),
    "g": ("mass", 1.0),
    "oz": ("mass", 28.35),
    "lb": ("mass", 453.6),
    "un": ("count", 1.0),
    "mah": ("charge", 1.0),
    "w": ("power", 1.0),
    "hz": ("frequency", 1.0),
    "mp": ("pixels", 1.0),
    "mm": ("length", 1.0),
    "cm": ("length", 10.0),
    "m": ("length", 1000.0),
    "v": ("voltage", 1.0),
}
# Measures that name a different product when they differ (a 256 GB phone is not the 512 GB one,
# a 750 ml bottle not the 1.5 l one); a pair whose titles state different values never matches.
VETO_DIMENSIONS = frozenset({"bytes", "inch", "volume", "mass"})
# The typed attributes of those dimensions: two values read for one of them name two products
# too, where the title's own reading misses one (a card's `16G` is `vram_gb` 16, not a size of
# the title's profile, and it is not the 8 GB card; a phone's `4+128GB` is not its `6+128GB`).
VETO_ATTRIBUTES = frozenset(
    {"storage_gb", "ram_gb", "vram_gb", "screen_in", "volume_ml", "weight_g"}
)
# A television's class size and its measured diagonal differ by up to half an inch (`32"`
# class, `31.5"` viewable): one screen.
_VETO_SLACK = {"screen_in": 0.6}
# "5G" on a phone is its network, not five grams.
_NETWORKS = frozenset({"2g", "3g", "4g", "5g"})
_PACK = re.compile(r"^(?:x(\d{1,3})|(\d{1,3})x|pack(\d{1,3})|(\d{1,3})pack|(\d{1,3})pk)$")


# "sin" ("sin tacc", "sin azucar") is no function word in a model key but carries nothing the
# numbers and other words of a title do not.
def _one_name_each(names: Mapping[str, str]) -> dict[str, str]:
    """Each word of `{name: "word word ..."}` to its name."""
    return {word: name for name, words in names.items() for word in words.split()}


# What a product comes in, to one kind each: where the size agrees, one store writes the
# container and another does not (`Coca-Cola Sabor Original Botella 3 Lt` / `Bebida Coca Cola
# Original 3 L`), so a container is no word only one side has; two different ones (`Lata` /
# `Botella`) are two products. `envase` names none.
_PACKAGING = _one_name_each(
    {
        "bottle": "botella pet botellon desechable",
        "returnable": "retornable",
        "can": "lata",
        "carton": "caja tetra tetrapak",
        "bag": "bolsa sachet doypack",
        "jar": "frasco tarro pote",
        "jug": "bidon",
        "": "envase",
    }
)
# `sabor` introduces a flavour one store writes bare (`Yogur Sabor Vainilla` / `Yogur
# Vainilla`), `talla` / `talle` a size (`Pañales Talle XG` / `Pañales XG`), `tipo` a style (`Pan
# Tipo Artesano` / `Pan Artesano`): the flavour, the size and the style are the words that count.
_STOPWORDS = (
    FUNCTION_WORDS | {"sin", "sabor", "sabores", "talla", "talle", "tipo"} | _PACKAGING.keys()
)
# Colour words of the languages the stores write in, to one name each: a colour stated on both
# sides that differs names another variant (a black and a silver case are two products).
_COLOURS = _one_name_each(
    {
        "black": "black negro negra schwarz noir zwart nero czarny preto onyx",
        "white": "white blanco blanca weiss weis blanc wit bianco bialy branco",
        "red": "red rojo roja tinto rot rouge rood rosso czerwony vermelho",
        "blue": "blue azul blau bleu blauw blu niebieski navy",
        "green": "green verde grun gruen vert groen zielony",
        "yellow": "yellow amarillo amarilla gelb jaune geel giallo",
        "pink": "pink rosa rosado rosada rose roze",
        "purple": "purple morado morada violeta violet lila viola",
        "orange": "orange naranja naranjo oranje arancione",
        "grey": "grey gray gris grau grijs grigio graphite grafito",
        "silver": "silver plata plateado plateada silber argent zilver argento",
        "gold": "gold dorado dorada goud oro",
        "brown": "brown marron braun brun bruin",
        "beige": "beige",
        "cyan": "cyan celeste",
        "magenta": "magenta",
    }
)


# Flavours, scents and varieties, Spanish and English, to one name each: the variant of a food,
# drink or toiletry (a lemon and a cheese cracker of one brand and size are two products, so are
# a Malbec and a Merlot of one winery). Grapes a blend and a single variety share (`sauvignon` of
# Cabernet Sauvignon and of Sauvignon Blanc) are left out: they would agree where the wines differ.
_FLAVOUR_WORDS: dict[str, str] = {
    "strawberry": "frutilla fresa strawberry",
    "chocolate": "chocolate chocolatada cacao",
    "vanilla": "vainilla vanilla",
    "lemon": "limon lemon lima",
    "orange": "naranja",
    "apple": "manzana",
    "peach": "durazno peach melocoton",
    "banana": "banana platano",
    "coconut": "coco coconut",
    "mint": "menta mint",
    "cherry": "cereza cherry",
    "grape": "uva grape",
    "pineapple": "anana pina pineapple",
    "mango": "mango",
    "passion": "maracuya",
    "cheese": "queso cheese",
    "ham": "jamon ham",
    "chicken": "pollo chicken",
    "beef": "carne beef",
    "tomato": "tomate tomato",
    "onion": "cebolla onion",
    "aloe": "aloe",
    "lavender": "lavanda lavender",
    "honey": "miel honey",
    "caramel": "caramelo caramel",
    "fig": "higo fig",
    "plum": "ciruela plum",
    "apricot": "damasco albaricoque apricot",
    "raspberry": "frambuesa raspberry",
    "blackberry": "mora zarzamora blackberry",
    "blueberry": "arandano blueberry",
    "pear": "pera pear",
    "grapefruit": "pomelo toronja grapefruit",
    "kiwi": "kiwi",
    "melon": "melon",
    "watermelon": "sandia watermelon",
    "guava": "guayaba guava",
    "quince": "membrillo quince",
    "sweet-potato": "batata camote",
    "almond": "almendra almond",
    "hazelnut": "avellana hazelnut",
    "walnut": "nuez nueces walnut",
    "peanut": "mani peanut",
    "cinnamon": "canela cinnamon",
    "ginger": "jengibre ginger",
    "chamomile": "manzanilla chamomile",
    "garlic": "ajo garlic",
    "spinach": "espinaca spinach",
    "pumpkin": "zapallo calabaza pumpkin",
    "corn": "choclo elote",
    "pork": "cerdo pork",
    "turkey": "pavo turkey",
    "tuna": "atun tuna",
    "salmon": "salmon",
    "malbec": "malbec",
    "cabernet": "cabernet",
    "merlot": "merlot",
    "syrah": "syrah shiraz",
    "chardonnay": "chardonnay",
    "torrontes": "torrontes",
    "bonarda": "bonarda",
    "pinot": "pinot",
    "tempranillo": "tempranillo",
    "carmenere": "carmenere",
    "muscat": "moscato moscatel",
}
_FLAVOURS: dict[str, str] = {
    form: flavour
    for flavour, words in _FLAVOUR_WORDS.items()
    for word in words.split()
    # Plurals as titles write them: "frutillas", "almendras", "limones".
    for form in (word, word + "s", word + "es")
}
# Grape varieties to one name each: a wine names its blend whole, so two wines of one winery
# and line that state different varieties (`Cabernet Sauvignon` / `Cabernet Franc`, `Cabernet
# Merlot` / `Cabernet Sauvignon`) are two products. A bare `Cabernet` or `Pinot` is any of its
# kind (`Malbec-Cabernet` as a store cuts `Malbec Cabernet Franc` short).
_GRAPE_NAMES: dict[str, str] = {
    "cabernet franc": r"cabernet ?franc",
    "cabernet sauvignon": r"cabernet ?-? ?sauvignon|cab ?sauv",
    "cabernet": r"cabernet",
    "sauvignon blanc": r"sauvignon(?: ?blanc)?",
    "pinot noir": r"pinot ?noir",
    "pinot gris": r"pinot ?gri(?:s|gio)",
    "pinot": r"pinot",
    "petit verdot": r"petit ?verdot",
    "merlot": r"merlot",
    "malbec": r"malbec",
    "syrah": r"syrah|shiraz",
    "carmenere": r"carmenere",
    "chardonnay": r"chardonnay",
    "torrontes": r"torrontes",
    "bonarda": r"bonarda",
    "tempranillo": r"tempranillo",
    "muscat": r"moscato|moscatel|muscat",
    "tannat": r"tannat",
    "sangiovese": r"sangiovese",
    "riesling": r"riesling",
    "viognier": r"viognier",
    "semillon": r"semillon",
    "cinsault": r"cinsault",
    "carignan": r"carignan|carinena",
    "grenache": r"garnacha|grenache",
    "gewurztraminer": r"gewurztraminer",
    "chenin": r"chenin",
    "zinfandel": r"zinfandel|primitivo",
}
_GRAPE = re.compile("|".join(rf"\b(?:{pattern})\b" for pattern in _GRAPE_NAMES.values()))
_GRAPE_OF = [(name, re.compile(rf"^(?:{pattern})$")) for name, pattern in _GRAPE_NAMES.items()]
# The varieties a bare name stands for.
_GRAPE_KINDS = {
    "cabernet": frozenset({"cabernet franc", "cabernet sauvignon"}),
    "pinot": frozenset({"pinot noir", "pinot gris"}),
}


def _grapes(title: str) -> frozenset[str]:
    """The grape varieties a normalized title states (`_GRAPE_NAMES`), one name each."""
    return frozenset(
        next(name for name, whole in _GRAPE_OF if whole.match(found))
        for found in _GRAPE.findall(title)
    )


def _grape_fits(grape: str, others: frozenset[str]) -> bool:
    kinds = _GRAPE_KINDS.get(grape, frozenset())
    return any(o == grape or o in kinds or grape in _GRAPE_KINDS.get(o, ()) for o in others)


def grapes_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both sides name varieties and one names a variety the other lacks (a bare `Cabernet`
    fits either Cabernet)."""
    if not a or not b:
        return False
    return not (all(_grape_fits(g, b) for g in a) and all(_grape_fits(g, a) for g in b))


# Words that say the next word is absent ("sin palo", "sin tacc", "without cable").
_NEGATIONS = frozenset({"sin", "without", "cero"})
# Things made for another product, which their titles name: `Cargador Samsung 45W Galaxy S24
# Ultra` is no phone, whatever else it shares with one.
_ACCESSORY_WORDS = frozenset(
    {
        "cargador", "charger", "funda", "carcasa", "case", "cover", "lamina", "mica",
        "protector", "cable", "adaptador", "adapter", "soporte", "mount", "holder", "estuche",
        "correa", "strap", "skin",
    }
)  # fmt: skip
# Where a title says it is the accessory: leading with a word of one made for another product
# (Spanish titles lead with what the thing is), or one of them made `para` / `for` something
# within two words. Not leading: what is a product of its own as often (`Case Corsair 460X`, a
# computer's case; `Cable HDMI 2m`; `Adaptador USB-C a HDMI`), `Protector Solar` (sunscreen) and
# `Cover Girl`.
_ACCESSORY_LEAD = frozenset(
    {
        "cargador", "charger", "funda", "carcasa", "lamina", "mica", "estuche", "soporte",
        "mount", "holder", "correa", "strap", "skin",
    }
)  # fmt: skip
_ACCESSORY_FOR = re.compile(
    rf"^(?:{'|'.join(sorted(_ACCESSORY_LEAD))}|protector (?:de )?pantalla|screen protector)\b"
    rf"|\b(?:{'|'.join(sorted(_ACCESSORY_WORDS))})(?: \S+){{0,2}} (?:para|for|compatible)\b"
)
# What a canned fish or vegetable is packed in: `Atún Lomitos en Agua` and `en Aceite` are two
# products that share every other word.
_MEDIUM = re.compile(r"\b(?:en|al) (agua|aceite|salsa|natural)\b")
# The form a detergent, soap or deodorant comes in, to one name each: the powder and the liquid
# of one line and size, or its bar and its spray, are two products.
_FORMS = _one_name_each(
    {
        "powder": "polvo powder",
        "liquid": "liquido liquida liquid",
        "bar": "barra",
        "spray": "aerosol spray",
        "roll-on": "rollon roll",
        "gel": "gel",
    }
)
# Cheeses by their variety, to one name each: a Gouda and a Mantecoso of one dairy, cut and
# weight are two products (`queso` or `cheese` on one side at least: `colonia` is also cologne).
_CHEESES = _one_name_each(
    {
        "gouda": "gouda gauda",
        "mantecoso": "mantecoso",
        "chanco": "chanco",
        "cheddar": "cheddar",
        "mozzarella": "mozzarella mozarella muzzarella muzarella",
        "parmesan": "parmesano parmesan",
        "edam": "edam",
        "provolone": "provolone",
        "danbo": "danbo",
        "cremoso": "cremoso",
        "reggianito": "reggianito",
        "sardo": "sardo",
        "fontina": "fontina",
        "tybo": "tybo",
        "pategras": "pategras",
        "gruyere": "gruyere",
        "roquefort": "roquefort",
        "brie": "brie",
        "camembert": "camembert",
        "ricotta": "ricota ricotta",
        "cottage": "cottage",
        "colonia": "colonia",
        "emmental": "emmental",
        "feta": "feta",
        "havarti": "havarti",
    }
)
_CHEESE_WORDS = frozenset({"queso", "quesos", "cheese"})
# A chocolate's kind: a milk, a dark and a white chocolate of one maker, line and weight are
# three products (where the title says chocolate: `blanco` and `amargo` say other things too).
_CHOCOLATE_KINDS = (
    ("milk", re.compile(r"\b(?:con leche|milk|al latte)\b")),
    ("dark", re.compile(r"\b(?:semi ?amargo|amargo|dark|bitter)\b")),
    ("white", re.compile(r"\b(?:blanco|white)\b")),
)
_CHOCOLATE_WORD = re.compile(r"\b(?:chocolates?|choco)\b")


def _chocolate_kinds(title: str) -> frozenset[str]:
    if _CHOCOLATE_WORD.search(title) is None:
        return frozenset()
    return frozenset(kind for kind, pattern in _CHOCOLATE_KINDS if pattern.search(title))


# A day and a night cream of one line are two products (in beauty and health only: `dia` is a
# store's own brand elsewhere).
_TIME_OF_DAY = _one_name_each({"day": "dia day", "night": "noche night"})
_TIME_OF_DAY_GROUPS = frozenset({"beauty", "health"})
# Who a product is made for, one name each (`normalize_title` writes each as `hombre` / `mujer`):
# a men's and a women's version of one line are two products.
_GENDERS = frozenset({"hombre", "mujer"})
# A refurbished or used unit is not the new product, whose price it would undercut.
_SECOND_HAND = frozenset(
    {
        "reacondicionado", "reacondicionada", "refurbished", "renewed", "remanufactured",
        "usado", "usada", "seminuevo", "seminueva", "reconditionne", "ricondizionato",
    }
)  # fmt: skip
# A fragrance's concentration (`normalize_title` writes `Eau de Toilette` as `edt`): the Eau de
# Toilette and the Eau de Parfum of one fragrance and size are two products.
_CONCENTRATIONS = frozenset({"edt", "edp", "edc"})
# Sizes a diaper or a garment states in letters (Spanish `P`/`M`/`G`/`XG`, English `S`/`L`/
# `XL`, newborn `RN`): two different ones are two products where such sizes are read.
_LETTER_SIZES = frozenset({"rn", "p", "s", "m", "g", "l", "xg", "xxg", "xxxg", "xl", "xxl", "xxxl"})
_SIZED_GROUPS = frozenset({"baby_kids", "fashion"})
# Words before a size a shoe or a garment states in numbers (`Talla 42`).
_SIZE_WORDS = frozenset({"talla", "talle", "size"})
# Words that make a lighter version of a product ("queso untable light", "Coca-Cola Zero").
_LIGHT = frozenset({"light", "zero", "diet", "descremado", "descremada", "lite", "liviano"})
# A food or drink's light version against its regular one said outright (`Mayonesa Hellmann's
# Light` / `Tradicional`, `Coca-Cola Zero` / `Original`): two products. A title that says
# neither may be either, so only the two words together decide.
_LIGHTER = frozenset({"light", "diet", "zero", "lite", "liviana", "liviano"})
_REGULAR = frozenset({"tradicional", "regular", "normal", "original"})


@dataclass(frozen=True)
class Profile:
    """What the features need from one title, computed once per distinct title."""

    tokens: frozenset[str]
    rare: frozenset[str]
    numbers: frozenset[str]
    measures: Mapping[str, frozenset[float]]
    processors: frozenset[str]
    compact: str
    sorted_text: str
    code_tokens: frozenset[str]
    """Tokens with letters and digits that are no measure: model codes, generations, variants
    (`a52`, `x3`, `gen2`, `wh1000xm4`)."""
    colours: frozenset[str]
    """Colours the title states, one name each (`_COLOURS`)."""
    flavours: frozenset[str]
    """Flavours and scents the title states, one name each (`_FLAVOURS`)."""
    grapes: frozenset[str]
    """Grape varieties the title states, one name each (`_GRAPE_NAMES`)."""
    light: bool
    """The title names a lighter version (`_LIGHT`)."""
    lighter: bool
    """The title says light, diet or zero (`_LIGHTER`)."""
    regular: bool
    """The title says its version is the regular one (`_REGULAR`)."""
    negated: frozenset[str]
    """Words the title says are absent (`sin palo` -> `palo`)."""
    packaging: frozenset[str]
    """The containers the title states, one kind each (`_PACKAGING`)."""
    medium: frozenset[str]
    """What a canned or jarred food is packed in (`_MEDIUM`: `en agua`, `en aceite`)."""
    concentration: frozenset[str]
    """A fragrance's concentration (`_CONCENTRATIONS`: `edt`, `edp`)."""
    cheeses: frozenset[str]
    """Cheese varieties the title states (`_CHEESES`), where it names a cheese."""
    chocolates: frozenset[str]
    """A chocolate's kinds the title states (`_CHOCOLATE_KINDS`: milk, dark, white)."""
    second_hand: bool
    """The title sells a refurbished or used unit (`_SECOND_HAND`)."""
    forms: frozenset[str]
    """The forms the title states, one name each (`_FORMS`: powder, liquid, bar...)."""
    genders: frozenset[str]
    """Who the title says the product is for (`_GENDERS`: `hombre`, `mujer`)."""
    time_of_day: frozenset[str]
    """`day` / `night` as a cream's title states it (`_TIME_OF_DAY`)."""
    letter_sizes: frozenset[str]
    """Garment and diaper sizes written as letters (`_LETTER_SIZES`: `M`, `XG`), and a shoe's
    or a garment's number after `talla` (`Talla 42`)."""
    accessory: bool
    """The title names an accessory made for another product (`_ACCESSORY_FOR`)."""
    accessory_word: bool
    """The title has an accessory's word anywhere (`_ACCESSORY_WORDS`)."""
    trigrams: frozenset[str]
    """Character trigrams of the title's words, each word padded with a space on both sides."""
    joined: Mapping[str, tuple[str, str]]
    """Two adjacent words written as one (`mc cain` -> `mccain`, `oral b` -> `oralb`), to the
    two words."""


@lru_cache(maxsize=65536)
def profile(title: str) -> Profile:
    """The parsed form of a normalized title (`normalize_title` output)."""
    words = title.split()
    tokens = frozenset(w for w in words if w not in _STOPWORDS)
    measures: dict[str, set[float]] = {}
    numbers: set[str] = set()
    for index, word in enumerate(words):
        match = _MEASURE.match(word)
        if match is not None and word not in _NETWORKS:
            dimension, factor = _DIMENSIONS[match.group(2)]
            measures.setdefault(dimension, set()).add(round(float(match.group(1)) * factor, 3))
            continue
        pack = _PACK.match(word)
        if pack is not None:
            count = next(g for g in pack.groups() if g)
            measures.setdefault("count", set()).add(float(count))
            continue
        if word.replace(".", "", 1).isdigit():
            nxt = words[index + 1] if index + 1 < len(words) else ""
            prev = words[index - 1] if index else ""
            if nxt in ("pack", "pk", "unidades", "un", "count", "ct") or prev in ("pack", "x"):
                measures.setdefault("count", set()).add(float(word))
            else:
                numbers.add(word)
    rare = frozenset(
        w for w in tokens if (any(c.isdigit() for c in w) and len(w) >= 3) or len(w) >= 7
    )
    return Profile(
        tokens=tokens,
        rare=rare,
        numbers=frozenset(numbers),
        measures={k: frozenset(v) for k, v in measures.items()},
        processors=processor_models(title),
        colours=frozenset(_COLOURS[w] for w in words if w in _COLOURS),
        flavours=frozenset(_FLAVOURS[w] for w in words if w in _FLAVOURS),
        grapes=_grapes(title),
        light=any(w in _LIGHT for w in words),
        lighter=not _LIGHTER.isdisjoint(words),
        regular=not _REGULAR.isdisjoint(words),
        negated=frozenset(
            nxt
            for w, nxt in pairwise(words)
            if w in _NEGATIONS and nxt.isalpha() and nxt not in _NEGATIONS | _STOPWORDS
        ),
        packaging=frozenset(_PACKAGING[w] for w in words if _PACKAGING.get(w)),
        medium=frozenset(_MEDIUM.findall(title)),
        concentration=_CONCENTRATIONS.intersection(words),
        forms=frozenset(_FORMS[w] for w in words if w in _FORMS),
        second_hand=not _SECOND_HAND.isdisjoint(words),
        cheeses=frozenset(_CHEESES[w] for w in words if w in _CHEESES),
        chocolates=_chocolate_kinds(title),
        time_of_day=frozenset(_TIME_OF_DAY[w] for w in words if w in _TIME_OF_DAY),
        genders=_GENDERS.intersection(words),
        letter_sizes=_LETTER_SIZES.intersection(words)
        | {size for word, size in pairwise(words) if word in _SIZE_WORDS and size.isdigit()},
        accessory=_ACCESSORY_FOR.search(title) is not None,
        accessory_word=not _ACCESSORY_WORDS.isdisjoint(words),
        compact=title.replace(" ", ""),
        trigrams=frozenset(
            padded[i : i + 3]
            for padded in (f" {w} " for w in tokens)
            for i in range(len(padded) - 2)
        ),
        sorted_text=" ".join(sorted(tokens)),
        joined={
            left + right: (left, right)
            for left, right in pairwise(words)
            if left in tokens and right in tokens
        },
        code_tokens=frozenset(
            w
            for w in tokens
            if len(w) >= 2
            and any(c.isdigit() for c in w)
            and any(c.isalpha() for c in w)
            and _MEASURE.match(w) is None
            and _PACK.match(w) is None
            and w not in _NETWORKS
        ),
    )


@dataclass(frozen=True)
class TokenWeights:
    """Inverse document frequency of title tokens; a token not listed weighs `default` (it was
    rare or unseen in the titles the weights were computed from)."""

    idf: Mapping[str, float]
    default: float

    def __call__(self, token: str) -> float:
        return self.idf.get(token, self.default)


_UNIFORM = TokenWeights({}, 1.0)


def _weighted(
    a: frozenset[str], b: frozenset[str], weights: TokenWeights
) -> tuple[float, float, float]:
    """Weighted cosine of the token sets, and the weighted share of `a`'s and `b`'s tokens the
    other side lacks."""
    # fsum: exact, so the result does not depend on set iteration order (string hashing).
    fsum = math.fsum
    if a is b:
        # One title on both sides (a listing against its own title at another store): the
        # same sums as below, each computed once. Every token is shared, none is left over.
        squares = fsum(w * w for w in map(weights, a))
        norm = math.sqrt(squares * squares)
        return (squares / norm if norm else 0.0), 0.0, 0.0
    wa = {t: weights(t) for t in a}
    wb = {t: weights(t) for t in b}
    shared = a & b
    norm = math.sqrt(fsum(w * w for w in wa.values()) * fsum(w * w for w in wb.values()))
    cosine = fsum(wa[t] * wa[t] for t in shared) / norm if norm else 0.0
    total_a, total_b = fsum(wa.values()), fsum(wb.values())
    only_a = fsum(w for t, w in wa.items() if t not in shared) / total_a if total_a else 0.0
    only_b = fsum(w for t, w in wb.items() if t not in shared) / total_b if total_b else 0.0
    return cosine, only_a, only_b


@lru_cache(maxsize=4096)
def category_group(category: str | None) -> str:
    """The top-level node above a category (`notebooks` -> `technology`): the scope of title
    neighbours. A category the taxonomy does not know is its own group."""
    if not category:
        return ""
    taxonomy = load_taxonomy()
    node = taxonomy.get(category)
    if node is None:
        return category[:50]
    seen = {node.id}
    while node.parent is not None:
        parent = taxonomy.get(node.parent)
        if parent is None or parent.id in seen:
            break
        seen.add(parent.id)
        node = parent
    return node.id[:50]


# A word written shorter or inflected on one side (`prebioticos` / `prebiotico`, `tirabuzon` /
# `tirabuz`, `frutilla` / `frutillas`) is the same word when they share this long a start.
_SOFT_PREFIX = 4
# A store's abbreviation may be shorter still, as long as it is the other word's whole start
# (`des` / `descremado`, `int` / `intensa`).
_ABBREVIATION = 3


@lru_cache(maxsize=65536)
def _softable(word: str) -> bool:
    """A word that may match another abbreviated or inflected: long enough, no digits."""
    return len(word) >= _ABBREVIATION and not any(c.isdigit() for c in word)


@lru_cache(maxsize=262144)
def _soft_same(left: str, right: str) -> bool:
    """One word is the other abbreviated or inflected: the shorter (of `_ABBREVIATION` letters
    or more) is the longer's start, or they share their first `_SOFT_PREFIX` letters and differ
    only past the shorter's length minus two (`blanqueadora` / `blanqueador`). Words with
    digits only match exactly: `a52` is not `a53`."""
    if left == right:
        return True
    if not (_softable(left) and _softable(right)):
        return False
    short, long_ = (left, right) if len(left) <= len(right) else (right, left)
    if long_.startswith(short):
        return True
    keep = max(len(short) - 2, _SOFT_PREFIX)
    return short[:keep] == long_[:keep] and len(long_) - len(short) <= 2


def _soft_unmatched(
    a: frozenset[str], b: frozenset[str], weights: TokenWeights
) -> tuple[float, float]:
    """The weighted share of `a`'s and `b`'s tokens with no counterpart on the other side, a
    counterpart being the same word or the same word abbreviated or inflected (`_soft_same`):
    what two stores' spellings of one product rarely leave, and siblings (another flavour,
    another line) always do."""
    if a is b:
        return 0.0, 0.0  # one title on both sides: nothing is left unmatched
    only_a, only_b = a - b, b - a
    # Only words `_softable` on both sides can match one another (the two sets share none).
    soft_a = [t for t in only_a if _softable(t)]
    soft_b = [t for t in only_b if _softable(t)]
    matched_a = {t for t in soft_a if any(_soft_same(t, o) for o in soft_b)}
    matched_b = {t for t in soft_b if any(_soft_same(t, o) for o in soft_a)}
    return _unmatched_shares(a, b, only_a - matched_a, only_b - matched_b, weights)


def _unmatched_shares(
    a: frozenset[str],
    b: frozenset[str],
    left_a: AbstractSet[str],
    left_b: AbstractSet[str],
    weights: TokenWeights,
) -> tuple[float, float]:
    """The weighted share of `a`'s tokens in `left_a` and of `b`'s in `left_b`."""
    fsum = math.fsum
    total_a = fsum(weights(t) for t in a)
    total_b = fsum(weights(t) for t in b)
    share_a = fsum(weights(t) for t in left_a) / total_a if total_a else 0.0
    share_b = fsum(weights(t) for t in left_b) / total_b if total_b else 0.0
    return share_a, share_b


# Two spellings of one word a typing slip apart (`parodontax` / `paradontax`, `egran` / `ergan`,
# `barbacua` / `barcbacua`): words this long, one edit or swap of adjacent letters apart.
_TYPO_LENGTH = 5


@lru_cache(maxsize=262144)
def _loose_same(left: str, right: str) -> bool:
    """`_soft_same`, or two words without digits of at least `_TYPO_LENGTH` letters one typing
    slip apart (optimal string alignment distance 1)."""
    if _soft_same(left, right):
        return True
    if min(len(left), len(right)) < _TYPO_LENGTH or not (_softable(left) and _softable(right)):
        return False
    return OSA.distance(left, right, score_cutoff=1) <= 1


def _loose_unmatched(pa: Profile, pb: Profile, weights: TokenWeights) -> tuple[float, float]:
    """`_soft_unmatched` with two more ways for a word to have a counterpart: a typing slip
    (`_loose_same`), or two adjacent words on one side written as one on the other (`mc cain` /
    `mccain`). Stores misspell and split brand and product names; siblings still differ in
    whole words."""
    a, b = pa.tokens, pb.tokens
    if a is b:
        return 0.0, 0.0
    only_a, only_b = a - b, b - a
    matched_a: set[str] = set()
    matched_b: set[str] = set()
    for word, pieces in pa.joined.items():
        if word in only_b:
            matched_b.add(word)
            matched_a.update(p for p in pieces if p in only_a)
    for word, pieces in pb.joined.items():
        if word in only_a:
            matched_a.add(word)
            matched_b.update(p for p in pieces if p in only_b)
    loose_a = [t for t in only_a if _softable(t)]
    loose_b = [t for t in only_b if _softable(t)]
    matched_a.update(t for t in loose_a if any(_loose_same(t, o) for o in loose_b))
    matched_b.update(t for t in loose_b if any(_loose_same(t, o) for o in loose_a))
    return _unmatched_shares(a, b, only_a - matched_a, only_b - matched_b, weights)


def _ratios(
    title_a: str, title_b: str, pa: Profile, pb: Profile
) -> tuple[float, float, float, float]:
    """rapidfuzz's token-set, token-sort, partial and plain ratios of the two titles, in 0..1."""
    if pa is pb:
        # One title on both sides (the same-title attach): a string against itself scores 100
        # by `ratio` and `partial_ratio` (empty included), and by `token_set_ratio` when it has
        # a token (0 without one), so the four calls (4-13 us a pair here) are not made.
        return (1.0 if pa.tokens else 0.0), 1.0, 1.0, 1.0
    return (
        fuzz.token_set_ratio(pa.sorted_text, pb.sorted_text) / 100.0,
        fuzz.ratio(pa.sorted_text, pb.sorted_text) / 100.0,
        fuzz.partial_ratio(title_a, title_b) / 100.0,
        fuzz.ratio(title_a, title_b) / 100.0,
    )


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 0.0
    if a is b:
        return 1.0  # len(a & a) / len(a | a), without building either set
    return len(a & b) / len(a | b)


def _nested(a: frozenset[float] | frozenset[str], b: frozenset[float] | frozenset[str]) -> bool:
    return a <= b or b <= a


def _content_agrees(a: Mapping[str, frozenset[float]], b: Mapping[str, frozenset[float]]) -> bool:
    """One title states a volume and no mass, the other the same number as a mass and no volume
    (`Crema de Leche 330 ml` / `330 g`): stores weigh and measure one food's contents alike."""
    volume, mass = a.get("volume"), b.get("mass")
    return (
        volume is not None
        and mass is not None
        and "mass" not in a
        and "volume" not in b
        and _nested(volume, mass)
    )


def identity_conflict(a: Facts, b: Facts) -> bool:
    """The titles state different identity measures (`VETO_DIMENSIONS`, neither value set
    inside the other), the listings were read with different values of one of those measures
    (`VETO_ATTRIBUTES`), different CPU/GPU models, one brand's model read with other numbers
    (`model_generation_conflict`), a light and a regular version said outright (`_LIGHTER`,
    `_REGULAR`), one side refurbished or used (`_SECOND_HAND`), one side an accessory the other
    is not (`_ACCESSORY_FOR`), two different containers (`_PACKAGING`), packing media
    (`_MEDIUM`), grape varieties of a wine (`grapes_conflict`), cheese varieties (`_CHEESES`),
    chocolate kinds (`_CHOCOLATE_KINDS`), fragrance concentrations (`_CONCENTRATIONS`), forms
    (`_FORMS`: powder / liquid), a day and a night cream (`_TIME_OF_DAY`), a men's and a
    women's version (`_GENDERS`) or letter sizes of a diaper or garment (`_LETTER_SIZES`), or
    the two sides are two registered brands (`registered_brand_conflict`): two products,
    whatever else they share."""
    pa, pb = profile(a.title), profile(b.title)
    for dimension in VETO_DIMENSIONS & pa.measures.keys() & pb.measures.keys():
        if not _nested(pa.measures[dimension], pb.measures[dimension]):
            return True
    for name in VETO_ATTRIBUTES & a.attributes.keys() & b.attributes.keys():
        if not _same_value(a.attributes[name], b.attributes[name], _VETO_SLACK.get(name, 0.0)):
            return True
    if pa.processors and pb.processors and not pa.processors & pb.processors:
        return True
    if a.brand and a.brand == b.brand and model_generation_conflict(a.model, b.model):
        return True
    if _negation_conflict(a.title, pa, b.title, pb) or _negation_conflict(b.title, pb, a.title, pa):
        return True
    if (
        _one_sided_negation(a.title, pa, pb) or _one_sided_negation(b.title, pb, pa)
    ) and _CONSUMABLES & {category_group(a.category), category_group(b.category)}:
        return True
    if (
        pa.lighter != pb.lighter
        and (pb.regular if pa.lighter else pa.regular)
        and _CONSUMABLES & {category_group(a.category), category_group(b.category)}
    ):
        # The light version against the regular one (`Mayonesa Light` / `Tradicional`).
        return True
    if _accessory_conflict(a, pa, b, pb) or _accessory_conflict(b, pb, a, pa):
        return True
    if pa.packaging and pb.packaging and pa.packaging.isdisjoint(pb.packaging):
        # Another container (`Cerveza Cristal Lata 470 cc` / `Botella`).
        return True
    if (
        pa.letter_sizes
        and pb.letter_sizes
        and pa.letter_sizes.isdisjoint(pb.letter_sizes)
        and _SIZED_GROUPS & {category_group(a.category), category_group(b.category)}
    ):
        # Another size of one diaper or garment (`Pañales Pampers Baby Dry M` / `G`).
        return True
    if (
        pa.cheeses
        and pb.cheeses
        and pa.cheeses.isdisjoint(pb.cheeses)
        and not _CHEESE_WORDS.isdisjoint(pa.tokens | pb.tokens)
    ):
        # Another cheese of one dairy (`Queso Gouda Laminado Colun` / `Queso Mantecoso`).
        return True
    if pa.chocolates and pb.chocolates and pa.chocolates.isdisjoint(pb.chocolates):
        # Another kind of one chocolate (`Classic Con Leche` / `Classic Semi Amargo`).
        return True
    if pa.second_hand != pb.second_hand:
        # A refurbished unit against the new product (`iPhone 13 128GB Reacondicionado`).
        return True
    if pa.forms and pb.forms and pa.forms.isdisjoint(pb.forms):
        # Another form of one product (`Detergente en Polvo` / `Detergente Líquido`).
        return True
    if (
        pa.time_of_day
        and pb.time_of_day
        and pa.time_of_day.isdisjoint(pb.time_of_day)
        and _TIME_OF_DAY_GROUPS & {category_group(a.category), category_group(b.category)}
    ):
        # A day and a night cream (`Nivea Q10 Antiarrugas Día` / `Noche`).
        return True
    if pa.genders and pb.genders and pa.genders.isdisjoint(pb.genders):
        # A men's and a women's version (`212 VIP Men` / `212 VIP Women`).
        return True
    if pa.concentration and pb.concentration and pa.concentration.isdisjoint(pb.concentration):
        # Another concentration of one fragrance (`Eau de Toilette` / `Eau de Parfum`).
        return True
    if grapes_conflict(pa.grapes, pb.grapes):
        # Another wine of one winery and line (`Cabernet Sauvignon` / `Cabernet Franc`).
        return True
    if pa.medium and pb.medium and pa.medium.isdisjoint(pb.medium):
        # Packed in another medium (`Atún Lomitos en Agua` / `en Aceite`).
        return True
    return registered_brand_conflict(a, b)


# An accessory costs a fraction of what it is made for; a store's own spelling of one product
# does not.
_ACCESSORY_PRICE_SHARE = 1 / 3


def _accessory_conflict(accessory: Facts, prof: Profile, other: Facts, other_prof: Profile) -> bool:
    """One side an accessory made for the product the other side is (`Cargador Samsung 45W Galaxy
    S24 Ultra` / `Samsung Galaxy S24 Ultra 256GB`): its title says so, the other's names no
    accessory and costs over three times as much. A title that omits its accessory's word
    (`Speck ToughSkin Case for iPhone 3G` / `3G iPhone Black ToughSkin`) costs about the same."""
    if not prof.accessory or other_prof.accessory_word:
        return False
    if accessory.price is None or other.price is None or accessory.price <= 0:
        return False
    return accessory.price < other.price * _ACCESSORY_PRICE_SHARE


# How a title says a word is absent: `sin sal`, `zero azucar`, `libre de gluten`.
_ABSENT = ("sin", "without", "zero", "cero", "libre de")


def _negation_conflict(title: str, prof: Profile, other_title: str, other: Profile) -> bool:
    """One title says a word is absent that the other states (`Mantequilla Con Sal` / `Sin
    Sal`); not where the other says it is absent in its own way (`Zero Azucar` / `Sin
    Azucar`)."""
    if not prof.negated:
        return False
    padded = f" {other_title} "
    return any(
        word in other.tokens and not any(f" {n} {word} " in padded for n in _ABSENT)
        for word in prof.negated
    )


# What a label claims rather than what the product is: one store writes `Sin TACC` (gluten
# free, the Argentine seal) and another leaves it out; `sin sal agregada` is no salt added.
_CLAIMED_ABSENT = frozenset({"tacc", "gluten"})
_ADDED = re.compile(r"\b(?:sin|without) (\S+) (?:agregad[oa]s?|anadid[oa]s?|added)\b")


# Where a `sin` names another product rather than a feature: food, drink, beauty and health
# (`Sin Lactosa`, `Sin Alcohol`); elsewhere it is how a store writes a kind of product another
# names otherwise (`Freidora sin Aceite` / `Freidora de Aire`, `Aspiradora sin Bolsa`).
_CONSUMABLES = frozenset({"supermarket", "beauty", "health", "baby_kids"})


def _one_sided_negation(title: str, prof: Profile, other: Profile) -> bool:
    """A product said to be without something the other title does not mention (`Leche
    Soprole Entera Sin Lactosa` / `Leche Soprole Entera`, `Cerveza Sin Alcohol`): another
    product, but for label claims (`Sin TACC`, `sin sal agregada`)."""
    if not prof.negated or other.light:
        # `Coca-Cola Zero` / `Coca-Cola Cero Azucar`: the other says it its own way.
        return False
    claimed = _CLAIMED_ABSENT | frozenset(_ADDED.findall(title))
    return any(word not in claimed for word in prof.negated - other.tokens)


_SEGMENT = re.compile(r"[a-z]+|[0-9]+")
# Words that name another model of one line and generation, said on one side only.
_MODEL_TIERS = frozenset({"pro", "plus", "max", "ultra", "lite", "mini", "neo"})
_PART_NUMBER_DIGITS = 5


@lru_cache(maxsize=65536)
def _model_parts(model: str) -> tuple[frozenset[str], frozenset[str]]:
    """A model's words and numbers, a letter run and a digit run apart (`s24` -> `s`, `24`);
    a number without its leading zeros (`012` is `12`), a part number's digits whole, a `+`
    the word it stands for (`A9+` is `A9 Plus`)."""
    words: set[str] = set()
    numbers: set[str] = set()
    for segment in _SEGMENT.findall(alias_key(model.replace("+", " plus "))):
        if not segment.isdigit():
            words.add(segment)
        elif len(segment) >= _PART_NUMBER_DIGITS:
            numbers.add(segment)
        else:
            numbers.add(segment.lstrip("0") or "0")
    return frozenset(words), frozenset(numbers)


_GLUED_CODE = re.compile(r"[a-z]\d|\d[a-z]")
_GENERATION_DIGITS = 3


@lru_cache(maxsize=16384)
def _line_and_number(model: str) -> bool:
    """A model named by words and one short number, no code (`Smart Band 9`, `Redmi Watch 5
    Active`; not `WD10JFCX`, `Claria 29 T2982`, `IronWolf Pro 6 ST6000NE000`)."""
    key = alias_key(model.replace("+", " plus "))
    if _GLUED_CODE.search(key):
        return False
    words, numbers = _model_parts(model)
    return bool(words) and len(numbers) == 1 and all(len(n) <= _GENERATION_DIGITS for n in numbers)


def model_generation_conflict(left: str | None, right: str | None) -> bool:
    """Another generation, size or tier of one brand's line: the same model words with another
    number of the same length on each side (`iPhone 13` / `iPhone 15`, `Galaxy S23 Ultra` /
    `Galaxy S24 Ultra`, `Inspiron 3520` / `Inspiron 3530`), or the same numbers with a tier word
    on one side only (`Redmi Note 13` / `Redmi Note 13 Pro`, `Galaxy S24` / `Galaxy S24
    Ultra`), or two lines each named by its words and one short number, sharing neither
    (`Smart Band 9` / `Redmi Watch 5 Active`). Where the words differ otherwise (`AirPods 4` /
    `AirPods Pro 2`), one side says less (`Redmi Note 13` / `Redmi Note 13 128`) or a model
    carries a part number (five digits or more, written in many ways: `981000040` /
    `981-000040`), nothing is decided."""
    if not left or not right:
        return False
    words_left, numbers_left = _model_parts(left)
    words_right, numbers_right = _model_parts(right)
    if (
        _line_and_number(left)
        and _line_and_number(right)
        and words_left.isdisjoint(words_right)
        and numbers_left.isdisjoint(numbers_right)
    ):
        # Two lines of one brand, each its words and a generation, sharing neither (`Smart Band
        # 9` / `Redmi Watch 5 Active`, `iPhone 15` / `iPad 10`).
        return True
    tiers = words_left ^ words_right
    if tiers and tiers <= _MODEL_TIERS and numbers_left == numbers_right and numbers_left:
        # One line and generation, one side a tier of it (`Redmi Note 13` / `Redmi Note 13 Pro`).
        return (words_left - tiers) == (words_right - tiers) and bool(words_left - tiers)
    if not words_left or words_left != words_right or not numbers_left or not numbers_right:
        return False
    if any(len(n) >= _PART_NUMBER_DIGITS for n in numbers_left | numbers_right):
        return False
    # Numbers of one length stand in one place (`13` / `15`, `3520` / `3530`); a family's
    # number beside a model's (`Inspiron 15` / `Inspiron 3520`, `UT80` / `UT8050`) does not.
    return any(
        len(x) == len(y) for x in numbers_left - numbers_right for y in numbers_right - numbers_left
    )


@lru_cache(maxsize=16384)
def _registered(brand: str | None) -> str | None:
    """The brand registry's canonical name of `brand` (aliases folded), None when the registry
    does not know it or it is the unbranded marker."""
    if not brand:
        return None
    canonical = load_brands().canonical(brand)
    return None if canonical is None or canonical == UNBRANDED else canonical


def registered_brand_conflict(a: Facts, b: Facts) -> bool:
    """Both brands are known to the registry, they are different brands after its aliases, and
    neither is written in the other side's title. A brand read from a title may be a word of
    the name (so an unregistered one decides nothing), but two registered makers are two
    products."""
    left, right = _registered(a.brand), _registered(b.brand)
    if left is None or right is None or left == right:
        return False
    return _brand(a, b)["brand_conflict"] == 1.0


def _codes(a: Facts, b: Facts, pa: Profile, pb: Profile) -> dict[str, float]:
    equal = suffix = contained = 0.0
    longest = 0
    for left in a.codes:
        for right in b.codes:
            relation = code_relation(left, right)
            if relation == "equal":
                equal = 1.0
                longest = max(longest, len(left))
            elif relation == "suffix":
                suffix = 1.0
                longest = max(longest, min(len(left), len(right)))
            elif relation == "contained":
                contained = 1.0
                longest = max(longest, min(len(left), len(right)))
    in_text = 0.0
    # Every code written into the other title, not the first one met: which one a set yields
    # first depends on how the set was built, and the features must not.
    for code, other in [(c, pb.compact) for c in a.codes] + [(c, pa.compact) for c in b.codes]:
        if len(code) >= 5 and code in other:
            in_text = 1.0
            longest = max(longest, len(code))
    related = equal or suffix or contained
    both = bool(a.codes) and bool(b.codes)
    return {
        "code_equal": equal,
        "code_suffix": suffix if not equal else 0.0,
        "code_contained": contained if not (equal or suffix) else 0.0,
        "code_conflict": 1.0 if both and not related and not in_text else 0.0,
        "code_in_text": in_text if not related else 0.0,
        "code_one_side": 1.0 if bool(a.codes) != bool(b.codes) and not in_text else 0.0,
        "code_longest": min(longest, 12) / 12.0,
    }


_DIGITS = re.compile(r"\d+")


def _shape(code: str) -> str:
    """A code with each run of digits as `#` (`un65du1677` -> `un#du#`)."""
    return _DIGITS.sub("#", code)


def code_shape_conflict(a: Facts, b: Facts, pa: Profile, pb: Profile) -> bool:
    """Each side has a code the other lacks, of one shape and with other digits (`un65du1677` /
    `un65du1973`, `t7032` / `t7034`, `hero7` / `hero8`): siblings of one product line, whatever
    else the titles share."""
    left = (a.codes | pa.code_tokens) - (b.codes | pb.code_tokens)
    right = (b.codes | pb.code_tokens) - (a.codes | pa.code_tokens)
    if not left or not right:
        return False
    shapes: dict[str, list[str]] = {}
    for code in left:
        shapes.setdefault(_shape(code), []).append(code)
    for code in right:
        for other in shapes.get(_shape(code), ()):
            # Written with other separators on the other side is no conflict.
            unrelated = code_relation(code, other) == "none"
            if unrelated and code not in pa.compact and other not in pb.compact:
                return True
    return False


@lru_cache(maxsize=16384)
def _brand_key(brand: str | None) -> str:
    """The brand's matching key (`alias_key`), empty for no brand or the unbranded marker."""
    if not brand or brand == UNBRANDED:
        return ""
    return alias_key(brand)


def _brand(a: Facts, b: Facts) -> dict[str, float]:
    """Brands as read are noisy (a product line read as the brand, `PROTEX MACADAMIA` /
    `PROTEX`; a word of the name read as the brand): two brands agree when one's words are
    among the other's, and conflict only when they share no word and neither is written in the
    other's title."""
    key_a, key_b = _brand_key(a.brand), _brand_key(b.brand)
    words_a, words_b = frozenset(key_a.split()), frozenset(key_b.split())
    in_b = bool(key_a) and f" {key_a} " in f" {b.title} "
    in_a = bool(key_b) and f" {key_b} " in f" {a.title} "
    known = bool(key_a) + bool(key_b)
    agree = bool(words_a and words_b and (words_a <= words_b or words_b <= words_a))
    conflict = bool(words_a and words_b and not words_a & words_b and not in_a and not in_b)
    return {
        "brand_equal": 1.0 if agree else 0.0,
        "brand_conflict": 1.0 if conflict else 0.0,
        "brand_unknown": 0.0 if key_a and key_b else 1.0,
        "brand_in_title": (in_a + in_b) / known if known else 0.0,
    }


def _attribute_key(value: AttributeValue) -> str | float:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return float(value)
    return _text_key(value)


@lru_cache(maxsize=65536)
def _text_key(value: str) -> str:
    return alias_key(value)


def _same_value(a: AttributeValue, b: AttributeValue, slack: float = 0.0) -> bool:
    """One attribute value: numbers within 1%, or within `slack` units."""
    left, right = _attribute_key(a), _attribute_key(b)
    if isinstance(left, float) and isinstance(right, float):
        return abs(left - right) <= max(0.01 * max(abs(left), abs(right), 1.0), slack)
    return left == right


def _attributes(
    a: Mapping[str, AttributeValue], b: Mapping[str, AttributeValue]
) -> tuple[int, int]:
    agree = conflict = 0
    for name in a.keys() & b.keys():
        if _same_value(a[name], b[name]):
            agree += 1
        else:
            conflict += 1
    return agree, conflict


def pair_features(
    a: Facts,
    b: Facts,
    b_retailers: frozenset[str] | None = None,
    weights: TokenWeights | None = None,
) -> dict[str, float]:
    """Every feature of `FEATURE_NAMES` for the pair (symmetric in `a` and `b` when
    `b_retailers` is not given). `b_retailers`: every store with an offer on `b` when `b` is a
    master (default: `b.retailer`); `weights`: token weights (default: all equal)."""
    pa, pb = profile(a.title), profile(b.title)
    features: dict[str, float] = {}
    both_gtin = a.gtin is not None and b.gtin is not None
    features["gtin_equal"] = 1.0 if both_gtin and a.gtin == b.gtin else 0.0
    features["gtin_conflict"] = 1.0 if both_gtin and a.gtin != b.gtin else 0.0
    features.update(_codes(a, b, pa, pb))

    agree = conflict = 0
    for dimension in pa.measures.keys() & pb.measures.keys():
        if _nested(pa.measures[dimension], pb.measures[dimension]):
            agree += 1
        else:
            conflict += 1
    if _content_agrees(pa.measures, pb.measures) or _content_agrees(pb.measures, pa.measures):
        agree += 1
    features["measure_agree"] = min(agree, 3) / 3.0
    features["measure_conflict"] = min(conflict, 2) / 2.0
    if pa.processors and pb.processors:
        shared = bool(pa.processors & pb.processors)
        features["processor_agree"] = 1.0 if shared else 0.0
        features["processor_conflict"] = 0.0 if shared else 1.0
    else:
        features["processor_agree"] = features["processor_conflict"] = 0.0
    attr_agree, attr_conflict = _attributes(a.attributes, b.attributes)
    features["attribute_agree"] = min(attr_agree, 3) / 3.0
    features["attribute_conflict"] = min(attr_conflict, 2) / 2.0
    features["number_jaccard"] = _jaccard(pa.numbers, pb.numbers)
    features["number_conflict"] = (
        1.0 if pa.numbers and pb.numbers and not _nested(pa.numbers, pb.numbers) else 0.0
    )

    features.update(_brand(a, b))
    features["code_shape_conflict"] = 1.0 if code_shape_conflict(a, b, pa, pb) else 0.0
    colours_a, colours_b = pa.colours, pb.colours
    both_colours = bool(colours_a and colours_b)
    features["colour_agree"] = 1.0 if both_colours and colours_a & colours_b else 0.0
    features["colour_conflict"] = 1.0 if both_colours and not colours_a & colours_b else 0.0
    flavours_a, flavours_b = pa.flavours, pb.flavours
    both_flavours = bool(flavours_a and flavours_b)
    features["flavour_agree"] = 1.0 if both_flavours and flavours_a & flavours_b else 0.0
    features["flavour_conflict"] = 1.0 if both_flavours and not flavours_a & flavours_b else 0.0
    features["light_one_side"] = 1.0 if pa.light != pb.light else 0.0
    # A shared code says more the rarer it is in titles: a part number, not `ddr4` or `1080p`.
    token_weights = weights or _UNIFORM
    shared_codes = (a.codes & b.codes) | (pa.code_tokens & pb.code_tokens)
    features["code_shared_weight"] = (
        max(token_weights(code) for code in shared_codes) / token_weights.default
        if shared_codes
        else 0.0
    )
    # One side says a word is absent that the other states ("sin palo" / "con palo").
    features["negation_conflict"] = (
        1.0
        if pa.negated & (pb.tokens - pb.negated) or pb.negated & (pa.tokens - pa.negated)
        else 0.0
    )

    (
        features["token_set_ratio"],
        features["token_sort_ratio"],
        features["partial_ratio"],
        features["ratio"],
    ) = _ratios(a.title, b.title, pa, pb)
    features["token_jaccard"] = _jaccard(pa.tokens, pb.tokens)
    shorter = min(len(pa.tokens), len(pb.tokens))
    features["token_containment"] = len(pa.tokens & pb.tokens) / shorter if shorter else 0.0
    features["rare_token_jaccard"] = _jaccard(pa.rare, pb.rare)
    cosine, only_a, only_b = _weighted(pa.tokens, pb.tokens, weights or _UNIFORM)
    features["idf_cosine"] = cosine
    features["idf_unmatched_min"] = min(only_a, only_b)
    features["idf_unmatched_max"] = max(only_a, only_b)
    # Siblings (one model apart, another generation, another variant) share most words and
    # differ in a code-like token, a bare number or a word or two only one side has.
    codes_a, codes_b = pa.code_tokens, pb.code_tokens
    features["code_token_shared"] = 1.0 if codes_a & codes_b else 0.0
    features["code_token_unmatched"] = (
        min(len(codes_a ^ codes_b), 2) / 2.0 if codes_a and codes_b else 0.0
    )
    features["number_unmatched"] = min(len(pa.numbers ^ pb.numbers), 3) / 3.0
    unmatched_a, unmatched_b = len(pa.tokens - pb.tokens), len(pb.tokens - pa.tokens)
    features["unmatched_tokens_min"] = min(unmatched_a, unmatched_b, 5) / 5.0
    features["unmatched_tokens_max"] = min(max(unmatched_a, unmatched_b), 10) / 10.0
    soft_a, soft_b = _soft_unmatched(pa.tokens, pb.tokens, token_weights)
    features["soft_unmatched_min"] = min(soft_a, soft_b)
    features["soft_unmatched_max"] = max(soft_a, soft_b)
    loose_a, loose_b = _loose_unmatched(pa, pb, token_weights)
    features["loose_unmatched_min"] = min(loose_a, loose_b)
    features["loose_unmatched_max"] = max(loose_a, loose_b)
    features["char_trigram_jaccard"] = _jaccard(pa.trigrams, pb.trigrams)
    longer = max(len(a.title), len(b.title))
    features["length_ratio"] = min(len(a.title), len(b.title)) / longer if longer else 0.0

    if a.price and b.price and a.price > 0 and b.price > 0:
        features["price_log_ratio"] = min(abs(math.log(a.price / b.price)), 3.0) / 3.0
        features["price_missing"] = 0.0
    else:
        features["price_log_ratio"] = 0.0
        features["price_missing"] = 1.0
    if b_retailers is None:
        b_retailers = frozenset([b.retailer]) if b.retailer else frozenset()
    stores = b_retailers
    features["same_retailer"] = 1.0 if a.retailer is not None and a.retailer in stores else 0.0
    return features
