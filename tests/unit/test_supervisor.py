"""The devstack supervisor: the restart policy as plain logic, then with real child processes."""

from __future__ import annotations

import io
import itertools
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from catalog.devstack.supervisor import RestartPolicy, RestartState, Supervisor

POLICY = RestartPolicy(initial_delay_s=0.5, max_delay_s=4.0, factor=2.0, healthy_after_s=30.0)


def test_crashes_double_the_delay_up_to_the_bound() -> None:
    state = RestartState(POLICY)
    delays = [state.delay_after_exit(1, uptime_s=0.2) for _ in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


@pytest.mark.parametrize("code", [0, -signal.SIGTERM, -signal.SIGINT, 143])
def test_clean_exits_cost_nothing(code: int) -> None:
    state = RestartState(POLICY)
    for _ in range(3):
        state.delay_after_exit(-signal.SIGKILL, uptime_s=1.0)
    assert state.delay_after_exit(code, uptime_s=1.0) == POLICY.initial_delay_s
    # ... and they do not reset the crash count either: the next crash keeps growing.
    assert state.delay_after_exit(-signal.SIGKILL, uptime_s=1.0) == 4.0


def test_a_healthy_period_resets_the_backoff() -> None:
    state = RestartState(POLICY)
    for _ in range(5):
        state.delay_after_exit(-signal.SIGKILL, uptime_s=2.0)
    assert state.delay_after_exit(-signal.SIGKILL, uptime_s=29.0) == 4.0
    assert state.delay_after_exit(-signal.SIGKILL, uptime_s=30.0) == 0.5
    assert state.delay_after_exit(-signal.SIGKILL, uptime_s=1.0) == 1.0


def test_sigkill_is_a_crash() -> None:
    assert not POLICY.is_clean(-signal.SIGKILL)
    assert not POLICY.is_clean(1)
    assert POLICY.is_clean(0)


# -- real processes ---------------------------------------------------------------------------

SLEEPER = "import os, sys, time; print(os.environ.get('MARK', ''), flush=True); time.sleep(60)"


class Children:
    """Starts `python -c SLEEPER` children and remembers every one, to clean up after a test."""

    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, str], subprocess.Popen[bytes]]] = []

    def __call__(self, name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-c", SLEEPER],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
        )
        self.started.append((name, env, proc))
        return proc

    def stop(self) -> None:
        for _, _, proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def wait_for(check: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met")


def test_supervisor_restarts_killed_and_terminated_children_with_their_env() -> None:
    children = Children()
    log = io.StringIO()
    policy = RestartPolicy(initial_delay_s=0.1, max_delay_s=0.4, healthy_after_s=30.0)
    supervisor = Supervisor(["a", "b"], children, policy=policy, log=log)
    stop = threading.Event()
    runner = threading.Thread(target=supervisor.run, args=(stop, 0.05))
    runner.start()
    try:
        wait_for(lambda: supervisor.pid("a") and supervisor.pid("b"))
        first_a = supervisor.pid("a")
        assert first_a is not None
        supervisor.set_env("a", {"MARK": "faulty"})
        os.kill(first_a, signal.SIGKILL)
        wait_for(lambda: supervisor.pid("a") not in (None, first_a))
        assert supervisor.restarts() == {"a": 1, "b": 0}
        # The restarted child got the environment set while the first one ran.
        name, env, proc = children.started[-1]
        assert (name, env) == ("a", {"MARK": "faulty"})
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"faulty"

        pid_b = supervisor.pid("b")
        assert pid_b is not None
        os.kill(pid_b, signal.SIGTERM)
        wait_for(lambda: supervisor.pid("b") not in (None, pid_b))
        assert supervisor.restarts() == {"a": 1, "b": 1}
        text = log.getvalue()
        assert "a exited with -9" in text and "restart #1 in 0.1s" in text
        assert f"b exited with {-signal.SIGTERM}" in text
    finally:
        stop.set()
        runner.join()
        children.stop()


def test_a_child_that_keeps_crashing_is_restarted_with_bounded_growing_delays() -> None:
    crashes: list[float] = []

    def crasher(name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        crashes.append(time.monotonic())
        return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])

    policy = RestartPolicy(initial_delay_s=0.1, max_delay_s=0.4, healthy_after_s=30.0)
    supervisor = Supervisor(["c"], crasher, policy=policy)
    stop = threading.Event()
    runner = threading.Thread(target=supervisor.run, args=(stop, 0.02))
    runner.start()
    try:
        wait_for(lambda: len(crashes) >= 6, timeout_s=20)
    finally:
        stop.set()
        runner.join()
    gaps = [b - a for a, b in itertools.pairwise(crashes)][:5]
    # 0.1, 0.2, 0.4, 0.4, 0.4 plus process start-up; never beyond the bound by much.
    assert gaps[2] > gaps[0]
    assert all(g < 0.4 + 2.0 for g in gaps)
    assert supervisor.restarts()["c"] >= 5
