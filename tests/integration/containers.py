"""The same test stack on containers, for machines with a Docker engine.

The broker (Apache Kafka in KRaft mode), Postgres with pgvector and Redis run in containers
(testcontainers); the LLM emulator and the services stay local processes, exactly as on the
embedded stack. Chosen by `CATALOG_TEST_INFRA`: `embedded`, `docker`, or `auto` (the default:
docker when an engine answers, embedded otherwise).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from catalog.devstack.stack import Stack

KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
POSTGRES_IMAGE = "pgvector/pgvector:pg17"
REDIS_IMAGE = "redis:7-alpine"


def docker_reachable() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


def use_containers() -> bool:
    mode = os.environ.get("CATALOG_TEST_INFRA", "auto")
    if mode not in ("auto", "docker", "embedded"):
        raise ValueError(f"CATALOG_TEST_INFRA must be auto, docker or embedded, not {mode!r}")
    return mode == "docker" or (mode == "auto" and docker_reachable())


class ContainerStack(Stack):
    """A `Stack` whose broker, Postgres and Redis are containers."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._containers: list[Any] = []
        self._urls: dict[str, str] = {}

    @property
    def kafka_bootstrap(self) -> str:
        return self._urls["kafka"]

    @property
    def postgres_dsn(self) -> str:
        return self._urls["postgres"]

    @property
    def redis_url(self) -> str:
        return self._urls["redis"]

    def start_infra(self) -> None:
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.community.postgres import PostgresContainer
        from testcontainers.community.redis import RedisContainer

        kafka = KafkaContainer(KAFKA_IMAGE).with_kraft()
        postgres = PostgresContainer(POSTGRES_IMAGE, driver=None)
        redis = RedisContainer(REDIS_IMAGE)
        for container in (kafka, postgres, redis):
            container.start()
            self._containers.append(container)
        self._urls = {
            "kafka": kafka.get_bootstrap_server(),
            "postgres": postgres.get_connection_url(),
            "redis": (f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0"),
        }
        self.start_emulator()

    def stop_all(self) -> None:
        super().stop_all()
        while self._containers:
            self._containers.pop().stop()
