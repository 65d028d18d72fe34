"""Fetch, producer batching and group-leave settings: the environment's values unless set."""

from __future__ import annotations

import pytest

from catalog.settings import KAFKA_TUNING, KafkaSettings, KafkaTuning, Settings


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


def test_a_service_can_fetch_with_its_own_wait() -> None:
    environment = KafkaTuning(
        fetch_max_wait_ms=20,
        fetch_min_bytes=1,
        linger_ms=2,
        max_batch_bytes=16_384,
        service_fetch_max_wait_ms={"router": 5},
    )
    tunings = {**KAFKA_TUNING, "hot": environment}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("catalog.settings.KAFKA_TUNING", tunings)
        unset = KafkaSettings()
        # The environment's value for the service, the environment's wait for the others.
        assert unset.tuning("hot", "router").fetch_max_wait_ms == 5
        assert unset.tuning("hot", "validator").fetch_max_wait_ms == 20
        assert unset.tuning("hot").fetch_max_wait_ms == 20
        # A wait set for every service wins over the environment's per-service value...
        assert KafkaSettings(fetch_max_wait_ms=50).tuning("hot", "router").fetch_max_wait_ms == 50
        # ... and a wait set for the service wins over both.
        named = KafkaSettings(fetch_max_wait_ms=50, service_fetch_max_wait_ms={"router": 1})
        assert named.tuning("hot", "router").fetch_max_wait_ms == 1
        assert named.tuning("hot", "persister").fetch_max_wait_ms == 50


def test_a_service_wait_can_be_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_KAFKA__SERVICE_FETCH_MAX_WAIT_MS", '{"persister": 3}')
    settings = Settings()
    assert settings.kafka.tuning("dev", "persister").fetch_max_wait_ms == 3


@pytest.mark.parametrize(
    ("environment", "leaves"), [("dev", False), ("test", False), ("prod", True)]
)
def test_only_production_consumers_leave_their_group_on_close(
    environment: str, leaves: bool
) -> None:
    # The embedded broker (dev, test) can stay stuck after a LeaveGroup; real Kafka cannot.
    assert KafkaSettings().tuning(environment).leave_group_on_close is leaves


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize("leave", [True, False])
def test_leaving_on_close_set_wins_over_the_environment(environment: str, leave: bool) -> None:
    tuning = KafkaSettings(leave_group_on_close=leave).tuning(environment, "router")
    assert tuning.leave_group_on_close is leave


def test_leaving_on_close_can_be_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_ENVIRONMENT", "dev")
    monkeypatch.setenv("CATALOG_KAFKA__LEAVE_GROUP_ON_CLOSE", "true")
    settings = Settings()
    assert settings.kafka.tuning(settings.environment).leave_group_on_close is True
