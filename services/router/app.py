"""Faust wiring of the router: consumes products.raw.v1, produces products.routed.v1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from catalog.kafka.topics import RAW, TopicSpec
from catalog.observability import configure
from catalog.service import Handler, HealthCheck, Publisher, ServiceApp
from catalog.settings import Settings, get_settings
from router.logic import Router


class RouterProcessor:
    def __init__(self, settings: Settings) -> None:
        self.router = Router(settings)

    async def start(self, publish: Publisher) -> None:
        return None

    async def stop(self) -> None:
        return None

    def handlers(self) -> dict[TopicSpec, Handler]:
        return {RAW: self.router.handle}

    def health_checks(self) -> dict[str, HealthCheck]:
        return {}

    def timers(self) -> list[tuple[float, Callable[[], Awaitable[None]]]]:
        return []


def build(settings: Settings) -> ServiceApp:
    return ServiceApp("router", settings, RouterProcessor(settings))


def main() -> None:
    settings = get_settings()
    configure("router", settings)
    build(settings).run()
