"""The embedded stack, started once per test session (no Docker needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.devstack.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root: Path = tmp_path_factory.mktemp("stack")
    stack = Stack(root)
    stack.emulator_args = ["--batch-step-s", "0.2"]
    stack.start_infra()
    try:
        yield stack
    finally:
        stack.stop_all()
