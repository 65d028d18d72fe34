"""A small `make chaos`: a few hundred messages, a SIGKILL of each service, a SIGTERM of each,
injected handler/send/commit faults, and short Postgres, Redis and LLM outages, on a private stack.

It needs the consume loop that commits only after delivery (with `CATALOG_FAULTS__*` fault
injection): the loop before it loses the messages behind an oversized dead letter, which is
exactly what this test exists to catch.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from catalog.chaos.run import ChaosConfig, ChaosRun
from catalog.devstack.stack import SERVICES

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
]


async def test_small_chaos_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    out = io.StringIO()
    config = ChaosConfig(
        listings=250,
        kills=len(SERVICES),
        outage_scale=0.1,
        kill_interval_s=1.0,
        # A short fault period sees few messages: a higher rate makes sure faults fire in it.
        fault_rate=0.25,
        timeout_s=120.0,
        oversized_bytes=1_000_000,
        root=tmp_path / "chaos",
        out=out,
    )
    chaos = ChaosRun(config)
    result = await chaos.run()
    report = out.getvalue() + "\n" + result.render()
    assert set(chaos.kills) == set(SERVICES), report
    assert set(chaos.terms) == set(SERVICES) and min(chaos.terms.values()) >= 2, report
    assert result.restarts >= 3 * len(SERVICES), report
    assert result.persisted and result.review and result.dlq, report
    assert result.rescrapes > 0, report
    assert chaos.injected > 0, report
    assert result.ok, report
