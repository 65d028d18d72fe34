#!/usr/bin/env python3
"""Generate the demo listing feed and the labeled dev set.

Writes (overwriting):

* ``data/sample/listings.jsonl``: one ``RawListing`` JSON object per line (the demo feed).
* ``tests/data/devset.jsonl``: ``{"listing": RawListing, "gold": {...}}`` per line.

The catalog below holds real brands and models with realistic 2025-2026 Chilean prices. Every
retailer writes its own title for the same product (word order, units, casing, accents, color
language, marketing words), uses its own category labels and prices it a little differently.
Gold attributes only list what the listing itself states (title or the retailer's spec table).

Standard library only and fully deterministic (fixed seeds, no set iteration).

    python scripts/generate_datasets.py          # write both files
    python scripts/generate_datasets.py --stats  # also print counts per category / retailer
"""

from __future__ import annotations

import argparse
import json
import random
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 20251117
ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PATH = ROOT / "data" / "sample" / "listings.jsonl"
DEVSET_PATH = ROOT / "tests" / "data" / "devset.jsonl"


# =============================================================================================
# Catalog
# =============================================================================================
#
# A family is one product line; each variant of it is one master product (its own gold group).
# `sets` says which file the family appears in: "S" sample feed, "D" dev set, "SD" both.
# Keyword specs passed to F() are shared by all variants; V() holds the per-variant specs.


class V:
    """One variant: base price in CLP, canonical specs, and optional display details.

    code: part number / model code stores show; colors: (Spanish, English) marketing color names;
    fmt: packaging word supermarkets add ("Lata", "Botella").
    """

    def __init__(self, price: int, code=None, colors=None, fmt=None, **specs):
        self.price, self.code, self.colors, self.fmt, self.specs = price, code, colors, fmt, specs


class F:
    """One product family: sets, canonical brand, gold model, kind (see KINDS), variants.

    names: how stores write the model (defaults to [model]); code: part-number template where
    "{s}" is the screen size; feature: appliance words ("No Frost"); other keywords are specs
    shared by every variant.
    """

    def __init__(
        self, sets, brand, model, kind, variants, names=None, code=None, feature=None, **shared
    ):
        self.sets, self.brand, self.model, self.kind, self.variants = (
            sets,
            brand,
            model,
            kind,
            variants,
        )
        self.names, self.code, self.feature, self.shared = names, code, feature, shared


# fmt: off
SMARTPHONES = [
    F("SD", "APPLE", "iPhone 15", "phone", network="5G", variants=[
        V(699990, storage_gb=128, color="black"), V(799990, storage_gb=256, color="black")]),
    F("S", "APPLE", "iPhone 15 Pro Max", "phone", network="5G", variants=[
        V(1199990, storage_gb=256, color="titanium", colors=("Titanio Natural",
          "Natural Titanium"))]),
    F("D", "APPLE", "iPhone 16", "phone", network="5G", variants=[
        V(849990, storage_gb=128, color="blue", colors=("Azul Ultramar", "Ultramarine")),
        V(949990, storage_gb=256, color="blue", colors=("Azul Ultramar", "Ultramarine"))]),
    F("D", "APPLE", "iPhone 16 Pro", "phone", network="5G", variants=[
        V(1299990, storage_gb=256, color="titanium", colors=("Titanio Desierto",
          "Desert Titanium"))]),
    F("S", "APPLE", "iPhone 13", "phone", network="5G", variants=[
        V(499990, storage_gb=128, color="black", colors=("Medianoche", "Midnight"))]),
    F("SD", "SAMSUNG", "Galaxy S24 Ultra", "phone", network="5G", ram_gb=12, variants=[
        V(999990, storage_gb=256, color="gray", colors=("Titanio Gris", "Titanium Gray"))]),
    F("D", "SAMSUNG", "Galaxy S25", "phone", network="5G", ram_gb=12, variants=[
        V(829990, storage_gb=128, color="blue", colors=("Azul Marino", "Navy")),
        V(899990, storage_gb=256, color="blue", colors=("Azul Marino", "Navy"))]),
    F("S", "SAMSUNG", "Galaxy S25 Ultra", "phone", network="5G", ram_gb=12, variants=[
        V(1399990, storage_gb=512, color="black", colors=("Titanio Negro", "Titanium Black"))]),
    F("SD", "SAMSUNG", "Galaxy A55", "phone", network="5G", ram_gb=8, variants=[
        V(329990, storage_gb=128, color="blue", colors=("Azul Marino", "Awesome Navy")),
        V(379990, storage_gb=256, color="blue", colors=("Azul Marino", "Awesome Navy"))]),
    F("D", "SAMSUNG", "Galaxy A15", "phone", network="4G", ram_gb=4, variants=[
        V(139990, storage_gb=128, color="black")]),
    F("S", "SAMSUNG", "Galaxy A35", "phone", network="5G", ram_gb=8, variants=[
        V(299990, storage_gb=256, color="black", colors=("Negro", "Awesome Navy Black"))]),
    F("D", "SAMSUNG", "Galaxy A25", "phone", network="5G", ram_gb=6, variants=[
        V(209990, storage_gb=128, color="black")]),
    F("S", "SAMSUNG", "Galaxy A06", "phone", network="4G", ram_gb=4, variants=[
        V(99990, storage_gb=64, color="black"), V(119990, storage_gb=128, color="black")]),
    F("SD", "XIAOMI", "Redmi Note 13", "phone", network="4G", ram_gb=8, variants=[
        V(159990, storage_gb=128, color="black", colors=("Negro Medianoche", "Midnight Black")),
        V(189990, storage_gb=256, color="black", colors=("Negro Medianoche", "Midnight Black"))]),
    F("D", "XIAOMI", "Redmi Note 14 Pro", "phone", network="5G", ram_gb=8, variants=[
        V(349990, storage_gb=256, color="purple", colors=("Morado Lavanda", "Lavender Purple"))]),
    F("S", "XIAOMI", "Redmi 13C", "phone", network="4G", ram_gb=4, variants=[
        V(99990, storage_gb=128, color="green", colors=("Verde Trébol", "Clover Green"))]),
    F("D", "XIAOMI", "Poco X6 Pro", "phone", network="5G", ram_gb=8, names=["Poco X6 Pro",
      "POCO X6 Pro"], variants=[
        V(299990, storage_gb=256, color="black")]),
    F("SD", "MOTOROLA", "Moto G54", "phone", network="5G", ram_gb=8, variants=[
        V(179990, storage_gb=256, color="blue", colors=("Azul", "Indigo Blue"))]),
    F("D", "MOTOROLA", "Moto G84", "phone", network="5G", ram_gb=12, variants=[
        V(249990, storage_gb=256, color="blue", colors=("Azul Marino", "Marshmallow Blue"))]),
    F("S", "MOTOROLA", "Edge 50 Fusion", "phone", network="5G", ram_gb=8, variants=[
        V(349990, storage_gb=256, color="pink", colors=("Rosado", "Hot Pink"))]),
    F("D", "MOTOROLA", "Moto E14", "phone", network="4G", ram_gb=2, variants=[
        V(79990, storage_gb=64, color="gray", colors=("Gris Grafito", "Graphite Gray"))]),
    F("D", "HONOR", "Magic6 Lite", "phone", network="5G", ram_gb=8, variants=[
        V(299990, storage_gb=256, color="black", colors=("Negro Medianoche", "Midnight Black"))]),
    F("S", "HONOR", "X6b", "phone", network="4G", ram_gb=4, variants=[
        V(119990, storage_gb=128, color="green", colors=("Verde Bosque", "Forest Green"))]),
    F("D", "OPPO", "A60", "phone", network="4G", ram_gb=8, variants=[
        V(179990, storage_gb=256, color="purple", colors=("Morado", "Ripple Purple"))]),
]

NOTEBOOKS = [
    F("SD", "APPLE", "MacBook Air", "macbook", variants=[
        V(749990, processor="Apple M2", ram_gb=8, storage_gb=256, screen_in=13.6, color="black",
          colors=("Medianoche", "Midnight")),
        V(1049990, processor="Apple M3", ram_gb=16, storage_gb=256, screen_in=13.6, color="silver",
          colors=("Plata", "Silver"))]),
    F("D", "APPLE", "MacBook Air", "macbook", variants=[
        V(1399990, processor="Apple M3", ram_gb=16, storage_gb=512, screen_in=15.3, color="gray",
          colors=("Gris Espacial", "Space Gray"))]),
    F("D", "APPLE", "MacBook Pro 14", "macbook", variants=[
        V(1799990, processor="Apple M4", ram_gb=16, storage_gb=512, screen_in=14.2, color="black",
          colors=("Negro Espacial", "Space Black"))]),
    F("SD", "LENOVO", "IdeaPad Slim 3", "notebook", screen_in=15.6, resolution="FHD", variants=[
        V(449990, code="15IAH8", processor="Intel Core i5-12450H", ram_gb=8, storage_gb=512),
        V(379990, code="15AMN8", processor="AMD Ryzen 5 7520U", ram_gb=8, storage_gb=512)]),
    F("S", "LENOVO", "LOQ", "gaming_notebook", names=["LOQ", "LOQ 15IRH8"], screen_in=15.6,
      refresh_hz=144,
      resolution="FHD", variants=[
          V(849990, code="83DV00C4CL", processor="Intel Core i5-13420H", ram_gb=16, storage_gb=512,
            gpu_model="RTX 4050")]),
    F("D", "LENOVO", "IdeaPad Gaming 3", "gaming_notebook", screen_in=15.6, refresh_hz=120,
      resolution="FHD",
      variants=[V(599990, code="15ACH6", processor="AMD Ryzen 5 5600H", ram_gb=8, storage_gb=512,
                  gpu_model="RTX 3050")]),
    F("SD", "HP", "Victus 15", "gaming_notebook", screen_in=15.6, refresh_hz=144, resolution="FHD",
      variants=[
        V(699990, code="15-fb2063la", processor="AMD Ryzen 5 7535HS", ram_gb=8, storage_gb=512,
          gpu_model="RTX 2050"),
        V(899990, code="15-fa1045la", processor="Intel Core i5-12450H", ram_gb=16, storage_gb=512,
          gpu_model="RTX 3050")]),
    F("S", "HP", "Laptop 15", "notebook", names=["Laptop 15", "15-fd0004la", "Laptop 15-fd0004la"],
      screen_in=15.6,
      variants=[V(429990, code="15-fd0004la", processor="Intel Core i5-1335U", ram_gb=8,
          storage_gb=512)]),
    F("D", "HP", "Pavilion x360 14", "notebook", variants=[
        V(649990, code="14-ek1008la", processor="Intel Core i5-1335U", ram_gb=8, storage_gb=512,
          screen_in=14.0)]),
    F("SD", "ASUS", "Vivobook 15", "notebook", screen_in=15.6, resolution="FHD", variants=[
        V(449990, code="X1504ZA", processor="Intel Core i5-1235U", ram_gb=8, storage_gb=512)]),
    F("S", "ASUS", "Vivobook Go 15", "notebook", screen_in=15.6, resolution="FHD", variants=[
        V(299990, code="E1504FA", processor="AMD Ryzen 3 7320U", ram_gb=8, storage_gb=256),
        V(339990, code="E1504FA", processor="AMD Ryzen 3 7320U", ram_gb=8, storage_gb=512)]),
    F("D", "ASUS", "TUF Gaming F15", "gaming_notebook", screen_in=15.6, refresh_hz=144,
      resolution="FHD", variants=[
        V(749990, code="FX507ZC4", processor="Intel Core i5-12500H", ram_gb=16, storage_gb=512,
          gpu_model="RTX 3050")]),
    F("D", "ASUS", "ROG Strix G16", "gaming_notebook", screen_in=16.0, refresh_hz=165, variants=[
        V(1499990, code="G614JV", processor="Intel Core i7-13650HX", ram_gb=16, storage_gb=1024,
          gpu_model="RTX 4060")]),
    F("S", "ASUS", "Zenbook 14 OLED", "notebook", screen_in=14.0, panel="OLED", variants=[
        V(1099990, code="UX3405MA", processor="Intel Core Ultra 7 155H", ram_gb=16,
          storage_gb=1024)]),
    F("SD", "ACER", "Aspire 3", "notebook", screen_in=15.6, resolution="FHD", variants=[
        V(399990, code="A315-59", processor="Intel Core i5-1235U", ram_gb=8, storage_gb=512)]),
    F("D", "ACER", "Nitro V 15", "gaming_notebook", screen_in=15.6, refresh_hz=144,
      resolution="FHD", variants=[
        V(799990, code="ANV15-51", processor="Intel Core i5-13420H", ram_gb=8, storage_gb=512,
          gpu_model="RTX 4050")]),
    F("D", "DELL", "Inspiron 15", "notebook", names=["Inspiron 15", "Inspiron 15 3520",
      "Inspiron 3520"],
      screen_in=15.6, resolution="FHD", variants=[
          V(479990, code="3520", processor="Intel Core i5-1235U", ram_gb=8, storage_gb=512)]),
    F("S", "DELL", "G15", "gaming_notebook", names=["G15", "G15 5530", "Gaming G15"],
      screen_in=15.6,
      refresh_hz=165, resolution="FHD", variants=[
          V(1349990, code="5530", processor="Intel Core i7-13650HX", ram_gb=16, storage_gb=1024,
            gpu_model="RTX 4060")]),
    F("D", "MSI", "Thin GF63", "gaming_notebook", names=["Thin GF63", "GF63 Thin"], screen_in=15.6,
      refresh_hz=144,
      variants=[V(849990, code="12VE", processor="Intel Core i7-12650H", ram_gb=16, storage_gb=512,
                  gpu_model="RTX 4050")]),
]

TABLETS = [
    F("SD", "APPLE", "iPad 10th Gen", "tablet", names=["iPad 10ª Gen", "iPad (10th Generation)",
      "iPad 10 Generación"],
      screen_in=10.9, variants=[
          V(379990, storage_gb=64, color="blue", colors=("Azul", "Blue")),
          V(529990, storage_gb=256, color="blue", colors=("Azul", "Blue"))]),
    F("S", "APPLE", "iPad Air 11", "tablet", names=["iPad Air 11", "iPad Air 11\"", "iPad Air"],
      screen_in=11.0,
      processor="Apple M2", variants=[
          V(699990, storage_gb=128, color="gray", colors=("Gris Espacial", "Space Gray"))]),
    F("SD", "SAMSUNG", "Galaxy Tab A9", "tablet", screen_in=8.7, ram_gb=4, variants=[
        V(129990, storage_gb=64, color="gray", colors=("Grafito", "Graphite"))]),
    F("SD", "SAMSUNG", "Galaxy Tab A9+", "tablet", screen_in=11.0, ram_gb=4, variants=[
        V(189990, storage_gb=64, color="gray", colors=("Grafito", "Graphite"))]),
    F("D", "SAMSUNG", "Galaxy Tab S9 FE", "tablet", screen_in=10.9, ram_gb=6, variants=[
        V(399990, storage_gb=128, color="gray", colors=("Gris", "Gray"))]),
    F("S", "XIAOMI", "Redmi Pad SE", "tablet", screen_in=11.0, ram_gb=4, variants=[
        V(169990, storage_gb=128, color="gray", colors=("Gris Grafito", "Graphite Gray"))]),
    F("D", "XIAOMI", "Pad 6", "tablet", names=["Pad 6", "Mi Pad 6"], screen_in=11.0, ram_gb=6,
      variants=[
        V(329990, storage_gb=128, color="blue", colors=("Azul", "Mist Blue"))]),
    F("D", "LENOVO", "Tab M11", "tablet", screen_in=10.95, ram_gb=4, variants=[
        V(199990, storage_gb=128, color="gray", colors=("Gris Luna", "Luna Grey"))]),
    F("S", "LENOVO", "Tab M10", "tablet", names=["Tab M10 3rd Gen", "Tab M10 (3ra Gen)", "Tab M10"],
      screen_in=10.1,
      ram_gb=4, variants=[V(129990, storage_gb=64, color="gray", colors=("Gris Tormenta",
          "Storm Grey"))]),
    F("D", "HONOR", "Pad X9", "tablet", screen_in=11.5, ram_gb=4, variants=[
        V(179990, storage_gb=128, color="gray", colors=("Gris", "Space Gray"))]),
]

SMART_TVS = [
    F("SD", "SAMSUNG", "Crystal UHD DU7000", "tv", names=["Crystal UHD DU7000", "DU7000",
      "Crystal UHD"],
      code="UN{s}DU7000GXZS", resolution="4K", panel="LED", variants=[
          V(329990, screen_in=50.0), V(379990, screen_in=55.0), V(549990, screen_in=65.0)]),
    F("S", "SAMSUNG", "QLED Q60D", "tv", names=["QLED Q60D", "Q60D"], code="QN{s}Q60DAGXZS",
      resolution="4K",
      panel="QLED", variants=[V(549990, screen_in=55.0), V(749990, screen_in=65.0)]),
    F("D", "SAMSUNG", "T4300", "tv", names=["T4300", "HD T4300"], code="UN{s}T4300AGXZS",
      resolution="HD",
      panel="LED", variants=[V(179990, screen_in=32.0)]),
    F("SD", "LG", "UT8050", "tv", names=["UHD AI ThinQ UT8050", "UT8050", "UHD ThinQ AI UT80"],
      code="{s}UT8050PSB",
      resolution="4K", panel="LED", variants=[V(349990, screen_in=55.0), V(499990,
          screen_in=65.0)]),
    F("D", "LG", "NanoCell NANO80", "tv", names=["NanoCell NANO80", "NANO80"], code="{s}NANO80TSA",
      resolution="4K", panel="NanoCell", variants=[V(499990, screen_in=55.0)]),
    F("S", "LG", "OLED evo C4", "tv", names=["OLED evo C4", "OLED C4"], code="OLED{s}C4PSA",
      resolution="4K",
      panel="OLED", variants=[V(1499990, screen_in=55.0), V(1999990, screen_in=65.0)]),
    F("SD", "TCL", "C655", "tv", names=["QLED C655", "C655"], code="{s}C655", resolution="4K",
      panel="QLED",
      variants=[V(399990, screen_in=55.0), V(549990, screen_in=65.0)]),
    F("D", "TCL", "P755", "tv", names=["P755", "Google TV P755"], code="{s}P755", resolution="4K",
      panel="LED",
      variants=[V(279990, screen_in=50.0)]),
    F("S", "HISENSE", "A6N", "tv", names=["A6N", "VIDAA A6N"], code="{s}A6N", resolution="4K",
      panel="LED",
      variants=[V(299990, screen_in=55.0)]),
    F("D", "HISENSE", "U6N", "tv", names=["ULED U6N", "U6N"], code="{s}U6N", resolution="4K",
      panel="MiniLED",
      variants=[V(699990, screen_in=65.0)]),
    F("D", "XIAOMI", "TV A Pro 2025", "tv", names=["TV A Pro 2025", "TV A Pro"], resolution="4K",
      panel="QLED",
      variants=[V(329990, screen_in=55.0)]),
    F("D", "XIAOMI", "TV A 2025", "tv", names=["TV A 2025", "TV A"], resolution="HD", panel="LED",
      variants=[V(139990, screen_in=32.0)]),
    F("D", "SONY", "Bravia X77L", "tv", names=["Bravia X77L", "X77L", "BRAVIA KD X77L"],
      code="KD-{s}X77L",
      resolution="4K", panel="LED", variants=[V(549990, screen_in=55.0)]),
]

MONITORS = [
    F("D", "SAMSUNG", "Odyssey G5", "monitor", names=["Odyssey G5", "Odyssey G55T"],
      code="LC27G55TQBLXZS",
      variants=[V(229990, screen_in=27.0, resolution="QHD", refresh_hz=144)]),
    F("D", "SAMSUNG", "Odyssey G4", "monitor", code="LS25BG400ELXZS", variants=[
        V(219990, screen_in=25.0, resolution="FHD", refresh_hz=240, panel="IPS")]),
    F("D", "LG", "UltraGear 27GS60F", "monitor", names=["UltraGear 27GS60F", "UltraGear 27GS60F-B"],
      variants=[
        V(179990, screen_in=27.0, resolution="FHD", refresh_hz=180, panel="IPS")]),
    F("D", "LG", "24MR400", "monitor", names=["24MR400", "24MR400-B"], variants=[
        V(89990, screen_in=23.8, resolution="FHD", refresh_hz=100, panel="IPS")]),
    F("D", "ASUS", "TUF Gaming VG249Q3A", "monitor", names=["TUF Gaming VG249Q3A", "VG249Q3A"],
      variants=[
        V(139990, screen_in=23.8, resolution="FHD", refresh_hz=180, panel="IPS")]),
    F("D", "AOC", "24G2SP", "monitor", names=["24G2SP", "Gaming 24G2SP"], variants=[
        V(149990, screen_in=23.8, resolution="FHD", refresh_hz=165, panel="IPS")]),
    F("D", "AOC", "27G2SP", "monitor", names=["27G2SP", "Gaming 27G2SP"], variants=[
        V(179990, screen_in=27.0, resolution="FHD", refresh_hz=165, panel="IPS")]),
    F("D", "XIAOMI", "Monitor A24i", "monitor", names=["Monitor A24i", "A24i"], variants=[
        V(79990, screen_in=23.8, resolution="FHD", refresh_hz=100, panel="IPS")]),
    F("D", "DELL", "SE2425H", "monitor", variants=[V(99990, screen_in=23.8, resolution="FHD",
      refresh_hz=75)]),
]

PERFUMES = [
    F("SD", "CAROLINA HERRERA", "Good Girl", "perfume", concentration="EDP", gender="women",
      variants=[
        V(109990, volume_ml=50), V(139990, volume_ml=80)]),
    F("S", "CAROLINA HERRERA", "212 VIP Men", "perfume", concentration="EDT", gender="men",
      variants=[
        V(94990, volume_ml=100)]),
    F("SD", "PACO RABANNE", "1 Million", "perfume", names=["1 Million", "One Million"],
      concentration="EDT",
      gender="men", variants=[V(99990, volume_ml=100), V(139990, volume_ml=200)]),
    F("D", "PACO RABANNE", "Lady Million", "perfume", concentration="EDP", gender="women",
      variants=[
        V(104990, volume_ml=80)]),
    F("S", "LANCOME", "La Vie Est Belle", "perfume", names=["La Vie Est Belle", "La Vie est Belle"],
      concentration="EDP", gender="women", variants=[V(99990, volume_ml=50), V(139990,
          volume_ml=100)]),
    F("SD", "DIOR", "Sauvage", "perfume", gender="men", variants=[
        V(129990, volume_ml=100, concentration="EDT"), V(149990, volume_ml=100,
          concentration="EDP")]),
    F("D", "CHANEL", "Coco Mademoiselle", "perfume", concentration="EDP", gender="women", variants=[
        V(139990, volume_ml=50), V(189990, volume_ml=100)]),
    F("S", "CHANEL", "Bleu de Chanel", "perfume", concentration="EDP", gender="men", variants=[
        V(179990, volume_ml=100)]),
    F("D", "VERSACE", "Eros", "perfume", names=["Eros", "Eros Pour Homme"], concentration="EDT",
      gender="men",
      variants=[V(79990, volume_ml=100)]),
    F("S", "VERSACE", "Bright Crystal", "perfume", concentration="EDT", gender="women", variants=[
        V(84990, volume_ml=90)]),
    F("D", "JEAN PAUL GAULTIER", "Le Male", "perfume", concentration="EDT", gender="men", variants=[
        V(99990, volume_ml=125)]),
    F("SD", "GIORGIO ARMANI", "Acqua di Giò", "perfume", names=["Acqua di Giò", "Acqua di Gio"],
      concentration="EDT", gender="men", variants=[V(104990, volume_ml=100)]),
    F("D", "CALVIN KLEIN", "CK One", "perfume", concentration="EDT", gender="unisex", variants=[
        V(39990, volume_ml=100), V(49990, volume_ml=200)]),
    F("S", "HUGO BOSS", "Boss Bottled", "perfume", names=["Boss Bottled", "Bottled"],
      concentration="EDT",
      gender="men", variants=[V(79990, volume_ml=100)]),
    F("D", "ANTONIO BANDERAS", "Blue Seduction", "perfume", concentration="EDT", gender="men",
      variants=[
        V(19990, volume_ml=100)]),
    F("D", "RALPH LAUREN", "Polo Blue", "perfume", concentration="EDT", gender="men", variants=[
        V(89990, volume_ml=125)]),
    F("S", "YVES SAINT LAURENT", "Libre", "perfume", concentration="EDP", gender="women", variants=[
        V(99990, volume_ml=50), V(139990, volume_ml=90)]),
    F("D", "MONTBLANC", "Explorer", "perfume", concentration="EDP", gender="men", variants=[
        V(79990, volume_ml=100)]),
]

# Supermarket rows: `names` is what follows the product-type word ("Leche" + "Entera").
BEVERAGES = [
    F("SD", "COCA-COLA", "Coca-Cola Original", "soda", names=["Original", "Sabor Original"],
      variants=[
        V(2090, volume_ml=1500, fmt="Botella"), V(2590, volume_ml=2000, fmt="Botella"),
        V(3290, volume_ml=3000, fmt="Botella"), V(5490, volume_ml=350, pack_count=6, fmt="Lata")]),
    F("S", "COCA-COLA", "Coca-Cola Sin Azúcar", "soda", names=["Sin Azúcar"], variants=[
        V(2090, volume_ml=1500, fmt="Botella"), V(3290, volume_ml=3000, fmt="Botella")]),
    F("D", "SPRITE", "Sprite", "soda", names=["", "Lima Limón"], variants=[V(1990, volume_ml=1500,
      fmt="Botella")]),
    F("D", "FANTA", "Fanta Naranja", "soda", names=["Naranja"], variants=[
        V(1990, volume_ml=1500, fmt="Botella"), V(2990, volume_ml=3000, fmt="Botella")]),
    F("S", "PEPSI", "Pepsi", "soda", names=["", "Regular"], variants=[V(1990, volume_ml=1500,
      fmt="Botella")]),
    F("D", "BILZ", "Bilz", "soda", names=[""], variants=[V(1690, volume_ml=1500, fmt="Botella")]),
    F("SD", "CACHANTUN", "Agua Mineral Con Gas", "water", names=["Mineral Con Gas", "Con Gas"],
      variants=[
        V(1190, volume_ml=1600, fmt="Botella")]),
    F("D", "CACHANTUN", "Agua Mineral Sin Gas", "water", names=["Mineral Sin Gas", "Sin Gas"],
      variants=[
        V(1190, volume_ml=1600, fmt="Botella")]),
    F("S", "BENEDICTINO", "Agua Purificada Sin Gas", "water", names=["Sin Gas",
      "Purificada Sin Gas"], variants=[
        V(1790, volume_ml=3000, fmt="Bidón")]),
    F("SD", "ANDINA DEL VALLE", "Néctar Durazno", "juice", names=["Durazno"], variants=[
        V(1690, volume_ml=1500, fmt="Botella")]),
    F("D", "WATT'S", "Néctar Naranja", "juice", names=["Naranja"], variants=[V(1590, volume_ml=1500,
      fmt="Caja")]),
    F("SD", "CRISTAL", "Cerveza Lager", "beer", names=["", "Lager"], variants=[
        V(5490, volume_ml=350, pack_count=6, fmt="Lata"), V(9990, volume_ml=350, pack_count=12,
          fmt="Lata")]),
    F("S", "ESCUDO", "Cerveza Lager", "beer", names=["", "Lager"], variants=[
        V(5990, volume_ml=350, pack_count=6, fmt="Lata")]),
    F("D", "KUNSTMANN", "Torobayo", "beer", names=["Torobayo", "Torobayo Ale"], variants=[
        V(7490, volume_ml=330, pack_count=6, fmt="Botella")]),
    F("S", "HEINEKEN", "Cerveza Lager", "beer", names=["", "Lager"], variants=[
        V(6990, volume_ml=350, pack_count=6, fmt="Lata")]),
    F("D", "CORONA", "Cerveza Extra", "beer", names=["Extra", ""], variants=[
        V(7990, volume_ml=355, pack_count=6, fmt="Botella")]),
    F("SD", "CASILLERO DEL DIABLO", "Cabernet Sauvignon", "wine",
      names=["Cabernet Sauvignon", "Reserva Cabernet Sauvignon"], variants=[V(5990, volume_ml=750,
          fmt="Botella")]),
    F("D", "SANTA RITA", "120 Cabernet Sauvignon", "wine", names=["120 Cabernet Sauvignon"],
      variants=[
        V(3490, volume_ml=750, fmt="Botella")]),
    F("S", "RED BULL", "Energy Drink", "energy", names=["Energy Drink", ""], variants=[
        V(1690, volume_ml=250, fmt="Lata"), V(5990, volume_ml=250, pack_count=4, fmt="Lata")]),
    F("D", "MONSTER", "Monster Energy", "energy", names=["Energy", "Energy Original"], variants=[
        V(1790, volume_ml=473, fmt="Lata")]),
]

DAIRY = [
    F("SD", "COLUN", "Leche Entera", "milk", names=["Entera"], variants=[V(1190, volume_ml=1000,
      fmt="Caja")]),
    F("S", "COLUN", "Leche Semidescremada", "milk", names=["Semidescremada"], variants=[
        V(1150, volume_ml=1000, fmt="Caja")]),
    F("D", "COLUN", "Leche Descremada", "milk", names=["Descremada"], variants=[V(1150,
      volume_ml=1000, fmt="Caja")]),
    F("SD", "SOPROLE", "Leche Entera", "milk", names=["Entera"], variants=[V(1190, volume_ml=1000,
      fmt="Caja")]),
    F("D", "LONCOLECHE", "Leche Semidescremada Sin Lactosa", "milk",
      names=["Semidescremada Sin Lactosa", "Sin Lactosa Semidescremada"], variants=[
          V(1290, volume_ml=1000, fmt="Caja")]),
    F("S", "SURLAT", "Leche Chocolate", "milk", names=["Chocolate", "Sabor Chocolate"], variants=[
        V(1490, volume_ml=1000, fmt="Caja")]),
    F("SD", "SOPROLE", "Yogurt Batido Frutilla", "yogurt", names=["Batido Frutilla",
      "Batido Sabor Frutilla"],
      variants=[V(450, weight_g=155)]),
    F("S", "COLUN", "Yogurt Batido Vainilla", "yogurt", names=["Batido Vainilla"], variants=[
        V(3990, weight_g=125, pack_count=12)]),
    F("D", "NESTLE", "Yogurt Griego Natural", "yogurt", names=["Griego Natural",
      "Griego Natural Endulzado"],
      variants=[V(590, weight_g=110)]),
    F("SD", "COLUN", "Mantequilla Con Sal", "butter", names=["Con Sal"], variants=[V(3190,
      weight_g=250)]),
    F("D", "COLUN", "Mantequilla Sin Sal", "butter", names=["Sin Sal"], variants=[V(3290,
      weight_g=250)]),
    F("S", "QUILLAYES", "Queso Gauda Laminado", "cheese", names=["Gauda Laminado",
      "Gouda Laminado"], variants=[
        V(3690, weight_g=250), V(6990, weight_g=500)]),
    F("D", "COLUN", "Queso Mantecoso Laminado", "cheese", names=["Mantecoso Laminado"], variants=[
        V(3890, weight_g=250)]),
    F("D", "COLUN", "Crema Espesa", "cream", names=["Espesa", "de Leche Espesa"], variants=[
        V(1090, volume_ml=200, fmt="Caja")]),
    F("S", "NESTLE", "Leche Condensada", "condensed", names=[""], variants=[V(2290, weight_g=397,
      fmt="Tarro")]),
]

GROCERIES = [
    F("SD", "TUCAPEL", "Arroz Grado 1 Grano Largo", "rice", names=["Grado 1 Grano Largo",
      "G1 Grano Largo"],
      variants=[V(1890, weight_g=1000)]),
    F("S", "TUCAPEL", "Arroz Grado 2", "rice", names=["Grado 2", "Grado 2 Grano Largo"], variants=[
        V(1590, weight_g=1000)]),
    F("D", "MIRAFLORES", "Arroz Grado 1 Largo Delgado", "rice", names=["Grado 1 Largo Delgado"],
      variants=[
        V(1790, weight_g=1000)]),
    F("SD", "CAROZZI", "Spaghetti 5", "pasta", names=["Spaghetti N°5", "Spaghetti 5",
      "Spaghetti Nº 5"], variants=[
        V(1050, weight_g=400)]),
    F("D", "LUCCHETTI", "Espirales", "pasta", names=["Espirales", "Espiral N°85"], variants=[V(990,
      weight_g=400)]),
    F("SD", "BELMONT", "Aceite Maravilla", "oil", names=["Maravilla", "de Maravilla"], variants=[
        V(2590, volume_ml=1000, fmt="Botella")]),
    F("S", "CHEF", "Aceite Vegetal", "oil", names=["Vegetal"], variants=[V(2290, volume_ml=900,
      fmt="Botella")]),
    F("D", "IANSA", "Azúcar Granulada", "sugar", names=["Granulada", "Blanca Granulada"], variants=[
        V(1490, weight_g=1000)]),
    F("SD", "NESCAFE", "Tradición", "instant_coffee", names=["Tradición"], variants=[
        V(3490, weight_g=50, fmt="Frasco"), V(6990, weight_g=170, fmt="Frasco")]),
    F("S", "SELECTA", "Harina Sin Polvos de Hornear", "flour", names=["Sin Polvos de Hornear",
      "Sin Polvos"],
      variants=[V(1290, weight_g=1000)]),
    F("D", "HELLMANN'S", "Mayonesa Tradicional", "mayo", names=["Tradicional", "Clásica"],
      variants=[
        V(4990, weight_g=1000, fmt="Doypack")]),
    F("S", "VAN CAMP'S", "Atún Lomitos en Aceite", "tuna", names=["Lomitos en Aceite"], variants=[
        V(1990, weight_g=160, fmt="Lata")]),
    F("D", "POMAROLA", "Salsa de Tomate Italiana", "tomato", names=["Italiana"], variants=[V(590,
      weight_g=200)]),
    F("D", "LOBOS", "Sal de Mesa", "salt", names=["de Mesa", "Fina de Mesa"], variants=[V(590,
      weight_g=1000)]),
    F("S", "SUPREMO", "Té Ceylán", "tea", names=["Ceylán"], variants=[V(2990, pack_count=100)]),
]

SNACKS = [
    F("D", "LAY'S", "Papas Fritas Clásicas", "chips", names=["Clásicas", "Corte Clásico"],
      variants=[
        V(1690, weight_g=110), V(2990, weight_g=250)]),
    F("D", "MARCO POLO", "Papas Fritas Corte Americano", "chips", names=["Corte Americano"],
      variants=[
        V(2690, weight_g=230)]),
    F("D", "PRINGLES", "Original", "chips", names=["Original"], variants=[V(2990, weight_g=124,
      fmt="Tubo")]),
    F("D", "COSTA", "Frac Clásica", "cookies", names=["Frac Clásica", "Frac"], variants=[V(990,
      weight_g=130)]),
    F("D", "MCKAY", "Tritón Vainilla", "cookies", names=["Tritón Vainilla"], variants=[V(990,
      weight_g=126)]),
    F("D", "NESTLE", "Sahne-Nuss", "chocolate", names=["Sahne-Nuss", "Sahne Nuss"], variants=[
        V(3290, weight_g=160)]),
    F("D", "NESTLE", "Super 8", "chocolate", names=["Super 8"], variants=[V(1990, weight_g=29,
      pack_count=5)]),
]

CLEANING = [
    F("D", "OMO", "Detergente Líquido Matic", "detergent", names=["Matic", "Matic Multiacción"],
      variants=[
        V(10990, volume_ml=3000, fmt="Botella"), V(15990, volume_ml=5000, fmt="Bidón")]),
    F("D", "QUIX", "Lavalozas Limón", "dish", names=["Limón", "Concentrado Limón"], variants=[
        V(1990, volume_ml=750, fmt="Botella")]),
    F("D", "CLOROX", "Cloro Tradicional", "bleach", names=["Tradicional", "Original"], variants=[
        V(1890, volume_ml=2000, fmt="Botella")]),
    F("D", "LYSOFORM", "Desinfectante Aerosol Original", "disinfectant",
      names=["Aerosol Original", "Original Aerosol"], variants=[V(4490, volume_ml=360,
          fmt="Aerosol")]),
    F("D", "DOWNY", "Suavizante Brisa de Verano", "softener", names=["Brisa de Verano"], variants=[
        V(6990, volume_ml=3000, fmt="Botella")]),
]

PERSONAL_CARE = [
    F("D", "SEDAL", "Shampoo Ceramidas", "shampoo", names=["Ceramidas"], variants=[
        V(2990, volume_ml=340, fmt="Botella")]),
    F("D", "HEAD & SHOULDERS", "Shampoo Limpieza Renovadora", "shampoo",
      names=["Limpieza Renovadora"], variants=[
        V(4990, volume_ml=375, fmt="Botella"), V(7490, volume_ml=650, fmt="Botella")]),
    F("D", "L'OREAL PARIS", "Elvive Hidra Hialurónico", "shampoo",
      names=["Elvive Hidra Hialurónico", "Elvive Hidra Hialuronico"], variants=[
          V(4290, volume_ml=370, fmt="Botella")]),
    F("D", "REXONA", "Desodorante Aerosol V8", "deodorant", names=["Men V8", "V8 Aerosol",
      "Aerosol V8 Hombre"],
      gender="men", variants=[V(2990, volume_ml=150, fmt="Aerosol")]),
    F("D", "DOVE", "Jabón Original", "soap", names=["Original", "Cremoso Original"], variants=[
        V(2990, weight_g=90, pack_count=3)]),
    F("D", "COLGATE", "Total 12 Clean Mint", "toothpaste", names=["Total 12 Clean Mint",
      "Total 12"], variants=[
        V(2590, weight_g=90)]),
    F("D", "NIVEA", "Crema Soft", "cream_body", names=["Soft"], variants=[V(4490, volume_ml=200,
      fmt="Pote")]),
]

APPLIANCES = [
    F("SD", "SAMSUNG", "RT38CG6420S9", "fridge", feature="No Frost", variants=[
        V(469990, capacity_l=382, color="silver")]),
    F("S", "SAMSUNG", "RS52B3000M9", "fridge", feature="Side by Side", variants=[
        V(899990, capacity_l=490, color="silver")]),
    F("SD", "LG", "GT37SGP", "fridge", feature="No Frost", variants=[V(529990, capacity_l=374,
      color="silver")]),
    F("S", "FENSA", "Advantage 6500", "fridge", feature="No Frost", variants=[V(319990,
      capacity_l=300, color="white")]),
    F("D", "MADEMSA", "Altus 1350", "fridge", feature="No Frost", variants=[V(349990,
      capacity_l=290, color="silver")]),
    F("D", "MIDEA", "MRFS-2700", "fridge", feature="Top Mount No Frost", variants=[
        V(339990, capacity_l=262, color="silver")]),
    F("SD", "SAMSUNG", "WW90T4040CE", "washer", feature="Carga Frontal", variants=[
        V(399990, capacity_kg=9, color="white")]),
    F("S", "SAMSUNG", "WA17CG6441BY", "washer", feature="Carga Superior", variants=[
        V(429990, capacity_kg=17, color="black")]),
    F("S", "LG", "WT13WPB", "washer", feature="Carga Superior", variants=[V(339990, capacity_kg=13,
      color="white")]),
    F("S", "LG", "WT19BSB", "washer", feature="Carga Superior", variants=[V(499990, capacity_kg=19,
      color="black")]),
    F("SD", "WHIRLPOOL", "WWI16BSHLA", "washer", feature="Carga Superior", variants=[
        V(349990, capacity_kg=16, color="white")]),
    F("D", "MIDEA", "MF200W100WB", "washer", feature="Carga Frontal", variants=[
        V(299990, capacity_kg=10, color="white")]),
]

SMALL_APPLIANCES = [
    F("D", "OSTER", "CKSTAF40D", "airfryer", names=["CKSTAF40D", "DiamondForce CKSTAF40D"],
      variants=[
        V(59990, capacity_l=4, color="black")]),
    F("D", "PHILIPS", "Airfryer Serie 3000", "airfryer", names=["Airfryer Serie 3000 HD9252",
      "Serie 3000 HD9252"],
      variants=[V(89990, color="black")]),
    F("D", "SAMSUNG", "MS23K3513AS", "microwave", variants=[V(99990, capacity_l=23,
      color="silver")]),
    F("D", "LG", "NeoChef MS2032GAS", "microwave", names=["NeoChef MS2032GAS", "MS2032GAS"],
      variants=[
        V(84990, capacity_l=20, color="black")]),
    F("D", "NESPRESSO", "Essenza Mini", "coffee", variants=[V(99990, color="black")]),
    F("D", "OSTER", "Licuadora Clásica 4655", "blender", names=["4655", "Clásica 4655"],
      variants=[V(49990)]),
    F("D", "XIAOMI", "Robot Vacuum S10", "vacuum", names=["Robot Vacuum S10",
      "Mi Robot Vacuum S10"], variants=[
        V(179990, color="white")]),
]

VIDEO_CARDS = [
    F("SD", "ASUS", "Dual GeForce RTX 4060 OC", "gpu", names=["Dual OC", "DUAL OC Edition"],
      gpu_model="RTX 4060",
      variants=[V(349990, vram_gb=8, code="DUAL-RTX4060-O8G")]),
    F("SD", "MSI", "GeForce RTX 4060 Ventus 2X Black OC", "gpu", names=["Ventus 2X Black OC",
      "VENTUS 2X BLACK OC"],
      gpu_model="RTX 4060", variants=[V(329990, vram_gb=8)]),
    F("S", "MSI", "GeForce RTX 4060 Ti Ventus 2X Black OC", "gpu", names=["Ventus 2X Black OC"],
      gpu_model="RTX 4060 Ti", variants=[V(429990, vram_gb=8), V(509990, vram_gb=16)]),
    F("D", "GIGABYTE", "GeForce RTX 4070 Super Windforce OC", "gpu", names=["Windforce OC",
      "WINDFORCE OC"],
      gpu_model="RTX 4070 Super", variants=[V(699990, vram_gb=12, code="GV-N407SWF3OC-12GD")]),
    F("S", "ZOTAC", "Gaming GeForce RTX 4060 Twin Edge", "gpu", names=["Twin Edge",
      "Gaming Twin Edge"],
      gpu_model="RTX 4060", variants=[V(319990, vram_gb=8)]),
    F("D", "ASUS", "Prime GeForce RTX 5070 OC", "gpu", names=["Prime OC"], gpu_model="RTX 5070",
      variants=[
        V(749990, vram_gb=12, code="PRIME-RTX5070-O12G")]),
    F("SD", "GIGABYTE", "GeForce RTX 5060 Ti Eagle OC", "gpu", names=["Eagle OC", "EAGLE OC"],
      gpu_model="RTX 5060 Ti", variants=[V(459990, vram_gb=8), V(539990, vram_gb=16)]),
    F("D", "MSI", "GeForce RTX 5080 Ventus 3X OC", "gpu", names=["Ventus 3X OC"],
      gpu_model="RTX 5080",
      variants=[V(1599990, vram_gb=16)]),
    F("S", "SAPPHIRE", "Pulse Radeon RX 7600", "gpu", names=["Pulse", "PULSE"], gpu_model="RX 7600",
      variants=[V(279990, vram_gb=8)]),
    F("D", "ASROCK", "Radeon RX 7800 XT Challenger", "gpu", names=["Challenger", "Challenger OC"],
      gpu_model="RX 7800 XT", variants=[V(599990, vram_gb=16)]),
    F("D", "SAPPHIRE", "Nitro+ Radeon RX 9070 XT", "gpu", names=["Nitro+", "NITRO+"],
      gpu_model="RX 9070 XT",
      variants=[V(849990, vram_gb=16)]),
    F("S", "ASUS", "TUF Gaming GeForce RTX 4070 Ti Super OC", "gpu", names=["TUF Gaming OC",
      "TUF OC"],
      gpu_model="RTX 4070 Ti Super", variants=[V(1149990, vram_gb=16, code="TUF-RTX4070TIS-O16G")]),
]

HEADPHONES = [
    F("SD", "SONY", "WH-1000XM5", "headphones", variants=[V(329990, color="black")]),
    F("S", "SONY", "WH-1000XM4", "headphones", variants=[V(249990, color="black")]),
    F("D", "SONY", "WH-CH520", "headphones", variants=[V(44990, color="blue")]),
    F("SD", "APPLE", "AirPods Pro 2", "earbuds",
      names=["AirPods Pro (2da generación)", "AirPods Pro 2", "AirPods Pro 2ª Gen USB-C"],
          variants=[
          V(249990, color="white")]),
    F("S", "APPLE", "AirPods 4", "earbuds", names=["AirPods 4", "AirPods (4ta generación)"],
      variants=[
        V(149990, color="white")]),
    F("S", "APPLE", "AirPods 4 ANC", "earbuds",
      names=["AirPods 4 con Cancelación Activa de Ruido", "AirPods 4 ANC"], variants=[V(189990,
          color="white")]),
    F("D", "SAMSUNG", "Galaxy Buds FE", "earbuds", variants=[V(79990, color="black",
      colors=("Grafito", "Graphite"))]),
    F("S", "SAMSUNG", "Galaxy Buds3 Pro", "earbuds", names=["Galaxy Buds3 Pro",
      "Galaxy Buds 3 Pro"], variants=[
        V(229990, color="silver")]),
    F("SD", "JBL", "Tune 520BT", "headphones", names=["Tune 520BT", "T520BT"], variants=[V(49990,
      color="black")]),
    F("D", "JBL", "Tune 720BT", "headphones", names=["Tune 720BT", "T720BT"], variants=[V(69990,
      color="black")]),
    F("D", "XIAOMI", "Redmi Buds 6 Active", "earbuds", variants=[V(19990, color="black")]),
    F("D", "LOGITECH", "G435", "gaming_headset", names=["G435", "G435 Lightspeed"], variants=[
        V(79990, color="black")]),
    F("S", "HYPERX", "Cloud II", "gaming_headset", variants=[V(89990, color="red")]),
    F("D", "BOSE", "QuietComfort Ultra", "headphones", names=["QuietComfort Ultra",
      "QC Ultra Headphones"],
      variants=[V(449990, color="black")]),
]

WEARABLES = [
    F("D", "APPLE", "Watch Series 10 42mm", "smartwatch",
      names=["Watch Series 10 GPS 42mm", "Watch Series 10 42 mm"], variants=[
          V(449990, color="black", colors=("Negro Azabache", "Jet Black"))]),
    F("D", "APPLE", "Watch Series 10 46mm", "smartwatch",
      names=["Watch Series 10 GPS 46mm", "Watch Series 10 46 mm"], variants=[
          V(489990, color="black", colors=("Negro Azabache", "Jet Black"))]),
    F("D", "APPLE", "Watch SE 40mm", "smartwatch", names=["Watch SE GPS 40mm",
      "Watch SE (2da Gen) 40 mm"],
      variants=[V(279990, color="black", colors=("Medianoche", "Midnight"))]),
    F("D", "SAMSUNG", "Galaxy Watch7 44mm", "smartwatch", names=["Galaxy Watch7 44mm",
      "Galaxy Watch 7 44 mm"],
      variants=[V(279990, color="green")]),
    F("D", "SAMSUNG", "Galaxy Watch FE 40mm", "smartwatch", names=["Galaxy Watch FE 40mm",
      "Galaxy Watch FE"],
      variants=[V(179990, color="black")]),
    F("D", "XIAOMI", "Smart Band 9", "band", names=["Smart Band 9", "Mi Band 9"], variants=[V(39990,
      color="black")]),
    F("D", "XIAOMI", "Redmi Watch 5 Active", "smartwatch", variants=[V(34990, color="black")]),
    F("D", "HUAWEI", "Watch Fit 3", "smartwatch", variants=[V(129990, color="white")]),
    F("D", "HUAWEI", "Band 9", "band", variants=[V(44990, color="black")]),
    F("D", "AMAZFIT", "Bip 5", "smartwatch", variants=[V(69990, color="black")]),
    F("D", "GARMIN", "Forerunner 165", "smartwatch", variants=[V(299990, color="black")]),
]

CONSOLES = [
    F("D", "SONY", "PlayStation 5 Slim Digital", "console",
      names=["PlayStation 5 Slim Digital", "PS5 Slim Edición Digital"], variants=[V(499990,
          storage_gb=1024)]),
    F("D", "SONY", "PlayStation 5 Slim", "console",
      names=["PlayStation 5 Slim Estándar", "PS5 Slim con Lector", "PlayStation 5 Slim"], variants=[
          V(599990, storage_gb=1024)]),
    F("D", "SONY", "PlayStation 5 Pro", "console", names=["PlayStation 5 Pro", "PS5 Pro"],
      variants=[
        V(849990, storage_gb=2048)]),
    F("D", "NINTENDO", "Switch OLED", "console", names=["Switch OLED", "Switch Modelo OLED"],
      variants=[
        V(349990, storage_gb=64, color="white")]),
    F("D", "NINTENDO", "Switch 2", "console", variants=[V(599990, storage_gb=256)]),
    F("D", "NINTENDO", "Switch Lite", "console", variants=[
        V(229990, storage_gb=32, color="blue", colors=("Turquesa", "Turquoise"))]),
    F("D", "MICROSOFT", "Xbox Series X", "console", variants=[V(649990, storage_gb=1024,
      color="black")]),
    F("D", "MICROSOFT", "Xbox Series S", "console", variants=[V(349990, storage_gb=512,
      color="white")]),
]

STORAGE = [
    F("D", "KINGSTON", "NV2", "ssd", names=["NV2 NVMe PCIe 4.0", "NV2 M.2 NVMe"], variants=[V(55990,
      storage_gb=1024)]),
    F("D", "KINGSTON", "NV3", "ssd", names=["NV3 NVMe PCIe 4.0", "NV3 M.2 2280"], variants=[
        V(64990, storage_gb=1024), V(119990, storage_gb=2048)]),
    F("D", "KINGSTON", "A400", "ssd", names=["A400 SATA", "A400 2.5\""], variants=[V(34990,
      storage_gb=480)]),
    F("D", "SAMSUNG", "990 PRO", "ssd", names=["990 PRO NVMe M.2", "990 Pro"], variants=[V(149990,
      storage_gb=1024)]),
    F("D", "SAMSUNG", "T7", "portable_ssd", names=["T7 Portable SSD", "T7 USB 3.2"], variants=[
        V(119990, storage_gb=1024, color="gray", colors=("Gris", "Titan Gray"))]),
    F("D", "WESTERN DIGITAL", "Elements", "hdd", names=["Elements Portable", "Elements"], variants=[
        V(79990, storage_gb=2048)]),
    F("D", "SEAGATE", "Expansion", "hdd", names=["Expansion Portable", "Expansion"], variants=[
        V(64990, storage_gb=1024), V(119990, storage_gb=4096)]),
    F("D", "SANDISK", "Ultra microSDXC", "microsd", names=["Ultra microSDXC", "Ultra microSD"],
      variants=[
        V(14990, storage_gb=128), V(24990, storage_gb=256)]),
    F("D", "KINGSTON", "DataTraveler Exodia", "usb", names=["DataTraveler Exodia", "DT Exodia"],
      variants=[
        V(6990, storage_gb=64)]),
]

SPEAKERS = [
    F("D", "JBL", "Flip 6", "speaker", variants=[V(99990, color="black"), V(99990, color="blue")]),
    F("D", "JBL", "Charge 5", "speaker", variants=[V(149990, color="black")]),
    F("D", "JBL", "Go 4", "speaker", variants=[V(39990, color="blue")]),
    F("D", "SONY", "SRS-XB100", "speaker", variants=[V(49990, color="black")]),
    F("D", "SONY", "ULT Field 1", "speaker", variants=[V(99990, color="black")]),
    F("D", "BOSE", "SoundLink Flex", "speaker", variants=[V(149990, color="black")]),
    F("D", "ULTIMATE EARS", "Wonderboom 4", "speaker", variants=[V(99990, color="black")]),
    F("D", "MARSHALL", "Emberton II", "speaker", variants=[V(179990, color="black")]),
]

# fmt: on

CATALOG = [
    *SMARTPHONES,
    *NOTEBOOKS,
    *TABLETS,
    *SMART_TVS,
    *MONITORS,
    *PERFUMES,
    *BEVERAGES,
    *DAIRY,
    *GROCERIES,
    *SNACKS,
    *CLEANING,
    *PERSONAL_CARE,
    *APPLIANCES,
    *SMALL_APPLIANCES,
    *VIDEO_CARDS,
    *HEADPHONES,
    *WEARABLES,
    *CONSOLES,
    *STORAGE,
    *SPEAKERS,
]


# =============================================================================================
# Reference tables
# =============================================================================================

# kind -> (taxonomy category, Spanish product-type words stores put in front of the title)
KINDS = {
    "phone": ("smartphones", ["Smartphone", "Celular"]),
    "notebook": ("notebooks", ["Notebook"]),
    "gaming_notebook": ("notebooks", ["Notebook Gamer", "Notebook Gaming", "Notebook"]),
    "macbook": ("notebooks", ["Notebook", "Laptop"]),
    "tablet": ("tablets", ["Tablet"]),
    "tv": ("smart_tv", ["Smart TV", "Televisor", "LED Smart TV", "Televisor Smart"]),
    "monitor": ("monitors", ["Monitor", "Monitor Gamer"]),
    "perfume": ("perfumes", ["Perfume"]),
    "gpu": ("video_cards", ["Tarjeta de Video", "Tarjeta Gráfica"]),
    "headphones": ("headphones", ["Audífonos", "Audífonos Bluetooth", "Audífonos Inalámbricos"]),
    "earbuds": ("headphones", ["Audífonos", "Audífonos Inalámbricos", "Audífonos In Ear"]),
    "gaming_headset": ("headphones", ["Audífonos Gamer", "Headset Gamer"]),
    "smartwatch": ("wearables", ["Smartwatch", "Reloj Inteligente"]),
    "band": ("wearables", ["Smartband", "Pulsera Inteligente"]),
    "console": ("consoles", ["Consola"]),
    "ssd": ("storage", ["SSD", "Disco Sólido SSD", "Unidad de Estado Sólido"]),
    "portable_ssd": ("storage", ["SSD Externo", "Disco Sólido Portátil"]),
    "hdd": ("storage", ["Disco Duro Externo", "Disco Externo"]),
    "microsd": ("storage", ["Tarjeta de Memoria", "Memoria microSD"]),
    "usb": ("storage", ["Pendrive", "Memoria USB"]),
    "speaker": ("speakers", ["Parlante Bluetooth", "Parlante Portátil", "Parlante"]),
    "fridge": ("appliances", ["Refrigerador"]),
    "washer": ("appliances", ["Lavadora"]),
    "airfryer": ("small_appliances", ["Freidora de Aire", "Freidora sin Aceite"]),
    "microwave": ("small_appliances", ["Microondas", "Horno Microondas"]),
    "coffee": ("small_appliances", ["Cafetera", "Cafetera de Cápsulas"]),
    "blender": ("small_appliances", ["Licuadora"]),
    "vacuum": ("small_appliances", ["Aspiradora Robot", "Robot Aspirador"]),
    "soda": ("beverages", ["Bebida", "Bebida Gaseosa"]),
    "water": ("beverages", ["Agua"]),
    "juice": ("beverages", ["Néctar", "Jugo Néctar"]),
    "beer": ("beverages", ["Cerveza"]),
    "wine": ("beverages", ["Vino", "Vino Tinto"]),
    "energy": ("beverages", ["Bebida Energética", "Energética"]),
    "milk": ("dairy", ["Leche"]),
    "yogurt": ("dairy", ["Yogurt"]),
    "butter": ("dairy", ["Mantequilla"]),
    "cheese": ("dairy", ["Queso"]),
    "cream": ("dairy", ["Crema"]),
    "condensed": ("dairy", ["Leche Condensada"]),
    "rice": ("groceries", ["Arroz"]),
    "pasta": ("groceries", ["Fideos", "Pasta"]),
    "oil": ("groceries", ["Aceite"]),
    "sugar": ("groceries", ["Azúcar"]),
    "instant_coffee": ("groceries", ["Café", "Café Instantáneo"]),
    "flour": ("groceries", ["Harina"]),
    "mayo": ("groceries", ["Mayonesa"]),
    "tuna": ("groceries", ["Atún"]),
    "tomato": ("groceries", ["Salsa de Tomate"]),
    "salt": ("groceries", ["Sal"]),
    "tea": ("groceries", ["Té"]),
    "chips": ("snacks", ["Papas Fritas"]),
    "cookies": ("snacks", ["Galletas"]),
    "chocolate": ("snacks", ["Chocolate"]),
    "detergent": ("cleaning", ["Detergente Líquido", "Detergente"]),
    "dish": ("cleaning", ["Lavalozas", "Detergente Lavalozas"]),
    "bleach": ("cleaning", ["Cloro"]),
    "disinfectant": ("cleaning", ["Desinfectante"]),
    "softener": ("cleaning", ["Suavizante"]),
    "shampoo": ("personal_care", ["Shampoo"]),
    "deodorant": ("personal_care", ["Desodorante"]),
    "soap": ("personal_care", ["Jabón", "Jabón en Barra"]),
    "toothpaste": ("personal_care", ["Pasta Dental", "Crema Dental"]),
    "cream_body": ("personal_care", ["Crema", "Crema Corporal"]),
}

GROCERY = {"beverages", "dairy", "groceries", "snacks", "cleaning", "personal_care"}
HOME = {"appliances", "small_appliances"}

# canonical brand -> (spellings used in titles, odd spellings some stores send in the brand field)
BRANDS = {
    "APPLE": (["Apple"], ["apple", "Apple Inc."]),
    "SAMSUNG": (["Samsung"], ["Samsung Electronics", "SAMSUNG ELECTRONICS", "samsung"]),
    "XIAOMI": (["Xiaomi"], ["Xiaomi Mi", "xiaomi", "XIAOMI GLOBAL"]),
    "MOTOROLA": (["Motorola"], ["Motorola Mobility", "MOTO"]),
    "HONOR": (["Honor", "HONOR"], ["honor"]),
    "OPPO": (["OPPO", "Oppo"], ["oppo"]),
    "LENOVO": (["Lenovo"], ["lenovo"]),
    "HP": (["HP"], ["Hewlett Packard", "HP Inc", "hp"]),
    "ASUS": (["ASUS", "Asus"], ["AsusTek", "asus"]),
    "ACER": (["Acer"], ["acer"]),
    "DELL": (["Dell"], ["DELL TECHNOLOGIES"]),
    "MSI": (["MSI"], ["Msi", "Micro-Star"]),
    "LG": (["LG"], ["LG Electronics", "Lg"]),
    "TCL": (["TCL"], ["Tcl"]),
    "HISENSE": (["Hisense"], ["HISENSE CHILE"]),
    "SONY": (["Sony"], ["SONY CHILE", "sony"]),
    "AOC": (["AOC"], ["Aoc"]),
    "GIGABYTE": (["Gigabyte", "GIGABYTE"], ["Giga-Byte"]),
    "ZOTAC": (["ZOTAC", "Zotac"], ["zotac"]),
    "SAPPHIRE": (["Sapphire", "SAPPHIRE"], ["Sapphire Technology"]),
    "ASROCK": (["ASRock"], ["Asrock"]),
    "JBL": (["JBL"], ["Jbl", "JBL by Harman"]),
    "BOSE": (["Bose"], ["BOSE"]),
    "LOGITECH": (["Logitech", "Logitech G"], ["LOGITECH GAMING"]),
    "HYPERX": (["HyperX"], ["Hyperx", "HYPER X"]),
    "HUAWEI": (["Huawei"], ["HUAWEI"]),
    "AMAZFIT": (["Amazfit"], ["AMAZFIT"]),
    "GARMIN": (["Garmin"], ["GARMIN"]),
    "NINTENDO": (["Nintendo"], ["NINTENDO"]),
    "MICROSOFT": (["Microsoft"], ["Microsoft Xbox", "XBOX"]),
    "KINGSTON": (["Kingston"], ["KINGSTON TECHNOLOGY"]),
    "WESTERN DIGITAL": (["WD", "Western Digital"], ["Wd"]),
    "SEAGATE": (["Seagate"], ["SEAGATE"]),
    "SANDISK": (["SanDisk"], ["Sandisk", "SANDISK"]),
    "ULTIMATE EARS": (["Ultimate Ears", "UE"], ["Ultimate Ears (Logitech)"]),
    "MARSHALL": (["Marshall"], ["MARSHALL"]),
    "CAROLINA HERRERA": (["Carolina Herrera"], ["CH Carolina Herrera", "carolina herrera"]),
    "PACO RABANNE": (["Paco Rabanne", "Rabanne"], ["RABANNE", "Paco rabanne"]),
    "LANCOME": (["Lancôme", "Lancome"], ["LANCÔME", "lancome"]),
    "DIOR": (["Dior", "Christian Dior"], ["CHRISTIAN DIOR"]),
    "CHANEL": (["Chanel"], ["CHANEL"]),
    "VERSACE": (["Versace"], ["Gianni Versace"]),
    "JEAN PAUL GAULTIER": (["Jean Paul Gaultier"], ["JPG", "Gaultier"]),
    "GIORGIO ARMANI": (["Giorgio Armani", "Armani"], ["ARMANI"]),
    "CALVIN KLEIN": (["Calvin Klein"], ["CK", "calvin klein"]),
    "HUGO BOSS": (["Hugo Boss"], ["BOSS"]),
    "ANTONIO BANDERAS": (["Antonio Banderas"], ["Banderas"]),
    "RALPH LAUREN": (["Ralph Lauren"], ["Polo Ralph Lauren"]),
    "YVES SAINT LAURENT": (["Yves Saint Laurent", "YSL"], ["Ysl"]),
    "MONTBLANC": (["Montblanc", "Mont Blanc"], ["MONT BLANC"]),
    "COCA-COLA": (["Coca-Cola", "Coca Cola"], ["COCA COLA", "Coca Cola Company"]),
    "SPRITE": (["Sprite"], ["SPRITE"]),
    "FANTA": (["Fanta"], ["FANTA"]),
    "PEPSI": (["Pepsi"], ["PEPSI"]),
    "BILZ": (["Bilz"], ["CCU"]),
    "CACHANTUN": (["Cachantun", "Cachantún"], ["CACHANTUN"]),
    "BENEDICTINO": (["Benedictino"], ["BENEDICTINO"]),
    "ANDINA DEL VALLE": (["Andina del Valle", "Andina"], ["ANDINA"]),
    "WATT'S": (["Watt's", "Watts"], ["WATTS"]),
    "CRISTAL": (["Cristal"], ["CRISTAL CCU"]),
    "ESCUDO": (["Escudo"], ["ESCUDO"]),
    "KUNSTMANN": (["Kunstmann"], ["KUNSTMANN"]),
    "HEINEKEN": (["Heineken"], ["HEINEKEN"]),
    "CORONA": (["Corona"], ["CORONA EXTRA"]),
    "CASILLERO DEL DIABLO": (["Casillero del Diablo"], ["Concha y Toro"]),
    "SANTA RITA": (["Santa Rita"], ["SANTA RITA"]),
    "RED BULL": (["Red Bull"], ["REDBULL"]),
    "MONSTER": (["Monster"], ["Monster Energy"]),
    "COLUN": (["Colun"], ["COLUN"]),
    "SOPROLE": (["Soprole"], ["SOPROLE"]),
    "LONCOLECHE": (["Loncoleche"], ["LONCOLECHE"]),
    "SURLAT": (["Surlat"], ["SURLAT"]),
    "QUILLAYES": (["Quillayes"], ["QUILLAYES"]),
    "NESTLE": (["Nestlé", "Nestle"], ["NESTLÉ"]),
    "TUCAPEL": (["Tucapel"], ["TUCAPEL"]),
    "MIRAFLORES": (["Miraflores"], ["MIRAFLORES"]),
    "CAROZZI": (["Carozzi"], ["CAROZZI"]),
    "LUCCHETTI": (["Lucchetti"], ["LUCCHETTI"]),
    "BELMONT": (["Belmont"], ["BELMONT"]),
    "CHEF": (["Chef"], ["CHEF"]),
    "IANSA": (["Iansa"], ["IANSA"]),
    "NESCAFE": (["Nescafé", "Nescafe"], ["NESCAFÉ"]),
    "SELECTA": (["Selecta"], ["SELECTA"]),
    "HELLMANN'S": (["Hellmann's", "Hellmanns"], ["HELLMANNS"]),
    "VAN CAMP'S": (["Van Camp's", "Van Camps"], ["VAN CAMPS"]),
    "POMAROLA": (["Pomarola"], ["Carozzi"]),
    "LOBOS": (["Lobos"], ["LOBOS"]),
    "SUPREMO": (["Supremo"], ["SUPREMO"]),
    "LAY'S": (["Lay's", "Lays"], ["LAYS"]),
    "MARCO POLO": (["Marco Polo"], ["MARCO POLO"]),
    "PRINGLES": (["Pringles"], ["PRINGLES"]),
    "COSTA": (["Costa"], ["COSTA"]),
    "MCKAY": (["McKay", "Mckay"], ["MCKAY"]),
    "OMO": (["Omo"], ["OMO"]),
    "QUIX": (["Quix"], ["QUIX"]),
    "CLOROX": (["Clorox"], ["CLOROX"]),
    "LYSOFORM": (["Lysoform"], ["LYSOFORM"]),
    "DOWNY": (["Downy"], ["DOWNY"]),
    "SEDAL": (["Sedal"], ["SEDAL"]),
    "HEAD & SHOULDERS": (["Head & Shoulders", "Head&Shoulders"], ["HEAD AND SHOULDERS"]),
    "L'OREAL PARIS": (["L'Oréal Paris", "L'Oreal Paris"], ["LOREAL", "L'Oréal"]),
    "REXONA": (["Rexona"], ["REXONA"]),
    "DOVE": (["Dove"], ["DOVE"]),
    "COLGATE": (["Colgate"], ["COLGATE"]),
    "NIVEA": (["Nivea"], ["NIVEA"]),
    "FENSA": (["Fensa"], ["FENSA"]),
    "MADEMSA": (["Mademsa"], ["MADEMSA"]),
    "MIDEA": (["Midea"], ["MIDEA"]),
    "WHIRLPOOL": (["Whirlpool"], ["WHIRLPOOL"]),
    "OSTER": (["Oster"], ["OSTER"]),
    "PHILIPS": (["Philips"], ["PHILIPS"]),
    "NESPRESSO": (["Nespresso"], ["NESPRESSO"]),
}

# canonical color -> (Spanish, English)
COLORS = {
    "black": ("Negro", "Black"),
    "white": ("Blanco", "White"),
    "blue": ("Azul", "Blue"),
    "red": ("Rojo", "Red"),
    "green": ("Verde", "Green"),
    "gray": ("Gris", "Gray"),
    "silver": ("Plateado", "Silver"),
    "gold": ("Dorado", "Gold"),
    "pink": ("Rosado", "Pink"),
    "purple": ("Morado", "Purple"),
    "yellow": ("Amarillo", "Yellow"),
    "titanium": ("Titanio", "Titanium"),
}

GENDER_WORDS = {
    "women": (["Mujer", "Mujer", "para Mujer", "Dama"], ["Women", "for Women"]),
    "men": (["Hombre", "Hombre", "para Hombre", "Masculino"], ["Men", "for Men"]),
    "unisex": (["Unisex"], ["Unisex"]),
}
CONCENTRATION_WORDS = {
    "EDP": ["EDP", "EDP", "Eau de Parfum", "Edp"],
    "EDT": ["EDT", "EDT", "Eau de Toilette", "Edt"],
    "Parfum": ["Parfum"],
    "Cologne": ["Eau de Cologne", "Colonia"],
}
RESOLUTION_WORDS = {
    "4K": ["4K", "UHD 4K", "4K UHD", "Ultra HD 4K"],
    "FHD": ["Full HD", "FHD"],
    "QHD": ["QHD", "2K QHD", "WQHD"],
    "HD": ["HD"],
    "8K": ["8K"],
}
PANEL_WORDS = {
    "LED": ["LED"],
    "QLED": ["QLED"],
    "OLED": ["OLED"],
    "MiniLED": ["Mini LED", "MiniLED"],
    "NanoCell": ["NanoCell"],
    "IPS": ["IPS", "Panel IPS"],
}

# Retailers that sell each category.
TECH_STORES = ["falabella", "paris", "ripley", "lider", "hites", "abcdin"]
SUPERMARKETS = ["lider", "jumbo", "santa_isabel", "unimarc"]
ELIGIBLE = {
    "smartphones": [*TECH_STORES, "pcfactory"],
    "notebooks": [*TECH_STORES, "pcfactory"],
    "tablets": [*TECH_STORES, "pcfactory"],
    "smart_tv": [*TECH_STORES, "sodimac"],
    "monitors": ["pcfactory", "falabella", "paris", "ripley", "lider"],
    "video_cards": ["pcfactory", "falabella", "paris", "ripley"],
    "headphones": [*TECH_STORES, "pcfactory"],
    "wearables": TECH_STORES,
    "consoles": [*TECH_STORES, "pcfactory"],
    "storage": ["pcfactory", "falabella", "paris", "ripley", "lider"],
    "speakers": [*TECH_STORES, "pcfactory"],
    "perfumes": ["falabella", "paris", "ripley", "hites", "abcdin"],
    "appliances": ["falabella", "paris", "ripley", "lider", "hites", "abcdin", "sodimac"],
    "small_appliances": [
        "falabella",
        "paris",
        "ripley",
        "lider",
        "hites",
        "abcdin",
        "sodimac",
        "jumbo",
    ],
    "beverages": SUPERMARKETS,
    "dairy": SUPERMARKETS,
    "groceries": SUPERMARKETS,
    "snacks": SUPERMARKETS,
    "cleaning": SUPERMARKETS,
    "personal_care": [*SUPERMARKETS, "paris"],
}

# Each store's own category labels (kind overrides category; "{g}" is the perfume gender).
STORE_LABELS = {
    "falabella": {
        "smartphones": "Celulares y Teléfonos",
        "notebooks": "Computación > Notebooks",
        "tablets": "Tablets",
        "smart_tv": "Televisores",
        "monitors": "Monitores",
        "perfumes": "Perfumes {g}",
        "fridge": "Refrigeradores",
        "washer": "Lavadoras",
        "airfryer": "Freidoras de aire",
        "microwave": "Microondas",
        "small_appliances": "Electrodomésticos de cocina",
        "video_cards": "Tarjetas de video",
        "headphones": "Audífonos",
        "wearables": "Smartwatch",
        "consoles": "Consolas",
        "storage": "Discos duros y SSD",
        "speakers": "Parlantes",
    },
    "paris": {
        "smartphones": "Tecnología > Celulares > Smartphones",
        "notebooks": "Tecnología > Computación > Notebooks",
        "tablets": "Tecnología > Computación > Tablets",
        "smart_tv": "Electro > Televisión > Smart TV",
        "monitors": "Tecnología > Computación > Monitores",
        "perfumes": "Belleza > Perfumes > Perfumes {g}",
        "fridge": "Línea Blanca > Refrigeración > Refrigeradores",
        "washer": "Línea Blanca > Lavado > Lavadoras",
        "small_appliances": "Electro > Electrodomésticos",
        "video_cards": "Tecnología > Computación > Componentes",
        "headphones": "Electro > Audio > Audífonos",
        "wearables": "Tecnología > Smartwatches",
        "consoles": "Tecnología > Videojuegos > Consolas",
        "storage": "Tecnología > Computación > Almacenamiento",
        "speakers": "Electro > Audio > Parlantes",
        "personal_care": "Belleza > Cuidado Personal",
    },
    "ripley": {
        "smartphones": "Celulares",
        "notebooks": "Computación > Notebooks",
        "tablets": "Computación > Tablets",
        "smart_tv": "TV y Video > Smart TV",
        "monitors": "Computación > Monitores",
        "perfumes": "Perfumería > Perfumes {g}",
        "fridge": "Línea Blanca > Refrigeradores",
        "washer": "Línea Blanca > Lavadoras",
        "small_appliances": "Electrohogar > Cocina",
        "video_cards": "Computación > Componentes PC",
        "headphones": "Audio > Audífonos",
        "wearables": "Tecnología > Relojes Inteligentes",
        "consoles": "Videojuegos > Consolas",
        "storage": "Computación > Almacenamiento",
        "speakers": "Audio > Parlantes",
    },
    "lider": {
        "smartphones": "Tecnología > Celulares",
        "notebooks": "Tecnología > Computación",
        "tablets": "Tecnología > Tablets",
        "smart_tv": "Tecnología > Televisores",
        "monitors": "Tecnología > Computación",
        "fridge": "Electrohogar > Refrigeración",
        "washer": "Electrohogar > Lavado",
        "small_appliances": "Electrohogar > Cocina",
        "headphones": "Tecnología > Audio",
        "wearables": "Tecnología > Wearables",
        "consoles": "Tecnología > Videojuegos",
        "storage": "Tecnología > Computación",
        "speakers": "Tecnología > Audio",
        "perfumes": "Perfumería > Perfumes",
    },
    "pcfactory": {
        "smartphones": "Smartphones",
        "notebooks": "Notebooks",
        "tablets": "Tablets",
        "monitors": "Monitores",
        "video_cards": "Tarjetas de Video",
        "headphones": "Audio > Audífonos",
        "consoles": "Gamer > Consolas",
        "storage": "Almacenamiento",
        "speakers": "Audio > Parlantes",
    },
    "hites": {
        "smartphones": "Celulares",
        "notebooks": "Computación",
        "tablets": "Computación",
        "smart_tv": "Televisores",
        "perfumes": "Perfumería",
        "appliances": "Línea Blanca",
        "small_appliances": "Electrodomésticos",
        "headphones": "Audio",
        "wearables": "Tecnología",
        "consoles": "Videojuegos",
        "speakers": "Audio",
    },
    "abcdin": {
        "smartphones": "Telefonía > Smartphones",
        "notebooks": "Computación > Notebooks",
        "tablets": "Computación > Tablets",
        "smart_tv": "Televisión > Smart TV",
        "perfumes": "Perfumes",
        "fridge": "Línea Blanca > Refrigeradores",
        "washer": "Línea Blanca > Lavadoras",
        "small_appliances": "Electrodomésticos > Cocina",
        "headphones": "Audio > Audífonos",
        "wearables": "Telefonía > Smartwatch",
        "consoles": "Gamer > Consolas",
        "speakers": "Audio > Parlantes",
    },
    "sodimac": {
        "smart_tv": "Tecnología > Televisores",
        "fridge": "Electrohogar > Refrigeradores",
        "washer": "Electrohogar > Lavadoras",
        "small_appliances": "Electrohogar > Pequeños Electrodomésticos",
    },
    "jumbo": {"small_appliances": "Electrohogar", "perfumes": "Perfumería"},
}
GENDER_LABELS = {"women": "Mujer", "men": "Hombre", "unisex": "Unisex"}

# Supermarket category trees: (top level per store, sub-level per kind).
GROCERY_TOP = {
    "beverages": {
        "lider": "Bebidas y Licores",
        "jumbo": "Bebidas y Licores",
        "santa_isabel": "Bebidas",
        "unimarc": "Bebidas y licores",
    },
    "dairy": {
        "lider": "Lácteos",
        "jumbo": "Lácteos",
        "santa_isabel": "Lácteos y Huevos",
        "unimarc": "Lácteos, huevos y refrigerados",
    },
    "groceries": {
        "lider": "Despensa",
        "jumbo": "Despensa",
        "santa_isabel": "Despensa",
        "unimarc": "Despensa",
    },
    "snacks": {
        "lider": "Despensa > Snacks",
        "jumbo": "Snacks, Galletas y Dulces",
        "santa_isabel": "Dulces y Snacks",
        "unimarc": "Confites y snacks",
    },
    "cleaning": {
        "lider": "Limpieza",
        "jumbo": "Limpieza",
        "santa_isabel": "Limpieza y Aseo",
        "unimarc": "Limpieza",
    },
    "personal_care": {
        "lider": "Perfumería y Cuidado Personal",
        "jumbo": "Perfumería",
        "santa_isabel": "Cuidado Personal",
        "unimarc": "Cuidado personal",
    },
}
GROCERY_SUB = {
    "soda": "Bebidas Gaseosas",
    "water": "Aguas",
    "juice": "Jugos y Néctares",
    "beer": "Cervezas",
    "wine": "Vinos",
    "energy": "Bebidas Energéticas",
    "milk": "Leches",
    "yogurt": "Yoghurt",
    "butter": "Mantequillas y Margarinas",
    "cheese": "Quesos",
    "cream": "Cremas",
    "condensed": "Manjar y Leche Condensada",
    "rice": "Arroz y Legumbres",
    "pasta": "Pastas",
    "oil": "Aceites",
    "sugar": "Azúcar y Endulzantes",
    "instant_coffee": "Café",
    "flour": "Harinas",
    "mayo": "Aderezos y Salsas",
    "tuna": "Conservas",
    "tomato": "Aderezos y Salsas",
    "salt": "Sal y Condimentos",
    "tea": "Té e Infusiones",
    "chips": "Papas Fritas",
    "cookies": "Galletas",
    "chocolate": "Chocolates",
    "detergent": "Detergentes",
    "dish": "Lavalozas",
    "bleach": "Cloro",
    "disinfectant": "Desinfectantes",
    "softener": "Suavizantes",
    "shampoo": "Shampoo",
    "deodorant": "Desodorantes",
    "soap": "Jabones",
    "toothpaste": "Cuidado Bucal",
    "cream_body": "Cremas Corporales",
}

# EAN/UPC prefixes by brand (GS1 country prefix or the brand's company prefix).
EAN_PREFIX = {
    "APPLE": "19425",
    "SAMSUNG": "8806",
    "LG": "8806",
    "SONY": "4548736",
    "XIAOMI": "6941",
    "HONOR": "6936",
    "OPPO": "6932",
    "MOTOROLA": "8400",
    "LENOVO": "19680",
    "HP": "19650",
    "DELL": "88411",
    "ASUS": "4711",
    "ACER": "4711",
    "MSI": "4711",
    "GIGABYTE": "4719",
    "ZOTAC": "4895",
    "SAPPHIRE": "4895",
    "ASROCK": "4710",
    "TCL": "6921",
    "HISENSE": "6942",
    "AOC": "4038",
    "JBL": "6925",
    "BOSE": "01774",
    "NINTENDO": "04549",
    "MICROSOFT": "88984",
    "KINGSTON": "74061",
    "WESTERN DIGITAL": "71849",
    "SEAGATE": "76366",
    "SANDISK": "61965",
    "CAROLINA HERRERA": "8411061",
    "PACO RABANNE": "3349668",
    "LANCOME": "3605532",
    "DIOR": "3348901",
    "CHANEL": "3145891",
    "VERSACE": "8011003",
    "JEAN PAUL GAULTIER": "8435415",
    "GIORGIO ARMANI": "3614272",
    "CALVIN KLEIN": "08860",
    "HUGO BOSS": "7374",
    "YVES SAINT LAURENT": "3614272",
    "HEINEKEN": "8712000",
    "CORONA": "7501064",
    "RED BULL": "9002490",
    "MONSTER": "5060337",
    "PRINGLES": "03800",
    "OMO": "7791290",
    "DOWNY": "7506309",
    "HEAD & SHOULDERS": "7500435",
    "COLGATE": "7891024",
    "NIVEA": "4005808",
    "DOVE": "7891150",
    "OSTER": "05385",
    "PHILIPS": "8710103",
    "NESPRESSO": "7630039",
    "WHIRLPOOL": "7891129",
}


# =============================================================================================
# Products
# =============================================================================================


@dataclass
class Product:
    group: str
    sets: str
    brand: str
    model: str
    kind: str
    category: str
    specs: dict
    price: int
    names: list
    code: str | None
    feature: str | None
    colors: tuple[str, str] | None
    fmt: str | None
    must: list  # specs that tell this product apart from its siblings: always written
    ean: str


def slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def gtin(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - 1 - len(prefix)))
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


# Specs every store writes for a category (others may be left out of a title).
ESSENTIAL = {
    "smartphones": ["storage_gb"],
    "tablets": ["storage_gb"],
    "monitors": ["screen_in"],
    "smart_tv": ["screen_in"],
    "perfumes": ["volume_ml"],
    "storage": ["storage_gb"],
    "video_cards": ["gpu_model", "vram_gb"],
    "appliances": ["capacity_l", "capacity_kg"],
}

ID_KEYS = [
    "processor",
    "ram_gb",
    "storage_gb",
    "screen_in",
    "vram_gb",
    "concentration",
    "volume_ml",
    "weight_g",
    "pack_count",
    "capacity_l",
    "capacity_kg",
]


def spec_id(key: str, value) -> str:
    units = {
        "ram_gb": "gb-ram",
        "storage_gb": "gb",
        "screen_in": "in",
        "vram_gb": "gb-vram",
        "volume_ml": "ml",
        "weight_g": "g",
        "capacity_l": "l",
        "capacity_kg": "kg",
    }
    if key == "pack_count":
        return f"x{value}"
    if key == "screen_in":
        value = f"{value:g}".replace(".", "-")
    return f"{value}{units.get(key, '')}"


def build_products() -> list[Product]:
    products, seen = [], set()
    for fam in CATALOG:
        category = KINDS[fam.kind][0]
        varying = sorted(
            {
                k
                for v in fam.variants
                for k in v.specs
                if len({str(w.specs.get(k)) for w in fam.variants}) > 1
            }
        )
        for v in fam.variants:
            specs = {**fam.shared, **v.specs}
            head = (
                [fam.model]
                if slug(fam.model).startswith(slug(fam.brand))
                else [fam.brand, fam.model]
            )
            parts = head + [spec_id(k, specs[k]) for k in ID_KEYS if k in specs]
            # Colour variants are distinct SKUs but one master product: colour is not an
            # identity attribute of the taxonomy, so it is not part of the gold group either.
            variant = slug(" ".join([*parts, specs["color"]])) if "color" in varying else ""
            group = slug(" ".join(parts))
            assert (group, variant) not in seen, group
            seen.add((group, variant))
            code = v.code or fam.code
            if code and "{s}" in code:
                code = code.format(s=int(specs["screen_in"]))
            ean_rng = random.Random(f"ean:{variant or group}")
            prefix = EAN_PREFIX.get(fam.brand, "780")
            length = (
                12 if prefix.startswith(("0", "19", "7406", "7184", "7636", "6196", "8898")) else 13
            )
            if prefix.startswith("0"):
                prefix = prefix[1:]
            products.append(
                Product(
                    group=group,
                    sets=fam.sets,
                    brand=fam.brand,
                    model=fam.model,
                    kind=fam.kind,
                    category=category,
                    specs=specs,
                    price=v.price,
                    names=fam.names or [fam.model],
                    code=code,
                    feature=fam.feature,
                    colors=v.colors,
                    fmt=v.fmt,
                    must=varying + ESSENTIAL.get(category, []),
                    ean=gtin(prefix, length, ean_rng),
                )
            )
    return products


# =============================================================================================
# Rendering specs the way stores write them
# =============================================================================================


@dataclass
class Style:
    """Formatting habits of one store."""

    space: bool = True  # "256 GB" vs "256GB"
    inch: str = '"'  # '"', "''", " pulgadas", " Pulgadas"
    comma: bool = False  # "1,5 L" vs "1.5 L"
    liter: str = "L"  # "L", "Lt", "lt", "Lts"
    ml: str = "ml"  # "ml", "cc", "mL"
    gram: str = "g"  # "g", "gr", "grs"
    lang: str = "es"  # color / gender words
    caps: float = 0.0  # probability of an ALL CAPS title
    plain: float = 0.0  # probability of dropping accents
    drop: float = 0.15  # probability of leaving out a non-essential spec


def num(value: float, comma: bool) -> str:
    text = f"{value:g}"
    return text.replace(".", ",") if comma else text


class Title:
    """Collects the words of one title and remembers which canonical specs it states."""

    def __init__(self, product: Product, style: Style, rng: random.Random):
        self.p, self.s, self.rng = product, style, rng
        self.used: list[str] = []

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def pick(self, options):
        return self.rng.choice(options)

    def _mark(self, key: str) -> None:
        if key not in self.used:
            self.used.append(key)

    # --- words -----------------------------------------------------------------------------
    def type(self, probability: float = 1.0, options=None) -> str:
        options = options or KINDS[self.p.kind][1]
        if self.p.specs.get("panel", "LED") != "LED":
            options = [o for o in options if "LED" not in o] or [
                "Smart TV"
            ]  # no "LED" on an OLED TV
        return self.pick(options) if self.chance(probability) else ""

    def brand(self, probability: float = 1.0) -> str:
        return (
            self.pick(BRANDS.get(self.p.brand, ([self.p.brand.title()], []))[0])
            if self.chance(probability)
            else ""
        )

    def name(self, short: float = 0.0) -> str:
        name = self.pick(self.p.names)
        if short and self.chance(short) and name.startswith("Galaxy ") and "Tab" not in name:
            name = name[len("Galaxy ") :]  # "Samsung A55" is how many Chilean stores write it
        return name

    def code(self, probability: float = 1.0) -> str:
        return self.p.code if self.p.code and self.chance(probability) else ""

    def model_ref(self, probability: float = 1.0) -> str:
        """Appliances are sold by model code; small appliances by their model name."""
        if self.p.category == "small_appliances":
            probability = max(probability, 0.9)
        if not self.chance(probability):
            return ""
        return self.p.code or self.name()

    def fmt(self, probability: float = 1.0) -> str:
        return self.p.fmt if self.p.fmt and self.chance(probability) else ""

    def color(self, lang: str | None = None, probability: float = 0.85) -> str:
        if "color" not in self.p.specs or not (self.chance(probability) or "color" in self.p.must):
            return ""
        self._mark("color")
        lang = lang or self.s.lang
        es, en = self.p.colors or COLORS[self.p.specs["color"]]
        if self.p.colors and self.chance(0.3):
            es, en = COLORS[self.p.specs["color"]]
        return es if lang == "es" else en

    # --- specs -----------------------------------------------------------------------------
    def spec(self, key: str, keep: bool = False) -> str:
        if key not in self.p.specs:
            return ""
        if not keep and key not in self.p.must and self.chance(self.s.drop):
            return ""
        self._mark(key)
        return self.render(key, self.p.specs[key])

    def specs(self, keys) -> list[str]:
        return [self.spec(k) for k in keys]

    def render(self, key: str, value) -> str:
        s, sp = self.s, " " if self.s.space else ""
        if key == "storage_gb":
            text = (
                f"{value // 1024}{sp}TB"
                if value >= 1024 and value % 1024 == 0
                else f"{value}{sp}GB"
            )
            if self.p.category == "notebooks" and self.chance(0.6):
                text += " SSD"
            return text
        if key == "ram_gb":
            return self.pick([f"{value}{sp}GB RAM", f"{value}{sp}GB RAM", f"RAM {value}{sp}GB"])
        if key == "vram_gb":
            gpu = self.p.specs.get("gpu_model", "")
            memory = (
                "GDDR7"
                if gpu.startswith("RTX 50")
                else "GDDR6X"
                if gpu.startswith("RTX 4070")
                else "GDDR6"
            )
            return self.pick([f"{value}{sp}GB", f"{value}G", f"{value}GB {memory}"])
        if key == "screen_in":
            return f"{num(value, s.comma)}{s.inch}"
        if key == "volume_ml":
            if value >= 1000 and value % 100 == 0:
                return f"{num(value / 1000, s.comma)}{sp}{s.liter}"
            return f"{value}{sp}{s.ml}"
        if key == "weight_g":
            if value >= 1000 and value % 1000 == 0:
                return f"{value // 1000}{sp}{self.pick(['kg', 'Kg', 'kg'])}"
            return f"{value}{sp}{s.gram}"
        if key == "pack_count":
            return f"{value} un."
        if key == "concentration":
            return self.pick(CONCENTRATION_WORDS[value])
        if key == "gender":
            es, en = GENDER_WORDS[value]
            return self.pick(es if s.lang == "es" else en)
        if key == "network":
            return "4G LTE" if value == "4G" and self.chance(0.3) else value
        if key == "resolution":
            return self.pick(RESOLUTION_WORDS[value])
        if key == "panel":
            return self.pick(PANEL_WORDS[value])
        if key == "processor":
            return self.pick(processor_forms(value))
        if key == "gpu_model":
            return self.pick(gpu_forms(value))
        if key == "refresh_hz":
            return f"{value}{sp}Hz"
        if key == "capacity_l":
            return self.pick([f"{value}{sp}L", f"{value} Litros", f"{value} lts", f"{value}{sp}L"])
        if key == "capacity_kg":
            return self.pick([f"{value}{sp}kg", f"{value} Kg", f"{value} Kilos"])
        return str(value)

    # --- supermarket quantity: size plus pack -------------------------------------------
    def size(self) -> str:
        for key in ("volume_ml", "weight_g"):
            if key in self.p.specs:
                return self.spec(key, keep=True)
        return ""

    def pack(self) -> int | None:
        if "pack_count" in self.p.specs:
            self._mark("pack_count")
            return self.p.specs["pack_count"]
        return None

    def qty(self, both: str, alone: str = "{n} un.") -> str:
        """Size and pack count together: `both` when there are both, e.g. "{n} x {size}"."""
        size, n = self.size(), self.pack()
        if n and size:
            return both.format(n=n, size=size)
        return alone.format(n=n) if n else size

    def feature_words(self, short: bool = False) -> str:
        feature = self.p.feature or ""
        if short and feature == "No Frost":
            return "NF"
        return feature if self.chance(0.9) else ""


def processor_forms(name: str) -> list[str]:
    if name.startswith("Apple "):
        chip = name.split()[1]
        return [chip, f"Chip {chip}", name]
    if name.startswith("Intel Core Ultra"):
        short = name.removeprefix("Intel ")
        return [name, short, short.removeprefix("Core ")]
    if name.startswith("Intel Core"):
        model = name.split()[-1]  # i5-12450H
        return [
            name,
            f"Core {model}",
            model,
            f"Intel Core {model.replace('-', ' ')}",
            f"Intel {model}",
        ]
    if name.startswith("AMD Ryzen"):
        _, _, tier, number = name.split()
        return [name, f"Ryzen {tier} {number}", f"R{tier}-{number}", f"AMD Ryzen{tier} {number}"]
    return [name]


def gpu_forms(name: str) -> list[str]:
    if name.startswith("RTX"):
        return [f"GeForce {name}", f"GeForce {name}", name, f"NVIDIA GeForce {name}"]
    return [f"Radeon {name}", f"Radeon {name}", name]


# =============================================================================================
# Per-retailer title styles
# =============================================================================================

STYLES = {
    "falabella": Style(space=False),
    "paris": Style(space=True),
    "ripley": Style(space=False, caps=0.7),
    "lider": Style(space=True, inch=" pulgadas"),
    "jumbo": Style(space=True),
    "santa_isabel": Style(space=True, comma=True, liter="Lt", ml="cc", gram="gr"),
    "unimarc": Style(space=False, comma=True, liter="L", ml="ml", gram="grs"),
    "pcfactory": Style(space=False, lang="en", drop=0.05),
    "hites": Style(space=True, inch=" Pulgadas", plain=0.8, drop=0.25),
    "sodimac": Style(space=True, drop=0.1),
    "abcdin": Style(space=False, inch="''", caps=0.5, plain=1.0, drop=0.25),
}

# Per-category order of specs after the model name in electronics titles.
TECH_SPECS = {
    "smartphones": ["network", "storage_gb", "ram_gb"],
    "tablets": ["screen_in", "storage_gb", "ram_gb", "processor"],
    "notebooks": [
        "processor",
        "ram_gb",
        "storage_gb",
        "screen_in",
        "resolution",
        "panel",
        "gpu_model",
        "refresh_hz",
    ],
    "monitors": ["screen_in", "resolution", "panel", "refresh_hz"],
    "consoles": ["storage_gb"],
    "storage": ["storage_gb"],
}


def tech_specs(t: Title) -> list[str]:
    return t.specs(TECH_SPECS.get(t.p.category, []))


def falabella(t: Title) -> list[str]:
    # Falabella shows the brand next to the title, so titles often skip it.
    c = t.p.category
    if c in GROCERY:
        return [t.type(), t.brand(), t.name(), t.qty("{size} x{n} un.")]
    if c == "perfumes":
        return [
            t.type(),
            t.brand(0.5),
            t.name(),
            t.spec("concentration"),
            t.spec("volume_ml"),
            t.spec("gender"),
        ]
    if c in HOME:
        return [
            t.type(),
            t.feature_words(),
            t.spec("capacity_l"),
            t.spec("capacity_kg"),
            t.model_ref(0.8),
            t.color(),
        ]
    if c == "smart_tv":
        return [
            t.type(options=["LED", "Smart TV", "Televisor"]),
            t.brand(0.5),
            t.spec("screen_in", keep=True),
            t.name(),
            t.spec("resolution"),
            t.spec("panel"),
            t.code(0.5),
        ]
    if c == "video_cards":
        return [
            t.type(0.6),
            t.brand(),
            t.spec("gpu_model", keep=True),
            t.name(),
            t.spec("vram_gb", keep=True),
        ]
    return [t.type(0.9), t.brand(0.6), t.name(), *tech_specs(t), t.color()]


def paris(t: Title) -> list[str]:
    c = t.p.category
    if c in GROCERY:
        return [t.type(), t.brand(), t.name(), t.qty("{size} Pack {n} unidades", "{n} unidades")]
    if c == "perfumes":
        return [
            t.type(),
            t.spec("gender"),
            t.name(),
            t.spec("concentration"),
            t.spec("volume_ml"),
            t.brand(),
        ]
    if c in HOME:
        return [
            t.type(),
            t.brand(),
            t.feature_words(),
            t.spec("capacity_l"),
            t.spec("capacity_kg"),
            t.model_ref(0.7),
            t.color(),
        ]
    if c == "smart_tv":
        return [
            t.type(options=["Smart TV", "Televisor"]),
            t.brand(),
            t.spec("screen_in", keep=True),
            t.spec("resolution"),
            t.name(),
            t.spec("panel"),
        ]
    if c == "video_cards":
        return [
            t.type(),
            t.brand(),
            t.spec("gpu_model", keep=True),
            t.name(),
            t.spec("vram_gb", keep=True),
        ]
    extra = "Dual SIM" if c == "smartphones" and t.chance(0.15) else ""
    return [t.type(), t.brand(), t.name(), *tech_specs(t), t.color(), extra]


def ripley(t: Title) -> list[str]:
    # Mostly ALL CAPS; phones often end in "Liberado".
    c = t.p.category
    if c == "perfumes":
        return [t.brand(), t.name(), t.spec("concentration"), t.spec("volume_ml"), t.spec("gender")]
    if c in HOME:
        return [
            t.type(),
            t.brand(),
            t.feature_words(),
            t.spec("capacity_l"),
            t.spec("capacity_kg"),
            t.model_ref(0.9),
        ]
    if c == "smart_tv":
        return [
            t.type(options=["Smart TV", "LED Smart TV"]),
            t.brand(),
            t.spec("screen_in", keep=True),
            t.name(),
            t.spec("resolution"),
            t.code(0.7),
        ]
    if c == "video_cards":
        return [
            t.type(0.5),
            t.brand(),
            t.spec("gpu_model", keep=True),
            t.name(),
            t.spec("vram_gb", keep=True),
        ]
    if c == "smartphones":
        return [
            t.type(options=["Celular", "Smartphone"]),
            t.brand(),
            t.name(),
            t.spec("network"),
            t.spec("storage_gb", keep=True),
            t.spec("ram_gb"),
            t.color(),
            "Liberado" if t.chance(0.4) else "",
        ]
    if c in GROCERY:
        return [t.type(), t.brand(), t.name(), t.qty("{size} x{n}")]
    return [t.type(), t.brand(), t.name(), *tech_specs(t), t.color()]


def lider(t: Title) -> list[str]:
    c = t.p.category
    if c in GROCERY:
        if c == "beverages":
            head = [t.type(0.9), t.brand(), t.name()]
        else:
            head = [t.type(), t.name(), t.brand()]
        package = "" if "pack_count" in t.p.specs else t.fmt(0.3)
        return [*head, package, t.qty("{n} x {size}", "{n} unidades")]
    if c == "perfumes":
        return [
            t.type(),
            t.brand(),
            t.name(),
            t.spec("concentration"),
            t.spec("volume_ml"),
            t.spec("gender"),
        ]
    if c in HOME:
        return [
            t.type(),
            t.brand(),
            t.model_ref(0.7),
            t.feature_words(),
            t.spec("capacity_l"),
            t.spec("capacity_kg"),
            t.color(),
        ]
    if c == "smart_tv":
        return [
            t.type(options=["Smart TV", "Televisor"]),
            t.brand(),
            t.spec("screen_in", keep=True),
            t.spec("resolution"),
            t.name(),
        ]
    if c == "video_cards":
        return [
            t.type(),
            t.brand(),
            t.spec("gpu_model", keep=True),
            t.spec("vram_gb", keep=True),
            t.name(),
        ]
    if c == "smartphones":
        return [
            t.type(options=["Smartphone"]),
            t.brand(),
            t.name(),
            t.spec("storage_gb", keep=True),
            t.spec("network"),
            t.color(),
            "Liberado" if t.chance(0.5) else "",
        ]
    return [t.type(), t.brand(), t.name(), *tech_specs(t), t.color()]


def jumbo(t: Title) -> list[str]:
    # "Pack Cerveza Cristal Lata 350 ml 6 un."; "Leche Colun Entera 1 L"
    c = t.p.category
    if c == "perfumes":
        return [
            t.type(),
            t.spec("gender"),
            t.brand(),
            t.name(),
            t.spec("concentration"),
            t.spec("volume_ml"),
        ]
    if c not in GROCERY:
        return [t.type(), t.brand(), t.name(), t.spec("capacity_l"), t.color()]
    both = "pack_count" in t.p.specs and ("volume_ml" in t.p.specs or "weight_g" in t.p.specs)
    return [
        "Pack" if both else "",
        t.type(),
        t.brand(),
        t.name(),
        t.fmt(0.4 if both else 0.15),
        t.qty("{size} {n} un."),
    ]


def santa_isabel(t: Title) -> list[str]:
    return [t.type(), t.brand(), t.name(), t.qty("Pack {n} x {size}")]


def unimarc(t: Title) -> list[str]:
    return [t.brand(), t.type(), t.name(), t.qty("{n}x{size}")]


def pcfactory(t: Title) -> list[str]:
    # Spec-heavy, English colors, part numbers, Windows / keyboard notes on notebooks.
    c = t.p.category
    if c == "video_cards":
        name = t.name()
        name = name.upper() if t.chance(0.5) else name
        return [
            t.type(0.7, ["Tarjeta de Video"]),
            t.brand(),
            t.spec("gpu_model", keep=True),
            name,
            t.spec("vram_gb", keep=True),
            t.code(0.5),
        ]
    if c == "notebooks":
        osw = t.pick(
            ["W11 Home", "Windows 11 Home", "FreeDOS", "", "macOS"]
            if t.p.brand != "APPLE"
            else ["", ""]
        )
        if osw == "macOS":
            osw = ""
        return [t.type(), t.brand(), t.name(), t.code(0.6), *tech_specs(t), osw]
    if c == "smartphones":
        return [
            t.type(0.7, ["Smartphone"]),
            t.brand(),
            t.name(),
            t.spec("network"),
            t.spec("ram_gb", keep=True),
            t.spec("storage_gb", keep=True),
            t.color("en"),
        ]
    return [t.type(0.8), t.brand(), t.name(), t.code(0.4), *tech_specs(t), t.color("en")]


def hites(t: Title) -> list[str]:
    # Accents usually dropped, "Pulgadas" spelled out.
    c = t.p.category
    if c == "perfumes":
        return [
            t.type(),
            t.brand(),
            t.name(),
            t.spec("concentration"),
            t.spec("volume_ml"),
            t.spec("gender"),
        ]
    if c in HOME:
        return [
            t.type(),
            t.feature_words(),
            t.brand(),
            t.model_ref(0.5),
            t.spec("capacity_l"),
            t.spec("capacity_kg"),
            t.color(),
        ]
    if c == "smart_tv":
        kind = t.type(options=["Televisor", "Smart TV"])
        return [
            kind,
            t.brand(),
            t.spec("screen_in", keep=True),
            t.spec("resolution"),
            t.name(),
            "Smart TV" if kind == "Televisor" and t.chance(0.4) else "",
        ]
    return [t.type(), t.brand(), t.name(short=0.4), *tech_specs(t), t.color()]


def sodimac(t: Title) -> list[str]:
    # Type and specs first, brand at the end.
    c = t.p.category
    if c == "smart_tv":
        return [
            t.type(options=["Smart TV", "Televisor LED"]),
            t.spec("screen_in", keep=True),
            t.spec("resolution"),
            t.name(),
            t.code(0.6),
            t.brand(),
        ]
    return [
        t.type(),
        t.feature_words(),
        t.spec("capacity_l"),
        t.spec("capacity_kg"),
        t.color(),
        t.model_ref(0.8),
        t.brand(),
    ]


def abcdin(t: Title) -> list[str]:
    # Often ALL CAPS without accents, shortened model names, inches as ''.
    c = t.p.category
    if c == "perfumes":
        return [t.name(), t.brand(), t.spec("concentration"), t.spec("volume_ml"), t.spec("gender")]
    if c in HOME:
        return [
            t.type(),
            t.feature_words(short=True),
            t.spec("capacity_l"),
            t.spec("capacity_kg"),
            t.brand(),
            t.model_ref(0.8),
        ]
    if c == "smart_tv":
        return [
            t.type(options=["Smart TV", "LED"]),
            t.spec("screen_in", keep=True),
            t.spec("resolution"),
            t.brand(),
            t.code(0.5) or t.name(),
        ]
    return [t.type(), t.brand(), t.name(short=0.6), *tech_specs(t), t.color()]


TITLE_STYLES = {
    "falabella": falabella,
    "paris": paris,
    "ripley": ripley,
    "lider": lider,
    "jumbo": jumbo,
    "santa_isabel": santa_isabel,
    "unimarc": unimarc,
    "pcfactory": pcfactory,
    "hites": hites,
    "sodimac": sodimac,
    "abcdin": abcdin,
}


def strip_accents(text: str) -> str:
    return (
        "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        .replace("Nº", "N")
        .replace("N°", "N")
    )


REPEATABLE = {"hd", "uhd", "4k", "qled", "oled", "nanocell", "led"}


def dedupe(title: str) -> str:
    """Drop a display-technology word already said earlier ("QLED C655 QLED" -> "QLED C655")."""
    seen, out = set(), []
    for word in title.split():
        low = word.lower()
        if low in REPEATABLE and low in seen:
            continue
        seen.add(low)
        out.append(word)
    return " ".join(out)


def write_title(product: Product, retailer: str, rng: random.Random) -> tuple[str, list[str]]:
    style = STYLES[retailer]
    t = Title(product, style, rng)
    words = [w for w in TITLE_STYLES[retailer](t) if w]
    title = dedupe(re.sub(r"\s+", " ", " ".join(words)).strip())
    if product.category in GROCERY and retailer in ("lider", "jumbo", "santa_isabel", "unimarc"):
        caps = 0.0
    else:
        caps = style.caps
    if rng.random() < style.plain:
        title = strip_accents(title)
    if rng.random() < caps:
        title = title.upper()
    return title, t.used


# =============================================================================================
# What an expert reads off a title (for gold): specs implied by words inside model names
# =============================================================================================

IMPLIED = {
    "resolution": {
        "4K": r"\b(4k|uhd|ultra hd)\b",
        "FHD": r"\b(fhd|full hd)\b",
        "QHD": r"\b(w?qhd|2k)\b",
        "HD": r"\bhd\b",
        "8K": r"\b8k\b",
    },
    "panel": {
        "LED": r"(?<![a-z])led\b",
        "QLED": r"\bqled\b",
        "OLED": r"\boled\b",
        "MiniLED": r"\bmini ?led\b",
        "NanoCell": r"\bnanocell\b",
        "IPS": r"\bips\b",
    },
    "network": {"5G": r"\b5g\b", "4G": r"\b(4g|lte)\b"},
    "gender": {
        "men": r"\b(men|hombre|homme|masculino)\b",
        "women": r"\b(mujer|women|femme|dama)\b",
        "unisex": r"\bunisex\b",
    },
    "concentration": {"EDP": r"\b(edp|eau de parfum)\b", "EDT": r"\b(edt|eau de toilette)\b"},
}


def implied_keys(product: Product, title: str) -> list[str]:
    low = title.lower()
    keys = []
    for key, patterns in IMPLIED.items():
        value = product.specs.get(key)
        if value in patterns and re.search(patterns[value], low):
            keys.append(key)
    return keys


# =============================================================================================
# Listing fields other than the title
# =============================================================================================

ATTR_LABELS = {
    "storage_gb": ["Capacidad de almacenamiento", "Almacenamiento", "Memoria interna"],
    "ram_gb": ["Memoria RAM", "RAM"],
    "screen_in": ["Tamaño de pantalla", "Pulgadas"],
    "color": ["Color"],
    "processor": ["Procesador"],
    "gpu_model": ["Tarjeta de video", "Chipset"],
    "vram_gb": ["Memoria de video"],
    "refresh_hz": ["Tasa de refresco", "Frecuencia de actualización"],
    "resolution": ["Resolución"],
    "panel": ["Tipo de pantalla", "Tecnología de pantalla"],
    "network": ["Red", "Conectividad"],
    "volume_ml": ["Contenido", "Contenido neto"],
    "weight_g": ["Peso neto", "Contenido neto"],
    "pack_count": ["Unidades", "Cantidad"],
    "concentration": ["Concentración", "Tipo de fragancia"],
    "gender": ["Género"],
    "capacity_l": ["Capacidad total", "Capacidad"],
    "capacity_kg": ["Capacidad de lavado", "Capacidad"],
}
ATTR_VALUE_WORDS = {
    "resolution": {"4K": "4K UHD", "FHD": "Full HD", "QHD": "QHD", "HD": "HD", "8K": "8K"},
    "concentration": {
        "EDP": "Eau de Parfum",
        "EDT": "Eau de Toilette",
        "Parfum": "Parfum",
        "Cologne": "Colonia",
    },
}
# retailer -> (probability of sending a spec table, how many canonical specs it may hold)
ATTR_HABITS = {
    "falabella": (0.75, 4),
    "paris": (0.5, 3),
    "ripley": (0.3, 2),
    "lider": (0.35, 2),
    "jumbo": (0.2, 1),
    "santa_isabel": (0.0, 0),
    "unimarc": (0.25, 1),
    "pcfactory": (0.9, 6),
    "hites": (0.0, 0),
    "sodimac": (0.8, 4),
    "abcdin": (0.15, 1),
}
OS_BY_CATEGORY = {"smartphones": "Android", "tablets": "Android", "notebooks": "Windows 11 Home"}


def attr_value(product: Product, key: str, rng: random.Random):
    value = product.specs[key]
    if key in ATTR_VALUE_WORDS:
        return ATTR_VALUE_WORDS[key][value]
    if key == "color":
        return (product.colors or COLORS[value])[0]
    if key == "gender":
        return GENDER_LABELS[value]
    if key in ("storage_gb", "ram_gb", "vram_gb"):
        if key == "storage_gb" and value >= 1024:
            return f"{value // 1024} TB"
        return rng.choice([f"{value} GB", value]) if key != "storage_gb" else f"{value} GB"
    if key == "screen_in":
        return rng.choice([f'{value:g}"', f"{value:g} pulgadas", value])
    if key == "volume_ml":
        return f"{value / 1000:g} L" if value >= 1000 else f"{value} ml"
    if key == "weight_g":
        return f"{value // 1000} kg" if value >= 1000 and value % 1000 == 0 else f"{value} g"
    if key == "capacity_l":
        return f"{value} L"
    if key == "capacity_kg":
        return f"{value} kg"
    if key == "refresh_hz":
        return f"{value} Hz"
    return value


def store_attributes(product: Product, retailer: str, rng: random.Random) -> tuple[dict, list[str]]:
    probability, limit = ATTR_HABITS[retailer]
    if rng.random() >= probability:
        return {}, []
    keys = [k for k in ATTR_LABELS if k in product.specs]
    rng.shuffle(keys)
    keys = sorted(keys[: rng.randint(1, limit)] if keys else [], key=list(ATTR_LABELS).index)
    attrs, used = {}, []
    for key in keys:
        label = rng.choice(ATTR_LABELS[key])
        if label in attrs:
            continue
        attrs[label] = attr_value(product, key, rng)
        used.append(key)
    if product.code and rng.random() < 0.6:
        attrs["Modelo"] = product.code
    if product.category in OS_BY_CATEGORY and rng.random() < 0.4:
        os_name = (
            "iOS"
            if product.brand == "APPLE" and product.category != "notebooks"
            else ("macOS" if product.brand == "APPLE" else OS_BY_CATEGORY[product.category])
        )
        attrs["Sistema operativo"] = (
            os_name if product.category != "tablets" or product.brand != "APPLE" else "iPadOS"
        )
    if product.category not in GROCERY and rng.random() < 0.35:
        attrs["Garantía"] = rng.choice(["12 meses", "1 año", "6 meses con el vendedor"])
    if product.category in GROCERY and product.fmt and rng.random() < 0.4:
        attrs["Tipo de envase"] = product.fmt
    return attrs, used


def store_brand(product: Product, retailer: str, rng: random.Random, title: str) -> str | None:
    spellings, odd = BRANDS.get(product.brand, ([product.brand.title()], []))
    habit = {
        "falabella": 1.0,
        "paris": 0.9,
        "ripley": 0.6,
        "lider": 0.7,
        "jumbo": 0.9,
        "santa_isabel": 0.8,
        "unimarc": 0.7,
        "pcfactory": 1.0,
        "hites": 0.2,
        "sodimac": 0.95,
        "abcdin": 0.5,
    }[retailer]
    in_title = any(
        s.lower() in strip_accents(title).lower() or s.lower() in title.lower() for s in spellings
    )
    if rng.random() >= habit and in_title:
        return None
    if odd and rng.random() < 0.15:
        return rng.choice(odd)
    base = spellings[0]
    if retailer in ("falabella", "pcfactory", "unimarc") or rng.random() < 0.2:
        return strip_accents(base).upper() if retailer != "falabella" else base.upper()
    return base


def round_price(value: float, grocery: bool, rng: random.Random) -> int:
    if grocery or value < 10000:
        price = round(value / 10.0) * 10
        return price - 1 if rng.random() < 0.35 else price
    if value < 100000:
        return round(value / 1000.0) * 1000 - 10
    return round(value / 10000.0) * 10000 - 10


def store_price(product: Product, rng: random.Random) -> tuple[int, int | None]:
    grocery = product.category in GROCERY
    spread = 0.06 if grocery else 0.08
    price = round_price(product.price * rng.uniform(1 - spread, 1 + spread), grocery, rng)
    original = None
    if rng.random() < (0.2 if grocery else 0.4):
        original = round_price(price * rng.uniform(1.08, 1.35), grocery, rng)
        original = max(original, price + 10)
    return price, original


def store_category(product: Product, retailer: str, rng: random.Random) -> str | None:
    if product.category in GROCERY and retailer in SUPERMARKETS:
        top = GROCERY_TOP[product.category][retailer]
        sub = GROCERY_SUB[product.kind]
        return {
            "lider": f"{top} > {sub}",
            "jumbo": top,
            "santa_isabel": f"{top} / {sub}",
            "unimarc": sub,
        }[retailer]
    labels = STORE_LABELS.get(retailer, {})
    label = labels.get(product.kind) or labels.get(product.category)
    if label is None:
        return None if rng.random() < 0.5 else "Otros"
    return label.format(g=GENDER_LABELS.get(product.specs.get("gender", ""), "Unisex"))


class Skus:
    """Store-shaped sku numbers, unique per retailer across both files."""

    def __init__(self):
        self.used: dict[str, set] = defaultdict(set)

    def new(self, retailer: str, rng: random.Random) -> str:
        while True:
            sku = self._draw(retailer, rng)
            if sku not in self.used[retailer]:
                self.used[retailer].add(sku)
                return sku

    @staticmethod
    def _draw(retailer: str, rng: random.Random) -> str:
        if retailer == "falabella":
            return str(rng.randint(10_000_000, 159_999_999))
        if retailer == "paris":
            if rng.random() < 0.5:
                return "MK" + "".join(
                    rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8)
                )
            return str(rng.randint(400_000, 9_999_999))
        if retailer == "ripley":
            return (
                ("MPM" + str(rng.randint(10_000_000, 99_999_999)))
                if rng.random() < 0.15
                else "2000" + str(rng.randint(300_000_000, 399_999_999))
            )
        if retailer in ("lider", "hites"):
            return str(rng.randint(1_000_000, 9_999_999))
        if retailer in ("jumbo", "santa_isabel", "unimarc"):
            return str(rng.randint(100_000, 2_999_999))
        if retailer == "pcfactory":
            return str(rng.randint(20_000, 59_999))
        if retailer == "sodimac":
            return str(rng.randint(1_100_000, 9_999_999)) + ("X" if rng.random() < 0.1 else "")
        return str(rng.randint(1_000_000, 9_999_999))  # abcdin


def store_url(retailer: str, sku: str, title: str) -> str:
    s = slug(title)[:80].strip("-")
    return {
        "falabella": f"https://www.falabella.com/falabella-cl/product/{sku}/{s}/{sku}",
        "paris": f"https://www.paris.cl/{s}-{sku}.html",
        "ripley": f"https://simple.ripley.cl/{s}-{sku}p",
        "lider": f"https://www.lider.cl/ip/{s}/{sku}",
        "jumbo": f"https://www.jumbo.cl/{s}/p",
        "santa_isabel": f"https://www.santaisabel.cl/{s}/p",
        "unimarc": f"https://www.unimarc.cl/product/{s}",
        "pcfactory": f"https://www.pcfactory.cl/producto/{sku}-{s}",
        "hites": f"https://www.hites.com/{s}-{sku}.html",
        "sodimac": f"https://www.sodimac.cl/sodimac-cl/product/{sku}/{s}/{sku}",
        "abcdin": f"https://www.abc.cl/{s}/{sku}.html",
    }[retailer]


EAN_HABIT = {
    "falabella": 0.4,
    "paris": 0.3,
    "ripley": 0.15,
    "lider": 0.6,
    "jumbo": 0.85,
    "santa_isabel": 0.8,
    "unimarc": 0.7,
    "pcfactory": 0.5,
    "hites": 0.1,
    "sodimac": 0.6,
    "abcdin": 0.1,
}
STOCK = (
    ["in_stock"] * 78 + ["low_stock"] * 8 + ["out_of_stock"] * 8 + ["unknown"] * 5 + ["preorder"]
)
SCRAPE_START = datetime(2025, 11, 17, 8, 0, tzinfo=timezone(timedelta(hours=-3)))


def pick_retailers(product: Product, rng: random.Random) -> list[str]:
    eligible = list(ELIGIBLE[product.category])
    if product.category == "perfumes" and product.price < 40000:
        eligible += ["lider", "jumbo"]
    k = rng.choices([1, 2, 3, 4, 5], weights=[6, 24, 32, 26, 12])[0]
    return sorted(rng.sample(eligible, min(k, len(eligible))), key=list(STYLES).index)


def make_listing(
    product: Product, retailer: str, rng: random.Random, skus: Skus, avoid: set
) -> tuple[dict, list]:
    for _ in range(40):
        title, used = write_title(product, retailer, rng)
        if title not in avoid:
            break
    sku = skus.new(retailer, rng)
    attrs, attr_keys = store_attributes(product, retailer, rng)
    price, original = store_price(product, rng)
    listing = {"retailer": retailer, "sku": sku, "name": title}
    category = store_category(product, retailer, rng)
    if category:
        listing["category"] = category
    listing["price"] = price
    if original:
        listing["price_original"] = original
    listing["currency"] = "CLP"
    if rng.random() < EAN_HABIT[retailer]:
        listing["ean"] = product.ean
    brand = store_brand(product, retailer, rng, title)
    if brand:
        listing["brand"] = brand
    if rng.random() < 0.92:
        listing["url"] = store_url(retailer, sku, title)
    stock = rng.choice(STOCK)
    if stock == "preorder" and product.category in GROCERY:
        stock = "in_stock"
    listing["stock_status"] = stock
    listing["scraped_at"] = (
        SCRAPE_START + timedelta(minutes=rng.randint(0, 3 * 24 * 60))
    ).isoformat()
    if attrs:
        listing["attributes"] = attrs
    keys = (
        used
        + [k for k in attr_keys if k not in used]
        + [k for k in implied_keys(product, title) if k not in used]
    )
    return listing, keys


def gold_for(product: Product, keys: list[str]) -> dict:
    order = [
        "storage_gb",
        "ram_gb",
        "screen_in",
        "volume_ml",
        "weight_g",
        "pack_count",
        "color",
        "concentration",
        "gender",
        "network",
        "resolution",
        "panel",
        "processor",
        "gpu_model",
        "vram_gb",
        "refresh_hz",
        "capacity_l",
        "capacity_kg",
    ]
    attrs = {}
    for key in order:
        if key in keys:
            value = product.specs[key]
            attrs[key] = float(value) if key == "screen_in" else value
    return {
        "brand": product.brand,
        "model": product.model,
        "category": product.category,
        "attributes": attrs,
        "group": product.group,
    }


# =============================================================================================
# Datasets
# =============================================================================================


def generate(
    products: list[Product], which: str, rng: random.Random, skus: Skus, avoid: dict
) -> list[dict]:
    rows = []
    for product in products:
        if which not in product.sets:
            continue
        for retailer in pick_retailers(product, rng):
            listing, keys = make_listing(
                product, retailer, rng, skus, avoid.get((product.group, retailer), set())
            )
            avoid.setdefault((product.group, retailer), set()).add(listing["name"])
            rows.append({"listing": listing, "gold": gold_for(product, keys)})
    rng.shuffle(rows)
    return rows


def print_stats(label: str, rows: list[dict]) -> None:
    cats = Counter(r["gold"]["category"] for r in rows)
    stores = Counter(r["listing"]["retailer"] for r in rows)
    groups = defaultdict(set)
    for r in rows:
        groups[r["gold"]["group"]].add(r["listing"]["retailer"])
    multi = sum(1 for v in groups.values() if len(v) >= 2)
    print(
        f"\n## {label}: {len(rows)} listings, {len(groups)} products, {multi} sold by 2+ retailers"
    )
    print("\n| category | listings |\n|---|---|")
    for k, v in sorted(cats.items()):
        print(f"| {k} | {v} |")
    print("\n| retailer | listings |\n|---|---|")
    for k, v in sorted(stores.items()):
        print(f"| {k} | {v} |")
    sizes = Counter(len(v) for v in groups.values())
    print("\nretailers per product:", dict(sorted(sizes.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--stats", action="store_true", help="print counts per category and retailer"
    )
    args = parser.parse_args()

    products = build_products()
    skus, avoid = Skus(), {}
    sample = generate(products, "S", random.Random(f"{SEED}:sample"), skus, avoid)
    devset = generate(products, "D", random.Random(f"{SEED}:dev"), skus, avoid)

    SAMPLE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DEVSET_PATH.parent.mkdir(parents=True, exist_ok=True)
    with SAMPLE_PATH.open("w", encoding="utf-8") as fh:
        for row in sample:
            fh.write(json.dumps(row["listing"], ensure_ascii=False) + "\n")
    with DEVSET_PATH.open("w", encoding="utf-8") as fh:
        for row in devset:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(sample)} listings to {SAMPLE_PATH.relative_to(ROOT)}")
    print(f"wrote {len(devset)} labeled listings to {DEVSET_PATH.relative_to(ROOT)}")
    if args.stats:
        print_stats("sample feed", sample)
        print_stats("dev set", devset)


if __name__ == "__main__":
    main()
