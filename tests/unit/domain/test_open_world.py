"""The open world: a coarse taxonomy over all retail, brands outside the alias table, and
listings that never go to review for what their title leaves out."""

from __future__ import annotations

import pytest

from catalog.domain import extract, load_brands, load_taxonomy
from catalog.domain.routing import choose_tier
from catalog.domain.taxonomy import OTHER, Taxonomy, TaxonomyError
from catalog.validation import gate

TAXONOMY = load_taxonomy()
LIMITS = {"min_confidence": 0.75, "min_coverage": 0.70}

TOP_LEVEL = (
    "technology",
    "home",
    "furniture",
    "tools",
    "garden",
    "sports",
    "toys",
    "baby_kids",
    "fashion",
    "beauty",
    "health",
    "supermarket",
    "automotive",
    "books_office",
    OTHER,
)


def test_the_tree_covers_retail_with_the_typed_categories_as_deep_leaves() -> None:
    for node in TOP_LEVEL:
        assert TAXONOMY.level(node) == 1, node
    for aisle in ("dairy", "beverages", "groceries", "snacks", "meat", "produce", "frozen"):
        assert TAXONOMY.top_level(aisle) == "supermarket"
    for aisle in ("bakery", "pet_supplies", "alcoholic_beverages", "clothing", "shoes"):
        assert TAXONOMY.level(aisle) == 2
    # Typed categories keep their schemas and sit under coarse nodes.
    assert TAXONOMY.level("notebooks") == 3 and TAXONOMY.top_level("notebooks") == "technology"
    assert TAXONOMY.top_level("smart_tv") == "technology"
    assert TAXONOMY.get("smart_tv").parent == "tv_audio"  # type: ignore[union-attr]
    typed = {c.id for c in TAXONOMY.typed()}
    assert len(typed) == 29 and "furniture" not in typed and "meat" not in typed
    assert all(not c.coarse for c in TAXONOMY.typed())
    assert all(not (c.required or c.required_one_of) for c in TAXONOMY if c.coarse)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Tecnología > Computación > Notebooks", "notebooks"),
        ("Lácteos", "dairy"),
        ("Arroz", "groceries"),
        ("Televisores", "smart_tv"),
        ("Muebles > Living > Sofás", "furniture"),
        ("Home > Furniture", "furniture"),
        ("Ferretería", "tools"),
        ("Hardware", "computing"),
        ("Jardín y terraza", "garden"),
        ("Deportes > Fitness", "sports"),
        ("Juguetes", "toys"),
        ("Moda > Zapatillas", "shoes"),
        ("Moda > Ropa de mujer", "clothing"),
        ("Farmacia", "health"),
        ("Carnes y pescados", "meat"),
        ("Frutas y verduras", "produce"),
        ("Congelados", "frozen"),
        ("Panadería", "bakery"),
        ("Automotriz > Neumáticos", "automotive"),
        ("Librería", "books_office"),
        ("Varios", OTHER),
    ],
)
def test_retailer_category_strings_map_to_nodes(label: str, expected: str) -> None:
    assert TAXONOMY.resolve(label, "") == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Sofá 3 cuerpos gris", "furniture"),
        ("Silla de escritorio ergonómica", "furniture"),
        ("Polera manga corta hombre", "clothing"),
        ("Zapatillas running mujer", "shoes"),
        ("Taladro percutor 600W", "tools"),
        ("Parrilla a gas 3 quemadores", "garden"),
        ("Bicicleta aro 29", "sports"),
        ("Muñeca con accesorios", "toys"),
        ("Pechuga de pollo x kg", "meat"),
        ("Manzana Fuji granel", "produce"),
        ("Helado de vainilla 1 L", "frozen"),
        ("Pan de molde integral 500 g", "bakery"),
        ("Neumático 205/55 R16", "automotive"),
        ("Cuaderno universitario 100 hojas", "books_office"),
        ("Vitamina C 1000 mg 30 comprimidos", "health"),
        ("Set de ollas 5 piezas", "housewares"),
        # English
        ("leather office chair", "furniture"),
        ("cordless drill 18v", "tools"),
        ("sony turntable pslx350h", "tv_audio"),
        ("yoga mat", "sports"),
        # A coarse noun decides only before every typed cue.
        ("Mesa para TV 55 pulgadas", "furniture"),
        ("Apple Watch Series 9 GPS 45mm", "wearables"),
        # A processor named alone is the processor; beside memory and storage, a computer.
        ("Intel Core i5-12400F", "processors"),
        ("AMD Ryzen 7 5700X3D", "processors"),
        ("Intel Core i5 8GB 256GB SSD 15.6", "notebooks"),
        ("Asus Vivobook 15 Intel Core i3", "notebooks"),
        # A line's word glued to its generation (`Watch6`) is still the line's cue.
        ("Samsung Galaxy Watch6 40mm Graphite", "wearables"),
    ],
)
def test_title_keywords_map_to_nodes(title: str, expected: str) -> None:
    assert TAXONOMY.resolve(None, title) == expected


def test_a_noun_the_title_says_is_absent_cues_no_category() -> None:
    assert TAXONOMY.resolve(None, "Sprite Sin Azúcar 1,5 Lt") is None
    assert TAXONOMY.resolve(None, "Zorbax Libre de Azúcar 2 L") is None
    assert TAXONOMY.resolve(None, "Azúcar Zorbax 1 kg") == "groceries"
    # The brand's own aisle decides instead (a soda, not sugar).
    assert extract("Sprite Sin Azúcar 1,5 Lt").category == "beverages"


def test_every_listing_gets_a_node() -> None:
    assert extract("zxq wvut").category == OTHER
    assert extract("").category == OTHER
    assert extract("Notebook HP 15 8GB 256GB").category == "notebooks"


def test_a_coarse_node_cannot_require_attributes_and_parents_cannot_cycle() -> None:
    base = {"version": "1", "categories": [{"id": "a", "parent": "b"}, {"id": "b", "parent": "a"}]}
    with pytest.raises(TaxonomyError, match="cycle"):
        Taxonomy.from_dict(base)
    coarse = {
        "version": "1",
        "attribute_types": {"weight_g": {"type": "int"}},
        "categories": [{"id": "a", "coarse": True, "required": ["weight_g"]}],
    }
    with pytest.raises(TaxonomyError, match="coarse"):
        Taxonomy.from_dict(coarse)


# ------------------------------------------------------------------ brands


@pytest.mark.parametrize(
    ("title", "brand"),
    [
        ("trendnet teg s80g ethernet switch", "TRENDNET"),
        ("TRENDnet Unmanaged 8-Port Switch", "TRENDNET"),
        ("YESTON GeForce RTX 3050 6GB", "YESTON"),
        ("Queso colonia Verónica horma x kg.", "VERONICA"),
        ("Yerba mate La cumbrecita con hierbas naturales 500 g.", "LA CUMBRECITA"),
        ("Huevos de campo Maxsun & Co extra grandes 20 un.", "MAXSUN & CO"),
        # Generic words, product nouns, sizes and colours are not brands; a title made only of
        # them names no maker: an unbranded product.
        ("Set de ollas antiadherentes 5 piezas", None),  # an unknown word may be a name
        ("Wireless mouse 2.4 GHz", "GENERICO"),
        ("Leche Entera 1 L", "GENERICO"),
        ("Negro mate 500 ml", None),
        ("Boldo x 25 g.", "BOLDO"),  # an unknown leading word may be a maker
        ("Sal Lobos de Mesa 1 kg", None),  # Title Case: a model tells "Lobos" apart
        # A first word a noun complement follows is what the product is, not who made it.
        ("Aritos de arroz Zorbax crema y cebolla 80 g.", "ZORBAX"),
        ("Almohaditas sin TACC rellenas con limón Zorbax 240 g.", "ZORBAX"),
        ("Chizitos De Maíz Zorbax 43 G", None),  # Title Case: a model tells "Zorbax" apart
        ("Formitas De Pollo 300g", "GENERICO"),  # meat: nothing else names a maker
    ],
)
def test_brand_read_from_the_title_when_the_alias_table_lacks_it(
    title: str, brand: str | None
) -> None:
    assert load_brands().find_in_title(title) is None
    assert extract(title).brand == brand


def test_a_known_brand_still_wins_over_a_leading_name() -> None:
    assert extract("Cargador Samsung 25W").brand == "SAMSUNG"
    assert extract("Funda Galaxy A54 transparente").brand == "SAMSUNG"
    assert extract("Apple iPhone 15 128GB").brand == "APPLE"


@pytest.mark.parametrize(
    ("title", "brand"),
    [
        # A product line later in the title is what the accessory fits, not who made it.
        ("speck toughskin case for iphone 4 black", "SPECK"),
        ("weber genesis e-310 gas grill with 637 sq. in. cooking surface", "WEBER"),
        ("speck seethru case for apple macbook air mba-pnk-see", "SPECK"),
        # A short alias inside a model code.
        ("mitsubishi wd-65735 65' projection tv", "MITSUBISHI"),
    ],
)
def test_a_leading_name_outranks_a_line_or_a_short_alias_found_later(
    title: str, brand: str
) -> None:
    assert load_brands().find_in_title(title) not in (None, brand)
    assert extract(title).brand == brand


@pytest.mark.parametrize(
    ("title", "label"),
    [
        ("Garbanzos x kg.", None),
        ("Palta Hass", "Frutas y verduras"),
        ("Pechuga de pollo deshuesada", None),
        ("Tomate genérico 1 kg", None),
    ],
)
def test_products_sold_without_a_brand_are_declared_unbranded(
    title: str, label: str | None
) -> None:
    result = extract(title, label)
    brands = load_brands()
    assert result.brand == brands.unbranded
    # The name is the product's, not the marker's.
    assert result.normalized_name and not result.normalized_name.startswith(brands.unbranded)


def test_the_brand_field_names_a_brand_outside_the_alias_table() -> None:
    result = extract("Sofá 3 cuerpos gris", "Muebles", brand_hint="Rosen")
    assert (result.brand, result.category) == ("ROSEN", "furniture")


# ------------------------------------------------------------------ routing and the gate


def test_a_coarse_node_with_a_brand_and_a_name_is_answered_by_the_rules_tier() -> None:
    sofa = extract("Sofá Rosen 3 cuerpos gris")
    assert sofa.category == "furniture" and sofa.brand == "ROSEN"
    assert choose_tier(0.9, sofa) == "rules"
    assert gate(sofa, TAXONOMY, **LIMITS) == []
    bananas = extract("Plátano granel x kg")
    assert choose_tier(0.1, bananas) == "rules" and gate(bananas, TAXONOMY, **LIMITS) == []
    # `other`: nothing placed the listing, so a model may; an unknown brand in a typed
    # category is also left to a model.
    assert choose_tier(0.1, extract("zxq wvut")) != "rules"
    assert choose_tier(0.1, extract("Harina Selecta sin polvos 1 kg", "Harinas")) != "rules"


def test_missing_attributes_and_unknown_brands_never_fail_the_gate() -> None:
    for title, label in (
        ("HP Chromebook 11A-NA0035NR [18J38UA]", None),  # a part number, no RAM/storage
        ("Trendnet Notebook X 15", None),  # an unknown brand in a typed category
        ("Televisor smart Hyundai", "Televisores"),
        ("Pulsera Acme azul", None),
    ):
        result = extract(title, label)
        assert result.brand, title
        assert gate(result, TAXONOMY, **LIMITS) == [], (title, result)


# ------------------------------------------------------------------ memory and storage


@pytest.mark.parametrize(
    ("title", "ram", "storage"),
    [
        ("Notebook Lenovo IdeaPad 3 Ryzen 5 8GB RAM 512GB SSD 15.6", 8, 512),
        ("Notebook HP 15 Intel Core i5 16 GB / 1 TB", 16, 1024),
        ("Notebook Asus Vivobook RAM 8 GB SSD 256 GB", 8, 256),
        ('Lenovo IdeaPad Slim 3 (i5-1335U / 8 GB RAM / 512 GB SSD / 15.6")', 8, 512),
        ("Notebook MSI Thin GF63 i5 12450H RTX 2050 4GB 8GB 512GB", 8, 512),
        ("Notebook ASUS TUF F15 Core i7 16GB RAM 1TB SSD RTX 4060 8GB", 16, 1024),
        ("Notebook HP 240 G9 Celeron N4500 4GB RAM 128GB eMMC", 4, 128),
        ("Celular Samsung Galaxy A15 128GB 4GB RAM Negro", 4, 128),
        ("Smartphone Xiaomi Redmi Note 13 8+256GB Azul", 8, 256),
        ("Samsung Galaxy S24 Ultra 12GB/512GB Titanio", 12, 512),
    ],
)
def test_ram_and_storage_as_titles_write_them(title: str, ram: int, storage: int) -> None:
    attributes = extract(title).attributes
    assert (attributes.get("ram_gb"), attributes.get("storage_gb")) == (ram, storage)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Leche Colun Entera 1 L", {"volume_ml": 1000}),
        ("Yogurt Soprole Proteína Frutilla 155 g", {"weight_g": 155}),
        ("Pack Leche Colun Semidescremada 200 ml 6 un.", {"volume_ml": 200, "pack_count": 6}),
        ("Queso Gauda Colun Laminado 1,5 kg", {"weight_g": 1500}),
        ("Leche Cultivada Loncoleche Frutilla 1.000 g", {"weight_g": 1000}),
    ],
)
def test_grocery_sizes(title: str, expected: dict[str, int]) -> None:
    attributes = extract(title).attributes
    assert {k: attributes.get(k) for k in expected} == expected


# ------------------------------------------------------------------ brands in real title shapes


@pytest.mark.parametrize(
    ("title", "brand"),
    [
        # A product word in another language opens the title; the maker follows it.
        ("Relógio Zorvex Classic Black 40mm", "ZORVEX"),
        ("Pneu Qwerbike Ardent Race 27.5 x 2.35", "QWERBIKE"),
        # A Spanish or English product noun, then a name with a model code right after it.
        ("Switch Qwernet GS108E 8 puertos", "QWERNET"),
        # The maker's own casing after product nouns: inner capitals, capitals in mixed case.
        ("Disco Duro Externo QwerCie Rugged 2 TB", "QWERCIE"),
        ("Relogio QWERTY WELLINGTON Classic Sheffield", "QWERTY WELLINGTON"),
        # Known makers after a product word, in any language.
        ("Casque Micro Jabra BIZ 2300 USB", "JABRA"),
        ("Memoire DDR3 HyperX Fury Black 8Go", "HYPERX"),
        ("Genuine Oki Magenta Laser Toner Cartridge", "OKI"),
        # Grocery and home nouns Spanish titles open with.
        ("Malta Qwerbike Sin Alcohol 330 cc", "QWERBIKE"),
        ("Sahumerio Qwerbike Sandalo", "QWERBIKE"),
        ("Cacao Qwerbike Menos Azucar 300 g", "QWERBIKE"),
    ],
)
def test_brand_after_leading_product_words(title: str, brand: str) -> None:
    assert extract(title).brand == brand


@pytest.mark.parametrize(
    "title",
    [
        "Sal Lobos de Mesa 1 kg",  # Title Case grocery: nothing says "Lobos" is a maker
        "Queso Gouda Laminado 250 g",  # a size is no model code
    ],
)
def test_a_title_case_word_after_a_product_noun_is_not_taken_for_a_maker(title: str) -> None:
    assert extract(title).brand in (None, "GENERICO")


@pytest.mark.parametrize(
    ("title", "brand"),
    [
        ("Qwer Tool Qwer Tool HXS-1.2 Professional L-Shaped Hex Set", "QWER TOOL"),
        ("D'Qwerty D'Qwerty EJ16 Phosphor Bronze 12-53", "D'QWERTY"),
        ("Canon Canon EOS 250D", "CANON"),
    ],
)
def test_a_maker_named_twice_at_the_start(title: str, brand: str) -> None:
    assert extract(title).brand == brand


@pytest.mark.parametrize(
    ("title", "brand"),
    [
        ("Removable Multi-Use Labels, 2 x 4, White by Qwerty QWE05444 - Store.com", "QWERTY"),
        ("Sparkling Juices, 8.4 oz Can, 6/Pack Juices by Ocean Spray OCS22712", "OCEAN SPRAY"),
        ("Mighty Tea Pouches by Qwerty Leaf Company MLC40028", "QWERTY LEAF COMPANY"),
        # A known maker after "by", digits in its name or not.
        ("Doodlebug Scrub Pad, 4 5/8 x 10, 20/Carton Pad by 3M MMM08004", "3M"),
        # A product line found earlier is what the product is, not its maker.
        ("Prestige Whiteboard, 24 x 18, White Surface by Qwertet QRT561T", "QWERTET"),
    ],
)
def test_a_maker_stated_with_by(title: str, brand: str) -> None:
    assert extract(title).brand == brand


def test_powered_by_names_a_component_not_the_maker() -> None:
    assert extract("Qwerbook Laptop powered by Zorvex chips").brand == "QWERBOOK"


@pytest.mark.parametrize(
    ("title", "brand"),
    [
        ("Qwerma 35mm f1.4 DG HSM Art Lens - Nikon Fit", "QWERMA"),
        ("Qwerma 50mm F1.4 Art DG HSM Sony E mount", "QWERMA"),
        # Without a mount word, a known maker later in the title still wins.
        ("Lismore 7oz Tumbler, Set of 4 - Waterford", "WATERFORD"),
    ],
)
def test_a_brand_named_as_the_mount_a_product_fits_is_not_its_maker(title: str, brand: str) -> None:
    assert extract(title).brand == brand


@pytest.mark.parametrize(
    ("title", "code"),
    [
        ("UVC-G4-PRO Qwerty Bullet Camera", "UVC"),
        ("WS-C2960X-24TS-L Qwerty switch", "WS"),
    ],
)
def test_a_hyphenated_model_code_is_not_a_name(title: str, code: str) -> None:
    assert not (extract(title).brand or "").startswith(code)
    assert extract(title.replace("Qwerty", "Ubiquiti")).brand == "UBIQUITI"


def test_capitals_in_a_mixed_case_title_stop_at_a_model_code() -> None:
    assert extract("Tape by QWERTY QWEWOMTP21 - Store.com").brand == "QWERTY"


@pytest.mark.parametrize(
    ("title", "brand"),
    [
        ("Qwerty Foodservice LLC FF2142BK Shelving, Wire", "QWERTY FOODSERVICE LLC"),
        ("ZXV Group AX-M40 Mixer, Planetary", "ZXV GROUP"),
        ("Qwerty Industries CORBTP3096 Folding Banquet Table", "QWERTY INDUSTRIES"),
        ("Qwerler's Company 012. Sketching Paper", "QWERLER'S COMPANY"),
        # Not a company word: the name stays one word.
        ("Qwerty Bedding Single Size Euro Spring Mattress", "QWERTY"),
    ],
)
def test_a_company_word_closes_a_leading_name(title: str, brand: str) -> None:
    assert extract(title).brand == brand


def test_a_common_word_after_by_is_the_maker() -> None:
    assert extract("Self-Stick Note Pads, 3 x 3, Yellow by Universal UNV35688").brand == (
        "UNIVERSAL"
    )


@pytest.mark.parametrize(
    ("title", "brand"),
    [
        ("HP15-dw1001nl Notebook 15.6", "HP"),
        ("Lenovo82H8 IdeaPad 3 15ITL6", "LENOVO"),
        ("Tinta HP664 Negro", "HP"),
    ],
)
def test_a_known_brand_glued_to_its_model_code(title: str, brand: str) -> None:
    assert extract(title).brand == brand


def test_a_code_later_in_the_title_is_a_model_not_a_glued_brand() -> None:
    # "rtx" is no brand; a weak brand glued to digits is not read either.
    assert extract("Tarjeta de video RTX3050 6GB").brand in (None, "GENERICO")


@pytest.mark.parametrize(
    ("title", "brand"),
    [
        ("22947800 Zorvex Power Supply 200 - 240VAC", "ZORVEX"),
        ("MBD2147RC Zorvex 146-GB 6G 10K 2.5 SAS HDD", "ZORVEX"),
    ],
)
def test_the_name_after_a_title_opening_part_number(title: str, brand: str) -> None:
    assert extract(title).brand == brand


def test_a_size_opening_the_title_is_no_part_number() -> None:
    assert extract("500 g Queso Gouda").brand in (None, "GENERICO")


@pytest.mark.parametrize(
    ("title", "brand", "category"),
    [
        ("Mochila Totto Kalimba 20L", "TOTTO", "fashion_accessories"),
        ("Sartén Tramontina Paris 24 cm", "TRAMONTINA", "housewares"),
        ("Aceite Motor Castrol GTX 20W50 4L", "CASTROL", "automotive"),
        # `Gato` is what the litter is for, not its maker.
        ("Arena Sanitaria Gato Fit Formula 10 kg", "FIT FORMULA", "pet_supplies"),
        ("Neumático Goodyear 185/65 R15", "GOODYEAR", "automotive"),
        ("Zapatos Hush Puppies Hombre", "HUSH PUPPIES", "shoes"),
    ],
)
def test_chilean_retail_brands_after_a_product_noun(title: str, brand: str, category: str) -> None:
    result = extract(title)
    assert (result.brand, result.category) == (brand, category)
