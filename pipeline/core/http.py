"""The one HTTP transport: every client (download, Zenodo deposit, fetch-source) goes through it.

What it guarantees, whoever calls it:
- a connect and a read timeout on every request, and an overall deadline per transfer (all
  attempts, waits, the connect, the headers and the body of one `Transport.retrying` call), so a
  server that drips a byte every few seconds, in its headers or its body, is given up on: at the
  deadline a watchdog shuts the transfer's connections down (`Clock.guard`);
- bounded retries with exponential backoff, honouring one Retry-After parser (seconds or an
  HTTP-date, ASCII digits only); a server that asks for a longer wait than the policy allows
  is given up on at once;
- redirects followed by hand, each hop checked by the caller's policy (https only, or the
  same origin for a client that carries a token);
- bodies counted against a size limit while they stream, with a progress callback.

It never prints: progress is a callback (label, total bytes or None, bytes just moved) that the
command line turns into a progress bar. Failures are `Problem`s inside `ProblemsFound`.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import hashlib
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Callable, TypeVar
from urllib.parse import urljoin, urlsplit

from pipeline.core.problems import Problem, ProblemsFound

Progress = Callable[[str, "int | None", int], None]
T = TypeVar("T")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 1 << 16


@dataclass(frozen=True)
class Policy:
    """How patient a client is. `deadline` bounds one whole transfer, retries included."""

    timeout: tuple[float, float] = (10.0, 60.0)  # connect, read (per socket read)
    retries: int = 4                  # after the first attempt
    backoff: float = 0.5              # seconds, doubled each retry
    max_backoff: float = 8.0
    max_retry_after: float = 300.0    # a longer Retry-After: give up and say so
    max_redirects: int = 10
    deadline: float | None = 6 * 3600.0

    def delay(self, attempt: int, wait: float | None) -> float:
        """The pause before retry number `attempt` (1-based): backoff, or longer if the server asked."""
        delay = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
        return max(delay, wait) if wait is not None else delay


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks to wait: delta-seconds (ASCII digits only) or an HTTP-date."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_allowed(url: str) -> bool:
    """https anywhere; plain http only to this machine (so tests run on 127.0.0.1)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))


def same_origin(base: str) -> Callable[[str], bool]:
    origin = urlsplit(base)
    return lambda url: (urlsplit(url).scheme, urlsplit(url).netloc) == (origin.scheme, origin.netloc)


def connection_reason(error: Exception) -> str:
    """The useful tail of a requests/urllib3 connection error ("Connection refused", "timed out")."""
    text = str(error)
    tail = text.rsplit(": ", 1)[-1].strip(" ')\"") if ": " in text else text
    if "Name or service not known" in text or "Temporary failure in name resolution" in text:
        tail = "the host name could not be resolved (no internet?)"
    return f"{type(error).__name__}: {tail[:200]}"


@dataclass
class Retry:
    """One failed attempt that deserves another: what went wrong, and how long the server asked to wait."""

    problem: Problem
    status: int | None = None
    wait: float | None = None
    detail: object = None  # whatever the caller needs to word the final failure


class GaveUp(ProblemsFound):
    """Every attempt failed (or the server asked to wait too long, or the deadline passed)."""

    def __init__(self, last: Retry, attempts: int, why: str = "retries"):
        super().__init__([last.problem])
        self.last, self.attempts, self.why = last, attempts, why


@dataclass
class Body:
    size: int
    md5: str
    sha256: str
    data: bytes | None = None  # only for in-memory bodies


class _Sockets:
    """The sockets one transfer has used; `cut` shuts them down (and any it is handed later)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen: list[socket.socket] = []
        self.cut_down = False

    def add(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self.lock:
            if not any(s is sock for s in self.seen):
                self.seen.append(sock)
            late = self.cut_down
        if late:
            _shut(sock)

    def cut(self) -> None:
        with self.lock:
            self.cut_down = True
            seen = list(self.seen)
        for sock in seen:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Shut a socket down: a read blocked on it, in whatever thread, returns at once."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


_active = threading.local()  # .sockets: the _Sockets of the transfer this thread is in, if any


def _watched(sock: socket.socket | None) -> None:
    sockets = getattr(_active, "sockets", None)
    if sockets is not None:
        sockets.add(sock)


class Clock:
    """The deadline of one transfer, and the sockets it used (shut down when it passes)."""

    def __init__(self, seconds: float | None):
        self.end = None if seconds is None else time.monotonic() + seconds
        self.sockets = _Sockets()

    @contextlib.contextmanager
    def guard(self):
        """While inside, every connection this thread opens or reuses belongs to this transfer, and at
        the deadline their sockets are shut down: a read blocked on a server that drips a byte now
        and then (status line, headers or body) returns at once. A socket timeout alone never fires
        there, each byte resets it. `cut` tells whether that happened (a cut can look like an end)."""
        left = self.left()
        if left is None:
            yield
            return
        previous = getattr(_active, "sockets", None)
        _active.sockets = self.sockets
        timer = threading.Timer(max(left, 0.0), self.sockets.cut)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            _active.sockets = previous

    @property
    def cut(self) -> bool:
        return self.sockets.cut_down

    def left(self) -> float | None:
        return None if self.end is None else self.end - time.monotonic()

    def expired(self) -> bool:
        left = self.left()
        return left is not None and left <= 0

    def timeout(self, timeout: tuple[float, float]) -> tuple[float, float]:
        left = self.left()
        if left is None:
            return timeout
        left = max(left, 0.01)
        return (min(timeout[0], left), min(timeout[1], left))


def deadline_problem(url: str, seconds: float | None) -> ProblemsFound:
    return ProblemsFound([Problem("deadline-exceeded", f"the transfer did not finish within {seconds:g} s; "
                                  "gave up", file=url, suggestion="try again later, or on a faster connection")])


class Transport:
    """One `requests.Session` with a policy. `retrying` runs attempts; `open` makes one request;
    `read_body` streams a response into a file or memory, counted and within the deadline."""

    def __init__(self, policy: Policy = Policy(), *, sleep: Callable[[float], None] | None = None,
                 session=None, allowed: Callable[[str], bool] = url_allowed, headers: dict | None = None):
        import requests

        self.policy = policy
        self.sleep = sleep or time.sleep
        self.allowed = allowed
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})
        for prefix in ("https://", "http://"):  # connections the deadline's watchdog can shut down
            self.session.mount(prefix, watched_adapter()())

    def retrying(self, attempt: Callable[[Clock], T | Retry], url: str,
                 on_retry: Callable[[Retry, int, float], None] | None = None) -> T:
        """Run `attempt(clock)` until it returns something other than a `Retry`, within the policy."""
        clock = Clock(self.policy.deadline)
        tries = self.policy.retries + 1
        for number in range(1, tries + 1):
            outcome = attempt(clock)
            if not isinstance(outcome, Retry):
                return outcome
            if outcome.wait is not None and outcome.wait > self.policy.max_retry_after:
                raise GaveUp(outcome, number, "wait")
            if number == tries:
                raise GaveUp(outcome, number)
            delay = self.policy.delay(number, outcome.wait)
            left = clock.left()
            if left is not None and delay >= left:
                raise deadline_problem(url, self.policy.deadline)
            if on_retry:
                on_retry(outcome, number + 1, delay)
            self.sleep(delay)
        raise AssertionError("unreachable")

    def open(self, method: str, url: str, clock: Clock, **kwargs):
        """One request, redirects followed by hand and each hop checked; (final url, response).
        Connection errors and timeouts propagate as requests exceptions."""
        if not self.allowed(url):
            raise ProblemsFound([Problem("insecure-url", "only https:// URLs are accepted (http:// only for this "
                                         "machine)", file=url, suggestion="use the https:// address")])
        for _ in range(self.policy.max_redirects + 1):
            if clock.expired():
                raise deadline_problem(url, self.policy.deadline)
            try:
                with clock.guard():
                    response = self.session.request(method, url, allow_redirects=False,
                                                    timeout=clock.timeout(self.policy.timeout), **kwargs)
            except Exception:
                if clock.cut or clock.expired():  # cut while the server was still sending its headers
                    raise deadline_problem(url, self.policy.deadline) from None
                raise
            if clock.cut:  # headers cut short can parse as a complete answer
                response.close()
                raise deadline_problem(url, self.policy.deadline)
            if response.status_code not in REDIRECTS:
                return url, response
            location = response.headers.get("Location")
            response.close()
            if not location:
                raise ProblemsFound([Problem("http-error", f"redirect {response.status_code} without a Location",
                                             file=url)])
            target = urljoin(url, location)
            if not self.allowed(target):
                raise ProblemsFound([Problem("insecure-redirect", "refused a redirect to an address this client "
                                             "does not trust", file=url, value=target,
                                             suggestion="do not trust this server's answer")])
            url = target
        raise ProblemsFound([Problem("http-error", f"more than {self.policy.max_redirects} redirects", file=url)])

    def read_body(self, response, url: str, clock: Clock, sink: IO[bytes] | None, *, max_bytes: int | None,
                  progress: Progress | None = None, label: str = "") -> Body:
        """Stream the body, counting every byte against `max_bytes` and the deadline.
        A cut transfer raises requests/urllib3 errors (the caller decides whether to retry)."""
        declared = declared_length(response)
        if declared is not None and max_bytes is not None and declared > max_bytes:
            raise ProblemsFound([Problem("size-mismatch", f"the server announces {declared} bytes, more than "
                                         f"allowed ({max_bytes})", file=url, value=str(declared))])
        md5, sha256, size, buffer = hashlib.md5(), hashlib.sha256(), 0, bytearray()
        if progress:
            progress(label, declared, 0)
        chunks = response.iter_content(CHUNK)
        with clock.guard():
            while True:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    if clock.cut:  # a body cut at the deadline can end like a complete one
                        raise deadline_problem(url, self.policy.deadline) from None
                    break
                except Exception:
                    if clock.cut or clock.expired():
                        raise deadline_problem(url, self.policy.deadline) from None
                    raise
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ProblemsFound([Problem("size-mismatch", "the transfer is larger than expected; stopped",
                                                 file=url, value=f"more than {size - len(chunk)} bytes")])
                if clock.expired():
                    raise deadline_problem(url, self.policy.deadline)
                md5.update(chunk)
                sha256.update(chunk)
                if sink is not None:
                    sink.write(chunk)
                else:
                    buffer += chunk
                if progress:
                    progress(label, declared, len(chunk))
        return Body(size, md5.hexdigest(), sha256.hexdigest(), None if sink is not None else bytes(buffer))


@functools.cache
def watched_adapter():
    """A requests adapter whose urllib3 connections hand their socket to the transfer this thread is
    in (`Clock.guard`) when they connect or send a request, so its watchdog can shut them down. Built on
    first use: importing this module does not import requests."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Watched:
        def connect(self):
            super().connect()
            _watched(self.sock)  # shut down at once if the deadline passed while connecting

        def request(self, *args, **kwargs):
            _watched(getattr(self, "sock", None))  # a reused connection is not connected again
            return super().request(*args, **kwargs)

    class WatchedHTTP(Watched, HTTPConnection):
        pass

    class WatchedHTTPS(Watched, HTTPSConnection):
        pass

    class HTTPPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTP

    class HTTPSPool(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPS

    pools = {"http": HTTPPool, "https": HTTPSPool}

    class WatchedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy, **kwargs):
            manager = super().proxy_manager_for(proxy, **kwargs)
            if manager.pool_classes_by_scheme.get("http") is HTTPConnectionPool:  # not a SOCKS proxy's own
                manager.pool_classes_by_scheme = pools
            return manager

    return WatchedAdapter


def declared_length(response) -> int | None:
    """Content-Length, when it counts the bytes we will read (no content coding)."""
    encoding = response.headers.get("Content-Encoding", "identity").lower()
    value = response.headers.get("Content-Length")
    if value and value.isascii() and value.isdigit() and encoding == "identity":
        return int(value)
    return None


def status_retry(response, url: str) -> Retry | None:
    """A 429 or 5xx answer is worth another attempt (after Retry-After, if the server gave one)."""
    status = response.status_code
    if status == 429 or status >= 500:
        return Retry(Problem("http-error", f"the server answered HTTP {status}", file=url), status,
                     retry_after(response.headers.get("Retry-After")))
    return None


class CountingReader:
    """A file for an upload body that reports each block it hands to requests (and has a length,
    so requests sends Content-Length rather than chunked encoding)."""

    def __init__(self, fh: IO[bytes], size: int, progress: Progress | None, label: str):
        self.fh, self.size, self.progress, self.label = fh, size, progress, label
        if progress:
            progress(label, size, 0)

    def __len__(self) -> int:
        return self.size

    def read(self, amount: int = -1) -> bytes:
        block = self.fh.read(amount)
        if block and self.progress:
            self.progress(self.label, self.size, len(block))
        return block
