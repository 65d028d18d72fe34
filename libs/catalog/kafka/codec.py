"""The pydantic codec: models go on the wire as their JSON, and come back validated.

Faust topics are declared with raw bytes so that decoding happens here, where a bad message
becomes a `ContractError` that the service dead-letters instead of a crash inside the driver.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# The largest message any topic accepts; the raw topic accepts less (`topics.RAW_MAX_BYTES`).
MAX_MESSAGE_BYTES = 1_000_000


class ContractError(ValueError):
    """A message does not match its topic's contract."""


def encode(value: BaseModel) -> bytes:
    # `model_dump_json` is this same call decoded to a str (which the wire needs as bytes).
    return value.__pydantic_serializer__.to_json(value)


def decode(model: type[M], data: bytes | None, max_bytes: int = MAX_MESSAGE_BYTES) -> M:
    if data is None:
        raise ContractError("empty message (tombstone) on a topic that requires a value")
    if len(data) > max_bytes:
        raise ContractError(f"message of {len(data)} bytes exceeds the maximum of {max_bytes}")
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        # Keep the reason short and readable: the first few field errors, no input echo.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors(include_input=False)[:5]
        )
        raise ContractError(f"{model.__name__} invalid: {problems}") from None
