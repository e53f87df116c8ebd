"""`ketamap diff` and the changelog entry generated from it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipeline.datapackage.changelog import BEGIN, END, changelog_entry, previous_release_tag, update_changelog
from pipeline.cli.app import app
from pipeline.datapackage.diff import PackageVersion, diff_packages, diff_versions, empty_version, read_version
from pipeline.core.problems import ProblemsFound

FIELDS = ["finding_id", "molecule_label", "direction", "region_id"]
BASE = [
    {"finding_id": "fnd-000000000001", "molecule_label": "BDNF", "direction": "increase", "region_id": ""},
    {"finding_id": "fnd-000000000002", "molecule_label": "p-mTOR", "direction": "increase", "region_id": ""},
    {"finding_id": "fnd-000000000003", "molecule_label": "GSK-3", "direction": "decrease", "region_id": ""},
]
MOLECULES = [{"molecule_id": "bdnf", "label": "BDNF"}]


def csv_text(fields: list[str], rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def package_files(findings: list[dict], version: str = "0.1.0", fields: list[str] = FIELDS) -> dict[str, bytes]:
    """A tiny package: datapackage.json and its two tables, relative path → bytes."""
    files = {"data/findings.csv": csv_text(fields, findings),
             "data/molecules.csv": csv_text(["molecule_id", "label"], MOLECULES)}
    resources = []
    for name, keys, columns in (("findings", ["finding_id"], fields), ("molecules", ["molecule_id"], ["molecule_id", "label"])):
        data = files[f"data/{name}.csv"]
        resources.append({"name": name, "path": f"data/{name}.csv", "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
                          "bytes": len(data), "schema": {"fields": [{"name": c, "type": "string"} for c in columns],
                                                         "primaryKey": keys}})
    files["datapackage.json"] = json.dumps({"name": "ketamap", "version": version, "resources": resources}).encode()
    return files


def write_package(folder: Path, findings: list[dict], version: str = "0.1.0", fields: list[str] = FIELDS) -> Path:
    for rel, data in package_files(findings, version, fields).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return folder


def after_contribution() -> list[dict]:
    rows = [dict(r) for r in BASE if r["finding_id"] != "fnd-000000000003"]
    rows[1]["region_id"] = "animal-PFC"
    rows.append({"finding_id": "fnd-00000000000a", "molecule_label": "BDNF", "direction": "increase",
                 "region_id": "animal-HPC"})
    rows.append({"finding_id": "fnd-00000000000b", "molecule_label": "GSK-3", "direction": "no_change",
                 "region_id": "human-Serum"})
    return rows


@pytest.fixture
def old_new(tmp_path: Path) -> tuple[Path, Path]:
    return (write_package(tmp_path / "old", BASE), write_package(tmp_path / "new", after_contribution(), "0.2.0"))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with release v0.1.0 (tagged) and, committed after it, v0.2.0."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "test@example.org")
    git(repo, "config", "user.name", "test")
    write_package(repo, BASE)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "0.1.0")
    git(repo, "tag", "v0.1.0")
    write_package(repo, after_contribution(), "0.2.0")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "0.2.0")
    return repo


def ids(rows: list[dict]) -> list[str]:
    return [r["finding_id"] for r in rows]


def test_diff_lists_added_removed_and_changed_findings_by_id(old_new):
    result = diff_packages(str(old_new[0]), str(old_new[1]))
    findings = result.resources["findings"]
    assert ids(findings.added) == ["fnd-00000000000a", "fnd-00000000000b"]
    assert ids(findings.removed) == ["fnd-000000000003"]
    assert [(c.key, c.changes) for c in findings.changed] == [
        ({"finding_id": "fnd-000000000002"}, [("region_id", "", "animal-PFC")])]
    assert result.resources["molecules"].identical
    assert not result.identical


def test_reordered_rows_are_not_a_change(tmp_path):
    old = write_package(tmp_path / "a", BASE)
    new = write_package(tmp_path / "b", list(reversed(BASE)))
    assert diff_packages(str(old), str(new)).identical


def test_a_new_column_is_reported_once_not_as_a_change_to_every_row(tmp_path):
    old = write_package(tmp_path / "a", BASE)
    wider = [dict(r, species="") for r in BASE]
    new = write_package(tmp_path / "b", wider, fields=FIELDS + ["species"])
    findings = diff_packages(str(old), str(new)).resources["findings"]
    assert findings.fields_added == ["species"]
    assert findings.changed == [] and findings.added == [] and findings.removed == []


def test_findings_come_first_and_every_resource_is_compared(old_new):
    result = diff_packages(str(old_new[0]), str(old_new[1]))
    assert list(result.resources) == ["findings", "molecules"]


def test_datapackage_json_path_is_read_like_its_folder(old_new):
    by_folder = diff_packages(str(old_new[0]), str(old_new[1]))
    by_file = diff_packages(str(old_new[0] / "datapackage.json"), str(old_new[1] / "datapackage.json"))
    assert ids(by_file.resources["findings"].added) == ids(by_folder.resources["findings"].added)


def test_release_zip_with_a_top_folder_is_read(old_new, tmp_path):
    bundle = tmp_path / "ketamap-0.2.0.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        for rel, data in package_files(after_contribution(), "0.2.0").items():
            archive.writestr(f"ketamap-0.2.0/{rel}", data)
        archive.writestr("ketamap-0.2.0/SHA256SUMS", "")
    result = diff_packages(str(old_new[0]), str(bundle))
    assert result.new.version == "0.2.0"
    assert ids(result.resources["findings"].added) == ["fnd-00000000000a", "fnd-00000000000b"]


def test_git_revisions_are_read_with_git_show(repo):
    result = diff_packages("v0.1.0", "HEAD", repo=repo)
    assert (result.old.version, result.new.version) == ("0.1.0", "0.2.0")
    assert ids(result.resources["findings"].added) == ["fnd-00000000000a", "fnd-00000000000b"]
    assert ids(diff_packages("HEAD~1", "HEAD", repo=repo).resources["findings"].removed) == ["fnd-000000000003"]


def test_git_revision_with_an_explicit_descriptor_path(repo):
    result = diff_packages("v0.1.0:datapackage.json", str(repo), repo=repo)
    assert ids(result.resources["findings"].removed) == ["fnd-000000000003"]


def test_git_revision_is_resolved_from_a_subfolder(repo):
    (repo / "docs").mkdir()
    result = diff_packages("v0.1.0", "HEAD", repo=repo / "docs")
    assert result.new.version == "0.2.0"


def test_cli_json_output_shape(old_new):
    out = CliRunner().invoke(app, ["diff", str(old_new[0]), str(old_new[1]), "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert set(data) == {"old", "new", "identical", "resources", "warnings"}
    assert data["new"] == {"ref": str(old_new[1]), "name": "ketamap", "version": "0.2.0"}
    findings = data["resources"]["findings"]
    assert set(findings) == {"key", "rows_old", "rows_new", "fields_added", "fields_removed", "added", "removed", "changed"}
    assert findings["key"] == ["finding_id"] and (findings["rows_old"], findings["rows_new"]) == (3, 4)
    assert findings["added"][0] == after_contribution()[2]
    assert findings["changed"] == [{"key": {"finding_id": "fnd-000000000002"},
                                    "changes": [{"field": "region_id", "old": "", "new": "animal-PFC"}]}]


def test_cli_markdown_output_has_a_table_per_kind_of_change(old_new):
    out = CliRunner().invoke(app, ["diff", str(old_new[0]), str(old_new[1]), "--format", "markdown"])
    assert out.exit_code == 0
    text = out.stdout
    assert "### Findings" in text and "2 added, 1 removed, 1 changed (3 → 4 rows)." in text
    assert "| finding_id | molecule_label | measure | direction |" in text
    assert "| fnd-000000000002 | region_id |  | animal-PFC |" in text
    assert "### Molecules\n\nNo changes (1 rows)." in text


def test_cli_text_output_marks_added_removed_changed(old_new):
    out = CliRunner().invoke(app, ["diff", str(old_new[0]), str(old_new[1])])
    lines = out.stdout.splitlines()
    assert "findings: 2 added, 1 removed, 1 changed (3 → 4 rows)" in lines
    assert any(line.startswith("  + fnd-00000000000a ") for line in lines)
    assert any(line.startswith("  - fnd-000000000003 ") for line in lines)
    assert "  ~ fnd-000000000002  region_id: '' → 'animal-PFC'" in lines


def test_differences_exit_0_unless_exit_code_is_asked(old_new):
    runner = CliRunner()
    assert runner.invoke(app, ["diff", str(old_new[0]), str(old_new[1])]).exit_code == 0
    assert runner.invoke(app, ["diff", str(old_new[0]), str(old_new[1]), "--exit-code"]).exit_code == 1
    assert runner.invoke(app, ["diff", str(old_new[0]), str(old_new[0]), "--exit-code"]).exit_code == 0


def test_cli_reads_git_revisions_of_the_current_repository(repo, monkeypatch):
    monkeypatch.chdir(repo)
    out = CliRunner().invoke(app, ["diff", "HEAD~1", "HEAD", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.stdout)["resources"]["findings"]["added"]) == 2


def _broken_inputs(tmp_path: Path) -> dict[str, str]:
    good = write_package(tmp_path / "good", BASE)
    bad_json = tmp_path / "bad-json"
    bad_json.mkdir()
    (bad_json / "datapackage.json").write_text("{not json", encoding="utf-8")
    escape = write_package(tmp_path / "escape", BASE)
    descriptor = json.loads((escape / "datapackage.json").read_text())
    descriptor["resources"][0]["path"] = "../../etc/passwd"
    (escape / "datapackage.json").write_text(json.dumps(descriptor))
    latin1 = write_package(tmp_path / "latin1", BASE)
    (latin1 / "data/findings.csv").write_bytes("finding_id\nfnd-\xe9\n".encode("latin-1"))
    missing_table = write_package(tmp_path / "missing-table", BASE)
    (missing_table / "data/findings.csv").unlink()
    empty_zip = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("README.md", "no package here")
    not_zip = tmp_path / "fake.zip"
    not_zip.write_bytes(b"PK\x03\x04 truncated")
    no_descriptor = tmp_path / "empty-folder"
    no_descriptor.mkdir()
    return {"good": str(good), "missing": str(tmp_path / "nope"), "bad-json": str(bad_json),
            "escape": str(escape), "latin1": str(latin1), "missing-table": str(missing_table),
            "empty-zip": str(empty_zip), "not-zip": str(not_zip), "no-descriptor": str(no_descriptor),
            "option-like": "--upload-pack=touch", "unknown-rev": "v9.9.9"}


@pytest.mark.parametrize("kind", ["missing", "bad-json", "escape", "latin1", "missing-table", "empty-zip",
                                  "not-zip", "no-descriptor", "unknown-rev"])
def test_unreadable_input_exits_2_with_a_problem_and_no_traceback(tmp_path, kind, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inputs = _broken_inputs(tmp_path)
    out = CliRunner().invoke(app, ["diff", inputs["good"], inputs[kind]])
    assert out.exit_code == 2, out.output
    assert "unreadable-package" in out.stderr
    assert "Traceback" not in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)


def test_an_option_like_revision_is_never_passed_to_git(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProblemsFound) as raised:
        read_version("--output=/tmp/owned", repo=tmp_path)
    assert raised.value.problems[0].code == "unreadable-package"


def test_both_unreadable_inputs_are_reported_at_once(tmp_path):
    with pytest.raises(ProblemsFound) as raised:
        diff_packages(str(tmp_path / "a"), str(tmp_path / "b"))
    assert [p.file for p in raised.value.problems] == [str(tmp_path / "a"), str(tmp_path / "b")]


# --- changelog ---------------------------------------------------------------------------------


def test_previous_release_is_the_highest_lower_semver_tag(repo):
    for tag in ("v0.0.9", "v0.1.10", "v0.2.0-rc.1", "v1.0.0", "not-a-version", "vX"):
        git(repo, "tag", tag, "HEAD~1")
    assert previous_release_tag(repo, "0.2.0") == "v0.2.0-rc.1"
    assert previous_release_tag(repo, "0.1.5") == "v0.1.0"
    assert previous_release_tag(repo, "0.0.1") is None


def test_changelog_entry_lists_exactly_the_added_findings(repo):
    result = diff_packages("v0.1.0", str(repo), repo=repo)
    entry = changelog_entry(result, "v0.1.0")
    assert entry.startswith("Data changes since v0.1.0: 2 findings added, 1 removed, 1 changed.")
    added_section = entry.split("Added:")[1].split("Removed:")[0]
    assert [line.split(" | ")[0].strip("| ") for line in added_section.splitlines() if line.startswith("| fnd-")] \
        == ["fnd-00000000000a", "fnd-00000000000b"]


def test_first_release_entry_counts_rows(tmp_path):
    current = read_version(str(write_package(tmp_path / "p", BASE)))
    entry = changelog_entry(diff_versions(empty_version(), current), None)
    assert entry == "Data: first release (3 findings, 1 molecule).\n"


HAND_WRITTEN = """# Changelog

## [Unreleased]

- work in progress

## [0.2.0] - 2026-12-01

Curated locations for the PFC findings.

## [0.1.0] - 2026-11-28

First release.
"""


def test_generated_entry_goes_under_the_version_heading_and_keeps_hand_written_text():
    updated = update_changelog(HAND_WRITTEN, "0.2.0", "2026-12-01", "Data changes since v0.1.0.\n")
    begin, end = BEGIN.format(version="0.2.0"), END.format(version="0.2.0")
    assert f"## [0.2.0] - 2026-12-01\n\n{begin}\nData changes since v0.1.0.\n{end}\n\nCurated locations" in updated
    assert updated.replace(f"{begin}\nData changes since v0.1.0.\n{end}\n\n", "") == HAND_WRITTEN


def test_rewriting_the_entry_replaces_it_and_is_idempotent():
    once = update_changelog(HAND_WRITTEN, "0.2.0", "2026-12-01", "old entry\n")
    twice = update_changelog(once, "0.2.0", "2026-12-01", "new entry\n")
    assert "old entry" not in twice and twice.count("new entry") == 1
    assert update_changelog(twice, "0.2.0", "2026-12-01", "new entry\n") == twice


def test_a_version_without_a_heading_gets_one_below_unreleased():
    updated = update_changelog(HAND_WRITTEN, "0.3.0", "2027-01-05", "entry\n")
    assert updated.index("## [Unreleased]") < updated.index("## [0.3.0] - 2027-01-05") < updated.index("## [0.2.0]")
    assert update_changelog("", "0.1.0", "2026-11-28", "entry\n").startswith("# Changelog\n\n## [0.1.0] - 2026-11-28\n")


def test_changelog_command_writes_the_entry_since_the_previous_tag(repo, monkeypatch):
    (repo / "params.yaml").write_text('release:\n  version: 0.2.0\n  date: "2026-12-01"\n', encoding="utf-8")
    (repo / "CHANGELOG.md").write_text(HAND_WRITTEN, encoding="utf-8")
    monkeypatch.chdir(repo)
    out = CliRunner().invoke(app, ["changelog", "--write"])
    assert out.exit_code == 0, out.output
    text = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "Data changes since v0.1.0: 2 findings added, 1 removed, 1 changed." in text
    assert "Curated locations for the PFC findings." in text
    assert CliRunner().invoke(app, ["changelog", "--write"]).exit_code == 0
    assert (repo / "CHANGELOG.md").read_text(encoding="utf-8") == text


def test_changelog_command_refuses_a_package_not_rebuilt_for_the_new_version(repo, monkeypatch):
    (repo / "params.yaml").write_text('release:\n  version: 0.3.0\n  date: "2026-12-01"\n', encoding="utf-8")
    monkeypatch.chdir(repo)
    out = CliRunner().invoke(app, ["changelog"])
    assert out.exit_code == 2
    assert "params-mismatch" in out.stderr and "dvc repro" in out.stderr



def test_a_repeated_finding_id_is_compared_once_and_warned_about(tmp_path):
    old = write_package(tmp_path / "a", BASE)
    new = write_package(tmp_path / "b", BASE + [dict(BASE[0], direction="decrease")])
    result = diff_packages(str(old), str(new))
    assert result.resources["findings"].identical
    assert result.warnings == ["findings: NEW has more than one row with finding_id = fnd-000000000001; "
                               "the first one is compared"]


def test_cells_beyond_the_header_do_not_break_the_json_output(tmp_path):
    old = write_package(tmp_path / "a", BASE)
    new = write_package(tmp_path / "b", BASE)
    with open(new / "data/findings.csv", "a", encoding="utf-8") as fh:
        fh.write("fnd-00000000000c,BDNF,increase,,extra,cells\n")
    out = CliRunner().invoke(app, ["diff", str(old), str(new), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["resources"]["findings"]["added"] == [
        {"finding_id": "fnd-00000000000c", "molecule_label": "BDNF", "direction": "increase", "region_id": ""}]

_ids = st.sampled_from([f"fnd-{i:012x}" for i in range(12)])
_tables = st.dictionaries(_ids, st.sampled_from(["increase", "decrease", "no_change"]), max_size=12)


def _version(table: dict[str, str]) -> PackageVersion:
    rows = [{"finding_id": k, "direction": v} for k, v in table.items()]
    return PackageVersion(ref="mem", name="ketamap", version="0", fields={"findings": ["finding_id", "direction"]},
                          keys={"findings": ["finding_id"]}, rows={"findings": rows})


@settings(max_examples=60, deadline=None)
@given(_tables, _tables)
def test_added_removed_changed_partition_the_ids_of_both_versions(old, new):
    findings = diff_versions(_version(old), _version(new)).resources["findings"]
    assert ids(findings.added) == sorted(new.keys() - old.keys())
    assert ids(findings.removed) == sorted(old.keys() - new.keys())
    assert [c.key["finding_id"] for c in findings.changed] == sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
    assert findings.identical == (old == new)
