import pytest

from catalog.domain import units


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("iPhone 15 256GB Negro", 256),
        ("Notebook 1TB SSD", 1024),
        ("Disco 512 gb", 512),
        ("SSD 1 TB NVMe", 1024),
        ("8GB RAM 256GB", 256),
        ("Galaxy A15 4+128GB", 128),
        ("RAM 32GB DDR5 2TB", 2048),
        ("Celular sin capacidad", None),
        ("16GB RAM", None),
    ],
)
def test_storage_gb(text: str, expected: int | None) -> None:
    assert units.parse_storage_gb(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16GB RAM 512GB SSD", 16),
        ("8 GB de RAM", 8),
        ("RAM 32GB DDR5", 32),
        ("32GB DDR5 1TB", 32),
        ("Galaxy A15 4+128GB", 4),
        ("Memoria RAM 16GB", 16),
        ("256GB", None),
    ],
)
def test_ram_gb(text: str, expected: int | None) -> None:
    assert units.parse_ram_gb(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('Smart TV 55"', 55.0),
        ("Smart TV 55''", 55.0),
        ("TV 55 pulgadas", 55.0),
        ("Monitor 65 in", 65.0),
        ('iPhone 6.7"', 6.7),
        ('Notebook 15,6"', 15.6),
        ('Yoga 2 in 1 14"', 14.0),
        ("QN55Q60C", None),
    ],
)
def test_screen_in(text: str, expected: float | None) -> None:
    assert units.parse_screen_in(text) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [("QN55Q60C", 55.0), ("OLED65C3PSA", 65.0), ("KD-65X80K", 65.0), ("ABC", None)],
)
def test_tv_size_from_model_code(code: str, expected: float | None) -> None:
    assert units.tv_size_from_model_code(code) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Smart TV 4K UHD", "4K"),
        ("Monitor UHD", "4K"),
        ("TV Full HD", "FHD"),
        ("Monitor 1080p", "FHD"),
        ("TV 8K", "8K"),
        ("TV HD", "HD"),
        ("Monitor QHD 165Hz", "QHD"),
        ("Televisor", None),
    ],
)
def test_resolution(text: str, expected: str | None) -> None:
    assert units.parse_resolution(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Smart TV OLED", "OLED"),
        ("Samsung QLED 4K", "QLED"),
        ("Samsung Neo QLED", "MiniLED"),
        ("TCL Mini LED", "MiniLED"),
        ("LG NanoCell", "NanoCell"),
        ("Smart TV LED", "LED"),
        ("Televisor", None),
    ],
)
def test_panel(text: str, expected: str | None) -> None:
    assert units.parse_panel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Perfume 100 ml", 100),
        ("Coca Cola 2L", 2000),
        ("Bebida 1,5 lt", 1500),
        ("Cerveza 355cc", 355),
        ("Cerveza 500 cc", 500),
        ("Agua 1.6 L", 1600),
        ("Perfume 3.4 fl oz", 101),
        ("Arroz 1 kg", None),
    ],
)
def test_volume_ml(text: str, expected: int | None) -> None:
    assert units.parse_volume_ml(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Arroz 1 kg", 1000),
        ("Yogurt 155 g", 155),
        ("Queso 250 grs", 250),
        ("Harina 1,5 kilos", 1500),
        ("Leche 1 L", None),
        # Ounces and pounds where no metric weight is written; never fluid ounces.
        ("Nabisco Chips Ahoy Cookies 8 oz Snak Sak", 227),
        ("Fellowes Lubricant 12 Ounce", 340),
        ("Coffee Breakfast Blend 2 lb Bag", 907),
        ("Perfume 3.4 fl oz", None),
        ("Spring Water 16.9 fl. oz Bottle", None),
        ("Galletas 200 g (7 oz)", 200),
        ("Variety Pack Cookies, 1 3/4oz Packs", None),  # not 4 oz
    ],
)
def test_weight_g(text: str, expected: int | None) -> None:
    assert units.parse_weight_g(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pack 6 un. Cerveza", 6),
        ("Cerveza 6 x 350 ml", 6),
        ("Bebida 350 ml x6", 6),
        ("Yogurt 6un", 6),
        ("Huevos 12 unidades", 12),
        ("Pañales Babysec talle G ultrasoft 60 uni", 60),
        # How English office and food suppliers state counts.
        ("Removable Labels, 2 x 4, White, 100/Pack Labels by Avery", 100),
        ("S8 Staples, 1/4 Leg, 5000/Box Staples", 5000),
        ("Post-it Notes, 5 Pads/Pack, 100 Sheets/Pad", 5),
        ("Classic Variety Mix, 30 Bags per Box", 30),
        ("Sweetener Packets, 1,200 per Carton", 1200),
        ("Laminating Pouches 20-Pack", 20),
        ("Bubble Mailers Case of 25", 25),
        # Dimensions are no count.
        ("Card Stock, 65 lb, 8.5 x 11 Inches", None),
        ("Steno Book, Gregg, 6 x 9, White", None),
        ("Té Frutilla Green Hills 20 Ud.", 20),
        ("Papel higiénico 24 rollos", 24),
        ("Leche 1 L", None),
        ("Monitor 1920x1080", None),
    ],
)
def test_pack_count(text: str, expected: int | None) -> None:
    assert units.parse_pack_count(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Negro", "black"),
        ("black", "black"),
        ("Blanca", "white"),
        ("Azul", "blue"),
        ("rojo", "red"),
        ("Verde", "green"),
        ("Gris", "gray"),
        ("grey", "gray"),
        ("Grafito", "gray"),
        ("Space Gray", "gray"),
        ("Plateado", "silver"),
        ("Plata", "silver"),
        ("Dorado", "gold"),
        ("Rosado", "pink"),
        ("Rosa", "pink"),
        ("Morado", "purple"),
        ("Púrpura", "purple"),
        ("Titanio Natural", "titanium"),
        ("Titanio Negro", "black"),
        ("Titanium Gray", "gray"),
        ("Toner Cartridge High-Yield Cyan", "blue"),
        ("File Folders Manila 100/Box", "beige"),
        ("Writing Pads, Canary, 50 Sheet", "yellow"),
        ("Cinta adhesiva transparente", "transparent"),
        ("Index Tabs Clear", "transparent"),
        ("Felt Sheets, Assorted Colors", "multicolor"),
        ("Red Bull", None),
        ("Celular 5G", None),
    ],
)
def test_color(text: str, expected: str | None) -> None:
    assert units.parse_color(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Chanel EDP", "EDP"),
        ("Eau de Parfum", "EDP"),
        ("EDT 100 ml", "EDT"),
        ("Eau de Toilette", "EDT"),
        ("Sauvage Parfum", "Parfum"),
        ("Extrait de Parfum", "Parfum"),
        ("Eau de Cologne", "Cologne"),
        ("EDC", "Cologne"),
        ("Perfume Mujer", None),
    ],
)
def test_concentration(text: str, expected: str | None) -> None:
    assert units.parse_concentration(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Perfume Mujer", "women"),
        ("for Women", "women"),
        ("Femenino", "women"),
        ("Dama", "women"),
        ("Hombre", "men"),
        ("Men", "men"),
        ("Masculino", "men"),
        ("Varón", "men"),
        ("Unisex", "unisex"),
        ("Carolina Herrera Good Girl", None),
    ],
)
def test_gender(text: str, expected: str | None) -> None:
    assert units.parse_gender(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Intel Core i7-13700H", "Intel Core i7-13700H"),
        ("Core i9 13980HX", "Intel Core i9-13980HX"),
        ("i5-12450H", "Intel Core i5-12450H"),
        ("Intel Core i5", "Intel Core i5"),
        ("Intel Core i5-1135G7 8GB", "Intel Core i5-1135G7"),
        ("Core i3-1005G1", "Intel Core i3-1005G1"),
        ("Intel Core i3-N305 / 8 GB RAM", "Intel Core i3-N305"),
        ("Galaxy Book4 Core 5 120U 8GB", "Intel Core 5 120U"),
        ("Core 5 puertas", None),
        ("Intel Core Ultra 7 155H", "Intel Core Ultra 7 155H"),
        ("AMD Ryzen 7 7735HS", "AMD Ryzen 7 7735HS"),
        ("Ryzen 5 7520U", "AMD Ryzen 5 7520U"),
        ("Apple M3", "Apple M3"),
        ("MacBook Pro M3 Max", "Apple M3 Max"),
        ("Chip M2 Pro", "Apple M2 Pro"),
        ("Snapdragon 8 Gen 3", "Snapdragon 8 Gen 3"),
        ("MediaTek Helio G99", "MediaTek Helio G99"),
        ("Dimensity 7050", "MediaTek Dimensity 7050"),
        ("SSD M.2 NVMe", None),
        ("SSD M2 NVMe", None),
    ],
)
def test_processor(text: str, expected: str | None) -> None:
    assert units.parse_processor(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GeForce RTX 4060", "RTX 4060"),
        ("RTX 4070 Ti", "RTX 4070 Ti"),
        ("RTX 4070 Ti Super", "RTX 4070 Ti Super"),
        ("rtx3050", "RTX 3050"),
        ("GTX 1650", "GTX 1650"),
        ("Radeon RX 7600", "RX 7600"),
        ("RX 7900 XTX", "RX 7900 XTX"),
        ("Intel Arc A770", "Arc A770"),
        ("ASUS DUAL-RTX4070S-O12G", "RTX 4070 Super"),
        ("Notebook Intel Core i5", None),
    ],
)
def test_gpu_model(text: str, expected: str | None) -> None:
    assert units.parse_gpu_model(text) == expected


@pytest.mark.parametrize(
    ("text", "loose", "expected"),
    [
        ("RTX 4060 8GB GDDR6", False, 8),
        ("RX 7600 8 GB VRAM", False, 8),
        ("RTX 3050 VENTUS 2X 6G OC", True, 6),
        ("ASUS DUAL-RTX3050-O8G", True, 8),
        ("RTX 3050 VENTUS 2X 6G OC", False, None),
        ("Notebook 16GB RAM", True, None),
    ],
)
def test_vram_gb(text: str, loose: bool, expected: int | None) -> None:
    assert units.parse_vram_gb(text, loose=loose) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Galaxy A54 5G", "5G"), ("Moto G 4G LTE", "4G"), ("Celular LTE", "4G"), ("Celular", None)],
)
def test_network(text: str, expected: str | None) -> None:
    assert units.parse_network(text) == expected


def test_misc_parsers() -> None:
    assert units.parse_refresh_hz("Monitor 144Hz") == 144
    assert units.parse_refresh_hz("Monitor") is None
    assert units.parse_capacity_l("Refrigerador 310 L") == 310.0
    assert units.parse_capacity_kg("Lavadora 8,5 kg") == 8.5
    assert units.parse_power_w("Licuadora 1.200 W") == 1200
    assert units.parse_battery_mah("5000mAh") == 5000
    assert units.parse_megapixels("24.2MP") == 24.2
    assert units.parse_case_mm("Watch 45mm") == 45
    assert units.parse_abv("Pisco 35°") == 35.0
    assert units.parse_abv("Cerveza 4,5% vol") == 4.5
    assert units.parse_fat_level("Leche Semidescremada") == "semi_skimmed"
    assert units.parse_fat_level("Leche Descremada") == "skimmed"
    assert units.parse_fat_level("Leche Entera") == "whole"
    assert units.parse_lactose_free("Leche Sin Lactosa") is True
    assert units.parse_lactose_free("Leche Entera") is None
    assert units.parse_sugar_free("Coca Cola Zero") is True


def test_fold_keeps_length_and_strips_accents() -> None:
    for text in ("Lácteos Ñuñoa", "Perfume N°5", "Crème brûlée", "İstanbul", "ﬁne"):
        assert len(units.fold(text)) == len(text)
    assert units.fold("Lácteos ÑUÑOA") == "lacteos nunoa"


def test_alias_key_and_phrase_index() -> None:
    assert units.alias_key("Coca-Cola") == units.alias_key("coca cola") == "coca cola"
    index = units.PhraseIndex([("coca cola", 1), ("coca cola zero", 2), ("zero", 3)])
    found = index.scan(units.word_tokens(units.fold("Bebida Coca-Cola Zero 2L")))
    assert [payload for *_, payload in found] == [2]
    assert index.scan(units.word_tokens("cocacolazero")) == []


@pytest.mark.parametrize(
    ("title", "storage", "ram"),
    [
        pytest.param("Galaxy A55 5G 256GB RAM 8GB Azul", 256, 8, id="storage RAM memory"),
        pytest.param("Galaxy A55 5G 256 GB RAM 8 GB Azul", 256, 8, id="spaced"),
        pytest.param("Galaxy A55 8GB RAM 256GB", 256, 8, id="memory RAM storage"),
        pytest.param("Notebook 512GB SSD RAM 16GB", 512, 16, id="RAM before its size"),
    ],
)
def test_ram_between_two_sizes_labels_the_smaller(title: str, storage: int, ram: int) -> None:
    assert units.parse_storage_gb(title) == storage
    assert units.parse_ram_gb(title) == ram


def test_multipack_sizes_read_after_the_x() -> None:
    assert units.parse_volume_ml("cerveza 6x355ml") == 355
    assert units.parse_pack_count("cerveza 6x355ml") == 6
    assert units.parse_weight_g("chocolate 5x29grs") == 29
    assert units.parse_storage_gb("rtx4060") is None


def test_a_box_of_one_litre_is_not_a_pack() -> None:
    assert units.parse_pack_count("leche entera caja 1 l") is None
    assert units.parse_pack_count("caja 12 un") == 12


def test_a_net_content_glued_to_its_x_is_read() -> None:
    # How some stores write every size: "Fideos ... X500g", "Arroz ... X1kg".
    assert units.parse_weight_g("Fideos Lucchetti Tirabuz N34 Huev X500g") == 500
    assert units.parse_weight_g("Arroz Doble Carolina Molinos Ala X1kg") == 1000
    assert units.parse_volume_ml("Aceite De Oliva Cocinero Puro X500cc") == 500
    assert units.parse_volume_ml("Gaseosa Pomelo Botella 500mlx1") == 500
    assert units.parse_weight_g("Jabón Tocador 125gx3") == 125
    # A TV model ending in L is no litre; a code's digits after a letter are no size.
    assert units.parse_volume_ml("Smart TV Sony Bravia KD X77L") is None
    assert units.parse_weight_g("Monitor QN55G") is None
    folded = units.fold("Fideos Tirabuzón X500g")
    assert any(folded[s:e] == "x500g" for s, e in units.unit_spans(folded))


def test_sachets_and_capsules_are_counted() -> None:
    assert units.parse_pack_count("Café La Virginia En Saquitos 20saq") == 20
    assert units.parse_pack_count("Cafe Instantaneo Clasico 36 Sobres") == 36
    assert units.parse_pack_count("Café En Capsulas Brasil 10caps 52g") == 10


def test_a_size_after_x_is_not_a_count() -> None:
    # "X 350 Grs" is how a store writes the net weight, not 350 units.
    assert units.parse_pack_count("Maní Tostado Sin Sal X 350 Grs") is None
    assert units.parse_pack_count("Chocolate Con Leche X 80 Gr.") is None
    assert units.parse_pack_count("Yogur X 4 Un 120 g") == 4
    assert units.parse_pack_count("Jabón x3 125 g") == 3
    assert units.parse_pack_count("Huevos x 12") == 12


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("victus 15 r5-7535hs ram 8 gb", "AMD Ryzen 5 7535HS"),
        ("notebook r7 7840hs", "AMD Ryzen 7 7840HS"),
        ("parlante r5 bluetooth", None),
    ],
)
def test_short_amd_processor_names(text: str, expected: str | None) -> None:
    assert units.parse_processor(text) == expected
