"""Server subprocesses: start (optionally pinned to CPUs), wait until ready, measure memory, stop.

Every server runs in its own session (process group), so stopping it signals exactly the processes
this harness started — the server and any children it forked — and nothing else.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BANNER = re.compile(r"listening on http://\[?([^\]\s/]+?)\]?:(\d+)")
#: A tiny trampoline that pins itself to CPUs, then becomes the real command (same pid).
_PIN = (
    "import os, sys; os.sched_setaffinity(0, {int(c) for c in sys.argv[1].split(',')}); "
    "os.execvp(sys.argv[2], sys.argv[2:])"
)


class ServerError(RuntimeError):
    """A server did not start, or died."""


def can_pin() -> bool:
    """Whether CPU affinity can be set here (Linux with at least 2 usable CPUs)."""
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


def pinned(cmd: Sequence[str], cpus: set[int] | None) -> list[str]:
    """``cmd`` wrapped so that it runs on ``cpus`` (unchanged when ``cpus`` is None)."""
    if not cpus:
        return list(cmd)
    return [sys.executable, "-c", _PIN, ",".join(map(str, sorted(cpus))), *cmd]


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for servers that cannot take ``--port 0``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server process and the output it printed."""

    name: str
    proc: subprocess.Popen[str]
    host: str = "127.0.0.1"
    port: int = 0
    output: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=200))
    _lines: collections.deque[str] = field(default_factory=collections.deque)
    _reader: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    def start_reader(self) -> None:
        """Drain the process's output in a thread (so a chatty server never blocks on a full pipe)."""

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                line = line.rstrip("\n")
                self.output.append(line)
                self._lines.append(line)

        self._reader = threading.Thread(target=read, name=f"{self.name}-output", daemon=True)
        self._reader.start()

    def next_line(self, deadline: float) -> str | None:
        """The next printed line, or None once the deadline passes or the process has exited."""
        while time.monotonic() < deadline:
            if self._lines:
                return self._lines.popleft()
            if self.proc.poll() is not None and not self._lines:
                if self._reader is not None:
                    self._reader.join(timeout=1)
                return self._lines.popleft() if self._lines else None
            time.sleep(0.02)
        return None

    def tail(self, lines: int = 15) -> str:
        """The last lines of output, for error messages."""
        return "\n".join(list(self.output)[-lines:])


def spawn(
    name: str,
    cmd: Sequence[str],
    cpus: set[int] | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Server:
    """Start ``cmd`` in a new session with merged stdout/stderr."""
    proc = subprocess.Popen(
        pinned(cmd, cpus),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        bufsize=1,
        start_new_session=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    server = Server(name, proc)
    server.start_reader()
    return server


def wait_for_banner(server: Server, timeout: float) -> list[str]:
    """Wait for the ``listening on http://HOST:PORT`` line; set host/port; return the lines before it."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        line = server.next_line(deadline)
        if line is None:
            state = f"exited with {server.proc.returncode}" if server.proc.poll() is not None else "timed out"
            raise ServerError(f"{server.name}: no 'listening on' line ({state}):\n{server.tail()}")
        match = BANNER.search(line)
        if match:
            server.host, server.port = match.group(1), int(match.group(2))
            return seen
        seen.append(line)


def wait_for_port(server: Server, timeout: float) -> None:
    """Wait until something accepts TCP connections on the server's port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise ServerError(f"{server.name}: exited with {server.proc.returncode}:\n{server.tail()}")
        with contextlib.suppress(OSError), socket.create_connection((server.host, server.port), timeout=1):
            return
        time.sleep(0.2)
    raise ServerError(f"{server.name}: port {server.port} not open after {timeout:.0f} s:\n{server.tail()}")


def stop(server: Server, grace: float = 10.0) -> None:
    """SIGTERM the server's process group, SIGKILL it after ``grace`` seconds, then any straggler."""
    proc = server.proc
    pgid = proc.pid  # start_new_session: the server leads its own group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout=grace)
    # members that outlived the leader still hold the group id, so these pids are ours
    for member in group_members(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
    if server._reader is not None:
        server._reader.join(timeout=2)


@contextlib.contextmanager
def running(
    name: str,
    cmd: Sequence[str],
    cpus: set[int] | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[Server]:
    """A server for the duration of a ``with`` block; always stopped on the way out."""
    server = spawn(name, cmd, cpus, env, cwd)
    try:
        yield server
    finally:
        stop(server)


# --- memory -------------------------------------------------------------------------------------


def _status_kb(pid: int, key: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (0 if the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _stats() -> Iterator[tuple[int, list[str]]]:
    """``(pid, fields after the command name)`` of every process in /proc/*/stat."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        yield int(entry.name), stat.rsplit(")", 1)[1].split()


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid``."""
    return [pid for pid, fields in _stats() if int(fields[2]) == pgid and fields[0] != "Z"]


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for member, fields in _stats():
        children[int(fields[1])].append(member)
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def tree_kb(pid: int, key: str) -> int:
    """``key`` (``VmHWM`` for peak RSS, ``VmRSS`` for current) summed over the process tree, in kB."""
    return sum(_status_kb(member, key) for member in process_tree(pid))
