"""`python -m catalog.devstack up|down|status|supervise|destroy` (the Makefile's `up`/`down`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from catalog.devstack.stack import STACK_SERVICES, Stack
from catalog.devstack.supervisor import Supervisor

DEFAULT_DIR = Path(os.environ.get("CATALOG_STACK_DIR", ".stack"))


def _prepare(stack: Stack) -> None:
    """Migrations and topics: both idempotent, so every `up` runs them."""
    from catalog.db.migrate import migrate
    from catalog.kafka.admin import create_topics, wait_for_broker
    from catalog.settings import KafkaSettings

    async def run() -> None:
        await migrate(stack.postgres_dsn)
        kafka = KafkaSettings(bootstrap=stack.kafka_bootstrap, partitions=stack.kafka_partitions)
        await wait_for_broker(kafka)
        await create_topics(kafka)

    asyncio.run(run())


def _ready(stack: Stack, service: str) -> bool:
    from catalog.service import SERVICE_PORT_OFFSETS

    port = stack.ports.web_base + SERVICE_PORT_OFFSETS[service]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def up(stack: Stack, with_services: bool, timeout_s: float) -> int:
    stack.start_infra()
    _prepare(stack)
    stack.write_env_file()
    if with_services and stack.status()["supervisor"] != "running":
        log = open(stack.root / "logs" / "supervisor.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "catalog.devstack", "--dir", str(stack.root), "supervise"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        (stack.root / "supervisor.pid").write_text(str(proc.pid))
    if with_services:
        deadline = time.monotonic() + timeout_s
        pending = set(STACK_SERVICES)
        while pending and time.monotonic() < deadline:
            pending = {s for s in pending if not _ready(stack, s)}
            time.sleep(0.5)
        if pending:
            print(
                f"services not ready after {timeout_s:.0f}s: {sorted(pending)}; "
                f"see {stack.root / 'logs'}",
                file=sys.stderr,
            )
            return 1
    print(json.dumps({"status": stack.status(), "env_file": str(stack.root / "stack.env")}))
    return 0


def supervise(stack: Stack) -> int:
    """Keep the six services and search running; restart any that exits (see
    `RestartPolicy`)."""
    stop = threading.Event()

    def on_term(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    supervisor = Supervisor(
        STACK_SERVICES, lambda name, env: stack.start_service(name, extra_env=env), log=sys.stdout
    )
    supervisor.run(stop)
    for name in STACK_SERVICES:
        stack.stop_process(name)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog.devstack")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    sub = parser.add_subparsers(dest="command", required=True)
    up_cmd = sub.add_parser("up", help="start the stack (and the services unless --infra-only)")
    up_cmd.add_argument("--infra-only", action="store_true")
    up_cmd.add_argument("--timeout", type=float, default=120.0)
    sub.add_parser("down", help="stop every process of the stack")
    sub.add_parser("destroy", help="stop and delete the stack's data")
    sub.add_parser("status", help="which processes are running")
    sub.add_parser("env", help="print the CATALOG_* variables of the stack")
    sub.add_parser("supervise", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    stack = Stack(args.dir)
    if args.command == "up":
        return up(stack, not args.infra_only, args.timeout)
    if args.command == "down":
        stack.stop_all()
        return 0
    if args.command == "destroy":
        stack.destroy()
        return 0
    if args.command == "status":
        print(json.dumps(stack.status(), indent=2))
        return 0
    if args.command == "env":
        print("".join(f"{k}={v}\n" for k, v in stack.env().items()), end="")
        return 0
    return supervise(stack)


if __name__ == "__main__":
    sys.exit(main())
