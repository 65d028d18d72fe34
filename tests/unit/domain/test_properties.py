from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.domain import (
    extract,
    input_fingerprint,
    load_taxonomy,
    normalize_title,
    product_fingerprint,
    units,
)
from catalog.domain.routing import complexity_score

PARSERS: list[Callable[[str], object]] = [
    units.parse_storage_gb,
    units.parse_ram_gb,
    units.parse_vram_gb,
    units.parse_screen_in,
    units.tv_size_from_model_code,
    units.parse_resolution,
    units.parse_panel,
    units.parse_refresh_hz,
    units.parse_volume_ml,
    units.parse_weight_g,
    units.parse_pack_count,
    units.parse_capacity_l,
    units.parse_capacity_kg,
    units.parse_power_w,
    units.parse_battery_mah,
    units.parse_megapixels,
    units.parse_case_mm,
    units.parse_color,
    units.parse_concentration,
    units.parse_gender,
    units.parse_processor,
    units.parse_gpu_model,
    units.parse_network,
    units.parse_fat_level,
    units.parse_lactose_free,
    units.parse_sugar_free,
    units.parse_abv,
    units.fold,
    units.alias_key,
    normalize_title,
    load_taxonomy().resolve,
]

# Titles assembled from realistic fragments reach deeper parser branches than random text.
FRAGMENTS = st.sampled_from(
    [
        "iPhone",
        "15",
        "Pro",
        "256GB",
        "1TB",
        "8GB RAM",
        '55"',
        "pulgadas",
        "1,5",
        "lt",
        "L",
        "cc",
        "x6",
        "Pack",
        "un.",
        "N°5",
        "EDP",
        "Negro",
        "Titanio",
        "RTX",
        "4070",
        "Ti",
        "Core",
        "i7",
        "Ryzen",
        "M2",
        "5G",
        "4K",
        "QLED",
        "+",
        "-",
        ".",
        ",",
        "kg",
        "g",
        "ml",
        "Hz",
        "Leche",
        "°",
        "Nº",
        "'",
        "''",
        "GDDR6",
        "O8G",
        "\u00ad",
        "Ñ",
        "ﬁ",
        "İ",
    ]
)
TITLES = st.one_of(st.text(max_size=200), st.lists(FRAGMENTS, max_size=14).map(" ".join))


@settings(max_examples=300, deadline=None)
@given(TITLES)
def test_parsers_never_raise(text: str) -> None:
    for parser in PARSERS:
        parser(text)


@settings(max_examples=300, deadline=None)
@given(TITLES, st.one_of(st.none(), st.text(max_size=40)), st.one_of(st.none(), TITLES))
def test_extract_never_raises(title: str, category: str | None, brand: str | None) -> None:
    result = extract(title, category, brand)
    assert 0.0 <= result.confidence <= 1.0
    if result.category is not None:
        assert result.category in load_taxonomy()
        cat = load_taxonomy().get(result.category)
        assert cat is not None
        assert set(result.attributes) <= set(cat.attributes)
    score = complexity_score(title, result.category, 1000, result)
    assert 0.0 <= score <= 1.0
    assert len(input_fingerprint(title, result.category, "ns")) == 32
    product_fingerprint(
        result.brand or "", result.model or "", result.category or "", result.attributes
    )


@given(
    st.integers(min_value=1, max_value=4096), st.sampled_from(["{}GB", "{} GB", "{} gb", "{}Gb"])
)
def test_storage_round_trip(value: int, spelling: str) -> None:
    assert units.parse_storage_gb(spelling.format(value)) == value


@given(st.integers(min_value=1, max_value=64), st.sampled_from(["{}TB", "{} TB", "{} tb"]))
def test_terabytes_round_trip(value: int, spelling: str) -> None:
    assert units.parse_storage_gb(spelling.format(value)) == value * 1024


@given(
    st.integers(min_value=10, max_value=1200),
    st.sampled_from(['{}"', "{}''", "{} pulgadas", "{} in", "{} Pulgadas", "{}”"]),
    st.sampled_from([".", ","]),
)
def test_screen_round_trip(tenths: int, spelling: str, decimal: str) -> None:
    value = tenths / 10
    text = f"{value:g}".replace(".", decimal)
    assert units.parse_screen_in(spelling.format(text)) == round(value, 1)


@given(
    st.integers(min_value=1, max_value=5000),
    st.sampled_from(["{} ml", "{}ml", "{} ML", "{}cc", "{} cc", "{} c.c."]),
)
def test_volume_ml_round_trip(value: int, spelling: str) -> None:
    assert units.parse_volume_ml(spelling.format(value)) == value


@given(
    st.integers(min_value=1, max_value=400).map(lambda n: n * 50),
    st.sampled_from(["{} L", "{}L", "{} lt", "{} lts", "{} litros", "{} Litro"]),
    st.sampled_from([".", ","]),
)
def test_volume_liters_round_trip(ml: int, spelling: str, decimal: str) -> None:
    liters = f"{ml / 1000:g}".replace(".", decimal)
    assert units.parse_volume_ml(spelling.format(liters)) == ml


@given(
    st.integers(min_value=1, max_value=5000),
    st.sampled_from(["{} g", "{}g", "{} gr", "{} grs", "{} gramos", "{}GR"]),
)
def test_weight_round_trip(value: int, spelling: str) -> None:
    assert units.parse_weight_g(spelling.format(value)) == value


@given(
    st.integers(min_value=1, max_value=200).map(lambda n: n * 50),
    st.sampled_from(["{} kg", "{}kg", "{} kilos", "{} Kg", "{} kgs"]),
)
def test_kilograms_round_trip(grams: int, spelling: str) -> None:
    kilos = f"{grams / 1000:g}".replace(".", ",")
    assert units.parse_weight_g(spelling.format(kilos)) == grams


@given(
    st.integers(min_value=2, max_value=48),
    st.sampled_from(["pack {} un.", "{} x 350 ml", "350 ml x{}", "{}un", "{} unidades", "Pack {}"]),
)
def test_pack_round_trip(value: int, spelling: str) -> None:
    assert units.parse_pack_count(spelling.format(value)) == value


@given(st.sampled_from(sorted(units.COLORS)))
def test_canonical_colors_are_fixed_points(color: str) -> None:
    assert units.parse_color(color) == color
    assert units.parse_color(color.upper()) == color
