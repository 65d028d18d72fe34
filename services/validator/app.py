"""Faust wiring of the validator: consumes llm.results.v1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from catalog.domain.brands import load_brands
from catalog.domain.taxonomy import load_taxonomy
from catalog.kafka.topics import LLM_RESULTS, TopicSpec
from catalog.observability import configure
from catalog.service import Handler, HealthCheck, Publisher, ServiceApp
from catalog.settings import Settings, get_settings
from validator.logic import Validator


class ValidatorProcessor:
    def __init__(self, settings: Settings) -> None:
        self.validator = Validator(settings, load_taxonomy(), load_brands())

    async def start(self, publish: Publisher) -> None:
        return None

    async def stop(self) -> None:
        return None

    def handlers(self) -> dict[TopicSpec, Handler]:
        return {LLM_RESULTS: self.validator.handle}

    def health_checks(self) -> dict[str, HealthCheck]:
        return {}

    def timers(self) -> list[tuple[float, Callable[[], Awaitable[None]]]]:
        return []


def build(settings: Settings) -> ServiceApp:
    return ServiceApp("validator", settings, ValidatorProcessor(settings))


def main() -> None:
    settings = get_settings()
    configure("validator", settings)
    build(settings).run()
