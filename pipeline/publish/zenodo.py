"""Deposit a release on Zenodo through its REST API, the way developers.zenodo.org documents it.

    first release   POST /api/deposit/depositions                         -> a draft
    later releases  POST /api/deposit/depositions/<latest>/actions/newversion
                    -> the *published* record; the new draft is at links.latest_draft
    then            GET, DELETE /api/deposit/depositions/<draft>/files[/<file_id>]
                    PUT {links.bucket}/<filename>       (streamed; a same-named file is replaced)
                    PUT /api/deposit/depositions/<draft>   (the FULL metadata, every time)
                    POST /api/deposit/depositions/<draft>/actions/publish   (202; only when asked)

Zenodo keeps one open draft per concept, so a run that stopped midway leaves a draft and the
next run resumes it: the draft's id goes into the state file the moment it exists. The state
file (`release/zenodo-deposits.json`, committed) records, per environment, the concept and the
latest published record so the next release knows what to make a new version of. What is sent
is prepared and checked offline first (pipeline.publish.deposition).

Requests go through the one transport (pipeline.core.http): retries on 429 / 5xx / connection
errors with backoff and Retry-After, links followed only on the API's own host. The token travels
only in the `Authorization: Bearer` header, never in a URL, and is scrubbed, in every escaping,
from every message this module produces. A failure is a `ZenodoError`, a `ProblemsFound`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import quote

import requests

from pipeline.core.http import Clock, CountingReader, GaveUp, Policy, Progress, Retry, Transport, connection_reason, \
    same_origin
from pipeline.core.problems import Problem, ProblemsFound
from pipeline.publish.deposition import (
    TOKEN_ENV,
    Plan,
    Prepared,
    ReleaseFile,
    save_state,
    token_help,
)

STATE_PATH = Path("release/zenodo-deposits.json")
API_ENV = "KETAMAP_ZENODO_API"

Log = Callable[[str], None]


def default_sleep(seconds: float) -> None:
    time.sleep(seconds)


def redact(text: str, secret: str | None) -> str:
    """`text` without `secret` in any form it could take there: raw, repr-, JSON- or URL-escaped."""
    if not secret:
        return text
    forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], quote(secret, safe=""), quote(secret)}
    for form in sorted(forms, key=len, reverse=True):
        if form:
            text = text.replace(form, "***")
    return text


class ZenodoError(ProblemsFound):
    """A request that failed for good: which step, the HTTP status, and what Zenodo said."""

    def __init__(self, step: str, status: int | None, message: str, details: Iterable[str] = (),
                 suggestion: str | None = None):
        Exception.__init__(self)
        self.step, self.status, self.message = step, status, message
        self.details, self.suggestion = list(details), suggestion

    @property
    def problems(self) -> list[Problem]:
        return [Problem("deposit-failed", self.text(), suggestion=self.suggestion)]

    def text(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        text = f"{self.step} failed ({status}): {self.message}"
        if self.details:
            text += "".join(f"\n    - {d}" for d in self.details)
        return text

    def __str__(self) -> str:
        return self.text()


class _BearerAuth(requests.auth.AuthBase):
    """Set as session.auth so that ~/.netrc cannot replace the header."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class ZenodoClient:
    """A thin client on the one transport: bounded retries on 429 / 5xx / connection errors."""

    def __init__(self, api: str, token: str, *, sleep: Callable[[float], None] | None = None,
                 log: Log = lambda message: None, tries: int = 5, base_delay: float = 1.0,
                 max_delay: float = 60.0, max_retry_after: float = 300.0,
                 timeout: tuple[float, float] = (15.0, 600.0), progress: Progress | None = None):
        self.api = api.rstrip("/")
        self._token = token
        self._log = log
        self.progress = progress
        self.tries = tries
        session = requests.Session()
        session.auth = _BearerAuth(token)
        self.transport = Transport(
            Policy(timeout, tries - 1, base_delay, max_delay, max_retry_after, 3, None),
            sleep=sleep if sleep is not None else (lambda seconds: default_sleep(seconds)),
            session=session, allowed=same_origin(self.api), headers={"Accept": "application/json"})

    # -- plumbing ---------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        return redact(text, self._token)

    def url(self, path: str) -> str:
        return f"{self.api}/{path.lstrip('/')}"

    def check_link(self, url: str) -> str:
        """Follow only links on the API's own host: the token must not travel elsewhere."""
        if not self.transport.allowed(url):
            raise ZenodoError("following a link", None, "Zenodo returned a link to another host "
                              f"({self.redact(url.split('/')[2] if url.count('/') >= 2 else url)}); "
                              "refusing to send the token there")
        return url

    def _attempt(self, step: str, method: str, url: str, expect: tuple[int, ...], clock: Clock, upload: Path | None,
                 **kwargs) -> requests.Response | Retry:
        try:
            if upload is not None:
                with open(upload, "rb") as fh:  # reopened per attempt: a retry resends from byte 0
                    body = CountingReader(fh, upload.stat().st_size, self.progress, f"uploading {upload.name}")
                    _, response = self.transport.open(method, url, clock, data=body,
                                                      headers={"Content-Type": "application/octet-stream"})
            else:
                _, response = self.transport.open(method, url, clock, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            return Retry(Problem("deposit-failed", self.redact(f"could not reach Zenodo ({connection_reason(exc)})")),
                         detail=ZenodoError(step, None, self.redact(f"could not reach Zenodo ({connection_reason(exc)})")))
        except ProblemsFound as found:
            raise ZenodoError(step, None, self.redact(found.problems[0].message)) from None
        if response.status_code in expect:
            return response
        error = self._error(step, response)
        if response.status_code == 429 or response.status_code >= 500:
            from pipeline.core.http import retry_after

            wait = retry_after(response.headers.get("Retry-After")) if response.status_code == 429 else None
            return Retry(error.problems[0], response.status_code, wait, error)
        raise error

    def request(self, step: str, method: str, url: str, *, expect: tuple[int, ...],
                json_body: object = None, params: dict | None = None,
                upload: Path | None = None) -> requests.Response:
        kwargs = {} if upload is not None else {"json": json_body, "params": params}

        def retrying(retry: Retry, number: int, delay: float) -> None:
            error = retry.detail
            said = f"HTTP {error.status} {error.message.rstrip('.')}" if error.status else error.message
            self._log(f"{step}: {said}; retrying in {delay:g} s (try {number} of {self.tries})")

        try:
            return self.transport.retrying(lambda clock: self._attempt(step, method, url, expect, clock, upload,
                                                                       **kwargs), url, on_retry=retrying)
        except GaveUp as failed:
            error = failed.last.detail
            if failed.why == "wait":
                error.message += (f" Zenodo asks to wait {failed.last.wait:.0f} s (rate limit: 100 "
                                  "requests/min, 5000/hour); run the command again later.")
            else:
                error.message += f" (gave up after {failed.attempts} tries)"
            raise error from None

    def _error(self, step: str, response: requests.Response) -> ZenodoError:
        message = response.reason or "error"
        details: list[str] = []
        try:
            body = response.json()
        except (ValueError, RecursionError):
            body = None
        if isinstance(body, dict):
            message = str(body.get("message") or message)
            for item in body.get("errors") or []:
                if isinstance(item, dict):
                    where = item.get("field")
                    text = item.get("message") or "; ".join(map(str, item.get("messages") or []))
                    details.append(f"{where}: {text}" if where else str(text))
                else:
                    details.append(str(item))
        return ZenodoError(step, response.status_code, self.redact(message), [self.redact(d) for d in details])

    def json(self, step: str, method: str, url: str, *, expect: tuple[int, ...], **kwargs) -> dict | list:
        response = self.request(step, method, url, expect=expect, **kwargs)
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise ZenodoError(step, response.status_code, "Zenodo's answer was not JSON") from None

    # -- the documented endpoints -------------------------------------------------------------

    def get_deposition(self, deposition_id: int) -> dict:
        return self.json(f"reading deposition {deposition_id}", "GET",
                         self.url(f"deposit/depositions/{deposition_id}"), expect=(200,))

    def get_link(self, step: str, url: str) -> dict:
        return self.json(step, "GET", self.check_link(url), expect=(200,))

    def create_deposition(self) -> dict:
        return self.json("creating the deposition", "POST", self.url("deposit/depositions"),
                         expect=(201,), json_body={})

    def new_version(self, record_id: int) -> dict:
        return self.json(f"creating a new version of record {record_id}", "POST",
                         self.url(f"deposit/depositions/{record_id}/actions/newversion"), expect=(201,))

    def list_depositions(self, *, q: str | None = None, status: str | None = None) -> list:
        params = {"all_versions": "true", "size": "100"}
        if q:
            params["q"] = q
        if status:
            params["status"] = status
        found = self.json("listing your depositions", "GET", self.url("deposit/depositions"),
                          expect=(200,), params=params)
        return found if isinstance(found, list) else []

    def list_files(self, deposition_id: int) -> list:
        found = self.json(f"listing the files of deposition {deposition_id}", "GET",
                          self.url(f"deposit/depositions/{deposition_id}/files"), expect=(200,))
        return found if isinstance(found, list) else []

    def delete_file(self, deposition_id: int, file_id: str, filename: str) -> None:
        self.request(f"deleting inherited file {filename}", "DELETE",
                     self.url(f"deposit/depositions/{deposition_id}/files/{quote(str(file_id), safe='')}"),
                     expect=(204,))

    def upload(self, bucket: str, name: str, path: Path) -> dict:
        url = f"{self.check_link(bucket).rstrip('/')}/{quote(name, safe='')}"
        return self.json(f"uploading {name}", "PUT", url, expect=(200, 201), upload=path)

    def put_metadata(self, deposition_id: int, metadata: dict) -> dict:
        return self.json("updating the metadata", "PUT",
                         self.url(f"deposit/depositions/{deposition_id}"), expect=(200,),
                         json_body={"metadata": metadata})

    def publish(self, deposition_id: int) -> dict:
        return self.json(f"publishing deposition {deposition_id}", "POST",
                         self.url(f"deposit/depositions/{deposition_id}/actions/publish"), expect=(202,))


# -- the deposit --------------------------------------------------------------------------------


@dataclass
class Outcome:
    draft: dict
    published: bool
    entry: dict
    dropped_keys: list[str]


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _open_draft_of_concept(client: ZenodoClient, concept: int | None, log: Log) -> dict | None:
    """Find the concept's open draft. The documented `q` search is used, and the answers are
    filtered here as well, since today's Zenodo does not always honour the query."""
    if concept is None:
        return None
    for query in (f"conceptrecid:{concept}", None):
        candidates = [d for d in client.list_depositions(q=query, status="draft")
                      if _int(d.get("conceptrecid")) == concept and not d.get("submitted")]
        if candidates:
            chosen = max(candidates, key=lambda d: _int(d.get("id")) or 0)
            log(f"found the open draft {chosen.get('id')} of concept {concept}")
            return chosen
    return None


def obtain_draft(client: ZenodoClient, plan: Plan, entry: dict, state: dict, state_path: Path,
                 log: Log) -> dict:
    if plan.action == "resume":
        try:
            draft = client.get_deposition(plan.draft_id)
        except ZenodoError as exc:
            if exc.status not in (404, 410):
                raise
            log(f"the draft {plan.draft_id} recorded in {state_path} is gone; starting afresh")
            entry.pop("open_draft", None)
        else:
            if not draft.get("submitted"):
                log(f"resuming the open draft {draft['id']} left by an earlier run")
                return draft
            log(f"the draft {draft['id']} was published outside ketamap; making a new version of it")
            _record_published(entry, draft)
            entry.pop("open_draft", None)
    record_id = _int(entry.get("record_id"))
    if record_id is None:
        log("creating a new deposition (first release on this Zenodo)")
        draft = client.create_deposition()
    else:
        log(f"creating a new version of record {record_id}")
        try:
            record = client.new_version(record_id)
        except ZenodoError as exc:
            if exc.status != 400:
                raise
            # Only one draft per concept: an earlier run (or the web page) left one open.
            draft = _open_draft_of_concept(client, _int(entry.get("concept_record_id")), log)
            if draft is None:
                raise
        else:
            latest = (record.get("links") or {}).get("latest_draft")
            if not latest:
                raise ZenodoError(f"creating a new version of record {record_id}", 201,
                                  "the answer has no links.latest_draft")
            draft = client.get_link("reading the new draft", latest)
            if _int(draft.get("id")) == record_id or draft.get("submitted"):
                found = _open_draft_of_concept(client, _int(entry.get("concept_record_id")), log)
                if found is None:
                    raise ZenodoError("reading the new draft", 201,
                                      "links.latest_draft points to the published record, and no open draft was found")
                draft = found
    entry["open_draft"] = {"id": _int(draft.get("id")), "version": plan.metadata.get("version")}
    if draft.get("conceptrecid") and not entry.get("concept_record_id"):
        entry["concept_record_id"] = _int(draft["conceptrecid"])
    state[plan.environment] = entry
    save_state(state_path, state)
    return draft


def sync_files(client: ZenodoClient, draft: dict, files: list[ReleaseFile], log: Log) -> None:
    draft_id = _int(draft["id"])
    names = {f.name: f for f in files}
    present: dict[str, str] = {}
    for existing in client.list_files(draft_id):
        name = existing.get("filename") or existing.get("key")
        if name in names:
            present[name] = str(existing.get("checksum") or "").removeprefix("md5:")
        else:
            log(f"deleting inherited file {name}")
            client.delete_file(draft_id, existing["id"], name)
    bucket = (draft.get("links") or {}).get("bucket")
    if not bucket:
        raise ZenodoError("uploading", None, f"the draft {draft_id} has no links.bucket")
    for f in files:
        if present.get(f.name) == f.md5:
            log(f"{f.name} is already in the draft (same md5); not uploading it again")
            continue
        log(f"uploading {f.name} ({f.size} bytes)")
        answer = client.upload(bucket, f.name, f.path)
        checksum = str(answer.get("checksum") or "").removeprefix("md5:")
        if checksum and checksum != f.md5:
            raise ZenodoError(f"uploading {f.name}", None,
                              f"Zenodo stored md5 {checksum}, the local file has md5 {f.md5}; run again")


def put_metadata(client: ZenodoClient, draft: dict, metadata: dict, log: Log) -> list[str]:
    answer = client.put_metadata(_int(draft["id"]), metadata)
    kept = answer.get("metadata") or {}
    dropped = sorted(set(metadata) - set(kept))
    if dropped:
        log("warning: Zenodo silently dropped these metadata keys: " + ", ".join(dropped))
    return dropped


def _record_published(entry: dict, deposition: dict) -> None:
    links = deposition.get("links") or {}
    metadata = deposition.get("metadata") or {}
    entry.update({
        "concept_record_id": _int(deposition.get("conceptrecid")) or entry.get("concept_record_id"),
        "concept_doi": deposition.get("conceptdoi") or entry.get("concept_doi"),
        "record_id": _int(deposition.get("record_id")) or _int(deposition.get("id")),
        "doi": deposition.get("doi") or metadata.get("doi"),
        "version": metadata.get("version"),
        "files": sorted((f.get("filename") or f.get("key")) for f in deposition.get("files") or []),
    })
    if links.get("record_html") or deposition.get("record_url"):
        entry["record_url"] = links.get("record_html") or deposition.get("record_url")


def deposit(plan: Plan, client: ZenodoClient, state: dict, state_path: Path, log: Log) -> Outcome:
    entry = dict(state.get(plan.environment) or {})
    draft = obtain_draft(client, plan, entry, state, state_path, log)
    sync_files(client, draft, plan.files, log)
    dropped = put_metadata(client, draft, plan.metadata, log)
    if not plan.publish:
        return Outcome(draft, False, entry, dropped)
    draft_id = _int(draft["id"])
    log(f"publishing deposition {draft_id}")
    try:
        published = client.publish(draft_id)
    except ZenodoError:
        # A publish that timed out may still have gone through: ask before reporting failure.
        published = client.get_deposition(draft_id)
        if not published.get("submitted"):
            raise
    if not published.get("files"):
        published["files"] = [{"filename": f.name} for f in plan.files]
    _record_published(entry, published)
    entry.pop("open_draft", None)
    state[plan.environment] = entry
    save_state(state_path, state)
    return Outcome(published, True, entry, dropped)




def _hint(error: ZenodoError, plan: Plan, state_path: Path) -> str:
    if error.status in (401, 403):
        return f"check {TOKEN_ENV}: " + token_help(plan.environment)
    if error.status == 400 and error.step.startswith("creating a new version"):
        return (f"Zenodo makes new versions only of the latest published one; if a version was "
                f"published outside ketamap, put its id as {plan.environment}.record_id in {state_path}")
    return "run the same command again: it resumes the open draft instead of making another"


def run_deposit(prepared: Prepared, token: str, log: Log, progress: Progress | None = None) -> Outcome:
    """The deposit as planned; every failure a ProblemsFound (exit 1) with the fix, the token scrubbed."""
    client = ZenodoClient(prepared.plan.api, token, log=log, progress=progress)
    try:
        return deposit(prepared.plan, client, prepared.state, prepared.state_path, log=log)
    except ZenodoError as error:
        error.suggestion = error.suggestion or _hint(error, prepared.plan, prepared.state_path)
        raise
    except requests.RequestException as exc:
        problem = Problem("deposit-failed", client.redact(f"{type(exc).__name__}: {exc}"))
    except OSError as exc:
        problem = Problem("unwritable-file", client.redact(f"cannot write the deposit record: {exc}"),
                          file=str(prepared.state_path))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        problem = Problem("deposit-failed", client.redact(f"Zenodo's answer is not shaped as documented "
                                                          f"({type(exc).__name__}: {exc})"),
                          suggestion="run the same command again; if it persists, check the draft on the Zenodo "
                          "web page")
    raise ProblemsFound([problem])


def outcome_lines(outcome: Outcome, environment: str, state: Path) -> list[str]:
    if outcome.published:
        e = outcome.entry
        return [f"published version {e.get('version')} on {environment}: DOI {e.get('doi')} "
                f"(record {e.get('record_id')}; all versions: {e.get('concept_doi')})",
                f"recorded in {state}; commit it so the next release becomes a new version of this one"]
    draft = outcome.draft
    link = (draft.get("links") or {}).get("html") or f"deposition {draft.get('id')}"
    return [f"draft {draft.get('id')} is ready for review: {link}",
            "not published; run again with --publish to publish it"]
