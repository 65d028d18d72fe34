"""The consume loop's rebalance clock: when a consumer has waited too long for an assignment.
The loop's use of it (closing and replacing the consumer) runs against the real broker in
tests/integration/test_delivery.py."""

from __future__ import annotations

import pytest

from catalog.kafka.loop import LoopStatus
from catalog.kafka.rebalance import RebalanceWatch
from catalog.settings import KafkaSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_gives_a_working_coordinator_a_session_and_two_join_rounds() -> None:
    settings = KafkaSettings(session_timeout_s=10, rebalance_timeout_s=5)
    assert settings.rebalance_stall_limit_s == 20
    assert KafkaSettings().rebalance_stall_limit_s == 30 + 2 * 5
    assert KafkaSettings(rebalance_stall_s=7.5).rebalance_stall_limit_s == 7.5


def test_a_limit_of_zero_or_less_is_refused() -> None:
    with pytest.raises(ValueError):
        KafkaSettings(rebalance_stall_s=0)


def test_a_subscribed_consumer_is_overdue_only_past_the_limit() -> None:
    clock = Clock()
    watch = RebalanceWatch(20, clock)
    assert watch.waited_s() is None and not watch.overdue()
    watch.subscribed()
    clock.now += 20
    assert watch.waited_s() == 20 and watch.remaining_s() == 0 and not watch.overdue()
    clock.now += 0.1
    assert watch.overdue()


def test_an_assignment_ends_the_wait_even_when_it_is_empty() -> None:
    # Whether it came with partitions is not the watch's business: the callback is the signal.
    clock = Clock()
    watch = RebalanceWatch(20, clock)
    watch.subscribed()
    clock.now += 5
    watch.assigned()
    clock.now += 60
    assert watch.waited_s() is None and watch.remaining_s() is None and not watch.overdue()


def test_a_revocation_starts_a_new_wait_from_that_moment() -> None:
    clock = Clock()
    watch = RebalanceWatch(20, clock)
    watch.subscribed()
    watch.assigned()
    clock.now += 100
    watch.revoked()
    clock.now += 15
    assert watch.waited_s() == 15 and watch.remaining_s() == 5 and not watch.overdue()
    clock.now += 6
    assert watch.overdue()


def test_a_revocation_during_a_wait_does_not_make_the_wait_younger() -> None:
    clock = Clock()
    watch = RebalanceWatch(20, clock)
    watch.subscribed()
    clock.now += 15
    watch.revoked()
    clock.now += 6
    assert watch.waited_s() == 21 and watch.overdue()


def test_a_new_consumer_starts_its_own_wait() -> None:
    clock = Clock()
    watch = RebalanceWatch(20, clock)
    watch.subscribed()
    clock.now += 25
    assert watch.overdue()
    watch.subscribed()
    assert watch.waited_s() == 0 and not watch.overdue()


def test_health_reports_a_joining_consumer_and_how_long_it_has_waited() -> None:
    clock = Clock()
    watch = RebalanceWatch(20, clock)
    status = LoopStatus(rebalance=watch)
    assert status.report() == {"state": "consuming"}
    watch.subscribed()
    watch.reopened = 1
    clock.now += 12.34
    assert status.report() == {"state": "joining", "for_s": 12.3, "limit_s": 20, "reopened": 1}
    watch.assigned()
    assert status.report() == {"state": "consuming"}


def test_a_failure_being_waited_out_is_reported_first() -> None:
    watch = RebalanceWatch(20, Clock())
    watch.subscribed()
    status = LoopStatus(waiting_on="kafka", error="KafkaConnectionError", since=0, rebalance=watch)
    assert status.report()["state"] == "retrying"
