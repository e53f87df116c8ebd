"""The network side of `ketamap download`: GET a file or a JSON answer through the one transport
(pipeline.core.http), retried and counted."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from pipeline.core.http import Body, Clock, GaveUp, Progress, Retry, Transport, declared_length, status_retry
from pipeline.core.problems import Problem, ProblemsFound


class Getter:
    """GET with safe redirects, bounded retries with exponential backoff, and counted bytes."""

    def __init__(self, transport: Transport, max_bytes: int, max_json_bytes: int, progress: Progress | None = None):
        self.transport, self.max_bytes, self.max_json_bytes = transport, max_bytes, max_json_bytes
        self.progress = progress

    def get_json(self, url: str, params: dict | None = None, missing_ok: bool = False) -> dict | None:
        fetched = self.fetch(url, None, params=params, max_bytes=self.max_json_bytes, missing_ok=missing_ok,
                             accept="application/json", quiet=True)
        if fetched is None:
            return None
        try:
            return json.loads(fetched.data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise ProblemsFound([Problem("unreadable-file", f"the answer is not JSON: {type(error).__name__}",
                                         file=url)])

    def fetch(self, url: str, dest: Path | None, *, params: dict | None = None, max_bytes: int | None = None,
              expected_size: int | None = None, missing_ok: bool = False, accept: str | None = None,
              label: str | None = None, quiet: bool = False) -> Body | None:
        """The body of `url` into `dest` (or memory); None for a 404 when `missing_ok`."""
        import requests

        if params:
            url = requests.Request("GET", url, params=params).prepare().url
        limit = min(max_bytes or self.max_bytes, expected_size if expected_size is not None else self.max_bytes)
        label = label or PurePosixPath(urlsplit(url).path).name

        def attempt(clock: Clock):
            return self._attempt(url, dest, clock, limit, missing_ok, accept, None if quiet else label)

        try:
            return self.transport.retrying(attempt, url)
        except GaveUp as failed:
            last = failed.last.problem
            if failed.why == "wait":
                message = f"{last.message}, asking to wait {failed.last.wait:.0f} s; try again later"
            else:
                message = f"{last.message} (gave up after {failed.attempts} attempts)"
            raise ProblemsFound([Problem(last.code, message, file=last.file, value=last.value,
                                         suggestion=last.suggestion)]) from None

    def _attempt(self, url, dest, clock, limit, missing_ok, accept, label) -> Body | Retry | None:
        import requests

        try:
            final_url, response = self.transport.open("GET", url, clock, stream=True,
                                                      headers={"Accept": accept} if accept else {})
        except requests.Timeout:
            return Retry(Problem("unreachable", "the server did not answer in time", file=url))
        except requests.RequestException as error:
            return Retry(Problem("unreachable", f"cannot connect: {type(error).__name__}", file=url))
        with response:
            retry = status_retry(response, final_url)
            if retry or (response.status_code == 404 and missing_ok):
                return retry
            _refuse_status(response.status_code, final_url)
            return self._body(response, final_url, dest, clock, limit, label)

    def _body(self, response, url, dest, clock, limit, label) -> Body | Retry:
        import requests
        import urllib3

        declared = declared_length(response)
        sink = open(dest, "wb") if dest is not None else None
        try:
            body = self.transport.read_body(response, url, clock, sink, max_bytes=limit,
                                            progress=self.progress if label else None, label=label or "")
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            return Retry(Problem("truncated-transfer", "the transfer broke off"
                                 + (f" (of {declared} bytes)" if declared is not None else "")
                                 + f" ({type(error).__name__})", file=url))
        finally:
            if sink is not None:
                sink.close()
        if declared is not None and body.size != declared:
            return Retry(Problem("truncated-transfer", f"received {body.size} bytes, the server announced {declared}",
                                 file=url))
        return body


def _refuse_status(status: int, url: str) -> None:
    if status == 404:
        raise ProblemsFound([Problem("not-found", "the server answered HTTP 404 (not found)", file=url,
                                     suggestion="check the address, DOI or record number")])
    if status >= 400:
        raise ProblemsFound([Problem("http-error", f"the server answered HTTP {status}", file=url)])
    if status != 200:
        raise ProblemsFound([Problem("http-error", f"unexpected HTTP {status}", file=url)])
