"""Fetch and producer batching settings: the environment's values unless set."""

from __future__ import annotations

import pytest

from catalog.settings import KAFKA_TUNING, KafkaSettings


@pytest.mark.parametrize("environment", ["dev", "test", "prod"])
def test_unset_values_come_from_the_environment(environment: str) -> None:
    assert KafkaSettings().tuning(environment) == KAFKA_TUNING[environment]


def test_a_value_set_wins_over_the_environment() -> None:
    tuning = KafkaSettings(linger_ms=0, fetch_min_bytes=1).tuning("prod")
    assert (tuning.linger_ms, tuning.fetch_min_bytes) == (0, 1)
    assert tuning.fetch_max_wait_ms == KAFKA_TUNING["prod"].fetch_max_wait_ms


def test_a_producer_batch_never_exceeds_the_request_limit() -> None:
    settings = KafkaSettings(max_batch_bytes=4_000_000, max_request_bytes=1_048_576)
    assert settings.tuning("dev").max_batch_bytes == 1_048_576


def test_production_waits_for_data_where_the_embedded_broker_cannot() -> None:
    assert KAFKA_TUNING["prod"].fetch_min_bytes > KAFKA_TUNING["dev"].fetch_min_bytes
    assert KAFKA_TUNING["dev"].fetch_max_wait_ms <= 20
