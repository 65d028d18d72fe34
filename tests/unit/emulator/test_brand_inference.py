"""The emulator's brain names brands the alias table lacks, the way a model would."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.domain.brands import load_brands
from catalog.domain.extractor import extract
from catalog.llm.prompts import PromptInput, build_messages
from openai_emulator import brain

KINDS = ("minimal", "batch", "standard", "detailed", "fallback")
BRAND_KEY = {"minimal": "brand", "batch": "b", "standard": "brand", "detailed": "brand"}

# (title, retailer category, brand a model reads in the title); none is in the alias table.
UNKNOWN_BRANDS = [
    ("Harina Sin Polvos Selecta 1 Kg", "Despensa > Harinas", "SELECTA"),
    ("Selecta Harina Sin Polvos de Hornear 1kg", "Harinas", "SELECTA"),
    ("Harina Selecta Sin Polvos 1 kg", "Despensa", "SELECTA"),
    ("Atún Lomitos en Aceite Van Camp's 160 g", "Despensa > Conservas", "VAN CAMP'S"),
    ("Atún Van Camps Lomitos en Aceite 160 gr", "Despensa / Conservas", "VAN CAMPS"),
    ("Sal Fina de Mesa Lobos 1 kg", "Despensa > Sal y Condimentos", "LOBOS"),
    ("Suavizante Brisa de Verano Downy Botella 3 L", "Limpieza > Suavizantes", "DOWNY"),
    ("Downy Suavizante Brisa de Verano 3L", "Suavizantes", "DOWNY"),
    ("Lysoform Desinfectante Original Aerosol 360ml", "Desinfectantes", "LYSOFORM"),
    ("Salsa de Tomate Pomarola Italiana 200 gr", "Aderezos y Salsas", "POMAROLA"),
    ("Jugo en Polvo Zuko Naranja 20 g", "Jugos", "ZUKO"),
    ("Atún Desmenuzado en Agua San José 170 g", "Conservas", "SAN JOSE"),
    ("Perfume Hombre Polo Blue 125 ml Ralph Lauren", "Perfumes Hombre", "RALPH LAUREN"),
    ("PARLANTE BLUETOOTH ALTEC LANSING HYDRAMINI 2 NEGRO", "Audio > Parlantes", "ALTEC LANSING"),
    ("Sal Lobos de Mesa 1 kg", "Despensa", "LOBOS"),  # "sal" is a known product noun
    # The one name among product words, sizes and colours, before a part number.
    ("Refrigerador No Frost 324 Lts Zorbax RMP736FJLL", "Refrigeradores", "ZORBAX"),
    ("Lavadora Carga Frontal Zorbax WT13BPB 13 Kg Blanca", "Lavadoras", "ZORBAX"),
    # A maker's own article, capitalised as part of its name.
    ("Leche Entera La Zorbaxa Botella 1 L", "Leches", "LA ZORBAXA"),
    # Home and tools: counts, materials and descriptions are no makers.
    ("Colchón 2 Plazas Zorbax Ortopédico", "Colchones", "ZORBAX"),
    ("Taladro Percutor Inalámbrico 20V Bauker", "Herramientas", "BAUKER"),
    ("Juego de Sábanas 2 Plazas Zorbax 180 Hilos", "Ropa de Cama", "ZORBAX"),
    # Goods the tree has no aisle for, titled as Spanish goods are: a noun and its complement.
    ("Caviar De Arenque Zorbax", "", "ZORBAX"),
    ("Espuma de baño 3d Zorbax sally unicornio 350 cc.", "", "ZORBAX"),
]
# Titles that start with the brand: the rules read it too (a title-leading name).
TITLE_LEADING = {
    "Selecta Harina Sin Polvos de Hornear 1kg",
    "Downy Suavizante Brisa de Verano 3L",
    "Lysoform Desinfectante Original Aerosol 360ml",
}

# Titles that do not show a brand a model could name with confidence.
NO_BRAND = [
    ("Perfume Polo Blue Edt 125ml Masculino", "Perfumes Hombre"),  # a fragrance, not a maker
    ("Perfume Coco Mademoiselle Edp 100ml Mujer", "Perfumes Mujer"),
    ("Audífonos Gamer Cloud II Rojo", "Audífonos"),
    ('Tablet Pad X9 11.5" 128GB Gris', "Tablets"),
    ("Refrigerador No Frost 300 Litros Advantage 6500 Blanco", "Refrigeradores"),
    ('Smart TV 50" DU7000 Ultra HD 4K LED', "Televisores"),
    ("Memoria USB DT Exodia 64GB", "Discos duros y SSD"),
]

KNOWN_BRANDS = [
    ("Galletas Tritón Vainilla McKay 126 g", "Galletas"),
    ("Coca Cola Original 2L", "beverages"),
    ("Samsung Galaxy S24 Ultra 512GB 5G", "smartphones"),
    ("Smartphone Apple iPhone 16 Pro 256 GB Titanio Desierto", "Celulares"),
]


def _answer(title: str, category: str, kind: str = "standard", model: str = "gpt-5-mini") -> Any:
    item = PromptInput(title, category, 1990, "Jumbo", "S1")
    user = build_messages(kind, item)[-1]["content"]  # type: ignore[arg-type]
    return brain.answer_object(user, model, low_confidence=False)


def _brand(answer: dict[str, Any], kind: str) -> Any:
    return answer[BRAND_KEY.get(kind, "brand")]


@pytest.mark.parametrize(("title", "category", "brand"), UNKNOWN_BRANDS)
def test_titles_name_brands_missing_from_the_alias_table(
    title: str, category: str, brand: str
) -> None:
    assert load_brands().find_in_title(title) is None
    rules_brand = extract(title, retailer_category=category).brand
    assert rules_brand == (brand if title in TITLE_LEADING else None)
    for kind in KINDS:
        assert _brand(_answer(title, category, kind), kind) == brand


@pytest.mark.parametrize(("title", "category", "brand"), UNKNOWN_BRANDS)
def test_an_inferred_brand_is_extracted_as_if_it_were_known(
    title: str, category: str, brand: str
) -> None:
    expected = extract(title, retailer_category=category, brand_hint=brand)
    answer = _answer(title, category, "detailed", "gpt-4o-mini")
    assert answer["model"] == expected.model
    assert answer["normalized_name"] == expected.normalized_name
    assert brand.lower() not in (answer["model"] or "").lower()
    assert answer["confidence"] == round(expected.confidence, 2)
    if title not in TITLE_LEADING:
        assert answer["confidence"] > extract(title, retailer_category=category).confidence


def test_full_models_keep_their_confidence_bonus_on_an_inferred_brand() -> None:
    title, category, _ = UNKNOWN_BRANDS[0]
    mini = _answer(title, category, "standard", "gpt-4o-mini")["confidence"]
    full = _answer(title, category, "standard", "gpt-4o")["confidence"]
    assert full == round(min(mini + brain.FULL_MODEL_CONFIDENCE_BONUS, brain.MAX_CONFIDENCE), 2)


def test_no_attribute_is_invented_with_the_brand() -> None:
    title = "PARLANTE BLUETOOTH ULTIMATE EARS WONDERBOOM 4 NEGRO"
    answer = _answer(title, "Audio > Parlantes", "detailed")
    assert answer["brand"] == "ULTIMATE EARS"
    assert "capacity" not in answer["attributes"]
    assert set(answer["attributes"]) <= {"color", *extract(title).attributes}
    harina = _answer("Harina Sin Polvos Selecta 1 Kg", "Harinas", "detailed")
    assert harina["attributes"] == {"capacity": "1kg", "weight_g": 1000}


# Titles that name a product and nothing that could be its maker: a declared unbranded product.
NAMES_NO_MAKER = [("Harina sin polvos 1 kg", "Harinas"), ("Leche entera 1 L", "Lácteos")]


@pytest.mark.parametrize(("title", "category"), NAMES_NO_MAKER)
def test_a_title_naming_no_maker_is_answered_as_unbranded(title: str, category: str) -> None:
    assert load_brands().find_in_title(title) is None
    for kind in KINDS:
        assert _brand(_answer(title, category, kind), kind) == load_brands().unbranded


@pytest.mark.parametrize(("title", "category"), NO_BRAND)
def test_no_brand_is_guessed_when_the_title_shows_none(title: str, category: str) -> None:
    assert load_brands().find_in_title(title) is None
    for kind in KINDS:
        assert _brand(_answer(title, category, kind), kind) is None


@pytest.mark.parametrize(("title", "category"), KNOWN_BRANDS)
def test_known_brands_are_answered_as_before(title: str, category: str) -> None:
    expected = extract(title, retailer_category=category)
    assert expected.brand is not None
    answer = _answer(title, category, "detailed", "gpt-4o-mini")
    assert (answer["brand"], answer["model"]) == (expected.brand, expected.model)
    assert answer["confidence"] == round(expected.confidence, 2)


@pytest.mark.parametrize(
    ("title", "brand"),
    [
        ("Detergente Líquido Omo 3 L", "Omo"),
        ("Mantequilla con Sal Soprole 250 g", "Soprole"),
        ("Pañales Babysec Premium Talla G 40 un", "Babysec"),
        ("Audífonos Soundcore Life Q30 Negro", "Soundcore"),
        # A variety's colour, then the maker: the name after the colour is the only one.
        ("Pan Blanco Lactal 460 Gr", "Lactal"),
        ("Alfajor Negro Tofi 46 Gr", "Tofi"),
        ("Tableta Chocolate Con Leche Tokke 60 Gr", "Tokke"),
    ],
)
def test_the_guess_reads_titles_without_the_alias_table(title: str, brand: str) -> None:
    category = extract(title).category
    assert brain.guess_brand(title, None, category) == brand


@pytest.mark.parametrize(
    ("title", "brand"),
    [
        # A milk's kind, written out or abbreviated as stores do, is no maker.
        ("Leche Larga Vida La Serenísima Clásica 1 L", "La Serenísima"),
        ("Leche Uat Nutrilon 1 200 Ml", "Nutrilon"),
        ("Leche Parcialmente Descremada Manfrey 1 Lt Uat", "Manfrey"),
        ("Postre Danette Ddl 95 G", "Danette"),
        # Nor a wine's grape, style or sweetness.
        ("Vino Tinto Bivarietal Viñas De Balbo 1.25lt", "Viñas"),
        ("Vino Blanco Tardio Dulce Wampa 750 Ml", "Wampa"),
        ("Vino Tinto Selección Toro Clásico 750 Ml.", "Toro"),
        # Nor what a soap or a shampoo does, nor where it goes.
        ("Jabon Tocador Plusbelle Humectación 120g", "Plusbelle"),
        ("Shampoo Tresemme Brillo Lamelar 250ml", "Tresemme"),
        ("Suavizante para la Ropa Vivere 900 Ml.", "Vivere"),
        ("Crema Dental Blanqueadora Paradontax 116gr", "Paradontax"),
        # Nor a letter: a vitamin's, an appellation's.
        ("Aceite Girasol Vitamina D Cocinero 900 Ml.", "Cocinero"),
    ],
)
def test_descriptions_beside_the_maker_are_not_part_of_its_name(title: str, brand: str) -> None:
    category = extract(title).category
    assert brain.guess_brand(title, None, category) == brand


def test_of_equally_likely_names_in_a_grocery_title_the_first_is_the_maker() -> None:
    # Two names in equally likely places: the maker usually comes first in a grocery title
    # (a listing with a name is not sent to review for want of certainty about it).
    title = "Jabón Líquido Ala Camellito Ropa Fina Matic 900 ml"
    guess = brain.guess_brand(title, "Detergentes", "cleaning")
    assert guess is not None and guess.split()[0] == "Ala"
    # A name after a colour is its qualifier when the title names a maker elsewhere.
    assert brain.guess_brand("Suavizante Downy Verde Bosque 3 L", None, "cleaning") == "Downy"
    # A tech title still gives up: a model would not pick one at random.
    assert brain.guess_brand("Audífonos Cloud Rojo Stinger Gamer", None, "headphones") is None


def test_a_two_letter_name_is_the_maker_only_where_nothing_else_could_be() -> None:
    # Goods whose maker writes its name in two letters ("Bc", "We"): the only name there.
    assert brain.guess_brand("Mayonesa Bc Girasol 1lt", None, "groceries") == "Bc"
    assert brain.guess_brand("Agua Saborizada Con Gas We Limón 500 Ml", None, "beverages") == "We"
    # Beside a longer name, two letters are an abbreviation or a line, not the maker.
    assert brain.guess_brand("Mermelada Bc Frutilla Arcor 390 Gr", None, "groceries") == "Arcor"
    # In a title in capitals every word looks like a name; in a tech title, a series letter.
    assert brain.guess_brand("MAYONESA BC 500 ML", None, "groceries") is None
    assert brain.guess_brand("Audífonos Inalámbricos Qx Negro", None, "headphones") is None
