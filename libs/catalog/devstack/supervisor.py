"""Keep a set of service processes running: restart what exits, with a bounded, forgiving delay.

The restart delay is a plain policy (`RestartPolicy`) so that it can be tested without processes:

- a crash doubles the delay from `initial_delay_s` up to `max_delay_s`, so a service that dies at
  once on every start does not spin;
- a clean exit (status 0, or ended by SIGTERM/SIGINT: someone asked it to stop) costs nothing and
  restarts after the initial delay;
- a process that stayed up for `healthy_after_s` was healthy: its crash count starts again from
  zero, so a service killed now and then always comes back within a second or so.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

CLEAN_EXIT_CODES = frozenset({0, -signal.SIGTERM, -signal.SIGINT, 128 + signal.SIGTERM})


@dataclass(frozen=True)
class RestartPolicy:
    initial_delay_s: float = 0.5
    max_delay_s: float = 4.0
    factor: float = 2.0
    healthy_after_s: float = 30.0

    def is_clean(self, returncode: int) -> bool:
        return returncode in CLEAN_EXIT_CODES


@dataclass
class RestartState:
    """What the policy remembers about one service between its exits."""

    policy: RestartPolicy = field(default_factory=RestartPolicy)
    consecutive_crashes: int = 0

    def delay_after_exit(self, returncode: int, uptime_s: float) -> float:
        """The delay before the next start, given how the last run ended and how long it lasted."""
        if uptime_s >= self.policy.healthy_after_s:
            self.consecutive_crashes = 0
        if self.policy.is_clean(returncode):
            return self.policy.initial_delay_s
        delay = self.policy.initial_delay_s * self.policy.factor**self.consecutive_crashes
        self.consecutive_crashes += 1
        return min(delay, self.policy.max_delay_s)


class Starter(Protocol):
    def __call__(self, name: str, env: dict[str, str]) -> subprocess.Popen[bytes]: ...


@dataclass
class _Child:
    state: RestartState
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    restarts: int = 0


class Supervisor:
    """Starts each named service through `start` and restarts it whenever it exits.

    `set_env` changes the extra environment of a service from its next start on (the chaos run
    switches fault injection on and off this way). `step` does one round of checks and is what
    `run` repeats; tests call it directly.
    """

    def __init__(
        self,
        names: Iterable[str],
        start: Starter,
        policy: RestartPolicy | None = None,
        log: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._start = start
        self._clock = clock
        self._log = log
        self._lock = threading.Lock()
        self._children = {n: _Child(RestartState(policy or RestartPolicy())) for n in names}

    # -- queries ------------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return list(self._children)

    def pid(self, name: str) -> int | None:
        proc = self._children[name].proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def restarts(self) -> dict[str, int]:
        return {n: c.restarts for n, c in self._children.items()}

    def set_env(self, name: str, env: dict[str, str]) -> None:
        with self._lock:
            self._children[name].env = dict(env)

    # -- work ---------------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        if self._log is not None:
            print(text, file=self._log, flush=True)

    def _launch(self, name: str, child: _Child) -> None:
        child.proc = self._start(name, dict(child.env))
        child.started_at = self._clock()
        child.restart_at = None

    def start_all(self) -> None:
        with self._lock:
            for name, child in self._children.items():
                self._launch(name, child)

    def step(self) -> None:
        with self._lock:
            now = self._clock()
            for name, child in self._children.items():
                proc = child.proc
                if proc is None:
                    continue
                code = proc.poll()
                if code is None:
                    continue
                if child.restart_at is None:
                    delay = child.state.delay_after_exit(code, now - child.started_at)
                    child.restart_at = now + delay
                    child.restarts += 1
                    self._say(
                        f"{name} exited with {code} after {now - child.started_at:.1f}s; "
                        f"restart #{child.restarts} in {delay:.1f}s"
                    )
                if now >= child.restart_at:
                    self._launch(name, child)

    def run(self, stop: threading.Event, interval_s: float = 0.2) -> None:
        """`start_all`, then `step` until `stop` is set."""
        self.start_all()
        while not stop.wait(interval_s):
            self.step()
