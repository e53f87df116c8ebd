"""`ketamap`: a thin command line over the `pipeline` library.

Every command is a short function that calls the library; heavy libraries are imported inside
the commands so that `ketamap --help` starts fast. Exit codes everywhere: 0 success, 1 the
data is invalid or verification failed, 2 usage error or unreadable input.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(
    name="ketamap",
    help="Validate, build, diff, download and deposit the ketamap data package.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from pipeline import __version__

        typer.echo(f"ketamap {__version__}")
        raise typer.Exit(0)


@app.callback()
def ketamap(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the tool's version and exit (the data's is release.version in params.yaml)."),
) -> None:
    """Validate, build, diff, download and deposit the ketamap data package.

    Exit codes: 0 success, 1 the data is invalid or verification failed, 2 usage error or
    unreadable input. `dvc repro` rebuilds the package; these commands work around it.
    """


# `ketamap --help` groups the commands by who uses them.
CONTRIBUTE = "Contribute findings"
USE = "Use a release"
MAINTAIN = "Build and release (maintainers)"


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def run() -> None:
    """The `ketamap` console script: `main`, then an exit that skips the interpreter's teardown.

    Tearing down polars and the other loaded libraries takes 0.1-0.15 s, as long as a small
    file's whole check. Nothing is lost by skipping it: every file a command writes is closed
    (and renamed into place) before the command returns, its threads are joined, and the
    standard streams are flushed here. A reader that closed the pipe early (`| head`) gets no
    "Exception ignored" message, as with a normal exit of a well-behaved tool."""
    try:
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code
    if code is not None and not isinstance(code, int):  # sys.exit("message"), as Python does it
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader is gone, or the stream was closed
            pass
    os._exit(code or 0)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # input no command caught, or a bug: never a traceback
        import os

        from pipeline.cli.problems import report as report_problems
        from pipeline.core.problems import Problem, ProblemsFound

        if isinstance(error, ProblemsFound):  # e.g. a damaged schemas/ file, found wherever it is read
            sys.exit(report_problems(error.problems))
        if isinstance(error, RecursionError):  # deeply nested JSON or YAML in an input: refused
            sys.exit(report_problems([Problem("unreadable-file", "an input nests too deeply to be read (JSON or YAML "
                                              "nested thousands of levels)", suggestion="check the file; a data "
                                              "package, its schemas and metadata nest a few levels only")]))
        if os.environ.get("KETAMAP_DEBUG"):  # a bug: said briefly; KETAMAP_DEBUG=1 shows the traceback
            raise
        sys.exit(report_problems([Problem("internal-error", f"{type(error).__name__}: {error}",
                                          suggestion="please report it; KETAMAP_DEBUG=1 shows the details")]))


@app.command(rich_help_panel=MAINTAIN)
def deposit(
    production: bool = typer.Option(False, "--production/--sandbox",
                                    help="Deposit on zenodo.org instead of the sandbox (the default)."),
    publish: bool = typer.Option(False, "--publish", help="Publish the draft (mints a DOI; cannot be undone)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; send nothing."),
    bundle: Optional[Path] = typer.Option(None, "--bundle", help="Release zip (default: dist/<name>-<version>.zip from params.yaml)."),
    metadata: Path = typer.Option(Path(".zenodo.json"), "--metadata", help="Zenodo metadata file."),
    state: Path = typer.Option(Path("release/zenodo-deposits.json"), "--state",
                               help="Where deposits are recorded for the next release."),
    api: Optional[str] = typer.Option(None, "--api", envvar="KETAMAP_ZENODO_API", show_envvar=True,
                                      help="Zenodo API base URL (overrides --sandbox/--production)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No upload progress bar on stderr."),
) -> None:
    """Deposit the release bundle on Zenodo: a new deposition the first time, a new version after.

    The token comes from ZENODO_TOKEN (scopes deposit:write, deposit:actions) and is sent only as a Bearer header. Without --publish the draft stays open for review; running the command again resumes it. Deposits are recorded in release/zenodo-deposits.json.

    Example:  ketamap deposit --sandbox --dry-run && ketamap deposit --sandbox --publish
    """
    from pipeline.cli.deposit import deposit_command

    raise typer.Exit(deposit_command(production=production, publish=publish, dry_run=dry_run, bundle=bundle,
                                     metadata=metadata, state=state, api=api, quiet=quiet))


@app.command(rich_help_panel=MAINTAIN)
def release(
    doi: Optional[str] = typer.Option(None, "--doi", help="Record the Zenodo DOI of the released version "
                                                          "(release.version) instead."),
) -> None:
    """Record the built version as released: its bundle kept in release/, its entry in release/releases.json.

    Run after the version bump, `dvc repro` and a commit of the build; the entry names that commit,
    the bundle's sha256 and date. A released version's bundle never changes afterwards: a later build
    with other data is `<version>+unreleased`. `--doi` adds the DOI once `ketamap deposit --publish` minted it.

    Example: ketamap release && git add release && git commit -m "Release 0.2.0 recorded"
    """
    from pipeline.cli.release import release_command

    raise typer.Exit(release_command(doi))


# --- release: diff, changelog (pipeline.datapackage) ---------------------------------------


class DiffFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command(rich_help_panel=USE)
def diff(
    old: str = typer.Argument(..., help="Older version: a released version (0.1.0), a folder, a datapackage.json, a release zip or a git revision."),
    new: str = typer.Argument(..., help="Newer version, in any of the same forms."),
    format: DiffFormat = typer.Option(DiffFormat.text, "--format", help="text, json or markdown."),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when the versions differ (like git diff)."),
) -> None:
    """Findings added, removed and changed (field by field) between two versions, by finding_id.

    A released version is also found by its number (release/releases.json), with or without tags.

    Example: ketamap diff 0.1.0 . --format markdown
    """
    from pipeline.cli.problems import report
    from pipeline.core.problems import ProblemsFound
    from pipeline.datapackage.diff import RENDERERS, diff_packages

    try:
        result = diff_packages(old, new)
    except ProblemsFound as found:
        raise typer.Exit(report(found.problems))
    typer.echo(RENDERERS[format.value](result), nl=False)
    raise typer.Exit(1 if exit_code and not result.identical else 0)


@app.command(rich_help_panel=MAINTAIN)
def changelog(
    since: Optional[str] = typer.Option(None, "--since", help="The previous release (version, git revision, folder or zip); "
                                        "default: the highest release below release.version (release/releases.json)."),
    write: bool = typer.Option(False, "--write", help="Put the entry into CHANGELOG.md (between markers)."),
) -> None:
    """The data changes since the previous release, as CHANGELOG.md's generated entry.

    Example: dvc repro && ketamap changelog --write && dvc repro
    """
    from pipeline.cli.problems import report
    from pipeline.core.files import atomic_write_text
    from pipeline.core.problems import Problem, ProblemsFound
    from pipeline.core.settings import load_params
    from pipeline.core.versions import SEMVER
    from pipeline.datapackage.changelog import (
        changelog_entry,
        previous_release,
        update_changelog,
    )
    from pipeline.datapackage.diff import (
        diff_packages,
        diff_versions,
        empty_version,
        read_version,
    )

    try:
        release = load_params(Path("."))["release"]
        version, date = str(release["version"]), str(release["date"])
        if not SEMVER.match(version):
            raise ProblemsFound([Problem("bad-version", "release.version is not a semantic version",
                                         file="params.yaml", value=version)])
        previous = since or previous_release(Path("."), version)
        current = read_version(".")
        if current.version != version:
            released = current.version == f"{version}+unreleased"
            raise ProblemsFound([Problem("params-mismatch", f"datapackage.json is version {current.version} but "
                                         f"params.yaml says {version}", file="datapackage.json",
                                         suggestion=f"{version} is released: bump release.version and release.date "
                                         "in params.yaml, then `dvc repro`" if released else "run `dvc repro` first")])
        result = diff_packages(previous, ".") if previous else diff_versions(empty_version(), current)
        entry = changelog_entry(result, previous)
        if write:
            path = Path("CHANGELOG.md")
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            atomic_write_text(path, update_changelog(text, version, date, entry))
    except (OSError, KeyError, TypeError) as error:
        raise typer.Exit(report([Problem("unreadable-file", str(error), file="params.yaml or CHANGELOG.md")]))
    except ProblemsFound as found:
        raise typer.Exit(report(found.problems))
    typer.echo(entry, nl=False)


@app.command(rich_help_panel=USE)
def download(
    source: str = typer.Argument(..., help="Zenodo DOI or record URL, https URL of a release zip or "
                                           "datapackage.json, or a local zip, folder or datapackage.json."),
    to: Optional[Path] = typer.Option(None, "--to", help="Target folder (default ./<name>-<version>)."),
    version: Optional[str] = typer.Option(None, "--version", help="Pick this version of a Zenodo record "
                                                                  "(any DOI of the concept); elsewhere, require it."),
    zenodo_api: Optional[str] = typer.Option(None, "--zenodo-api", envvar="KETAMAP_ZENODO_API", show_envvar=True,
                                             help="Zenodo API base (default https://zenodo.org/api)."),
    replace: bool = typer.Option(False, "--replace", help="Replace a folder an earlier `ketamap download` placed "
                                                            "(never one holding other files)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar on stderr."),
    deadline: Optional[float] = typer.Option(None, "--deadline", envvar="KETAMAP_DOWNLOAD_DEADLINE",
                                             help="Give up a transfer after this many seconds (default 6 h)."),
) -> None:
    """Download a release, verify every checksum and validate it; only then move it into the target folder.

    Example: ketamap download 10.5281/zenodo.1234567 --to ketamap-data

    Exit 0: verified and in place (or already there, identical). Exit 1: verification failed, nothing written. Exit 2: the source could not be reached or used.
    """
    from pipeline.cli.download import download_command

    raise typer.Exit(download_command(source, to, version, zenodo_api, replace, quiet, deadline))


# --- jats: fetch-source, reconcile (pipeline.sources) ---------------------------------------


class FetchServer(str, Enum):
    auto = "auto"
    europepmc = "europepmc"
    pmc = "pmc"


@app.command("fetch-source", rich_help_panel=MAINTAIN)
def fetch_source(
    server: FetchServer = typer.Option(FetchServer.auto, "--from", help="europepmc, pmc, or auto (Europe PMC, then PMC)."),
    pmcid: Optional[str] = typer.Option(None, "--pmcid", help="Article to fetch (default: the PMCID in the text export)."),
    to: Optional[Path] = typer.Option(None, "--to", help="Where to write it (default: source.jats in params.yaml)."),
    europepmc_url: Optional[str] = typer.Option(None, "--europepmc-url", envvar="KETAMAP_EUROPEPMC_URL", show_envvar=True,
                                                help="Europe PMC REST base (default https://www.ebi.ac.uk/europepmc/webservices/rest)."),
    pmc_url: Optional[str] = typer.Option(None, "--pmc-url", envvar="KETAMAP_PMC_OAI_URL", show_envvar=True,
                                          help="PMC OAI-PMH endpoint (default https://www.ncbi.nlm.nih.gov/pmc/oai/oai.cgi)."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds to wait for each server."),
    force: bool = typer.Option(False, "--force", help="Replace a different file already at the target."),
) -> None:
    """Download the article's JATS XML (needs internet) into data/raw/, with a .sha256 record; never run by dvc repro.

    Then set source.kind: jats in params.yaml and run `dvc repro`. Exit 0: fetched (or already up to date). Exit 2: nothing could be fetched; nothing was changed.

    Example: ketamap fetch-source && ketamap reconcile
    """
    from pipeline.cli.jats import fetch_command

    raise typer.Exit(fetch_command(to, pmcid, server.value, europepmc_url, pmc_url, timeout, force))


@app.command(rich_help_panel=MAINTAIN)
def reconcile(
    export: Optional[Path] = typer.Option(None, "--export", help="Text export (default: source.export in params.yaml)."),
    jats: Optional[Path] = typer.Option(None, "--jats", help="JATS XML (default: source.jats in params.yaml)."),
    table: Optional[str] = typer.Option(None, "--table", help="Table label (default: source.jats_table, 'Table 1')."),
    format: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text or json."),
) -> None:
    """Compare the text export and the JATS table row by row: molecule, and each row's (direction, qualifier) cells.

    Exit 0: the sources agree. Exit 1: every disagreement is listed (or a source is invalid). Exit 2: a file is missing, or params.yaml cannot be read.

    Example: ketamap reconcile --jats data/raw/PMC9082546.xml --format json
    """
    from pipeline.cli.jats import reconcile_command

    raise typer.Exit(reconcile_command(export, jats, table, format.value))


# --- contributions: validate, template (pipeline.contributions, pipeline.publish.verify) -----


class ValidateFormat(str, Enum):
    text = "text"
    json = "json"
    html = "html"
    markdown = "markdown"


class TemplateFormat(str, Enum):
    csv = "csv"
    xlsx = "xlsx"


@app.command(rich_help_panel=CONTRIBUTE)
def validate(
    paths: List[Path] = typer.Argument(..., help="Contributions (.csv, .tsv, .txt, .xlsx, .ods) or packages "
                                                 "(a datapackage.json, a folder holding one, a release zip)."),
    format: ValidateFormat = typer.Option(ValidateFormat.text, "--format", help="text (for people), json, "
                                          "html (one self-contained page, each problem in its cell) or markdown "
                                          "(a CI job summary)."),
    max_errors: int = typer.Option(50, "--max-errors", min=0, help="List at most N errors and N warnings per "
                                   "file; 0 lists all. Counts per problem code are always complete."),
    package: Optional[Path] = typer.Option(None, "--package", help="Compare with this package (findings.csv, "
                                           "datapackage.json or folder); default: ./data/findings.csv if it exists."),
    no_package: bool = typer.Option(False, "--no-package", help="Do not compare with any package."),
    curation: bool = typer.Option(False, "--curation", help="Check curation files (finding_id, region, …); "
                                  "files in data/curation/ always are."),
    max_rows: int = typer.Option(2_000_000, "--max-rows", min=1, help="Read files of up to N rows (the byte "
                                 "limit grows with it, 134 bytes a row); a big CSV is checked in chunks."),
) -> None:
    """Check contributed findings or whole packages: every problem at once, by line and column, with a fix.

    Example: ketamap validate my-findings.xlsx --format html > report.html

    Exit 0: valid. Exit 1: problems found. Exit 2: a file is missing, of an unsupported kind or unreadable.
    """
    from pipeline.cli.validate import validate_command

    raise typer.Exit(validate_command(paths, format.value, max_errors, package, no_package, curation, max_rows))


@app.command(rich_help_panel=CONTRIBUTE)
def template(
    format: TemplateFormat = typer.Option(TemplateFormat.csv, "--format", help="csv or xlsx."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here (default: standard output)."),
    curation: bool = typer.Option(False, "--curation", help="A curation file (finding_id, region, population, "
                                  "references, curator, notes) instead of a contribution."),
) -> None:
    """An empty contribution (or curation file): the header and one commented example row.

    Example: ketamap template --format xlsx --output my-findings.xlsx
    """
    from pipeline.cli.problems import report
    from pipeline.contributions.templates import CURATION_SCHEMA, SCHEMA, template_csv, template_xlsx
    from pipeline.core.files import atomic_write_bytes
    from pipeline.core.problems import Problem

    schema = CURATION_SCHEMA if curation else SCHEMA
    data = template_xlsx(schema=schema) if format is TemplateFormat.xlsx else template_csv(schema=schema)
    if output is None:
        if format is TemplateFormat.xlsx and sys.stdout.isatty():
            raise typer.Exit(report([Problem("usage", "an .xlsx file cannot go to a terminal",
                                             suggestion="give --output PATH")]))
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    refused = not_a_regular_target(output)
    if refused:
        raise typer.Exit(report([Problem("not-a-file", refused, file=str(output), suggestion="give the path of a file")]))
    try:
        atomic_write_bytes(output, data)
    except OSError as error:
        raise typer.Exit(report([Problem("unwritable-file", str(error.strerror or error), file=str(output))]))


def not_a_regular_target(output: Path) -> str | None:
    """Why `output` cannot be replaced by a file (a folder, FIFO, socket or device), or None: a device
    such as /dev/full, or a FIFO, is never swapped for a regular file."""
    import os

    from pipeline.core.files import not_regular

    try:
        kind = not_regular(os.stat(output).st_mode)
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"cannot inspect it ({error.strerror})"
    return f"it is {kind}, not a regular file; it is left as it is" if kind else None


# --- report: the evidence map (pipeline.report) ---------------------------------------------


@app.command(rich_help_panel=MAINTAIN)
def report(
    out: Path = typer.Option(Path("reports"), "--out", help="Folder for evidence-map.html, .svg and .png."),
    data: Optional[Path] = typer.Option(None, "--data", help="Folder of the published tables "
                                        "(default: paths.published in params.yaml)."),
) -> None:
    """Draw the evidence map of the published tables: a self-contained HTML page, SVG and PNG.

    `dvc repro` builds the same files into reports/; this command draws them anywhere, for example
    from a downloaded release. Exit 1 when the tables contradict each other, 2 when they cannot be read.

    Example: ketamap report --out /tmp/map && xdg-open /tmp/map/evidence-map.html
    """
    from pipeline.cli.problems import report as report_problems
    from pipeline.core.problems import Problem, ProblemsFound
    from pipeline.report.evidence_map import draw

    if out.exists() and (not out.is_dir() or not os.access(out, os.W_OK | os.X_OK)):
        raise typer.Exit(report_problems([Problem("unwritable-file", "--out must be a folder this user can write",
                                                  file=str(out), suggestion="give a folder (it is created if missing)")]))
    try:
        written = draw(Path("."), out, data)
    except ProblemsFound as found:
        raise typer.Exit(report_problems(found.problems))
    for path in written:
        typer.echo(str(path))


# --- contributions and curation: add (pipeline.contributions.intake) ------------------------


@app.command(rich_help_panel=CONTRIBUTE)
def add(
    path: Path = typer.Argument(..., help="A contribution or, with --curation, a curation file (CSV, TSV, XLSX, ODS)."),
    curation: bool = typer.Option(False, "--curation", help="Add a curation file to data/curation/ "
                                                            "instead of a contribution to data/contrib/."),
    contributor: List[str] = typer.Option([], "--contributor", help="Credit a contributor of a file that names "
                                          "none: \"Family, Given|ORCID|Affiliation\" (ORCID, affiliation "
                                          "optional; repeat for several)."),
) -> None:
    """Validate a file, then place it under data/contrib/ (or data/curation/) for the next `dvc repro`.

    An invalid file changes nothing (exit 1); a different file of the same name is never overwritten (exit 2).

    Example: ketamap add my-findings.csv --contributor "Doe, Jane|0000-0002-1825-0097|Univ. X" && dvc repro
    """
    from pipeline.cli.problems import report
    from pipeline.contributions.intake import Refused, add_file
    from pipeline.core.people import parse_contributor
    from pipeline.core.problems import Problem, ProblemsFound, printable
    from pipeline.core.settings import load_params
    from pipeline.core.vocab import Vocabulary

    root = Path(".")
    if not (root / "params.yaml").is_file():
        raise typer.Exit(report([Problem("not-a-project", "run `ketamap add` in the ketamap repository "
                                         "(no params.yaml here)")]))
    credited = [parse_contributor(text) for text in contributor]
    bad = [Problem("usage", f"--contributor: {error}", column="--contributor", value=text)
           for text, (_, error) in zip(contributor, credited) if error]
    if bad:
        raise typer.Exit(report(bad))
    try:
        destination, copied = add_file(path, root, load_params(root), Vocabulary(root / "schemas"), curation,
                                       [c for c, _ in credited])
    except Refused as refused:
        raise typer.Exit(report(refused.problems))
    except ProblemsFound as found:
        code = report(found.problems)
        typer.echo(f"\n{printable(str(path))}: not added; fix the problems above and run `ketamap add` again.", err=True)
        raise typer.Exit(code)
    except OSError as error:
        raise typer.Exit(report([Problem("unreadable-file", str(error), file=str(path))]))
    where = printable(destination.as_posix())
    typer.echo(f"added {where}; run `dvc repro` to rebuild the package." if copied
               else f"{where} is already there (identical); nothing to do.")


# Panels in the order people meet the project: contributors, users, maintainers (stable within a panel).
app.registered_commands.sort(key=lambda command: [CONTRIBUTE, USE, MAINTAIN].index(command.rich_help_panel))
