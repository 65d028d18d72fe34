"""What every command shares: consoles, exit codes, settings."""

from __future__ import annotations

import typer
from rich.console import Console

from catalog.settings import Settings, get_settings

# Soft wrap: a message stays one line (greppable, copyable) however narrow the terminal.
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def load_settings() -> Settings:
    return get_settings()


def fail(message: str, code: int = EXIT_PROBLEM) -> typer.Exit:
    """Print one clear line and return the exit to raise."""
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)
