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
latest published record so the next release knows what to make a new version of.

The token travels only in the `Authorization: Bearer` header, never in a URL, and is scrubbed
from every message this module produces.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import quote, urlsplit

import requests

from pipeline.core.files import atomic_write_text
from pipeline.core.problems import Problem

SANDBOX_API = "https://sandbox.zenodo.org/api"
PRODUCTION_API = "https://zenodo.org/api"
STATE_PATH = Path("release/zenodo-deposits.json")
TOKEN_ENV = "ZENODO_TOKEN"
API_ENV = "KETAMAP_ZENODO_API"

# Zenodo refuses to publish without these (developers.zenodo.org, "Deposit metadata").
REQUIRED_METADATA = ("upload_type", "title", "creators", "description", "publication_date")

Log = Callable[[str], None]


def token_help(environment: str) -> str:
    site = "https://sandbox.zenodo.org" if environment == "sandbox" else "https://zenodo.org"
    return (f"create a personal access token at {site}/account/settings/applications/tokens/new/ "
            "with the scopes deposit:write and deposit:actions (the sandbox and zenodo.org have "
            "separate accounts and tokens), then put it in the environment without echoing it, "
            f"e.g. `read -rs {TOKEN_ENV} && export {TOKEN_ENV}`")


def default_sleep(seconds: float) -> None:
    time.sleep(seconds)


class ZenodoError(Exception):
    """A request that failed for good: which step, the HTTP status, and what Zenodo said."""

    def __init__(self, step: str, status: int | None, message: str, details: Iterable[str] = ()):
        self.step = step
        self.status = status
        self.message = message
        self.details = list(details)
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        text = f"{self.step} failed ({status}): {self.message}"
        if self.details:
            text += "".join(f"\n    - {d}" for d in self.details)
        return text


class _BearerAuth(requests.auth.AuthBase):
    """Set as session.auth so that ~/.netrc cannot replace the header, and requests drops it
    on a redirect to another host."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class ZenodoClient:
    """A thin client: one `requests.Session`, bounded retries on 429 / 5xx / connection errors."""

    def __init__(self, api: str, token: str, *, sleep: Callable[[float], None] | None = None,
                 log: Log = lambda message: None, tries: int = 5, base_delay: float = 1.0,
                 max_delay: float = 60.0, max_retry_after: float = 300.0,
                 timeout: tuple[float, float] = (15.0, 600.0)):
        self.api = api.rstrip("/")
        self._token = token
        self._sleep = sleep if sleep is not None else (lambda seconds: default_sleep(seconds))
        self._log = log
        self.tries = tries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.timeout = timeout
        self.session = requests.Session()
        self.session.auth = _BearerAuth(token)
        self.session.headers["Accept"] = "application/json"
        origin = urlsplit(self.api)
        self._origin = (origin.scheme, origin.netloc)

    # -- plumbing ---------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def url(self, path: str) -> str:
        return f"{self.api}/{path.lstrip('/')}"

    def check_link(self, url: str) -> str:
        """Follow only links on the API's own host: the token must not travel elsewhere."""
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin:
            raise ZenodoError("following a link", None,
                              f"Zenodo returned a link to another host ({parts.netloc}); refusing to send the token there")
        return url

    def request(self, step: str, method: str, url: str, *, expect: tuple[int, ...],
                json_body: object = None, params: dict | None = None,
                upload: Path | None = None) -> requests.Response:
        error: ZenodoError
        for attempt in range(1, self.tries + 1):
            try:
                if upload is not None:
                    with open(upload, "rb") as fh:  # reopened per attempt: a retry resends from byte 0
                        response = self.session.request(
                            method, url, data=fh, timeout=self.timeout,
                            headers={"Content-Type": "application/octet-stream"})
                else:
                    response = self.session.request(method, url, json=json_body, params=params,
                                                    timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                error = ZenodoError(step, None, self.redact(_connection_reason(exc)))
                delay = self._backoff(attempt)
            else:
                if response.status_code in expect:
                    return response
                error = self._error(step, response)
                if response.status_code == 429:
                    delay = _retry_after(response)
                    if delay is None:
                        delay = self._backoff(attempt)
                    elif delay > self.max_retry_after:
                        error.message += (f" Zenodo asks to wait {delay:.0f} s (rate limit: 100 "
                                          "requests/min, 5000/hour); run the command again later.")
                        raise error
                elif response.status_code >= 500:
                    delay = self._backoff(attempt)
                else:
                    raise error
            if attempt == self.tries:
                error.message += f" (gave up after {self.tries} tries)"
                raise error
            said = f"HTTP {error.status} {error.message.rstrip('.')}" if error.status else error.message
            self._log(f"{step}: {said}; retrying in {delay:g} s (try {attempt + 1} of {self.tries})")
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)

    def _error(self, step: str, response: requests.Response) -> ZenodoError:
        message = response.reason or "error"
        details: list[str] = []
        try:
            body = response.json()
        except ValueError:
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
        return ZenodoError(step, response.status_code, self.redact(message),
                           [self.redact(d) for d in details])

    def json(self, step: str, method: str, url: str, *, expect: tuple[int, ...], **kwargs) -> dict | list:
        response = self.request(step, method, url, expect=expect, **kwargs)
        try:
            return response.json()
        except ValueError:
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


def _connection_reason(exc: Exception) -> str:
    text = str(exc)
    # urllib3 wraps the useful part ("Connection refused", "timed out") at the end.
    tail = text.rsplit(": ", 1)[-1].strip(" ')\"") if ": " in text else text
    return f"could not reach Zenodo ({type(exc).__name__}: {tail[:200]})"


def _retry_after(response: requests.Response) -> float | None:
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


# -- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseFile:
    path: Path
    name: str
    size: int
    sha256: str
    md5: str


def describe_file(path: Path) -> ReleaseFile:
    sha256, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha256.update(block)
            md5.update(block)
    return ReleaseFile(Path(path), Path(path).name, Path(path).stat().st_size,
                       sha256.hexdigest(), md5.hexdigest())


def load_metadata(path: Path) -> tuple[dict, list[Problem]]:
    """Read `.zenodo.json` (the metadata object itself, or wrapped in {"metadata": ...})."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, [Problem("metadata-missing", "the Zenodo metadata file does not exist", file=str(path),
                            suggestion="run `dvc repro` to generate .zenodo.json, or pass --metadata PATH")]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, [Problem("unreadable-file", f"cannot read the Zenodo metadata: {exc}", file=str(path))]
    if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
        data = data["metadata"]
    if not isinstance(data, dict):
        return {}, [Problem("unreadable-file", "the Zenodo metadata must be a JSON object", file=str(path))]
    return data, check_metadata(data, str(path))


def check_metadata(metadata: dict, file: str | None = None) -> list[Problem]:
    problems = []
    for key in REQUIRED_METADATA:
        if not metadata.get(key):
            problems.append(Problem("metadata-required", f"Zenodo requires '{key}' to publish", file=file,
                                    column=key, suggestion="regenerate .zenodo.json with `dvc repro`"))
    creators = metadata.get("creators")
    if creators and (not isinstance(creators, list)
                     or not all(isinstance(c, dict) and c.get("name") for c in creators)):
        problems.append(Problem("metadata-creators", "each creator needs a 'name' (\"Family, Given\")",
                                file=file, column="creators"))
    if metadata.get("access_right", "open") in ("open", "embargoed") and not metadata.get("license"):
        problems.append(Problem("metadata-required", "an open record needs a 'license'", file=file,
                                column="license", suggestion="use \"cc-by-4.0\""))
    return problems


# -- state ------------------------------------------------------------------------------------


def load_state(path: Path) -> dict:
    path = Path(path)
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def state_text(state: dict) -> str:
    return json.dumps(state, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def save_state(path: Path, state: dict) -> None:
    atomic_write_text(Path(path), state_text(state))


# -- plan -------------------------------------------------------------------------------------


@dataclass
class Plan:
    environment: str
    api: str
    action: str  # "create", "newversion" or "resume"
    files: list[ReleaseFile]
    metadata: dict
    publish: bool
    concept_record_id: int | None = None
    from_record_id: int | None = None
    draft_id: int | None = None
    expected_deletions: list[str] = field(default_factory=list)

    def as_text(self) -> str:
        lines = [f"Zenodo deposit plan ({self.environment}, {self.api})"]
        if self.action == "create":
            lines.append("  1. create a new deposition (first release: a new concept record)")
        elif self.action == "newversion":
            lines.append(f"  1. new version of concept {self.concept_record_id} "
                         f"(from latest published record {self.from_record_id}); read the draft from links.latest_draft")
        else:
            lines.append(f"  1. resume the open draft {self.draft_id}"
                         + (f" of concept {self.concept_record_id}" if self.concept_record_id else ""))
        if self.expected_deletions:
            lines.append("  2. delete inherited files not in this release: " + ", ".join(self.expected_deletions))
        else:
            lines.append("  2. delete any inherited file that is not in this release")
        lines.append("  3. upload (PUT to the draft's bucket; a same-named file is replaced):")
        for f in self.files:
            lines.append(f"       {f.name}  {f.size} bytes  sha256 {f.sha256}")
        lines.append("  4. PUT the full metadata:")
        lines.extend("       " + line for line in json.dumps(self.metadata, indent=2, sort_keys=True,
                                                              ensure_ascii=False).splitlines())
        if self.publish:
            lines.append("  5. publish (a DOI is minted; a published version cannot be deleted)")
        else:
            lines.append("  5. leave the draft unpublished (pass --publish to publish)")
        lines.append("Dry run: nothing was sent to Zenodo.")
        return "\n".join(lines)


def make_plan(files: list[ReleaseFile], metadata: dict, entry: dict, *, environment: str, api: str,
              publish: bool) -> Plan:
    names = {f.name for f in files}
    draft = entry.get("open_draft") or {}
    plan = Plan(environment, api, "create", files, metadata, publish,
                concept_record_id=entry.get("concept_record_id"), from_record_id=entry.get("record_id"))
    if draft.get("id"):
        plan.action, plan.draft_id = "resume", draft["id"]
    elif entry.get("record_id"):
        plan.action = "newversion"
        plan.expected_deletions = sorted(set(entry.get("files") or []) - names)
    return plan


def plan_problems(plan: Plan, entry: dict) -> list[Problem]:
    """Refuse what would make a confusing record: a re-deposit of a published version, or a
    bundle that does not carry the metadata's version."""
    problems = []
    version = plan.metadata.get("version")
    if plan.action == "newversion" and version and version == entry.get("version"):
        problems.append(Problem(
            "version-already-deposited",
            f"version {version} is already published on {plan.environment} as record "
            f"{entry.get('record_id')} (DOI {entry.get('doi')})",
            suggestion="bump release.version in params.yaml and run `dvc repro` before depositing"))
    if version:
        for f in plan.files:
            if f.name.endswith(".zip") and str(version) not in f.name:
                problems.append(Problem(
                    "bundle-version-mismatch",
                    f"the bundle {f.name} does not carry version {version} of the metadata",
                    file=str(f.path), suggestion="run `dvc repro` so the bundle and .zenodo.json agree"))
    return problems


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


