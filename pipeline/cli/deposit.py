"""`ketamap deposit`: the plan or the deposit (pipeline.publish.zenodo), printed, and the exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import requests

from pipeline.core.problems import Problem, exit_code, render_text
from pipeline.core.settings import load_params
from pipeline.publish.zenodo import (
    PRODUCTION_API,
    SANDBOX_API,
    TOKEN_ENV,
    Log,
    ZenodoClient,
    ZenodoError,
    deposit,
    describe_file,
    load_metadata,
    load_state,
    make_plan,
    plan_problems,
    token_help,
)


def _api_problem(api: str) -> Problem | None:
    parts = urlsplit(api)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "https" or (parts.scheme == "http" and loopback):
        return None
    return Problem("api-url", f"refusing to send the token to {api!r}: Zenodo's API is served over https",
                   suggestion=f"use {SANDBOX_API} (default) or {PRODUCTION_API} (--production)")


def deposit_command(*, production: bool, publish: bool, dry_run: bool, bundle: Path | None, metadata: Path,
                state: Path, api: str | None, root: Path = Path("."), environ: dict | None = None,
                out: Log | None = None, err: Log | None = None) -> int:
    """`ketamap deposit`: returns the exit code (0 done, 1 Zenodo failed, 2 usage or input)."""
    environ = os.environ if environ is None else environ
    out = out or (lambda text: print(text, flush=True))
    err = err or (lambda text: print(text, file=sys.stderr, flush=True))
    environment = "production" if production else "sandbox"
    api = (api or "").strip() or (PRODUCTION_API if production else SANDBOX_API)

    def fail(problems: list[Problem]) -> int:
        err(render_text(problems))
        return exit_code(problems)

    bad_api = _api_problem(api)
    if bad_api:
        return fail([bad_api])
    if bundle is None:
        try:
            release = load_params(root)["release"]
            bundle = Path(root) / "dist" / f"{release['name']}-{release['version']}.zip"
        except (OSError, KeyError, TypeError, ValueError) as exc:
            return fail([Problem("unreadable-params", f"cannot read release.name/version from params.yaml: {exc}",
                                  file="params.yaml", suggestion="pass --bundle PATH")])
    if not Path(bundle).is_file():
        return fail([Problem("bundle-missing", "the release bundle does not exist", file=str(bundle),
                              suggestion="run `dvc repro` to build it, or pass --bundle PATH")])
    meta, problems = load_metadata(metadata)
    if problems:
        return fail(problems)
    try:
        state_data = load_state(state)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return fail([Problem("unreadable-file", f"cannot read the deposit record: {exc}", file=str(state),
                              suggestion="restore it from git (`git checkout -- release/zenodo-deposits.json`)")])
    entry = state_data.get(environment) or {}
    try:
        files = [describe_file(Path(bundle))]
    except OSError as exc:
        return fail([Problem("unreadable-file", f"cannot read the bundle: {exc}", file=str(bundle))])
    plan = make_plan(files, meta, entry, environment=environment, api=api, publish=publish)
    problems = plan_problems(plan, entry)
    if problems:
        return fail(problems)
    if dry_run:
        out(plan.as_text())
        return 0

    token = (environ.get(TOKEN_ENV) or "").strip()
    if not token:
        return fail([Problem("token-missing", f"{TOKEN_ENV} is not set", suggestion=token_help(environment))])
    # Check before creating anything: a draft whose id cannot be recorded could not be resumed.
    try:
        Path(state).parent.mkdir(parents=True, exist_ok=True)
        writable = os.access(Path(state).parent, os.W_OK) and (
            not Path(state).exists() or os.access(state, os.W_OK))
    except OSError:
        writable = False
    if not writable:
        return fail([Problem("unwritable-file", "cannot write the deposit record", file=str(state))])
    client = ZenodoClient(api, token, log=err)
    try:
        outcome = deposit(plan, client, state_data, Path(state), log=err)
    except ZenodoError as exc:
        hint = "run the same command again: it resumes the open draft instead of making another"
        if exc.status in (401, 403):
            hint = f"check {TOKEN_ENV}: " + token_help(environment)
        elif exc.status == 400 and exc.step.startswith("creating a new version"):
            hint = (f"Zenodo makes new versions only of the latest published one; if a version was "
                    f"published outside ketamap, put its id as {environment}.record_id in {state}")
        return fail([Problem("deposit-failed", client.redact(str(exc)), suggestion=hint)])
    except requests.RequestException as exc:
        return fail([Problem("deposit-failed", client.redact(f"{type(exc).__name__}: {exc}"))])
    except OSError as exc:  # after Zenodo answered: the deposit happened, its record could not be written
        return fail([Problem("deposit-failed", client.redact(f"cannot write the deposit record: {exc}"),
                              file=str(state))])
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return fail([Problem("deposit-failed", client.redact(
            f"Zenodo's answer is not shaped as documented ({type(exc).__name__}: {exc})"),
            suggestion="run the same command again; if it persists, check the draft on the Zenodo web page")])

    draft = outcome.draft
    if outcome.published:
        e = outcome.entry
        out(f"published version {e.get('version')} on {environment}: DOI {e.get('doi')} "
            f"(record {e.get('record_id')}; all versions: {e.get('concept_doi')})")
        out(f"recorded in {state}; commit it so the next release becomes a new version of this one")
    else:
        link = (draft.get("links") or {}).get("html") or f"deposition {draft.get('id')}"
        out(f"draft {draft.get('id')} is ready for review: {link}")
        out("not published; run again with --publish to publish it")
    return 0
