"""The release stage: a byte-reproducible bundle, `.zenodo.json` and `CITATION.cff` that follow their rules."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from pipeline.core.problems import ProblemsFound
from pipeline.core.people import orcid_checksum_ok
from pipeline.core.settings import release_from_params
from pipeline.publish.bundle import REPORT_FILES, build
from pipeline.stages.release import run

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "release"

PARAMS = {
    "release": {
        "name": "ketamap",
        "version": "0.2.0",
        "date": "2026-12-01",
        "title": "ketamap: molecular changes induced by ketamine",
        "creators": [
            {"family": "Carberry", "given": "Josiah", "orcid": "0000-0002-1825-0097", "affiliation": "Brown University"},
            {"family": "Doe", "given": "Jane"},
        ],
        "keywords": ["Ketamine", "rapid antidepressants"],
    },
    "source": {"id": "kang-2022"},
}
FINDINGS = [
    {"finding_id": "fnd-000000000001", "molecule_label": "BDNF", "direction": "increase", "location_status": "lost_in_source"},
    {"finding_id": "fnd-000000000002", "molecule_label": "GSK-3", "direction": "decrease", "location_status": "curated"},
    {"finding_id": "fnd-000000000003", "molecule_label": "AMPAR", "direction": "no_change", "location_status": "lost_in_source"},
]


def csv_bytes(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_project(root: Path, params: dict = PARAMS, version: str | None = None) -> Path:
    """A built package as the `package` stage leaves it, plus the files the release needs."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    files = {"data/findings.csv": csv_bytes(FINDINGS), "data/sources.csv": (FIXTURES / "sources.csv").read_bytes()}
    resources = []
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        resources.append({"name": Path(rel).stem, "path": rel, "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
                          "bytes": len(data)})
    descriptor = {"name": params["release"]["name"], "version": version or params["release"]["version"],
                  "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/"}],
                  "resources": resources}
    (root / "datapackage.json").write_text(json.dumps(descriptor, indent=2) + "\n", encoding="utf-8")
    (root / "data/README.md").write_text("# ketamap\n\nData dictionary.\n", encoding="utf-8")
    (root / "LICENSE-DATA.md").write_text("CC BY 4.0\n", encoding="utf-8")
    (root / "CHANGELOG.md").write_text("# Changelog\n\n## [0.2.0] - 2026-12-01\n\nMore findings.\n", encoding="utf-8")
    (root / "reports").mkdir()
    for rel in REPORT_FILES:  # stand-ins: the release bundles whatever the report stage wrote
        (root / rel).write_bytes(f"evidence map stand-in: {rel}\n".encode("utf-8"))
    return root


def load_params(root: Path) -> dict:
    return yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))


def bundle(root: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(root / "dist" / "ketamap-0.2.0.zip")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = write_project(tmp_path / "project")
    run(root)
    return root


# --- Zenodo's deposit metadata rules, as developers.zenodo.org states them --------------------
ZENODO_KEYS = {
    "upload_type", "publication_type", "image_type", "publication_date", "title", "creators", "description",
    "access_right", "license", "embargo_date", "access_conditions", "doi", "prereserve_doi", "keywords", "notes",
    "related_identifiers", "contributors", "references", "communities", "grants", "journal_title",
    "journal_volume", "journal_issue", "journal_pages", "conference_title", "conference_acronym",
    "conference_dates", "conference_place", "conference_url", "conference_session", "conference_session_part",
    "imprint_publisher", "imprint_isbn", "imprint_place", "partof_title", "partof_pages", "thesis_supervisors",
    "thesis_university", "subjects", "version", "language", "locations", "dates", "method",
}
ZENODO_UPLOAD_TYPES = {"publication", "poster", "presentation", "dataset", "image", "video", "software",
                       "lesson", "physicalobject", "other"}
ZENODO_ACCESS_RIGHTS = {"open", "embargoed", "restricted", "closed"}
ZENODO_RELATIONS = {
    "isCitedBy", "cites", "isSupplementTo", "isSupplementedBy", "isContinuedBy", "continues", "isDescribedBy",
    "describes", "hasMetadata", "isMetadataFor", "isNewVersionOf", "isPreviousVersionOf", "isPartOf", "hasPart",
    "isReferencedBy", "references", "isDocumentedBy", "documents", "isCompiledBy", "compiles", "isVariantFormOf",
    "isOriginalFormof", "isIdenticalTo", "isAlternateIdentifier", "isReviewedBy", "reviews", "isDerivedFrom",
    "isSourceOf", "requires", "isRequiredBy", "isObsoletedBy", "obsoletes",
}
ZENODO_SCHEMES = {"ads", "ark", "arxiv", "doi", "ean13", "ean8", "handle", "isbn", "isni", "issn", "istc", "lsid",
                  "orcid", "pmcid", "pmid", "purl", "url", "urn", "ror", "swh"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ORCID_BARE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")


def zenodo_rule_violations(meta: dict) -> list[str]:
    found = [f"unknown key {k} (Zenodo drops it silently)" for k in meta if k not in ZENODO_KEYS]
    for key in ("upload_type", "publication_date", "title", "creators", "description"):
        if not meta.get(key):
            found.append(f"{key} is required")
    if meta.get("upload_type") not in ZENODO_UPLOAD_TYPES:
        found.append(f"upload_type {meta.get('upload_type')!r} is not one of Zenodo's")
    date = meta.get("publication_date", "")
    if not (isinstance(date, str) and ISO_DATE.match(date)):
        found.append("publication_date must be an ISO 8601 date YYYY-MM-DD")
    else:
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            found.append("publication_date is not a calendar date")
    access = meta.get("access_right", "open")
    if access not in ZENODO_ACCESS_RIGHTS:
        found.append("access_right is not one of Zenodo's")
    if access in ("open", "embargoed") and not meta.get("license"):
        found.append("license is required for open and embargoed records")
    if meta.get("license") is not None and meta["license"] != meta["license"].lower():
        found.append("license ids are Zenodo's lower-case vocabulary ids (cc-by-4.0)")
    for creator in meta.get("creators", []):
        if not re.match(r"^[^,]+, [^,]+$", creator.get("name", "")):
            found.append(f"creator name {creator.get('name')!r} is not 'Family name, Given names'")
        if set(creator) - {"name", "affiliation", "orcid", "gnd"}:
            found.append(f"creator has unknown keys {sorted(set(creator) - {'name', 'affiliation', 'orcid', 'gnd'})}")
        if "orcid" in creator and not ORCID_BARE.match(creator["orcid"]):
            found.append(f"orcid {creator['orcid']!r} is not a bare ORCID iD")
    if not all(isinstance(k, str) and k for k in meta.get("keywords", [])):
        found.append("keywords must be non-empty strings")
    for related in meta.get("related_identifiers", []):
        if not related.get("identifier"):
            found.append("a related identifier needs an identifier")
        if related.get("relation") not in ZENODO_RELATIONS:
            found.append(f"relation {related.get('relation')!r} is not in Zenodo's vocabulary")
        if "scheme" in related and related["scheme"] not in ZENODO_SCHEMES:
            found.append(f"scheme {related['scheme']!r} is not in Zenodo's vocabulary")
    if "language" in meta and not re.match(r"^[a-z]{3}$", meta["language"]):
        found.append("language must be an ISO 639-2/3 code (eng)")
    if "version" in meta and not isinstance(meta["version"], str):
        found.append("version must be a string")
    return found


# --- Citation File Format 1.2.0 key rules -------------------------------------------------------
CFF_DOI = re.compile(r"^10\.\d{4,9}(\.\d+)?/[A-Za-z0-9:/_;\-.()\[\]\\]+$")
CFF_ORCID = re.compile(r"^https://orcid\.org/\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")


def cff_rule_violations(cff: dict) -> list[str]:
    found = [f"{key} is required" for key in ("cff-version", "message", "title", "authors") if not cff.get(key)]
    if cff.get("cff-version") != "1.2.0":
        found.append("cff-version must be the string 1.2.0")
    if cff.get("type", "software") not in ("dataset", "software"):
        found.append("type must be dataset or software")
    date = cff.get("date-released")
    if date is not None and not (isinstance(date, str) and ISO_DATE.match(date)):
        found.append("date-released must be a quoted YYYY-MM-DD string")
    for person in cff.get("authors", []) + [a for r in cff.get("references", []) for a in r.get("authors", [])]:
        if not (person.get("family-names") or person.get("name")):
            found.append(f"author {person} has neither family-names nor name")
        if "orcid" in person and not CFF_ORCID.match(person["orcid"]):
            found.append(f"orcid {person['orcid']!r} must be an https://orcid.org/ URL")
    for doc in [cff, *cff.get("references", [])]:
        if "doi" in doc and not CFF_DOI.match(str(doc["doi"])):
            found.append(f"doi {doc['doi']!r} is not a bare DOI")
    for ref in cff.get("references", []):
        found += [f"a reference needs {key}" for key in ("type", "title", "authors") if not ref.get(key)]
    if "license" in cff and cff["license"] != "CC-BY-4.0":
        found.append("license must be the SPDX id CC-BY-4.0")
    return found


# --- the bundle ---------------------------------------------------------------------------------


def test_two_builds_in_different_folders_are_byte_identical(tmp_path):
    first, second = write_project(tmp_path / "a"), write_project(tmp_path / "elsewhere" / "b")
    run(first)
    run(second)
    for rel in ("dist/ketamap-0.2.0.zip", ".zenodo.json", "CITATION.cff"):
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_rebuilding_in_place_changes_nothing(project):
    before = {rel: (project / rel).read_bytes() for rel in ("dist/ketamap-0.2.0.zip", ".zenodo.json", "CITATION.cff")}
    run(project)
    assert {rel: (project / rel).read_bytes() for rel in before} == before


def test_bundle_holds_the_release_files_under_one_top_folder(project):
    assert bundle(project).namelist() == [
        "ketamap-0.2.0/CHANGELOG.md", "ketamap-0.2.0/CITATION.cff", "ketamap-0.2.0/LICENSE",
        "ketamap-0.2.0/README.md", "ketamap-0.2.0/SHA256SUMS", "ketamap-0.2.0/data/findings.csv",
        "ketamap-0.2.0/data/sources.csv", "ketamap-0.2.0/datapackage.json",
        "ketamap-0.2.0/reports/evidence-map.html", "ketamap-0.2.0/reports/evidence-map.png",
        "ketamap-0.2.0/reports/evidence-map.svg",
    ]


def test_bundle_files_are_the_repository_files_at_the_descriptor_paths(project):
    archive = bundle(project)
    for inside, outside in (("datapackage.json", "datapackage.json"), ("data/findings.csv", "data/findings.csv"),
                            ("data/sources.csv", "data/sources.csv"), ("README.md", "data/README.md"),
                            ("LICENSE", "LICENSE-DATA.md"), ("CHANGELOG.md", "CHANGELOG.md"),
                            ("CITATION.cff", "CITATION.cff"), *((rel, rel) for rel in REPORT_FILES)):
        assert archive.read(f"ketamap-0.2.0/{inside}") == (project / outside).read_bytes(), inside


def test_sha256sums_lists_every_other_file_sorted_with_its_hash(project):
    archive = bundle(project)
    lines = archive.read("ketamap-0.2.0/SHA256SUMS").decode("utf-8").splitlines()
    listed = [line.split("  ", 1)[1] for line in lines]
    others = [n.removeprefix("ketamap-0.2.0/") for n in archive.namelist() if not n.endswith("/SHA256SUMS")]
    assert listed == sorted(others)
    for line in lines:
        digest, name = line.split("  ", 1)
        assert digest == hashlib.sha256(archive.read(f"ketamap-0.2.0/{name}")).hexdigest()


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs coreutils sha256sum")
def test_sha256sum_check_passes_on_the_unpacked_bundle(project, tmp_path):
    bundle(project).extractall(tmp_path / "unpacked")
    done = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=tmp_path / "unpacked" / "ketamap-0.2.0",
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_zip_entries_have_fixed_time_permissions_and_compression(project):
    for info in bundle(project).infolist():
        assert info.date_time == (2026, 12, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.create_system == 3
        assert info.compress_type == zipfile.ZIP_STORED


def test_a_release_date_before_1980_is_clamped_to_the_zip_epoch(tmp_path):
    params = json.loads(json.dumps(PARAMS))
    params["release"]["date"] = "1970-01-01"
    root = write_project(tmp_path / "p", params)
    run(root)
    assert {i.date_time for i in bundle(root).infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_no_output_carries_the_wall_clock(project):
    today = dt.date.today().isoformat()
    for rel in (".zenodo.json", "CITATION.cff"):
        assert today not in (project / rel).read_text(encoding="utf-8") or today == "2026-12-01"


# --- params -------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.1.0", "1.0.0", "10.20.30", "1.0.0-rc.1", "2.0.0+build.5", "1.0.0-alpha.beta+exp.sha.5114f85"])
def test_semantic_versions_are_accepted(version):
    params = json.loads(json.dumps(PARAMS))
    params["release"]["version"] = version
    assert release_from_params(params).version == version


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0-01", "1.0.0.0", "latest", 1.0])
def test_versions_that_are_not_semver_are_refused(version):
    params = json.loads(json.dumps(PARAMS))
    params["release"]["version"] = version
    with pytest.raises(ProblemsFound) as raised:
        release_from_params(params)
    assert [p.code for p in raised.value.problems] == ["bad-version"]


def test_every_bad_release_setting_is_reported_at_once():
    params = json.loads(json.dumps(PARAMS))
    params["release"].update(version="1.0", date="2026-02-30", name="KetaMap",
                             creators=[{"family": "Doe", "given": "Jane", "orcid": "0000-0002-1825-0098"}, "Smith"])
    with pytest.raises(ProblemsFound) as raised:
        release_from_params(params)
    assert sorted(p.code for p in raised.value.problems) == ["bad-creator", "bad-date", "bad-name", "bad-orcid", "bad-version"]


def test_release_without_creators_is_refused():
    params = json.loads(json.dumps(PARAMS))
    del params["release"]["creators"]
    with pytest.raises(ProblemsFound) as raised:
        release_from_params(params)
    assert raised.value.problems[0].column == "release.creators"


def test_orcid_check_digit():
    assert orcid_checksum_ok("0000-0002-1825-0097")
    assert orcid_checksum_ok("0000-0001-5109-3700")
    assert orcid_checksum_ok("0000-0002-1694-233X")
    assert not orcid_checksum_ok("0000-0002-1825-0098")


# --- refusing a package that does not match -----------------------------------------------------


def test_a_package_built_for_another_version_is_refused(tmp_path):
    root = write_project(tmp_path / "p", version="0.1.0")
    with pytest.raises(ProblemsFound) as raised:
        build(root, load_params(root))
    problem = raised.value.problems[0]
    assert (problem.code, problem.column) == ("params-mismatch", "version")
    assert "dvc repro" in problem.suggestion


def test_a_package_under_another_licence_is_refused(tmp_path):
    root = write_project(tmp_path / "p")
    descriptor = json.loads((root / "datapackage.json").read_text())
    descriptor["licenses"] = [{"name": "CC0-1.0"}]
    (root / "datapackage.json").write_text(json.dumps(descriptor))
    with pytest.raises(ProblemsFound) as raised:
        build(root, load_params(root))
    assert [p.code for p in raised.value.problems] == ["licence-mismatch"]


def test_a_data_file_edited_after_packaging_is_refused(tmp_path):
    root = write_project(tmp_path / "p")
    with open(root / "data/findings.csv", "a", encoding="utf-8") as fh:
        fh.write("fnd-00000000000f,BDNF,increase,curated\n")
    with pytest.raises(ProblemsFound) as raised:
        build(root, load_params(root))
    assert [(p.code, p.file) for p in raised.value.problems] == [("stale-package", "data/findings.csv")]


def test_missing_licence_and_changelog_are_both_reported(tmp_path):
    root = write_project(tmp_path / "p")
    (root / "LICENSE-DATA.md").unlink()
    (root / "CHANGELOG.md").unlink()
    with pytest.raises(ProblemsFound) as raised:
        build(root, load_params(root))
    assert sorted(p.file for p in raised.value.problems) == ["CHANGELOG.md", "LICENSE-DATA.md"]


def test_a_missing_evidence_map_is_reported_with_the_stage_that_builds_it(tmp_path):
    root = write_project(tmp_path / "p")
    (root / "reports/evidence-map.png").unlink()
    with pytest.raises(ProblemsFound) as raised:
        build(root, load_params(root))
    assert [(p.code, p.file) for p in raised.value.problems] == [("missing-file", "reports/evidence-map.png")]
    assert "dvc repro report" in raised.value.problems[0].suggestion


def test_failed_stage_exits_1_and_leaves_the_last_release_untouched(tmp_path):
    root = write_project(tmp_path / "p")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.run([sys.executable, "-m", "pipeline.cli.stage", "release"], cwd=root, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    before = (root / "dist/ketamap-0.2.0.zip").read_bytes()
    (root / "data/findings.csv").write_text("broken\n", encoding="utf-8")
    second = subprocess.run([sys.executable, "-m", "pipeline.cli.stage", "release"], cwd=root, env=env, capture_output=True, text=True)
    assert second.returncode == 1
    assert "stale-package" in second.stderr and "Traceback" not in second.stderr
    assert (root / "dist/ketamap-0.2.0.zip").read_bytes() == before
    assert not [p for p in (root / "dist").iterdir() if p.name.endswith(".tmp")]


def test_a_changelog_without_the_version_warns_but_releases(tmp_path):
    root = write_project(tmp_path / "p")
    (root / "CHANGELOG.md").write_text("# Changelog\n\n## [0.1.0]\n", encoding="utf-8")
    warnings = run(root)
    assert [p.code for p in warnings] == ["changelog-entry-missing"]
    assert (root / "dist/ketamap-0.2.0.zip").exists()


# --- .zenodo.json --------------------------------------------------------------------------------


def test_zenodo_metadata_follows_zenodo_deposit_rules(project):
    meta = json.loads((project / ".zenodo.json").read_text(encoding="utf-8"))
    assert zenodo_rule_violations(meta) == []
    assert (meta["upload_type"], meta["license"], meta["version"], meta["publication_date"], meta["language"]) == \
        ("dataset", "cc-by-4.0", "0.2.0", "2026-12-01", "eng")
    assert meta["creators"] == [{"name": "Carberry, Josiah", "affiliation": "Brown University", "orcid": "0000-0002-1825-0097"},
                                {"name": "Doe, Jane"}]


@pytest.mark.parametrize("breakage, expected", [
    ({"upload_type": "data"}, "upload_type"),
    ({"publication_date": "01/12/2026"}, "publication_date"),
    ({"creators": [{"name": "Jane Doe"}]}, "Family name, Given names"),
    ({"license": None}, "license is required"),
    ({"related_identifiers": [{"identifier": "x", "relation": "derivedFrom"}]}, "relation"),
    ({"related_identifiers": [{"identifier": "x", "relation": "isDerivedFrom", "scheme": "pubmed"}]}, "scheme"),
    ({"homepage": "https://example.org"}, "unknown key"),
])
def test_the_zenodo_rule_checker_catches_broken_records(project, breakage, expected):
    meta = json.loads((project / ".zenodo.json").read_text(encoding="utf-8"))
    meta.update(breakage)
    meta = {k: v for k, v in meta.items() if v is not None}
    assert any(expected in v for v in zenodo_rule_violations(meta))


def test_review_identifiers_come_from_the_sources_table(tmp_path):
    root = write_project(tmp_path / "p")
    rows = list(csv.DictReader(io.StringIO((root / "data/sources.csv").read_text(encoding="utf-8"))))
    rows[0].update(doi="10.1234/another.review", pmid="123", pmcid="PMC1")
    data = csv_bytes(rows)
    (root / "data/sources.csv").write_bytes(data)
    descriptor = json.loads((root / "datapackage.json").read_text())
    descriptor["resources"][1].update(hash="sha256:" + hashlib.sha256(data).hexdigest(), bytes=len(data))
    (root / "datapackage.json").write_text(json.dumps(descriptor))
    run(root)
    related = json.loads((root / ".zenodo.json").read_text())["related_identifiers"]
    assert [(r["identifier"], r["scheme"], r["relation"]) for r in related] == [
        ("10.1234/another.review", "doi", "isDerivedFrom"), ("123", "pmid", "isDerivedFrom"), ("PMC1", "pmcid", "isDerivedFrom")]


def test_zenodo_record_credits_the_review_and_its_licence(project):
    meta = json.loads((project / ".zenodo.json").read_text(encoding="utf-8"))
    assert [(r["identifier"], r["scheme"]) for r in meta["related_identifiers"][:2]] == \
        [("10.3389/fpsyt.2022.860882", "doi"), ("35546951", "pmid")]
    for words in ("Kang, Hawken & Vazquez (2022)", "Melody J Y Kang, Emily Hawken, Gustavo Hector Vazquez", "CC BY 4.0"):
        assert words in meta["notes"]
    assert "3 findings (1 increase, 1 decrease, 1 no change)" in meta["description"]
    assert "for 2 of 3 findings" in meta["description"]


def test_keywords_put_params_first_and_drop_case_duplicates(project):
    keywords = json.loads((project / ".zenodo.json").read_text(encoding="utf-8"))["keywords"]
    assert keywords[:2] == ["Ketamine", "rapid antidepressants"]
    assert [k.casefold() for k in keywords].count("ketamine") == 1
    assert "neuroplasticity" in keywords  # from the review, via sources.csv


# --- CITATION.cff --------------------------------------------------------------------------------


def test_citation_cff_follows_the_cff_1_2_0_rules(project):
    cff = yaml.safe_load((project / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff_rule_violations(cff) == []
    assert (cff["type"], cff["version"], cff["date-released"], cff["license"]) == ("dataset", "0.2.0", "2026-12-01", "CC-BY-4.0")
    assert cff["authors"][0] == {"family-names": "Carberry", "given-names": "Josiah", "affiliation": "Brown University",
                                 "orcid": "https://orcid.org/0000-0002-1825-0097"}


def test_citation_cff_references_the_review_with_its_identifiers(project):
    review = yaml.safe_load((project / "CITATION.cff").read_text(encoding="utf-8"))["references"][0]
    assert (review["type"], review["doi"], review["pmcid"], review["year"]) == ("article", "10.3389/fpsyt.2022.860882", "PMC9082546", 2022)
    assert {"type": "other", "value": "pmid:35546951", "description": "PubMed ID"} in review["identifiers"]
    assert [a["family-names"] for a in review["authors"]] == ["Kang", "Hawken", "Vazquez"]


def test_the_cff_rule_checker_catches_an_unquoted_date_and_a_bare_orcid():
    cff = yaml.safe_load("cff-version: 1.2.0\nmessage: m\ntitle: t\ndate-released: 2026-12-01\n"
                         "authors:\n- family-names: Doe\n  orcid: 0000-0002-1825-0097\n")
    violations = cff_rule_violations(cff)
    assert any("date-released" in v for v in violations) and any("orcid" in v for v in violations)


# --- the real package -------------------------------------------------------------------------------


@pytest.mark.skipif(not (REPO / "datapackage.json").exists(), reason="the package stage has not run")
def test_a_release_of_the_real_package_follows_the_rules(tmp_path):
    root = tmp_path / "repo"
    descriptor = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))
    for rel in ["datapackage.json", "params.yaml", "LICENSE-DATA.md", "data/README.md", *REPORT_FILES,
                *(r["path"] for r in descriptor["resources"])]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / rel, root / rel)
    changelog = REPO / "CHANGELOG.md"
    (root / "CHANGELOG.md").write_text(changelog.read_text(encoding="utf-8") if changelog.exists() else "# Changelog\n",
                                       encoding="utf-8")
    run(root)
    assert zenodo_rule_violations(json.loads((root / ".zenodo.json").read_text(encoding="utf-8"))) == []
    assert cff_rule_violations(yaml.safe_load((root / "CITATION.cff").read_text(encoding="utf-8"))) == []
    assert len(list((root / "dist").glob("*.zip"))) == 1


# --- dvc repro ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_dvc_repro_builds_the_bundle_and_a_forced_rebuild_gives_the_same_sha256(tmp_path):
    from conftest import copy_project, run_dvc

    project = copy_project(tmp_path / "ketamap")
    dvc_yaml = project / "dvc.yaml"
    if not re.search(r"^  release:", dvc_yaml.read_text(encoding="utf-8"), re.MULTILINE):
        # Until the stage is in dvc.yaml, add the text proposed for it (tests/fixtures/release/dvc-stage.yaml).
        dvc_yaml.write_text(dvc_yaml.read_text(encoding="utf-8").rstrip("\n") + "\n"
                            + (FIXTURES / "dvc-stage.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    first = run_dvc(project, "repro")
    assert first.returncode == 0, first.stderr
    (bundle_path,) = (project / "dist").glob("*.zip")  # the release's or the unreleased state's
    digest = hashlib.sha256(bundle_path.read_bytes()).hexdigest()
    forced = run_dvc(project, "repro", "-f", "release")
    assert forced.returncode == 0, forced.stderr
    assert hashlib.sha256(bundle_path.read_bytes()).hexdigest() == digest
    assert run_dvc(project, "status", "-q").returncode == 0


def test_unreadable_params_is_a_problem_not_a_traceback(tmp_path):
    root = write_project(tmp_path / "p")
    (root / "params.yaml").write_text("release: [unclosed\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli.stage", "release"], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 2  # unreadable input (the catalogue's class input), as everywhere
    assert "unreadable-params" in done.stderr and "Traceback" not in done.stderr


# --- metadata: repository, the released version's DOI, cffconvert -------------------------------


def test_repository_url_and_the_released_doi_reach_zenodo_and_citation_metadata(tmp_path):
    from pipeline.core.files import sha256_bytes
    from pipeline.core.releases import ReleaseEntry, record_text

    params = {**PARAMS, "release": {**PARAMS["release"], "repository": "https://github.com/ketamap/ketamap"}}
    root = write_project(tmp_path / "p", params)
    outputs = build(root, params)
    meta = json.loads(outputs[root / ".zenodo.json"])
    assert {"identifier": "https://github.com/ketamap/ketamap", "relation": "isSupplementedBy", "scheme": "url",
            "resource_type": "software"} in meta["related_identifiers"]
    assert "doi" not in meta  # not released yet: Zenodo mints it
    cff = yaml.safe_load(outputs[root / "CITATION.cff"])
    assert cff["repository-code"] == "https://github.com/ketamap/ketamap" and "doi" not in cff

    zipped = outputs[root / "dist" / "ketamap-0.2.0.zip"]
    (root / "release").mkdir()
    (root / "release" / "ketamap-0.2.0.zip").write_bytes(zipped)
    entry = ReleaseEntry("0.2.0", "2026-12-01", "0" * 40, "release/ketamap-0.2.0.zip", sha256_bytes(zipped),
                         sha256_bytes((root / "datapackage.json").read_bytes()), doi="10.5281/zenodo.42")
    (root / "release" / "releases.json").write_text(record_text([entry]), encoding="utf-8")
    released = build(root, params)
    assert released[root / "dist" / "ketamap-0.2.0.zip"] == zipped  # the kept bytes, never rebuilt
    assert json.loads(released[root / ".zenodo.json"])["doi"] == "10.5281/zenodo.42"
    assert yaml.safe_load(released[root / "CITATION.cff"])["doi"] == "10.5281/zenodo.42"


def test_a_bad_repository_url_is_a_problem(tmp_path):
    params = {**PARAMS, "release": {**PARAMS["release"], "repository": "github.com/ketamap"}}
    with pytest.raises(ProblemsFound) as raised:
        release_from_params(params)
    assert [p.code for p in raised.value.problems] == ["bad-url"]


def test_citation_cff_converts_cleanly_with_cffconvert():
    """cffconvert (optional: not in the lock; `pip install cffconvert` in another venv puts it on PATH)."""
    import shutil

    tool = shutil.which("cffconvert")
    if tool is None:
        pytest.skip("cffconvert is not installed")
    valid = subprocess.run([tool, "--validate", "-i", str(REPO / "CITATION.cff")], capture_output=True, text=True)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    bibtex = subprocess.run([tool, "-f", "bibtex", "-i", str(REPO / "CITATION.cff")], capture_output=True, text=True)
    assert bibtex.returncode == 0 and "url = {https://github.com/ketamap/ketamap}" in bibtex.stdout
    assert "&" not in bibtex.stdout.replace("\\&", "")  # BibTeX would read a bare & as a table column


def test_every_released_bundle_is_kept_with_the_bytes_its_record_names():
    """release/releases.json is the promise that a released version never changes: hold it to its bytes."""
    record = json.loads((REPO / "release" / "releases.json").read_text(encoding="utf-8"))["releases"]
    assert record, "no release recorded"
    for entry in record:
        bundle = REPO / entry["bundle"]
        assert hashlib.sha256(bundle.read_bytes()).hexdigest() == entry["sha256"], entry["version"]
