"""A TCP proxy for fault injection: pass bytes, silently drop them, or reset connections.

`blackhole` is the half-open link: both ends keep their sockets and see no
error, but nothing arrives. Only an application-level ping with a deadline
notices that.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading


class FaultProxy:
    """Forward 127.0.0.1:<port> to an upstream port, in mode pass, blackhole or reset."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.mode = "pass"
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def set_mode(self, mode: str) -> None:
        assert mode in ("pass", "blackhole", "reset")
        self.mode = mode
        if mode == "reset":
            with self._lock:
                pairs, self._pairs = self._pairs, []
            for pair in pairs:
                for sock in pair:
                    _reset(sock)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "reset":
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=2)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peer = {a: b, b: a}
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if self.mode == "pass":
                        peer[sock].sendall(data)
                    # blackhole: read and drop, keep both ends open and silent
        except (OSError, ValueError):  # ValueError: a socket closed by set_mode("reset")
            return
        finally:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()
            with self._lock:
                if (a, b) in self._pairs:
                    self._pairs.remove((a, b))

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self.set_mode("reset")


def _reset(sock: socket.socket) -> None:
    """Close with RST, as a crashed peer or a middlebox would."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
