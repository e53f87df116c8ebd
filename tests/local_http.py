"""A real HTTP server on 127.0.0.1 for download and fetch tests: routes answer with set bodies,
failures first, optional truncation, delay and drip (one byte every `drip` seconds, as a server
that never quite stops answering; with `drip_headers` the bytes dripped are an endless header line).
The `server` fixture lives in conftest.py."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Route:
    """What the server answers for one path; `fail` answers are given first, one per request."""

    def __init__(self, body: bytes = b"", status: int = 200, headers: dict | None = None,
                 fail: list[int] | None = None, truncate: int = 0, delay: float = 0.0, drip: float = 0.0,
                 fail_headers: dict | None = None, drip_headers: bool = False):
        self.body, self.status, self.headers = body, status, headers or {}
        self.fail, self.truncate, self.delay, self.drip = list(fail or []), truncate, delay, drip
        self.fail_headers = fail_headers or {}
        self.drip_headers = drip_headers


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        self.server.hits.append(self.path)
        route = self.server.routes.get(path)
        if route is None:
            return self._answer(404, b'{"status": 404, "message": "not found"}')
        if route.delay:
            time.sleep(route.delay)
        if route.fail:
            return self._answer(route.fail.pop(0), b"try later", route.fail_headers)
        if route.drip:
            return self._drip(route)
        self._answer(route.status, route.body, route.headers, route.truncate)

    def _drip(self, route):
        if route.drip_headers:
            return self._drip_headers(route)
        self.send_response(route.status)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        try:
            for index in range(len(route.body)):
                self.wfile.write(route.body[index:index + 1])
                self.wfile.flush()
                time.sleep(route.drip)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _drip_headers(self, route):
        self.wfile.write(f"HTTP/1.1 {route.status} OK\r\nX-Slow: ".encode())
        try:
            for _ in range(100_000):
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(route.drip)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, status, body, headers=None, truncate=0):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body[:len(body) - truncate])
        except (BrokenPipeError, ConnectionResetError):
            pass


def running_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.routes, httpd.hits = {}, []
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def serve(server, path: str, body: bytes = b"", **kwargs) -> str:
    server.routes[path] = Route(body, **kwargs)
    return server.base + path
