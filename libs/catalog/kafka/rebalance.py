"""The clock of a consumer waiting for its group's rebalance to complete.

A consumer of a group is waiting from the moment it is subscribed, and again from the moment its
partitions are revoked, until the coordinator hands it an assignment (the
`on_partitions_assigned` callback, which also comes with an empty assignment when the group has
more members than partitions). A coordinator that works completes a rebalance within
`KafkaSettings.rebalance_stall_limit_s`; one that has waited longer is stuck (a broker bug, a
member holding the join), and the consume loop replaces its consumer by a new group member.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RebalanceWatch:
    """How long the consumer has been waiting for an assignment, against a limit."""

    def __init__(self, limit_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit_s = limit_s
        self._clock = clock
        # When the wait started; None while the consumer holds a completed assignment.
        self.waiting_since: float | None = None
        # Consumers replaced because their wait went over the limit.
        self.reopened = 0

    def subscribed(self) -> None:
        """A new consumer subscribed: its wait starts now."""
        self.waiting_since = self._clock()

    def revoked(self) -> None:
        """The partitions were revoked: a rebalance started (unless one is already waited for,
        whose start is kept: a stuck rebalance must not look younger than it is)."""
        if self.waiting_since is None:
            self.waiting_since = self._clock()

    def assigned(self) -> None:
        """The rebalance completed (with partitions or legitimately without)."""
        self.waiting_since = None

    def waited_s(self) -> float | None:
        """How long the consumer has been waiting, or None when it is not waiting."""
        if self.waiting_since is None:
            return None
        return max(0.0, self._clock() - self.waiting_since)

    def remaining_s(self) -> float | None:
        """Time left before the wait is over the limit (0 when it is), None when not waiting."""
        waited = self.waited_s()
        return None if waited is None else max(0.0, self.limit_s - waited)

    def overdue(self) -> bool:
        waited = self.waited_s()
        return waited is not None and waited > self.limit_s
