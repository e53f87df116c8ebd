"""A fake Zenodo on 127.0.0.1: the legacy deposit API as developers.zenodo.org documents it,
with today's quirks.

- `POST .../actions/newversion` answers 201 with the *published* record; the new draft is only
  reachable through `links.latest_draft`.
- One open draft per concept: a second newversion while a draft is open answers 400.
- A new version's draft inherits the files and the metadata, minus `publication_date`.
- A bucket `PUT {links.bucket}/<name>` replaces a file of the same name.
- Unknown metadata keys are dropped silently on PUT.
- Publish checks the required metadata and answers 400 with Zenodo-style error JSON.
- Every request needs `Authorization: Bearer <token>` (401 otherwise).
- `fail(...)` makes the Nth matching request answer 429 (with Retry-After) or 500.

Records get ids from a counter; the concept id comes first (as on Zenodo), and DOIs use the
sandbox prefix 10.5072.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

KNOWN_METADATA = {
    "upload_type", "publication_type", "image_type", "publication_date", "title", "creators",
    "description", "access_right", "license", "embargo_date", "access_conditions", "doi",
    "prereserve_doi", "keywords", "notes", "related_identifiers", "contributors", "references",
    "communities", "grants", "journal_title", "journal_volume", "journal_issue", "journal_pages",
    "conference_title", "conference_acronym", "conference_dates", "conference_place",
    "conference_url", "conference_session", "conference_session_part", "imprint_publisher",
    "imprint_isbn", "imprint_place", "partof_title", "partof_pages", "thesis_supervisors",
    "thesis_university", "subjects", "version", "language", "locations", "dates", "method",
}
REQUIRED = ("upload_type", "title", "creators", "description", "publication_date")


@dataclass
class Failure:
    status: int
    method: str | None
    path_contains: str | None
    nth: int
    times: int
    retry_after: str | None
    seen: int = 0


@dataclass
class StoredFile:
    id: str
    filename: str
    data: bytes

    def resource(self) -> dict:
        return {"id": self.id, "filename": self.filename, "filesize": len(self.data),
                "checksum": hashlib.md5(self.data).hexdigest()}


@dataclass
class Deposition:
    id: int
    conceptrecid: int
    bucket: str
    metadata: dict = field(default_factory=dict)
    files: list[StoredFile] = field(default_factory=list)
    submitted: bool = False


class FakeZenodo:
    def __init__(self, token: str):
        self.token = token
        self.depositions: dict[int, Deposition] = {}
        self.buckets: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []
        self.headers_seen: list[dict] = []
        self.failures: list[Failure] = []
        self.next_id = 100
        self.stale_latest_draft = False  # links.latest_draft names the record itself (zenodo-rdm#858)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api = self.base + "/api"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def __enter__(self) -> "FakeZenodo":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- test controls ------------------------------------------------------------------------

    def fail(self, status: int, *, method: str | None = None, path_contains: str | None = None,
             nth: int = 1, times: int = 1, retry_after: str | None = None) -> None:
        """Answer `status` to the nth request matching method/path (and the `times - 1` after it)."""
        self.failures.append(Failure(status, method, path_contains, nth, times, retry_after))

    def drafts(self) -> list[Deposition]:
        return [d for d in self.depositions.values() if not d.submitted]

    def published(self) -> list[Deposition]:
        return [d for d in self.depositions.values() if d.submitted]

    # -- model --------------------------------------------------------------------------------

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def _new_deposition(self, conceptrecid: int | None = None) -> Deposition:
        concept = conceptrecid if conceptrecid is not None else self._new_id()
        dep = Deposition(id=self._new_id(), conceptrecid=concept, bucket=uuid.uuid4().hex)
        self.depositions[dep.id] = dep
        self.buckets[dep.bucket] = dep.id
        return dep

    def _latest_published(self, concept: int) -> Deposition | None:
        versions = [d for d in self.published() if d.conceptrecid == concept]
        return max(versions, key=lambda d: d.id) if versions else None

    def _open_draft(self, concept: int) -> Deposition | None:
        drafts = [d for d in self.drafts() if d.conceptrecid == concept]
        return drafts[0] if drafts else None

    def resource(self, dep: Deposition) -> dict:
        api = self.api
        draft = self._open_draft(dep.conceptrecid)
        latest_draft = draft.id if draft and not self.stale_latest_draft else dep.id
        metadata = dict(dep.metadata)
        metadata.setdefault("access_right", "open")
        metadata["prereserve_doi"] = {"doi": f"10.5072/zenodo.{dep.id}", "recid": dep.id}
        body = {
            "id": dep.id,
            "conceptrecid": str(dep.conceptrecid),
            "record_id": dep.id,
            "metadata": metadata,
            "title": metadata.get("title", ""),
            "files": [f.resource() for f in dep.files],
            "submitted": dep.submitted,
            "state": "done" if dep.submitted else "unsubmitted",
            "links": {
                "self": f"{api}/deposit/depositions/{dep.id}",
                "html": f"{self.base}/deposit/{dep.id}",
                "files": f"{api}/deposit/depositions/{dep.id}/files",
                "bucket": f"{api}/files/{dep.bucket}",
                "publish": f"{api}/deposit/depositions/{dep.id}/actions/publish",
                "newversion": f"{api}/deposit/depositions/{dep.id}/actions/newversion",
                "latest_draft": f"{api}/deposit/depositions/{latest_draft}",
                "latest_draft_html": f"{self.base}/deposit/{latest_draft}",
            },
        }
        if dep.submitted:
            body["doi"] = f"10.5072/zenodo.{dep.id}"
            body["doi_url"] = f"https://doi.org/10.5072/zenodo.{dep.id}"
            body["conceptdoi"] = f"10.5072/zenodo.{dep.conceptrecid}"
            body["record_url"] = f"{self.base}/records/{dep.id}"
            body["links"]["record_html"] = f"{self.base}/records/{dep.id}"
            body["metadata"]["doi"] = body["doi"]
        return body

    # -- request handling -----------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict, body: bytes) -> tuple[int, dict, object]:
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        with self.lock:
            self.requests.append((method, raw_path))
            self.headers_seen.append(headers)
            for failure in self.failures:
                if failure.method not in (None, method):
                    continue
                if failure.path_contains and failure.path_contains not in path:
                    continue
                failure.seen += 1
                if failure.nth <= failure.seen < failure.nth + failure.times:
                    extra = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                    if failure.status == 429:
                        return 429, extra, {"status": 429, "message": "Too many requests."}
                    return failure.status, extra, None  # a 5xx carries no error JSON (docs)
            if headers.get("authorization") != f"Bearer {self.token}" or "access_token" in query:
                return 401, {}, {"status": 401, "message": "The server could not verify that you are "
                                 "authorized to access the URL requested."}
            return self._route(method, path, query, headers, body)

    def _route(self, method, path, query, headers, body):
        m = re.fullmatch(r"/api/files/([0-9a-f]+)/(.+)", path)
        if m:
            return self._bucket(method, m.group(1), unquote(m.group(2)), body)
        if path == "/api/deposit/depositions":
            if method == "GET":
                return self._list(query)
            if method == "POST":
                if headers.get("content-type", "").split(";")[0] != "application/json":
                    return 415, {}, {"status": 415, "message": "Unsupported media type."}
                data = json.loads(body or b"{}")
                dep = self._new_deposition()
                dep.metadata = _known(data.get("metadata") or {})
                return 201, {}, self.resource(dep)
        m = re.fullmatch(r"/api/deposit/depositions/(\d+)(/.*)?", path)
        if not m:
            return 404, {}, {"status": 404, "message": "The requested URL was not found on the server."}
        dep = self.depositions.get(int(m.group(1)))
        if dep is None:
            return 410 if method == "GET" else 404, {}, {"status": 404, "message": "PID does not exist."}
        rest = m.group(2) or ""
        if rest == "" and method == "GET":
            return 200, {}, self.resource(dep)
        if rest == "" and method == "PUT":
            if dep.submitted:
                return 403, {}, {"status": 403, "message": "You do not have permission to edit a published deposition."}
            data = json.loads(body or b"{}")
            dep.metadata = _known(data.get("metadata") or {})
            return 200, {}, self.resource(dep)
        if rest == "" and method == "DELETE":
            if dep.submitted:
                return 403, {}, {"status": 403, "message": "Forbidden."}
            del self.depositions[dep.id]
            return 204, {}, None
        if rest == "/files" and method == "GET":
            return 200, {}, [f.resource() for f in dep.files]
        m2 = re.fullmatch(r"/files/([^/]+)", rest)
        if m2 and method == "DELETE":
            if dep.submitted:
                return 403, {}, {"status": 403, "message": "Forbidden."}
            file_id = unquote(m2.group(1))
            kept = [f for f in dep.files if f.id != file_id]
            if len(kept) == len(dep.files):
                return 404, {}, {"status": 404, "message": "File does not exist."}
            dep.files = kept
            return 204, {}, None
        if rest == "/actions/newversion" and method == "POST":
            return self._newversion(dep)
        if rest == "/actions/publish" and method == "POST":
            return self._publish(dep)
        return 405, {}, {"status": 405, "message": "Method not allowed."}

    def _list(self, query):
        found = list(self.depositions.values())
        q = (query.get("q") or [""])[0]
        m = re.fullmatch(r"conceptrecid:(\d+)", q)
        if m:
            found = [d for d in found if d.conceptrecid == int(m.group(1))]
        status = (query.get("status") or [""])[0]
        if status == "draft":
            found = [d for d in found if not d.submitted]
        elif status == "published":
            found = [d for d in found if d.submitted]
        return 200, {}, [self.resource(d) for d in sorted(found, key=lambda d: -d.id)]

    def _bucket(self, method, bucket, name, body):
        dep = self.depositions.get(self.buckets.get(bucket, -1))
        if dep is None:
            return 404, {}, {"status": 404, "message": "Bucket does not exist."}
        if method != "PUT":
            return 405, {}, {"status": 405, "message": "Method not allowed."}
        if dep.submitted:
            return 403, {}, {"status": 403, "message": "Bucket is locked."}
        dep.files = [f for f in dep.files if f.filename != name]
        dep.files.append(StoredFile(uuid.uuid4().hex, name, body))
        return 201, {}, {"key": name, "size": len(body), "checksum": "md5:" + hashlib.md5(body).hexdigest(),
                         "mimetype": "application/zip", "links": {"self": f"{self.api}/files/{bucket}/{name}"}}

    def _newversion(self, dep):
        if not dep.submitted:
            return 400, {}, {"status": 400, "message": "Cannot create a new version of an unpublished deposition."}
        if self._latest_published(dep.conceptrecid).id != dep.id:
            return 400, {}, {"status": 400, "message": "A new version can only be made of the latest version."}
        if self._open_draft(dep.conceptrecid) is not None:
            return 400, {}, {"status": 400, "message": "Validation error.", "errors": [
                {"field": "draft", "message": "There is already an unpublished new version of this record."}]}
        draft = self._new_deposition(dep.conceptrecid)
        draft.metadata = {k: v for k, v in dep.metadata.items() if k not in ("publication_date", "doi")}
        draft.files = [StoredFile(uuid.uuid4().hex, f.filename, f.data) for f in dep.files]
        return 201, {}, self.resource(dep)

    def _publish(self, dep):
        if dep.submitted:
            return 400, {}, {"status": 400, "message": "Deposition is already published."}
        errors = [{"field": f"metadata.{key}", "message": "Missing data for required field."}
                  for key in REQUIRED if not dep.metadata.get(key)]
        if dep.metadata.get("access_right", "open") == "open" and not dep.metadata.get("license"):
            errors.append({"field": "metadata.license", "message": "Required when access right is open."})
        if not dep.files:
            errors.append({"message": "Minimum one file must be provided.", "code": 10})
        if errors:
            return 400, {}, {"status": 400, "message": "Validation error.", "errors": errors}
        dep.submitted = True
        return 202, {}, self.resource(dep)


def _known(metadata: dict) -> dict:
    return {k: v for k, v in metadata.items() if k in KNOWN_METADATA}


def _handler(fake: FakeZenodo):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""  # always drained, even on failure
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = fake.handle(self.command, self.path, headers, body)
            data = b"" if payload is None and status == 204 else (
                json.dumps(payload).encode() if payload is not None else b"<html>Internal Server Error</html>")
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            if status != 204:
                self.send_header("Content-Type", "application/json" if payload is not None else "text/html")
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if status != 204:
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *args) -> None:
            pass

    return Handler
