"""Prompt builders, one per tier, exactly as the batch-flow plan specifies them.

The prompt text is part of the cache namespace (`PROMPT_VERSION`): changing any template below
without bumping the version would serve answers to a different question from the cache.
`parse_prompt` reads the listing back out of a rendered prompt; the LLM emulator relies on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.models import PromptKind

PROMPT_VERSION = "norm-ia-v2.0"

SYSTEM_COMPACT = "Experto en productos retail CL. JSON only."
SYSTEM_DETAILED = (
    "Experto en normalización de productos retail chilenos. Responde en JSON estructurado."
)

_MINIMAL = """{title}
Cat:{category}
${price}

JSON:
{{brand,model,attrs:{{cap,color,size}},conf}}"""

_BATCH = """P:{title}|C:{category}|$:{price}
Out:{{b,m,a:{{c,cl,s}},cf}}"""

_STANDARD = """Producto: {title}
Categoría: {category}
Precio: ${price} CLP
Retailer: {retailer}

Normaliza a JSON:
{{
  "brand": "marca detectada",
  "model": "modelo específico",
  "attributes": {{
    "capacity": "si aplica",
    "color": "si detectado",
    "size": "tamaño/dimensión"
  }},
  "confidence": 0.0-1.0
}}"""

_DETAILED = """Analiza el siguiente producto chileno para sistema de comparación de precios:

PRODUCTO: {title}
CATEGORÍA: {category}
PRECIO: ${price} CLP
RETAILER: {retailer}
SKU: {sku}

Extrae y normaliza TODOS los atributos relevantes para matching inter-retail.
Considera variantes, especificaciones técnicas y características diferenciadoras.

Responde en JSON con estructura completa:
{{
  "brand": "marca normalizada en mayúsculas",
  "model": "modelo específico sin marca",
  "attributes": {{
    "capacity": "capacidad de almacenamiento",
    "color": "color normalizado",
    "size": "tamaño o diagonal de pantalla",
    "ram": "memoria RAM si aplica",
    "network": "tipo de red (5G, 4G, WiFi)",
    "volume_ml": "volumen para perfumes/líquidos",
    "screen_type": "tipo de pantalla (OLED, LCD, etc)"
  }},
  "normalized_name": "nombre limpio y consistente",
  "confidence": 0.95,
  "category_suggestion": "categoría si difiere de la actual"
}}

Asegura consistencia para comparación precisa entre retailers."""

_FALLBACK = """Normaliza producto retail:
{title} | {category} | ${price}

JSON: {{brand, model, attributes: {{capacity, color}}, confidence}}"""

_TEMPLATES: dict[PromptKind, str] = {
    "minimal": _MINIMAL,
    "batch": _BATCH,
    "standard": _STANDARD,
    "detailed": _DETAILED,
    "fallback": _FALLBACK,
}


@dataclass(frozen=True)
class PromptInput:
    title: str
    category: str
    price: int | None
    """None: the listing states no price (shown as `?`)."""
    retailer: str = ""
    sku: str = ""


def _clean(text: str) -> str:
    # The compact formats use `|` and newlines as separators; a title must not forge them.
    return " ".join(text.replace("|", "/").split())


def build_messages(kind: PromptKind, item: PromptInput) -> list[dict[str, str]]:
    """Render the chat messages for one listing in the given tier's format."""
    system = SYSTEM_DETAILED if kind == "detailed" else SYSTEM_COMPACT
    user = _TEMPLATES[kind].format(
        title=_clean(item.title),
        category=_clean(item.category) or "desconocida",
        price="?" if item.price is None else item.price,
        retailer=_clean(item.retailer),
        sku=_clean(item.sku),
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


# A price as the templates render it: its digits, or `?` when the listing states none.
_PRICE = r"(?P<price>\d+|\?)"
_PARSERS: list[tuple[PromptKind, re.Pattern[str]]] = [
    ("batch", re.compile(r"^P:(?P<title>.*)\|C:(?P<category>.*)\|\$:" + _PRICE + r"\nOut:", re.S)),
    (
        "detailed",
        re.compile(
            r"PRODUCTO: (?P<title>.*)\nCATEGORÍA: (?P<category>.*)\nPRECIO: \$" + _PRICE + r" CLP\n"
            r"RETAILER: (?P<retailer>.*)\nSKU: (?P<sku>.*)\n"
        ),
    ),
    (
        "standard",
        re.compile(
            r"^Producto: (?P<title>.*)\nCategoría: (?P<category>.*)\nPrecio: \$"
            + _PRICE
            + r" CLP\n"
            r"Retailer: (?P<retailer>.*)\n"
        ),
    ),
    (
        "fallback",
        re.compile(
            r"^Normaliza producto retail:\n(?P<title>.*) \| (?P<category>.*) \| \$" + _PRICE + r"\n"
        ),
    ),
    ("minimal", re.compile(r"^(?P<title>.*)\nCat:(?P<category>.*)\n\$" + _PRICE + r"\n\nJSON:")),
]


def parse_prompt(user_content: str) -> tuple[PromptKind, PromptInput] | None:
    """Recover the tier and listing from a rendered user prompt, or None if it is not ours."""
    for kind, pattern in _PARSERS:
        match = pattern.search(user_content)
        if match:
            fields = match.groupdict()
            return kind, PromptInput(
                title=fields["title"],
                category=fields["category"],
                price=None if fields["price"] == "?" else int(fields["price"]),
                retailer=fields.get("retailer") or "",
                sku=fields.get("sku") or "",
            )
    return None
