"""Identity resolution: identifiers, pairwise features, the shipped matcher and the resolver."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest

from catalog.domain.identity import normalize_title
from catalog.identity.facts import facts_from_listing, facts_from_product, fuse
from catalog.identity.features import FEATURE_NAMES, identity_conflict, pair_features, profile
from catalog.identity.identifiers import (
    canonical_gtin,
    code_relation,
    code_stem,
    model_codes,
    processor_models,
)
from catalog.identity.matcher import MODEL_FILE, Matcher, Thresholds, load_matcher
from catalog.identity.memory import InMemoryCatalog
from catalog.identity.model import OFFERS_PER_MASTER, Candidate, Facts
from catalog.identity.resolver import Resolver, load_resolver, matcher_judge, new_master_id
from catalog.metrics import REGISTRY
from schemas.models import RawListing

# ----------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7791234567898", "07791234567898"),  # EAN-13
        ("012345678905", "00012345678905"),  # UPC-A
        ("00012345678905", "00012345678905"),  # GTIN-14 of the same number
        ("12345670", "00000012345670"),  # EAN-8
        ("7791234-567898", "07791234567898"),
        (12345670, "00000012345670"),
        ("7791234567899", None),  # wrong check digit
        ("00000000", None),
        ("123456789", None),  # no such length
        ("77912345678a", None),
        (None, None),
        (True, None),
    ],
)
def test_canonical_gtin(value: object, expected: str | None) -> None:
    assert canonical_gtin(value) == expected


def test_one_gtin_in_every_spelling() -> None:
    assert canonical_gtin("012345678905") == canonical_gtin("0012345678905")


@pytest.mark.parametrize(
    ("title", "code"),
    [
        ('Sony Bravia KDL-40V5100 40" LCD TV', "kdl40v5100"),
        ("sony bravia kdl40v5100 lcd tv", "kdl40v5100"),
        ("Lenovo ThinkPad E14 [20GF0001US]", "20gf0001us"),
        ("HP Chromebook 11A-NA0035NR [18J38UA]", "18j38ua"),
        ("Sony WH-1000XM3/B headphones", "wh1000xm3b"),
        ("Corsair Carbide Mid-Tower CC-9011050-WW", "cc9011050"),
        ("Jabra Evolve 75 UC Stereo Headset 7599-838-199", "7599838199"),
    ],
)
def test_model_codes_found_and_normalized(title: str, code: str) -> None:
    assert code in model_codes(title)


@pytest.mark.parametrize(
    "title",
    [
        "Samsung Galaxy 256GB 55in 1.5l 750ml 2x1 4k 1080p 65W 12V",
        "Leche entera 1 L pack 6 un.",
        "Adaptador 100-240v 2.5-inch disco 16/512gb",
        "Notebook Lenovo Core i5-1235U 16GB RTX 4060 Ryzen 5 5600H",
    ],
)
def test_measures_and_processors_are_not_codes(title: str) -> None:
    assert model_codes(title) == frozenset()


def test_code_equal_to_the_brand_is_dropped() -> None:
    assert "3m" not in model_codes("3M 8210 respirator", brand="3M")


def test_processor_models() -> None:
    title = "Lenovo LOQ Core i5-1235U 16GB RTX 4060 Ti, Ryzen 5 5600H, Apple M2 Pro"
    assert processor_models(title) == {"i5-1235u", "rtx4060ti", "ryzen5-5600h", "m2pro"}
    assert processor_models("Intel Core i7 12700H") == {"i7-12700h"}
    # The graphics tier closes some Intel models: two of them are two configurations.
    assert processor_models("IdeaPad 3 Intel Core i5-1135G7 8GB") == {"i5-1135g7"}
    assert processor_models("IdeaPad 3 Intel Core i5-1035G1 8GB") == {"i5-1035g1"}


def test_code_relations() -> None:
    assert code_relation("kdl40v5100", "kdl40v5100") == "equal"
    assert code_relation("wh1000xm3b", "wh1000xm3") == "suffix"
    assert code_relation("s051160", "c13s051160") == "contained"
    assert code_relation("kdl40v5100", "kdl46v5100") == "none"
    assert code_stem("wh1000xm3b") == "wh1000xm3"
    assert code_stem("kdl40v5100") == "kdl40v5100"


# ----------------------------------------------------------------------------- features


def _facts(name: str, retailer: str = "a", price: int = 1000, **kw: object) -> Facts:
    listing = RawListing(retailer=retailer, sku=name[:20], name=name, price=price)
    return facts_from_listing(listing, **kw)  # type: ignore[arg-type]


def test_identity_conflicts_veto() -> None:
    four = _facts("Samsung Galaxy A15 4+128GB Negro", attributes={"ram_gb": 4, "storage_gb": 128})
    six = _facts("Samsung Galaxy A15 6+128GB Negro", attributes={"ram_gb": 6, "storage_gb": 128})
    assert identity_conflict(four, six)  # another memory: another configuration
    new = _facts("Apple iPhone 13 128GB Azul")
    assert identity_conflict(new, _facts("iPhone 13 128GB Azul Reacondicionado", "b"))
    assert not identity_conflict(new, _facts("Celular Apple iPhone 13 128 GB Azul", "b"))
    phone = _facts("Samsung Galaxy S24 5G 256GB SM-S921B")
    assert identity_conflict(phone, _facts("Samsung Galaxy S24 512 GB SM-S921B"))
    assert not identity_conflict(phone, _facts("Galaxy S24 8GB 256GB Negro"))
    assert identity_conflict(_facts("HP 15 Core i5-1235U"), _facts("HP 15 Core i7-1255U"))
    assert identity_conflict(_facts("Aceite de oliva 500 ml"), _facts("Aceite Oliva X250cc"))
    assert not identity_conflict(_facts("Leche 1 L"), _facts("Leche entera 1000 ml"))


def test_a_container_one_store_writes_is_no_other_word_and_two_containers_are_two() -> None:
    plain = _facts("Bebida Coca Cola Original 3 L")
    bottle = _facts("Coca-Cola Sabor Original Botella 3 Lt", "b")
    assert not identity_conflict(plain, bottle)
    assert (
        pair_features(plain, bottle)["unmatched_tokens_max"]
        == pair_features(plain, _facts("Coca-Cola Sabor Original 3 Lt", "b"))[
            "unmatched_tokens_max"
        ]
    )
    # A pack's count however it is written.
    assert profile(normalize_title("Pack 6 Cerveza Cristal 470 cc")).measures["count"] == {6.0}
    assert profile(normalize_title("Cerveza Cristal 470cc x 6")).measures["count"] == {6.0}
    # Another letter size of a diaper or a garment.
    medium = _facts("Pañales Pampers Baby Dry Hipoalergénico M 72 un", category="baby_care")
    large = _facts("Pañales Pampers Babydry G 72u", "b", category="baby_care")
    assert identity_conflict(medium, large)
    assert not identity_conflict(
        medium, _facts("Pañales Pampers Baby Dry Talla M 72u", "b", category="baby_care")
    )
    assert identity_conflict(
        _facts("Polera Adidas Essentials Hombre Talla M", category="clothing"),
        _facts("Polera Adidas Essentials Hombre Talla L", "b", category="clothing"),
    )
    shoe = _facts("Zapatillas Adidas Runfalcon 3.0 Hombre Negro Talla 42", category="shoes")
    assert identity_conflict(
        shoe, _facts("Zapatillas Adidas Runfalcon 3.0 Hombre Negro Talla 43", "b", category="shoes")
    )
    assert not identity_conflict(
        shoe, _facts("Zapatilla Adidas Runfalcon 3.0 Negra Hombre Talla 42", "b", category="shoes")
    )
    # Packed in another medium.
    water = _facts("Atún Lomitos en Agua Van Camp's 160 g")
    assert identity_conflict(water, _facts("Atún Lomitos en Aceite Van Camps 160 g", "b"))
    assert not identity_conflict(water, _facts("Atun Van Camps Lomitos en agua 160g", "b"))
    can = _facts("Cerveza Cristal Lata 470 cc")
    assert identity_conflict(can, _facts("Cerveza Cristal Botella 470 cc", "b"))
    assert not identity_conflict(can, _facts("Cerveza Cristal Lata 470 ml", "b"))
    # A bottle written as its plastic: one container.
    assert not identity_conflict(
        _facts("Gaseosa Pepsi Black pet 2 L"), _facts("Gaseosa Pepsi Black Botella 2 L", "b")
    )


def test_two_wines_of_one_line_with_other_grapes_are_two_products() -> None:
    blend = _facts("Vino tinto cabernet merlot Saint Felicien 750 cc.")
    assert identity_conflict(blend, _facts("Vino Cabernet Sauvignon Saint Felicien 750cc", "b"))
    assert identity_conflict(
        _facts("Vino Cabernet Sauvignon Saint Felicien 750cc"),
        _facts("Vino Tinto Saint Felicien Cabernet Franc 750 Ml.", "b"),
    )
    # The same blend written out, cut short, or with no grape named: nothing decided here.
    assert not identity_conflict(
        blend, _facts("Vino Tinto Cabernet Sauvignon - Merlot Saint Felicien 750 Cc", "b")
    )
    assert not identity_conflict(
        _facts("Vino tinto Lote negro malbec cabernet franc 750 cc"),
        _facts("Vino Lote Negro Malbec-cabernet", "b"),
    )
    assert not identity_conflict(
        _facts("Vino tinto Toro lacrado 750 cc."), _facts("Vino Toro Lacrado Malbec 750cc", "b")
    )
    assert profile(normalize_title("Vino Sauvignon Blanc Casillero del Diablo")).grapes == {
        "sauvignon blanc"
    }


def test_a_fragrance_written_out_or_abbreviated_is_one_and_two_concentrations_are_two() -> None:
    edt = _facts("Perfume Carolina Herrera 212 VIP Men EDT 100 ml")
    written = _facts("212 VIP Men Carolina Herrera Eau de Toilette 100ml", "b")
    assert not identity_conflict(edt, written)
    assert load_matcher().score(edt, written) >= load_matcher().thresholds.attach_at
    assert identity_conflict(edt, _facts("Carolina Herrera 212 VIP Men Eau de Parfum 100 ml", "b"))


def test_another_form_or_a_night_cream_is_another_product() -> None:
    powder = _facts("Detergente en Polvo Omo Multiacción 3 kg")
    assert identity_conflict(powder, _facts("Detergente Líquido Omo Multiacción 3 L", "b"))
    assert not identity_conflict(powder, _facts("Detergente Polvo Omo Multiaccion 3 Kg", "b"))
    assert identity_conflict(
        _facts("Desodorante Rexona Men Barra 50 g"), _facts("Desodorante Rexona Men Roll On", "b")
    )
    day = _facts("Crema Facial Nivea Q10 Antiarrugas Día 50 ml", category="personal_care")
    night = _facts("Crema Facial Nivea Q10 Antiarrugas Noche 50 ml", "b", category="personal_care")
    assert identity_conflict(day, night)
    # Outside beauty and health `dia` is a store's own brand, not a time of day.
    assert not identity_conflict(
        _facts("Duraznos en Trozos DIA 820 g", category="groceries"),
        _facts("Duraznos en Trozos Noche Buena 820 g", "b", category="groceries"),
    )


def test_two_cheeses_of_one_dairy_are_two_products() -> None:
    gouda = _facts("Queso Gauda Laminado Colun 250 g")
    assert identity_conflict(gouda, _facts("Queso Mantecoso Laminado Colun 250 g", "b"))
    assert not identity_conflict(gouda, _facts("Queso Gouda Colun Laminado 250g", "b"))


def test_a_mens_and_a_womens_version_are_two_products() -> None:
    men = _facts("Perfume Carolina Herrera 212 VIP Men Edt 100 ml")
    assert identity_conflict(men, _facts("Perfume Carolina Herrera 212 VIP Women EDT 100ml", "b"))
    assert identity_conflict(men, _facts("Perfume 212 VIP Edt 100 ml Dama", "b"))
    # `Hombre` and `Masculino` say the same; a title saying neither may be either.
    assert not identity_conflict(men, _facts("Perfume 212 VIP Edt 100ml Masculino", "b"))
    assert not identity_conflict(men, _facts("Perfume 212 VIP Edt 100ml", "b"))


def test_a_milk_a_dark_and_a_white_chocolate_are_three_products() -> None:
    milk = _facts("Nestlé Classic Chocolate Con Leche X 80 Gr.")
    assert identity_conflict(milk, _facts("Chocolate Classic Semi Amargo Nestlé X 80 Gr", "b"))
    assert identity_conflict(milk, _facts("Chocolate Nestle Classic Blanco 80 g", "b"))
    # A title naming no kind may be either, and one naming two (`Blanco y Negro`) fits both.
    assert not identity_conflict(milk, _facts("Chocolate Nestlé Classic 80g", "b"))
    assert not identity_conflict(
        _facts("Chocolate Cofler Air mixto 55 g."),
        _facts("Chocolate Blanco Y Amargo Cofler 55gr", "b"),
    )
    # Without a chocolate word `blanco` and `amargo` say other things.
    assert not identity_conflict(
        _facts("Vino Blanco Toro 1 L"), _facts("Vino Toro Amargo 1 L", "b")
    )


def test_a_light_version_against_one_said_regular_is_another_product() -> None:
    light = _facts("Mayonesa Hellmann's Light 372 g", category="groceries")
    regular = _facts("Mayonesa Hellmann's Tradicional 372 g", "b", category="groceries")
    assert identity_conflict(light, regular)
    # A title that says neither may be either.
    assert not identity_conflict(
        light, _facts("Mayonesa Hellmanns 372g", "b", category="groceries")
    )
    # Outside food and drink `light` names no version (`Ultra Light 53g`, a weight).
    assert not identity_conflict(
        _facts("Mouse Cooler Master MM710 Ultra Light 53g", category="peripherals"),
        _facts("Mouse Cooler Master MM710 Original Negro", "b", category="peripherals"),
    )


def test_an_accessory_is_not_the_product_it_is_made_for() -> None:
    phone = _facts("Samsung Galaxy S24 Ultra 256GB Titanium Black", price=1_199_990)
    charger = _facts("Cargador Samsung 45W Galaxy S24 Ultra", "b", price=39_990)
    case = _facts("Apple Silicone Case with MagSafe for iPhone 15", "b", price=59_990)
    iphone = _facts("Apple iPhone 15 128GB Negro", price=899_990)
    assert identity_conflict(phone, charger) and identity_conflict(charger, phone)
    assert identity_conflict(iphone, case)
    assert load_matcher().score(phone, charger) == 0.0
    # One accessory, its own word left out by one store: about the same price, one product.
    toughskin = _facts("3G iPhone Black ToughSkin IPH3G-BLK-TS", price=34_990)
    assert not identity_conflict(
        _facts("Speck Black ToughSkin Case for iPhone 3G", "b", price=29_990), toughskin
    )
    # Two stores' chargers, and a price unknown on one side: nothing decided here.
    assert not identity_conflict(charger, _facts("Cargador Super Rapido Samsung 45W", price=35_990))
    assert not identity_conflict(replace(charger, price=None), phone)
    # Words that lead other products' titles: sunscreen, a computer's case.
    sunscreen = _facts("Protector Solar Nivea Sun FPS 50 200ml", price=9_990)
    assert not identity_conflict(
        sunscreen, _facts("Nivea Sun Protect FPS 50 200 ml", "b", price=39_990)
    )
    pc_case = _facts("Case Corsair 460X RGB", price=20_000)
    assert not identity_conflict(
        pc_case, _facts("Corsair Crystal Series 460X RGB", "b", price=90_000)
    )


def test_two_read_sizes_are_two_products_where_the_titles_say_less() -> None:
    # "8G" is no size the title profile reads; the extraction reads it as the card's memory.
    eight = _facts("MSI GeForce RTX 4060 Ti Ventus 2X Black OC 8G", attributes={"vram_gb": 8})
    sixteen = _facts(
        "MSI GeForce RTX 4060 Ti Ventus 2X Black OC 16GB", "b", attributes={"vram_gb": 16}
    )
    assert identity_conflict(eight, sixteen) and load_matcher().score(eight, sixteen) == 0.0
    assert not identity_conflict(eight, replace(sixteen, attributes={"vram_gb": 8}))
    # A television's class size and its measured diagonal are one screen.
    tv_class = _facts("Toshiba 32 LCD HDTV 32AV502U", attributes={"screen_in": 32.0})
    tv_viewable = _facts("Toshiba 32AV502 31.5 LCD HDTV", "b", attributes={"screen_in": 31.5})
    assert not identity_conflict(tv_class, tv_viewable)
    assert identity_conflict(tv_class, replace(tv_viewable, attributes={"screen_in": 40.0}))
    # An attribute that does not name the product (a colour) is the matcher's to weigh.
    black = _facts("Parlante JBL Go 3", attributes={"color": "black"})
    assert not identity_conflict(black, replace(black, attributes={"color": "blue"}))


def test_one_brand_s_model_read_with_other_numbers_is_another_product() -> None:
    # The demo feed's iPhone 13 had joined an iPhone 15 master the matcher scored 0.78.
    fifteen = _facts("Apple iPhone 15 128GB Negro", brand="APPLE", model="iPhone 15")
    thirteen = _facts("Apple iPhone 13 5G 128GB Black", "b", brand="APPLE", model="iPhone 13")
    assert identity_conflict(fifteen, thirteen) and load_matcher().score(fifteen, thirteen) == 0.0
    s23 = _facts("Samsung Galaxy S23 Ultra 256GB", brand="SAMSUNG", model="Galaxy S23 Ultra")
    s24 = _facts("Samsung Galaxy S24 Ultra 256GB", "b", brand="SAMSUNG", model="Galaxy S24 Ultra")
    assert identity_conflict(s23, s24)
    # One line and generation, a tier of it on one side only.
    note = _facts("Xiaomi Redmi Note 13 256GB", brand="XIAOMI", model="Redmi Note 13")
    note_pro = replace(note, title="xiaomi redmi note 13 pro 256gb", model="Redmi Note 13 Pro")
    assert identity_conflict(note, note_pro)
    assert not identity_conflict(note_pro, replace(note_pro, model="Redmi Note 13 Pro 5G"))
    tab = _facts("Samsung Galaxy Tab A9+ 64GB", brand="SAMSUNG", model="Galaxy Tab A9+")
    assert not identity_conflict(tab, replace(tab, model="Galaxy Tab A9 Plus"))
    assert identity_conflict(tab, replace(tab, model="Galaxy Tab A9"))
    # Other words, one side saying less, no model or another brand's model: the matcher's.
    pro = _facts("AirPods Pro 2nd Gen", "b", brand="APPLE", model="AirPods Pro 2")
    assert not identity_conflict(_facts("AirPods 4", brand="APPLE", model="AirPods 4"), pro)
    more = replace(fifteen, model="iPhone 15 128")
    assert not identity_conflict(fifteen, more)
    assert not identity_conflict(fifteen, replace(thirteen, model=None))
    assert not identity_conflict(fifteen, replace(thirteen, brand="OTHER"))
    # Two lines, each its words and one short number, sharing neither.
    band = _facts("Smartband Xiaomi Smart Band 9 Negro", brand="XIAOMI", model="Smart Band 9")
    watch = _facts("Xiaomi Redmi Watch 5 Active", "b", brand="XIAOMI", model="Redmi Watch 5 Active")
    assert identity_conflict(band, watch)
    # Not where a model is a code (`WD10JFCX`) or a number is a part number's.
    red = _facts("WD Red 1TB WD10JFCX", brand="WD", model="HDD2.5 WD10JFCX")
    assert not identity_conflict(red, replace(red, model="Red 5400"))
    strap = _facts("New Era 9FORTY Yankees", brand="NEW ERA", model="Strapback 10531941")
    assert not identity_conflict(strap, replace(strap, model="Leag Basic 940"))


def test_two_registered_brands_are_two_products() -> None:
    asus = _facts("Notebook Asus Vivobook 15 Core i5 1235U 512GB", brand="ASUS")
    dell = _facts("Notebook Dell Inspiron 15 Core i5 1235U 512GB", "b", brand="DELL")
    assert identity_conflict(asus, dell) and load_matcher().score(asus, dell) == 0.0
    # A brand the registry does not know may be a word of the name read as the brand.
    read = _facts("Dining setting 5 piece wicker outdoor set black", "b", brand="DINING SETTING")
    gardeon = _facts("Gardeon 5 piece wicker outdoor dining set black", brand="GARDEON")
    assert not identity_conflict(gardeon, read)
    # One registered brand written in the other title is no conflict either.
    assert not identity_conflict(asus, _facts("Asus Vivobook 15 i5 1235U", "b", brand="DELL"))


def test_capacity_conflict() -> None:
    small = _facts("Samsung Galaxy S24 256GB Negro")
    large = _facts("Samsung Galaxy S24 512 GB negro", retailer="b")
    features = pair_features(small, large)
    assert features["measure_conflict"] > 0 and features["measure_agree"] == 0
    same = pair_features(small, _facts("Galaxy S24 Samsung 8GB 256 GB", retailer="b"))
    assert same["measure_conflict"] == 0 and same["measure_agree"] > 0


def test_one_foods_contents_as_volume_and_as_mass_agree() -> None:
    ml = _facts("Crema De Leche Milkaut 330ml")
    grams = _facts("Crema de Leche Milkaut 330 GR.", retailer="b")
    assert pair_features(ml, grams)["measure_agree"] > 0
    assert (
        pair_features(ml, _facts("Crema de Leche Milkaut 200 g", retailer="b"))["measure_agree"]
        == 0
    )
    # A title that states both is compared dimension by dimension: its mass says nothing of
    # the other's volume.
    both = pair_features(_facts("Yogur Milkaut 905ml"), _facts("Yogur 900 ml 905 g", retailer="b"))
    assert both["measure_agree"] == 0 and both["measure_conflict"] > 0


def test_spellings_of_one_code_are_equal() -> None:
    features = pair_features(
        _facts('Sony KDL-40V5100 40" LCD TV'), _facts("sony bravia kdl40v5100 television")
    )
    assert features["code_equal"] == 1.0 and features["code_conflict"] == 0.0
    conflict = pair_features(_facts("Sony KDL-40V5100 TV"), _facts("Sony KDL-46V5100 TV"))
    assert conflict["code_conflict"] == 1.0 and conflict["code_equal"] == 0.0


def test_features_are_complete_and_bounded() -> None:
    a = _facts("Notebook HP 15 Core i5-1235U 8GB 512GB SSD", price=500000)
    b = _facts("HP 15 i7-1255U 16GB 512GB", retailer="b", price=650000)
    features = pair_features(a, b)
    assert tuple(features) == FEATURE_NAMES
    assert all(0.0 <= v <= 1.0 for v in features.values())
    assert features["processor_conflict"] == 1.0
    assert features["same_retailer"] == 0.0
    assert pair_features(a, b, frozenset({"a"}))["same_retailer"] == 1.0


def test_gtin_features() -> None:
    listing = RawListing(retailer="a", sku="1", name="Leche 1 L", price=990, ean="7791234567898")
    other = listing.model_copy(update={"retailer": "b"})
    features = pair_features(facts_from_listing(listing), facts_from_listing(other))
    assert features["gtin_equal"] == 1.0 and features["gtin_conflict"] == 0.0


def test_the_unbranded_marker_is_no_brand() -> None:
    a = _facts("Azucar blanca 1 kg", brand="GENERICO")
    b = _facts("Arroz grado 1 1 kg", retailer="b", brand="GENERICO")
    features = pair_features(a, b)
    assert features["brand_equal"] == 0.0 and features["brand_unknown"] == 1.0
    branded = pair_features(_facts("Arroz Tucapel 1 kg", brand="Tucapel"), b)
    assert branded["brand_conflict"] == 0.0 and branded["brand_unknown"] == 1.0


def test_sibling_features() -> None:
    a = _facts("Samsung Galaxy A52 128GB Negro")
    b = _facts("Samsung Galaxy A53 128GB Negro", retailer="b")
    features = pair_features(a, b)
    assert features["code_token_shared"] == 0.0 and features["code_token_unmatched"] == 1.0
    same = pair_features(a, _facts("Galaxy A52 Samsung 128 GB negro", retailer="b"))
    assert same["code_token_shared"] == 1.0 and same["code_token_unmatched"] == 0.0
    assert same["unmatched_tokens_max"] == 0.0 < features["unmatched_tokens_max"]


def test_abbreviated_and_inflected_words_are_no_unmatched_words() -> None:
    a = _facts("Shampoo Sedal Prebioticos Biotina 190 ml")
    b = _facts("Shampoo prebiotico biotina Sedal 190ml", retailer="b")
    features = pair_features(a, b)
    assert features["idf_unmatched_max"] > 0.0  # `prebioticos` / `prebiotico` differ as words
    assert features["soft_unmatched_max"] == 0.0
    short = pair_features(
        _facts("Fideos Lucchetti Tirabuzon 500 g"), _facts("Fideos Lucchetti tirabuz 500g", "b")
    )
    assert short["soft_unmatched_max"] == 0.0 < short["idf_unmatched_max"]
    flavour = pair_features(
        _facts("Yogur Serenisima Frutilla 120 g"), _facts("Yogur Serenisima Vainilla 120g", "b")
    )
    assert flavour["soft_unmatched_min"] > 0.0
    # Words with digits match only exactly, and short words only exactly.
    codes = pair_features(_facts("Galaxy A52 128GB"), _facts("Galaxy A53 128GB", "b"))
    assert codes["soft_unmatched_min"] > 0.0
    # A store's three-letter abbreviation is the word it starts; two short words that only
    # look alike are not one (`coco` / `coca`).
    milk = pair_features(
        _facts("Leche Uat Des Serenisima 1 L"), _facts("Leche Uat Descremada Serenisima 1 L", "b")
    )
    assert milk["soft_unmatched_max"] == 0.0 < milk["idf_unmatched_max"]
    coco = pair_features(_facts("Agua Coco Natural 1 L"), _facts("Agua Coca Natural 1 L", "b"))
    assert coco["soft_unmatched_min"] > 0.0
    # `sabor` only introduces the flavour, `talle` the size, `tipo` the style.
    vanilla = pair_features(
        _facts("Yogur Soprole Sabor Vainilla 125 g"), _facts("Yogur Soprole Vainilla 125 g", "b")
    )
    assert vanilla["unmatched_tokens_max"] == 0.0
    size = pair_features(
        _facts("Pañales Pampers Babysan Talle XG 32 uni", category="baby_care"),
        _facts("Pañales Pampers Babysan XG 32u", "b", category="baby_care"),
    )
    assert size["unmatched_tokens_max"] == 0.0
    style = pair_features(
        _facts("Pan Tipo Artesano Bimbo 500 g"), _facts("Pan Artesano Bimbo 500g", "b")
    )
    assert style["unmatched_tokens_max"] == 0.0
    assert pair_features(a, a)["char_trigram_jaccard"] == 1.0
    assert 0.0 < features["char_trigram_jaccard"] < 1.0
    assert features["char_trigram_jaccard"] > flavour["char_trigram_jaccard"]


def test_misspelt_and_split_words_are_no_loose_unmatched_words() -> None:
    split = pair_features(
        _facts("Papas Mc Cain Noisete 600 g"), _facts("Papas Noisette McCain 600g", "b")
    )
    assert split["loose_unmatched_max"] == 0.0 < split["soft_unmatched_max"]
    slip = pair_features(
        _facts("Crema Dental Paradontax Blanqueadora 90 g"),
        _facts("Crema dental Parodontax blanqueador 90g", "b"),
    )
    assert slip["loose_unmatched_max"] == 0.0 < slip["soft_unmatched_max"]
    # Siblings still differ in whole words; words with digits and short words match exactly.
    flavour = pair_features(
        _facts("Yogur Serenisima Frutilla 120 g"), _facts("Yogur Serenisima Vainilla 120g", "b")
    )
    assert flavour["loose_unmatched_min"] > 0.0
    for left, right in (
        ("Galaxy A52 128GB", "Galaxy A53 128GB"),
        ("Vino Toro 1 l", "Vino Tero 1l"),
    ):
        assert pair_features(_facts(left), _facts(right, "b"))["loose_unmatched_min"] > 0.0


def test_codes_of_one_shape_with_other_digits_conflict() -> None:
    a = _facts('Samsung UN65DU1677 65" Crystal UHD', brand="SAMSUNG")
    b = _facts("Samsung UN65DU1973 65in Crystal UHD", retailer="b", brand="SAMSUNG")
    assert pair_features(a, b)["code_shape_conflict"] == 1.0
    same = _facts("Samsung UN-65DU1677 Crystal UHD 65in", retailer="b", brand="SAMSUNG")
    assert pair_features(a, same)["code_shape_conflict"] == 0.0
    # Another shape is no sibling: a store's own sku beside the maker's code.
    sku = _facts("Samsung 65in Crystal UHD TV 2757B001", retailer="b", brand="SAMSUNG")
    assert pair_features(a, sku)["code_shape_conflict"] == 0.0


def test_colours_in_any_language_agree_or_conflict() -> None:
    black = _facts("Xiaomi Redmi Note 8 Pro 128GB Negro")
    assert (
        pair_features(black, _facts("Xiaomi Redmi Note 8 Pro 128GB black", "b"))["colour_agree"]
        == 1.0
    )
    blue = pair_features(black, _facts("Xiaomi Redmi Note 8 Pro 128GB Azul", "b"))
    assert blue["colour_conflict"] == 1.0 and blue["colour_agree"] == 0.0
    none = pair_features(black, _facts("Xiaomi Redmi Note 8 Pro 128GB", "b"))
    assert none["colour_conflict"] == none["colour_agree"] == 0.0


def test_flavours_light_versions_and_negations_tell_variants_apart() -> None:
    lemon = _facts("Galleta de arroz Gallo snacks limon 100g")
    cheese = pair_features(lemon, _facts("Galletitas de arroz Gallo snacks de queso 100g", "b"))
    assert cheese["flavour_conflict"] == 1.0 and cheese["flavour_agree"] == 0.0
    same = pair_features(lemon, _facts("Gallo snacks arroz sabor lemon 100 g", "b"))
    assert same["flavour_agree"] == 1.0 and same["flavour_conflict"] == 0.0
    plain = _facts("Queso untable Tonadita clasico 180g")
    light = _facts("Queso untable Tonadita clasico light 180g", "b")
    assert pair_features(plain, light)["light_one_side"] == 1.0
    assert pair_features(light, light)["light_one_side"] == 0.0
    without = _facts("Yerba mate Amanda sin palo 500g")
    assert (
        pair_features(without, _facts("Yerba mate Amanda con palo 500g", "b"))["negation_conflict"]
        == 1.0
    )
    assert (
        pair_features(without, _facts("Yerba Amanda sin palo 500 g", "b"))["negation_conflict"]
        == 0.0
    )


def test_grapes_fruits_and_plurals_name_the_variety() -> None:
    malbec = _facts("Vino tinto Santa Julia malbec 750 cc")
    merlot = pair_features(malbec, _facts("Vino Tinto Santa Julia Merlot 750 Ml", "b"))
    assert merlot["flavour_conflict"] == 1.0
    same = pair_features(malbec, _facts("Vino Santa Julia Malbec 750ml", "b"))
    assert same["flavour_agree"] == 1.0
    # A blend and a single grape share "sauvignon", which therefore names no variety; the wine's
    # colour still tells a Sauvignon Blanc from a red.
    red = _facts("Vino tinto Paz cabernet sauvignon 750 cc")
    white = pair_features(red, _facts("Vino Blanco Paz Sauvignon Blanc 750 Ml", "b"))
    assert white["colour_conflict"] == 1.0 and white["flavour_agree"] == 0.0
    fig = _facts("Mermelada Bonne Maman higo 370 g")
    peach = pair_features(fig, _facts("Mermelada Bonne Maman Durazno 370g", "b"))
    assert peach["flavour_conflict"] == 1.0
    plural = pair_features(
        _facts("Cereal bar Muecas almendras 45 g"), _facts("Barra Muecas con almendra 45g", "b")
    )
    assert plural["flavour_agree"] == 1.0


def test_a_product_line_read_as_the_brand_still_agrees() -> None:
    a = _facts("Jabon Protex Macadamia 3x90g", brand="PROTEX MACADAMIA")
    b = _facts("Jabon en barra Protex macadamia 3 x 90 g", retailer="b", brand="PROTEX")
    features = pair_features(a, b)
    assert features["brand_equal"] == 1.0 and features["brand_conflict"] == 0.0
    # A word of the name read as the brand: no conflict while the other brand is in the title.
    c = _facts("Cafe suave mas aroma Arlistan 50g", retailer="b", brand="MAS")
    d = _facts("Infusion a base de cafe Arlistan 50g", brand="ARLISTAN")
    read = pair_features(c, d)
    assert read["brand_conflict"] == 0.0 and read["brand_in_title"] == 0.5
    other = pair_features(d, _facts("Cafe Nescafe Dolca 50g", retailer="b", brand="NESCAFE"))
    assert other["brand_conflict"] == 1.0 and other["brand_in_title"] == 0.0


# ----------------------------------------------------------------------------- facts


def test_facts_from_a_validated_product() -> None:
    from catalog import products
    from catalog.settings import Settings
    from router.logic import Router

    listing = RawListing(
        retailer="paris",
        sku="1",
        name="Smart TV Samsung 55'' Crystal UHD UN55DU7000",
        price=399990,
        ean="012345678905",
    )
    routed = Router(Settings()).route(listing)
    rules = routed.rules.model_copy(update={"brand": "SAMSUNG", "model": "Crystal UHD DU7000"})
    rules = rules.model_copy(update={"category": rules.category or "televisores"})
    product = products.from_extraction(routed, rules, source="rules", prompt_version="t")
    facts = facts_from_product(product)
    assert facts.title == "smart tv samsung 55in crystal uhd un55du7000"
    assert facts.brand == "SAMSUNG" and facts.gtin == "00012345678905"
    assert "un55du7000" in facts.codes and "du7000" in facts.codes
    assert facts.price == 399990 and facts.retailer == "paris"


def test_a_master_learns_from_its_offers() -> None:
    master = Facts(title="hp 15 notebook", attributes={"ram_gb": 8, "color": "negro"})
    offer = Facts(
        title="notebook hp 15 fd0001la core i5 8gb 512gb",
        brand="HP",
        attributes={"storage_gb": 512, "color": "negro mate"},
        gtin="00012345678905",
        codes=frozenset({"fd0001la"}),
    )
    fused = fuse(master, offer)
    assert fused.attributes == {"ram_gb": 8, "color": "negro mate", "storage_gb": 512}
    assert fused.gtin == "00012345678905" and fused.brand == "HP"
    assert fused.codes == {"fd0001la"} and fused.title == offer.title
    assert fuse(fused, master).title == offer.title  # a poorer title does not replace it


# ----------------------------------------------------------------------------- matcher


def test_shipped_model_is_consistent() -> None:
    raw = json.loads(resources.files("catalog.identity").joinpath("data", MODEL_FILE).read_text())
    matcher = load_matcher()
    assert matcher.version == raw["version"] and matcher.version.startswith("matcher-v")
    assert list(matcher.feature_names) == raw["features"]
    assert set(matcher.feature_names) <= set(FEATURE_NAMES)
    t = matcher.thresholds
    assert 0 < t.new_below <= t.judge_at <= t.attach_at < 1
    assert raw["training"]["data"], "the model file says what it was trained on"
    assert Matcher.from_dict(matcher.to_dict()) == matcher


def test_model_file_with_unknown_feature_is_refused(tmp_path: Path) -> None:
    data = load_matcher().to_dict()
    data["features"] = [*data["features"][:-1], "colour_of_the_box"]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="unknown features"):
        Matcher.load(path)
    with pytest.raises(ValueError):
        Thresholds(attach_at=0.5, new_below=0.6, judge_at=0.55)


def test_logistic_model_scores_by_its_weights() -> None:
    names = ("code_equal", "measure_conflict")
    matcher = Matcher(
        version="t",
        feature_names=names,
        thresholds=Thresholds(0.9, 0.1, 0.5),
        weights=(4.0, -8.0),
        bias=-2.0,
    )
    a, b = _facts("Sony KDL-40V5100 40in"), _facts("sony kdl40v5100 46in", retailer="b")
    vector = matcher.vector(a, b)
    assert vector == [1.0, 0.5]  # one conflicting dimension of two counted
    assert matcher.probability(vector) == pytest.approx(1 / (1 + 2.718281828459045**2))
    assert matcher.probabilities([vector, [0.0, 0.0]]) == pytest.approx(
        [matcher.probability(vector), 1 / (1 + 2.718281828459045**2)]
    )
    assert matcher.score(a, b) == 0.0  # 40 vs 46 inches: vetoed whatever the weights say


def _demo_pairs() -> list[tuple[Facts, Facts, frozenset[str] | None]]:
    """Pairs of demo-feed titles of one retailer category (many near the thresholds)."""
    lines = (Path(__file__).parents[2] / "data/sample/listings.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    facts = [_facts(r["name"], r["retailer"], r["price"], brand=r.get("brand")) for r in rows]
    by_category: dict[str, list[Facts]] = {}
    for row, f in zip(rows, facts, strict=True):
        by_category.setdefault(str(row.get("category")), []).append(f)
    pairs: list[tuple[Facts, Facts, frozenset[str] | None]] = []
    for group in by_category.values():
        for i, a in enumerate(group):
            for b in group[i + 1 : i + 6]:
                pairs.append((a, b, frozenset({b.retailer or ""}) if i % 2 else None))
    return pairs


@pytest.mark.parametrize("kind", ["gradient_boosting", "logistic"])
def test_scores_of_many_pairs_equal_one_by_one_bit_for_bit(kind: str) -> None:
    """The batched scoring the same-title attach uses must give the very numbers `score`
    gives: the attach threshold is compared with them."""
    matcher = load_matcher()
    if kind == "logistic":
        names = matcher.feature_names
        weights = tuple((-1.0) ** i * (0.37 + i / 17) for i in range(len(names)))
        matcher = Matcher("t", names, matcher.thresholds, weights=weights, bias=-0.3)
    pairs = _demo_pairs()
    scores = matcher.score_pairs(pairs)
    assert scores == [matcher.score(a, b, r) for a, b, r in pairs]
    assert sum(0.0 < s < 1.0 for s in scores) > 100  # the model decided many, not the vetoes
    assert matcher.score_pairs([]) == []
    resolver = Resolver(matcher)
    candidates = [(a, Candidate("m", b, r or frozenset())) for a, b, r in pairs[:50]]
    assert resolver.score_pairs(candidates) == [resolver.score(a, c) for a, c in candidates]


def test_compiled_trees_give_each_trees_own_leaf() -> None:
    """The vectorized walk of all trees reaches, for every row, the leaf each `Tree` reaches
    on its own: on random rows, on rows whose features sit exactly on the split thresholds
    (`<=` goes left) and with a NaN (it goes right)."""
    import numpy as np

    matcher = load_matcher()
    compiled = matcher._compiled  # type: ignore[attr-defined]
    width = len(matcher.feature_names)
    rng = np.random.default_rng(12)
    thresholds = sorted({t for tree in matcher.trees for t in tree.threshold})
    rows = [list(rng.random(width)) for _ in range(300)]
    rows += [list(rng.choice(thresholds, width)) for _ in range(300)]
    rows += [[float("nan") if j % 7 == i % 7 else 0.5 for j in range(width)] for i in range(7)]
    leaves = compiled.leaves(np.asarray(rows, dtype=float))
    assert leaves.shape == (len(matcher.trees), len(rows))
    for t, tree in enumerate(matcher.trees):
        assert [float(v) for v in leaves[t]] == [tree(row) for row in rows]
    one = compiled.leaves(np.asarray(rows[:1], dtype=float))
    assert [float(v) for v in one[:, 0]] == [tree(rows[0]) for tree in matcher.trees]
    assert matcher.exact_log_odds(rows) == [matcher.log_odds(row) for row in rows]


def test_shipped_matcher_orders_pairs() -> None:
    matcher = load_matcher()
    listing = _facts("Audifonos Sony WH-1000XM4 Noise Cancelling Negro", price=300)
    same = _facts("Sony WH1000XM4/B Wireless Noise Canceling Headphones", "b", price=310)
    other = _facts("Sony WH-1000XM3 Wireless Noise Cancelling Headphones", "b", price=250)
    assert matcher.score(listing, same) > 0.5 > matcher.score(listing, other)


def _with_ean(name: str, retailer: str, sku: str, ean: str) -> Facts:
    return facts_from_listing(
        RawListing(retailer=retailer, sku=sku, name=name, price=1000, ean=ean)
    )


def test_one_gtin_is_one_product_and_two_gtins_are_two() -> None:
    matcher = load_matcher()
    # Two skus of one store, titled differently, with one EAN: one product.
    a = _with_ean("Leche entera Colun 1 L", "lider", "1", "7791234567898")
    b = _with_ean("LECHE COLUN ENTERA CAJA 1LT", "lider", "2", "7791234567898")
    assert matcher.score(a, b, frozenset({"lider"})) == 1.0
    assert matcher.scores(a, [(b, frozenset({"lider"}))]) == [1.0]
    # One title, two EANs: two products (a GTIN names one trade item).
    c = _with_ean("Leche entera Colun 1 L", "jumbo", "3", "7790000000010")
    assert matcher.score(a, c) == 0.0
    # One side without a GTIN: the model decides.
    d = _facts("Leche entera Colun 1 L", retailer="jumbo")
    assert 0.0 < matcher.score(a, d) < 1.0


async def test_a_same_gtin_attaches_whatever_the_titles() -> None:
    resolver = load_resolver()
    catalog = InMemoryCatalog()
    a = _with_ean("Leche entera Colun 1 L", "lider", "1", "7791234567898")
    first = await resolver.resolve(catalog, "lider:1", a)
    assert first.master_id is not None
    catalog.record("lider:1", a, first.master_id)
    b = _with_ean("Producto lacteo caja", "lider", "2", "7791234567898")
    second = await resolver.resolve(catalog, "lider:2", b)
    assert second.outcome == "attached" and second.master_id == first.master_id


def test_group_thresholds_apply_by_category_group() -> None:
    data = load_matcher().to_dict()
    data["group_thresholds"] = {
        "technology": {"attach_at": 0.99, "new_below": 0.2, "judge_at": 0.95}
    }
    matcher = Matcher.from_dict(data)
    assert Matcher.from_dict(matcher.to_dict()) == matcher
    assert matcher.thresholds_for("notebooks").judge_at == 0.95
    assert matcher.thresholds_for("no-such-category") == matcher.thresholds
    assert matcher.thresholds_for(None) == matcher.thresholds
    resolver = Resolver(matcher)
    assert resolver.bounds(_facts("Notebook HP 15", category="notebooks")) == (0.99, 0.2)
    judge = matcher_judge(matcher)
    assert judge.threshold_for(_facts("Notebook HP 15", category="notebooks")) == 0.95
    assert (
        matcher_judge(matcher, 0.5).threshold_for(_facts("Notebook HP 15", category="notebooks"))
        == 0.5
    )


# ----------------------------------------------------------------------------- resolver


async def _resolve_all(resolver: Resolver, rows: list[tuple[str, str]]) -> list[str | None]:
    catalog = InMemoryCatalog()
    judge = matcher_judge(resolver.matcher)
    masters = []
    for store, name in rows:
        facts = _facts(name, retailer=store)
        decision = await resolver.resolve(catalog, f"{store}:{name}", facts, judge)
        if decision.master_id is not None:
            catalog.record(f"{store}:{name}", facts, decision.master_id)
        masters.append(decision.master_id)
    return masters


async def test_two_stores_spellings_become_one_master_and_capacities_never_merge() -> None:
    masters = await _resolve_all(
        load_resolver(),
        [
            ("falabella", "Celular Samsung Galaxy S24 256GB Negro SM-S921B"),
            ("paris", "Samsung Galaxy S24 5G 256 GB Onyx Black (SM-S921B)"),
            ("ripley", "Samsung Galaxy S24 512GB Negro SM-S921B"),
            ("lider", "SAMSUNG GALAXY S24 512 GB NEGRO"),
        ],
    )
    assert masters[0] == masters[1]
    assert masters[2] != masters[0]
    assert masters[3] not in (masters[0], None)


async def test_a_master_with_an_offer_stating_another_identity_is_refused() -> None:
    # The master holds a 256 GB offer and one that states no capacity; a 512 GB listing would
    # match the second and join a product it is known not to be.
    resolver = load_resolver()
    catalog = InMemoryCatalog()
    stated = _facts("Samsung Galaxy S24 256GB Negro SM-S921B", retailer="falabella")
    vague = _facts("Samsung Galaxy S24 Negro SM-S921B", retailer="paris")
    catalog.record("falabella:1", stated, "m1")
    catalog.record("paris:1", vague, "m1")
    listing = _facts("Samsung Galaxy S24 512GB Negro SM-S921B", retailer="ripley")
    assert resolver.score(listing, Candidate("m1", vague, frozenset({"paris"}))) > 0.5
    before = REGISTRY.get_sample_value("catalog_masters_refused_total") or 0.0
    ranked = resolver.rank(listing, list(await catalog.candidates(listing, 20)))
    assert [(c.master_id, s) for c, s in ranked] == [("m1", 0.0)]
    assert REGISTRY.get_sample_value("catalog_masters_refused_total") == before + 1
    decision = await resolver.resolve(catalog, "ripley:1", listing, matcher_judge(resolver.matcher))
    assert decision.master_id != "m1"
    # Without the conflicting offer the same master is its product.
    alone = InMemoryCatalog()
    alone.record("paris:1", vague, "m1")
    decision = await resolver.resolve(alone, "ripley:1", listing, matcher_judge(resolver.matcher))
    assert decision.master_id == "m1"


async def test_a_part_number_only_title_attaches() -> None:
    full = "HP Chromebook 11A-NA0035NR 11.6 inch MediaTek 4GB 32GB [18J38UA]"
    masters = await _resolve_all(
        load_resolver(), [("abcdin", full), ("paris", "Notebook HP 18J38UA")]
    )
    assert masters[0] == masters[1] == new_master_id(f"abcdin:{full}")


async def test_decisions_known_new_review_and_judged() -> None:
    resolver = Resolver(load_resolver().matcher, attach_at=0.999, new_below=0.05)
    catalog = InMemoryCatalog()
    first = _facts("Sony WH-1000XM4 Noise Cancelling Headphones Black")
    decision = await resolver.resolve(catalog, "a:1", first)
    assert decision.outcome == "new" and decision.master_id == new_master_id("a:1")
    catalog.record("a:1", first, decision.master_id)
    assert (await resolver.resolve(catalog, "a:1", first)).outcome == "known"
    close = _facts("Sony WH1000XM4 headphones", retailer="b")
    review = await resolver.resolve(catalog, "b:1", close)
    assert review.outcome == "review" and review.master_id is None
    assert review.candidates and review.candidates[0][0] == new_master_id("a:1")

    async def yes(facts: Facts, candidate: Candidate) -> bool:
        return True

    async def no(facts: Facts, candidate: Candidate) -> bool:
        return False

    judged = await resolver.resolve(catalog, "b:1", close, yes)
    assert (judged.outcome, judged.master_id) == ("judged", new_master_id("a:1"))
    refused = await resolver.resolve(catalog, "b:1", close, no)
    assert (refused.outcome, refused.master_id) == ("judged", new_master_id("b:1"))


async def test_a_changed_title_is_not_known() -> None:
    catalog = InMemoryCatalog()
    facts = _facts("Leche Entera Colun 1 L")
    catalog.record("a:1", facts, "m1")
    assert await catalog.known("a:1", facts.title, None) == "m1"
    assert await catalog.known("a:1", "leche entera colun 1l pack", None) is None
    assert await catalog.known("a:2", facts.title, None) is None


async def test_blocking_finds_identifiers_and_rare_tokens() -> None:
    catalog = InMemoryCatalog()
    catalog.record("a:1", _facts("Sony WH-1000XM3/B headphones"), "m1")
    catalog.record("a:2", _facts("Galletas Oreo Original 118 g"), "m2")
    by_code = await catalog.candidates(_facts("audifonos wh1000xm3", retailer="b"), 5)
    assert [c.master_id for c in by_code][:1] == ["m1"]
    by_tokens = await catalog.candidates(_facts("Oreo galletas 118g", retailer="b"), 5)
    assert by_tokens[0].master_id == "m2"
    assert by_tokens[0].retailers == {"a"}


async def test_candidates_are_the_best_masters_each_through_its_recent_offers() -> None:
    # The limit counts masters: a master with many offers does not crowd out the others that
    # share the listing's model code.
    catalog = InMemoryCatalog()
    for master in ("m1", "m2", "m3"):
        for store in "abcdef":
            catalog.record(
                f"{store}:{master}", _facts("Cisco WS-C3850-48F-L switch", store), master
            )
    found = await catalog.candidates(_facts("Cisco Ws-c3850-48f-l 48 ports", retailer="z"), 2)
    assert len({c.master_id for c in found}) == 2
    assert len(found) == 2 * OFFERS_PER_MASTER


def test_new_master_id_is_deterministic() -> None:
    assert new_master_id("a:1") == new_master_id("a:1") != new_master_id("a:2")
    assert len(new_master_id("a:1")) == 32 and int(new_master_id("a:1"), 16) >= 0


def test_resolver_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        Resolver(load_matcher(), attach_at=0.2, new_below=0.5)


def test_one_title_on_both_sides_scores_as_two_equal_titles_bit_for_bit() -> None:
    """A listing against its own title at another store (the same-title attach) takes the
    shortcuts for one token set on both sides; the features must be those of two equal but
    separate sets, to the bit."""
    from catalog.identity import features

    weights = load_matcher().token_weights
    assert weights is not None
    lines = (Path(__file__).parents[2] / "data/sample/listings.jsonl").read_text().splitlines()
    titles = {_facts(json.loads(line)["name"]).title for line in lines}
    assert len(titles) > 300
    # Titles of no token (only function words) or of one character, and no title at all.
    titles |= {"", "a", "sin", "de la", "x", "1"}
    for title in titles:
        p = features.profile(title)
        for one in (p.tokens, p.rare, p.numbers, p.trigrams):
            other = frozenset(list(one))  # equal, not the same object
            assert other is not one
            for w in (weights, features._UNIFORM):
                assert repr(features._weighted(one, one, w)) == repr(
                    features._weighted(one, other, w)
                )
                assert repr(features._soft_unmatched(one, one, w)) == repr(
                    features._soft_unmatched(one, other, w)
                )
            assert repr(features._jaccard(one, one)) == repr(features._jaccard(one, other))
        # rapidfuzz's ratios of the title against an equal string that is another object.
        copy = "".join(list(title))
        twin_text = replace(p, sorted_text="".join(list(p.sorted_text)))
        assert repr(features._ratios(title, title, p, p)) == repr(
            features._ratios(title, copy, p, twin_text)
        )
        twin = replace(p, tokens=frozenset(list(p.tokens)))
        assert twin.tokens is not p.tokens
        for w in (weights, features._UNIFORM):
            assert repr(features._loose_unmatched(p, p, w)) == repr(
                features._loose_unmatched(p, twin, w)
            )


def test_a_word_one_title_says_is_absent_and_the_other_states_is_another_product() -> None:
    salted = _facts("Mantequilla Colun Con Sal 250 g")
    unsalted = _facts("Mantequilla Colun Sin Sal 250 g", "b")
    assert identity_conflict(salted, unsalted) and load_matcher().score(salted, unsalted) == 0.0
    # Absent said in another way on the other side is no conflict.
    assert not identity_conflict(
        _facts("Coca-Cola Zero Azúcar 3 L"), _facts("Coca-Cola Sin Azúcar 3 L", "b")
    )
    assert not identity_conflict(
        _facts("Galletas Sin TACC 100 g"), _facts("Galletas Libre de TACC 100 g", "b")
    )
    # Said on one side only: another product, but for a label's claim one store leaves out.
    lactose_free = _facts("Leche Soprole Entera Sin Lactosa 1 L", category="dairy")
    assert identity_conflict(
        lactose_free, _facts("Leche Soprole Entera 1 L", "b", category="dairy")
    )
    # Outside food, drink, beauty and health a `sin` names a kind of product another store
    # names otherwise.
    fryer = _facts("Freidora sin Aceite Oster 4 Litros Negro", category="small_appliances")
    assert not identity_conflict(
        fryer, _facts("Freidora de Aire Oster 4 L Negro", "b", category="small_appliances")
    )
    zero = _facts("Cerveza Corona Cero Alcohol 355 ml", category="alcoholic_beverages")
    assert identity_conflict(
        zero, _facts("Cerveza Corona Botella 355 cc", "b", category="alcoholic_beverages")
    )
    assert not identity_conflict(
        _facts("Coca-Cola Zero 1.5 L", category="beverages"),
        _facts("Coca-Cola Cero Azucar 1.5 L", "b", category="beverages"),
    )
    # A product's name is no negation (`Pan Bimbo Cero Cero`).
    assert not identity_conflict(
        _facts("Pan blanco Bimbo cero cero en bolsa 385 g", category="bakery"),
        _facts("Pan Blanco Bimbo Cero Cero 385g", "b", category="bakery"),
    )
    assert identity_conflict(
        _facts("Cerveza Stella Artois Sin Alcohol 473 ml", category="alcoholic_beverages"),
        _facts("Cerveza Stella Artois 473 ml", "b", category="alcoholic_beverages"),
    )
    assert not identity_conflict(
        _facts("Almidon De Maiz Sin Tacc Maizena 500 g", category="groceries"),
        _facts("Almidon de maiz Maizena 500 g", "b", category="groceries"),
    )
    assert not identity_conflict(
        _facts("Queso Untable Finlandia Light Sin Sal Agregada 180 g", category="dairy"),
        _facts("Queso Untable Finlandia Light 180 g", "b", category="dairy"),
    )
