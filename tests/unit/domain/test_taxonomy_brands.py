import pytest

from catalog.domain import load_brands, load_taxonomy
from catalog.domain.brands import BrandAliases, BrandsError, brand_spelling, house_brand
from catalog.domain.extractor import extract_listing
from catalog.domain.taxonomy import Taxonomy, TaxonomyError
from schemas.models import RawListing


def test_taxonomy_loads_with_version_and_enough_leaf_categories() -> None:
    taxonomy = load_taxonomy()
    assert taxonomy.version
    leaves = {c.id for c in taxonomy.leaves()}
    assert len(leaves) >= 22
    for expected in (
        "smartphones",
        "notebooks",
        "tablets",
        "smart_tv",
        "monitors",
        "perfumes",
        "beverages",
        "dairy",
        "groceries",
        "snacks",
        "cleaning",
        "personal_care",
        "appliances",
        "small_appliances",
        "video_cards",
        "headphones",
        "wearables",
        "consoles",
        "cameras",
        "printers",
        "storage",
        "speakers",
    ):
        assert expected in leaves
    assert load_taxonomy() is taxonomy


def test_plan_thresholds_and_identity() -> None:
    taxonomy = load_taxonomy()
    phones = taxonomy.get("smartphones")
    assert phones is not None
    assert (phones.l1_ttl_s, phones.l2_threshold) == (86400, 0.92)
    assert phones.identity == ("storage_gb",)
    notebooks = taxonomy.get("notebooks")
    assert notebooks is not None
    assert (notebooks.l1_ttl_s, notebooks.l2_threshold) == (604800, 0.90)
    assert set(notebooks.identity) == {"ram_gb", "storage_gb", "processor"}
    tv = taxonomy.get("smart_tv")
    assert tv is not None and (tv.l1_ttl_s, tv.l2_threshold, tv.identity) == (
        604800,
        0.88,
        ("screen_in",),
    )
    perfumes = taxonomy.get("perfumes")
    assert perfumes is not None and perfumes.l1_ttl_s == 2592000
    assert set(perfumes.identity) == {"volume_ml", "concentration"}
    assert taxonomy.get("beverages").l1_ttl_s == 86400  # type: ignore[union-attr]
    assert taxonomy.get("cameras").l2_threshold == 0.85  # type: ignore[union-attr]
    assert all(c.confidence_threshold == 0.75 for c in taxonomy)
    assert taxonomy.get("nope") is None


@pytest.mark.parametrize(
    ("label", "title", "expected"),
    [
        ("Celulares", "", "smartphones"),
        ("Smartphones", "", "smartphones"),
        ("Telefonía", "", "smartphones"),
        ("TELEFONIA", "", "smartphones"),
        ("Notebooks", "", "notebooks"),
        ("Computadores portátiles", "", "notebooks"),
        ("Televisores", "", "smart_tv"),
        ("Perfumes Mujer", "", "perfumes"),
        ("Bebidas", "", "beverages"),
        ("Lácteos", "", "dairy"),
        ("Leches", "", "dairy"),
        ("smart_tv", "", "smart_tv"),
        ("Tecnología > Celulares > Smartphones", "", "smartphones"),
        ("Supermercado", "Leche Entera Soprole 1 L", "dairy"),
        ("Supermercado", "", "supermarket"),
        (None, "Notebook Lenovo IdeaPad 3", "notebooks"),
        (None, "Funda iPhone 15 Pro", "accessories"),
        (None, "MSI GeForce RTX 4060 Ventus", "video_cards"),
        ("Ofertas", "Smart TV Samsung 55", "smart_tv"),
        # "tableta": a tablet, unless a food noun says it is a bar of chocolate.
        (None, "Tableta Lenovo Tab M10 64GB", "tablets"),
        (None, "Tableta 10 pulgadas 64GB Wifi", "tablets"),
        (None, "Tableta Chocolate Con Leche Tokke 60 Gr", "snacks"),
        (None, "Texto sin categoría", None),
    ],
)
def test_resolve(label: str | None, title: str, expected: str | None) -> None:
    assert load_taxonomy().resolve(label, title) == expected


def test_rows_are_insertable() -> None:
    rows = load_taxonomy().rows()
    ids = [r["category_id"] for r in rows]
    assert len(ids) == len(set(ids))
    seen: set[str] = set()
    for row in rows:
        assert set(row) == {
            "category_id",
            "name",
            "synonyms",
            "parent_id",
            "attribute_schema",
            "confidence_threshold",
            "coverage_threshold",
            "active",
        }
        assert row["parent_id"] is None or row["parent_id"] in seen
        seen.add(row["category_id"])
        schema = row["attribute_schema"]
        assert {
            "attributes",
            "required",
            "optional",
            "identity",
            "l1_ttl_s",
            "l2_threshold",
        } <= set(schema)
    phones = next(r for r in rows if r["category_id"] == "smartphones")
    assert phones["attribute_schema"]["attributes"]["storage_gb"] == {"type": "int", "unit": "GB"}
    assert "Celulares" in phones["synonyms"]


def test_coerce_and_canonical_attributes() -> None:
    phones = load_taxonomy().get("smartphones")
    assert phones is not None
    assert phones.coerce("storage_gb", "1TB") == 1024
    assert phones.coerce("storage_gb", "256GB") == 256
    assert phones.coerce("color", "Negro") == "black"
    assert phones.coerce("color", "vantablack-ish") is None
    assert phones.coerce("network", "LTE") == "4G"
    assert phones.coerce("weight_g", "100 g") is None  # not a smartphone attribute
    assert phones.canonical_attributes({"capacity": "256GB", "cl": "negro", "size": "6.1"}) == {
        "storage_gb": 256,
        "color": "black",
        "screen_in": 6.1,
    }
    perfumes = load_taxonomy().get("perfumes")
    assert perfumes is not None
    assert perfumes.canonical_attributes({"volume_ml": "100", "type": "Eau de Parfum"}) == {
        "volume_ml": 100,
        "concentration": "EDP",
    }
    dairy = load_taxonomy().get("dairy")
    assert dairy is not None
    assert dairy.missing({}) == ["volume_ml|weight_g|pack_count"]
    assert dairy.missing({"weight_g": 155}) == []
    assert phones.coverage({"storage_gb": 128}) == 0.5


def test_taxonomy_rejects_inconsistent_data() -> None:
    base = {"version": "1", "attribute_types": {"storage_gb": {"type": "int"}}}
    with pytest.raises(TaxonomyError):
        Taxonomy.from_dict({**base, "categories": [{"id": "a", "required": ["nope"]}]})
    with pytest.raises(TaxonomyError):
        Taxonomy.from_dict({**base, "categories": [{"id": "a", "parent": "ghost"}]})
    with pytest.raises(TaxonomyError):
        Taxonomy.from_dict({"categories": []})


def test_brands_load_and_canonicalize() -> None:
    brands = load_brands()
    assert brands.version
    assert len(brands) >= 150
    assert brands.canonical("Apple") == "APPLE"
    assert brands.canonical("APPLE INC") == "APPLE"
    assert brands.canonical("apple") == "APPLE"
    assert brands.canonical("Coca Cola") == "COCA-COLA"
    assert brands.canonical("cocacola") == "COCA-COLA"
    assert brands.canonical("LG Electronics") == "LG"
    assert brands.canonical("c. herrera") == "CAROLINA HERRERA"
    assert brands.canonical("Lancôme") == "LANCOME"
    assert brands.canonical("Watts") == "WATT'S"
    assert brands.canonical("Marca Inexistente") is None
    assert brands.canonical("iphone") is None  # a product line, not a brand name


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("iPhone 15 Pro Max 256GB", "APPLE"),
        ("Samsung Galaxy S24", "SAMSUNG"),
        ("Galaxy S24 Ultra", "SAMSUNG"),
        ("Redmi Note 13", "XIAOMI"),
        ("Notebook ROG Strix G16", "ASUS"),
        ("Lenovo ThinkPad E14", "LENOVO"),
        ("Consola PlayStation 5", "SONY"),
        ("Bebida COCA-COLA Zero", "COCA-COLA"),
        ("Gigabyte GeForce RTX 4060", "GIGABYTE"),
        ("Notebook Intel Core i5", "INTEL"),
        ("Huawei Nova 11", "HUAWEI"),
        ("Papel Higiénico Elite", "ELITE"),
        ("Sin marca conocida", "GENERICO"),  # a declared unbranded product
        ("Bolsa de papel reciclado", None),
        ("Algodón", None),
    ],
)
def test_find_in_title(title: str, expected: str | None) -> None:
    assert load_brands().find_in_title(title) == expected


def test_brand_rows_unique_lowercase() -> None:
    rows = load_brands().rows()
    aliases = [alias for _, alias, _ in rows]
    assert len(aliases) == len(set(aliases))
    assert all(alias == alias.lower() for alias in aliases)
    assert ("APPLE", "apple", 1.0) in rows
    assert all(0 < confidence <= 1 for _, _, confidence in rows)


def test_brands_reject_conflicting_alias() -> None:
    data = {
        "version": "1",
        "brands": [{"name": "A", "aliases": ["x"]}, {"name": "B", "aliases": ["x"]}],
    }
    with pytest.raises(BrandsError):
        BrandAliases.from_dict(data)


@pytest.mark.parametrize(
    ("title", "retailer", "expected"),
    [
        ("Ravioles DIA 4 Quesos 500 Gr.", "dia", "DIA"),
        ("Galletitas Pepas Día Batata 500 Gr", "dia", "DIA"),
        ("Lentejas secas remojadas Carrefour 340 g.", "carrefour", "CARREFOUR"),
        ("Leche Entera Santa Isabel 1 L", "santa_isabel", "SANTA ISABEL"),
        # A place or a time, not a maker; a word that only contains the name; a short slug.
        ("Crema de Día Hidratante 50 ml", "dia", None),
        ("Pan Diario Integral 500 g", "dia", None),
        ("Ravioles DIA 4 Quesos 500 Gr.", "jumbo", None),
        ("Mouse Buy Now", "bu", None),
    ],
)
def test_house_brand(title: str, retailer: str, expected: str | None) -> None:
    assert house_brand(title, retailer) == expected


def test_a_house_brand_is_the_brand_only_where_no_known_brand_is_named() -> None:
    def brand(title: str, retailer: str) -> str | None:
        listing = RawListing(retailer=retailer, sku="1", name=title, price=1990)
        return extract_listing(listing).brand

    # Before, a product word was read as the maker, or a fruit by weight declared unbranded.
    assert brand("Capelletis DIA Carne 500 Gr.", "dia") == "DIA"
    assert brand("Duraznos en Trozos DIA 820 Gr.", "dia") == "DIA"
    assert brand("Capelletis DIA Carne 500 Gr.", "jumbo") != "DIA"
    assert brand("Crema Facial Nivea Dia 50 ml", "dia") == "NIVEA"


def test_a_brand_outside_the_table_has_one_spelling() -> None:
    assert brand_spelling("Yogurísimo") == brand_spelling("YOGURISIMO") == "YOGURISIMO"
    assert brand_spelling("  la   Serenísima ") == "LA SERENISIMA"
    assert brand_spelling("Peñaflor") == "PEÑAFLOR"  # a letter of its own, not an accent
    assert brand_spelling("   ") is None
