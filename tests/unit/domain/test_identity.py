import pytest

from catalog.domain import extract, input_fingerprint, normalize_title, product_fingerprint


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("iPhone 15 256 GB Negro", "iphone 15 256gb negro"),
        ('Smart TV 55" 4K', "smart tv 55in 4k"),
        ("Smart TV 55 pulgadas 4K", "smart tv 55in 4k"),
        ("Coca Cola 2 lt", "coca cola 2l"),
        ("Bebida 1,5 Litros", "bebida 1.5l"),
        ("Cerveza 350 cc", "cerveza 350ml"),
        ("Lácteos ¡OFERTA! Leche", "lacteos leche"),
        ("  iPhone   15 — Liberado ", "iphone 15"),
    ],
)
def test_normalize_title(title: str, expected: str) -> None:
    assert normalize_title(title) == expected


def test_input_fingerprint_is_retailer_independent_and_namespaced() -> None:
    a = input_fingerprint("iPhone 15 256 GB Negro", "smartphones", "norm-ia-v2.0")
    b = input_fingerprint("IPHONE 15 256GB NEGRO - Liberado", "smartphones", "norm-ia-v2.0")
    assert a == b
    assert len(a) == 32 and int(a, 16) >= 0
    assert a != input_fingerprint("iPhone 15 256 GB Negro", "smartphones", "norm-ia-v2.1")
    assert a != input_fingerprint("iPhone 15 256 GB Negro", None, "norm-ia-v2.0")
    assert a != input_fingerprint("iPhone 15 512 GB Negro", "smartphones", "norm-ia-v2.0")


def _fp_of(title: str, category: str | None = None) -> str:
    result = extract(title, category)
    assert result.brand and result.model and result.category
    return product_fingerprint(result.brand, result.model, result.category, result.attributes)


@pytest.mark.parametrize(
    "spellings",
    [
        (
            "iPhone 15 Pro Max 256GB Negro Liberado",
            "Apple iPhone 15 Pro Max 256 GB Titanio Negro",
            "Celular APPLE IPHONE 15 PRO MAX 256GB BLANCO",
        ),
        (
            "Samsung Galaxy S24 Ultra 512GB 5G Titanium Gray",
            "Smartphone Galaxy S24 Ultra 512 GB Negro",
            "SAMSUNG GALAXY S24 ULTRA 12GB RAM 512GB TITANIO VIOLETA",
        ),
        (
            'Smart TV Samsung 55" QLED 4K QN55Q60C',
            "Televisor Samsung QLED 55 pulgadas QN55Q60C",
            "SAMSUNG QN55Q60C 55'' 4K UHD Smart TV",
        ),
        (
            "Perfume Chanel N°5 EDP 100 ml Mujer",
            "Chanel Nº5 Eau de Parfum 100ml",
            "CHANEL No 5 Eau De Parfum Vaporizador 100 ML",
        ),
        (
            "Coca Cola Original 2L",
            "Bebida Coca-Cola Original 2 lt",
            "COCA COLA ORIGINAL 2000 CC",
        ),
        (
            "Notebook ASUS ROG Strix G16 Intel Core i9-13980HX RTX 4070 32GB DDR5 1TB NVMe",
            "ASUS ROG Strix G16 i9-13980HX 32GB RAM 1TB SSD RTX4070",
            "Notebook Gamer Asus ROG-Strix G16 Core i9 13980HX 32 GB 1 TB",
        ),
    ],
)
def test_same_product_across_retailers(spellings: tuple[str, str, str]) -> None:
    fingerprints = {_fp_of(title) for title in spellings}
    assert len(fingerprints) == 1, [extract(t) for t in spellings]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("iPhone 15 Pro Max 256GB Negro", "iPhone 15 Pro Max 512GB Negro"),
        ('Smart TV Samsung 55" QLED 4K', 'Smart TV Samsung 65" QLED 4K'),
        ("Perfume Chanel N°5 EDP 100 ml", "Perfume Chanel N°5 EDP 50 ml"),
        ("Perfume Chanel N°5 EDP 100 ml", "Perfume Chanel N°5 EDT 100 ml"),
        ("iPhone 15 Pro 256GB Negro", "iPhone 15 Pro Max 256GB Negro"),
        ("Coca Cola Original 2L", "Coca Cola Zero 2L"),
        ("Pack 6 Cerveza Cristal Lata 350cc", "Cerveza Cristal Lata 350cc"),
        (
            "Notebook Lenovo IdeaPad Slim 3 Ryzen 5 7520U 8GB 512GB SSD",
            "Notebook Lenovo IdeaPad Slim 3 Ryzen 5 7520U 16GB 512GB SSD",
        ),
    ],
)
def test_different_products_differ(a: str, b: str) -> None:
    assert _fp_of(a) != _fp_of(b)


def test_product_fingerprint_normalizes_its_inputs() -> None:
    a = product_fingerprint("Samsung", "Galaxy S24 Ultra", "smartphones", {"storage_gb": 256})
    b = product_fingerprint(
        "SAMSUNG ELECTRONICS",
        "galaxy s24-ultra",
        "Celulares",
        {"capacity": "256GB", "color": "negro"},
    )
    c = product_fingerprint(
        "samsung",
        "Samsung Galaxy S24 Ultra",
        "smartphones",
        {"storage_gb": "256 GB", "color": "white"},
    )
    assert a == b == c
    assert len(a) == 32
    assert a != product_fingerprint(
        "Samsung", "Galaxy S24 Ultra", "smartphones", {"storage_gb": 512}
    )
    # pack_count defaults to 1, so an explicit single unit is the same product.
    assert product_fingerprint("Coca-Cola", "Original", "beverages", {"volume_ml": 2000}) == (
        product_fingerprint(
            "coca cola", "Original", "beverages", {"volume_ml": "2L", "pack_count": 1}
        )
    )
