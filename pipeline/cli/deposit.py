"""`ketamap deposit`: prepare (offline checks), the plan or the deposit (pipeline.publish.zenodo),
printed, and the exit code: 0 done, 1 the release is not fit or Zenodo failed, 2 usage or input."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipeline.cli.progress import progress_bar, wanted
from pipeline.core.problems import ProblemsFound, exit_code, render_text
from pipeline.publish.deposition import check_state_writable, prepare, read_token
from pipeline.publish.zenodo import Log, outcome_lines, redact, run_deposit


def deposit_command(*, production: bool, publish: bool, dry_run: bool, bundle: Path | None, metadata: Path,
                    state: Path, api: str | None, root: Path = Path("."), environ: dict | None = None,
                    out: Log | None = None, err: Log | None = None, quiet: bool = False) -> int:
    """`ketamap deposit`: returns the exit code."""
    environ = os.environ if environ is None else environ
    out = out or (lambda text: print(text, flush=True))
    token = (environ.get("ZENODO_TOKEN") or "").strip()
    say = err or (lambda text: print(text, file=sys.stderr, flush=True))
    err = lambda text: say(redact(text, token))  # noqa: E731 (the one place anything reaches stderr)
    try:
        prepared = prepare(production=production, publish=publish, bundle=bundle, metadata=metadata, state=state,
                           api=api, root=root)
        if prepared.warnings:
            err(render_text(prepared.warnings))
        if dry_run:
            out(prepared.plan.as_text())
            return 0
        token = read_token(environ, prepared.plan.environment)
        check_state_writable(Path(state))
    except ProblemsFound as found:
        err(render_text(found.problems))
        return exit_code(found.problems)
    try:
        with progress_bar(wanted(quiet)) as progress:
            outcome = run_deposit(prepared, token, err, progress)
    except ProblemsFound as found:
        err(render_text(found.problems))
        return 1
    for line in outcome_lines(outcome, prepared.plan.environment, Path(state)):
        out(redact(line, token))
    return 0
