"""Pipelines started at the same time never fight over a port, and a port taken by an outsider
between the reservation and the bind is survived by moving the service."""

from __future__ import annotations

import asyncio
import socket

import pytest

from catalog.devstack.stack import PORTS, Stack
from tests.integration.harness import Pipeline, start_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SERVICES = ("router", "persister")


async def test_pipelines_started_together_get_distinct_ports_and_all_come_up(stack: Stack) -> None:
    started = await asyncio.gather(
        *(start_pipeline(stack, services=SERVICES) for _ in range(3)), return_exceptions=True
    )
    pipelines = [p for p in started if isinstance(p, Pipeline)]
    try:
        errors = [e for e in started if isinstance(e, BaseException)]
        assert not errors, errors
        ports = [p.web_ports[s] for p in pipelines for s in SERVICES]
        assert len(set(ports)) == len(ports)
        assert set(ports) <= PORTS.held()
        for pipeline in pipelines:
            for service in SERVICES:
                status, report = pipeline.health(service)
                assert status == 200, report
    finally:
        for pipeline in pipelines:
            pipeline.stop()


async def test_a_port_taken_by_an_outsider_is_replaced(stack: Stack) -> None:
    # A listener that does not use the allocator takes the port after it was reserved.
    port = PORTS.reserve()
    PORTS.release(port)
    with socket.socket() as outsider:
        outsider.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        outsider.bind(("0.0.0.0", port))
        outsider.listen()
        pipeline = await start_pipeline(stack, services=("router",), web_ports={"router": port})
        try:
            assert pipeline.web_ports["router"] != port
            assert pipeline.ready("router")
        finally:
            pipeline.stop()
