"""Shared pieces of the benchmarks: a production-style server, concurrent HTTP clients, percentiles.

Benchmarks run against the PostgreSQL in ``DATABASE_URL`` and print their figures with the data size.
Each takes ``--ci`` to run at a small size, so that CI keeps every benchmark working.
"""

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")


def django_setup() -> None:
    import django

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Benchmarks measure PostgreSQL: set DATABASE_URL=postgres://...")
    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(
    workers: int = 4, threads: int = 1, env: dict[str, str] | None = None, wsgi: str = "crm.wsgi"
) -> Iterator[int]:
    """Run gunicorn with production settings on a free loopback port; yield the port. ``wsgi`` names
    another application module for a variant (``benchmarks/privacy.py`` compares one without the log)."""
    port = free_port()
    environment = {
        **os.environ,
        "CRM_ENV": "production",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-secret-key-" + "x" * 40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "API_THROTTLE_USER": "10000000/min",
        "API_THROTTLE_EVENTS": "10000000/min",
        "LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            wsgi,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env={**environment, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")])},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None:
                raise RuntimeError("gunicorn exited before it served")
            time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def processes_cpu_seconds(*needles: str) -> dict[int, float]:
    """CPU time (user + system) used so far by each process (by pid) whose command line holds every one
    of ``needles`` (a gunicorn serving a port; the PostgreSQL backends of a database, whose process titles
    name it). On a machine shared with other work, latency measures the queue for the cores; this, the
    cost of the requests themselves. Subtract with ``cpu_seconds_since``."""
    used = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not all(needle in command for needle in needles):
                continue
            used[int(entry.name)] = pid_cpu_seconds(int(entry.name))
        except OSError:
            continue
    return used


def server_and_database_cpu(port: int, database: str) -> tuple[dict[int, float], dict[int, float]]:
    """CPU seconds used so far by the gunicorn serving ``port`` and by the database's PostgreSQL backends
    (when PostgreSQL runs on this machine; else nothing), per process: subtract two readings with
    ``cpu_seconds_since``."""
    return (
        processes_cpu_seconds("gunicorn", f"127.0.0.1:{port}"),
        processes_cpu_seconds("postgres:", f" {database} "),
    )


def pid_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) one local process has used so far, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def cpu_seconds_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the processes used between two readings (a process that exited in between is lost)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


@dataclass
class Run:
    """Latencies (seconds) and what each request reported."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0
    extra: list[Any] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def summary(self) -> dict[str, float]:
        return {
            "requests": len(self.latencies),
            "rps": len(self.latencies) / self.elapsed if self.elapsed else 0.0,
            "p50_ms": self.percentile(50) * 1000,
            "p95_ms": self.percentile(95) * 1000,
            "p99_ms": self.percentile(99) * 1000,
            "mean_ms": statistics.fmean(self.latencies) * 1000 if self.latencies else float("nan"),
        }


Request = tuple[str, str, bytes | None, dict[str, str]]  # method, path, body, headers


def load(
    port: int,
    clients: int,
    requests: Callable[[int], Iterator[Request]],
    on_response: Callable[[int, bytes], Any] | None = None,
) -> Run:
    """Send each client's requests, all clients at once, each request on its own connection (gunicorn's
    sync workers close every connection after its response, as they do behind a proxy).

    A client writes its request on a plain socket and reads the response to the end, rather than through
    ``http.client``, whose header parsing costs more CPU than some of the requests measured here (0.30
    against 0.14 ms a request, measured against a server that answers at once): the clients share the
    machine's cores with the server, and their cost would be counted as the server's latency."""
    run = Run()
    lock = threading.Lock()

    def client(number: int) -> None:
        for method, path, body, headers in requests(number):
            message = _message(port, method, path, body, headers)
            started = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port), timeout=120) as connection:
                connection.sendall(message)
                chunks = []
                while chunk := connection.recv(1 << 18):
                    chunks.append(chunk)
            latency = time.perf_counter() - started
            status, payload = _response(b"".join(chunks))
            extra = on_response(status, payload) if on_response else None
            with lock:
                run.latencies.append(latency)
                run.statuses[status] = run.statuses.get(status, 0) + 1
                if extra is not None:
                    run.extra.append(extra)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.elapsed = time.perf_counter() - started
    return run


def _message(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def _response(raw: bytes) -> tuple[int, bytes]:
    """The status and body of a whole HTTP/1.1 response, read until the server closed the connection."""
    head, _, body = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise RuntimeError(f"not an HTTP response: {raw[:80]!r}")
    status = int(head[9:12])
    if b"\r\ntransfer-encoding: chunked" in head.lower():
        decoded, rest = [], body
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            length = int(size.split(b";")[0], 16)
            if length == 0:
                break
            decoded.append(rest[:length])
            rest = rest[length + 2 :]
        body = b"".join(decoded)
    return status, body


def cpu_reference() -> float:
    """Milliseconds of CPU a fixed Python loop takes here now. This machine's cores run the same code
    about a quarter slower after minutes of full load than after a pause (a loop ten times this one took
    1.84 s rested and 2.34 s right after a benchmark): printed beside the figures, it tells runs apart."""
    started = time.process_time()
    total = 0
    for number in range(2_000_000):
        total += number * number % 7
    return (time.process_time() - started) * 1000


def table_rows(table: str) -> int:
    """The planner's estimate of a table's rows: instant on any size, exact enough for a report."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row else 0


def print_json(title: str, figures: dict[str, Any]) -> None:
    print(f"\n{title}")
    for key, value in figures.items():
        print(f"  {key:<28} {value:,.1f}" if isinstance(value, float) else f"  {key:<28} {value}")
    sys.stdout.flush()


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()
