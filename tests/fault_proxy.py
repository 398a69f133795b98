"""A TCP proxy for fault tests, between the app and the S3 server: it passes, resets, cuts mid-body or holds
connections. Loopback only; every connection it holds is released within HOLD_LIMIT seconds."""
import socket
import threading

HOLD_LIMIT = 30


class FaultProxy:
    """Listens on a free loopback port and forwards to target ("host:port") in the current mode."""

    def __init__(self, target):
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.mode = "pass"  # pass | reset | cut | hold
        self.cut_after = 1024  # "cut": bytes of the request passed on before both sides are closed
        self.arrived = threading.Event()  # set when a connection comes in (for tests that act mid-request)
        self.release = threading.Event()  # "hold": connections wait for this (or HOLD_LIMIT) before going on
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open, self._stopped = set(), threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def switch(self, mode):
        """Take up a new mode, closing every open connection so the client's pool must connect again."""
        self.mode = mode
        self.arrived.clear()
        for sock in list(self._open):
            self._close(sock)

    def _accept(self):
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self._open.add(client)
            self.arrived.set()
            threading.Thread(target=self._serve, args=(client, self.mode), daemon=True).start()

    def _serve(self, client, mode):
        if mode == "reset":  # SO_LINGER 0: close with a RST, as a crashed store does
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            return self._close(client)
        if mode == "hold":
            self.release.wait(HOLD_LIMIT)
        try:
            upstream = socket.create_connection(self.target, timeout=HOLD_LIMIT)
        except OSError:
            return self._close(client)
        self._open.add(upstream)
        limit = self.cut_after if mode == "cut" else None
        threading.Thread(target=self._pump, args=(upstream, client, None), daemon=True).start()
        self._pump(client, upstream, limit)

    def _pump(self, source, sink, limit):
        """Copy bytes until either side closes; with a limit, close both once that many bytes went through."""
        passed = 0
        try:
            source.settimeout(HOLD_LIMIT)
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if limit is not None and passed + len(data) >= limit:
                    sink.sendall(data[: limit - passed])
                    break
                sink.sendall(data)
                passed += len(data)
        except OSError:
            pass
        finally:
            self._close(source)
            self._close(sink)

    def _close(self, sock):
        self._open.discard(sock)
        try:
            sock.close()
        except OSError:
            pass

    def stop(self):
        """Stop listening and close every connection."""
        self._stopped.set()
        self.release.set()
        self._listener.close()
        for sock in list(self._open):
            self._close(sock)
        self._thread.join(5)
