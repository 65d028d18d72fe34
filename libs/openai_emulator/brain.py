"""Request validation and deterministic answers for chat completions and embeddings.

Chat answers come from the platform's own deterministic extractor, shaped the way each prompt
kind asks (`catalog.llm.prompts`), so the strict answer parser downstream sees what a well
behaved model would send. Where the rules find no brand, the brain reads one from the title as
a model would (`guess_brand`) and extracts again with it. Parameter validation follows the real
API's rules, including the reasoning models' refusal of `max_tokens` and of a non-default
`temperature`.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import re
import secrets
import string
import struct
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from openai_emulator.errors import ApiError
from openai_emulator.faults import MalformedKind, make_malformed

if TYPE_CHECKING:
    from catalog.domain.units import PhraseIndex

DEFAULT_CHAT_MODELS: tuple[str, ...] = (
    "gpt-5-mini",
    "gpt-5",
    "gpt-5-nano",
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1-mini",
)
DEFAULT_EMBEDDING_MODELS: dict[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
REASONING_EFFORTS: tuple[str, ...] = ("minimal", "low", "medium", "high")
REASONING_TOKENS: dict[str, int] = {"minimal": 64, "low": 256, "medium": 1024, "high": 4096}
DEFAULT_REASONING_EFFORT = "medium"
FULL_MODEL_CONFIDENCE_BONUS = 0.04
LOW_CONFIDENCE = 0.3
MAX_CONFIDENCE = 0.99

_ALPHANUM = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHANUM) for _ in range(length))


def request_id() -> str:
    return "req_" + secrets.token_hex(16)


def is_reasoning_model(model: str) -> bool:
    return model.startswith("gpt-5") or model.startswith("o")


def is_full_model(model: str) -> bool:
    return not any(part in model for part in ("mini", "nano"))


# --- token counting -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _tiktoken_encoder() -> Callable[[str], list[int]] | None:
    """The o200k_base encoder when it loads offline (the platform's own loader), else None."""
    from catalog.llm.tokens import encoder

    found = encoder()
    return found.encode_ordinary if found is not None else None


def count_tokens(text: str) -> int:
    """Tokens in `text`: o200k_base when available offline, else about four characters each."""
    encode = _tiktoken_encoder()
    if encode is not None:
        return max(1, len(encode(text)))
    return max(1, math.ceil(len(text) / 4))


# --- chat request validation ----------------------------------------------------------------


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    reasoning_effort: str | None
    completion_limit: int | None
    n: int

    @property
    def reasoning(self) -> bool:
        return self.reasoning_effort is not None

    def texts(self) -> list[str]:
        return [message_text(message) for message in self.messages]

    def last_user_text(self) -> str | None:
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message_text(message)
        return None


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text")
        ]
        return "\n".join(parts)
    return ""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type_error(param: str, expected: str, value: Any) -> ApiError:
    got = "null" if value is None else type(value).__name__
    return ApiError(
        400,
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.",
        param=param,
        code="invalid_type",
    )


def _positive_int(body: dict[str, Any], param: str) -> int | None:
    value = body.get(param)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _type_error(param, "an integer", value)
    if value < 1:
        raise ApiError(
            400,
            f"Invalid '{param}': integer below minimum value. Expected a value >= 1, "
            f"but got {value} instead.",
            param=param,
            code="integer_below_min_value",
        )
    return value


def _validate_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    if "messages" not in body:
        raise ApiError(
            400,
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    messages = body["messages"]
    if not isinstance(messages, list):
        raise _type_error("messages", "an array", messages)
    if not messages:
        raise ApiError(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _type_error(f"messages[{index}]", "an object", message)
        if "role" not in message:
            raise ApiError(
                400,
                f"Missing required parameter: 'messages[{index}].role'.",
                param=f"messages[{index}].role",
                code="missing_required_parameter",
            )
        if message["role"] not in ("system", "developer", "user", "assistant", "tool"):
            raise ApiError(
                400,
                f"Invalid value: '{message['role']}'. Supported values are: 'system', "
                "'assistant', 'user', 'function', 'tool', and 'developer'.",
                param=f"messages[{index}].role",
                code="invalid_value",
            )
    return messages


def validate_chat(body: Any, known_models: list[str]) -> ChatRequest:
    """Apply the real API's request rules; raise `ApiError` on the first violation."""
    if not isinstance(body, dict):
        raise ApiError(400, "We could not parse the JSON body of your request.")
    model = body.get("model")
    if not model:
        raise ApiError(400, "you must provide a model parameter")
    if not isinstance(model, str):
        raise _type_error("model", "a string", model)
    messages = _validate_messages(body)
    if model not in known_models:
        raise ApiError(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    if body.get("stream"):
        raise ApiError(
            400, "Streaming is not supported by this server.", param="stream", code="unsupported"
        )
    reasoning = is_reasoning_model(model)
    max_tokens = _positive_int(body, "max_tokens")
    max_completion_tokens = _positive_int(body, "max_completion_tokens")
    effort = body.get("reasoning_effort")
    temperature = body.get("temperature")
    if temperature is not None and not _is_number(temperature):
        raise _type_error("temperature", "a decimal", temperature)
    if reasoning:
        if max_tokens is not None:
            raise ApiError(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                param="max_tokens",
                code="unsupported_parameter",
            )
        for param in ("temperature", "top_p"):
            value = body.get(param)
            if value is not None and value != 1:
                raise ApiError(
                    400,
                    f"Unsupported value: '{param}' does not support {value} with this model. "
                    "Only the default (1) value is supported.",
                    param=param,
                    code="unsupported_value",
                )
        if effort is not None and effort not in REASONING_EFFORTS:
            raise ApiError(
                400,
                f"Invalid value: '{effort}'. Supported values are: 'minimal', 'low', 'medium', "
                "and 'high'.",
                param="reasoning_effort",
                code="invalid_value",
            )
        effort = effort or DEFAULT_REASONING_EFFORT
    else:
        if effort is not None:
            raise ApiError(
                400,
                "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                param="reasoning_effort",
                code="unsupported_parameter",
            )
        if temperature is not None and not 0 <= temperature <= 2:
            raise ApiError(
                400,
                f"Invalid 'temperature': decimal out of range. Expected a value between 0 and 2, "
                f"but got {temperature} instead.",
                param="temperature",
                code="decimal_out_of_range",
            )
    _validate_response_format(body.get("response_format"), messages)
    n = _positive_int(body, "n") or 1
    if n > 8:
        raise ApiError(400, f"Invalid 'n': expected a value <= 8, but got {n}.", param="n")
    return ChatRequest(
        model=model,
        messages=messages,
        reasoning_effort=effort if reasoning else None,
        completion_limit=max_completion_tokens or max_tokens,
        n=n,
    )


def _validate_response_format(response_format: Any, messages: list[dict[str, Any]]) -> None:
    if response_format is None:
        return
    if not isinstance(response_format, dict):
        raise _type_error("response_format", "an object", response_format)
    kind = response_format.get("type")
    if kind not in ("text", "json_object", "json_schema"):
        raise ApiError(
            400,
            f"Invalid value: '{kind}'. Supported values are: 'json_object', 'json_schema', "
            "and 'text'.",
            param="response_format.type",
            code="invalid_value",
        )
    if kind == "json_object" and not any(
        "json" in message_text(message).lower() for message in messages
    ):
        raise ApiError(
            400,
            "'messages' must contain the word 'json' in some form, to use 'response_format' "
            "of type 'json_object'.",
            param="messages",
        )


# --- answers --------------------------------------------------------------------------------

GENERIC_ANSWER: dict[str, Any] = {
    "brand": None,
    "model": None,
    "attributes": {},
    "confidence": 0.1,
}

# Prompt attribute key -> the long name `parse_answer` expands it to.
_KIND_ATTRIBUTE_KEYS: dict[str, dict[str, str]] = {
    "batch": {"c": "capacity", "cl": "color", "s": "size"},
    "minimal": {"cap": "capacity", "color": "color", "size": "size"},
    "standard": {"capacity": "capacity", "color": "color", "size": "size"},
    "fallback": {"capacity": "capacity", "color": "color", "size": "size"},
    "detailed": {
        "capacity": "capacity",
        "color": "color",
        "size": "size",
        "ram": "ram",
        "network": "network",
        "volume_ml": "volume_ml",
        "screen_type": "screen_type",
    },
}


def _number(value: float) -> str:
    return f"{value:g}"


def _as_number(value: Any) -> float | None:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _capacity(attributes: dict[str, Any]) -> str | None:
    storage = _as_number(attributes.get("storage_gb"))
    if storage:
        if storage >= 1024 and storage % 1024 == 0:
            return f"{_number(storage / 1024)}TB"
        return f"{_number(storage)}GB"
    volume = _as_number(attributes.get("volume_ml"))
    if volume:
        return f"{_number(volume / 1000)}L" if volume >= 1000 else f"{_number(volume)}ml"
    weight = _as_number(attributes.get("weight_g"))
    if weight:
        return f"{_number(weight / 1000)}kg" if weight >= 1000 else f"{_number(weight)}g"
    return None


def _long_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """The prompt-level attribute values (long names) derived from canonical attributes."""
    screen = _as_number(attributes.get("screen_in"))
    ram = _as_number(attributes.get("ram_gb"))
    volume = _as_number(attributes.get("volume_ml"))
    values: dict[str, Any] = {
        "capacity": _capacity(attributes),
        "color": attributes.get("color"),
        "size": _number(screen) if screen else None,
        "ram": f"{_number(ram)}GB" if ram else None,
        "network": attributes.get("network"),
        "volume_ml": int(volume) if volume else None,
        "screen_type": attributes.get("panel"),
    }
    return {key: value for key, value in values.items() if value not in (None, "")}


# --- brand inference ------------------------------------------------------------------------
#
# Listings reach a model when the rules are unsure, most often because the brand is missing from
# the alias table. A model recognises a brand from how the title is written: a proper name that
# is neither the product noun, a variety ("Sin Polvos", "Brisa de Verano"), a unit, a colour nor
# an attribute, in the place where retailers put brands. The guess below reads the title that
# way and gives up (brand null) when more than one reading is plausible.

# Spanish and English function words; the word after a preposition is part of a variety.
_FUNCTION_WORDS = frozenset(
    {
        "de", "del", "con", "sin", "en", "para", "por", "a", "al", "la", "el", "los", "las",
        "lo", "y", "e", "o", "u", "x", "un", "una", "the", "and", "for", "with", "of", "by",
    }
)  # fmt: skip
_ARTICLES = frozenset({"la", "el", "los", "las"})
_PREPOSITIONS = frozenset({"de", "del", "con", "sin", "en", "para", "por", "a", "al", "of"})
# Words that open a name and are not one alone ("Dr. Lemon con Vodka", "San Huberto de ...").
_TITLES = frozenset(
    {"dr", "mr", "sr", "sra", "don", "dona", "san", "santa", "santo", "saint", "st"}
)
# Prepositions that attach to the word before them ("Brisa de Verano", "Lomitos en Aceite").
_BINDING_PREPOSITIONS = frozenset({"de", "del", "en", "con", "of"})

# Words that describe a product rather than name its maker.
_GENERIC_WORDS = frozenset(
    {
        # packaging, sizes and counts
        "pack", "paquete", "display", "caja", "bolsa", "botella", "lata", "frasco", "sachet",
        "doypack", "tetra", "tetrapak", "envase", "bidon", "pote", "tarro", "tubo", "barra",
        "aerosol", "spray", "repuesto", "recarga", "unidad", "unidades", "un", "und", "unid",
        "ml", "cc", "kg", "kilo", "kilos", "g", "gr", "grs", "gramos", "l", "lt", "lts", "litro",
        "litros", "oz", "mini", "maxi", "mega", "familiar", "individual", "grande", "mediano",
        "pequeno", "chico", "doble", "triple", "set", "kit", "combo", "duo", "trio",
        # varieties, flavours and claims
        "original", "clasico", "clasica", "tradicional", "natural", "naturales", "light", "zero",
        "diet", "premium", "extra", "especial", "gourmet", "selecto", "fino", "fina", "gruesa",
        "grueso", "integral", "organico", "organica", "casero", "casera", "suave", "intenso",
        "intensa", "fresco", "fresca", "puro", "pura", "sabor", "sabores", "aroma", "fragancia",
        "variedad", "surtido", "surtidos", "regular", "normal", "plus", "max", "pro", "ultra",
        "lite", "nuevo", "nueva", "new", "oferta", "promo", "edicion", "limitada", "vegano",
        "vegana", "vegetal", "proteina", "fortificado", "vainilla", "chocolate", "frutilla",
        "fresa", "durazno", "manzana", "naranja", "limon", "pina", "mango", "platano", "coco",
        "menta", "canela", "miel", "caramelo", "cereza", "uva", "frambuesa", "berries", "tomate",
        "queso", "jamon", "pollo", "carne", "vacuno", "cerdo", "atun", "salmon", "hogar",
        "lavanda", "floral", "citrico", "citricos", "bebe",
        "bebes", "nino", "ninos", "adulto", "adultos", "infantil", "multiuso", "multiusos",
        "antibacterial", "desinfectante", "concentrado", "concentrada", "liquido", "liquida",
        "polvo", "polvos", "crema", "gel", "espeso", "espesa", "hoja", "hojas", "rollos",
        "toallitas", "grado", "virgen", "crocante", "crocantes", "instantaneo", "instantanea",
        "multicereal", "multicereales", "parboil", "asiatico", "asiatica", "selec", "seleccion",
        "girasol", "oliva", "saborizador", "capsulas", "caps", "barras", "bolsas", "sobres",
        "saquitos", "bocaditos",
        # milk and dairy, and the abbreviations stores write them with
        "uat", "uht", "des", "desc", "entera", "entero", "parcialmente", "liviana", "liviano",
        "ddl", "fet", "sob", "bot", "pet", "brick", "choc", "vitamina", "vitaminas", "hierro",
        "calcio", "efecto",
        # wine
        "vino", "reserva", "reservado", "gran", "cabernet", "sauvignon", "merlot", "carmenere",
        "syrah", "chardonnay", "malbec", "pinot", "noir", "blanc", "tinto", "brut", "cosecha",
        "tardia", "tardio", "dulce", "blend", "varietal", "bivarietal", "borgona", "espumante",
        "espumoso", "rose", "moscato", "moscatel", "torrontes", "bonarda", "tempranillo", "franc",
        "semillon", "riesling", "sangiovese", "verdot", "viognier", "carignan",
        # beer styles, and what a chocolate is made of
        "cerveza", "artesanal", "ale", "lager", "ipa", "stout", "porter", "pilsner", "pilsen",
        "ambar", "amber", "rubia", "negra", "roja", "pale", "weisse", "bock", "cacao", "amargo",
        "amarga", "semiamargo", "long", "neck",
        # origin
        "chileno", "chilena", "italiano", "italiana", "espanol", "espanola", "frances",
        "francesa", "americano", "americana", "mexicano", "mexicana", "argentino", "argentina",
        "peruano", "peruana", "aleman", "alemana", "ingles", "inglesa", "suizo", "suiza",
        "griego", "griega", "japones", "japonesa", "tailandes", "tailandesa", "colombiano",
        # technology
        "smart", "gamer", "gaming", "bluetooth", "inalambrico", "inalambricos", "inalambrica",
        "wireless", "usb", "robot", "portatil", "digital", "electrico", "electrica", "automatico",
        "automatica", "inverter", "frost", "no", "carga", "frontal", "superior", "side", "by",
        "vertical", "horizontal", "led", "lcd", "hd", "full", "wifi", "touch", "tactil",
        "plateado", "plateada", "acero", "inoxidable", "inox", "vidrio", "plastico",
        "version", "modelo", "serie", "series", "generacion", "gen", "nvme", "ssd", "hdd",
        "interno", "externo", "memoria", "dual", "sim", "libre", "liberado", "reacondicionado",
        # home, furniture and tools: materials and what a piece is made or fitted as
        "tela", "cuero", "ecocuero", "madera", "metal", "metalico", "metalica", "aluminio",
        "algodon", "lino", "poliester", "terciopelo", "felpa", "microfibra", "melamina", "mdf",
        "bambu", "ceramica", "porcelana", "silicona", "goma", "lona", "mimbre", "rattan", "pino",
        "roble", "nogal", "percal", "hilos", "percutor", "cuerpos", "plazas", "piezas", "puestos",
        "cajones", "puertas", "quemadores", "velocidades", "esquinero", "ergonomico",
        "ergonomica", "ortopedico", "ortopedica", "magnetico", "magnetica", "termico", "termica",
        "hidraulico", "hidraulica", "plegable", "plegables", "lavable", "lavables", "recargable",
        "recargables", "regulable", "ajustable", "ajustables", "reclinable", "extensible",
        "desmontable", "impermeable", "antiadherente",
        # personal care and cleaning: what a product does and where it goes
        "tocador", "hidratacion", "humectacion", "relajacion", "nutricion", "reparacion",
        "frescura", "vitalidad", "brillo", "blanqueador", "blanqueadora", "anticaspa",
        "antifrizz", "keratina", "rizos", "ondas", "liso", "lisos", "detox", "ropa", "espuma",
        "esencia", "difusor", "quitamanchas", "intimo", "intima", "exfoliante", "humectante",
        "hidratante", "antitranspirante",
        # people
        "hombre", "mujer", "unisex", "masculino", "femenino", "dama", "caballero",
    }
)  # fmt: skip
# Descriptions written in more than one word, each of which may be a name alone.
_GENERIC_PHRASES = ("larga vida", "sin tacc", "hair food", "todo tipo")
# Participles and adjectives ("Tostado", "Molida", "Rallado") describe, they do not name. Not
# "-ico" / "-ica" nor "-able": makers end so too (Dánica, Verónica, Federico, Los Intocables).
_ADJECTIVE_ENDINGS = ("ado", "ada", "ados", "adas", "ido", "ida", "idos", "idas")
_WORD_PATTERN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_ATTRIBUTE_SPANS = (
    "resolution", "panel", "network", "concentration", "gender", "refresh_hz", "fat_level",
    "lactose_free", "sugar_free", "abv",
)  # fmt: skip
# Categories whose model is a name ("Polo Blue", "Cloud II"): a lone name is the model.
_NAMED_MODEL_GOODS = frozenset({"perfumes", "alcoholic_beverages"})
# Of those, the ones whose maker may also follow the product noun, as in other groceries.
_MAKER_FIRST_GOODS = frozenset({"alcoholic_beverages"})
_MAX_BRAND_WORDS = 3
_MAX_TITLE = 500

# Token classes.
_CANDIDATE = "candidate"
_FUNCTION = "function"
_PRODUCT = "product"  # a category noun or synonym
_COLOR = "color"
_CODE = "code"  # digits: a model code or a bare number
_UNIT = "unit"
_OTHER = "other"


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    word: str
    kind: str


@dataclass(frozen=True)
class _Candidate:
    start: int  # token indexes, end exclusive
    end: int
    score: int


def _covered(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < s_end and s_start < end for s_start, s_end in spans)


@lru_cache(maxsize=1)
def _strip_words() -> PhraseIndex[bool]:
    """Every category's retailer filler words ("smart tv", "gamer", "tester") and the
    descriptions written in several words ("larga vida")."""
    from catalog.domain.taxonomy import load_taxonomy
    from catalog.domain.units import PhraseIndex

    index: PhraseIndex[bool] = PhraseIndex()
    for category in load_taxonomy().leaves():
        for word in category.strip_words:
            index.add(word, True)
    for phrase in _GENERIC_PHRASES:
        index.add(phrase, True)
    return index


def _title_tokens(title: str, label: str) -> list[_Token]:
    """The title's words, each classed as a possible brand word or as what rules it out."""
    from catalog.domain import units
    from catalog.domain.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    folded = units.fold(title)
    words = units.word_tokens(folded)
    product = [(start, end) for start, end, _cat, _strength in taxonomy.cue_matches(folded)]
    units_found = list(units.unit_spans(folded))
    colors = [(start, end) for start, end, _color in units.color_spans(folded)]
    other: list[tuple[int, int]] = []
    for name in _ATTRIBUTE_SPANS:
        other.extend(units.attribute_spans(folded, name))
    for finder in (units.processor_span, units.gpu_span):
        found = finder(folded)
        if found is not None:
            other.append((found[0], found[1]))
    for category in taxonomy.leaves():
        other.extend((s, e) for s, e, _hit in category.keyword_index.scan(words))
    other.extend((s, e) for s, e, _hit in _strip_words().scan(words))
    from catalog.domain.brands import load_brands

    generic = load_brands().is_generic_word
    label_words = set(units.alias_key(label).split())
    shouting = title.upper() == title
    tokens: list[_Token] = []
    for match in _WORD_PATTERN.finditer(folded):
        start, end = match.span()
        word = match.group()
        original = title[start:end]
        kind = _CANDIDATE
        if word in _FUNCTION_WORDS:
            kind = _FUNCTION
        elif _covered(start, end, units_found):
            kind = _UNIT
        elif any(char.isdigit() for char in word):
            kind = _CODE
        elif _covered(start, end, product):
            kind = _PRODUCT
        elif _covered(start, end, colors):
            kind = _COLOR
        elif (
            _covered(start, end, other)
            or word in _GENERIC_WORDS
            or generic(word)
            or word in label_words
            or (len(word) >= 6 and word.endswith(_ADJECTIVE_ENDINGS))
            or len(word) == 1  # "Vitamina D", "D.O.C": a letter names no maker
            or not (shouting or original[:1].isupper())
        ):
            kind = _OTHER
        tokens.append(_Token(start, end, word, kind))
    return tokens


def _runs(tokens: list[_Token], *, join_del: bool = False) -> list[tuple[int, int]]:
    """Maximal stretches of possible brand words as token ranges (end exclusive); with
    `join_del`, two names linked by "del" are one ("Casillero del Diablo")."""
    runs: list[tuple[int, int]] = []
    index = 0
    while index < len(tokens):
        if tokens[index].kind != _CANDIDATE:
            index += 1
            continue
        end = index
        while end < len(tokens) and tokens[end].kind == _CANDIDATE:
            end += 1
        if runs and join_del and index >= 2:
            previous_start, previous_end = runs[-1]
            if previous_end == index - 1 and tokens[index - 1].word == "del":
                runs[-1] = (previous_start, end)
                index = end
                continue
        runs.append((index, end))
        index = end
    return runs


_PART_NUMBER_LENGTH = 6


def _is_part_number(word: str) -> bool:
    """A manufacturer's part number: letters and digits, long ("rmp736fjll", "wt13bpb")."""
    return (
        len(word) >= _PART_NUMBER_LENGTH
        and any(c.isdigit() for c in word)
        and any(c.isalpha() for c in word)
    )


def _named_model_candidates(tokens: list[_Token], numbered_names: bool) -> list[_Candidate]:
    """Brands in titles whose model is a name ("Cloud II", "Polo Blue"): a lone name is the
    model, so only a name set apart from another one counts."""
    runs = _runs(tokens)
    last_unit = max((i for i, token in enumerate(tokens) if token.kind == _UNIT), default=-1)
    out: list[_Candidate] = []
    for run_start, run_end in runs:
        if run_start > 0 and tokens[run_start - 1].kind == _COLOR:
            continue  # "Verde Trébol", "Titanio Desierto": a colour's qualifier
        after = tokens[run_end] if run_end < len(tokens) else None
        trailing = (
            last_unit >= 0
            and run_start > last_unit
            and run_end == len(tokens)
            and runs[0][0] < run_start
            and all(token.kind != _CODE for token in tokens[last_unit:run_start])
        )
        if trailing:
            # "Perfume Polo Blue 125 ml Ralph Lauren": a name after the size, behind the model.
            out.append(_Candidate(run_start, run_end, 3))
        elif run_end - run_start >= 2 and after is not None and after.kind == _CODE:
            if numbered_names:
                # "Perfume Carolina Herrera 212 VIP": the number is the fragrance's name.
                out.append(_Candidate(run_start, run_end, 2))
            else:
                # "Parlante Ultimate Ears Wonderboom 4": the brand, then the model's name.
                out.append(_Candidate(run_start, run_end - 1, 2))
    if not out and not numbered_names and len(runs) == 1:
        start, end = runs[0]
        before = tokens[start - 1] if start > 0 else None
        after = tokens[end] if end < len(tokens) else None
        if (
            end - start == 1
            and before is not None
            and before.kind != _FUNCTION
            and before.word not in _PREPOSITIONS
            and after is not None
            and _is_part_number(after.word)
        ):
            # "Refrigerador No Frost 324 Lts Mabe RMP736FJLL": every other word a product noun,
            # a description, a size or a colour, and the one name left stands before a part
            # number: the maker's. Before a short number it names a line ("Tablet Pad X9",
            # "Refrigerador Advantage 6500"), after "para" a case's device; a perfume's or a
            # wine's lone name is its own ("Perfume Polo Blue Edt 125ml").
            out.append(_Candidate(start, end, 1))
    return out


def _goods_candidates(tokens: list[_Token]) -> list[_Candidate]:
    """Brands in grocery-style titles: product noun, variety words and a proper name."""
    has_product = any(token.kind == _PRODUCT for token in tokens)
    out: list[_Candidate] = []
    for run_start, run_end in _runs(tokens, join_del=True):
        if run_start == 0 and not has_product:
            continue  # no known product noun: the first words may well be it ("Sal Lobos")
        before = tokens[run_start - 1] if run_start > 0 else None
        after = tokens[run_end] if run_end < len(tokens) else None
        start = run_start
        score = 2
        if before is not None and before.word in _PREPOSITIONS:
            # "Sin Polvos", "de Verano": the preposition's object is a variety.
            start += 1
        elif before is not None and before.kind == _COLOR:
            # "Verde Bosque": a colour's qualifier, or, as often in groceries, the maker after
            # a variety's colour ("Pan Blanco Lactal", "Alfajor Negro Tofi"): the name only
            # when nothing else is one.
            score = 1
        if start >= run_end:
            continue
        end = run_end
        if after is not None and after.word in _BINDING_PREPOSITIONS:
            if end - start > 1 and not (end - start == 2 and tokens[start].word in _TITLES):
                end -= 1  # "Downy Brisa de Verano": "Brisa" belongs to the variety
            else:
                score = 1  # "Harina Lobos de Trigo": a brand, or a variety's head word
        nxt = next((t for t in tokens[run_end:] if t.kind != _FUNCTION), None)
        if start == 0 and nxt is not None and nxt.kind == _PRODUCT:
            score = 3  # "Selecta Harina ...": a name before the product noun
        out.append(_Candidate(start, end, score))
    return out


def _opens_with_complement(tokens: list[_Token]) -> bool:
    """The title opens with a word and its noun complement, as Spanish titles of goods do
    (`NOUN_COMPLEMENTS`: "Pulpa de Tomate")."""
    from catalog.domain.extractor import NOUN_COMPLEMENTS

    return len(tokens) >= 3 and tokens[0].kind != _CODE and tokens[1].word in NOUN_COMPLEMENTS


def guess_brand(title: str, retailer_category: str | None, category_id: str | None) -> str | None:
    """The brand a model would read in `title`, or None when the title does not show one."""
    try:
        from catalog.domain.taxonomy import load_taxonomy
    except ImportError:
        return None
    category = load_taxonomy().get(category_id)
    tokens = _title_tokens(title[:_MAX_TITLE], retailer_category or "")
    shouting = title.upper() == title
    goods = False
    if category is None or category.kind == "tech":
        candidates = _named_model_candidates(tokens, numbered_names=False)
        if not candidates and _opens_with_complement(tokens):
            # "Caviar De Arenque Abba", "Espuma de baño ... Algabo ... 350 cc": a Spanish title
            # of goods the tree has no aisle for, read as goods are.
            candidates, goods = _goods_candidates(tokens), True
    elif category.id in _NAMED_MODEL_GOODS:
        candidates = _named_model_candidates(tokens, numbered_names=True)
        if not candidates and category.id in _MAKER_FIRST_GOODS:
            # "Vino Tinto Wampa Malbec 750 ml": a winery or brewery named after the product
            # noun, before the grape or the style.
            candidates, goods = _goods_candidates(tokens), True
    else:
        candidates, goods = _goods_candidates(tokens), True
    found: list[_Candidate] = []
    for candidate in candidates:
        if goods and candidate.end - candidate.start > _MAX_BRAND_WORDS:
            # "Shampoo Capilatis Ortiga Cabellos Secos": a maker, then its variety's words.
            candidate = _Candidate(candidate.start, candidate.start + 1, candidate.score)
        words = tokens[candidate.start : candidate.end]
        letters = sum(len(token.word) for token in words)
        if len(words) > _MAX_BRAND_WORDS or letters < 2:
            continue
        if letters == 2 and not (goods and len(candidates) == 1 and not shouting):
            continue
        found.append(candidate)
    if not found:
        return None
    found.sort(key=lambda c: (-c.score, c.start))
    if len(found) > 1 and found[1].score == found[0].score and not goods:
        return None
    # In a grocery title the maker comes before the variety ("Jabón Líquido Ala Camellito
    # Ropa Fina Matic"): of equally likely names, the first.
    best = found[0]
    start = tokens[best.start].start
    if best.start > 0:
        before = tokens[best.start - 1]
        governed = best.start > 1 and tokens[best.start - 2].word in _PREPOSITIONS
        if (
            before.word in _ARTICLES
            and title[before.start : before.start + 1].isupper()
            and not governed
        ):
            # "Leche La Serenísima Liviana": the maker's own article, written as part of its
            # name (a lower-case "la" belongs to the sentence, and so does one after a
            # preposition: "Jabón Líquido Para La Ropa Zorro").
            start = before.start
    return title[start : tokens[best.end - 1].end]


@dataclass(frozen=True)
class ExtractedListing:
    brand: str | None
    model: str | None
    normalized_name: str | None
    category: str | None
    attributes: dict[str, Any]
    confidence: float


def _extract(title: str, category: str) -> ExtractedListing:
    retailer_category = None if category in ("", "desconocida") else category
    try:
        from catalog.domain.extractor import extract
    except ImportError:
        # The deterministic extractor is not installed: answer with a plain heuristic.
        words = title.split()
        return ExtractedListing(
            brand=words[0].upper() if words else None,
            model=" ".join(words[1:3]) or None,
            normalized_name=" ".join(words) or None,
            category=retailer_category,
            attributes={},
            confidence=0.5,
        )
    result = extract(title, retailer_category=retailer_category)
    if not result.brand:
        guess = guess_brand(title, retailer_category, result.category)
        if guess is not None:
            informed = extract(title, retailer_category=retailer_category, brand_hint=guess)
            if informed.brand:
                result = informed
    return ExtractedListing(
        brand=result.brand,
        model=result.model,
        normalized_name=result.normalized_name,
        category=result.category,
        attributes=dict(result.attributes),
        confidence=float(result.confidence),
    )


def answer_object(user_text: str | None, model: str, *, low_confidence: bool) -> dict[str, Any]:
    """The JSON object a model would answer to `user_text`, in the shape its prompt asks for."""
    from catalog.llm.prompts import parse_prompt

    pair = match_answer(user_text) if user_text else None
    if pair is not None:
        return pair
    parsed = parse_prompt(user_text) if user_text else None
    if parsed is None:
        return dict(GENERIC_ANSWER)
    kind, item = parsed
    extraction = _extract(item.title, item.category)
    confidence = extraction.confidence
    if is_full_model(model):
        confidence += FULL_MODEL_CONFIDENCE_BONUS
    confidence = LOW_CONFIDENCE if low_confidence else round(min(confidence, MAX_CONFIDENCE), 2)

    key_map = _KIND_ATTRIBUTE_KEYS[kind]
    long_values = _long_attributes(extraction.attributes)
    attributes: dict[str, Any] = {
        short: long_values[long] for short, long in key_map.items() if long in long_values
    }
    taken = set(key_map.values())
    for name, value in extraction.attributes.items():
        if name not in taken and value not in (None, ""):
            attributes[name] = value

    if kind == "batch":
        return {"b": extraction.brand, "m": extraction.model, "a": attributes, "cf": confidence}
    if kind == "minimal":
        return {
            "brand": extraction.brand,
            "model": extraction.model,
            "attrs": attributes,
            "conf": confidence,
        }
    answer: dict[str, Any] = {
        "brand": extraction.brand,
        "model": extraction.model,
        "attributes": attributes,
    }
    if kind == "detailed":
        if extraction.normalized_name:
            answer["normalized_name"] = extraction.normalized_name
        answer["confidence"] = confidence
        if extraction.category and extraction.category != item.category:
            answer["category_suggestion"] = extraction.category
    else:
        answer["confidence"] = confidence
    return answer


def match_answer(user_text: str) -> dict[str, Any] | None:
    """The answer to a pairwise identity judgement (`catalog.identity.llm_judge`), or None when
    `user_text` is not one. The emulator answers as the shipped matcher decides at the
    `judge_at` threshold of the listing's category group, so an offline run judges exactly as
    `CATALOG_IDENTITY__JUDGE=matcher` would."""
    from catalog.identity.llm_judge import parse_match_prompt
    from catalog.identity.matcher import load_matcher

    sides = parse_match_prompt(user_text)
    if sides is None:
        return None
    listing, candidate = sides
    matcher = load_matcher()
    score = matcher.score(listing, candidate.facts, candidate.retailers or None)
    same = score >= matcher.thresholds_for(listing.category).judge_at
    return {"same": same, "confidence": round(score if same else 1.0 - score, 2)}


def _stable_fraction(text: str) -> float:
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def reasoning_tokens(effort: str, user_text: str) -> int:
    """A deterministic, effort-dependent reasoning token count (within ±20% of the base)."""
    base = REASONING_TOKENS[effort]
    return max(1, round(base * (0.8 + 0.4 * _stable_fraction(user_text))))


@dataclass(frozen=True)
class ContentFaults:
    low_confidence: bool = False
    malformed: MalformedKind | None = None


def chat_completion(
    request: ChatRequest,
    faults: ContentFaults,
    *,
    system_fingerprint: str,
    enforce_completion_limit: bool = True,
) -> dict[str, Any]:
    """A `chat.completion` object answering `request`."""
    user_text = request.last_user_text()
    answer = answer_object(user_text, request.model, low_confidence=faults.low_confidence)
    content = json.dumps(answer, ensure_ascii=False)
    if faults.malformed is not None:
        content = make_malformed(content, faults.malformed)
    answer_tokens = count_tokens(content)
    reasoning = (
        reasoning_tokens(request.reasoning_effort, user_text or "")
        if request.reasoning_effort
        else 0
    )
    finish_reason = "stop"
    limit = request.completion_limit
    if enforce_completion_limit and limit is not None and reasoning + answer_tokens > limit:
        # Like the real API: the budget covers reasoning first; what is left of the answer is cut.
        finish_reason = "length"
        reasoning = min(reasoning, limit)
        room = limit - reasoning
        content = content[: max(1, len(content) * room // answer_tokens)] if room > 0 else ""
        answer_tokens = count_tokens(content) if content else 0
    prompt_tokens = sum(count_tokens(text) + 4 for text in request.texts()) + 3
    completion_tokens = (answer_tokens + reasoning) * request.n
    return {
        "id": new_id("chatcmpl-", 29),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {
                "index": index,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish_reason,
            }
            for index in range(request.n)
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": reasoning * request.n,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": system_fingerprint,
    }


# --- embeddings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str
    inputs: list[str]
    dimensions: int
    encoding_format: str


def validate_embeddings(body: Any, models: dict[str, int]) -> EmbeddingRequest:
    if not isinstance(body, dict):
        raise ApiError(400, "We could not parse the JSON body of your request.")
    model = body.get("model")
    if not model:
        raise ApiError(400, "you must provide a model parameter")
    if "input" not in body:
        raise ApiError(
            400,
            "Missing required parameter: 'input'.",
            param="input",
            code="missing_required_parameter",
        )
    if model not in models:
        raise ApiError(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    raw = body["input"]
    inputs: list[str]
    if isinstance(raw, str):
        inputs = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(item, str) for item in raw):
        inputs = list(raw)
    elif isinstance(raw, list) and raw and all(isinstance(item, int) for item in raw):
        inputs = [" ".join(str(token) for token in raw)]
    elif (
        isinstance(raw, list)
        and raw
        and all(isinstance(item, list) and item for item in raw)
        and all(isinstance(token, int) for item in raw for token in item)
    ):
        inputs = [" ".join(str(token) for token in item) for item in raw]
    else:
        raise ApiError(400, "'$.input' is invalid. Please check the API reference.", param="input")
    if len(inputs) > 2048 or any(not text for text in inputs):
        raise ApiError(400, "'$.input' is invalid. Please check the API reference.", param="input")
    native = models[model]
    dimensions = body.get("dimensions")
    if dimensions is None:
        dimensions = native
    elif model == "text-embedding-ada-002":
        raise ApiError(
            400,
            "This model does not support specifying dimensions.",
            param="dimensions",
        )
    elif (
        not isinstance(dimensions, int)
        or isinstance(dimensions, bool)
        or not (1 <= dimensions <= native)
    ):
        raise ApiError(
            400,
            f"Invalid 'dimensions': expected an integer between 1 and {native}.",
            param="dimensions",
            code="invalid_value",
        )
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ("float", "base64"):
        raise ApiError(
            400,
            f"Invalid value: '{encoding_format}'. Supported values are: 'float' and 'base64'.",
            param="encoding_format",
            code="invalid_value",
        )
    return EmbeddingRequest(model, inputs, dimensions, encoding_format)


def _features(text: str) -> dict[str, float]:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    words = "".join(char if char.isalnum() else " " for char in folded).split()
    features: dict[str, float] = {}
    for word in words:
        features["w:" + word] = features.get("w:" + word, 0.0) + 1.0
        padded = f" {word} "
        for start in range(len(padded) - 2):
            gram = "g:" + padded[start : start + 3]
            features[gram] = features.get(gram, 0.0) + 0.5
    for first, second in itertools.pairwise(words):
        key = f"b:{first} {second}"
        features[key] = features.get(key, 0.0) + 0.5
    if not features:
        features["raw:" + text] = 1.0
    return features


@lru_cache(maxsize=256)
def embed(text: str, native_dims: int, dimensions: int) -> tuple[float, ...]:
    """A unit vector from hashed words, word pairs and character trigrams.

    Texts sharing words or spellings share buckets, so cosine similarity follows lexical
    overlap. Shortening works like the real models: the first `dimensions` components of the
    full vector, renormalised.
    """
    vector = [0.0] * native_dims
    for feature, weight in _features(text).items():
        digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")
        sign = 1.0 if digest & 1 else -1.0
        vector[(digest >> 1) % native_dims] += sign * weight
    head = vector[:dimensions]
    norm = math.sqrt(sum(value * value for value in head))
    if norm == 0.0:
        head[0] = norm = 1.0
    return tuple(value / norm for value in head)


def embeddings_response(request: EmbeddingRequest, native_dims: int) -> dict[str, Any]:
    data = []
    for index, text in enumerate(request.inputs):
        vector = embed(text, native_dims, request.dimensions)
        encoded: list[float] | str
        if request.encoding_format == "base64":
            packed = struct.pack(f"<{len(vector)}f", *vector)
            encoded = base64.b64encode(packed).decode("ascii")
        else:
            encoded = list(vector)
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(count_tokens(text) for text in request.inputs)
    return {
        "object": "list",
        "data": data,
        "model": request.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
