"""A TCP relay on loopback in front of a fake provider (FCM, APNs: TLS and HTTP/2), that breaks
the next connections it is told to break, then relays faithfully: how the native senders'
HTTP/2 transport is shown a provider resetting connections or answering garbage."""

from __future__ import annotations

import socket
import struct
import threading
from enum import StrEnum


class Breakage(StrEnum):
    RESET = "connection reset at connect"  # RST as soon as the connection is accepted
    GARBAGE = "non-TLS bytes"  # answers the ClientHello with bytes no TLS server sends
    TRUNCATED = "handshake cut short"  # relays the first bytes of the server's answer, then closes


GARBAGE_BYTES = b"HTTP/1.1 200 OK\r\n\r\n\x00\xff\x00\xff not a TLS record"
TRUNCATED_AFTER_BYTES = 60  # inside the ServerHello


class FaultyRelay:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.breakages: list[Breakage] = []  # one used up per new connection, in order
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name="faulty-relay").start()

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                breakage = self.breakages.pop(0) if self.breakages else None
            threading.Thread(target=self._serve, args=(client, breakage), daemon=True).start()

    def _serve(self, client: socket.socket, breakage: Breakage | None) -> None:
        if breakage is Breakage.RESET:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
            return
        if breakage is Breakage.GARBAGE:
            try:
                client.recv(65536)  # the ClientHello
                client.sendall(GARBAGE_BYTES)
            except OSError:
                pass
            client.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        limit = TRUNCATED_AFTER_BYTES if breakage is Breakage.TRUNCATED else None
        threading.Thread(target=_pipe, args=(client, upstream, None), daemon=True).start()
        _pipe(upstream, client, limit)

def _pipe(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
    """Copies source to sink until either end closes, or `limit` bytes have gone through; then
    closes both, so the other direction ends too."""
    sent = 0
    try:
        while limit is None or sent < limit:
            data = source.recv(65536 if limit is None else min(65536, limit - sent))
            if not data:
                break
            sink.sendall(data)
            sent += len(data)
    except OSError:
        pass
    for sock in (source, sink):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
