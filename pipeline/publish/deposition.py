"""What `ketamap deposit` would send, checked before anything is: the bundle, `.zenodo.json`,
the state file (`release/zenodo-deposits.json`), the token, and the plan of Zenodo calls.

Every refusal is a `Problem`; `prepare` raises them all at once, before the network is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.files import atomic_write_text
from pipeline.core.http import url_allowed
from pipeline.core.problems import Problem, ProblemsFound

SANDBOX_API = "https://sandbox.zenodo.org/api"
PRODUCTION_API = "https://zenodo.org/api"
TOKEN_ENV = "ZENODO_TOKEN"
# Zenodo refuses to publish without these (developers.zenodo.org, "Deposit metadata").
REQUIRED_METADATA = ("upload_type", "title", "creators", "description", "publication_date")
# The creator params.yaml ships with: a production record must name real people.
PLACEHOLDER_CREATORS = frozenset({"maintainers, ketamap"})
# A personal access token is printable ASCII without spaces; anything else is refused unseen.
_TOKEN = re.compile(r"[\x21-\x7e]+")


def token_help(environment: str) -> str:
    site = "https://sandbox.zenodo.org" if environment == "sandbox" else "https://zenodo.org"
    return (f"create a personal access token at {site}/account/settings/applications/tokens/new/ "
            "with the scopes deposit:write and deposit:actions (the sandbox and zenodo.org have "
            "separate accounts and tokens), then put it in the environment without echoing it, "
            f"e.g. `read -rs {TOKEN_ENV} && export {TOKEN_ENV}`")


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
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        return {}, [Problem("unreadable-file", f"cannot read the Zenodo metadata: {reason}", file=str(path))]
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


def placeholder_problems(metadata: dict, environment: str) -> list[Problem]:
    """A production deposit refuses the placeholder creator (exit 1); the sandbox only warns."""
    names = [str(c.get("name", "")) for c in metadata.get("creators") or [] if isinstance(c, dict)]
    found = [n for n in names if " ".join(n.split()).casefold() in PLACEHOLDER_CREATORS]
    if not found:
        return []
    production = environment == "production"
    return [Problem("placeholder-creator", f"the creators still hold the placeholder {found[0]!r}"
                    + ("; a published DOI cannot be taken back" if production else " (fine for a sandbox test)"),
                    file="params.yaml", column="release.creators", value=found[0],
                    severity="error" if production else "warning",
                    suggestion="edit release.creators in params.yaml (family, given, orcid), then `dvc repro`")]


@dataclass
class Prepared:
    plan: Plan
    state: dict
    state_path: Path
    warnings: list[Problem] = field(default_factory=list)


def api_problem(api: str) -> Problem | None:
    if url_allowed(api):
        return None
    return Problem("api-url", f"refusing to send the token to {api!r}: Zenodo's API is served over https",
                   suggestion=f"use {SANDBOX_API} (default) or {PRODUCTION_API} (--production)")


def bundle_path(bundle: Path | None, root: Path) -> Path:
    if bundle is not None:
        return Path(bundle)
    from pipeline.core.settings import load_params

    try:
        release = load_params(root)["release"]
        return Path(root) / "dist" / f"{release['name']}-{release['version']}.zip"
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ProblemsFound([Problem("unreadable-params", f"cannot read release.name/version from params.yaml: {exc}",
                                     file="params.yaml", suggestion="pass --bundle PATH")])


def _inputs(bundle: Path, metadata: Path, state: Path) -> tuple[ReleaseFile, dict, dict]:
    if not bundle.is_file():
        raise ProblemsFound([Problem("bundle-missing", "the release bundle does not exist", file=str(bundle),
                                     suggestion="run `dvc repro` to build it, or pass --bundle PATH")])
    meta, problems = load_metadata(metadata)
    if problems:
        raise ProblemsFound(problems)
    try:
        state_data = load_state(state)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProblemsFound([Problem("unreadable-file", f"cannot read the deposit record: {exc}", file=str(state),
                                     suggestion="restore it from git (`git checkout -- release/zenodo-deposits.json`)")])
    try:
        release = describe_file(bundle)
    except OSError as exc:
        raise ProblemsFound([Problem("unreadable-file", f"cannot read the bundle: {exc}", file=str(bundle))])
    return release, meta, state_data


def prepare(*, production: bool, publish: bool, bundle: Path | None, metadata: Path, state: Path,
            api: str | None, root: Path = Path(".")) -> Prepared:
    """Everything checked that can be checked offline; raises ProblemsFound (see `exit_code`)."""
    environment = "production" if production else "sandbox"
    api = (api or "").strip() or (PRODUCTION_API if production else SANDBOX_API)
    bad_api = api_problem(api)
    if bad_api:
        raise ProblemsFound([bad_api])
    release, meta, state_data = _inputs(bundle_path(bundle, root), Path(metadata), Path(state))
    entry = state_data.get(environment) or {}
    plan = make_plan([release], meta, entry, environment=environment, api=api, publish=publish)
    problems = plan_problems(plan, entry) + placeholder_problems(meta, environment)
    if any(p.severity == "error" for p in problems):
        raise ProblemsFound(problems)
    return Prepared(plan, state_data, Path(state), problems)


def read_token(environ, environment: str) -> str:
    """The token from the environment, refused (never shown) when missing or malformed."""
    token = (environ.get(TOKEN_ENV) or "").strip()
    if not token:
        raise ProblemsFound([Problem("token-missing", f"{TOKEN_ENV} is not set", suggestion=token_help(environment))])
    if not _TOKEN.fullmatch(token):
        raise ProblemsFound([Problem("token-malformed", f"{TOKEN_ENV} holds a space, a line break or another "
                                     "character no token has; it was not used and is not shown",
                                     suggestion=f"set it again: `read -rs {TOKEN_ENV} && export {TOKEN_ENV}`, "
                                     "then paste only the token")])
    return token


def check_state_writable(state: Path) -> None:
    # Check before creating anything: a draft whose id cannot be recorded could not be resumed.
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        writable = os.access(state.parent, os.W_OK) and (not state.exists() or os.access(state, os.W_OK))
    except OSError:
        writable = False
    if not writable:
        raise ProblemsFound([Problem("unwritable-file", "cannot write the deposit record", file=str(state))])
