"""What the HTTP benchmarks share: ports, logging, and how idle the machine is."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def idle_fraction(seconds: float = 5.0) -> float:
    """Share of all cores' time spent idle over the next ``seconds``."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, total

    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return (idle1 - idle0) / max(total1 - total0, 1)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
