"""The test stack, started once per session: embedded processes, or containers where a Docker
engine is reachable (see `containers.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.devstack.stack import Stack
from tests.integration.containers import ContainerStack, use_containers


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root: Path = tmp_path_factory.mktemp("stack")
    stack = ContainerStack(root) if use_containers() else Stack(root)
    stack.emulator_args = ["--batch-step-s", "0.2"]
    stack.start_infra()
    try:
        yield stack
    finally:
        stack.stop_all()
