"""params.yaml: every setting the pipeline reads, checked in one place before any stage writes.

`read_params` is what every stage and command calls: it refuses a params.yaml that cannot be read
or whose settings are wrong (a release version that is not semver, a date that is not a date, a
path that leaves the repository …), every problem at once, so that a stage fails before it
writes anything and DVC never gets to empty a later stage's outputs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pipeline.core.people import valid_orcid
from pipeline.core.problems import Problem, ProblemsFound
from pipeline.core.versions import SEMVER

# Settings that name a path inside the repository (dotted keys into params.yaml).
PATH_SETTINGS = ("paths.interim", "paths.published", "paths.metrics", "source.export", "source.jats",
                 "contrib.dir", "curation.dir")


def load_params(root: Path = Path(".")) -> dict:
    """params.yaml as YAML gives it (unchecked); see read_params."""
    with open(Path(root) / "params.yaml", encoding="utf-8") as fh:
        import yaml  # (here: a check run outside a checkout, with no params.yaml, never loads PyYAML)

        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: 10x faster, same result


def read_params(root: Path = Path("."), *, check: bool = True) -> dict:
    """params.yaml for a stage or command: unreadable or wrong settings are problems, not tracebacks."""
    import yaml

    try:
        params = load_params(root)
    except (OSError, yaml.YAMLError, RecursionError, UnicodeDecodeError) as error:
        reason = "it nests too deeply" if isinstance(error, RecursionError) else str(error)
        raise ProblemsFound([Problem("unreadable-params", f"cannot read params.yaml: {reason}",
                                     file="params.yaml")]) from None
    if not isinstance(params, dict):
        raise ProblemsFound([Problem("unreadable-params", "params.yaml must be a mapping of settings",
                                     file="params.yaml")])
    if check:
        problems = check_params(params)
        if problems:
            raise ProblemsFound(problems)
    return params


def load_source(root: Path = Path(".")) -> dict:
    """params.yaml's `source` settings, for the commands that run beside `dvc repro`; ProblemsFound if unreadable."""
    params = read_params(root, check=False)
    source = params.get("source")
    if not isinstance(source, dict):
        raise ProblemsFound([Problem("unreadable-params", "source must be a mapping of settings",
                                     file="params.yaml", value=str(source))])
    problems = [p for p in check_paths(params) if p.column.startswith("source.")]
    if problems:
        raise ProblemsFound(problems)
    return source


def setting(params: dict, key: str) -> object:
    """The value at a dotted key (`paths.interim`), or None."""
    value: object = params
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def check_params(params: dict) -> list[Problem]:
    """Every problem with the settings, at once: release, paths, source, report."""
    problems = check_paths(params)
    try:
        release_from_params(params)
    except ProblemsFound as found:
        problems += found.problems
    dpi = setting(params, "report.dpi")
    if dpi is not None and (isinstance(dpi, bool) or not isinstance(dpi, int) or not 50 <= dpi <= 600):
        problems.append(Problem("bad-param", "report.dpi must be a whole number from 50 to 600",
                                file="params.yaml", column="report.dpi", value=str(dpi)))
    return problems


def check_paths(params: dict) -> list[Problem]:
    """Each path setting is relative, plain and stays inside the repository (no '..', no absolute path)."""
    problems = []
    for key in PATH_SETTINGS:
        value = setting(params, key)
        if value is None:
            continue
        text = str(value)
        path = PurePosixPath(text.replace("\\", "/"))
        if (not isinstance(value, str) or not text.strip() or path.is_absolute() or ".." in path.parts
                or re.match(r"^[A-Za-z]:", text) or any(ord(ch) < 32 for ch in text)):
            problems.append(Problem("bad-path", "a path in params.yaml must be relative and stay inside the "
                                    "repository", file="params.yaml", column=key, value=text,
                                    suggestion="use a path such as data/interim (no '..', no leading '/')"))
    return problems


# A Data Package name: lower-case letters, digits, '-', '.', '_' (also safe as a file name).
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class Creator:
    family: str
    given: str
    orcid: str | None = None
    affiliation: str | None = None

    @property
    def zenodo_name(self) -> str:
        return f"{self.family}, {self.given}"


@dataclass(frozen=True)
class Release:
    name: str
    version: str
    date: str
    title: str
    creators: tuple[Creator, ...]
    keywords: tuple[str, ...] = ()
    repository: str = ""  # release.repository: the code and data repository's URL
    doi: str = ""  # the version's DOI, once the release record has it

    @property
    def stem(self) -> str:
        """`<name>-<version>`: the bundle's top folder (as its datapackage.json says)."""
        return f"{self.name}-{self.version}"

    @property
    def bundle_name(self) -> str:
        """`<name>-<version>.zip`, or `<name>-unreleased.zip` for the unreleased state after a release."""
        from pipeline.core.releases import UNRELEASED, is_unreleased

        return f"{self.name}-{UNRELEASED}.zip" if is_unreleased(self.version) else f"{self.stem}.zip"


def _creator(raw: object, number: int, problems: list[Problem]) -> Creator | None:
    where = f"release.creators[{number}]"
    if not isinstance(raw, dict):
        problems.append(Problem("bad-creator", "a creator is a mapping with family and given names",
                                file="params.yaml", column=where, value=repr(raw),
                                suggestion="- {family: Doe, given: Jane, orcid: 0000-0002-1825-0097}"))
        return None
    family, given = str(raw.get("family") or "").strip(), str(raw.get("given") or "").strip()
    if not family or not given:
        problems.append(Problem("bad-creator", "a creator needs both `family` and `given`",
                                file="params.yaml", column=where, value=repr(raw)))
        return None
    if "," in family or "," in given:
        problems.append(Problem("bad-creator", "names may not contain ',' (Zenodo writes 'Family, Given')",
                                file="params.yaml", column=where, value=f"{family}, {given}"))
    orcid = raw.get("orcid")
    if orcid is not None:
        checked = valid_orcid(str(orcid))  # the one ORCID check, shared with contributors (core/people.py)
        if checked is None:
            problems.append(Problem("bad-orcid", "not a valid ORCID iD (format 0000-0000-0000-000X, check digit)",
                                    file="params.yaml", column=f"{where}.orcid", value=str(orcid)))
        orcid = checked
    affiliation = raw.get("affiliation")
    return Creator(family, given, orcid, str(affiliation).strip() if affiliation else None)


def release_from_params(params: dict) -> Release:
    """The release settings, checked; every problem is reported at once."""
    problems: list[Problem] = []
    release = params.get("release") if isinstance(params, dict) else None
    if not isinstance(release, dict):
        raise ProblemsFound([Problem("missing-param", "params.yaml has no `release` section", file="params.yaml")])

    def text(key: str) -> str:
        value = release.get(key)
        if value is None or str(value).strip() == "":
            problems.append(Problem("missing-param", f"`release.{key}` is not set", file="params.yaml",
                                    column=f"release.{key}"))
            return ""
        return str(value).strip()

    name, version, date, title = text("name"), text("version"), text("date"), text("title")
    if name and (not PACKAGE_NAME.match(name) or ".." in name):
        problems.append(Problem("bad-name", "the package name must be lower-case letters, digits, '-', '.', '_'",
                                file="params.yaml", column="release.name", value=name))
    if version and not SEMVER.match(version):
        problems.append(Problem("bad-version", "not a semantic version (MAJOR.MINOR.PATCH, e.g. 0.2.0)",
                                file="params.yaml", column="release.version", value=version,
                                suggestion="see https://semver.org"))
    if date:
        try:
            if len(date) != 10:
                raise ValueError(date)
            dt.date.fromisoformat(date)
        except ValueError:
            problems.append(Problem("bad-date", "not a calendar date in the form YYYY-MM-DD",
                                    file="params.yaml", column="release.date", value=date,
                                    suggestion='quote it in YAML: date: "2026-11-28"'))
    raw_creators = release.get("creators") or []
    if not isinstance(raw_creators, list) or not raw_creators:
        problems.append(Problem("missing-param", "`release.creators` needs at least one creator",
                                file="params.yaml", column="release.creators",
                                suggestion="- {family: Doe, given: Jane, orcid: 0000-0002-1825-0097}"))
        raw_creators = []
    creators = tuple(c for i, raw in enumerate(raw_creators) if (c := _creator(raw, i, problems)))
    keywords = tuple(str(k) for k in (release.get("keywords") or []))
    repository = str(release.get("repository") or "").strip()
    if repository and not re.fullmatch(r"https://[^\s/]+/\S+", repository):
        problems.append(Problem("bad-url", "release.repository must be an https URL", file="params.yaml",
                                column="release.repository", value=repository,
                                suggestion="e.g. https://github.com/ketamap/ketamap"))
    if problems:
        raise ProblemsFound(problems)
    return Release(name=name, version=version, date=date, title=title, creators=creators, keywords=keywords,
                   repository=repository)


def curation_folder(root: Path) -> Path:
    """The curation folder params.yaml names (data/curation in a checkout without one)."""
    try:
        return root / load_params(root)["curation"]["dir"]
    except (OSError, KeyError, TypeError):
        return root / "data" / "curation"
